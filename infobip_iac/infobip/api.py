"""What the engine needs from Infobip, as an interface, so apply and plan can be tested
against any implementation and the HTTP client stays the one place that talks to Infobip."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from infobip_iac.domain.keys import KeyWrite, LiveKey
from infobip_iac.domain.secret import Secret

__all__ = ["AccountKeys", "CreatedKey", "KeyService", "ProgressCallback"]

# (account reference, pages read so far, pages expected in all); the total may grow while
# reading, e.g. when an account turns out to need narrower filters.
ProgressCallback = Callable[[str, int, int], None]


@dataclass(frozen=True)
class AccountKeys:
    """Every live key of one account, and what reading them cost."""

    account: str  # the reference asked for ("_" or an id)
    keys: list[LiveKey]
    requests: int
    complete: bool = True
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CreatedKey:
    key: LiveKey
    secret: Secret


class KeyService(Protocol):
    def list_keys(
        self,
        account: str,
        *,
        names: Collection[str] = (),
        progress: ProgressCallback | None = None,
    ) -> AccountKeys:
        """Every key of `account`; `names` are the declared names, used to narrow the
        filter when an account holds more keys than one filter can page through.
        `progress` is called after each page read."""
        ...

    def get_key(self, key_id: str, *, account: str) -> LiveKey | None:
        """One key by id, None when Infobip answers 404."""
        ...

    def find_by_name(self, account: str, name: str) -> list[LiveKey]:
        """Keys of `account` with exactly this name (after an ambiguous create)."""
        ...

    def create_key(self, account: str, write: KeyWrite) -> CreatedKey:
        """POST one key. Raises AmbiguousWriteError when the outcome is unknown."""
        ...

    def update_key(self, key_id: str, *, account: str, write: KeyWrite) -> LiveKey:
        """PUT the fields set in `write`."""
        ...

    def server_time(self) -> datetime:
        """Infobip's clock, from the `Date` header of the latest answer (or local time)."""
        ...

"""What the engine needs from Infobip, as an interface, so apply and plan can be tested
against any implementation and the HTTP client stays the one place that talks to Infobip.

`list_accounts_concurrently` lives here rather than in the client: it needs nothing but a
`KeyService`, and the engine must be able to read accounts without loading httpx."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from infobip_iac.domain.keys import KeyWrite, LiveKey
from infobip_iac.domain.secret import Secret

__all__ = [
    "MAX_READERS",
    "AccountKeys",
    "CreatedKey",
    "KeyLister",
    "KeyService",
    "ProgressCallback",
    "list_accounts_concurrently",
]

# Accounts read at once. A small account costs one or two requests, each mostly waiting on
# the network, so a large configuration wants many in flight; the bound keeps the threads
# and connections of a run with hundreds of accounts modest.
MAX_READERS = 32

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


class KeyLister(Protocol):
    """The one operation reading accounts needs, so a reader can be wrapped alone."""

    def list_keys(
        self,
        account: str,
        *,
        names: Collection[str] = (),
        progress: ProgressCallback | None = None,
    ) -> AccountKeys:
        """Every key of `account`; `names` are the declared names, used to narrow the
        filter when an account holds more keys than one filter can page through.
        `progress` is called after each page read. An account the credentials cannot
        reach (unknown, or not theirs) raises PermissionDeniedError."""
        ...


class KeyService(KeyLister, Protocol):
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

    def write_requests(self) -> int:
        """Write requests sent so far by this service, refused, failed and repeated ones
        included: what Infobip's daily write limit counts."""
        ...


def list_accounts_concurrently(
    service: KeyLister,
    requests: Mapping[str, Collection[str]],
    *,
    max_workers: int = MAX_READERS,
    progress: ProgressCallback | None = None,
) -> dict[str, AccountKeys]:
    """Read every account of `requests` (account reference -> declared names) in parallel
    threads through any KeyLister, one thread per account up to `max_workers`; the first
    error (in the order of `requests`) is raised after the other reads have stopped."""
    accounts = list(requests)
    if len(accounts) <= 1 or max_workers <= 1:
        return {
            account: service.list_keys(account, names=requests[account], progress=progress)
            for account in accounts
        }
    with ThreadPoolExecutor(
        max_workers=min(max_workers, len(accounts)), thread_name_prefix="infobip-read"
    ) as pool:
        futures: dict[str, Future[AccountKeys]] = {
            account: pool.submit(
                service.list_keys, account, names=requests[account], progress=progress
            )
            for account in accounts
        }
        results: dict[str, AccountKeys] = {}
        for account in accounts:
            try:
                results[account] = futures[account].result()
            except BaseException:
                for future in futures.values():
                    future.cancel()
                raise
    return results

"""The state as an apply keeps it, step by step, with the result and the progress events.

Every part of an apply records through one `Ledger`: a small write of the entries a step
changed right after the step (`save`), so an interruption never loses what was done, and
one full version when the apply ends (`write_version`). The ledger also holds the result
the caller gets and ends the apply early (`fail`, raising `StopApplyError`) with the reason in
that result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import NoReturn

from infobip_iac.domain.keys import LiveKey
from infobip_iac.domain.normalize import format_duration
from infobip_iac.domain.plan import Plan, ResourceChange
from infobip_iac.engine.apply_outcome import ApplyEvent, ApplyResult, EventKind
from infobip_iac.state.backend import Store
from infobip_iac.state.model import ResourceState, SecretRecord, StateDocument

__all__ = ["Ledger", "StopApplyError", "clause", "entry_from_key"]


class StopApplyError(Exception):
    """Ends the apply early; the result already says why."""


class Ledger:
    def __init__(
        self, store: Store, state: StateDocument, emit: Callable[[ApplyEvent], None]
    ) -> None:
        self.store = store
        # A copy: the caller's document stays as it was read; the result holds the new one.
        self.state = state.model_copy(deep=True)
        self.emit = emit
        self.result = ApplyResult()
        # Creates sent but not yet in state: what a run after a crash looks for.
        self.journal = store.journal
        # Changes recorded since the last full version (see save and write_version).
        self.unwritten = False

    def save(self, addresses: Iterable[str] = ()) -> None:
        """Record the entries at `addresses` as they are now, and the document's own
        fields (the write tally): a small write whatever the size of the state, of what an
        interruption must not lose."""
        self.state = self.store.record(self.state, addresses)
        self.result.state = self.state
        self.unwritten = True

    def write_version(self) -> None:
        """The one full write of the apply: every recorded change becomes a new version."""
        if self.unwritten:
            self.state = self.store.write(self.state)
            self.result.state = self.state
            self.unwritten = False

    def known_key_ids(self, plan: Plan) -> set[str]:
        """Every key id the state manages or the plan saw live: a key found by name that
        is none of these is new since the plan was made."""
        return set(self.state.by_key_id()) | set(plan.fingerprints)

    def note_state(self, address: str, message: str) -> None:
        self.result.state_changes += 1
        self.emit(ApplyEvent(EventKind.STATE, address, message))

    def warn(self, address: str, message: str) -> None:
        self.emit(ApplyEvent(EventKind.WARNING, address, message))

    def fail(self, change: ResourceChange, message: str) -> NoReturn:
        self.result.error = message
        self.emit(ApplyEvent(EventKind.STOPPED, change.address, message))
        raise StopApplyError


def entry_from_key(
    change: ResourceChange, key: LiveKey, secret: SecretRecord | None
) -> ResourceState:
    """The state entry of a key a write just made or changed."""
    valid_for = change.write.valid_for if change.write is not None else None
    return ResourceState.of_live_key(
        key,
        account=change.account,
        valid_for=_duration_text(valid_for),
        prevent_revoke=change.prevent_revoke,
        secret=secret,
    )


def clause(text: str) -> str:
    """`text` ready to be followed by a full stop: messages from elsewhere may end in one."""
    return text.rstrip().rstrip(".")


def _duration_text(value: timedelta | None) -> str | None:
    return format_duration(value) if value is not None else None

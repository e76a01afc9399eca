"""After an interrupted or unanswered create: find the keys it made that no state records.

An entry left in the create journal (`state.journal`) names a create that may have landed
while no state recorded it: the apply died before writing the state, or the create got no
answer and was sent once more (then the state holds the later attempt's key). Every enabled
key of that name that no state entry manages, made no earlier than the create was sent, is
such a key: nobody holds its secret, so it is put in state at a deposed address of its own,
which no manifest declares, and the plan that follows revokes it.

`recover_interrupted_creates` does that for apply, under the state lock, before planning.
When apply took the lock over from a process that died (`state.lock`), that process's last
create may still be on its way: killed mid-request, its request can still be committed by
Infobip after it died. So a journaled create sent less than `in_flight_for` seconds ago (the
per-call timeout: no answer comes later than that) that has not shown up is looked for once
more when that time is up, rather than taken for one that never landed and made again.
Infobip can commit it later still (the client's timeout bounds only how long the client
waits), so a create not seen by then stays in the journal, marked as one whose answer was
lost: the apply that follows looks for it once more when it ends and revokes a key it made
(or, should the planner adopt such a key by name, records its secret as lost).
`preview_interrupted_creates` gives plan the same state without saving anything, so that
the plan a reviewer reads (and saves) is the plan apply carries out after its recovery.
`keys_made_by` and `keep_for_revoke` are the finding and the recording both share with the
apply's own look for its unanswered creates when it ends (`engine.settling`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from infobip_iac.domain.keys import LiveKey, deposed_address
from infobip_iac.engine.apply_outcome import ApplyEvent, EventKind
from infobip_iac.infobip.api import KeyService
from infobip_iac.state.backend import Store
from infobip_iac.state.journal import PendingCreate
from infobip_iac.state.model import StateDocument

__all__ = [
    "keep_for_revoke",
    "keys_made_by",
    "preview_interrupted_creates",
    "recover_interrupted_creates",
]


def recover_interrupted_creates(
    service: KeyService,
    store: Store,
    state: StateDocument,
    *,
    events: Callable[[ApplyEvent], None],
    in_flight_for: float = 0.0,
) -> StateDocument:
    """The state with every key a journaled create left behind recorded for revocation
    (and saved); `state` itself when nothing was found. The journal is emptied (this read
    settles every entry), but for a dead holder's creates not seen yet when
    `in_flight_for` > 0: see the module docstring (0: look once)."""
    journal = store.journal
    pending = journal.pending()
    if not pending:
        return state
    found = _recovered(service, store, state, pending)
    wait, youngest = _time_left_in_flight(service, found, pending, in_flight_for)
    if youngest is not None and wait > 0:
        events(
            ApplyEvent(
                EventKind.WARNING,
                youngest.address,
                f"the run that held the lock died {in_flight_for - wait:.0f}s after sending "
                f"this create, and no key named {youngest.name!r} has come of it yet; "
                f"waiting {wait:.0f}s for it to land or not before planning.",
            )
        )
        time.sleep(wait)
        found = _recovered(service, store, state, pending)
    for note in found.notes:
        events(ApplyEvent(EventKind.WARNING, note.address, note.message(preview=False)))
    updated = store.write(found.state) if found.notes else state
    if in_flight_for > 0:
        # Infobip may commit a dead holder's create later than the client would have
        # waited for its answer (a server that holds the request): one not seen yet stays
        # in the journal, for this apply to look for again (see engine.settling).
        seen = {note.entry for note in found.notes}
        journal.keep_unsettled([entry for entry in pending if entry not in seen])
    else:
        journal.clear()
    return updated


def preview_interrupted_creates(
    service: KeyService,
    store: Store,
    state: StateDocument,
    *,
    events: Callable[[ApplyEvent], None],
) -> StateDocument:
    """The state `recover_interrupted_creates` would leave, saved nowhere: plan passes it
    to the planner so that its plan shows the revokes and creates apply will make.

    Read-only: only live keys are read; neither Infobip, the state nor the journal change.
    The document carries the serial (and, when no state file exists yet, the lineage) that
    recovery's write will give it, so a plan saved from it is not stale to that apply."""
    pending = store.journal.pending()
    if not pending:
        return state
    found = _recovered(service, store, state, pending)
    for note in found.notes:
        events(ApplyEvent(EventKind.WARNING, note.address, note.message(preview=True)))
    if not found.notes:
        return state
    return found.state.model_copy(update={"serial": found.state.serial + 1})


@dataclass(frozen=True)
class _Found:
    """A key a journaled create made that no state recorded, and where it now waits."""

    entry: PendingCreate
    key_id: str
    name: str
    deposed_at: str

    @property
    def address(self) -> str:
        return self.entry.address

    def message(self, *, preview: bool) -> str:
        how = (
            "whose answer was lost, and which was sent again"
            if self.entry.unanswered
            else "of an apply that was interrupted before recording it"
        )
        then = (
            f"apply will record it as {self.deposed_at} and revoke it"
            if preview
            else f"it is kept as {self.deposed_at} to be revoked"
        )
        return (
            f"key {self.key_id} named {self.name!r} was made by a create {how}; nobody holds "
            f"its secret, so {then}."
        )


def _time_left_in_flight(
    service: KeyService, found: _Recovery, pending: list[PendingCreate], in_flight_for: float
) -> tuple[float, PendingCreate | None]:
    """Seconds until the youngest create that has not shown up can no longer land, and
    that create (None when every create has shown up)."""
    seen = {note.entry for note in found.notes}
    unseen = [entry for entry in pending if entry not in seen]
    if in_flight_for <= 0 or not unseen:
        return 0.0, None
    youngest = max(unseen, key=lambda entry: entry.sent_at)
    # Infobip's clock, as its last answer (the lookups just made) told it.
    age = (service.server_time() - youngest.sent_at).total_seconds()
    return max(0.0, min(in_flight_for, in_flight_for - age)), youngest


@dataclass(frozen=True)
class _Recovery:
    state: StateDocument
    notes: list[_Found]


def _recovered(
    service: KeyService, store: Store, state: StateDocument, pending: list[PendingCreate]
) -> _Recovery:
    updated = state.model_copy(deep=True)
    known = set(updated.by_key_id())
    notes: list[_Found] = []
    for entry in pending:
        for key in keys_made_by(service, entry, known):
            known.add(key.id)
            notes.append(_Found(entry, key.id, key.name, keep_for_revoke(updated, entry, key)))
    if notes and not store.exists():
        # No state was ever written: the first one takes the lineage of the apply that
        # journaled the create, which a preview can know as well as recovery does.
        lineage = next((e.lineage for e in pending if e.lineage is not None), None)
        if lineage is not None:
            updated.lineage = lineage
    return _Recovery(updated, notes)


def keys_made_by(service: KeyService, entry: PendingCreate, known: set[str]) -> list[LiveKey]:
    """The live keys `entry`'s create may have made, less those whose id is in `known`
    (keys a state entry or the plan already accounts for)."""
    return [
        key
        for key in service.find_by_name(entry.account, entry.name)
        if key.id not in known and entry.may_have_made(key)
    ]


def keep_for_revoke(state: StateDocument, entry: PendingCreate, key: LiveKey) -> str:
    """Record `key`, which nobody holds the secret of, at a deposed address of its own
    (no manifest declares it, so the next plan revokes it); returns that address."""
    address = deposed_address(entry.address, key.id)
    state.resources[address] = entry.orphan_entry(key)
    return address

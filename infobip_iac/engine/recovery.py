"""After an interrupted apply: find the keys its creates made but never recorded.

An entry left in the create journal (`state.journal`) names a create that may have landed
while the apply died before writing the state. Every enabled key of that name that no
state entry manages, made no earlier than the create was sent, is such a key: nobody holds
its secret, so it is put in state at a deposed address of its own, which no manifest
declares, and the plan that follows revokes it. Run under the state lock, before planning.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal, cast

from infobip_iac.engine.apply import ApplyEvent, EventKind, deposed_address
from infobip_iac.infobip.api import KeyService
from infobip_iac.state.journal import CreateJournal, PendingCreate
from infobip_iac.state.model import ResourceState, SecretRecord, StateDocument
from infobip_iac.state.store import StateStore

__all__ = ["recover_interrupted_creates"]

# Infobip's clock as the client knows it has one-second resolution (the Date header).
_CLOCK_SLACK = timedelta(seconds=2)


def recover_interrupted_creates(
    service: KeyService,
    store: StateStore,
    state: StateDocument,
    *,
    events: Callable[[ApplyEvent], None],
) -> StateDocument:
    """The state with every key an interrupted create left behind recorded for revocation
    (and saved); `state` itself when the journal is empty."""
    journal = CreateJournal(store.path)
    pending = journal.pending()
    if not pending:
        return state
    updated = state.model_copy(deep=True)
    known = set(updated.by_key_id())
    for entry in pending:
        for key in service.find_by_name(entry.account, entry.name):
            if key.id in known or not key.enabled or not _made_after(key.valid_from, entry):
                continue
            address = deposed_address(entry.address, key.id)
            updated.resources[address] = ResourceState.of_live_key(
                key,
                account=entry.account,
                secret=SecretRecord(
                    sink=_sink(entry.sink),
                    status="lost",
                    detail="created by an apply that was interrupted before it recorded the key",
                ),
            )
            known.add(key.id)
            events(
                ApplyEvent(
                    EventKind.WARNING,
                    entry.address,
                    f"key {key.id} named {key.name!r} was created by an apply that was "
                    "interrupted before recording it; nobody holds its secret, so it is "
                    f"kept as {address} to be revoked",
                )
            )
    if updated.resources != state.resources:
        updated = store.write(updated)
    journal.clear()
    return updated


def _made_after(valid_from: datetime | None, entry: PendingCreate) -> bool:
    """Whether a key of the name can be the create's: one valid from before the create was
    sent existed already (someone else's key, or an older one of ours)."""
    if entry.valid_from_given or valid_from is None:
        return True
    return valid_from >= entry.sent_at - _CLOCK_SLACK


SinkKind = Literal["file", "exec", "stdout", "none"]


def _sink(kind: str) -> SinkKind:
    return cast(SinkKind, kind) if kind in ("file", "exec", "stdout", "none") else "none"

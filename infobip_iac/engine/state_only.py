"""What an apply records in state without a write to Infobip.

Moves, imports and adoptions by name come before the writes (they cost none, and the
writes after them then find every key under the address the plan uses); so do a declared
key's `prevent_revoke` and the live attributes of a key the plan leaves as it is. Removed
keys that are already disabled are forgotten after the writes. A refresh-only plan takes
every managed key's attributes from live and writes nothing else.
"""

from __future__ import annotations

from infobip_iac.domain.plan import Action, Plan, Reason, ResourceChange
from infobip_iac.engine.ledger import Ledger
from infobip_iac.engine.settling import Settling, secret_nobody_holds
from infobip_iac.state.journal import PendingCreate
from infobip_iac.state.model import ResourceState

__all__ = ["forget_without_write", "record_state_only_effects", "refresh_state"]


def record_state_only_effects(ledger: Ledger, plan: Plan, settling: Settling) -> None:
    """Moves, imports and adoptions first: they cost no write, and the writes after
    them then find every key under the address the plan uses."""
    state = ledger.state
    changed: list[str] = []
    made_by_dead_holder: list[tuple[ResourceChange, PendingCreate]] = []
    for change in plan.changes:
        if change.previous_address and change.previous_address in state.resources:
            entry = state.resources.pop(change.previous_address)
            state.resources[change.address] = entry
            ledger.note_state(change.address, f"moved from {change.previous_address}")
            ledger.result.moved += 1
            changed += [change.previous_address, change.address]
        if change.importing_id and change.before is not None:
            how = "adopted by name" if change.adopted_by_name else "imported"
            entry = _entry_from_attributes(change, change.importing_id, change.before)
            made_by = settling.inherited_create_of(change) if change.adopted_by_name else None
            if made_by is not None:
                entry.secret = secret_nobody_holds(made_by)
                made_by_dead_holder.append((change, made_by))
            state.resources[change.address] = entry
            ledger.note_state(change.address, f"{how} [id={change.importing_id}]")
            ledger.result.imported += 1
            changed.append(change.address)
        # Only a declared key has its lifecycle in the plan; a removed key keeps what
        # state remembers until it is revoked and forgotten.
        record = state.resources.get(change.address)
        declared = change.reason is not Reason.REMOVED_FROM_CONFIG
        if record and declared and record.prevent_revoke != change.prevent_revoke:
            record.prevent_revoke = change.prevent_revoke
            changed.append(change.address)
        if _take_live_attributes(ledger, change):
            changed.append(change.address)
    if changed:
        ledger.save(changed)
    for change, made_by in made_by_dead_holder:
        settling.adopted(change, made_by)


def forget_without_write(ledger: Ledger, plan: Plan) -> None:
    """Removed keys that need no write (already disabled): drop them from state."""
    changed: list[str] = []
    for change in plan.changes:
        forgotten = change.forget and change.action is Action.NOOP
        if forgotten and ledger.state.resources.pop(change.address, None) is not None:
            ledger.note_state(change.address, "removed from state (already revoked)")
            changed.append(change.address)
    if changed:
        ledger.save(changed)


def refresh_state(ledger: Ledger, plan: Plan) -> None:
    """A refresh-only plan: take every managed key's attributes from live as planned."""
    by_id = ledger.state.by_key_id()
    changed: list[str] = []
    for change in plan.changes:
        address = by_id.get(change.key_id or "")
        if address is None or change.before is None:
            continue
        if _refresh_entry(ledger, address, change.before):
            changed.append(address)
    if changed:
        ledger.save(changed)


def _take_live_attributes(ledger: Ledger, change: ResourceChange) -> bool:
    """A key this plan leaves as it is, but whose live attributes differ from what
    state says: record live, as Terraform keeps the refreshed state of an apply. Else
    a write that landed without its state save (an apply killed after the PUT) would
    leave state saying the old values for good, since live already matches the
    configuration and no later write saves the key again."""
    if change.action is not Action.NOOP or change.forget or change.before is None:
        return False
    record = ledger.state.resources.get(change.address)
    if record is None or record.id != change.key_id:
        return False
    return _refresh_entry(ledger, change.address, change.before)


def _refresh_entry(ledger: Ledger, address: str, live: dict[str, object]) -> bool:
    """Take the entry at `address`'s attributes (and name) from `live` when they differ;
    True when they did."""
    entry = ledger.state.resources[address]
    if entry.attributes == live:
        return False
    entry.attributes = dict(live)
    entry.name = str(live.get("name", entry.name))
    ledger.note_state(address, "attributes refreshed from live")
    return True


def _entry_from_attributes(
    change: ResourceChange, key_id: str, attributes: dict[str, object]
) -> ResourceState:
    return ResourceState(
        id=key_id,
        account=change.account,
        name=str(attributes.get("name", change.name)),
        attributes=dict(attributes),
        prevent_revoke=change.prevent_revoke,
    )

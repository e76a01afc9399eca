"""Keys a plan finds without a declaration: state entries no longer declared, every state
entry of a refresh-only plan, and live keys nobody declared (`policy.unmanaged_keys`)."""

from __future__ import annotations

from infobip_iac.domain.keys import LiveKey
from infobip_iac.domain.plan import Action, Reason, ResourceChange, UnmanagedKey, WaitingPredecessor
from infobip_iac.engine.addresses import unmanaged_address
from infobip_iac.engine.drafts import Decision, Draft, Planned, Subject, guard_revoke, revoke
from infobip_iac.engine.drift import find_drift
from infobip_iac.engine.identity import Identities, Identity, state_identities
from infobip_iac.engine.plan_context import PlanContext
from infobip_iac.state.model import ResourceState

__all__ = ["plan_refresh_only", "plan_removed", "plan_unmanaged"]


def plan_removed(context: PlanContext, ident: Identity) -> Planned:
    """A key in state that is no longer declared: revoked and forgotten, or only forgotten
    when it is gone or disabled already. A rotated key's predecessor waits out its
    overlap first."""
    subject, key, record = _recorded(context, ident)
    if key is None or not key.enabled:
        return subject.change(
            Decision(
                action=Action.NOOP,
                reason=Reason.REMOVED_FROM_CONFIG,
                after=subject.before,
                forget=True,
            )
        )
    if record.revoke_after is not None:
        # A rotated key's predecessor: enabled until its overlap ends.
        if context.now < record.revoke_after:
            context.waiting.append(
                WaitingPredecessor(
                    address=ident.address, key_id=key.id, revoke_after=record.revoke_after
                )
            )
            return subject.change(Decision(action=Action.NOOP, after=subject.before))
        return revoke(subject, Reason.ROTATION_OVERLAP_ENDED, forget=True)
    guard_revoke(context, ident.address, False, record, "revoke")
    return revoke(subject, Reason.REMOVED_FROM_CONFIG, forget=True)


def _recorded(
    context: PlanContext, ident: Identity
) -> tuple[Subject, LiveKey | None, ResourceState]:
    """The subject of a state entry's change, its live key (None when it is gone) and
    the entry."""
    record, key = ident.record, ident.live
    assert record is not None, "a key without a declaration is known by its state entry"
    subject = Subject(
        address=ident.address,
        account=record.account,
        name=record.name if key is None else key.name,
        key_id=None if key is None else key.id,
        before=None if key is None else context.attributes_of(key),
        previous_address=ident.previous_address,
    )
    return subject, key, record


def plan_refresh_only(
    context: PlanContext, identities: Identities
) -> tuple[Identities, list[Planned]]:
    """A refresh-only plan writes nothing: it records what is live for every state entry,
    and forgets entries whose key no longer exists. Returns the state's identities (the
    declarations' claims kept, so that no declared key counts as unmanaged) and the
    changes --target leaves in."""
    claimed = identities.claimed
    identities = state_identities(context.state, context.index)
    identities.claimed |= claimed
    planned: list[Planned] = []
    left_out: list[ResourceChange] = []
    for address, ident in identities.removed.items():
        (planned if context.in_scope(address) else left_out).append(_refresh(context, ident))
    if left_out:
        # A full refresh-only plan would record these: the forgotten entries and the keys
        # that drifted.
        recorded = {c.address for c in left_out if c.has_effect}
        recorded |= {item.address for item in find_drift(context, identities, left_out)}
        context.outside_targets += len(recorded)
    return identities, planned


def _refresh(context: PlanContext, ident: Identity) -> ResourceChange:
    subject, key, _ = _recorded(context, ident)
    if key is None:
        return subject.change(Decision(action=Action.NOOP, reason=Reason.GONE, forget=True))
    return subject.change(Decision(action=Action.NOOP, after=subject.before))


def plan_unmanaged(context: PlanContext, claimed: set[str]) -> list[Draft]:
    """Enabled live keys no address claims: reported, or revoked when the policy says so
    (and --target names them)."""
    policy = context.config.policy.unmanaged_keys
    if policy == "ignore":
        return []
    revoking_all = policy == "revoke" and not context.refresh_only
    drafts = []
    for account, key in context.index.unique_keys():
        if not key.enabled or key.id in claimed:
            continue
        address = unmanaged_address(account, key.id)
        revoking = revoking_all and context.in_scope(address)
        if revoking_all and not revoking:
            context.outside_targets += 1
        context.unmanaged.append(
            UnmanagedKey(
                account=account,
                key_id=key.id,
                name=key.name,
                disposition="revoke" if revoking else "report",
            )
        )
        if revoking:
            subject = Subject(
                address=address,
                account=account,
                name=key.name,
                key_id=key.id,
                before=context.attributes_of(key),
            )
            drafts.append(revoke(subject, Reason.UNMANAGED))
    return drafts

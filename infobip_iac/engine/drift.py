"""Drift: managed keys whose live attributes differ from what the state says was last
written, and whether the plan puts them back."""

from __future__ import annotations

from collections.abc import Iterable

from infobip_iac.domain.attributes import MANAGED_ATTRIBUTES
from infobip_iac.domain.plan import DriftItem, ResourceChange
from infobip_iac.engine.diff import Attributes, attribute_changes, same_value
from infobip_iac.engine.identity import Identities
from infobip_iac.engine.plan_context import PlanContext

__all__ = ["find_drift"]


def find_drift(
    context: PlanContext, identities: Identities, changes: Iterable[ResourceChange]
) -> tuple[DriftItem, ...]:
    """The drift of every key with a change in `changes` (the plan's, or those --target
    leaves out), in address order."""
    planned = {change.address: change for change in changes}
    pairs: dict[str, tuple[Attributes, Attributes]] = {}
    key_ids: dict[str, str] = {}
    for ident in [*identities.declared.values(), *identities.removed.values()]:
        record, key = ident.record, ident.live
        if record is None or key is None or ident.address not in planned:
            continue
        live = context.attributes_of(key)
        if record.attributes == live:
            continue
        drifted = [
            a
            for a in MANAGED_ATTRIBUTES
            if a in record.attributes and not same_value(a, record.attributes[a], live[a])
        ]
        if drifted:
            pairs[ident.address] = (
                {a: record.attributes[a] for a in drifted},
                {a: live[a] for a in drifted},
            )
            key_ids[ident.address] = key.id
    items = []
    for address, changes_found in sorted(attribute_changes(pairs).items()):
        reverting = {c.attribute for c in planned[address].changes}
        items.append(
            DriftItem(
                address=address,
                key_id=key_ids[address],
                changes=changes_found,
                will_revert=not context.refresh_only
                and any(c.attribute in reverting for c in changes_found),
            )
        )
    return tuple(items)

"""The machine plan: Terraform's plan-JSON shape (SPEC §4).

Policy tools written for Terraform (conftest, OPA) read `resource_changes[].change.actions`
and friends, so those follow Terraform's names and meanings; what Terraform has no word for
(`unmanaged_keys`, `api_writes`, the reason of our own) sits beside them. A saved plan file
(infobip_iac/planfile.py) is this document with the plan embedded.
"""

from __future__ import annotations

import json
from typing import Any

from infobip_iac.domain.normalize import format_instant
from infobip_iac.domain.plan import (
    Action,
    ChangeAuthor,
    DriftItem,
    Plan,
    Reason,
    ResourceChange,
)
from infobip_iac.render.text import attribution

__all__ = [
    "FORMAT_VERSION",
    "RESOURCE_TYPE",
    "plan_document",
    "render_json",
]

FORMAT_VERSION = "1.2"  # the Terraform plan-JSON format this shape follows
RESOURCE_TYPE = "infobip_api_key"

# Terraform's `action_reason` words where it has one; every revoke is a "revoke" (SPEC §4).
_ACTION_REASONS = {
    Reason.ACCOUNT_CHANGED: "replace_because_cannot_update",
    Reason.SECRET_LOST: "replace_because_cannot_update",
    Reason.REPLACE_REQUESTED: "replace_by_request",
    Reason.ROTATION: "replace_because_rotation_due",
}


def _name(address: str) -> str:
    """Terraform's resource name: the last part of the address (`ci-sms`, or the key id
    of an unmanaged key)."""
    head, _, rest = address.partition(".")
    return rest.rsplit(".", 1)[-1] if head == "unmanaged" else rest


def _resource_change(change: ResourceChange) -> dict[str, Any]:
    creates = change.action in (Action.CREATE, Action.REPLACE)
    after_unknown: dict[str, bool] = dict.fromkeys(change.after_unknown, True)
    if creates:
        after_unknown["secret"] = True  # a new key's secret exists only after apply
    body: dict[str, Any] = {
        "address": change.address,
        "mode": "managed",
        "type": RESOURCE_TYPE,
        "name": _name(change.address),
        "change": {
            "actions": change.action.terraform_actions,
            "before": change.before,
            "after": change.after,
            "after_unknown": after_unknown,
            "before_sensitive": False if change.before is None else {},
            "after_sensitive": False
            if change.after is None
            else ({"secret": True} if creates else {}),
        },
        "infobip_reason": change.reason.value,
        "api_writes": change.writes,
    }
    if change.importing_id:
        body["change"]["importing"] = {"id": change.importing_id}
    if change.previous_address:
        body["previous_address"] = change.previous_address
    if change.rotation is not None:
        # Only the successor is created now: the predecessor's revoke is a later plan's.
        body["rotation"] = {
            "due": change.rotation.due,
            "predecessor_id": change.rotation.predecessor_id,
            "overlap": change.rotation.overlap,
            "revoke_predecessor_after": format_instant(change.rotation.revoke_predecessor_after),
        }
    if change.action is Action.REVOKE:
        body["action_reason"] = "revoke"
    elif change.reason in _ACTION_REASONS and change.action is Action.REPLACE:
        body["action_reason"] = _ACTION_REASONS[change.reason]
    return body


def _drift(item: DriftItem) -> dict[str, Any]:
    return {
        "address": item.address,
        "mode": "managed",
        "type": RESOURCE_TYPE,
        "name": _name(item.address),
        "change": {
            "actions": ["update"],
            "before": {c.attribute: c.before for c in item.changes},
            "after": {c.attribute: c.after for c in item.changes},
            "after_unknown": {},
            "before_sensitive": {},
            "after_sensitive": {},
        },
        "key_id": item.key_id,
        "will_revert": item.will_revert,
        "changed_by": _author(item.changed_by) if item.changed_by is not None else None,
    }


def _author(author: ChangeAuthor) -> dict[str, Any]:
    """Who changed a drifted key, from Infobip's audit log, and the sentence plans print."""
    return {
        "username": author.username,
        "ip_address": author.ip_address,
        "timestamp": format_instant(author.at) if author.at is not None else None,
        "action": author.action,
        "description": attribution(author),
    }


def plan_document(plan: Plan) -> dict[str, Any]:
    """The plan as Terraform-shaped JSON data (without the embedded plan)."""
    return {
        "format_version": FORMAT_VERSION,
        "infobip_iac_version": plan.tool_version,
        "timestamp": format_instant(plan.created_at),
        "applyable": plan.applyable,
        "complete": all(read.complete for read in plan.reads),
        "refresh_only": plan.refresh_only,
        "resource_changes": [_resource_change(change) for change in plan.changes],
        "resource_drift": [_drift(item) for item in plan.drift],
        "unmanaged_keys": [
            {
                "account": key.account,
                "key_id": key.key_id,
                "name": key.name,
                "disposition": key.disposition,
            }
            for key in plan.unmanaged
        ],
        "api_writes": {
            "count": plan.writes,
            "limit": plan.write_limit,
            "left_today": dict(plan.writes_left),
        },
        "drift_attribution_unavailable": plan.attribution_unavailable,
        "deferred_rotations": [
            {
                "address": deferred.address,
                "account": deferred.account,
                "key_id": deferred.key_id,
                "due": deferred.due,
                "valid_to": format_instant(deferred.valid_to) if deferred.valid_to else None,
            }
            for deferred in plan.deferred_rotations
        ],
        "waiting_predecessors": [
            {
                "address": waiting.address,
                "key_id": waiting.key_id,
                "revoke_after": format_instant(waiting.revoke_after),
            }
            for waiting in plan.waiting_predecessors
        ],
        "warnings": [*plan.validation_warnings, *plan.warnings],
    }


def render_json(plan: Plan) -> str:
    """`--format json`: the Terraform-shaped document on one line (as `terraform show
    -json` prints it; indenting would also take the slow pure-Python encoder)."""
    return json.dumps(plan_document(plan), ensure_ascii=False) + "\n"

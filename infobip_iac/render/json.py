"""The machine plan: Terraform's plan-JSON shape (SPEC §4), and the saved plan file.

Policy tools written for Terraform (conftest, OPA) read `resource_changes[].change.actions`
and friends, so those follow Terraform's names and meanings; what Terraform has no word for
(`unmanaged_keys`, `api_writes`, the reason of our own) sits beside them.

A saved plan is the same document with the whole `Plan` embedded under `infobip_iac`, and a
digest of it, so that `apply PLANFILE` executes exactly what was reviewed. Reading one
refuses a file whose embedded plan and Terraform-shaped part disagree: a policy check must
never pass on one thing while apply does another.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from infobip_iac.domain.normalize import format_instant
from infobip_iac.domain.plan import (
    PLAN_FORMAT_VERSION,
    Action,
    DriftItem,
    Plan,
    Reason,
    ResourceChange,
)
from infobip_iac.errors import UsageError

__all__ = [
    "FORMAT_VERSION",
    "RESOURCE_TYPE",
    "plan_document",
    "read_plan_file",
    "render_json",
    "write_plan_file",
]

FORMAT_VERSION = "1.2"  # the Terraform plan-JSON format this shape follows
RESOURCE_TYPE = "infobip_api_key"
_EMBEDDED = "infobip_iac"

# Terraform's `action_reason` words where it has one; every revoke is a "revoke" (SPEC §4).
_ACTION_REASONS = {
    Reason.ACCOUNT_CHANGED: "replace_because_cannot_update",
    Reason.SECRET_LOST: "replace_because_cannot_update",
    Reason.REPLACE_REQUESTED: "replace_by_request",
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
        "api_writes": {"count": plan.writes, "limit": plan.write_limit},
        "warnings": list(plan.warnings),
    }


def render_json(plan: Plan) -> str:
    """`--format json`: the Terraform-shaped document on one line (as `terraform show
    -json` prints it; indenting would also take the slow pure-Python encoder)."""
    return json.dumps(plan_document(plan), ensure_ascii=False) + "\n"


def _digest(embedded: Any) -> str:
    text = json.dumps(embedded, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def write_plan_file(plan: Plan, path: str | os.PathLike[str]) -> None:
    """Save `plan` for `apply PLANFILE`: written whole or not at all (temp file, rename)."""
    target = Path(path)
    embedded = plan.model_dump(mode="json")
    document = plan_document(plan)
    document[_EMBEDDED] = {
        "plan_format": PLAN_FORMAT_VERSION,
        "digest": _digest(embedded),
        "plan": embedded,
    }
    text = json.dumps(document, ensure_ascii=False) + "\n"
    temp: Path | None = None
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        temp = Path(name)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        temp.replace(target)
    except OSError as error:
        if temp is not None:
            temp.unlink(missing_ok=True)
        raise UsageError(f"cannot write the plan file {target}: {error.strerror}") from error


def read_plan_file(path: str | os.PathLike[str]) -> Plan:
    """A plan saved by `write_plan_file`. Raises UsageError for anything else: a missing,
    unreadable or edited file, or one saved by another plan format."""
    source = Path(path)
    remake = f"make a new one with `infobip-iac plan --out {source}`"
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        why = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
        raise UsageError(f"cannot read the plan file {source}: {why}") from error
    try:
        document = json.loads(text)
    except ValueError as error:
        raise UsageError(
            f"{source} is not a saved plan: it is not JSON (line {getattr(error, 'lineno', '?')})"
            f"; {remake}"
        ) from error
    section = document.get(_EMBEDDED) if isinstance(document, dict) else None
    if not isinstance(section, dict) or "plan" not in section:
        raise UsageError(
            f"{source} is not a saved plan of infobip-iac (it has no {_EMBEDDED!r} section); "
            f"{remake}"
        )
    if section.get("plan_format") != PLAN_FORMAT_VERSION:
        raise UsageError(
            f"{source} was saved in plan format {section.get('plan_format')!r}, and this "
            f"infobip-iac reads format {PLAN_FORMAT_VERSION}; {remake}"
        )
    if section.get("digest") != _digest(section["plan"]):
        raise UsageError(f"{source} is corrupt or was edited (its digest does not match); {remake}")
    try:
        plan = Plan.model_validate(section["plan"])
    except ValidationError as error:
        raise UsageError(
            f"{source} holds a plan this infobip-iac cannot read "
            f"({error.error_count()} problem(s), first at "
            f"{'.'.join(str(p) for p in error.errors()[0]['loc'])}); {remake}"
        ) from error
    shown = {key: value for key, value in document.items() if key != _EMBEDDED}
    if shown != json.loads(json.dumps(plan_document(plan))):
        raise UsageError(
            f"{source} was edited: its resource_changes no longer describe the plan it "
            f"holds; {remake}"
        )
    return plan

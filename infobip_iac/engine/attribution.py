"""Who changed a drifted key: the latest entry of Infobip's audit log that names it.

A plan that finds keys changed outside the tool reads the audit log once (one request, not
one per key) and puts the username, IP address and time of the latest write of each such
key in the plan. Attribution only adds to drift already found: when the log cannot be read
(the credentials lack `audit-logs:read`, or any other failure) the plan says so and goes on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol, runtime_checkable

from infobip_iac.domain.plan import ChangeAuthor, DriftItem, Plan
from infobip_iac.errors import InfobipIacError, PermissionDeniedError
from infobip_iac.infobip.audit import AuditEntry

__all__ = ["AuditLogReader", "attribute_drift"]

NO_PERMISSION = "the credentials lack the audit-logs:read scope (Infobip answered 403)"


@runtime_checkable
class AuditLogReader(Protocol):
    def key_audit_log(self) -> list[AuditEntry]:
        """The audit log's API-key entries; PermissionDeniedError without the scope."""
        ...


def _names(plan: Plan) -> dict[str, str]:
    """Address -> the live name of each drifted key (a change's `before` is the live key)."""
    drifted = {item.address for item in plan.drift}
    return {
        change.address: str(change.before["name"])
        for change in plan.changes
        if change.address in drifted and change.before and change.before.get("name")
    }


def _latest(entries: Sequence[AuditEntry], item: DriftItem, name: str | None) -> AuditEntry | None:
    """The newest entry whose description names the key: by its id, else by its quoted
    name (the web interface names keys by name)."""
    found = [entry for entry in entries if item.key_id in entry.description]
    if not found and name:
        quoted = (f"'{name}'", f'"{name}"')
        found = [e for e in entries if any(q in e.description for q in quoted)]
    if not found:
        return None
    # The newest; of entries in the same second, the first listed (Infobip lists newest
    # first).
    return max(found, key=lambda entry: entry.at)


def attribute_drift(plan: Plan, reader: AuditLogReader | None) -> Plan:
    """`plan` with each drifted key's `changed_by` filled in from one read of the audit
    log, or with `attribution_unavailable` saying why it could not be. Without drift (or
    without a reader) nothing is read."""
    if not plan.drift or reader is None:
        return plan
    try:
        entries = reader.key_audit_log()
    except PermissionDeniedError:
        return replace(plan, attribution_unavailable=NO_PERMISSION)
    except InfobipIacError as error:
        reason = f"the audit log could not be read ({error})"
        return replace(plan, attribution_unavailable=reason)
    names = _names(plan)
    drift = []
    for item in plan.drift:
        entry = _latest(entries, item, names.get(item.address))
        author = (
            ChangeAuthor(
                username=entry.username,
                ip_address=entry.ip_address,
                at=entry.at,
                action=entry.action,
            )
            if entry is not None
            else None
        )
        drift.append(replace(item, changed_by=author))
    return replace(plan, drift=tuple(drift))

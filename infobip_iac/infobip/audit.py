"""Infobip's audit log (`GET /audit/1/logs`, scope `audit-logs:read`) as the client reads
it: the entries about API keys, for saying who changed a key outside the tool.

An entry that is not what the spec's `SearchResult` says is skipped rather than failing the
plan: the log only adds a name and a time to drift the plan has already found.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from infobip_iac.domain.normalize import parse_instant

__all__ = ["AUDIT_PATH", "AuditEntry", "audit_entries_from_wire"]

AUDIT_PATH = "/audit/1/logs"


@dataclass(frozen=True)
class AuditEntry:
    action: str | None
    item: str | None
    description: str
    username: str | None
    ip_address: str | None
    at: datetime


def _text(item: dict[str, object], field: str) -> str | None:
    value = item.get(field)
    return value if isinstance(value, str) and value else None


def audit_entries_from_wire(payload: object) -> list[AuditEntry]:
    """The readable entries of an answer (a JSON array), in the order given."""
    entries: list[AuditEntry] = []
    for item in payload if isinstance(payload, list) else []:
        if not isinstance(item, dict):
            continue
        timestamp = _text(item, "timestamp")
        try:
            at = parse_instant(timestamp) if timestamp else None
        except ValueError:
            at = None
        if at is None:
            continue
        entries.append(
            AuditEntry(
                action=_text(item, "action"),
                item=_text(item, "item"),
                description=_text(item, "description") or "",
                username=_text(item, "username"),
                ip_address=_text(item, "ipAddress"),
                at=at,
            )
        )
    return entries

"""Infobip's audit log as the emulator keeps it: one entry per API-key write (who, from
where, when, what), served by `GET /audit/1/logs` in the spec's `SearchResult` shape.

Infobip's audit log covers what users do; the emulator records only what it does itself,
the writes to API keys (creates and updates, a revoke being the update that disables the
key). Reading it needs the `audit-logs:read` scope.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from infobip_iac.emulator.clock import format_instant, parse_instant
from infobip_iac.emulator.failures import OperationError

__all__ = [
    "AUDIT_PATH",
    "AUDIT_SCOPE",
    "MAX_RESULTS",
    "AuditEntry",
    "key_write_entry",
    "search",
]

AUDIT_PATH = "/audit/1/logs"
AUDIT_SCOPE = "audit-logs:read"
MAX_RESULTS = 10_000  # the spec's `limit` range and its answer when a search finds more
ITEM_API_KEY = "ApiKey"


@dataclass(frozen=True)
class AuditEntry:
    """One recorded action; `account_id` says whose log holds it (not part of the answer)."""

    id: str
    account_id: str
    action: str  # the spec's Action enum: Create, Update, Enable, Disable, ...
    item: str  # the spec's Item enum: ApiKey here
    description: str
    username: str
    ip_address: str
    timestamp: datetime

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action": self.action,
            "item": self.item,
            "description": self.description,
            "username": self.username,
            "ipAddress": self.ip_address,
            "timestamp": format_instant(self.timestamp),
        }

    def to_record(self) -> dict[str, Any]:
        return {**self.to_api(), "accountId": self.account_id}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> AuditEntry:
        return cls(
            id=record["id"],
            account_id=record["accountId"],
            action=record["action"],
            item=record["item"],
            description=record["description"],
            username=record["username"],
            ip_address=record["ipAddress"],
            timestamp=parse_instant(record["timestamp"]),
        )


def key_write_entry(
    *,
    account_id: str,
    key_id: str,
    key_name: str,
    was_enabled: bool | None,
    enabled: bool,
    username: str,
    ip_address: str,
    now: datetime,
) -> AuditEntry:
    """The entry of one key write; `was_enabled` is None for a create. A write that only
    turns a key on or off is told as Enable or Disable, as the web interface does."""
    if was_enabled is None:
        action, verb = "Create", "created"
    elif was_enabled != enabled:
        action, verb = ("Enable", "enabled") if enabled else ("Disable", "disabled")
    else:
        action, verb = "Update", "updated"
    return AuditEntry(
        id=str(uuid.uuid4()),
        account_id=account_id,
        action=action,
        item=ITEM_API_KEY,
        description=f"API key '{key_name}' ({key_id}) {verb} by user '{username}'",
        username=username,
        ip_address=ip_address,
        timestamp=now,
    )


def _instant(text: str | None, name: str) -> datetime | None:
    if text is None or text == "":
        return None
    try:
        return parse_instant(text)
    except ValueError:
        raise OperationError(
            400, "", [(name, "must be a date-time such as 2026-01-01T00:00:00.000+0000")]
        ) from None


def search(
    entries: list[AuditEntry],
    *,
    filters: dict[str, str | None],
    limit_text: str | None,
) -> list[dict[str, Any]]:
    """The entries matching `filters` (action, item, description as a substring, ipAddress,
    from, to), newest first, at most `limit`; a search that finds more than MAX_RESULTS is
    refused, as the spec's 400 says."""
    limit = MAX_RESULTS
    if limit_text:
        try:
            limit = int(limit_text)
        except ValueError:
            raise OperationError(400, "", [("limit", "must be an integer")]) from None
        if not 1 <= limit <= MAX_RESULTS:
            raise OperationError(400, "", [("limit", f"must be from 1 to {MAX_RESULTS}")])
    since = _instant(filters.get("from"), "from")
    until = _instant(filters.get("to"), "to")
    action, item = filters.get("action"), filters.get("item")
    description, ip_address = filters.get("description"), filters.get("ipAddress")
    found = [
        entry
        for entry in entries
        if (action is None or entry.action == action)
        and (item is None or entry.item == item)
        and (description is None or description in entry.description)
        and (ip_address is None or entry.ip_address == ip_address)
        and (since is None or entry.timestamp >= since)
        and (until is None or entry.timestamp <= until)
    ]
    if len(found) > MAX_RESULTS:
        raise OperationError(400, f"Search result larger than the limit. Limit is {MAX_RESULTS}.")
    # Newest first; entries of the same second in the reverse of the order they were made.
    newest = sorted(enumerate(found), key=lambda pair: (pair[1].timestamp, pair[0]), reverse=True)
    return [entry.to_api() for _, entry in newest[:limit]]

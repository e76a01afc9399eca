"""attribute_drift on its own: which audit entry names a drifted key, one read at most, and
a log that cannot be read leaves the plan as it was with the reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from builders import config, desired, live_map, matching, plan, record, state

from infobip_iac.domain.plan import Plan
from infobip_iac.engine.attribution import NO_PERMISSION, attribute_drift
from infobip_iac.errors import PermissionDeniedError, TransportError
from infobip_iac.infobip.audit import AuditEntry


def _drifted() -> Plan:
    """api_keys.billing (key D1, live name "Billing") widened by hand."""
    key = desired("billing", name="Billing", allowed_ips=frozenset({"203.0.113.0/24"}))
    current = matching(key, "D1")
    changed = replace(current, allowed_ips=frozenset({"0.0.0.0/0"}))
    return plan(config(key), state({key.address: record(current)}), live_map(changed))


def _entry(description: str, username: str, hour: int) -> AuditEntry:
    return AuditEntry(
        action="Update",
        item="ApiKey",
        description=description,
        username=username,
        ip_address="198.51.100.4",
        at=datetime(2026, 11, 25, hour, tzinfo=UTC),
    )


class _Reader:
    def __init__(self, entries: list[AuditEntry] | Exception) -> None:
        self.entries = entries
        self.reads = 0

    def key_audit_log(self) -> list[AuditEntry]:
        self.reads += 1
        if isinstance(self.entries, Exception):
            raise self.entries
        return self.entries


def test_the_newest_entry_naming_the_key_id_wins() -> None:
    reader = _Reader(
        [
            _entry("API key 'Other' (O1) updated", "someone.else", 11),
            _entry("API key 'Billing' (D1) updated", "jane.doe", 10),
            _entry("API key 'Billing' (D1) created", "infobip-iac", 9),
        ]
    )

    (item,) = attribute_drift(_drifted(), reader).drift

    assert reader.reads == 1
    author = item.changed_by
    assert author is not None and author.at is not None
    assert (author.username, author.at.hour) == ("jane.doe", 10)


def test_an_entry_naming_the_key_only_by_name_is_used() -> None:
    reader = _Reader([_entry("User 'jane.doe' updated API key 'Billing'", "jane.doe", 10)])

    (item,) = attribute_drift(_drifted(), reader).drift

    assert item.changed_by is not None and item.changed_by.ip_address == "198.51.100.4"


def test_no_entry_for_the_key_leaves_it_unattributed() -> None:
    made = attribute_drift(_drifted(), _Reader([_entry("API key 'Other' (O1)", "x", 10)]))

    assert made.drift[0].changed_by is None
    assert made.attribution_unavailable is None


def test_a_refused_or_failed_read_says_why_and_keeps_the_plan() -> None:
    refused = attribute_drift(
        _drifted(), _Reader(PermissionDeniedError("no", status=403, operation="search"))
    )
    failed = attribute_drift(_drifted(), _Reader(TransportError("timed out", operation="s")))

    assert refused.attribution_unavailable == NO_PERMISSION
    assert failed.attribution_unavailable is not None
    assert "timed out" in failed.attribution_unavailable
    assert refused.drift == failed.drift == _drifted().drift


def test_without_drift_nothing_is_read() -> None:
    key = desired("steady")
    current = matching(key, "S1")
    quiet = plan(config(key), state({key.address: record(current)}), live_map(current))
    reader = _Reader([])

    assert attribute_drift(quiet, reader) is quiet
    assert reader.reads == 0

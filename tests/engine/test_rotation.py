"""Budget-aware scheduling: the rotations that fit what the writes made today and the
plan's other writes leave of the day's budget, per account and soonest expiry first; the
rest deferred."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from infobip_iac.engine.rotation import (
    DueRotation,
    expiring_before_budget,
    schedule_rotations,
    too_late_text,
)

NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)


def rotation(name: str, days_left: float | None, account: str = "_") -> DueRotation:
    valid_to = None if days_left is None else NOW + timedelta(days=days_left)
    return DueRotation(f"api_keys.{name}", account, name.upper(), "92 days old", valid_to)


def test_the_most_urgent_rotations_take_what_other_writes_leave() -> None:
    due = [rotation("late", 9), rotation("never", None), rotation("soon", 2), rotation("mid", 5)]

    taken, deferred = schedule_rotations(due, {"_": 38}, write_limit=40)

    assert taken == {"api_keys.soon", "api_keys.mid"}
    assert [d.address for d in deferred] == ["api_keys.late", "api_keys.never"]


def test_each_account_has_its_own_budget() -> None:
    due = [rotation("a1", 1, "A"), rotation("a2", 2, "A"), rotation("b1", 3, "B")]

    taken, deferred = schedule_rotations(due, {"A": 39}, write_limit=40)

    assert taken == {"api_keys.a1", "api_keys.b1"}
    assert [d.address for d in deferred] == ["api_keys.a2"]


def test_a_deferred_key_expiring_before_midnight_utc_cannot_wait() -> None:
    _, deferred = schedule_rotations(
        [rotation("tonight", 0.5), rotation("tomorrow", 1.5)], {"_": 40}, write_limit=40
    )

    late = expiring_before_budget(deferred, NOW)

    assert [d.address for d in late] == ["api_keys.tonight"]
    text = too_late_text(late, write_limit=40, now=NOW)
    assert "api_keys.tonight expires at 2027-03-01T20:00:00Z" in text
    assert "the next day's begins at 2027-03-02T00:00:00Z" in text

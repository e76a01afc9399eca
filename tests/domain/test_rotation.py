"""When a key falls due for rotation, and when Infobip's write budget is next renewed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from infobip_iac.domain.rotation import (
    RotationPolicy,
    next_budget_at,
    rotation_due,
    rotation_starts,
    urgency,
)

NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
BOTH = RotationPolicy(
    every=timedelta(days=90), before_expiry=timedelta(days=14), overlap=timedelta(days=7)
)


def due(policy: RotationPolicy, *, age_days: float, left_days: float) -> str | None:
    return rotation_due(
        policy,
        valid_from=NOW - timedelta(days=age_days),
        valid_to=NOW + timedelta(days=left_days),
        now=NOW,
    )


def test_a_key_is_due_when_old_enough_or_close_enough_to_expiry_whichever_first() -> None:
    assert due(BOTH, age_days=89, left_days=15) is None
    assert due(BOTH, age_days=92, left_days=88) == "92 days old"
    assert due(BOTH, age_days=10, left_days=9) == "expires in 9 days"
    # Both hold: the expiry is named, since that is what would cause an outage.
    assert due(BOTH, age_days=100, left_days=1) == "expires in 1 day"
    assert due(BOTH, age_days=100, left_days=0.25) == "expires in 6 hours"
    assert due(BOTH, age_days=100, left_days=-1) == "expired"


def test_each_half_of_a_policy_alone() -> None:
    by_age = RotationPolicy(every=timedelta(days=30), before_expiry=None, overlap=timedelta(1))
    by_expiry = RotationPolicy(every=None, before_expiry=timedelta(days=7), overlap=timedelta(1))

    assert due(by_age, age_days=31, left_days=1) == "31 days old"
    assert due(by_age, age_days=29, left_days=1) is None
    assert due(by_expiry, age_days=400, left_days=8) is None
    assert due(by_expiry, age_days=1, left_days=7) == "expires in 7 days"


def test_rotation_starts_at_the_earlier_of_the_two_instants() -> None:
    start = NOW - timedelta(days=10)
    end = NOW + timedelta(days=80)
    assert rotation_starts(BOTH, valid_from=start, valid_to=end) == end - timedelta(days=14)
    assert rotation_starts(BOTH, valid_from=start, valid_to=None) == start + timedelta(days=90)
    assert rotation_starts(BOTH, valid_from=None, valid_to=None) is None


def test_the_budget_renews_at_the_next_utc_midnight_and_urgency_puts_soonest_first() -> None:
    assert next_budget_at(NOW) == datetime(2027, 3, 2, tzinfo=UTC)
    assert next_budget_at(datetime(2027, 12, 31, 23, 59, tzinfo=UTC)) == datetime(
        2028, 1, 1, tzinfo=UTC
    )
    order = sorted([None, NOW + timedelta(days=2), NOW], key=urgency)
    assert order == [NOW, NOW + timedelta(days=2), None]

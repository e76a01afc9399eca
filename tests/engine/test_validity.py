"""The planner's validity rules on their own: where `valid_for` is resolved, and which
dates Infobip refuses (the plans these make are tests/engine/test_plan.py's)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from builders import NOW, desired, live, record

from infobip_iac.domain.keys import SourceRef
from infobip_iac.engine.diff import wanted_values
from infobip_iac.engine.validity import (
    REFUSED_DATE,
    create_date_refusal,
    declared_valid_to,
    expected_valid_to,
    update_window_refusal,
)
from infobip_iac.errors import PlanError

DAY = timedelta(days=1)
SOURCE = SourceRef(file="keys.yaml", line=7, column=5)


def test_a_new_key_counts_valid_for_from_its_valid_from_only() -> None:
    assert declared_valid_to(desired("a", valid_to=NOW + DAY)) == NOW + DAY
    assert declared_valid_to(desired("a", valid_from=NOW, valid_for=9 * DAY)) == NOW + 9 * DAY
    # From the creation: a moment only apply knows.
    assert declared_valid_to(desired("a", valid_for=9 * DAY)) is None
    assert declared_valid_to(desired("a")) is None


def test_an_existing_key_keeps_the_instant_recorded_for_the_same_valid_for() -> None:
    written = live("K1", valid_from=NOW - 5 * DAY, valid_to=NOW + 85 * DAY)
    entry = record(written, valid_for="90d")
    assert expected_valid_to(desired("a", valid_for=90 * DAY), entry, written) == NOW + 85 * DAY
    # Another valid_for counts again, from the live key's start.
    longer = desired("a", valid_for=120 * DAY)
    assert expected_valid_to(longer, entry, written) == NOW + 115 * DAY
    # Without a record of it, likewise.
    assert expected_valid_to(desired("a", valid_for=90 * DAY), None, written) == NOW + 85 * DAY


def test_a_broken_recorded_instant_stops_the_plan() -> None:
    written = live("K1", valid_from=NOW - 5 * DAY, valid_to=NOW + 85 * DAY)
    entry = record(written, valid_for="90d")
    entry.attributes["valid_to"] = "not an instant"
    with pytest.raises(PlanError, match="holds an invalid valid_to"):
        expected_valid_to(desired("a", valid_for=90 * DAY), entry, written)


def test_a_create_from_the_past_is_refused_at_the_line_of_its_valid_from() -> None:
    past = desired("a", valid_from=NOW - DAY, valid_from_source=SOURCE)
    refusal = create_date_refusal(past, NOW)
    assert refusal is not None
    assert refusal.startswith(f"keys.yaml:7:5: {REFUSED_DATE} api_keys.a would be created")
    assert create_date_refusal(desired("a", valid_from=NOW + DAY), NOW) is None


def test_a_create_that_ends_before_now_is_refused() -> None:
    refusal = create_date_refusal(desired("a", valid_to=NOW), NOW)
    assert refusal is not None
    assert "would be created valid until" in refusal
    assert create_date_refusal(desired("a", valid_to=NOW + DAY), NOW) is None


def test_an_update_may_not_end_a_key_before_it_starts() -> None:
    key = live("K1", valid_from=NOW + 10 * DAY, valid_to=NOW + 20 * DAY)
    ending_early = desired("a", valid_to=NOW + 5 * DAY)
    wanted = wanted_values(ending_early, ending_early.valid_to)
    refusal = update_window_refusal(ending_early, wanted, key, ["valid_to"])
    assert refusal is not None
    assert f"{REFUSED_DATE} api_keys.a: the update would leave key K1 valid until" in refusal
    fine = desired("a", valid_to=NOW + 30 * DAY)
    assert (
        update_window_refusal(fine, wanted_values(fine, fine.valid_to), key, ["valid_to"]) is None
    )

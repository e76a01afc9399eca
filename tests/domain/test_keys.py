"""KeyWrite: a relative validity becomes an instant when the key is written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from infobip_iac.domain.keys import KeyWrite

SERVER_NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _server_clock() -> datetime:
    return SERVER_NOW


def test_valid_for_counts_from_the_server_clock_without_valid_from() -> None:
    write = KeyWrite(name="ci", valid_for=timedelta(days=90))
    resolved = write.with_valid_to_resolved(_server_clock)
    assert resolved.valid_to == SERVER_NOW + timedelta(days=90)
    assert resolved.valid_for is None
    assert resolved.name == "ci"


def test_valid_for_counts_from_valid_from_when_set() -> None:
    start = datetime(2026, 6, 1, tzinfo=UTC)

    def unused_clock() -> datetime:
        raise AssertionError("the server clock is not needed when valid_from is set")

    resolved = KeyWrite(valid_from=start, valid_for=timedelta(days=30)).with_valid_to_resolved(
        unused_clock
    )
    assert resolved.valid_to == start + timedelta(days=30)
    assert resolved.valid_for is None


def test_an_explicit_valid_to_wins_over_valid_for() -> None:
    end = datetime(2026, 12, 31, tzinfo=UTC)
    resolved = KeyWrite(valid_to=end, valid_for=timedelta(days=5)).with_valid_to_resolved(
        _server_clock
    )
    assert resolved.valid_to == end
    assert resolved.valid_for is None


def test_a_write_without_valid_for_is_unchanged() -> None:
    write = KeyWrite(name="ci", valid_to=SERVER_NOW)
    assert write.with_valid_to_resolved(_server_clock) == write

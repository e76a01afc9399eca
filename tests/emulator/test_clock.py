"""The emulator clock and its time formats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from infobip_iac.emulator.clock import (
    EmulatorClock,
    format_http_date,
    format_instant,
    format_key_instant,
    parse_duration,
    parse_instant,
)


@pytest.mark.parametrize(
    "text",
    [
        "2026-12-01T00:00:00Z",
        "2026-12-01T00:00:00z",
        "2026-12-01T00:00:00+00:00",
        "2026-12-01T00:00:00+0000",
        "2026-12-01T00:00:00.000Z",
        "2026-12-01T00:00:00",
        "2026-12-01T01:00:00+01:00",
        "2026-11-30T19:00:00-0500",
    ],
)
def test_parse_instant_accepts_infobip_forms(text: str) -> None:
    assert parse_instant(text) == datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "2026-12-01", "tomorrow", "2026-13-01T00:00:00Z"])
def test_parse_instant_refuses_the_rest(text: str) -> None:
    with pytest.raises(ValueError):
        parse_instant(text)


def test_formats() -> None:
    instant = datetime(2026, 12, 1, 2, 3, 4, 500000, tzinfo=UTC)
    assert format_instant(instant) == "2026-12-01T02:03:04+00:00"
    # a key's dates: RFC 3339 with milliseconds, as the spec's API-key answer examples
    assert format_key_instant(instant) == "2026-12-01T02:03:04.000+00:00"
    assert format_http_date(instant) == "Tue, 01 Dec 2026 02:03:04 GMT"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("36h", timedelta(hours=36)),
        ("90s", timedelta(seconds=90)),
        ("-1d", timedelta(days=-1)),
        ("2w", timedelta(weeks=2)),
        ("500ms", timedelta(milliseconds=500)),
        ("15m", timedelta(minutes=15)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "h", "1.5h", "3 fortnights"])
def test_parse_duration_refuses_the_rest(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


def test_clock_set_advance_reset() -> None:
    clock = EmulatorClock()
    target = datetime(2035, 1, 1, tzinfo=UTC)
    assert abs(clock.set(target) - target) < timedelta(seconds=1)
    assert abs(clock.advance(timedelta(days=2)) - (target + timedelta(days=2))) < timedelta(
        seconds=1
    )
    clock.reset()
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=1)

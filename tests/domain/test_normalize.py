"""The one place that canonicalizes IP ranges, instants and durations."""

from __future__ import annotations

import ipaddress
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infobip_iac.domain.normalize import (
    DURATION_UNITS,
    MAX_DURATION,
    DurationTooLongError,
    _network_sort_key,
    canonical_network,
    format_duration,
    format_instant,
    format_wire_instant,
    is_any_network,
    parse_duration,
    parse_instant,
    sorted_networks,
)


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("1.2.3.4", "1.2.3.4/32"),
        (" 1.2.3.4/32 ", "1.2.3.4/32"),
        ("203.0.113.0/24", "203.0.113.0/24"),
        ("2001:0DB8:0000:0000::/48", "2001:db8::/48"),
        ("2001:db8::1", "2001:db8::1/128"),
        ("0.0.0.0/0", "0.0.0.0/0"),
    ],
)
def test_equal_spellings_have_one_canonical_form(raw: str, canonical: str) -> None:
    assert canonical_network(raw) == canonical


def test_host_bits_are_refused_in_strict_mode_with_the_range_named() -> None:
    with pytest.raises(ValueError, match=r"host bits set; the range it names is 10\.0\.0\.0/8"):
        canonical_network("10.0.0.1/8")
    assert canonical_network("10.0.0.1/8", strict=False) == "10.0.0.0/8"


@pytest.mark.parametrize("junk", ["", "300.1.1.1", "1.2.3.4/33", "example.com", "::g"])
def test_junk_is_refused_in_both_modes(junk: str) -> None:
    with pytest.raises(ValueError):
        canonical_network(junk)
    with pytest.raises(ValueError):
        canonical_network(junk, strict=False)


def test_networks_sort_ipv4_first_then_by_address() -> None:
    assert sorted_networks(["2001:db8::/48", "10.0.0.0/8", "9.0.0.0/8"]) == [
        "9.0.0.0/8",
        "10.0.0.0/8",
        "2001:db8::/48",
    ]
    assert is_any_network("::/0") and is_any_network("0.0.0.0/0")
    assert not is_any_network("10.0.0.0/8")


@pytest.mark.parametrize(
    "spelling",
    [
        "2027-06-01T00:00:00Z",
        "2027-06-01T00:00:00z",
        "2027-06-01T00:00:00+00:00",
        "2027-06-01T00:00:00+0000",
        "2027-06-01T00:00:00",
        "2027-06-01T00:00:00.999Z",
        "2027-06-01T02:00:00+02:00",
        "2027-06-01",
    ],
)
def test_instants_compare_equal_in_every_spelling(spelling: str) -> None:
    assert parse_instant(spelling) == datetime(2027, 6, 1, tzinfo=UTC)
    assert format_instant(parse_instant(spelling)) == "2027-06-01T00:00:00Z"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2027, 6, 30, tzinfo=UTC), "2027-06-30T00:00:00.000+0000"),
        (datetime(2027, 6, 30, 1, 2, 3, 999000, tzinfo=UTC), "2027-06-30T01:02:03.000+0000"),
        (
            datetime(2027, 6, 30, 2, 0, tzinfo=timezone(timedelta(hours=2))),
            "2027-06-30T00:00:00.000+0000",
        ),
        (datetime(986, 1, 2, 3, 4, 5, tzinfo=UTC), "0986-01-02T03:04:05.000+0000"),
    ],
)
def test_wire_instants_are_written_as_infobip_clients_write_them(
    value: datetime, text: str
) -> None:
    assert format_wire_instant(value) == text
    assert parse_instant(text) == parse_instant(value)


def test_dates_and_naive_datetimes_are_utc() -> None:
    assert parse_instant(date(2027, 6, 1)) == datetime(2027, 6, 1, tzinfo=UTC)
    assert parse_instant(datetime(2027, 6, 1, 12)).tzinfo is UTC


@pytest.mark.parametrize("bad", ["", "tomorrow", "2027-13-01", "2027-06-01T25:00:00Z"])
def test_bad_instants_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_instant(bad)


@pytest.mark.parametrize(
    ("text", "value", "shortest"),
    [
        ("90d", timedelta(days=90), "90d"),
        ("36h", timedelta(hours=36), "36h"),
        ("2w", timedelta(weeks=2), "2w"),
        ("1y", timedelta(days=365), "1y"),
        ("30m", timedelta(minutes=30), "30m"),
        ("14d", timedelta(days=14), "2w"),
    ],
)
def test_durations(text: str, value: timedelta, shortest: str) -> None:
    assert parse_duration(text) == value
    assert format_duration(value) == shortest


@pytest.mark.parametrize(
    "bad", ["", "90", "d", "0d", "000d", "-1d", "1.5d", "3 months", "10s", "\u0663d", "\u0660d"]
)
def test_bad_durations_are_refused(bad: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(bad)
    assert not isinstance(caught.value, DurationTooLongError)


@pytest.mark.parametrize("longest", ["100y", "36500d", "5214w", "876000h", "52560000m", "0100y"])
def test_durations_up_to_a_century_are_read(longest: str) -> None:
    assert parse_duration(longest) <= MAX_DURATION == timedelta(days=36500)


@pytest.mark.parametrize(
    "long",
    ["101y", "36501d", "5215w", "876001h", "52560001m", "10000y", "9999999d", "99999999y",
     "1" * 5000 + "y"],
)  # fmt: skip
def test_longer_durations_are_refused_as_too_long_not_as_malformed(long: str) -> None:
    with pytest.raises(DurationTooLongError, match="longer than 100y"):
        parse_duration(long)


@given(st.integers(min_value=1, max_value=10**12), st.sampled_from(sorted(DURATION_UNITS)))
def test_every_duration_read_is_within_the_bound(amount: int, unit: str) -> None:
    try:
        parsed = parse_duration(f"{amount}{unit}")
    except DurationTooLongError:
        assert amount * DURATION_UNITS[unit].total_seconds() > MAX_DURATION.total_seconds()
    else:
        assert parsed == amount * DURATION_UNITS[unit] <= MAX_DURATION


def _reference_network(text: str, *, strict: bool) -> str | None:
    """What `ipaddress` alone makes of `text` (None: refused)."""
    try:
        return ipaddress.ip_network(text.strip(), strict=strict).with_prefixlen
    except ValueError:
        return None


_OCTET = st.one_of(
    st.integers(0, 300).map(str),
    st.sampled_from(["00", "01", "007", "255", "256", "", "x", "1e1", "٣"]),
)
_IPV4_LIKE = st.builds(
    lambda octets, prefix: ".".join(octets) + prefix,
    st.lists(_OCTET, min_size=3, max_size=5),
    st.one_of(
        st.just(""),
        st.integers(0, 40).map(lambda n: f"/{n}"),
        st.sampled_from(["/08", "/024", "/", "/255.255.255.0", "/ 8", "/+8"]),
    ),
)


@settings(max_examples=400, deadline=None)
@given(_IPV4_LIKE)
def test_the_ipv4_shortcut_agrees_with_ipaddress(text: str) -> None:
    for strict in (True, False):
        expected = _reference_network(text, strict=strict)
        if expected is None:
            with pytest.raises(ValueError):
                canonical_network(text, strict=strict)
        else:
            assert canonical_network(text, strict=strict) == expected
    loose = _reference_network(text, strict=False)
    if loose is not None:
        network = ipaddress.ip_network(text, strict=False)
        order = (network.version, int(network.network_address), network.prefixlen, "")
        assert _network_sort_key(text) == order


def test_networks_sort_by_address_not_by_text() -> None:
    networks = ["10.0.0.0/8", "9.255.0.0/16", "10.0.0.0/7", "2001:db8::/32", "192.0.2.7/32"]
    assert sorted_networks(networks) == [
        "9.255.0.0/16",
        "10.0.0.0/7",
        "10.0.0.0/8",
        "192.0.2.7/32",
        "2001:db8::/32",
    ]
    assert sorted_networks(["10.0.0.0/8"]) == ["10.0.0.0/8"]
    assert sorted_networks([]) == []


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2027, 6, 1, 12, 30, 5, tzinfo=UTC), "2027-06-01T12:30:05Z"),
        (datetime(2027, 6, 1, 12, 30, 5, 999_999, tzinfo=UTC), "2027-06-01T12:30:05Z"),
        (
            datetime(2027, 6, 1, 14, 30, 5, tzinfo=timezone(timedelta(hours=2))),
            "2027-06-01T12:30:05Z",
        ),
        (datetime(2027, 6, 1, 12, 30, 5), "2027-06-01T12:30:05Z"),
        (
            datetime(2027, 6, 1, 12, 30, 5, tzinfo=timezone(timedelta(0), "GMT")),
            "2027-06-01T12:30:05Z",
        ),
        # RFC 3339 writes four digits of year; glibc's strftime("%Y") would write "999".
        (datetime(999, 6, 1, tzinfo=UTC), "0999-06-01T00:00:00Z"),
        (datetime(999, 6, 1, 2, tzinfo=timezone(timedelta(hours=2))), "0999-06-01T00:00:00Z"),
    ],
)
def test_instants_are_written_in_utc_to_the_second(value: datetime, text: str) -> None:
    assert format_instant(value) == text

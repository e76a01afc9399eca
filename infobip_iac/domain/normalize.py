"""The one place that turns IP ranges, instants and durations into canonical values.

Everything that compares a manifest value with a live value goes through here, so that two
spellings of the same thing (`1.2.3.4` and `1.2.3.4/32`, `Z` and `+00:00`) can never show up
as a difference in a plan.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

__all__ = [
    "DURATION_UNITS",
    "EARLIEST_INSTANT",
    "LATEST_INSTANT",
    "MAX_DURATION",
    "DurationTooLongError",
    "HostBitsError",
    "canonical_network",
    "canonical_networks",
    "format_duration",
    "format_instant",
    "format_wire_instant",
    "is_any_network",
    "parse_duration",
    "parse_instant",
    "sorted_networks",
]

# `y` is a calendar-free 365 days: validity windows are compared as instants, and a fixed
# length keeps `valid_for` reproducible between plan and apply.
DURATION_UNITS: dict[str, timedelta] = {
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
    "y": timedelta(days=365),
}
# Any count of digits is read as a duration, so that `99999999y` is told it is too long
# rather than that it is not a duration at all.
_DURATION = re.compile(r"^\s*(\d+)\s*([mhdwy])\s*$", re.ASCII)
# A validity longer than a century is a typo (an extra digit), not a plan; the bound also
# keeps every `valid_from + valid_for` of a validated manifest far inside `datetime`.
MAX_DURATION = 100 * DURATION_UNITS["y"]
_MAX_DURATION_TEXT = "100y"
# The instants a manifest may write. RFC 3339 (and so Infobip's `validFrom`/`validTo`) has
# a four-digit year, which ends at 9999. Unix time starts at 1970, and Infobip (whose keys
# are far younger) counts in it; an earlier year in a manifest is a typo such as 0999.
EARLIEST_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
# Dotted-quad IPv4 without leading zeros, with an optional prefix: the spelling nearly every
# manifest and live key uses. It is read with integer arithmetic instead of `ipaddress`
# (a tenth of the time); anything else, valid or not, takes the `ipaddress` road.
_IPV4 = re.compile(
    r"(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})"
    r"(?:/([0-9]{1,2}))?",
    re.ASCII,
)


def _ipv4_parts(text: str) -> tuple[int, int] | None:
    """(address, prefix length) of a plain IPv4 address or range, None for any other text."""
    match = _IPV4.fullmatch(text)
    if match is None:
        return None
    a, b, c, d, prefix = match.groups()
    octets = (int(a), int(b), int(c), int(d))
    length = 32 if prefix is None else int(prefix)
    if max(octets) > 255 or length > 32:
        return None
    return (octets[0] << 24 | octets[1] << 16 | octets[2] << 8 | octets[3], length)


class HostBitsError(ValueError):
    """A well-formed CIDR range whose address is not its network's (`10.0.0.1/8`)."""


def canonical_network(text: str, *, strict: bool = True) -> str:
    """`1.2.3.4` -> `1.2.3.4/32`; IPv6 compressed; raises HostBitsError on host
    bits, ValueError on junk.

    Host bits set in a CIDR (`10.0.0.1/8`) are refused in a manifest rather than silently
    masked: the writer probably meant something else, and a silent fix would widen or move
    the range. `strict=False` is for values Infobip already holds (set in its portal, say):
    they are read as the range they admit, so one such key cannot stop a whole plan.
    """
    raw = text.strip()
    if not raw:
        raise ValueError("empty IP address or range")
    fast = _ipv4_parts(raw)
    if fast is not None and not fast[0] & (0xFFFFFFFF >> fast[1]):
        # No host bits: the text's own octets are the network's, as `ipaddress` writes them.
        return f"{raw.partition('/')[0]}/{fast[1]}"
    if not strict:
        try:
            return ipaddress.ip_network(raw, strict=False).with_prefixlen
        except ValueError as exc:
            raise ValueError(f"{raw!r} is not an IP address or CIDR range") from exc
    try:
        network = ipaddress.ip_network(raw, strict=True)
    except ValueError as exc:
        if "/" in raw:
            try:
                loose = ipaddress.ip_network(raw, strict=False)
            except ValueError:
                raise ValueError(f"{raw!r} is not an IP address or CIDR range") from exc
            raise HostBitsError(
                f"{raw!r} has host bits set; the range it names is {loose.with_prefixlen}"
            ) from exc
        raise ValueError(f"{raw!r} is not an IP address or CIDR range") from exc
    return network.with_prefixlen


def canonical_networks(values: Iterable[str]) -> frozenset[str]:
    """A set of canonical networks; duplicates and order vanish."""
    return frozenset(canonical_network(v) for v in values)


# Plans sort the ranges of every live and declared key, mostly the same few strings; parsing
# each once keeps a 10,000-key plan from spending most of its time in `ipaddress`.
@functools.lru_cache(maxsize=65536)
def _network_sort_key(text: str) -> tuple[int, int, int, str]:
    fast = _ipv4_parts(text)
    if fast is not None:
        address, length = fast
        return (4, address & ~(0xFFFFFFFF >> length), length, "")
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return (99, 0, 0, text)  # a live value kept verbatim (`10.0.0.*`): after the rest
    return (network.version, int(network.network_address), network.prefixlen, "")


def sorted_networks(values: Iterable[str]) -> list[str]:
    """Canonical networks in a stable, human order: IPv4 before IPv6, by address; texts
    that are no network (live values kept verbatim) last, by text."""
    listed = list(values)
    if len(listed) < 2:
        return listed  # most keys allow one range: nothing to parse for order
    return sorted(listed, key=_network_sort_key)


def is_any_network(text: str) -> bool:
    """True for `0.0.0.0/0` and `::/0`, the ranges that admit every address."""
    return ipaddress.ip_network(text, strict=False).prefixlen == 0


def parse_instant(value: str | datetime | date) -> datetime:
    """An aware UTC datetime with sub-second parts dropped.

    Accepts `Z`, `+00:00`, `+0000`, any other offset, milliseconds, or no offset at all
    (read as UTC, as Infobip's own examples write them), and a bare date (midnight UTC).
    Raises ValueError on anything else.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    else:
        text = value.strip()
        if text.endswith("z"):
            text = text[:-1] + "Z"
        if not text:
            raise ValueError("empty date-time")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError(
                f"{value!r} is not a date or date-time (use e.g. 2027-06-01 or "
                "2027-06-01T00:00:00Z)"
            ) from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    parsed = parsed.astimezone(UTC)
    return parsed.replace(microsecond=0) if parsed.microsecond else parsed


_RFC3339 = "%04d-%02d-%02dT%02d:%02d:%02dZ"
_NO_OFFSET = timedelta(0)


def format_instant(value: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, seconds precision: how plans and state write instants."""
    return _spell(_RFC3339, value)


_INFOBIP_DATE_TIME = "%04d-%02d-%02dT%02d:%02d:%02d.000+0000"


def format_wire_instant(value: datetime) -> str:
    """Infobip's own spelling of a date-time in a request, `yyyy-MM-dd'T'HH:mm:ss.SSSZ`
    (`2027-06-30T00:00:00.000+0000`): what its official API clients send and its spec's
    request examples write. Instants are whole seconds in UTC, so the milliseconds are
    zero and the offset is `+0000`."""
    return _spell(_INFOBIP_DATE_TIME, value)


def _spell(form: str, value: datetime) -> str:
    # Written from the fields, three times as fast as strftime, and with the year padded to
    # four digits, which glibc's `%Y` does not do. Every normalized instant is already UTC
    # to the second; anything else (another offset, naive, sub-seconds) is normalized first.
    if value.microsecond or not (value.tzinfo is UTC or value.utcoffset() == _NO_OFFSET):
        value = parse_instant(value)
    return form % (value.year, value.month, value.day, value.hour, value.minute, value.second)


class DurationTooLongError(ValueError):
    """A well-formed duration longer than `MAX_DURATION`."""


def parse_duration(text: str) -> timedelta:
    """`90d` -> 90 days. Units: m(inutes) h d w y(=365 d), at most `MAX_DURATION`.

    Raises DurationTooLongError above that, ValueError on anything else.
    """
    match = _DURATION.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(
            f"{text!r} is not a duration; write a whole number and a unit, one of "
            "m h d w y (e.g. 90d, 12w, 1y)"
        )
    digits, unit = match.group(1).lstrip("0"), match.group(2)
    if not digits:
        raise ValueError(f"{text!r} must be longer than zero")
    # Counts are compared, not durations: `timedelta` overflows long before a long count
    # does. 100y is 52,560,000 minutes, so a count of more digits is too long in any unit,
    # and is refused before `int` (which refuses texts of over 4,300 digits) sees it.
    size = DURATION_UNITS[unit]
    if len(digits) > 8 or int(digits) > MAX_DURATION // size:
        raise DurationTooLongError(
            f"{text!r} is longer than {_MAX_DURATION_TEXT}, the longest validity a manifest "
            "may give"
        )
    return int(digits) * size


def format_duration(value: timedelta) -> str:
    """The shortest exact spelling in our units (`180d`, `36h`)."""
    seconds = int(value.total_seconds())
    for unit in ("y", "w", "d", "h", "m"):
        size = int(DURATION_UNITS[unit].total_seconds())
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds // 60}m"

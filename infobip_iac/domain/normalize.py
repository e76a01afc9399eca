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
    "canonical_network",
    "canonical_networks",
    "format_duration",
    "format_instant",
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
_DURATION = re.compile(r"^\s*(\d{1,7})\s*([mhdwy])\s*$")
# Python's fromisoformat reads `+0000` and `Z`; a few older spellings need a nudge first.
_LOWER_Z = re.compile(r"z$")


def canonical_network(text: str, *, strict: bool = True) -> str:
    """`1.2.3.4` -> `1.2.3.4/32`; IPv6 compressed; raises ValueError on host bits or junk.

    Host bits set in a CIDR (`10.0.0.1/8`) are refused in a manifest rather than silently
    masked: the writer probably meant something else, and a silent fix would widen or move
    the range. `strict=False` is for values Infobip already holds (set in its portal, say):
    they are read as the range they admit, so one such key cannot stop a whole plan.
    """
    raw = text.strip()
    if not raw:
        raise ValueError("empty IP address or range")
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
            raise ValueError(
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
def _network_sort_key(text: str) -> tuple[int, int, int]:
    network = ipaddress.ip_network(text, strict=False)
    return (network.version, int(network.network_address), network.prefixlen)


def sorted_networks(values: Iterable[str]) -> list[str]:
    """Canonical networks in a stable, human order: IPv4 before IPv6, by address."""
    return sorted(values, key=_network_sort_key)


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
        text = _LOWER_Z.sub("Z", value.strip())
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
    return parsed.astimezone(UTC).replace(microsecond=0)


def format_instant(value: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, seconds precision: how plans and state write instants."""
    return parse_instant(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_duration(text: str) -> timedelta:
    """`90d` -> 90 days. Units: m(inutes) h d w y(=365 d). Raises ValueError otherwise."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(
            f"{text!r} is not a duration; write a whole number and a unit, one of "
            "m h d w y (e.g. 90d, 12w, 1y)"
        )
    amount, unit = int(match.group(1)), match.group(2)
    if amount <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    return amount * DURATION_UNITS[unit]


def format_duration(value: timedelta) -> str:
    """The shortest exact spelling in our units (`180d`, `36h`)."""
    seconds = int(value.total_seconds())
    for unit in ("y", "w", "d", "h", "m"):
        size = int(DURATION_UNITS[unit].total_seconds())
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds // 60}m"

"""The emulator's clock: real time plus an offset the control API moves, and its time formats."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

__all__ = [
    "EmulatorClock",
    "format_http_date",
    "format_instant",
    "format_key_instant",
    "parse_duration",
    "parse_instant",
]

_OFFSET_WITHOUT_COLON = re.compile(r"([+-]\d{2})(\d{2})$")
_DURATION = re.compile(r"^\s*([+-]?)(\d+)\s*(ms|s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class EmulatorClock:
    """Now, as the emulator sees it. Validity checks, token expiry and the daily write window
    follow this clock; the per-second read limit deliberately does not (it uses real time)."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def set(self, instant: datetime) -> datetime:
        with self._lock:
            self._offset = instant - datetime.now(UTC)
        return self.now()

    def advance(self, by: timedelta) -> datetime:
        with self._lock:
            self._offset += by
        return self.now()

    def reset(self) -> None:
        with self._lock:
            self._offset = timedelta(0)


def parse_instant(text: str) -> datetime:
    """Read a date-time as Infobip accepts it: RFC 3339 with `Z`, `+00:00` or `+0000`, with or
    without fractional seconds, or with no offset at all (then it is UTC, as the spec's own
    examples write them). Raises ValueError for anything else."""
    candidate = text.strip()
    if not candidate or "T" not in candidate.upper():
        raise ValueError(f"not a date-time: {text!r}")
    if candidate[-1] in "zZ":
        candidate = candidate[:-1] + "+00:00"
    candidate = _OFFSET_WITHOUT_COLON.sub(r"\1:\2", candidate)
    parsed = datetime.fromisoformat(candidate)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_instant(instant: datetime) -> str:
    """RFC 3339 in UTC with an explicit offset, whole seconds: `2026-12-01T00:00:00+00:00`."""
    return instant.astimezone(UTC).replace(microsecond=0).isoformat()


def format_key_instant(instant: datetime) -> str:
    """An API key's `validFrom`/`validTo`: RFC 3339 in UTC with milliseconds, as the spec's
    API-key answer examples write them (`2026-12-01T00:00:00.000+00:00`)."""
    return instant.astimezone(UTC).replace(microsecond=0).isoformat(timespec="milliseconds")


def format_http_date(instant: datetime) -> str:
    return format_datetime(instant.astimezone(UTC), usegmt=True)


def parse_duration(text: str) -> timedelta:
    """`36h`, `90m`, `2d`, `-1h`, `500ms`: an optional sign, an integer, one unit."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 36h, 2d)")
    sign, amount, unit = match.groups()
    seconds = int(amount) * _UNIT_SECONDS[unit]
    return timedelta(seconds=-seconds if sign == "-" else seconds)

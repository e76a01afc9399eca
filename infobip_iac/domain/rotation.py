"""Rotation: when a key is due for a successor, and which successors fit today's writes.

A key under a rotation policy gets a successor (a new Infobip key with the declared
attributes) once it is `every` old or expires within `before_expiry`, whichever comes
first; the predecessor stays enabled for `overlap` and is then revoked. Every instant here
is Infobip's clock (the plan's `now`). Nothing here talks to Infobip or reads files.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = [
    "INFOBIP_DEFAULT_VALIDITY",
    "RotationPolicy",
    "next_budget_at",
    "rotation_due",
    "rotation_starts",
    "urgency",
]

# A key created without validTo is valid for a year (Infobip's default).
INFOBIP_DEFAULT_VALIDITY = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class RotationPolicy:
    """A key's `rotation` block, resolved (defaults applied). At least one of `every`
    and `before_expiry` is set; `overlap` is shorter than `every`."""

    every: timedelta | None
    before_expiry: timedelta | None
    overlap: timedelta


def rotation_starts(
    policy: RotationPolicy, *, valid_from: datetime | None, valid_to: datetime | None
) -> datetime | None:
    """When the key falls due: `every` after it became valid, or `before_expiry` before
    it expires, whichever is first; None when neither can be known."""
    candidates = []
    if policy.every is not None and valid_from is not None:
        candidates.append(valid_from + policy.every)
    if policy.before_expiry is not None and valid_to is not None:
        candidates.append(valid_to - policy.before_expiry)
    return min(candidates) if candidates else None


def rotation_due(
    policy: RotationPolicy,
    *,
    valid_from: datetime | None,
    valid_to: datetime | None,
    now: datetime,
) -> str | None:
    """Why the key is due for a successor at `now` ("expires in 9 days", "92 days old"),
    or None when it is not due yet. Expiry is named first: it is what causes an outage."""
    if policy.before_expiry is not None and valid_to is not None:
        left = valid_to - now
        if left <= policy.before_expiry:
            return "expired" if left <= timedelta(0) else f"expires in {_days(left)}"
    if policy.every is not None and valid_from is not None:
        age = now - valid_from
        if age >= policy.every:
            return f"{_days(age)} old"
    return None


def _days(span: timedelta) -> str:
    if span < timedelta(days=1):
        hours = max(1, int(span.total_seconds() // 3600))
        return f"{hours} hour" + ("" if hours == 1 else "s")
    return f"{span.days} day" + ("" if span.days == 1 else "s")


def next_budget_at(now: datetime) -> datetime:
    """When Infobip's write budget is next renewed: its daily limit counts per UTC day."""
    return datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), now.tzinfo)


def urgency(valid_to: datetime | None) -> tuple[bool, float]:
    """A sort key: the soonest expiry first, a key that never expires last."""
    return (valid_to is None, valid_to.timestamp() if valid_to is not None else 0.0)

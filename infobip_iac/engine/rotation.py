"""Budget-aware scheduling of the rotations a plan finds due.

Infobip allows 40 writes per account and UTC day, and a successor's create is one of them
(the predecessor's revoke, a later day's). The writes already made today (which the state
tallies) and the plan's other writes come first; the rotations take what is left, soonest
expiry first, and the rest wait for a later day. A
deferred key that expires before the budget is next renewed cannot be saved by waiting:
that is an error of the plan, not a footnote.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeGuard

from infobip_iac.domain.keys import DesiredConfig
from infobip_iac.domain.normalize import format_instant
from infobip_iac.domain.plan import DeferredRotation
from infobip_iac.domain.rotation import next_budget_at, urgency
from infobip_iac.engine.drafts import Draft, Planned
from infobip_iac.engine.identity import Identities
from infobip_iac.engine.plan_context import PlanContext
from infobip_iac.errors import PlanError, UsageError

__all__ = [
    "BUDGET_TAKERS",
    "DueRotation",
    "check_rotation_requests",
    "expiring_before_budget",
    "fit_rotations",
    "schedule_rotations",
    "too_late_text",
]


# What a rotation's share of the day's budget goes to first (for the messages).
BUDGET_TAKERS = "the writes already made today, other changes and more urgent rotations"


@dataclass(frozen=True, slots=True)
class DueRotation:
    address: str
    account: str
    key_id: str
    due: str
    valid_to: datetime | None


def fit_rotations(context: PlanContext, planned: list[Planned]) -> list[Planned]:
    """The plan's changes with the rotations today's write budget can take; each of the
    rest falls back to its key's ordinary change and is listed in `context.deferred`."""
    rotations = [p for p in planned if isinstance(p, Draft) and p.decision.rotation is not None]
    if not rotations:
        return planned
    # Today's budget is spent first by the writes already made today (the state's tally
    # on Infobip's day, as apply counted them), then by the plan's other writes.
    today = context.now.date()
    spent = {r.account: context.state.writes_on(r.account, today) for r in rotations}
    for other in planned:
        if other.writes and not _is_rotation(other):
            spent[other.account] = spent.get(other.account, 0) + other.writes
    due = [
        DueRotation(
            address=r.subject.address,
            account=r.subject.account,
            key_id=r.subject.key_id or "",
            due=r.decision.rotation.due if r.decision.rotation else "",
            valid_to=context.live_key(r.subject.key_id).valid_to if r.subject.key_id else None,
        )
        for r in rotations
    ]
    limit = context.write_limit
    taken, deferred = schedule_rotations(due, spent, write_limit=limit)
    asked = sorted(r.address for r in deferred if r.address in context.rotate)
    if asked:
        raise UsageError(
            f"rotate {', '.join(asked)}: today's budget of {limit} Infobip "
            f"writes is taken by {BUDGET_TAKERS}; rotate later"
        )
    late = expiring_before_budget(deferred, context.now)
    if late:
        raise PlanError(too_late_text(late, write_limit=limit, now=context.now))
    context.deferred = deferred
    return [
        p.fallback if _is_rotation(p) and p.fallback is not None and p.address not in taken else p
        for p in planned
    ]


def _is_rotation(planned: Planned) -> TypeGuard[Draft]:
    return isinstance(planned, Draft) and planned.decision.rotation is not None


def schedule_rotations(
    due: Sequence[DueRotation], spent: Mapping[str, int], *, write_limit: int
) -> tuple[set[str], tuple[DeferredRotation, ...]]:
    """The addresses whose rotation fits today's budget, and the deferred rest, each in
    order of urgency (soonest expiry first, then address). `spent` is, per account, what
    today's budget already goes to: the writes made today and the plan's other writes."""
    left: dict[str, int] = {}
    taken: set[str] = set()
    deferred = []
    for rotation in sorted(due, key=lambda r: (*urgency(r.valid_to), r.address)):
        budget = left.setdefault(rotation.account, write_limit - spent.get(rotation.account, 0))
        if budget >= 1:
            taken.add(rotation.address)
            left[rotation.account] = budget - 1
            continue
        deferred.append(
            DeferredRotation(
                address=rotation.address,
                account=rotation.account,
                key_id=rotation.key_id,
                due=rotation.due,
                valid_to=rotation.valid_to,
            )
        )
    return taken, tuple(deferred)


def expiring_before_budget(
    deferred: Sequence[DeferredRotation], now: datetime
) -> list[DeferredRotation]:
    """Deferred rotations whose key expires before the next day's budget can make them."""
    renewal = next_budget_at(now)
    return [r for r in deferred if r.valid_to is not None and r.valid_to <= renewal]


def too_late_text(late: Sequence[DeferredRotation], *, write_limit: int, now: datetime) -> str:
    keys = "; ".join(
        f"{r.address} expires at {format_instant(r.valid_to)}" for r in late if r.valid_to
    )
    return (
        f"{len(late)} key(s) will expire before their rotation can be made: {keys}. Today's "
        f"budget of {write_limit} Infobip writes is taken by {BUDGET_TAKERS}, and the next "
        f"day's begins at {format_instant(next_budget_at(now))}. "
        "Plan the other changes later (plan --target the keys to rotate), or move writes "
        "to another day"
    )


def check_rotation_requests(
    rotate: Collection[str], config: DesiredConfig, identities: Identities
) -> None:
    """Refuse a rotation asked for (`rotate`, `--rotate`) that a plan would not make: an
    undeclared or disabled key, one without a rotation policy (no overlap to honour), or
    one with no enabled live key yet."""
    for address in sorted(rotate):
        desired = config.keys.get(address)
        if desired is None:
            close = difflib.get_close_matches(address, sorted(config.keys), n=1, cutoff=0.6)
            raise UsageError(
                f"rotate {address}: no key is declared at this address"
                + (f"; did you mean {close[0]}?" if close else "")
            )
        where = f" at {desired.source}" if desired.source else ""
        if desired.rotation is None:
            raise UsageError(
                f"rotate {address}: the key has no rotation policy{where}, so there is no "
                "overlap to honour; declare rotation (e.g. every: 90d, overlap: 7d), or "
                f"replace it at once with plan --replace {address}"
            )
        if not desired.enabled:
            raise UsageError(
                f"rotate {address}: the key is declared with enabled: false{where}, and a "
                "disabled key is not rotated"
            )
        ident = identities.declared.get(address)
        if ident is None or ident.live is None:
            raise UsageError(f"rotate {address}: the key has no live key yet; apply creates it")
        if not ident.live.enabled:
            raise UsageError(
                f"rotate {address}: its live key is disabled; apply re-enables it first"
            )

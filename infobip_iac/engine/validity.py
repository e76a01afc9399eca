"""The validity window a plan asks for, and the dates Infobip refuses.

A declaration's `valid_for` is resolved here, and only here: counted from its own
`valid_from` for a new key (`declared_valid_to`), or kept as the instant recorded when an
existing key was written (`expected_valid_to`). A `valid_for` counted from the creation of
a key is a moment only apply knows; it resolves that one against Infobip's clock.

Infobip refuses a create whose validFrom or validTo is earlier than the moment of
creation, and any write that leaves validTo earlier than validFrom. Such a change is an
error of the plan, at the line that wrote the date, judged by Infobip's clock (`now`, from
its Date header): never a 400 in the middle of an apply. An update may keep or set a
validFrom in the past: Infobip documents no rule against it.
"""

from __future__ import annotations

from datetime import datetime

from infobip_iac.domain.keys import DesiredKey, LiveKey, SourceRef
from infobip_iac.domain.normalize import format_duration, format_instant, parse_instant
from infobip_iac.engine.diff import Attributes
from infobip_iac.errors import PlanError
from infobip_iac.state.model import ResourceState

__all__ = [
    "REFUSED_DATE",
    "create_date_refusal",
    "declared_valid_to",
    "expected_valid_to",
    "update_window_refusal",
]

# The code the manifest's diagnostics give a date Infobip refuses (manifest/diagnostics.py),
# so that a plan's refusal reads like validate's.
REFUSED_DATE = "E606"


def declared_valid_to(desired: DesiredKey) -> datetime | None:
    """The `valid_to` a declaration fixes without a clock: its own, or `valid_for` counted
    from its `valid_from`. None when it sets neither, or when its `valid_for` counts from
    the key's creation."""
    if desired.valid_to is not None or desired.valid_for is None or desired.valid_from is None:
        return desired.valid_to
    return desired.valid_from + desired.valid_for


def expected_valid_to(
    desired: DesiredKey, record: ResourceState | None, key: LiveKey
) -> datetime | None:
    """The `valid_to` a declaration means for an existing key.

    A relative `valid_for` was resolved against the clock when the key was written;
    while it (and `valid_from`) stay as they were, the instant recorded then is the
    one to keep, rather than a new instant that moves with every plan.
    """
    if desired.valid_to is not None or desired.valid_for is None:
        return desired.valid_to
    if record is not None and record.valid_for == format_duration(desired.valid_for):
        recorded_to = _recorded_instant(record, "valid_to")
        recorded_from = _recorded_instant(record, "valid_from")
        if recorded_to is not None and desired.valid_from in (None, recorded_from):
            return recorded_to
    start = desired.valid_from or key.valid_from
    return start + desired.valid_for if start is not None else None


def _recorded_instant(record: ResourceState, attribute: str) -> datetime | None:
    value = record.attributes.get(attribute)
    if not value:
        return None
    try:
        return parse_instant(str(value))
    except ValueError as bad:
        raise PlanError(
            f"the state entry of key {record.id} holds an invalid {attribute} ({value!r}); "
            "run `infobip-iac plan --refresh-only` and apply it to record the live value"
        ) from bad


def create_date_refusal(desired: DesiredKey, now: datetime) -> str | None:
    """Why Infobip would refuse to create the key on these dates; None when it would not."""
    at = format_instant(now)
    if desired.valid_from is not None and desired.valid_from < now:
        return _refusal(
            desired,
            desired.valid_from_source,
            f"{desired.address} would be created with valid_from "
            f"{format_instant(desired.valid_from)}, before now ({at} on Infobip's clock); "
            "Infobip refuses a new key valid from the past: set a later valid_from, or "
            "leave it out (the key is then valid from its creation)",
        )
    end = declared_valid_to(desired)
    if end is not None and end <= now:
        return _refusal(
            desired,
            desired.valid_to_source,
            f"{desired.address} would be created valid until {format_instant(end)}, "
            f"before now ({at} on Infobip's clock); Infobip refuses it: set a later "
            "valid_to or a longer valid_for",
        )
    return None


def update_window_refusal(
    desired: DesiredKey, wanted: Attributes, key: LiveKey, differing: list[str]
) -> str | None:
    """Why Infobip would refuse the update of `differing`, which would leave the key valid
    until before it becomes valid; None when it would not."""
    starts = wanted["valid_from"] if "valid_from" in differing else key.valid_from
    ends = wanted["valid_to"] if "valid_to" in differing else key.valid_to
    if starts is None or ends is None or ends >= starts:
        return None
    written = "valid_to" if "valid_to" in differing else "valid_from"
    source = desired.valid_to_source if written == "valid_to" else desired.valid_from_source
    return _refusal(
        desired,
        source,
        f"{desired.address}: the update would leave key {key.id} valid until "
        f"{format_instant(ends)}, before it becomes valid ({format_instant(starts)}); "
        f"Infobip refuses that: declare both valid_from and valid_to, or change {written}",
    )


def _refusal(desired: DesiredKey, source: SourceRef | None, message: str) -> str:
    where = source or desired.source
    at = f"{where}: " if where is not None else ""
    return f"{at}{REFUSED_DATE} {message}"

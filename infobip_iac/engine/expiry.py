"""Which live keys expire when: the report of `infobip-iac expiry`, a pure function of the
configuration, the state, the live keys and Infobip's clock.

An expired key is an outage, so the report lists every enabled key of every account in
play, managed or not, soonest expiry first, and flags each one that expires within the
window with nothing planned to replace it. Disabled keys are left out: they serve no
request, so their expiry changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from infobip_iac.domain.keys import DesiredConfig, DesiredKey, LiveKey
from infobip_iac.domain.normalize import format_instant
from infobip_iac.domain.rotation import rotation_starts
from infobip_iac.engine.addresses import unmanaged_address
from infobip_iac.engine.live import LiveIndex
from infobip_iac.infobip.api import AccountKeys
from infobip_iac.state.model import ResourceState, StateDocument

__all__ = ["ExpiringKey", "ExpiryReport", "expiry_report"]


@dataclass(frozen=True, slots=True)
class ExpiringKey:
    """One enabled live key. `address` is its state address, or `unmanaged.ACCOUNT.ID`.
    `rotation` says what replaces it before it lapses ("due now", "from INSTANT", or for a
    rotated key's predecessor "predecessor, revoked after INSTANT"); None when nothing
    does."""

    address: str
    account: str
    key_id: str
    name: str
    managed: bool
    valid_to: datetime | None
    rotation: str | None
    at_risk: bool  # expires within the window and nothing will replace it in time


@dataclass(frozen=True, slots=True)
class ExpiryReport:
    now: datetime  # Infobip's clock when the keys were read
    within: timedelta
    keys: tuple[ExpiringKey, ...]

    @property
    def at_risk(self) -> tuple[ExpiringKey, ...]:
        return tuple(key for key in self.keys if key.at_risk)


def expiry_report(
    config: DesiredConfig,
    state: StateDocument,
    live: Mapping[str, AccountKeys],
    *,
    now: datetime,
    within: timedelta,
) -> ExpiryReport:
    """Every enabled live key of `live`, soonest expiry first (keys without an expiry last),
    then by address."""
    addresses = state.by_key_id()
    deadline = now + within
    keys = []
    for account, key in LiveIndex(live, state).unique_keys():
        if not key.enabled:
            continue
        address = addresses.get(key.id)
        record = state.resources.get(address) if address else None
        desired = config.keys.get(address) if address else None
        rotation, replaced_by = _rotation(record, desired, key, now)
        keys.append(
            ExpiringKey(
                address=address or unmanaged_address(account, key.id),
                account=account,
                key_id=key.id,
                name=key.name,
                managed=address is not None,
                valid_to=key.valid_to,
                rotation=rotation,
                at_risk=key.valid_to is not None
                and key.valid_to <= deadline
                and (replaced_by is None or replaced_by >= key.valid_to),
            )
        )
    keys.sort(key=lambda k: (k.valid_to is None, k.valid_to or now, k.address))
    return ExpiryReport(now=now, within=within, keys=tuple(keys))


def _rotation(
    record: ResourceState | None, desired: DesiredKey | None, key: LiveKey, now: datetime
) -> tuple[str | None, datetime | None]:
    """What replaces `key` and from when; (None, None) when nothing does."""
    if record is not None and record.revoke_after is not None:
        # A predecessor: its successor exists already.
        return f"predecessor, revoked after {format_instant(record.revoke_after)}", now
    if desired is None or desired.rotation is None or not desired.enabled:
        return None, None
    starts = rotation_starts(desired.rotation, valid_from=key.valid_from, valid_to=key.valid_to)
    if starts is None:
        return None, None
    if starts <= now:
        return "due now", now
    return f"from {format_instant(starts)}", starts

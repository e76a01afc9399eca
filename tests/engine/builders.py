"""Builders of planner inputs (declared keys, live keys, state) for the engine and render
tests: one place that knows how to make a consistent (desired, state, live) triple."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from infobip_iac.domain.keys import (
    DesiredConfig,
    DesiredKey,
    ImportBlock,
    LiveKey,
    MovedBlock,
    Permission,
    Policy,
    key_address,
)
from infobip_iac.domain.plan import Plan, ResourceChange
from infobip_iac.engine.plan import make_plan
from infobip_iac.infobip.api import AccountKeys
from infobip_iac.state.model import ResourceState, StateDocument

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ACCOUNT_ID = "8F0792F86035A9F4290821F1EE6BC06A"  # what `_` resolves to in these tests
PUBLIC = frozenset({Permission.PUBLIC_API})


def desired(ident: str, **fields: Any) -> DesiredKey:
    """A declared key `api_keys.<ident>`, named `<ident>` unless told otherwise."""
    fields.setdefault("name", ident)
    return DesiredKey(address=key_address(ident), ident=ident, **fields)


def live(key_id: str, name: str | None = None, **fields: Any) -> LiveKey:
    """A live key of the caller's account, enabled, PUBLIC_API, unless told otherwise."""
    fields.setdefault("account_id", ACCOUNT_ID)
    fields.setdefault("permissions", PUBLIC)
    fields.setdefault("name", name or key_id)
    return LiveKey(id=key_id, **fields)


def matching(key: DesiredKey, key_id: str, **fields: Any) -> LiveKey:
    """The live key that `key` describes exactly (then changed by `fields`)."""
    values: dict[str, Any] = {
        "name": key.name,
        "scopes": key.scopes,
        "permissions": key.permissions or PUBLIC,
        "platform": key.platform,
        "allowed_ips": key.allowed_ips,
        "valid_from": key.valid_from or NOW - timedelta(days=1),
        "valid_to": key.valid_to or NOW + timedelta(days=364),
        "enabled": key.enabled,
    }
    values.update(fields)
    return live(key_id, **values)


def record(key: LiveKey, **fields: Any) -> ResourceState:
    """A state entry that last wrote `key` as it is now."""
    fields.setdefault("account", "_")
    fields.setdefault("account_id", key.account_id)
    fields.setdefault("name", key.name)
    fields.setdefault("attributes", key.attributes())
    return ResourceState(id=key.id, **fields)


def config(
    *keys: DesiredKey,
    moved: Iterable[tuple[str, str]] = (),
    imports: Iterable[tuple[str, str]] = (),
    **policy: Any,
) -> DesiredConfig:
    return DesiredConfig(
        keys={key.address: key for key in keys},
        policy=Policy(**policy),
        moved=tuple(MovedBlock(from_address=a, to_address=b) for a, b in moved),
        imports=tuple(ImportBlock(to_address=a, key_id=b) for a, b in imports),
    )


def state(records: dict[str, ResourceState] | None = None, **fields: Any) -> StateDocument:
    fields.setdefault("lineage", "3f1c8d52-6a0e-4d8e-9d1b-2f7c5a4b9e10")
    fields.setdefault("serial", 7)
    return StateDocument(resources=dict(records or {}), **fields)


def live_map(*keys: LiveKey, account: str = "_", **others: list[LiveKey]) -> dict[str, AccountKeys]:
    """Live keys by account reference: `keys` for `account`, plus any `others` by id."""
    found = {account: AccountKeys(account=account, keys=list(keys), requests=1)}
    for other, other_keys in others.items():
        found[other] = AccountKeys(account=other, keys=other_keys, requests=1)
    return found


def plan(
    declared: DesiredConfig,
    current: StateDocument | None = None,
    reads: dict[str, AccountKeys] | None = None,
    **options: Any,
) -> Plan:
    """make_plan at NOW; reads default to an empty caller account."""
    options.setdefault("now", NOW)
    return make_plan(declared, current or state(), reads or live_map(), **options)


def change(made: Plan, address: str) -> ResourceChange:
    found = [c for c in made.changes if c.address == address]
    assert len(found) == 1, f"{address} in {[c.address for c in made.changes]}"
    return found[0]

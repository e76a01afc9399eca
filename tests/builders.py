"""Test data for every test of the planner, apply and what reads a plan: declared keys,
live keys, state, configurations, plans made by the real planner, and the plans the
renderer and plan-file tests share. One place that knows how to make a consistent
(desired, state, live) triple."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
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
    SecretSinkSpec,
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


def declared(ident: str, **fields: Any) -> DesiredKey:
    """A declared key with what a create sends filled in (one scope, one IP range, valid
    for 300 days), for tests that apply it; `fields` change any of them."""
    values: dict[str, Any] = {
        "scopes": frozenset({"sms:message:send"}),
        "allowed_ips": frozenset({"203.0.113.0/24"}),
        "valid_to": NOW + timedelta(days=300),
        **fields,
    }
    return desired(ident, **values)


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


# --- plans the renderer and plan-file tests share -----------------------------------------


def quiet_plan() -> Plan:
    """Everything in sync; one unmanaged key reported."""
    key = desired("steady")
    steady = matching(key, "S1")
    return plan(
        config(key),
        state({key.address: record(steady)}),
        live_map(steady, live("U9", "someone's key")),
    )


def update_plan() -> Plan:
    """A single in-place update: nothing revoked, nothing replaced."""
    key = desired("billing", name="Billing v2")
    current = matching(key, "B1", name="Billing")
    return plan(config(key), state({key.address: record(current)}), live_map(current))


def busy_plan() -> Plan:
    """One of everything: create, update, revoke (disabled and removed), replace, adoption,
    import, move, forget, an unmanaged key revoked and one reported, and drift."""
    created = desired(
        "ci-sms",
        name="CI SMS sender",
        scopes=frozenset({"sms:message:send", "sms:logs:read"}),
        allowed_ips=frozenset({"198.51.100.7/32"}),
        valid_to=NOW + timedelta(days=180),
        secret=SecretSinkSpec(sink="file", path="secrets/ci-sms.env"),
    )
    billing = desired(
        "billing",
        scopes=frozenset({"sms:logs:read", "a:read", "b:read"}),
    )
    billing_key = matching(
        billing,
        "573711510E1C002E29679B12C7CB48AE",
        scopes=frozenset({"account-management:manage", "a:read", "b:read"}),
    )
    disabled = desired("paused", enabled=False)
    paused_key = matching(replace(disabled, enabled=True), "P1")
    rotated = desired("rotated")
    rotated_key = matching(rotated, "R1")
    adopted = desired("adopted")
    adopted_key = matching(adopted, "A1")
    imported = desired("imported", name="Imported")
    imported_key = matching(imported, "I1", name="legacy name")
    moved = desired("new-home")
    moved_key = matching(moved, "M1")
    old_batch_key = live("O1", "old-batch")
    forgotten_key = live("F1", "forgotten", enabled=False)
    drifted = desired("drifted", allowed_ips=frozenset({"203.0.113.0/24"}))
    drifted_key = matching(drifted, "D1")

    current = state(
        {
            "api_keys.billing": record(billing_key),
            "api_keys.paused": record(paused_key),
            "api_keys.rotated": record(rotated_key),
            "api_keys.old-home": record(moved_key),
            "api_keys.old-batch": record(old_batch_key),
            "api_keys.forgotten": record(forgotten_key),
            "api_keys.drifted": record(drifted_key),
        }
    )
    reads = live_map(
        billing_key,
        paused_key,
        rotated_key,
        adopted_key,
        imported_key,
        moved_key,
        old_batch_key,
        forgotten_key,
        replace(drifted_key, allowed_ips=frozenset({"0.0.0.0/0"})),
        live("U1", "stranger"),
    )
    declared = config(
        created,
        billing,
        disabled,
        rotated,
        adopted,
        imported,
        moved,
        drifted,
        moved=[("api_keys.old-home", "api_keys.new-home")],
        imports=[("api_keys.imported", "I1")],
        unmanaged_keys="revoke",
    )
    return plan(declared, current, reads, replace=["api_keys.rotated"])


def targeted_plan() -> Plan:
    """`--target api_keys.steady` (in sync) leaving out the create of api_keys.fresh."""
    key = desired("steady")
    steady = matching(key, "S1")
    return plan(
        config(key, desired("fresh")),
        state({key.address: record(steady)}),
        live_map(steady),
        targets=["api_keys.steady"],
    )


def large_plan(changes: int, unmanaged: int, *, revoke_every: int = 3) -> Plan:
    """`changes` changes (creates, updates and revokes in turn) and `unmanaged` reported
    unmanaged keys, made by the real planner."""
    declared = []
    records = {}
    keys = []
    for index in range(changes):
        kind = index % revoke_every
        key = desired(
            f"key-{index:05d}",
            scopes=frozenset({"sms:message:send", "sms:logs:read"}),
            allowed_ips=frozenset({"198.51.100.7/32", "203.0.113.0/24"}),
            enabled=kind != 2,
        )
        declared.append(key)
        if kind == 0:
            continue  # a create
        current = matching(
            replace(key, enabled=True),
            f"K{index:031d}",
            name=key.name if kind == 2 else f"{key.name} (old)",
        )
        keys.append(current)
        records[key.address] = record(current)
    keys += [live(f"U{index:031d}", f"someone's key {index}") for index in range(unmanaged)]
    return plan(config(*declared, unmanaged_keys="report"), state(records), live_map(*keys))

"""Plans made by the real planner from small triples, for the tests of what reads a Plan
(the renderers and the saved plan file)."""

from __future__ import annotations

from datetime import timedelta

from engine.builders import (
    NOW,
    config,
    desired,
    live,
    live_map,
    matching,
    plan,
    record,
    state,
)

from infobip_iac.domain.keys import SecretSinkSpec
from infobip_iac.domain.plan import Plan

__all__ = ["busy_plan", "large_plan", "targeted_plan"]


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
    paused_key = matching(disabled.model_copy(update={"enabled": True}), "P1")
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
        drifted_key.model_copy(update={"allowed_ips": frozenset({"0.0.0.0/0"})}),
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
            key.model_copy(update={"enabled": True}),
            f"K{index:031d}",
            name=key.name if kind == 2 else f"{key.name} (old)",
        )
        keys.append(current)
        records[key.address] = record(current)
    keys += [live(f"U{index:031d}", f"someone's key {index}") for index in range(unmanaged)]
    return plan(config(*declared, unmanaged_keys="report"), state(records), live_map(*keys))

"""examples/policy/deny_revoke.rego evaluated by a real Rego engine (regopy, the Python
binding of rego-cpp, an implementation of OPA's language) against the JSON of plans made by
the real planner."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from builders import config, desired, live_map, matching, plan, record, state
from regopy import Interpreter

from infobip_iac.domain.plan import Plan
from infobip_iac.render.json import render_json

POLICY_DIR = Path(__file__).resolve().parents[2] / "examples" / "policy"


def deny(made: Plan, data: dict[str, Any] | None = None) -> list[str]:
    """The policy's `deny` set for the plan's JSON, with the example's data or `data`."""
    engine = Interpreter()
    engine.add_module("deny_revoke", (POLICY_DIR / "deny_revoke.rego").read_text())
    engine.add_data_json(
        json.dumps(data) if data is not None else (POLICY_DIR / "data.json").read_text()
    )
    engine.set_input_term(render_json(made))
    output = engine.query("data.main.deny")
    assert output.ok(), str(output)
    (denied,) = json.loads(str(output))["expressions"]
    return sorted(denied)


def _revoking(ident: str) -> Plan:
    """A plan that revokes `ident` (declared with enabled: false) and updates `other`."""
    revoked = desired(ident, enabled=False)
    revoked_key = matching(replace(revoked, enabled=True), "K1")
    other = desired("other", name="Other v2")
    other_key = matching(other, "K2", name="Other")
    return plan(
        config(revoked, other),
        state({revoked.address: record(revoked_key), other.address: record(other_key)}),
        live_map(revoked_key, other_key),
    )


def test_a_plan_that_revokes_a_protected_key_is_denied() -> None:
    denied = deny(_revoking("payments-otp"))

    assert denied == [
        'api_keys.payments-otp is a protected key and would be revoked (actions ["delete"]): '
        "revoke it only with a reviewed exception"
    ]


def test_a_plan_that_revokes_only_unprotected_keys_is_allowed(busy_plan: Plan) -> None:
    assert deny(_revoking("old-ci")) == []
    # busy_plan revokes four keys, none of them protected by the example's data.
    assert len(busy_plan.revokes()) == 4
    assert deny(busy_plan) == []


def test_replacing_a_protected_key_revokes_it_and_is_denied(busy_plan: Plan) -> None:
    denied = deny(busy_plan, {"infobip": {"protected_keys": ["api_keys.rot*"]}})

    assert denied == [
        'api_keys.rotated is a protected key and would be revoked (actions ["create", "delete"]): '
        "revoke it only with a reviewed exception"
    ]


def test_a_plan_that_only_changes_a_protected_key_is_allowed() -> None:
    key = desired("billing", name="Billing v2")
    current = matching(key, "B1", name="Billing")
    made = plan(config(key), state({key.address: record(current)}), live_map(current))

    assert [change.action.value for change in made.changes] == ["update"]
    assert deny(made) == []

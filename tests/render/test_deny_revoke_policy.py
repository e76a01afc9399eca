"""examples/policy/deny_revoke.rego against real plan JSON.

OPA itself could not be installed here from the registries this project may use: Debian
has no OPA package, PyPI's OPA bindings need Python 3.14 (this project runs 3.11), and the
npm packages ship only JavaScript SDKs and a WebAssembly runtime that needs a policy
compiled by the `opa` binary. So this test reads the same fields the policy reads
(`resource_changes[].change.actions`, `.address`) and applies the same rule in Python: a
resource change whose actions include "delete" is denied. A check that the policy still
reads those fields keeps the two from drifting apart. (Evaluated once by hand with
regorus, a Rego interpreter from PyPI that is not a dependency here, the policy denied
the same four changes of `busy_plan` and nothing in the other two plans.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infobip_iac.domain.plan import Plan
from infobip_iac.render.json import render_json

POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy" / "deny_revoke.rego"


def deny(plan_json: dict[str, Any]) -> list[str]:
    """The policy's `deny` set: one message per resource change that revokes a key."""
    return [
        f"{change['address']} would be revoked (actions {json.dumps(change['change']['actions'])})"
        for change in plan_json["resource_changes"]
        if "delete" in change["change"]["actions"]
    ]


def test_the_policy_reads_the_fields_this_test_reads() -> None:
    rego = POLICY.read_text()

    assert "package main" in rego  # conftest's default namespace
    assert "some change in input.resource_changes" in rego
    assert '"delete" in change.change.actions' in rego
    assert "deny contains message if" in rego


def test_a_plan_that_revokes_is_denied(busy_plan: Plan) -> None:
    denied = deny(json.loads(render_json(busy_plan)))

    assert denied == [
        'api_keys.old-batch would be revoked (actions ["delete"])',
        'api_keys.paused would be revoked (actions ["delete"])',
        'api_keys.rotated would be revoked (actions ["create", "delete"])',
        'unmanaged._.U1 would be revoked (actions ["delete"])',
    ]


def test_a_plan_without_revokes_passes(update_plan: Plan, quiet_plan: Plan) -> None:
    assert deny(json.loads(render_json(update_plan))) == []
    assert deny(json.loads(render_json(quiet_plan))) == []

"""The JSON plan (Terraform's plan-JSON shape)."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any, get_args, get_type_hints

import pytest
from builders import config, desired, plan, targeted_plan

from infobip_iac.domain.keys import SecretSinkSpec
from infobip_iac.domain.plan import Plan, value_types
from infobip_iac.domain.secret import Secret
from infobip_iac.planfile import write_plan_file
from infobip_iac.render.json import plan_document, render_json


def by_address(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rc["address"]: rc for rc in document["resource_changes"]}


def test_terraform_shape(busy_plan: Plan) -> None:
    document = json.loads(render_json(busy_plan))

    assert document["format_version"] == "1.2"
    assert document["api_writes"] == {"count": 9, "limit": 40, "left_today": {}}
    changes = by_address(document)
    create = changes["api_keys.ci-sms"]
    assert (create["type"], create["name"], create["mode"]) == (
        "infobip_api_key",
        "ci-sms",
        "managed",
    )
    assert create["change"]["actions"] == ["create"]
    assert create["change"]["before"] is None
    assert create["change"]["after_unknown"] == {"id": True, "valid_from": True, "secret": True}
    assert create["change"]["after_sensitive"] == {"secret": True}
    assert create["change"]["before_sensitive"] is False


@pytest.mark.parametrize(
    ("address", "actions", "reason"),
    [
        ("api_keys.billing", ["update"], None),
        ("api_keys.old-batch", ["delete"], "revoke"),
        ("api_keys.paused", ["delete"], "revoke"),
        ("unmanaged._.U1", ["delete"], "revoke"),
        ("api_keys.rotated", ["create", "delete"], "replace_by_request"),
        ("api_keys.adopted", ["no-op"], None),
    ],
)
def test_actions_and_reasons(
    busy_plan: Plan, address: str, actions: list[str], reason: str | None
) -> None:
    found = by_address(plan_document(busy_plan))[address]

    assert found["change"]["actions"] == actions
    assert found.get("action_reason") == reason


def test_imports_moves_drift_and_unmanaged(busy_plan: Plan) -> None:
    document = plan_document(busy_plan)
    changes = by_address(document)

    assert changes["api_keys.imported"]["change"]["importing"] == {"id": "I1"}
    assert changes["api_keys.new-home"]["previous_address"] == "api_keys.old-home"
    assert changes["unmanaged._.U1"]["name"] == "U1"
    (drift,) = document["resource_drift"]
    assert drift["address"] == "api_keys.drifted"
    assert drift["change"]["before"] == {"allowed_ips": ["203.0.113.0/24"]}
    assert drift["change"]["after"] == {"allowed_ips": ["0.0.0.0/0"]}
    assert drift["will_revert"] is True
    assert document["unmanaged_keys"] == [
        {"account": "_", "key_id": "U1", "name": "stranger", "disposition": "revoke"}
    ]


def test_a_targeted_plan_says_in_its_warnings_what_it_left_out() -> None:
    document = json.loads(render_json(targeted_plan()))

    assert document["applyable"] is False
    assert any("1 change to keys outside --target left out" in w for w in document["warnings"])


def _annotation_parts(annotation: Any) -> list[Any]:
    parts = [annotation]
    for argument in get_args(annotation):
        parts.extend(_annotation_parts(argument))
    return parts


def test_a_plan_never_holds_a_secret(tmp_path: Path) -> None:
    """A secret exists only in apply, between the create and its sink. No field of a Plan
    (or of anything inside one) can hold a Secret, the sink spec says only where a secret
    goes, and the saved file marks the secret sensitive without a value."""
    reachable = value_types(Plan)
    assert SecretSinkSpec in reachable
    for model in reachable:
        for name, annotation in get_type_hints(model).items():
            assert Secret not in _annotation_parts(annotation), f"{model.__name__}.{name}"
    assert {f.name for f in fields(SecretSinkSpec)} == {
        "sink",
        "path",
        "format",
        "command",
        "base_dir",
    }

    key = desired("ci", secret=SecretSinkSpec(sink="file", path="secrets/ci.env"))
    target = tmp_path / "plan.json"
    write_plan_file(plan(config(key)), target)

    text = target.read_text()
    assert "apiKeySecret" not in text
    create = by_address(json.loads(text))["api_keys.ci"]["change"]
    assert create["after_sensitive"] == {"secret": True}
    assert "secret" not in create["after"]

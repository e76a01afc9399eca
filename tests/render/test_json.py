"""The JSON plan (Terraform's plan-JSON shape) and saved plan files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import pytest
from engine.builders import config, desired, live_map, matching, plan, record, state
from pydantic import BaseModel

from infobip_iac.domain.keys import SecretSinkSpec
from infobip_iac.domain.plan import Plan
from infobip_iac.domain.secret import Secret
from infobip_iac.errors import UsageError
from infobip_iac.render.json import (
    _digest,
    plan_document,
    read_plan_file,
    render_json,
    write_plan_file,
)


def by_address(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rc["address"]: rc for rc in document["resource_changes"]}


def test_terraform_shape(busy_plan: Plan) -> None:
    document = json.loads(render_json(busy_plan))

    assert document["format_version"] == "1.2"
    assert document["api_writes"] == {"count": 9, "limit": 40}
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


def test_saved_plan_round_trips(busy_plan: Plan, tmp_path: Path) -> None:
    target = tmp_path / "plan.json"

    write_plan_file(busy_plan, target)

    assert read_plan_file(target) == busy_plan
    saved = json.loads(target.read_text())
    shown = {k: v for k, v in saved.items() if k != "infobip_iac"}
    assert shown == json.loads(render_json(busy_plan))
    assert list(tmp_path.iterdir()) == [target]  # no temp file left behind


def _targeted_plan() -> Plan:
    """`--target api_keys.steady` (in sync) leaving out the create of api_keys.fresh."""
    key = desired("steady")
    steady = matching(key, "S1")
    return plan(
        config(key, desired("fresh")),
        state({key.address: record(steady)}),
        live_map(steady),
        targets=["api_keys.steady"],
    )


def test_a_targeted_plan_says_in_its_warnings_what_it_left_out() -> None:
    document = json.loads(render_json(_targeted_plan()))

    assert document["applyable"] is False
    assert any("1 change to keys outside --target left out" in w for w in document["warnings"])


def test_a_plan_saved_before_the_left_out_count_still_reads(tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    write_plan_file(_targeted_plan(), target)
    saved = json.loads(target.read_text())
    embedded = saved["infobip_iac"]
    del embedded["plan"]["changes_outside_targets"]
    embedded["digest"] = _digest(embedded["plan"])
    target.write_text(json.dumps(saved))

    assert read_plan_file(target).changes_outside_targets == 0


def _models_reachable_from(model: type[BaseModel]) -> set[type[BaseModel]]:
    found: set[type[BaseModel]] = set()
    pending = [model]
    while pending:
        current = pending.pop()
        if current in found:
            continue
        found.add(current)
        for info in current.model_fields.values():
            for part in _annotation_parts(info.annotation):
                if isinstance(part, type) and issubclass(part, BaseModel):
                    pending.append(part)
    return found


def _annotation_parts(annotation: Any) -> list[Any]:
    parts = [annotation]
    for argument in get_args(annotation):
        parts.extend(_annotation_parts(argument))
    return parts


def test_a_plan_never_holds_a_secret(tmp_path: Path) -> None:
    """A secret exists only in apply, between the create and its sink. No field of a Plan
    (or of anything inside one) can hold a Secret, the sink spec says only where a secret
    goes, and the saved file marks the secret sensitive without a value."""
    reachable = _models_reachable_from(Plan)
    assert SecretSinkSpec in reachable
    for model in reachable:
        for name, info in model.model_fields.items():
            assert Secret not in _annotation_parts(info.annotation), f"{model.__name__}.{name}"
    assert set(SecretSinkSpec.model_fields) == {"sink", "path", "format", "command", "base_dir"}

    key = desired("ci", secret=SecretSinkSpec(sink="file", path="secrets/ci.env"))
    target = tmp_path / "plan.json"
    write_plan_file(plan(config(key)), target)

    text = target.read_text()
    assert "apiKeySecret" not in text
    create = by_address(json.loads(text))["api_keys.ci"]["change"]
    assert create["after_sensitive"] == {"secret": True}
    assert "secret" not in create["after"]


def _save(busy_plan: Plan, tmp_path: Path, edit: Any) -> Path:
    target = tmp_path / "plan.json"
    write_plan_file(busy_plan, target)
    document = json.loads(target.read_text())
    edit(document)
    target.write_text(json.dumps(document))
    return target


def _set(path: list[str], value: Any) -> Any:
    def edit(document: dict[str, Any]) -> None:
        node = document
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_set(["infobip_iac", "plan", "write_limit"], 400), "corrupt or was edited"),
        (_set(["resource_changes"], []), "was edited"),
        (_set(["infobip_iac", "plan_format"], 99), "plan format 99"),
        (lambda document: document.pop("infobip_iac"), "not a saved plan of infobip-iac"),
    ],
    ids=["embedded plan edited", "resource_changes edited", "other format", "terraform plan"],
)
def test_a_wrong_plan_file_is_refused_clearly(
    busy_plan: Plan, tmp_path: Path, edit: Any, message: str
) -> None:
    target = _save(busy_plan, tmp_path, edit)

    with pytest.raises(UsageError, match=message):
        read_plan_file(target)


def test_a_consistent_but_unreadable_embedded_plan_is_refused(
    busy_plan: Plan, tmp_path: Path
) -> None:
    def edit(document: dict[str, Any]) -> None:
        from infobip_iac.render.json import _digest

        section = document["infobip_iac"]
        section["plan"]["changes"][0]["action"] = "explode"
        section["digest"] = _digest(section["plan"])

    target = _save(busy_plan, tmp_path, edit)

    with pytest.raises(UsageError, match=r"cannot read .*changes\.0\.action"):
        read_plan_file(target)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"not json {", "not JSON"), (b"\xff\xfe", "not UTF-8"), (b"[1, 2]", "not a saved plan")],
)
def test_files_that_are_not_plans(tmp_path: Path, content: bytes, message: str) -> None:
    target = tmp_path / "plan.json"
    target.write_bytes(content)

    with pytest.raises(UsageError, match=message):
        read_plan_file(target)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read the plan file"):
        read_plan_file(tmp_path / "absent.json")


def test_an_unwritable_place(busy_plan: Plan, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot write the plan file"):
        write_plan_file(busy_plan, tmp_path / "no-such-dir" / "plan.json")

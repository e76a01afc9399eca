"""schemas/plan.schema.json describes exactly the plan JSON we emit: real plans validate,
and every object is closed, so a field the renderer starts to emit without the schema
knowing it fails here (the schema is stale)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from infobip_iac.domain.plan import Plan
from infobip_iac.planfile import write_plan_file
from infobip_iac.render.json import plan_document, render_json

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "plan.schema.json"


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _errors(validator: Draft202012Validator, document: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(document)
    ]


@pytest.mark.parametrize("fixture", ["busy_plan", "quiet_plan", "update_plan"])
def test_rendered_plans_validate(
    validator: Draft202012Validator, fixture: str, request: pytest.FixtureRequest
) -> None:
    made: Plan = request.getfixturevalue(fixture)

    assert _errors(validator, json.loads(render_json(made))) == []


def test_saved_plan_files_validate(
    validator: Draft202012Validator, busy_plan: Plan, tmp_path: Path
) -> None:
    target = tmp_path / "plan.json"
    write_plan_file(busy_plan, target)

    assert _errors(validator, json.loads(target.read_text())) == []


def test_the_schema_rejects_what_we_do_not_emit(
    validator: Draft202012Validator, busy_plan: Plan
) -> None:
    document = plan_document(busy_plan)
    document["resource_changes"][0]["surprise"] = 1
    document["resource_changes"][1]["change"]["actions"] = ["destroy"]
    revoke = next(
        rc for rc in document["resource_changes"] if rc["change"]["actions"] == ["delete"]
    )
    del revoke["action_reason"]

    problems = _errors(validator, document)

    assert any("surprise" in p for p in problems)
    assert any(p.startswith("resource_changes/1/change/actions") for p in problems)
    assert any("action_reason" in p for p in problems)


def test_attributed_drift_validates(validator: Draft202012Validator, busy_plan: Plan) -> None:
    from datetime import UTC, datetime

    from infobip_iac.domain.plan import ChangeAuthor

    author = ChangeAuthor(
        username="jane.doe",
        ip_address="198.51.100.4",
        at=datetime(2026, 11, 25, 9, 14, 3, tzinfo=UTC),
        action="Update",
    )
    attributed = replace(
        busy_plan, drift=tuple(replace(item, changed_by=author) for item in busy_plan.drift)
    )
    unavailable = replace(busy_plan, attribution_unavailable="no scope")

    document = plan_document(attributed)
    assert document["resource_drift"][0]["changed_by"]["description"] == (
        "changed outside infobip-iac by jane.doe from 198.51.100.4 at 2026-11-25T09:14:03Z"
    )
    assert _errors(validator, document) == []
    assert _errors(validator, plan_document(unavailable)) == []

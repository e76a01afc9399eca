"""The JSON Schema: generated, committed, current, and usable by editors and validators."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from infobip_iac.manifest.schema import main, manifest_schema, render_schema
from infobip_iac.scopes import load_catalog

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "schemas" / "manifest.schema.json"


def test_the_committed_schema_is_current() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == render_schema(), (
        "schemas/manifest.schema.json is out of date; regenerate it with\n"
        "  python -m infobip_iac.manifest.schema > schemas/manifest.schema.json"
    )


def test_the_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(manifest_schema())


def test_scopes_and_roles_are_described_enums() -> None:
    definitions = manifest_schema()["$defs"]
    catalog = load_catalog()
    scopes = definitions["ScopeName"]
    assert scopes["enum"] == sorted(catalog.scopes)
    assert len(scopes["enumDescriptions"]) == len(scopes["markdownEnumDescriptions"])
    assert len(scopes["enumDescriptions"]) == len(scopes["enum"])
    index = scopes["enum"].index("sms:message:send")
    assert catalog.scopes["sms:message:send"].description in scopes["enumDescriptions"][index]
    assert definitions["RoleName"]["enum"] == sorted(catalog.roles)


def test_the_schema_knows_every_field_of_a_key() -> None:
    validator = jsonschema.Draft202012Validator(manifest_schema())
    good = {
        "version": 1,
        "api_keys": {
            "ci-sms": {
                "name": "CI",
                "scopes": ["sms:message:send"],
                "roles": ["Analyze Manager"],
                "allowed_ips": ["198.51.100.7"],
                "valid_from": "2026-12-01",
                "valid_to": "2027-06-01T00:00:00Z",
                "secret": {"sink": "exec", "command": ["vault"]},
                "lifecycle": {"prevent_revoke": True, "ignore_changes": ["valid_to"]},
            }
        },
        "moved": [{"from": "api_keys.old", "to": "api_keys.ci-sms"}],
    }
    assert list(validator.iter_errors(good)) == []
    bad = json.loads(json.dumps(good))
    bad["api_keys"]["ci-sms"]["scopes"] = ["sms:mesage:send"]
    assert list(validator.iter_errors(bad))


def test_main_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert capsys.readouterr().out == render_schema()
    assert main(["--write"]) == 2

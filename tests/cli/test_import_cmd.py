"""`infobip-iac import ADDR KEY_ID` through main(): only state changes, and each way it can
be refused says what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e.workspace import Workspace, writes

from infobip_iac.emulator import EmulatorServer

MANIFEST = """
    version: 1
    api_keys:
      legacy:
        name: legacy key
        scopes: [sms:logs:read]
        allowed_ips: [203.0.113.0/24]
"""


@pytest.fixture
def ws(
    tmp_path: Path,
    emulator: EmulatorServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Workspace:
    workspace = Workspace.open(tmp_path, emulator, capsys, monkeypatch)
    workspace.write(MANIFEST)
    return workspace


def _seed_legacy(ws: Workspace, **fields: object) -> str:
    (key_id,) = ws.seed(
        {"name": "legacy key", "scopeGuids": ["sms:logs:read"], "allowedIPs": [], **fields}
    )
    return key_id


def test_import_records_the_key_and_the_next_plan_shows_the_difference(ws: Workspace) -> None:
    key_id = _seed_legacy(ws)
    with ws.counting() as counts:
        outcome = ws.run("import", "api_keys.legacy", key_id, str(ws.manifests))
    assert outcome.code == 0, outcome
    assert f"imported key {key_id}" in outcome.out
    assert writes(counts) == 0
    record = ws.state().resources["api_keys.legacy"]
    assert (record.id, record.name, record.attributes["allowed_ips"]) == (key_id, "legacy key", [])

    plan = ws.plan_json()
    (change,) = plan["resource_changes"]
    assert change["change"]["actions"] == ["update"]
    assert change["change"]["after"]["allowed_ips"] == ["203.0.113.0/24"]


def test_an_undeclared_address_is_refused(ws: Workspace) -> None:
    key_id = _seed_legacy(ws)
    outcome = ws.run("import", "api_keys.nope", key_id, str(ws.manifests))
    assert outcome.code == 1
    assert "not declared" in outcome.err and "api_keys.legacy" in outcome.err
    assert not ws.state_path.exists()


def test_an_unknown_key_id_is_refused(ws: Workspace) -> None:
    outcome = ws.run("import", "api_keys.legacy", "0" * 32, str(ws.manifests))
    assert outcome.code == 1
    assert "no key 000" in outcome.err and "Traceback" not in outcome.err


def test_an_address_or_key_already_managed_is_refused(ws: Workspace) -> None:
    key_id = _seed_legacy(ws)
    assert ws.run("import", "api_keys.legacy", key_id, str(ws.manifests)).code == 0
    again = ws.run("import", "api_keys.legacy", key_id, str(ws.manifests))
    assert again.code == 1 and "state rm api_keys.legacy" in again.err
    ws.write(MANIFEST + "      other:\n        scopes: [sms:logs:read]\n")
    twice = ws.run("import", "api_keys.other", key_id, str(ws.manifests))
    assert twice.code == 1 and "already managed as api_keys.legacy" in twice.err

"""`infobip-iac show PLANFILE` through main(): the saved plan in each format, and clear
errors for files that are not saved plans."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e.workspace import Workspace

from infobip_iac.emulator import EmulatorServer


@pytest.fixture
def saved(
    tmp_path: Path,
    emulator: EmulatorServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Workspace, Path, str]:
    """A workspace, a plan saved in it, and the text `plan` printed when saving it."""
    ws = Workspace.open(tmp_path, emulator, capsys, monkeypatch)
    ws.write("version: 1\napi_keys:\n  a:\n    scopes: [sms:logs:read]\n    allowed_ips: []\n")
    planfile = tmp_path / "a.plan"
    made = ws.plan("--out", str(planfile))
    assert made.code == 0, made
    return ws, planfile, made.out


def test_show_prints_the_saved_plan_as_plan_did(saved: tuple[Workspace, Path, str]) -> None:
    ws, planfile, printed = saved
    with ws.counting() as counts:
        shown = ws.run("show", str(planfile))
    assert shown.code == 0 and shown.out == printed
    assert counts == {}  # reads the file only, never Infobip


def test_show_in_json_and_markdown(saved: tuple[Workspace, Path, str]) -> None:
    ws, planfile, _ = saved
    document = json.loads(ws.run("show", str(planfile), "--format", "json").out)
    assert document["resource_changes"][0]["address"] == "api_keys.a"
    markdown = ws.run("show", str(planfile), "--format", "markdown").out
    assert "api_keys.a" in markdown and "<details>" in markdown


def test_show_refuses_a_file_that_is_not_a_saved_plan(
    saved: tuple[Workspace, Path, str],
) -> None:
    ws, planfile, _ = saved
    edited = json.loads(planfile.read_text())
    edited.pop(next(k for k in edited if k not in ("format_version", "resource_changes")))
    planfile.write_text(json.dumps(edited))
    outcome = ws.run("show", str(planfile))
    assert outcome.code == 1 and "Traceback" not in outcome.err
    missing = ws.run("show", str(ws.root / "nowhere.plan"))
    assert missing.code == 1 and "nowhere.plan" in missing.err


def test_show_of_a_manifest_points_to_plan_not_to_a_name_plan_refuses(
    saved: tuple[Workspace, Path, str],
) -> None:
    ws, _, _ = saved
    manifest = ws.manifests / "main.yaml"
    shown = ws.run("show", str(manifest))
    assert shown.code == 1
    assert f"--out {manifest}`" not in shown.err
    assert f"run `infobip-iac plan {manifest}`" in shown.err
    suggested = ws.plan("--out", str(manifest.with_suffix(".plan")))
    assert suggested.code == 0, suggested  # the name it suggests is one plan accepts

"""State that belongs to one place: the embedded emulator keeps its own state, a state or a
saved plan of one endpoint is refused against another (naming both, changing nothing), and
the hint after `plan --out` applies the plan where it was made."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from e2e.workspace import Workspace

from infobip_iac.cli.common import DEFAULT_STATE, EMULATOR_STATE
from infobip_iac.emulator import EmulatorServer

DATA = Path(__file__).parents[1] / "state" / "data"
ONE_KEY = """
    version: 1
    api_keys:
      reports:
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
    workspace.write(ONE_KEY)
    return workspace


def test_the_embedded_emulator_keeps_a_state_of_its_own(ws: Workspace) -> None:
    assert ws.apply().code == 0
    real_state = ws.state_path.read_bytes()

    emulated = ws.run("apply", "--emulator", "--auto-approve", str(ws.manifests))
    assert emulated.code == 0, emulated
    # The emulator's run created its own key: it did not find (or revoke) the real one.
    assert "1 created" in emulated.out
    assert ws.state_path.read_bytes() == real_state
    assert (ws.root / EMULATOR_STATE).is_file()
    listed = ws.run("state", "list", "--emulator")
    assert listed.code == 0 and listed.out == "api_keys.reports\n"
    ws.assert_converged()  # the real endpoint's state is as the real apply left it


def test_a_state_of_another_endpoint_is_refused_naming_both(
    ws: Workspace, make_emulator: Callable[..., EmulatorServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ws.apply().code == 0
    before = ws.state_path.read_bytes()
    elsewhere = make_emulator()
    monkeypatch.setenv("INFOBIP_BASE_URL", elsewhere.base_url)

    exported = ws.root / "exported"
    for command in (ws.plan, ws.apply, lambda: ws.run("export", "--out", str(exported))):
        refused = command()
        assert refused.code == 1, refused
        assert ws.emulator.base_url in refused.err and elsewhere.base_url in refused.err
        assert "--state FILE" in refused.err and "Traceback" not in refused.err
    assert ws.state_path.read_bytes() == before and not exported.exists()
    assert elsewhere.control.stats()["requests"] == {}

    # The same account under a new URL: the state is re-pointed, and then it is in line.
    moved = ws.run("state", "set-endpoint")
    assert moved.code == 0, moved
    assert elsewhere.base_url in moved.out and ws.emulator.base_url in moved.out


def test_a_saved_plan_is_refused_against_another_endpoint(
    ws: Workspace, make_emulator: Callable[..., EmulatorServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    planfile = ws.root / "x.plan"
    assert ws.plan("--out", str(planfile)).code == 0
    elsewhere = make_emulator()
    monkeypatch.setenv("INFOBIP_BASE_URL", elsewhere.base_url)

    refused = ws.run("apply", str(planfile))
    assert refused.code == 1, refused
    assert f"planned against {ws.emulator.base_url}" in refused.err
    assert f"this run is against {elsewhere.base_url}" in refused.err
    assert elsewhere.control.stats()["requests"] == {}
    assert ws.live() == {}


def test_a_plan_saved_with_emulator_is_applied_with_emulator(ws: Workspace) -> None:
    planfile = ws.root / "x.plan"
    saved = ws.run("plan", "--emulator", "--out", str(planfile), str(ws.manifests))
    assert saved.code == 0, saved
    assert f"run: infobip-iac apply --emulator {planfile}" in saved.err

    refused = ws.run("apply", str(planfile))
    assert refused.code == 1
    assert "planned against the embedded emulator (--emulator)" in refused.err
    assert f"run `infobip-iac apply --emulator {planfile}`" in refused.err
    assert ws.live() == {} and not ws.state_path.exists()

    applied = ws.run("apply", "--emulator", str(planfile))
    assert applied.code == 0, applied
    assert "1 created" in applied.out


def test_a_plan_of_another_configuration_points_to_a_state_of_its_own(ws: Workspace) -> None:
    """The Quick start's trap: applying one configuration, then planning another from the
    same folder, plans to revoke the first one's keys. The plan says whose keys they are
    and that the fix is a state of its own, not `state rm`."""
    ws.write(
        """
        version: 1
        api_keys:
          guarded:
            scopes: [sms:logs:read]
            allowed_ips: [203.0.113.0/24]
            lifecycle: {prevent_revoke: true}
        """,
        name="guarded.yaml",
    )
    assert ws.apply().code == 0
    assert ws.state().configuration == ["keys/guarded.yaml", "keys/main.yaml"]
    other = ws.root / "other"
    other.mkdir()
    (other / "solo.yaml").write_text(
        "version: 1\napi_keys:\n  solo:\n    scopes: [sms:logs:read]\n"
        "    allowed_ips: [203.0.113.0/24]\n"
    )

    refused = ws.run("plan", str(other))
    assert refused.code == 1
    assert "last applied from manifests this run did not read" in refused.err
    assert "keys/guarded.yaml" in refused.err and "--state FILE" in refused.err
    assert refused.err.index("--state FILE") < refused.err.index("state rm")

    # Without a guarded key, the plan still warns whose keys it would revoke.
    (ws.manifests / "guarded.yaml").write_text(
        "version: 1\napi_keys:\n  guarded:\n    scopes: [sms:logs:read]\n"
        "    allowed_ips: [203.0.113.0/24]\n"
    )
    assert ws.apply().code == 0
    warned = ws.run("plan", str(other), "--format", "json")
    warning = next(w for w in json.loads(warned.out)["warnings"] if "did not read" in w)
    assert warning.startswith("api_keys.guarded, api_keys.reports: no longer declared.")

    own = ws.run("plan", str(other), "--state", ".infobip-iac/other.json", "--detailed-exitcode")
    assert own.code == 2 and "Plan: 1 to add, 0 to change, 0 to revoke." in own.out


def test_an_emulator_state_an_older_version_kept_in_the_shared_file_is_pointed_out(
    ws: Workspace,
) -> None:
    """Before states recorded their endpoint, --emulator kept its keys in the shared state
    file. Nothing can tell them from real ones, so they are not moved, but the first
    --emulator run says how to move them."""
    shared = ws.root / DEFAULT_STATE
    shared.parent.mkdir()
    shared.write_text((DATA / "state_v1.json").read_text())

    listed = ws.run("state", "list", "--emulator")
    assert listed.code == 1  # there is no emulator state yet
    assert f"mv {DEFAULT_STATE} {EMULATOR_STATE}" in listed.err
    assert "older infobip-iac" in listed.err

    shared.rename(ws.root / EMULATOR_STATE)
    moved = ws.run("state", "list", "--emulator")
    assert moved.code == 0 and "api_keys.billing" in moved.out and "mv " not in moved.err

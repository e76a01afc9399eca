"""Dates Infobip refuses are errors before any write, at the line that wrote them: validate
judges by this machine's clock, plan by Infobip's (its Date header)."""

from __future__ import annotations

from e2e.workspace import Workspace, writes

FOUR_KEYS = """
    version: 1
    defaults:
      allowed_ips: [203.0.113.0/24]
      scopes: [sms:logs:read]
    api_keys:
      one: {}
      two: {}
      three: {}
      four:
        valid_from: 2031-02-01
"""


def test_a_new_key_valid_from_the_past_on_infobip_s_clock_stops_the_plan(
    workspace: Workspace,
) -> None:
    ws = workspace
    ws.write(FOUR_KEYS)
    assert ws.run("validate", str(ws.manifests)).code == 0  # the future on this machine
    ws.emulator.control.set_clock("2031-03-01T00:00:00Z")
    with ws.counting() as delta:
        planned = ws.plan()
        applied = ws.apply()
    for outcome in (planned, applied):
        assert outcome.code == 1, outcome
        assert "main.yaml:10:17: E606" in outcome.err, outcome
        assert "valid_from 2031-02-01T00:00:00Z, before now (2031-03-01" in outcome.err
        assert "Traceback" not in outcome.err
    assert writes(delta) == 0
    assert ws.live() == {}


def test_an_existing_key_keeps_its_valid_from_in_the_past(workspace: Workspace) -> None:
    ws = workspace
    ws.write(FOUR_KEYS)
    ws.emulator.control.set_clock("2031-01-15T00:00:00Z")
    assert ws.apply().code == 0
    ws.emulator.control.set_clock("2031-03-01T00:00:00Z")
    ws.assert_converged()  # four's valid_from is past now, and no write is needed
    ws.write(FOUR_KEYS.replace("      four:\n", "      four:\n        name: renamed\n"))
    assert ws.apply().code == 0
    assert "renamed" in ws.live()


def test_a_validity_that_has_ended_is_an_error_of_validate(workspace: Workspace) -> None:
    ws = workspace
    ws.write(FOUR_KEYS.replace("valid_from: 2031-02-01", "valid_to: 2024-01-01"))
    for outcome in (ws.run("validate", str(ws.manifests)), ws.plan()):
        assert outcome.code == 1, outcome
        shown = outcome.out + outcome.err
        assert "main.yaml:10:15: error E605" in shown, outcome
    assert ws.live() == {}


def test_a_saved_plan_whose_new_key_would_now_start_in_the_past_is_refused(
    workspace: Workspace,
) -> None:
    ws = workspace
    ws.write(FOUR_KEYS)
    ws.emulator.control.set_clock("2031-01-31T00:00:00Z")
    assert ws.plan("--out", "four.plan").code == 0
    ws.emulator.control.set_clock("2031-02-02T00:00:00Z")  # four's valid_from has passed
    with ws.counting() as delta:
        refused = ws.run("apply", "four.plan")
    assert refused.code == 1, refused
    assert "api_keys.four would be created with valid_from 2031-02-01T00:00:00Z" in refused.err
    assert "Nothing was written to Infobip" in refused.err
    assert writes(delta) == 0

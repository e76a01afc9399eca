"""Infobip's daily write limit and lost answers, over HTTP: a 429 stops apply cleanly (exit 3)
and the next day's apply carries on; a create whose answer is lost is found by name, never
created twice."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from e2e.workspace import CREATE, UPDATE, Workspace
from infobip_iac.emulator import EmulatorServer

FIVE_KEYS = """
    version: 1
    defaults:
      allowed_ips: [203.0.113.0/24]
      scopes: [sms:logs:read]
    api_keys:
      one: {}
      two: {}
      three: {}
      four: {}
      five: {}
"""

FIVE_KEYS_WITH_SINKS = FIVE_KEYS.replace(
    "      scopes: [sms:logs:read]\n",
    "      scopes: [sms:logs:read]\n      secret: {sink: file, path: 'secrets/{address}.env'}\n",
)


@pytest.fixture
def limited(
    tmp_path: Path,
    make_emulator: Callable[..., EmulatorServer],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Workspace:
    """A project against an emulator that allows two writes a day."""
    return Workspace.open(tmp_path, make_emulator(write_limit=2), capsys, monkeypatch)


def test_five_creates_under_a_limit_of_two_take_three_days(limited: Workspace) -> None:
    ws = limited
    ws.write(FIVE_KEYS)
    codes = []
    for day in range(3):
        if day:
            ws.emulator.control.advance_clock("1d")
        outcome = ws.apply()
        codes.append(outcome.code)
        created = len(ws.state().resources)
        assert created == min(2 * (day + 1), 5), outcome
        if outcome.code == 3:
            assert "daily write limit" in outcome.err
            assert "Run apply again after" in outcome.err
            assert "Left to do: create api_keys." in outcome.err

    assert codes == [3, 3, 0]
    assert sorted(ws.live()) == ["five", "four", "one", "three", "two"]  # each exactly once
    ws.assert_converged()


def test_lost_create_answers_end_with_each_key_existing_once(workspace: Workspace) -> None:
    ws = workspace
    ws.write(FIVE_KEYS)
    ws.emulator.control.set_faults(
        [{"operation": CREATE, "kind": "commit-then-drop", "probability": 0.5}], seed=7
    )

    outcome = ws.apply()

    ws.emulator.control.clear_faults()
    assert outcome.code == 0, outcome  # no sinks: nobody misses the unseen secrets
    fired = [r for r in ws.emulator.control.stats()["requests"].items() if r[0] == CREATE]
    assert fired == [(CREATE, 5)], "every create was sent once: the lost ones were found"
    assert sorted(ws.live()) == ["five", "four", "one", "three", "two"]
    assert "found by name and adopted" in outcome.err
    ws.assert_converged()


def test_every_create_answer_lost_still_creates_each_key_once(workspace: Workspace) -> None:
    ws = workspace
    ws.write(FIVE_KEYS_WITH_SINKS)
    ws.emulator.control.set_faults([{"operation": CREATE, "kind": "commit-then-drop"}])

    outcome = ws.apply()

    ws.emulator.control.clear_faults()
    assert outcome.code == 1, outcome  # five secrets were never seen
    assert "5 secret(s) NOT delivered" in outcome.err
    assert sorted(ws.live()) == ["five", "four", "one", "three", "two"]
    # The next plan offers to replace each key whose secret was lost.
    replan = ws.plan_json()
    actions = {c["address"]: c["change"]["actions"] for c in replan["resource_changes"]}
    assert set(map(tuple, actions.values())) == {("create", "delete")}


def test_every_write_request_counts_and_plans_say_what_is_left_today(
    workspace: Workspace,
) -> None:
    ws = workspace
    ws.write(FIVE_KEYS)
    # A create refused (as by a gateway) and a PUT that has to be sent twice.
    ws.emulator.control.set_faults(
        [{"operation": CREATE, "kind": "status", "status": 400, "times": 1}]
    )
    refused = ws.apply()
    assert refused.code == 1, refused
    assert ws.state().writes["_"].requests == 1
    assert "Infobip writes: 5 of the 39 left today (40 a day)." in ws.plan().out

    ws.emulator.control.clear_faults()
    assert ws.apply().code == 0
    ws.write(FIVE_KEYS.replace("      one: {}", "      one: {name: first}"))
    ws.emulator.control.set_faults(
        [{"operation": UPDATE, "kind": "status", "status": 503, "times": 1}]
    )
    assert "Infobip writes: 1 of the 34 left today (40 a day)." in ws.plan().out
    with ws.counting() as delta:
        assert ws.apply().code == 0
    assert delta[UPDATE] == 2  # the 503, then the PUT sent again
    tally = ws.state().writes["_"]
    assert tally.requests == 8
    assert tally.day.isoformat() == ws.emulator.control.now()[:10]

    ws.emulator.control.advance_clock("1d")  # a new day on Infobip's clock
    ws.write(FIVE_KEYS.replace("      one: {}", "      one: {name: again}"))
    assert "Infobip writes: 1 of 40 allowed per day." in ws.plan().out

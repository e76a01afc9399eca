"""Creates whose outcome is unknown, end to end over real HTTP against the emulator: a
create that lands after it was sent again, the plan after an interrupted apply, and a
second stop signal while a secret is being delivered."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from e2e.workspace import CREATE, Workspace

from infobip_iac.cli.planning import load_configuration
from infobip_iac.engine.apply import ApplyEvent
from infobip_iac.engine.recovery import preview_interrupted_creates
from infobip_iac.engine.run import plan_against_live
from infobip_iac.infobip.client import InfobipClient
from infobip_iac.planfile import write_plan_file
from infobip_iac.state.journal import CreateJournal
from infobip_iac.state.store import StateStore
from reliability.campaign import LiveRecord, read_emulator

SLOW = """
    version: 1
    api_keys:
      slow:
        scopes: [sms:message:send]
        allowed_ips: [203.0.113.0/24]
        secret: {sink: file, path: "secrets/{address}.env"}
"""


def _named(ws: Workspace, name: str) -> list[LiveRecord]:
    return [key for key in read_emulator(ws.emulator).values() if key.name == name]


def _wait_for_keys(ws: Workspace, name: str, count: int, *, within: float) -> None:
    deadline = time.monotonic() + within
    while len(_named(ws, name)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{count} keys named {name!r} did not appear in {within} s")
        time.sleep(0.1)


def test_a_create_that_lands_after_it_was_sent_again_is_not_forgotten(
    workspace: Workspace,
) -> None:
    """Protection: the journal keeps an unanswered create after it was sent again. The
    server commits the first create 6 s after it arrived, well after the client stopped
    waiting (--timeout 1, then as long again: 2 s, leaving 4 s for a loaded machine): apply
    sends it again, must not claim success while the first is unsettled, and the next apply
    revokes the second key it made."""
    ws = workspace
    ws.write(SLOW)
    ws.emulator.control.set_faults(
        [{"operation": CREATE, "kind": "delay", "delay_ms": 6000, "times": 1}]
    )

    first = ws.apply("--timeout", "1")

    assert first.code == 1, first
    assert "Apply complete" not in first.out
    assert "got no answer" in first.err and "nobody holds the secret" in first.err
    assert "look for the unanswered create of api_keys.slow" in first.err
    (pending,) = CreateJournal(ws.state_path).pending()
    assert pending.unanswered
    _wait_for_keys(ws, "slow", 2, within=15)  # the first create lands

    second = ws.apply()

    assert second.code == 0, second
    assert "nobody holds its secret" in second.err
    (kept,) = [key for key in _named(ws, "slow") if key.enabled]
    assert kept.id == ws.state().resources["api_keys.slow"].id
    assert kept.secret in (ws.manifests / "secrets" / "api_keys.slow.env").read_text()
    assert CreateJournal(ws.state_path).pending() == []
    ws.assert_converged()


class _Killed(BaseException):
    """The process dies here (not an Exception: nothing in the tool may catch it)."""


def _apply_killed_after_the_create(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> LiveRecord:
    """Apply SLOW and die right after Infobip made the key, before any state write; the
    key it left behind."""
    ws.write(SLOW)
    create = InfobipClient.create_key

    def create_then_die(self: InfobipClient, *args: object, **kwargs: object) -> object:
        create(self, *args, **kwargs)  # type: ignore[arg-type]
        monkeypatch.setattr(InfobipClient, "create_key", create)
        raise _Killed

    monkeypatch.setattr(InfobipClient, "create_key", create_then_die)
    with pytest.raises(_Killed):
        ws.apply()
    (orphan,) = _named(ws, "slow")
    return orphan


def test_a_plan_after_an_interrupted_apply_is_the_plan_apply_carries_out(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Protection: plan previews recovery. After an apply died between Infobip's create and
    the first state write, a plan made from the preview shows the orphan's revoke and a new
    create, changes nothing, and `apply PLANFILE` takes it as it is (not stale)."""
    ws = workspace
    orphan = _apply_killed_after_the_create(ws, monkeypatch)
    assert not ws.state_path.exists()
    notes: list[ApplyEvent] = []
    store = StateStore(ws.state_path)
    plan_file = tmp_path / "k.plan"

    with ws.counting() as requests, ws.client() as client:
        previewed = preview_interrupted_creates(client, store, store.read(), events=notes.append)
        config = load_configuration([ws.manifests], allow_unknown_scopes=False)
        plan = plan_against_live(config, previewed, client)
    write_plan_file(plan, plan_file)

    assert not ws.state_path.exists() and len(CreateJournal(ws.state_path).pending()) == 1
    assert all(operation.startswith("GET ") for operation in requests), requests
    assert any(orphan.id in note.message and "revoke" in note.message for note in notes)
    actions = sorted((c.address, c.action.value) for c in plan.changes)
    assert actions == sorted(
        [("api_keys.slow", "create"), (f"api_keys.slow#deposed-{orphan.id}", "delete")]
    )

    applied = ws.run("apply", str(plan_file))

    assert applied.code == 0, applied
    (kept,) = [key for key in _named(ws, "slow") if key.enabled]
    assert kept.id != orphan.id
    assert kept.secret in (ws.manifests / "secrets" / "api_keys.slow.env").read_text()
    ws.assert_converged()


def test_the_plan_command_shows_what_recovery_will_do_and_its_saved_plan_applies(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Protection: `infobip-iac plan` itself (not only the engine) previews recovery. After
    an apply died between Infobip's create and the first state write, `plan --out` says on
    stderr that the orphan will be revoked, its plan holds that revoke and a new create,
    nothing is written, and `apply PLANFILE` takes the plan as it is."""
    ws = workspace
    orphan = _apply_killed_after_the_create(ws, monkeypatch)
    plan_file = tmp_path / "k.plan"

    with ws.counting() as requests:
        planned = ws.plan("--out", str(plan_file))

    assert planned.code == 0, planned
    assert orphan.id in planned.err and "revoke" in planned.err, planned
    assert f"api_keys.slow#deposed-{orphan.id}" in planned.out, planned
    assert all(operation.startswith("GET ") for operation in requests), requests
    assert not ws.state_path.exists() and len(CreateJournal(ws.state_path).pending()) == 1
    applied = ws.run("apply", str(plan_file))
    assert applied.code == 0, applied
    assert [key.id for key in _named(ws, "slow") if key.enabled] != [orphan.id]
    ws.assert_converged()


def test_a_second_ctrl_c_during_a_slow_exec_sink_reports_the_lost_secret(
    workspace: Workspace,
) -> None:
    """Protection: a stop that cuts a delivery short is reported like a failed sink. The
    sink command itself sends the apply two SIGINTs (the second does not wait for it)."""
    ws = workspace
    command = (
        "import os, signal, sys, time; p = os.getppid(); os.kill(p, signal.SIGINT); "
        "time.sleep(0.5); os.kill(p, signal.SIGINT); time.sleep(20); "
        "open('delivered.txt', 'w').write(sys.stdin.read())"
    )
    ws.write(
        f"""
        version: 1
        api_keys:
          piped:
            scopes: [sms:message:send]
            allowed_ips: [203.0.113.0/24]
            secret: {{sink: exec, command: ["{sys.executable}", "-c", "{command}"]}}
        """
    )

    stopped = ws.apply()

    assert stopped.code == 130, stopped
    key_id = ws.state().resources["api_keys.piped"].id
    assert f"api_keys.piped: SECRET NOT DELIVERED [id={key_id}]" in stopped.err
    record = ws.state().resources["api_keys.piped"].secret
    assert record is not None and record.status == "lost"
    assert not (ws.root / "delivered.txt").exists()

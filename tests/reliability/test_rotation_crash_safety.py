"""Rotation under crashes: an apply killed between the successor's create and its secret
delivery, or between a rotation and the predecessor's revoke. The next apply recovers: the
predecessor is never lost while its overlap lasts, one successor stays enabled, its secret
is in the sink, and the predecessor is revoked once."""

from __future__ import annotations

import hashlib
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from children import child_environment
from e2e.workspace import Outcome, Workspace

from infobip_iac.cli.main import main
from infobip_iac.infobip.client import InfobipClient
from reliability.campaign import read_emulator

_FORCE_UNLOCK = re.compile(r"infobip-iac force-unlock (\S+)")
_REVOKE = "PUT /settings/2/api-keys/{apiKeyId}"


def _manifest(sink: str) -> str:
    return textwrap.dedent(
        f"""
        version: 1
        defaults:
          allowed_ips: [203.0.113.0/24]
          valid_for: 90d
          rotation: {{every: 30d, overlap: 2d}}
        api_keys:
          payments:
            scopes: [sms:message:send]
            secret: {sink}
        """
    ).lstrip()


def _enabled(ws: Workspace) -> dict[str, str]:
    """Enabled keys named payments: id -> secret."""
    return {
        key.id: key.secret
        for key in read_emulator(ws.emulator).values()
        if key.enabled and key.name == "payments"
    }


def _child_env(ws: Workspace) -> dict[str, str]:
    return child_environment(ws.emulator.base_url)


def _child_apply(ws: Workspace) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "infobip_iac", "apply", "keys", "--auto-approve"],
        cwd=ws.root,
        env=_child_env(ws),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _apply_after_kill(ws: Workspace) -> Outcome:
    """Apply again; the lock the killed run left is broken with the command it names."""
    outcome = ws.apply()
    command = _FORCE_UNLOCK.search(outcome.err)
    if "is locked by" in outcome.err and command:
        assert main(["force-unlock", command.group(1)]) == 0
        outcome = ws.apply()
    return outcome


def _rotated_once(ws: Workspace, sink: str) -> str:
    """Apply the key, move the clock past `every`; returns the predecessor's id."""
    ws.write(_manifest(sink))
    assert ws.apply().code == 0
    (predecessor,) = _enabled(ws)
    ws.emulator.control.advance_clock("31d")
    return predecessor


def test_sigkill_between_the_successors_create_and_its_delivery(workspace: Workspace) -> None:
    """The exec sink's command SIGKILLs the apply that runs it: the successor exists and is
    in state, its secret was never stored. The next apply replaces that successor (its
    secret is lost) and delivers the new one; the predecessor stays enabled throughout."""
    ws = workspace
    store = ws.root / "stored-secret"
    sink_script = ws.root / "sink.py"
    sink_script.write_text(
        textwrap.dedent(
            f"""
            import hashlib, os, signal, sys
            armed = {str(ws.root / "kill-armed")!r}
            if os.path.exists(armed):
                os.remove(armed)
                os.kill(os.getppid(), signal.SIGKILL)  # the apply dies mid-delivery
                sys.exit(1)
            with open({str(store)!r}, "w") as out:
                # A digest: the test needs to recognise the secret, not to hold it.
                digest = hashlib.sha256(sys.stdin.read().encode()).hexdigest()
                out.write(os.environ["INFOBIP_KEY_ID"] + " " + digest)
            """
        )
    )
    predecessor = _rotated_once(
        ws, f'{{sink: exec, command: ["{sys.executable}", "{sink_script}"]}}'
    )
    # Armed only for the child's delivery: the sink's parent is then the child apply.
    (ws.root / "kill-armed").touch()
    child = _child_apply(ws)
    assert child.wait(timeout=60) == -signal.SIGKILL
    assert store.read_text().startswith(predecessor)  # nothing stored by the killed run

    recovered = _apply_after_kill(ws)

    assert recovered.code == 0, recovered
    enabled = _enabled(ws)
    assert predecessor in enabled and len(enabled) == 2  # no key lost, one successor
    (successor,) = set(enabled) - {predecessor}
    digest = hashlib.sha256(enabled[successor].encode()).hexdigest()
    assert store.read_text() == f"{successor} {digest}"
    assert ws.state().resources["api_keys.payments"].id == successor
    ws.assert_converged()


def test_a_kill_right_after_the_successors_create_makes_no_second_enabled_successor(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The create lands and the process dies before the state records it (the create
    journal's window): the next apply revokes that key, whose secret nobody holds, and
    makes the successor whose secret reaches the file."""
    ws = workspace
    predecessor = _rotated_once(ws, '{sink: file, path: "secrets/{address}.env"}')
    create = InfobipClient.create_key

    class Killed(BaseException):
        pass

    def create_then_die(self: InfobipClient, *args: object, **kwargs: object) -> object:
        create(self, *args, **kwargs)  # type: ignore[arg-type]
        monkeypatch.setattr(InfobipClient, "create_key", create)
        raise Killed

    monkeypatch.setattr(InfobipClient, "create_key", create_then_die)
    with pytest.raises(Killed):
        ws.apply()

    recovered = ws.apply()

    assert recovered.code == 0, recovered
    enabled = _enabled(ws)
    assert predecessor in enabled and len(enabled) == 2
    (successor,) = set(enabled) - {predecessor}
    secret_file = (ws.manifests / "secrets" / "api_keys.payments.env").read_text()
    assert enabled[successor] in secret_file
    ws.assert_converged()


def test_sigkill_during_the_predecessors_revoke(workspace: Workspace) -> None:
    """The overlap has passed; the apply revoking the predecessor is SIGKILLed while its
    revoke is on the wire. The next apply finishes it: only the successor stays enabled
    and the state forgets the predecessor."""
    ws = workspace
    predecessor = _rotated_once(ws, '{sink: file, path: "secrets/{address}.env"}')
    assert ws.apply().code == 0
    (successor,) = set(_enabled(ws)) - {predecessor}
    ws.emulator.control.advance_clock("3d")
    ws.emulator.control.set_faults([{"operation": _REVOKE, "kind": "delay", "delay_ms": 3000}])
    before = ws.emulator.control.stats()["requests"].get(_REVOKE, 0)

    child = _child_apply(ws)
    try:
        deadline = time.monotonic() + 30
        while ws.emulator.control.stats()["requests"].get(_REVOKE, 0) == before:
            assert child.poll() is None, "the apply ended before sending its revoke"
            assert time.monotonic() < deadline, "no revoke was sent within 30 s"
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)  # the revoke is being answered (3 s delay)
    finally:
        child.wait(timeout=30)
    ws.emulator.control.clear_faults()

    recovered = _apply_after_kill(ws)

    assert recovered.code == 0, recovered
    assert set(_enabled(ws)) == {successor}
    assert list(ws.state().resources) == ["api_keys.payments"]
    ws.assert_converged()

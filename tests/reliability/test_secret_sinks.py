"""Secret sinks cannot be turned against the user, end to end through `apply`: relative
paths resolve against the manifest's folder, placeholders cannot climb out of it, a planted
link or a file the sink did not write is never written over, and an `exec` sink runs
without a shell with the secret on stdin only. (tests/secrets checks each at its source.)"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import pytest
from e2e.workspace import Workspace, writes
from leakguard import LeakWatch

from reliability.campaign import read_emulator


def _manifest(sink: str, *, name: str = "") -> str:
    named = f"    name: {json.dumps(name)}\n" if name else ""
    return (
        "version: 1\n"
        "api_keys:\n"
        "  payments:\n"
        f"{named}"
        "    scopes: [sms:logs:read]\n"
        "    allowed_ips: [203.0.113.0/24]\n"
        f"    secret: {sink}\n"
    )


def _only_secret(ws: Workspace) -> str:
    (key,) = read_emulator(ws.emulator).values()
    return key.secret


def test_a_relative_sink_path_lands_beside_the_manifest_not_in_the_working_folder(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Protection: relative `file` paths resolve against the manifest's folder, so where
    apply is run from cannot redirect a secret."""
    ws = workspace
    (ws.manifests / "main.yaml").write_text(_manifest('{sink: file, path: "out/{address}.env"}'))
    elsewhere = ws.root / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    outcome = ws.run("apply", str(ws.manifests), "--auto-approve")

    assert outcome.code == 0, outcome
    written = ws.manifests / "out" / "api_keys.payments.env"
    assert _only_secret(ws) in written.read_text()
    assert not (elsewhere / "out").exists()


def test_a_key_name_cannot_climb_out_of_the_sink_folder(workspace: Workspace) -> None:
    """Protection: placeholders are filled sanitized: no separators, no `..`."""
    ws = workspace
    ws.write(_manifest('{sink: file, path: "secrets/{name}.env"}', name="../../escaped"))

    outcome = ws.apply()

    assert outcome.code == 0, outcome
    (written,) = (ws.manifests / "secrets").iterdir()
    assert _only_secret(ws) in written.read_text()
    holders = [p for p in ws.root.rglob("*") if p.is_file() and _only_secret(ws) in p.read_text()]
    assert holders == [written]


def test_a_link_planted_at_the_sink_path_is_not_written_through(workspace: Workspace) -> None:
    """Protection: the file sink never follows a symbolic link at its target (the secret
    would land wherever the link's author chose); apply sees it before creating the key."""
    ws = workspace
    ws.write(_manifest('{sink: file, path: "secrets/{address}.env"}'))
    stolen = ws.root / "attacker-readable.txt"
    (ws.manifests / "secrets").mkdir()
    (ws.manifests / "secrets" / "api_keys.payments.env").symlink_to(stolen)

    with ws.counting() as requests:
        outcome = ws.apply()

    assert outcome.code == 1, outcome
    assert "symbolic link" in outcome.err and "Nothing was written" in outcome.err
    assert not stolen.exists()
    assert writes(requests) == 0


def test_a_file_the_sink_did_not_write_is_left_untouched(workspace: Workspace) -> None:
    """Protection: a sink replaces only files it wrote for that key; someone's own file at
    the path (another service's credentials, say) is kept, and no key is created."""
    ws = workspace
    ws.write(_manifest('{sink: file, path: "secrets/{address}.env"}'))
    theirs = ws.manifests / "secrets" / "api_keys.payments.env"
    theirs.parent.mkdir()
    theirs.write_text("DATABASE_PASSWORD=keep-me\n")

    with ws.counting() as requests:
        outcome = ws.apply()

    assert outcome.code == 1, outcome
    assert "was not written by this key's secret sink" in outcome.err
    assert theirs.read_text() == "DATABASE_PASSWORD=keep-me\n"
    assert writes(requests) == 0


RECORDER = textwrap.dedent(
    """
    import json, os, sys
    given = {"argv": sys.argv[2:], "stdin": sys.stdin.read(), "env": dict(os.environ)}
    with open(sys.argv[1], "w") as handle:
        json.dump(given, handle)
    """
)


def test_an_exec_sink_runs_without_a_shell_and_gets_the_secret_on_stdin_only(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, leak_guard: LeakWatch
) -> None:
    """Protection: `exec` commands run as an argument list (no shell: `$(...)`, `;` and
    `>` stay literal) and receive the secret on stdin only, never in their arguments or
    environment, which other users can read; the tool's own credentials are withheld."""
    ws = workspace
    recorder = ws.root / "recorder.py"
    recorder.write_text(RECORDER)
    report = ws.root / "report.json"
    leak_guard.allow(report)  # the command was asked to keep what it was given
    hostile_args = ["$(touch pwned)", ";", "touch", "pwned-too", ">", "redirected"]
    command = [sys.executable, str(recorder), str(report), *hostile_args]
    ws.write(_manifest("{sink: exec, command: " + json.dumps(command) + "}"))
    monkeypatch.setenv("INFOBIP_PASSWORD", "admin")  # the tool's own credential

    outcome = ws.apply()

    assert outcome.code == 0, outcome
    received = json.loads(report.read_text())
    secret = _only_secret(ws)
    assert received["stdin"].strip() == secret
    assert received["argv"] == hostile_args
    assert all(secret not in value for value in received["env"].values())
    assert "INFOBIP_PASSWORD" not in received["env"]
    assert received["env"]["INFOBIP_KEY_ADDRESS"] == "api_keys.payments"
    for planted in ("pwned", "pwned-too", "redirected"):
        assert not (ws.root / planted).exists() and not Path(os.getcwd(), planted).exists()


def test_a_sink_file_in_the_way_stops_apply_before_it_creates_a_key_it_cannot_deliver(
    workspace: Workspace,
) -> None:
    """Protection: apply checks before its first write that each new key's file sink may
    write its file. Found by the SIGKILL proof: a key removed (so forgotten) and declared
    again met its old secret file; every apply then created a key whose secret it could
    not deliver and revoked the one before, two writes a day wasted for nothing."""
    ws = workspace
    declared = _manifest('{sink: file, path: "secrets/{address}.env"}')
    ws.write(declared)
    assert ws.apply().code == 0
    ws.write("version: 1\napi_keys: {}\n")
    assert ws.apply().code == 0  # revoked and forgotten; its file stays
    ws.write(declared)

    with ws.counting() as requests:
        refused = ws.apply()

    assert refused.code == 1, refused
    assert "api_keys.payments" in refused.err and "already exists" in refused.err
    assert "Move it away" in refused.err
    assert writes(requests) == 0
    (ws.manifests / "secrets" / "api_keys.payments.env").unlink()  # the user moves it away
    delivered = ws.apply()
    assert delivered.code == 0, delivered
    (key,) = [k for k in read_emulator(ws.emulator).values() if k.enabled]
    assert key.secret in (ws.manifests / "secrets" / "api_keys.payments.env").read_text()

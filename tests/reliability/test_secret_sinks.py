"""Secret sinks cannot be turned against the user, end to end through `apply`: relative
paths resolve against the manifest's folder, placeholders cannot climb out of it, a planted
link or a file the sink did not write is never written over, and an `exec` sink runs
without a shell with the secret on stdin only. (tests/secrets checks each at its source.)"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from e2e.workspace import Workspace, writes
from leakguard import LeakWatch

from infobip_iac.secrets import gitcheck
from infobip_iac.secrets.redact import MIN_FRAGMENT_CHARS
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
    again met a file in the way; every apply then created a key whose secret it could
    not deliver and revoked the one before, two writes a day wasted for nothing. (The
    sink's own file of the removed key is moved aside since issue 11; a file the sink did
    not write, as here, is still refused.)"""
    ws = workspace
    declared = _manifest('{sink: file, path: "secrets/{address}.env"}')
    ws.write(declared)
    assert ws.apply().code == 0
    ws.write("version: 1\napi_keys: {}\n")
    assert ws.apply().code == 0  # revoked and forgotten; its file stays
    # Someone else's file now stands where the sink wrote: not the sink's own.
    (ws.manifests / "secrets" / "api_keys.payments.env").write_text("MINE=1\n")
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


def _pieces(secret: str, width: int = MIN_FRAGMENT_CHARS) -> list[str]:
    return [secret[i : i + width] for i in range(len(secret) - width + 1)]


# The audit's two commands: blank lines that push the secret across the 64 KiB of stderr
# kept, and an echo of the secret without its last character.
PAD_THEN_ECHO = (
    "import sys; s=sys.stdin.read(); sys.stderr.write(chr(10)*(65536-len(s)+1)+s); sys.exit(1)"
)
ECHO_MOST = (
    "import sys; s=sys.stdin.read(); sys.stderr.write('bad token ' + s[:-1] + ' end'); sys.exit(1)"
)


@pytest.mark.parametrize("script", [PAD_THEN_ECHO, ECHO_MOST], ids=["pad-fail", "split-fail"])
def test_no_piece_of_the_secret_reaches_stderr_state_or_state_show(
    workspace: Workspace, script: str
) -> None:
    """Protection: a failing exec sink's stderr is quoted only after every run of the
    secret long enough to identify it is hidden, before any cut. Found by the audit: 68 of
    69 characters reached stderr, `secret.detail` in the state, its backup and `state show`."""
    ws = workspace
    command = json.dumps([sys.executable, "-c", script])
    ws.write(_manifest("{sink: exec, command: " + command + "}"))

    applied = ws.apply()
    shown = ws.run("state", "show", "api_keys.payments")

    assert applied.code == 1 and "SECRET NOT DELIVERED" in applied.err, applied
    assert shown.code == 0 and "LOST" in shown.out, shown
    secret = _only_secret(ws)
    stored = [ws.state_path.read_text()]
    backup = ws.state_path.with_name(ws.state_path.name + ".backup")
    if backup.exists():
        stored.append(backup.read_text())
    for text in (applied.out, applied.err, shown.out, shown.err, *stored):
        assert not any(piece in text for piece in _pieces(secret))


@pytest.mark.parametrize(
    "path", ["afile/{address}.env", "loop/{address}.env", "secrets/" + "n" * 300 + ".env"]
)
def test_a_sink_path_that_cannot_be_checked_is_refused_before_any_write(
    workspace: Workspace, path: str
) -> None:
    """Protection: a path through a regular file, a link loop or a name too long is an
    error naming the key, the field and the path, before the key is created. Found by the
    audit: apply crashed (exit 70, a traceback file)."""
    ws = workspace
    (ws.manifests / "afile").write_text("not a folder\n")
    (ws.manifests / "loop").symlink_to("loop")
    ws.write(_manifest("{sink: file, path: " + json.dumps(path) + "}"))

    with ws.counting() as requests:
        outcome = ws.apply()

    assert outcome.code == 1, outcome
    assert "api_keys.payments" in outcome.err and f'secret.path "{path}"' in outcome.err
    assert str(Path(ws.manifests.name) / path.partition("/")[0]) in outcome.err
    assert "Nothing was written to Infobip.\n" in outcome.err and ".." not in outcome.err
    assert "crashed" not in outcome.err
    assert writes(requests) == 0


def test_a_symlinked_folder_in_the_sink_path_is_refused_before_any_write(
    workspace: Workspace,
) -> None:
    """Protection: a link among the folders below the manifest's is refused before the key
    is created, as a link at the file itself is. Found by the audit: the key was created
    first, then its secret was lost, and the next plan replaced it."""
    ws = workspace
    (ws.root / "real").mkdir()
    (ws.manifests / "linkdir").symlink_to(ws.root / "real")
    ws.write(_manifest('{sink: file, path: "linkdir/{address}.env"}'))

    with ws.counting() as requests:
        outcome = ws.apply()

    assert outcome.code == 1, outcome
    assert "linkdir is a symbolic link" in outcome.err and "Nothing was written" in outcome.err
    assert writes(requests) == 0
    assert list((ws.root / "real").iterdir()) == []


def test_a_key_can_be_rotated_from_another_working_folder(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Protection: the files a key's sink owns are recorded so that the claim holds from
    any working folder. Found by the audit: run from inside the manifests' folder, a
    rotation was refused as if the key's own file were someone else's."""
    ws = workspace
    ws.write(_manifest('{sink: file, path: "secrets/{address}.env"}'))
    state = str(ws.state_path)
    assert ws.run("apply", "keys", "--auto-approve", "--state", state).code == 0
    monkeypatch.chdir(ws.manifests)

    rotated = ws.run(
        "apply", ".", "--auto-approve", "--state", state, "--replace", "api_keys.payments"
    )

    assert rotated.code == 0, rotated
    (key,) = [k for k in read_emulator(ws.emulator).values() if k.enabled]
    assert key.secret in (ws.manifests / "secrets" / "api_keys.payments.env").read_text()


def test_secret_files_git_would_commit_are_warned_about(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Protection: the usual layout puts `secrets/` beside manifests kept in git, where one
    `git add -A` commits every secret; apply says so, once, with the line that prevents it."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    ws = workspace
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(ws.root / "no-gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setattr(gitcheck, "_checked", set())
    subprocess.run(["git", "init", "-q", str(ws.root)], check=True)
    ws.write(_manifest('{sink: file, path: "secrets/{address}.env"}'))

    warned = ws.apply()
    (ws.root / ".gitignore").write_text("/keys/secrets/\n")
    monkeypatch.setattr(gitcheck, "_checked", set())
    quiet = ws.apply("--replace", "api_keys.payments")

    assert warned.code == 0, warned
    assert warned.err.count("git does not ignore them") == 1
    assert '"/keys/secrets/"' in warned.err
    assert quiet.code == 0 and "git does not ignore" not in quiet.err, quiet

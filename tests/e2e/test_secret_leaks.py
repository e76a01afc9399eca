"""No apiKeySecret outside its sink: every secret the emulator issued is searched for in
stdout, stderr, debug logs (console and JSON), state, its backup, plan files and every other
file the tool wrote. Secret files are private (0600)."""

from __future__ import annotations

import stat
from pathlib import Path

from e2e.workspace import Workspace

MANIFEST = """
    version: 1
    defaults:
      allowed_ips: [203.0.113.0/24]
      scopes: [sms:logs:read]
    api_keys:
      dotenv:
        secret: {sink: file, path: "secrets/{address}.env"}
      raw:
        secret: {sink: file, path: "secrets/{address}.key", format: raw}
      json:
        secret: {sink: file, path: "secrets/{address}.json", format: json}
      piped:
        secret: {sink: exec, command: [sh, -c, "cat > /dev/null"]}
      failing:
        secret: {sink: exec, command: [sh, -c, "cat > /dev/null; echo refused >&2; exit 3"]}
      unkept: {}
"""


def _files_outside(root: Path, excluded: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file() and excluded not in path.parents]


def test_no_secret_appears_anywhere_but_its_sink(workspace: Workspace) -> None:
    ws = workspace
    ws.write(MANIFEST)
    planfile = ws.root / "rotation.plan"

    first = ws.run("apply", str(ws.manifests), "--auto-approve", "--log-level", "debug")
    assert first.code == 1, first  # the failing sink
    assert "SECRET NOT DELIVERED" in first.err
    # Rotate every key (new secrets), through a saved plan, with JSON debug logs.
    replace = [
        arg
        for ident in ("dotenv", "raw", "json", "piped")
        for arg in ("--replace", f"api_keys.{ident}")
    ]
    planned = ws.plan("--out", str(planfile), *replace, "--log-level", "debug")
    assert planned.code == 0, planned
    assert ws.run("show", str(planfile), "--format", "json").code == 0
    assert ws.run("show", str(planfile), "--format", "markdown").code == 0
    second = ws.run("apply", str(planfile), "--log-level", "debug", "--log-format", "json")
    assert second.code == 1, second  # `failing` is replaced too, and fails again
    assert ws.plan("--format", "json", "--log-level", "debug").code == 0

    issued = ws.emulator.control.secrets()
    assert len(issued) >= 10 and all(len(secret) >= 16 for secret in issued)
    secrets_dir = ws.manifests / "secrets"
    delivered = "".join(p.read_text() for p in secrets_dir.iterdir())
    # The search below would find them: the sinks got the secrets of the live keys.
    assert sum(secret in delivered for secret in issued) >= 3

    searched = {"transcript": "\n".join(ws.transcript)}
    assert '"level": "debug"' in searched["transcript"]  # JSON logs were searched
    assert "[debug" in searched["transcript"]  # and console logs
    for path in _files_outside(ws.root, secrets_dir):
        searched[str(path.relative_to(ws.root))] = path.read_text(errors="replace")
    assert ".infobip-iac/state.json" in searched
    assert ".infobip-iac/state.json.backup" in searched
    assert "rotation.plan" in searched
    leaks = [
        f"{where} holds secret #{index}"
        for index, secret in enumerate(issued)
        for where, text in searched.items()
        if secret in text
    ]
    assert leaks == []

    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in secrets_dir.iterdir()}
    assert modes and set(modes.values()) == {0o600}, modes

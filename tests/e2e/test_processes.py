"""The real command in a child process: exit codes as a shell sees them, no traceback on
stderr, and the README's main job (plan, apply, plan again of `examples/` on the embedded
emulator)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from infobip_iac.emulator import EmulatorServer

REPO = Path(__file__).resolve().parents[2]
FIVE_KEYS = """\
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


def _environment(**extra: str) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    return {**env, "NO_COLOR": "1", **extra}


def _run(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "infobip_iac", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


@pytest.mark.slow
def test_readme_main_job_on_the_embedded_emulator(tmp_path: Path) -> None:
    # Secrets a local run of the Quick start left behind are not part of the examples.
    shutil.copytree(
        REPO / "examples", tmp_path / "examples", ignore=shutil.ignore_patterns("secrets")
    )
    env = _environment()

    first = _run(tmp_path, "plan", "--emulator", "examples", env=env)
    applied = _run(tmp_path, "apply", "--emulator", "--auto-approve", "examples", env=env)
    second = _run(tmp_path, "plan", "--emulator", "--detailed-exitcode", "examples", env=env)

    assert first.returncode == 0, first.stderr
    assert "to add" in first.stdout
    assert applied.returncode == 0, applied.stderr
    assert "Apply complete!" in applied.stdout
    assert second.returncode == 0, second.stdout + second.stderr
    assert "No changes." in second.stdout
    assert (tmp_path / ".infobip-iac" / "emulator.json").is_file()


@pytest.mark.slow
def test_exit_codes_of_plan_and_apply(
    tmp_path: Path, make_emulator: Callable[..., EmulatorServer]
) -> None:
    emulator = make_emulator(write_limit=2)
    env = _environment(
        INFOBIP_BASE_URL=emulator.base_url, INFOBIP_USERNAME="admin", INFOBIP_PASSWORD="admin"
    )
    (tmp_path / "keys.yaml").write_text(FIVE_KEYS)

    assert _run(tmp_path, "plan", "keys.yaml", env=env).returncode == 0
    assert _run(tmp_path, "plan", "--detailed-exitcode", "keys.yaml", env=env).returncode == 2
    unapproved = _run(tmp_path, "apply", "keys.yaml", env=env)
    assert unapproved.returncode == 1 and "--auto-approve" in unapproved.stderr
    limited = _run(tmp_path, "apply", "--auto-approve", "keys.yaml", env=env)
    assert limited.returncode == 3, limited.stderr
    assert "daily write limit" in limited.stderr
    broken = _run(tmp_path, "plan", "missing.yaml", env=env)
    assert broken.returncode == 1 and "missing.yaml" in broken.stderr

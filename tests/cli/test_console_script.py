"""The console script (`run`): `main`, then the process ends at once with `main`'s code and
all of its output flushed, since nothing is torn down after it."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

from infobip_iac.scopes import load_catalog

_RUN = "import sys\nfrom infobip_iac.cli.main import run\nsys.argv[0] = 'infobip-iac'\nrun()\n"


def _script(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _RUN, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )


def test_the_installed_command_is_run() -> None:
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    scripts = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts == {"infobip-iac": "infobip_iac.cli.main:run"}


def test_a_long_output_to_a_pipe_arrives_whole(tmp_path: Path) -> None:
    done = _script("scopes", "list", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    # Several times the 8 KB of Python's output buffer: were the last block left unflushed,
    # this would not parse.
    assert len(done.stdout) > 3 * 8192
    assert len(json.loads(done.stdout)) == len(load_catalog().scopes)


def test_the_exit_code_and_the_error_are_main_s(tmp_path: Path) -> None:
    done = _script("validate", str(tmp_path / "missing.yaml"), cwd=tmp_path)
    assert done.returncode == 1
    output = done.stdout + done.stderr
    assert "E100" in output and "Invalid: 1 error" in output and "Traceback" not in output

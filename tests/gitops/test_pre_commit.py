"""The pre-commit hook, run by the real pre-commit (`try-repo`, which installs this
repository into a virtualenv of its own) on a small repository of manifests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

GOOD = """\
version: 1
api_keys:
  ci-sms:
    name: CI SMS sender
    scopes: [sms:message:send]
    allowed_ips: [203.0.113.0/24]
"""
BAD = GOOD.replace("sms:message:send", "sms:mesage:send")


def _git(folder: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True, timeout=60)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_try_repo_passes_the_good_manifest_and_fails_the_bad_one_with_its_diagnostic(
    tmp_path: Path,
) -> None:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "good.yaml").write_text(GOOD, encoding="utf-8")
    (manifests / "bad.yaml").write_text(BAD, encoding="utf-8")
    _git(manifests, "init", "-q")
    _git(manifests, "add", "good.yaml", "bad.yaml")
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "NO_COLOR": "1",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }

    def try_repo(name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                str(BIN / "pre-commit"),
                "try-repo",
                str(ROOT),
                "infobip-iac-validate",
                "--files",
                name,
                "--color",
                "never",
            ],
            cwd=manifests,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    good = try_repo("good.yaml")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "infobip-iac validate" in good.stdout and "Passed" in good.stdout

    bad = try_repo("bad.yaml")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "Failed" in bad.stdout
    assert "bad.yaml:5:14: error" in bad.stdout
    assert 'did you mean "sms:message:send"' in bad.stdout

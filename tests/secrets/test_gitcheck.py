"""A secret file written into a git working tree, and not ignored there, is warned about
once; git's absence, an ignored path or a folder outside any working tree say nothing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from infobip_iac.domain.keys import SecretSinkSpec
from infobip_iac.domain.secret import Secret
from infobip_iac.secrets import gitcheck
from infobip_iac.secrets.meta import KeyMeta
from infobip_iac.secrets.sinks import deliver

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


class _Warnings:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def warning(self, event: str) -> None:
        self.lines.append(event)


@pytest.fixture
def warnings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> _Warnings:
    """The warnings the check logs, with a fresh memory of folders already checked and
    no user or system git configuration (a global exclude could ignore the files)."""
    recorded = _Warnings()
    monkeypatch.setattr(gitcheck, "_log", recorded)
    monkeypatch.setattr(gitcheck, "_checked", set())
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    return recorded


def _repository(root: Path) -> Path:
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def _write(base: Path, secret: Secret, meta: KeyMeta, path: str) -> None:
    spec = SecretSinkSpec(sink="file", path=path, base_dir=str(base))
    deliver(spec, secret, meta, show_secrets=False)


@needs_git
def test_a_secret_file_git_would_commit_is_warned_about_once(
    tmp_path: Path, secret: Secret, meta: KeyMeta, warnings: _Warnings
) -> None:
    repo = _repository(tmp_path / "repo")
    other = KeyMeta(address="api_keys.other", key_id="B2", name="other", account="_")

    _write(repo / "team", secret, meta, "secrets/{address}.env")
    _write(repo / "team", secret, other, "secrets/{address}.env")

    (line,) = warnings.lines
    assert str(repo / "team" / "secrets") in line
    assert '"/team/secrets/"' in line and str(repo / ".gitignore") in line


@needs_git
def test_a_secret_file_at_the_top_of_the_tree_gets_its_own_ignore_line(
    tmp_path: Path, secret: Secret, meta: KeyMeta, warnings: _Warnings
) -> None:
    repo = _repository(tmp_path / "repo")

    _write(repo, secret, meta, "{address}.env")

    (line,) = warnings.lines
    assert '"/api_keys.ci-sms.env"' in line


@needs_git
def test_an_ignored_secret_file_is_not_warned_about(
    tmp_path: Path, secret: Secret, meta: KeyMeta, warnings: _Warnings
) -> None:
    repo = _repository(tmp_path / "repo")
    (repo / ".gitignore").write_text("secrets/\n")

    _write(repo, secret, meta, "secrets/{address}.env")

    assert warnings.lines == []


def test_a_secret_file_outside_a_working_tree_is_not_warned_about(
    tmp_path: Path, secret: Secret, meta: KeyMeta, warnings: _Warnings
) -> None:
    _write(tmp_path, secret, meta, "secrets/{address}.env")

    assert warnings.lines == []


@needs_git
def test_without_git_on_path_nothing_is_said(
    tmp_path: Path,
    secret: Secret,
    meta: KeyMeta,
    warnings: _Warnings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repo = _repository(tmp_path / "repo")
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))

    _write(repo, secret, meta, "secrets/{address}.env")

    assert warnings.lines == []

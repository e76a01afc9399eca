"""A warning when a secret file lands where `git add` would pick it up.

The usual layout keeps manifests in a repository with `secrets/` beside them, and one
`git add -A` would commit every secret. The check asks git itself (`git check-ignore`),
so every .gitignore, `info/exclude` and global exclude counts. It runs once per folder and
run, costs one short git process, and says nothing when git is not installed or the
folder is not in a working tree: it is advice, never a reason to fail a delivery.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from infobip_iac.logs import get_logger
from infobip_iac.secrets.exec_sink import command_environment_without_credentials

__all__ = ["warn_if_git_would_commit"]

_log = get_logger(__name__)
_GIT_SECONDS = 5.0
# `git check-ignore -q`: 0 ignored, 1 not ignored, 128 not a working tree (or git failed).
_NOT_IGNORED = 1
# Folders already checked in this run: one warning per folder is enough.
_checked: set[str] = set()


def _git(git: str, folder: str, *args: str) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(
            [git, "-C", folder, *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=_GIT_SECONDS,
            env=command_environment_without_credentials(),
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None


def _ignore_line(folder: str, top: str, file_name: str) -> str:
    inside = os.path.relpath(folder, top)
    if inside == ".":
        return "/" + file_name
    return "/" + Path(inside).as_posix() + "/"


def warn_if_git_would_commit(target: Path) -> None:
    """Warn (once per folder) when `target` is in a git working tree and not ignored."""
    folder = os.path.realpath(target.parent)
    if folder in _checked:
        return
    _checked.add(folder)
    git = shutil.which("git")
    if git is None:
        return
    ignored = _git(git, folder, "check-ignore", "-q", "--", target.name)
    if ignored is None or ignored.returncode != _NOT_IGNORED:
        return
    shown = _git(git, folder, "rev-parse", "--show-toplevel")
    top = shown.stdout.strip() if shown is not None and shown.returncode == 0 else ""
    if not top:
        return
    line = _ignore_line(folder, top, target.name)
    _log.warning(
        f"secret files in {target.parent} are inside the git working tree {top} and git "
        f'does not ignore them; add the line "{line}" to {Path(top) / ".gitignore"} so '
        "that they are never committed"
    )

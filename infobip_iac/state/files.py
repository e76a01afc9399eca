"""Durable file writes for the state folder: private folders, atomic replace, fsync."""

from __future__ import annotations

import contextlib
import glob
import os
import stat
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "ensure_private_dir",
    "fsync_dir",
    "remove_abandoned",
    "sweep_temp_files",
    "write_atomically",
]

# A temp file this old was left by a writer that was killed; a live writer finishes in
# well under a second, so this margin never touches one in progress.
_ABANDONED_AFTER_SECONDS = 15 * 60


def ensure_private_dir(folder: Path) -> None:
    """Create `folder` and any missing parents with mode 0700 (existing ones are left alone)."""
    missing: list[Path] = []
    current = folder
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=0o700)


def fsync_dir(folder: Path) -> None:
    """Make a rename inside `folder` durable: without this a power loss may undo it."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a reader (or a crash) sees the old or the new
    content, never a mix: temp file in the same folder, fsync, rename, fsync the folder.
    The file gets mode 0600."""
    folder = path.parent
    fd, temp_name = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp", dir=folder)
    try:
        try:
            os.fchmod(fd, 0o600)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        Path(temp_name).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(temp_name).unlink()
        raise
    fsync_dir(folder)


def remove_abandoned(temp_files: Iterable[Path]) -> None:
    """Remove those of `temp_files` that are regular files old enough to have been left
    by a killed writer; anything younger may belong to a writer still at work."""
    cutoff = time.time() - _ABANDONED_AFTER_SECONDS
    for leftover in temp_files:
        with contextlib.suppress(OSError):
            found = leftover.lstat()
            if stat.S_ISREG(found.st_mode) and found.st_mtime < cutoff:
                leftover.unlink()


def sweep_temp_files(path: Path) -> None:
    """Remove temp files of `path` that a killed writer left behind."""
    remove_abandoned(path.parent.glob(glob.escape(_temp_prefix(path)) + "*.tmp"))

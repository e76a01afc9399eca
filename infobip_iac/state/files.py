"""Durable file writes: private folders, atomic replace, fsync, and the sweep of temp files
a killed writer left. The one implementation for every file the tool writes (state, lock,
journal, saved plans, secret files); it lives here because the state folder needs it most."""

from __future__ import annotations

import contextlib
import glob
import os
import re
import secrets
import signal
import stat
import time
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "CRASH_AT_VARIABLE",
    "CRASH_STEPS",
    "TEMP_NAME_OVERHEAD",
    "TempFileError",
    "append_durably",
    "ensure_private_dir",
    "is_temp_file_name",
    "remove_abandoned",
    "sweep_temp_files",
    "write_atomically",
]

# A temp file this old was left by a writer that was killed; a live writer finishes in
# well under a second, so this margin never touches one in progress.
_ABANDONED_AFTER_SECONDS = 15 * 60

_TEMP_TOKEN_BYTES = 8
# `.<target name>.<16 hex digits>.tmp`, as _temp_name makes them, and nothing else.
_TEMP_NAME = re.compile(rf"\..+\.[0-9a-f]{{{2 * _TEMP_TOKEN_BYTES}}}\.tmp")
# How many bytes a temp file's name is longer than its target's: a target name that only
# just fits the file system would fail at the temp file.
TEMP_NAME_OVERHEAD = len(f"..{'0' * 2 * _TEMP_TOKEN_BYTES}.tmp")
# Exclusive, so that nothing planted under the name is reused; never through a link.
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


# Test-only fault injection. A crash test cannot rely on a kill from outside landing inside
# a write that lasts microseconds, so the writer kills itself, with SIGKILL (no cleanup, no
# `finally`, exactly as a lost CI runner stops), at a named step of the write of a named
# file: `INFOBIP_IAC_TEST_CRASH_AT=<step>:<file name>[:<n>]`, the n-th such write (from 1,
# default 1) in this process. The steps, in order: the temp file exists but is empty;
# half the data is in it; all of it; it is fsynced; it is renamed over the target; the
# folder is fsynced too (the write is done, the caller's next step not begun). No user sets
# it; unset, it costs one environment lookup per write, nothing beside an fsync.
CRASH_AT_VARIABLE = "INFOBIP_IAC_TEST_CRASH_AT"
CRASH_STEPS = ("created", "half-written", "written", "synced", "renamed", "durable")
_crash_counts: dict[tuple[str, str], int] = {}


def _crash_point(step: str, path: Path) -> None:
    wanted = os.environ.get(CRASH_AT_VARIABLE)
    if not wanted:
        return
    at_step, _, rest = wanted.partition(":")
    name, _, nth = rest.partition(":")
    if at_step != step or name != path.name:
        return
    seen = _crash_counts[step, name] = _crash_counts.get((step, name), 0) + 1
    if seen == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)


class TempFileError(OSError):
    """The temp file beside the target could not be created: the folder takes no new file.
    Nothing was written."""


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


def _fsync_dir(folder: Path) -> None:
    """Make a rename inside `folder` durable: without this a power loss may undo it."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_prefix(path: Path) -> str:
    return f".{path.name}."


def _temp_name(path: Path) -> str:
    return f"{_temp_prefix(path)}{secrets.token_hex(_TEMP_TOKEN_BYTES)}.tmp"


def is_temp_file_name(name: str) -> bool:
    """Whether `name` is one write_atomically gives its temp files (of any target)."""
    return _TEMP_NAME.fullmatch(name) is not None


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so that a reader (or a crash) sees the old or the new
    content, never a mix: temp file in the same folder, fsync, rename, fsync the folder.
    The file has mode 0600 from its creation on, before any byte is in it. Raises
    TempFileError when the temp file cannot be created, OSError for any later failure;
    either way no temp file is left."""
    folder = path.parent
    temp = folder / _temp_name(path)
    try:
        fd = os.open(temp, _TEMP_FLAGS, 0o600)
    except OSError as error:
        raise TempFileError(error.errno, error.strerror, str(temp)) from error
    try:
        try:
            os.fchmod(fd, 0o600)  # the umask could only narrow it, but be exact
            _crash_point("created", path)
            view = memoryview(data)
            half = len(data) // 2
            while len(view) > half:
                view = view[os.write(fd, view[: len(view) - half]) :]
            _crash_point("half-written", path)
            while view:
                view = view[os.write(fd, view) :]
            _crash_point("written", path)
            os.fsync(fd)
            _crash_point("synced", path)
        finally:
            os.close(fd)
        temp.replace(path)
        _crash_point("renamed", path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    _fsync_dir(folder)
    _crash_point("durable", path)


def append_durably(path: Path, data: bytes) -> None:
    """Append `data` to `path` (created with mode 0600, never through a link) and fsync it
    before returning. A crash mid-append can leave only a torn last line, which readers of
    such logs (the state's change log) ignore."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(path, flags, 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


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
    """Remove temp files of `path` that a killed writer left behind (the glob also takes
    the names earlier versions gave them)."""
    remove_abandoned(path.parent.glob(glob.escape(_temp_prefix(path)) + "*.tmp"))

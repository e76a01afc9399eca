"""The local file backend: the state file, its lock files and its journal, side by side."""

from __future__ import annotations

from pathlib import Path

from infobip_iac.state.lock import StateLock
from infobip_iac.state.store import StateStore

__all__ = ["FileBackend"]


class FileBackend:
    """The state at `path` and the files beside it (see `state.store`, `state.lock`)."""

    def __init__(self, path: Path, *, endpoint: str | None = None) -> None:
        self._store = StateStore(path, endpoint=endpoint)
        self._lock = StateLock(path)

    @property
    def store(self) -> StateStore:
        return self._store

    @property
    def lock(self) -> StateLock:
        return self._lock

    def close(self) -> None:
        """Nothing stays open between calls."""

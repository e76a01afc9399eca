"""The storage seam: what every state backend offers, and the one function that opens one.

A backend keeps three things for one state: its versions (`Store`), the lock that lets one
run at a time change it (`Lock`), and the journal of creates sent but not yet recorded
(`CreateJournal`, whose logic is shared and whose storage is the backend's). The local file
(`state.store`, `state.lock`, `state.journal`) is one backend, PostgreSQL (`state.pg`) the
other. Nothing outside this package knows which one it has: commands call `open_backend`
with the `--state` value and use the protocols below.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

from infobip_iac.state.journal import Journal
from infobip_iac.state.lock import LockInfo
from infobip_iac.state.model import StateDocument, VersionInfo

__all__ = [
    "POSTGRES_SCHEMES",
    "Backend",
    "Lock",
    "Store",
    "VersionInfo",
    "is_database_location",
    "open_backend",
]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class Store(Protocol):
    """The versions of one state.

    `write` stores a full version and `record` a small change (the entries at `addresses`
    as `doc` has them, a missing one meaning removed); both refuse, with StateError, a
    `doc` of another lineage or read before someone else wrote (compare-and-swap on the
    serial), and both return the document as now stored, to pass to the next call. A
    `read` sees the recorded changes; `write` folds them into one new version.
    """

    @property
    def where(self) -> str:
        """The state's location for messages: a path, or a URL without any password."""
        ...

    @property
    def journal(self) -> Journal:
        """The create journal of this state."""
        ...

    def exists(self) -> bool: ...

    def read(self) -> StateDocument: ...

    def write(self, doc: StateDocument) -> StateDocument: ...

    def record(self, doc: StateDocument, addresses: Iterable[str]) -> StateDocument: ...

    def check_lock(self) -> None:
        """Raise StateLockLostError when this run took the state's lock and lost it since
        (another run may hold it now); nothing when it holds it, or took none."""
        ...

    def history(self) -> list[VersionInfo]:
        """The stored versions, oldest first."""
        ...

    def version(self, serial: int) -> StateDocument:
        """Stored version `serial`; StateError when there is none."""
        ...

    def push(self, doc: StateDocument) -> StateDocument:
        """Store `doc` as it is (its own lineage and serial) as the newest version: refused
        when the state holds another lineage or a serial not below doc's."""
        ...


class Lock(Protocol):
    """The lock of one state: one holder at a time, with who/what/when/host for others."""

    def acquire(self, info: LockInfo, *, timeout: float) -> str: ...

    def release(self, lock_id: str) -> None: ...

    def force_unlock(self, lock_id: str) -> None: ...

    def holder(self) -> LockInfo | None: ...

    def taken_over_from(self) -> LockInfo | None:
        """The holder whose lock this run took over because it had died, if it did."""
        ...


class Backend(Protocol):
    """A state's store and lock, opened from a `--state` value."""

    @property
    def store(self) -> Store: ...

    @property
    def lock(self) -> Lock: ...

    def close(self) -> None: ...


@contextlib.contextmanager
def locked(backend: Backend, operation: str, timeout: float = 0.0) -> Iterator[LockInfo]:
    """Hold `backend`'s lock for `operation` (e.g. "apply") around a block."""
    info = LockInfo.new(operation)
    backend.lock.acquire(info, timeout=timeout)
    try:
        yield info
    finally:
        backend.lock.release(info.id)


def is_database_location(location: str) -> bool:
    return location.lower().startswith(POSTGRES_SCHEMES)


@contextlib.contextmanager
def open_backend(location: str | Path, *, endpoint: str | None = None) -> Iterator[Backend]:
    """The backend `location` names: a postgresql:// URL, else a state file path.

    `endpoint` is where the run reaches Infobip (see state.model): given, a state of another
    endpoint is refused on read and every write records it; None (the `state` commands,
    which reach nothing) leaves the recorded endpoint as it is."""
    backend: Backend
    if isinstance(location, str) and is_database_location(location):
        # Imported here so that a file state never loads the database driver.
        from infobip_iac.state.pg import PostgresBackend

        backend = PostgresBackend.open(location, endpoint=endpoint)
    else:
        from infobip_iac.state.file_backend import FileBackend

        backend = FileBackend(Path(location), endpoint=endpoint)
    try:
        yield backend
    finally:
        backend.close()

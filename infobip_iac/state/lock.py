"""The state lock: one run at a time may change a state, and everyone can see who it is.

Two files sit beside the state:

- `<state>.lock` holds the holder's `LockInfo` as JSON. It is what other runs show in their
  "locked" message and what `force-unlock` checks its id against, and it outlives a killed
  holder, so a crash is reported instead of silently forgotten.
- `<state>.flock` is never removed by the tool; the holder keeps an exclusive flock(2) on
  an open descriptor of it for as long as it holds the lock. The flock is what makes taking
  the lock race-free and tells a live holder from a dead one: the kernel drops it with the
  holder's process, so a `.lock` file whose flock nobody holds was left by a process that
  died without releasing it.

Deleting files must not let a second run in, yet a flock lives on its inode, not its name:
after `rm state.json.flock state.json.lock` a second run creates new files and locks them.
So the holder remembers the identity (device, inode) of both files as it took them, and
`check_still_held` compares them with what the names point at now; apply calls it (through
the state store and the create journal, and before every Infobip write) and stops before
writing when they differ. Taking the lock checks the same after the flock is granted, so a
file removed between our open and our flock is never mistaken for the lock.

A lock left by a process that provably died (it ran on this host, its process is gone and
the flock is free) is taken over with a warning naming it; the run that takes it carries
on, and apply's journal recovery (`engine.recovery`) finds any create it left unrecorded.
A lock from another host, or one whose recorded process still runs, is left alone: a person
looks first and breaks it with `force-unlock ID`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import getpass
import json
import os
import shlex
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from infobip_iac.errors import StateError, StateLockedError, StateLockLostError
from infobip_iac.logs import get_logger
from infobip_iac.state.files import ensure_private_dir, write_atomically

__all__ = ["LockInfo", "StateLock", "check_still_held", "locked", "taken_over_from"]

_log = get_logger(__name__)
_POLL_SECONDS = 0.05
# The holder writes its details just after taking the flock; a contender that finds the
# flock taken waits this long for them rather than report an anonymous holder.
_HOLDER_GRACE_SECONDS = 1.0
_MAX_INFO_BYTES = 64 * 1024
_FLOCK_FLAGS = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC

FileIdentity = tuple[int, int]  # (st_dev, st_ino)


@dataclass(frozen=True)
class _Held:
    """A lock this process holds: the descriptor its flock is on, and the identity of the
    two files as they were when it was taken."""

    state_path: Path
    fd: int
    flock_path: Path
    flock_identity: FileIdentity
    info_path: Path
    info_identity: FileIdentity
    # The dead holder whose lock this one took over, if it did.
    taken_over: LockInfo | None = None

    def what_changed(self) -> str | None:
        """Why the lock files are no longer the ones taken, or None when they are."""
        for path, identity in (
            (self.flock_path, self.flock_identity),
            (self.info_path, self.info_identity),
        ):
            try:
                now = _identity_of(path)
            except FileNotFoundError:
                return f"the lock file {path} was removed"
            except OSError as error:
                return f"the lock file {path} cannot be looked at ({error.strerror})"
            if now != identity:
                return f"the lock file {path} was replaced by another file"
        return None


# The flocks this process holds, by lock id. Kept here rather than on a StateLock object so
# that dropping the object (or releasing through another one) cannot free a flock early.
_HELD: dict[str, _Held] = {}
_HELD_GUARD = threading.Lock()


def _identity_of(path: Path) -> FileIdentity:
    found = os.lstat(path)
    return found.st_dev, found.st_ino


def taken_over_from(state_path: Path) -> LockInfo | None:
    """The dead holder whose lock on `state_path` this process took over, if it did: its
    last requests may still be on their way to Infobip (see `engine.recovery`)."""
    with _HELD_GUARD:
        return next((h.taken_over for h in _HELD.values() if h.state_path == state_path), None)


def check_still_held(state_path: Path) -> None:
    """Raise StateLockLostError when a lock this process holds on `state_path` is no longer
    the lock others see: its files were removed or replaced, so another run may have taken
    the lock meanwhile. Nothing to check when this process holds none."""
    with _HELD_GUARD:
        held = [h for h in _HELD.values() if h.state_path == state_path]
    for lock in held:
        changed = lock.what_changed()
        if changed is not None:
            raise StateLockLostError(
                f"the state lock of {state_path} is no longer held: {changed} while this run "
                "held it, so another run may be changing the state now. This run stopped "
                "before writing anything more to Infobip or to the state. Check that no "
                "other infobip-iac runs on this state, then run plan to see where things "
                "stand."
            )


def _who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, as in some containers
        user = f"uid {os.getuid()}"
    return f"{user}@{socket.gethostname()}"


@dataclass(frozen=True)
class LockInfo:
    """Who holds a state lock, for what, and since when (UTC)."""

    id: str
    who: str
    operation: str
    created: datetime
    pid: int
    host: str

    @classmethod
    def new(cls, operation: str) -> LockInfo:
        """A LockInfo for this process, with a fresh id."""
        return cls(
            id=str(uuid.uuid4()),
            who=_who(),
            operation=operation,
            created=datetime.now(UTC).replace(microsecond=0),
            pid=os.getpid(),
            host=socket.gethostname(),
        )

    def to_json(self) -> str:
        body = asdict(self)
        body["created"] = self.created.isoformat().replace("+00:00", "Z")
        return json.dumps(body, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LockInfo:
        """Parse a lock file; ValueError when it is not one."""
        body = json.loads(text)
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
        try:
            created = datetime.fromisoformat(str(body["created"]).replace("Z", "+00:00"))
            pid = body["pid"]
            if isinstance(pid, bool) or not isinstance(pid, int):
                raise ValueError("pid is not a number")
            return cls(
                id=str(body["id"]),
                who=str(body["who"]),
                operation=str(body["operation"]),
                created=created if created.tzinfo else created.replace(tzinfo=UTC),
                pid=pid,
                host=str(body["host"]),
            )
        except KeyError as missing:
            raise ValueError(f"field {missing} is missing") from None

    def describe(self) -> str:
        since = self.created.isoformat().replace("+00:00", "Z")
        return f'{self.who} for "{self.operation}" since {since} (pid {self.pid} on {self.host})'

    def process_is_gone(self) -> bool:
        """True when the holder ran on this host and its process no longer exists."""
        if self.host != socket.gethostname():
            return False
        return not _process_alive(self.pid)


def _process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    # A killed process whose parent has not reaped it yet still answers kill(0).
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


class StateLock:
    """The lock of the state file at `state_path` (see the module docstring)."""

    def __init__(self, state_path: Path) -> None:
        self.state_path = state_path
        self.info_path = state_path.with_name(state_path.name + ".lock")
        # Left in place after every run, failed ones included: a run that unlinked it on
        # release could do so while a contender had it open and was about to lock it, and a
        # third run would then create and lock a new file, so two runs would hold the lock.
        self._flock_path = state_path.with_name(state_path.name + ".flock")
        # The dead holder whose lock the last acquire took over, if it did.
        self.taken_over: LockInfo | None = None

    def acquire(self, info: LockInfo, *, timeout: float) -> str:
        """Take the lock for `info`, waiting up to `timeout` seconds (0: one attempt).
        Returns the lock id; raises StateLockedError naming the holder."""
        with _HELD_GUARD:
            if info.id in _HELD:
                raise StateError(f"lock {info.id} is already held by this process")
        try:
            ensure_private_dir(self.state_path.parent)
        except OSError as error:
            raise StateError(
                f"cannot create the state folder {self.state_path.parent}: {error.strerror}"
            ) from None
        fd, flock_identity = self._take_flock(timeout)
        self.taken_over = None
        try:
            left_behind = self.holder()
            if left_behind is not None:
                # We hold the flock, so no running process holds this lock.
                self._take_over(left_behind)
            write_atomically(self.info_path, info.to_json().encode())
            info_identity = _identity_of(self.info_path)
        except OSError as error:
            os.close(fd)
            raise StateError(
                f"cannot write the lock file {self.info_path}: {error.strerror}"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        with _HELD_GUARD:
            _HELD[info.id] = _Held(
                state_path=self.state_path,
                fd=fd,
                flock_path=self._flock_path,
                flock_identity=flock_identity,
                info_path=self.info_path,
                info_identity=info_identity,
                taken_over=self.taken_over,
            )
        return info.id

    def _take_flock(self, timeout: float) -> tuple[int, FileIdentity]:
        """An open descriptor of `.flock` with our exclusive flock on it, and its identity.

        Hand-written on fcntl rather than with filelock: the lock must stay tied to a
        descriptor whose inode we can compare with the file's name later (see the module
        docstring), which filelock does not expose."""
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            try:
                fd = os.open(self._flock_path, _FLOCK_FLAGS, 0o600)
            except OSError as error:
                raise StateError(f"cannot lock {self._flock_path}: {error.strerror}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as error:
                os.close(fd)
                if error.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                    raise StateError(f"cannot lock {self._flock_path}: {error.strerror}") from None
                if time.monotonic() >= deadline:
                    raise self._locked_error(self._holder_once_written(), waited=timeout) from None
                time.sleep(_POLL_SECONDS)
                continue
            found = os.fstat(fd)
            identity = (found.st_dev, found.st_ino)
            try:
                current: FileIdentity | None = _identity_of(self._flock_path)
            except FileNotFoundError:
                current = None
            if current == identity:
                return fd, identity
            # The file was removed or replaced between our open and our flock: what we
            # hold is no lock anyone else can see. Try again with what the name is now.
            os.close(fd)

    def _take_over(self, dead: LockInfo) -> None:
        """Take the lock `dead` left, when it provably died; else raise StateLockedError."""
        if not dead.process_is_gone():
            raise self._locked_error(dead, waited=0, abandoned=True)
        self.taken_over = dead
        _log.warning(
            f"took over the state lock of {self.state_path} left by {dead.describe()}: "
            f"process {dead.pid} on this host is no longer running and held no lock. Any "
            "create it left unrecorded is looked for before planning.",
            lock_id=dead.id,
        )

    def release(self, lock_id: str) -> None:
        """Give back a lock this process acquired."""
        with _HELD_GUARD:
            held = _HELD.get(lock_id)
            if held is None or held.info_path != self.info_path:
                raise StateError(
                    f"lock {lock_id} on {self.state_path} is not held by this process; "
                    "a lock left by another process is broken with force-unlock"
                )
            del _HELD[lock_id]
        try:
            changed = held.what_changed()
            if changed is None:
                self.info_path.unlink(missing_ok=True)
            else:
                # Not ours to remove any more: it may be another run's lock now.
                _log.warning(f"state lock lost while held: {changed}", path=str(self.info_path))
        finally:
            os.close(held.fd)

    def force_unlock(self, lock_id: str) -> None:
        """Break a lock whose holder is gone; `lock_id` must be the id it was taken with."""
        holder = self.holder()
        if holder is None:
            raise StateError(
                f"the state {self.state_path} is not locked; there is nothing to unlock"
            )
        if holder.id != lock_id:
            raise StateError(
                f"{lock_id} is not the id of the lock on {self.state_path}; it is held by "
                f"{holder.describe()}. Pass the id shown in the lock message."
            )
        try:
            fd, _ = self._take_flock(0)
        except StateLockedError:
            raise StateLockedError(
                f"the lock on {self.state_path} is held by a running process: "
                f"{holder.describe()}. Wait for it to finish or stop it; force-unlock only "
                "breaks a lock whose holder has died.",
                lock_id=holder.id,
                holder=holder.describe(),
            ) from None
        try:
            current = self.holder()
            if current is not None and current.id == lock_id:
                self.info_path.unlink(missing_ok=True)
        finally:
            os.close(fd)

    def taken_over_from(self) -> LockInfo | None:
        """The dead holder whose lock this process took over, if it did (the state
        backends' Lock protocol; see the module-level function)."""
        return taken_over_from(self.state_path)

    def holder(self) -> LockInfo | None:
        """Who holds the lock, or None. A lock file that cannot be parsed raises StateError."""
        try:
            with self.info_path.open("rb") as handle:
                text = handle.read(_MAX_INFO_BYTES)
        except FileNotFoundError:
            return None
        except OSError as error:
            raise StateError(
                f"cannot read the lock file {self.info_path}: {error.strerror}"
            ) from None
        try:
            return LockInfo.from_json(text.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise StateError(
                f"the lock file {self.info_path} is unreadable. If no infobip-iac is running "
                f"on this state, delete it: rm {shlex.quote(str(self.info_path))}"
            ) from None

    def _holder_once_written(self) -> LockInfo | None:
        """The holder of a flock we could not take, allowing for the moment between its
        taking the flock and writing its details (five applies started together hit it)."""
        deadline = time.monotonic() + _HOLDER_GRACE_SECONDS
        while True:
            holder = self._read_holder_quietly()
            if holder is not None or time.monotonic() >= deadline:
                return holder
            time.sleep(_POLL_SECONDS)

    def _read_holder_quietly(self) -> LockInfo | None:
        try:
            return self.holder()
        except StateError:
            return None

    def _locked_error(
        self, holder: LockInfo | None, *, waited: float, abandoned: bool = False
    ) -> StateLockedError:
        state = self.state_path
        if holder is None:
            return StateLockedError(
                f"the state {state} is locked by another infobip-iac process"
                + (f" (waited {waited:g}s)" if waited else "")
                + ". Try again when it has finished, or pass a longer --lock-timeout."
            )
        lines = [f"the state {state} is locked by {holder.describe()}."]
        if abandoned and not holder.process_is_gone() and holder.host == socket.gethostname():
            lines.append(
                f"Its process {holder.pid} still runs on this host, yet holds no lock: the "
                "lock files may have been deleted while it ran. Stop it, or wait for it."
            )
        elif holder.process_is_gone():
            lines.append(
                f"The lock is stale: process {holder.pid} on this host is no longer running "
                "(it was killed or crashed without releasing the lock)."
            )
        elif abandoned:
            lines.append(
                "No running process on this host holds it; its holder ran on another host, "
                "so whether it still runs cannot be told from here."
            )
        elif waited:
            lines.append(f"Waited {waited:g}s for it; pass a longer --lock-timeout to wait more.")
        else:
            lines.append("It is running now: pass --lock-timeout SECONDS to wait for it.")
        lines.append(
            "If no infobip-iac is running on this state, check the last run's output, then "
            "break the lock with:\n"
            f"    infobip-iac force-unlock {holder.id} --state {shlex.quote(str(state))}"
        )
        return StateLockedError("\n".join(lines), lock_id=holder.id, holder=holder.describe())


@contextlib.contextmanager
def locked(state_path: Path, operation: str, timeout: float = 0.0) -> Iterator[LockInfo]:
    """Hold the lock of `state_path` for `operation` (e.g. "apply") around a block."""
    lock = StateLock(state_path)
    info = LockInfo.new(operation)
    lock.acquire(info, timeout=timeout)
    try:
        yield info
    finally:
        lock.release(info.id)

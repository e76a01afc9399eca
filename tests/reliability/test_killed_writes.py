"""Every atomic write of the tool, killed with SIGKILL inside each of its steps, on every run.

A kill sent from outside at a random moment lands inside a write only by luck (a write
lasts microseconds), so the writer kills itself at a named step through the test-only
fault-injection point of `state.files.write_atomically` (`INFOBIP_IAC_TEST_CRASH_AT`). Each
case forks a child that writes new content over old and dies at one step of one file's
write; the parent checks that the child did die there (SIGKILL, never a clean exit) and
that every reader then sees exactly the old content (killed before the rename) or exactly
the new one (after it), never a torn or empty file, and that the next write succeeds.

The writes: the state and its backup, the saved plan file, a secret file of the file sink,
the create journal, and the lock's holder file."""

from __future__ import annotations

import multiprocessing
import os
import signal
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from builders import busy_plan, targeted_plan
from state.conftest import make_document, make_resource

from infobip_iac.domain.keys import SecretSinkSpec
from infobip_iac.domain.secret import Secret
from infobip_iac.planfile import read_plan_file, write_plan_file
from infobip_iac.secrets.file_sink import file_contents, write_secret_file
from infobip_iac.secrets.meta import KeyMeta
from infobip_iac.state.files import CRASH_AT_VARIABLE, CRASH_STEPS, is_temp_file_name
from infobip_iac.state.journal import CreateJournal, PendingCreate
from infobip_iac.state.lock import LockInfo, StateLock
from infobip_iac.state.store import StateStore

# Steps after which the new content is in place under the target's name.
AFTER_RENAME = ("renamed", "durable")


@dataclass(frozen=True)
class Write:
    """One atomic write of the tool: `prepare` leaves the old content in `folder`, `write`
    (run in the child that dies) writes the new one, `read` reads the target as the tool
    does and returns what it holds (None: absent). `old`/`new`: what `read` gives before and
    after the write."""

    target: str
    prepare: Callable[[Path], None]
    write: Callable[[Path], None]
    read: Callable[[Path], Any]
    old: Callable[[Path], Any]
    new: Callable[[Path], Any]


# --- the state and its backup: each write copies the state to the backup, then replaces it


def _state(folder: Path) -> StateStore:
    return StateStore(folder / "state.json")


def _state_prepare(folder: Path) -> None:
    store = _state(folder)
    store.write(store.write(make_document("a")))  # serial 2, backup at serial 1


def _state_write(folder: Path) -> None:
    store = _state(folder)
    doc = store.read()
    doc.resources["api_keys.b"] = make_resource("b")
    store.write(doc)


def _state_read(folder: Path) -> Any:
    doc = _state(folder).read()  # raises StateError if the file were torn
    return doc.serial, sorted(doc.resources)


def _backup_read(folder: Path) -> Any:
    doc = StateStore(_state(folder).backup_path).read()
    return doc.serial, sorted(doc.resources)


# --- the saved plan file


def _plan_prepare(folder: Path) -> None:
    write_plan_file(targeted_plan(), folder / "changes.plan")


def _plan_write(folder: Path) -> None:
    write_plan_file(busy_plan(), folder / "changes.plan")


def _plan_read(folder: Path) -> Any:
    return read_plan_file(folder / "changes.plan")  # raises UsageError if torn


# --- a secret file of the file sink, rotated: the new key's secret over the old one's

_SECRET_FILE = "api_keys.ci-sms.env"


def _meta(key_id: str) -> KeyMeta:
    return KeyMeta(address="api_keys.ci-sms", key_id=key_id, name="CI SMS", account="_")


OLD_KEY, NEW_KEY = "A" * 32, "B" * 32
OLD_SECRET, NEW_SECRET = "old-secret-of-the-killed-write", "new-secret-of-the-killed-write"


def _sink_in(folder: Path) -> SecretSinkSpec:
    return SecretSinkSpec(sink="file", path="secrets/{address}.env", base_dir=str(folder))


def _secret_prepare(folder: Path) -> None:
    write_secret_file(_sink_in(folder), Secret(OLD_SECRET), _meta(OLD_KEY))


def _secret_write(folder: Path) -> None:
    owned = [os.path.realpath(folder / "secrets" / _SECRET_FILE)]
    write_secret_file(_sink_in(folder), Secret(NEW_SECRET), _meta(NEW_KEY), owned_files=owned)


def _secret_read(folder: Path) -> Any:
    return (folder / "secrets" / _SECRET_FILE).read_bytes()


def _secret_contents(secret: str, key_id: str) -> Callable[[Path], bytes]:
    return lambda folder: file_contents(_sink_in(folder), Secret(secret), _meta(key_id))


# --- the create journal: a second create begun beside the first


def _entry(address: str) -> PendingCreate:
    return PendingCreate(
        address=address,
        account="_",
        name=address,
        sink="file",
        sent_at=datetime(2026, 12, 1, tzinfo=UTC),
        valid_from_given=False,
    )


def _journal_prepare(folder: Path) -> None:
    CreateJournal(folder / "state.json").begin(_entry("api_keys.first"))


def _journal_write(folder: Path) -> None:
    CreateJournal(folder / "state.json").begin(_entry("api_keys.second"))


def _journal_read(folder: Path) -> Any:
    return [e.address for e in CreateJournal(folder / "state.json").pending()]


# --- the lock's holder file, written once the lock is taken


def _lock_prepare(folder: Path) -> None:
    return None


def _lock_write(folder: Path) -> None:
    StateLock(folder / "state.json").acquire(LockInfo.new("apply"), timeout=0)


def _lock_read(folder: Path) -> Any:
    holder = StateLock(folder / "state.json").holder()  # raises StateError if torn
    return None if holder is None else holder.operation


WRITES = {
    "state": Write(
        "state.json",
        _state_prepare,
        _state_write,
        _state_read,
        old=lambda _: (2, ["api_keys.a"]),
        new=lambda _: (3, ["api_keys.a", "api_keys.b"]),
    ),
    "state backup": Write(
        "state.json.backup",
        _state_prepare,
        _state_write,
        _backup_read,
        old=lambda _: (1, ["api_keys.a"]),
        new=lambda _: (2, ["api_keys.a"]),
    ),
    "plan file": Write(
        "changes.plan",
        _plan_prepare,
        _plan_write,
        _plan_read,
        old=lambda _: targeted_plan(),
        new=lambda _: busy_plan(),
    ),
    "secret file": Write(
        _SECRET_FILE,
        _secret_prepare,
        _secret_write,
        _secret_read,
        old=_secret_contents(OLD_SECRET, OLD_KEY),
        new=_secret_contents(NEW_SECRET, NEW_KEY),
    ),
    "journal": Write(
        "state.json.creating",
        _journal_prepare,
        _journal_write,
        _journal_read,
        old=lambda _: ["api_keys.first"],
        new=lambda _: ["api_keys.first", "api_keys.second"],
    ),
    "lock holder": Write(
        "state.json.lock",
        _lock_prepare,
        _lock_write,
        _lock_read,
        old=lambda _: None,
        new=lambda _: "apply",
    ),
}


def _die_writing(write: Write, folder: Path, step: str) -> None:
    """The child: arm the crash point, then write; returning at all is a failure."""
    os.environ[CRASH_AT_VARIABLE] = f"{step}:{write.target}"
    write.write(folder)
    os._exit(3)  # the crash point did not fire


def _killed_at(write: Write, folder: Path, step: str) -> int | None:
    child = multiprocessing.get_context("fork").Process(
        target=_die_writing, args=(write, folder, step)
    )
    child.start()
    child.join(timeout=60)
    if child.exitcode is None:
        child.kill()
        child.join()
    return child.exitcode


@pytest.mark.parametrize("step", CRASH_STEPS)
@pytest.mark.parametrize("what", list(WRITES))
def test_a_write_killed_inside_a_step_leaves_the_old_or_the_new_content_whole(
    what: str, step: str, tmp_path: Path
) -> None:
    write = WRITES[what]
    write.prepare(tmp_path)

    exit_code = _killed_at(write, tmp_path, step)

    # Proof that the kill landed where it was meant to: a SIGKILL, not a clean end.
    assert exit_code == -signal.SIGKILL, f"the writer was not killed at {step}: {exit_code}"
    expected = write.new(tmp_path) if step in AFTER_RENAME else write.old(tmp_path)
    assert write.read(tmp_path) == expected
    target = next(tmp_path.rglob(write.target), None)
    assert target is None or stat.S_IMODE(target.stat().st_mode) == 0o600
    # A killed writer may leave its temp file (a later write sweeps it once it is old);
    # it is private from its creation on, whatever it holds.
    left = [p for p in tmp_path.rglob("*") if is_temp_file_name(p.name)]
    assert len(left) == (0 if step in AFTER_RENAME else 1)
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in left)
    # The next run writes as usual over whatever the killed one left.
    if what.startswith("state"):
        serial = _state_read(tmp_path)[0]
        write.write(tmp_path)
        assert _state_read(tmp_path)[0] == serial + 1
    elif what != "lock holder":  # a dead run's lock is broken by force-unlock (test_lock.py)
        write.write(tmp_path)
        assert write.read(tmp_path) == write.new(tmp_path)


def test_every_step_of_the_write_is_a_crash_point(tmp_path: Path) -> None:
    """The hook itself: unset, or naming another file, a step, or a later write, nothing
    happens; the n-th write of the named file dies at the named step."""
    write = WRITES["journal"]
    for armed in ("", "synced:state.json", "nowhere:state.json.creating"):
        child = multiprocessing.get_context("fork").Process(
            target=_write_with, args=(write, tmp_path, armed)
        )
        child.start()
        child.join(timeout=60)
        assert child.exitcode == 0, armed
    later = multiprocessing.get_context("fork").Process(
        target=_write_with, args=(write, tmp_path, "synced:state.json.creating:2")
    )
    later.start()
    later.join(timeout=60)
    assert later.exitcode == -signal.SIGKILL  # the second of the two writes below


def _write_with(write: Write, folder: Path, armed: str) -> None:
    os.environ[CRASH_AT_VARIABLE] = armed
    write.write(folder)
    write.write(folder)
    os._exit(0)

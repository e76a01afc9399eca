"""The state lock: exclusive, informative, stale after a crash, broken only with its id.

`test_the_lock_*` is the shared contract any lock backend must pass (Terraform's
statemgr.TestLocker): contention between processes, a killed holder, force-unlock.
"""

from __future__ import annotations

import fcntl
import gc
import json
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest

from infobip_iac.errors import StateError, StateLockedError, StateLockLostError
from infobip_iac.logs import configure_logging
from infobip_iac.state.lock import LockInfo, StateLock, check_still_held, locked

_fork = multiprocessing.get_context("fork")


def test_acquire_records_the_holder_beside_the_state_and_release_removes_it(
    state_path: Path,
) -> None:
    lock = StateLock(state_path)
    info = LockInfo.new("apply")

    lock_id = lock.acquire(info, timeout=0)

    assert lock_id == info.id
    assert lock.info_path == state_path.with_name("state.json.lock")
    assert lock.holder() == info
    written = json.loads(lock.info_path.read_text())
    assert set(written) == {"id", "who", "operation", "created", "pid", "host"}
    assert written["created"].endswith("Z")
    lock.release(lock_id)
    assert lock.holder() is None
    assert not lock.info_path.exists()


def test_lock_info_survives_a_round_trip_through_json() -> None:
    info = LockInfo.new("state mv")

    assert LockInfo.from_json(info.to_json()) == info
    assert info.pid == os.getpid()


def test_a_held_lock_is_refused_at_once_with_the_holder_and_the_unlock_command(
    state_path: Path, hold: Callable[[str], LockInfo]
) -> None:
    holder = hold("apply")
    started = time.monotonic()

    with pytest.raises(StateLockedError) as caught:
        StateLock(state_path).acquire(LockInfo.new("plan"), timeout=0)

    assert time.monotonic() - started < 3  # not waited for (a margin for a loaded machine)
    message = str(caught.value)
    assert holder.who in message
    assert '"apply"' in message
    assert f"pid {holder.pid}" in message
    assert holder.created.isoformat().replace("+00:00", "Z") in message
    assert f"infobip-iac force-unlock {holder.id}" in message
    assert "stale" not in message
    assert caught.value.lock_id == holder.id


def test_acquire_waits_up_to_its_timeout(state_path: Path, hold: Callable[[str], LockInfo]) -> None:
    hold("apply")
    started = time.monotonic()

    with pytest.raises(StateLockedError, match=r"Waited 0\.3s"):
        StateLock(state_path).acquire(LockInfo.new("apply"), timeout=0.3)

    assert 0.25 <= time.monotonic() - started < 4  # waited, then no longer than needed


def test_a_waiting_acquire_gets_the_lock_once_it_is_released(state_path: Path) -> None:
    first = StateLock(state_path)
    first_id = first.acquire(LockInfo.new("apply"), timeout=0)
    releaser = threading.Timer(0.2, first.release, args=(first_id,))
    releaser.start()
    try:
        second = LockInfo.new("apply")
        assert StateLock(state_path).acquire(second, timeout=5) == second.id
    finally:
        releaser.join()
    StateLock(state_path).release(second.id)


def test_a_lock_is_kept_when_the_object_that_took_it_is_dropped(state_path: Path) -> None:
    info = LockInfo.new("apply")
    StateLock(state_path).acquire(info, timeout=0)
    gc.collect()

    with pytest.raises(StateLockedError) as caught:
        StateLock(state_path).acquire(LockInfo.new("plan"), timeout=0)

    assert "stale" not in str(caught.value)
    StateLock(state_path).release(info.id)
    assert StateLock(state_path).holder() is None


def test_release_of_a_lock_this_object_does_not_hold_is_refused(state_path: Path) -> None:
    with pytest.raises(StateError, match="not held by this process"):
        StateLock(state_path).release("no-such-id")


def test_locked_releases_the_lock_when_the_block_fails(state_path: Path) -> None:
    with pytest.raises(RuntimeError), locked(state_path, "apply") as info:
        assert StateLock(state_path).holder() == info
        raise RuntimeError("boom")

    assert StateLock(state_path).holder() is None
    with locked(state_path, "apply", timeout=0):
        pass


def test_force_unlock_needs_the_right_id_and_refuses_a_live_holder(
    state_path: Path, hold: Callable[[str], LockInfo]
) -> None:
    holder = hold("apply")

    with pytest.raises(StateError, match="is not the id of the lock"):
        StateLock(state_path).force_unlock("wrong-id")
    with pytest.raises(StateLockedError, match="held by a running process"):
        StateLock(state_path).force_unlock(holder.id)

    assert StateLock(state_path).holder() == holder


def test_force_unlock_of_an_unlocked_state_is_a_clear_error(state_path: Path) -> None:
    with pytest.raises(StateError, match="is not locked"):
        StateLock(state_path).force_unlock("anything")


def test_an_unreadable_lock_file_names_itself_and_how_to_remove_it(state_path: Path) -> None:
    lock = StateLock(state_path)
    state_path.parent.mkdir(parents=True)
    lock.info_path.write_text("not json")

    with pytest.raises(StateError, match=r"state\.json\.lock is unreadable.*rm "):
        lock.holder()
    with pytest.raises(StateError, match="unreadable"):
        lock.acquire(LockInfo.new("apply"), timeout=0)


# --- the shared contract, across processes ------------------------------------------------


def _contend(state_path: str, marker: str, rounds: int, log: str) -> None:
    lock = StateLock(Path(state_path))
    for _ in range(rounds):
        info = LockInfo.new("apply")
        lock.acquire(info, timeout=30)
        try:
            # O_EXCL fails if another process is inside at the same time.
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            os.close(fd)
            time.sleep(0.01)
            os.unlink(marker)
            with open(log, "a") as handle:
                handle.write(f"{os.getpid()}\n")
        finally:
            lock.release(info.id)


def test_the_lock_admits_exactly_one_of_five_contending_processes_at_a_time(
    state_path: Path, tmp_path: Path
) -> None:
    marker, log, rounds = tmp_path / "inside", tmp_path / "log", 4
    contenders = [
        _fork.Process(target=_contend, args=(str(state_path), str(marker), rounds, str(log)))
        for _ in range(5)
    ]
    for process in contenders:
        process.start()
    for process in contenders:
        process.join(timeout=60)

    assert [p.exitcode for p in contenders] == [0] * 5
    entries = log.read_text().split()
    assert len(entries) == 5 * rounds
    assert len(set(entries)) == 5
    assert StateLock(state_path).holder() is None


def _hold_forever(state_path: str, operation: str, ready: Event) -> None:
    StateLock(Path(state_path)).acquire(LockInfo.new(operation), timeout=5)
    ready.set()
    time.sleep(60)


def _killed_holder(state_path: Path) -> LockInfo:
    ready = _fork.Event()
    holder = _fork.Process(target=_hold_forever, args=(str(state_path), "apply", ready))
    holder.start()
    assert ready.wait(timeout=10)
    info = StateLock(state_path).holder()
    assert info is not None and info.pid == holder.pid
    os.kill(info.pid, signal.SIGKILL)
    holder.join(timeout=10)
    return info


def test_the_lock_of_a_killed_holder_is_taken_over_with_a_warning_naming_it(
    state_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("warning")  # as the CLI does: warnings to stderr
    dead = _killed_holder(state_path)
    started = time.monotonic()
    lock = StateLock(state_path)
    fresh = LockInfo.new("apply")

    assert lock.acquire(fresh, timeout=5) == fresh.id

    assert time.monotonic() - started < 3  # a dead holder is not waited for its 5 s
    assert lock.taken_over == dead
    assert StateLock(state_path).holder() == fresh
    warning = capsys.readouterr().err
    assert f"took over the state lock of {state_path} left by {dead.describe()}" in warning
    assert f"process {dead.pid} on this host is no longer running" in warning
    with pytest.raises(StateLockedError):
        StateLock(state_path).acquire(LockInfo.new("plan"), timeout=0)
    lock.release(fresh.id)
    assert StateLock(state_path).holder() is None


def _elsewhere(lock: StateLock) -> LockInfo:
    """A lock file left by a run on another host, whose flock nobody here holds."""
    lock.state_path.parent.mkdir(parents=True)
    template = LockInfo.new("apply")
    elsewhere = LockInfo(
        id=template.id,
        who="ci@runner-7",
        operation="apply",
        created=template.created,
        pid=4242,
        host="runner-7",
    )
    lock.info_path.write_text(elsewhere.to_json())
    return elsewhere


def test_a_lock_left_on_another_host_is_not_taken_over_but_broken_with_its_id(
    state_path: Path,
) -> None:
    lock = StateLock(state_path)
    elsewhere = _elsewhere(lock)

    with pytest.raises(StateLockedError, match="holder ran on another host") as caught:
        lock.acquire(LockInfo.new("plan"), timeout=0)

    message = str(caught.value)
    assert "ci@runner-7" in message
    assert f"infobip-iac force-unlock {elsewhere.id}" in message
    assert caught.value.lock_id == elsewhere.id
    assert lock.holder() == elsewhere
    with pytest.raises(StateError, match="is not the id"):
        lock.force_unlock("0" * 36)
    assert lock.holder() == elsewhere

    lock.force_unlock(elsewhere.id)

    assert lock.holder() is None
    with locked(state_path, "apply", timeout=0) as fresh:
        assert lock.holder() == fresh


def test_a_lock_whose_process_still_runs_here_is_not_taken_over(state_path: Path) -> None:
    """Only the flock was deleted: the holder still runs (here: this very process) though
    no flock is held; that is no proof of death."""
    lock = StateLock(state_path)
    state_path.parent.mkdir(parents=True)
    alive = LockInfo.new("apply")  # this process, which is running
    lock.info_path.write_text(alive.to_json())

    with pytest.raises(StateLockedError, match=f"Its process {os.getpid()} still runs"):
        lock.acquire(LockInfo.new("plan"), timeout=0)
    assert lock.holder() == alive


@pytest.mark.parametrize(
    "tamper",
    ["rm both", "rm flock", "rm info", "replace info"],
)
def test_a_lock_whose_files_were_removed_or_replaced_is_known_lost(
    state_path: Path, tamper: str
) -> None:
    lock = StateLock(state_path)
    info = LockInfo.new("apply")
    lock.acquire(info, timeout=0)
    flock_path = state_path.with_name("state.json.flock")
    check_still_held(state_path)  # intact: nothing raised

    if tamper in ("rm both", "rm flock"):
        flock_path.unlink()
    if tamper in ("rm both", "rm info"):
        lock.info_path.unlink()
    if tamper == "replace info":
        # Same content, another file: what `force-unlock` and a new holder leave behind.
        os.rename(lock.info_path, lock.info_path.with_suffix(".old"))
        lock.info_path.write_text(info.to_json())

    with pytest.raises(StateLockLostError, match="is no longer held") as caught:
        check_still_held(state_path)
    assert "stopped before writing anything more" in str(caught.value)
    assert "was removed" in str(caught.value) or "was replaced" in str(caught.value)
    # A second run gets in when both files are gone: the first must stop, as it does.
    if tamper == "rm both":
        with locked(state_path, "apply", timeout=0) as second:
            assert lock.holder() == second
            lock.release(info.id)  # the first run's release leaves the second's lock alone
            assert lock.holder() == second
    else:
        lock.release(info.id)


def test_check_still_held_ignores_states_this_process_does_not_lock(state_path: Path) -> None:
    check_still_held(state_path)  # no lock held: nothing to compare, nothing raised


def test_release_through_the_lock_of_another_state_is_refused(
    state_path: Path, tmp_path: Path, hold: Callable[[str], LockInfo]
) -> None:
    info = hold("apply")

    with pytest.raises(StateError, match="not held by this process"):
        StateLock(tmp_path / "other" / "state.json").release(info.id)

    assert StateLock(state_path).holder() == info


def test_a_contender_waits_a_moment_for_the_holders_details(tmp_path: Path) -> None:
    """Between taking the flock and writing its details the holder is anonymous; a
    contender arriving then (five applies started together) still names the holder."""
    from infobip_iac.state.files import write_atomically

    state = tmp_path / "state.json"
    lock = StateLock(state)
    holder = LockInfo.new("apply")
    state.parent.mkdir(parents=True, exist_ok=True)
    flock_fd = os.open(state.with_name("state.json.flock"), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(flock_fd, fcntl.LOCK_EX)
    late_details = threading.Timer(
        0.3, lambda: write_atomically(lock.info_path, holder.to_json().encode())
    )
    late_details.start()
    try:
        with pytest.raises(StateLockedError) as caught:
            StateLock(state).acquire(LockInfo.new("plan"), timeout=0)
    finally:
        late_details.join()
        os.close(flock_fd)
    assert holder.id in str(caught.value)
    assert 'for "apply"' in str(caught.value)

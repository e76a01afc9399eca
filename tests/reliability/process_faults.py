"""Process faults of the fault campaign: an apply killed with SIGKILL mid-apply, and the
state lock's files deleted while an apply holds them with a second apply started then.

Drawn from a random generator of their own per seed (`process_fault`), so that adding them
left every seed's configuration and emulator faults as they were. The run's first apply of
the changed configuration then runs in a child process (`python -m infobip_iac`: only a
process can be killed, and only another process can hold the lock), before the usual
applies, which must converge from whatever it left:

- `kill-9`: SIGKILL once the emulator has seen 1-4 more requests (a write in flight, a
  state save half done): the next apply takes the dead holder's lock over, recovers its
  journaled create and carries on.
- `lock-deletion`: once the child holds the lock, `rm state.json.flock state.json.lock`,
  then a second apply in this process: the second gets the lock; the child must stop before
  its next write, so no key is created twice and no secret lost.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from infobip_iac.emulator import EmulatorServer
from infobip_iac.errors import StateError
from infobip_iac.state.lock import StateLock

__all__ = ["PROCESS_FAULTS", "ChildOutcome", "process_fault", "run_with_process_fault"]

PROCESS_FAULTS = ("kill-9", "lock-deletion")
# The share of runs with a process fault: each costs a child process (about a second).
_SHARE = 0.2
_WAIT_SECONDS = 30.0
_POLL_SECONDS = 0.005


def process_fault(seed: int) -> str | None:
    """The process fault of run `seed`, or None (most runs)."""
    rng = random.Random(f"process-fault-{seed}")
    if rng.random() >= _SHARE:
        return None
    return rng.choice(PROCESS_FAULTS)


@dataclass(frozen=True)
class ChildOutcome:
    """What one apply of the fault said; `fired` when the fault happened (the child did
    not finish first)."""

    label: str
    code: int
    out: str
    err: str
    fired: bool


# The second apply of a `lock-deletion`, run in the campaign's own process.
RunSecond = Callable[[], ChildOutcome]


def _requests(emulator: EmulatorServer) -> int:
    return sum(emulator.control.stats()["requests"].values())


def _start(apply_args: tuple[str, ...]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "infobip_iac", *apply_args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(child: subprocess.Popen[str], label: str, *, fired: bool) -> ChildOutcome:
    out, err = child.communicate(timeout=120)
    # A SIGKILL the fault sent is no crash of the tool: said as exit 137, as a shell would.
    code = 137 if child.returncode == -signal.SIGKILL else child.returncode
    return ChildOutcome(label, code, out, err, fired)


def _kill_mid_apply(
    emulator: EmulatorServer, apply_args: tuple[str, ...], rng: random.Random
) -> list[ChildOutcome]:
    after = rng.randint(1, 4)
    before = _requests(emulator)
    child = _start(apply_args)
    deadline = time.monotonic() + _WAIT_SECONDS
    while child.poll() is None and time.monotonic() < deadline:
        if _requests(emulator) - before >= after:
            child.kill()
            return [_finish(child, "apply killed with SIGKILL", fired=True)]
        time.sleep(_POLL_SECONDS)
    if child.poll() is None:
        child.kill()
    return [_finish(child, "apply to be killed (finished first)", fired=False)]


def _delete_lock_files(
    state_path: Path, apply_args: tuple[str, ...], run_second: RunSecond
) -> list[ChildOutcome]:
    lock = StateLock(state_path)
    child = _start(apply_args)
    deadline = time.monotonic() + _WAIT_SECONDS
    while child.poll() is None and time.monotonic() < deadline:
        try:
            holder = lock.holder()
        except StateError:  # caught half written: look again
            holder = None
        if holder is not None and holder.pid == child.pid:
            for name in (".flock", ".lock"):
                state_path.with_name(state_path.name + name).unlink(missing_ok=True)
            second = run_second()
            first = _finish(child, "apply whose lock files were deleted", fired=True)
            return [first, second]
        time.sleep(_POLL_SECONDS)
    if child.poll() is None:
        child.kill()
    return [_finish(child, "apply whose lock files were to go (finished first)", fired=False)]


def run_with_process_fault(
    fault: str,
    seed: int,
    emulator: EmulatorServer,
    state_path: Path,
    apply_args: tuple[str, ...],
    run_second: RunSecond,
) -> list[ChildOutcome]:
    """Run the first apply of the changed configuration under `fault` (see the module
    docstring); the outcomes of every apply it ran, for the run's checks."""
    if fault == "kill-9":
        return _kill_mid_apply(emulator, apply_args, random.Random(f"kill-{seed}"))
    if fault == "lock-deletion":
        return _delete_lock_files(state_path, apply_args, run_second)
    raise ValueError(f"unknown process fault {fault!r}")

"""Crash safety: `infobip-iac apply` in a child process, killed with SIGKILL inside each
step of each kind of atomic write it makes (the lock holder, the create journal, the state
and its backup, a secret file), one kill a round over a changing configuration. The kill
lands where it must on every run: the child kills itself at the named step of the n-th
write of the named file (the test-only crash point of `state.files.write_atomically`).
After every kill the state is readable, a lock left behind is taken over by the next apply
with a warning naming the dead holder (no `force-unlock`), and that apply converges with no
key twice and every new key's secret in its sink or reported as lost."""

from __future__ import annotations

import random
import signal
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from children import child_environment
from e2e.workspace import Outcome, Workspace
from leakguard import LeakWatch

from infobip_iac.emulator import EmulatorServer
from infobip_iac.errors import StateError
from infobip_iac.infobip.client import InfobipClient
from infobip_iac.state.files import CRASH_AT_VARIABLE, CRASH_STEPS
from infobip_iac.state.store import StateStore
from reliability.campaign import read_emulator, run_command

STABLE = ("s0", "s1", "s2", "s3")
SCOPES = ("sms:message:send", "sms:logs:read", "2fa:pin:send", "email:message:send")
# The files an apply writes atomically, as the crash point names them ({n}: the round, whose
# new key's secret file it is), and which of their writes in one apply to die in: every
# round's apply writes each of them at least that often. The state is written in full once,
# at the end (each step before is appended to its change log), so a kill there leaves every
# step of the apply in the change log only; the backup is written from the second round on.
WRITES = (
    ("state.json.lock", 1),
    ("state.json.creating", 1),
    ("state.json", 1),
    ("state.json.backup", 1),
    ("api_keys.n{n}.env", 1),
    ("state.json", 1),
)
# One test for each step (so that they spread over the suite's workers), in which an
# apply dies inside that step of each write in turn.
KILLS = len(WRITES)


def _manifest(rng: random.Random, round_number: int) -> str:
    """Four stable keys with scopes that change, a new key each round and the one of three
    rounds ago removed: every round creates, updates and revokes. A removed id is never
    declared again (its old secret file would, rightly, not be overwritten)."""
    lines = [
        "version: 1",
        "defaults:",
        "  allowed_ips: [203.0.113.0/24]",
        '  secret: {sink: file, path: "secrets/{address}.env"}',
        "api_keys:",
    ]
    fresh = [f"n{n}" for n in range(max(0, round_number - 2), round_number + 1)]
    for ident in (*STABLE, *fresh):
        scopes = sorted(rng.sample(SCOPES, rng.randint(1, 3)))
        lines += [f"  {ident}:", f"    name: crash {ident}", f"    scopes: [{', '.join(scopes)}]"]
    return "\n".join(lines) + "\n"


@dataclass
class CrashLog:
    """What the kills did, for the assertions at the end and their messages."""

    kills: int = 0
    stale_locks: int = 0  # left by the killed child, taken over by the next apply
    unreadable: list[str] = field(default_factory=list)
    restored_from_backup: int = 0
    duplicates: list[str] = field(default_factory=list)
    unconverged: list[str] = field(default_factory=list)
    unreported_lost: list[str] = field(default_factory=list)
    lock_messages_without_details: list[str] = field(default_factory=list)
    not_killed: list[str] = field(default_factory=list)
    lock_left_but_not_taken_over: list[str] = field(default_factory=list)


def _environment(emulator: EmulatorServer) -> dict[str, str]:
    return child_environment(emulator.base_url)


@dataclass
class Killed:
    pid: int
    returncode: int
    stderr: str


def _kill_inside_a_write(root: Path, rng: random.Random, env: dict[str, str], crash: str) -> Killed:
    """Run an apply in a child process (a rotation of one stable key in a third of the
    rounds) that kills itself at `crash` (`<step>:<file>:<n>`)."""
    rotate = ["--replace", f"api_keys.{rng.choice(STABLE)}"] if rng.random() < 0.33 else []
    with subprocess.Popen(
        [
            sys.executable,
            *("-m", "infobip_iac", "apply", "keys", "--auto-approve", "--allow-revokes"),
            *rotate,
        ],
        cwd=root,
        env={**env, CRASH_AT_VARIABLE: crash},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        _, err = child.communicate(timeout=120)
    return Killed(child.pid, child.returncode, err)


def _read_state(store: StateStore, log: CrashLog) -> None:
    """The state must be readable; were it not, its message must name the backup, which
    is then restored the way the message says, so the loop can go on."""
    try:
        store.read()
    except StateError as error:
        log.unreadable.append(str(error))
        if str(store.backup_path) in str(error):
            store.path.write_bytes(store.backup_path.read_bytes())
            log.restored_from_backup += 1


def _recover(root: Path, dead_pid: int, lock_left: bool, log: CrashLog) -> Outcome:
    """Apply again in-process, as unattended CI would: a lock the killed child left is taken
    over with a warning naming it (no force-unlock). `--timeout 2` bounds how long it gives
    the dead child's last create to land (every call here answers at once)."""
    applied = run_command(
        "apply", str(root / "keys"), "--auto-approve", "--allow-revokes", "--timeout", "2"
    )
    if lock_left and "took over the state lock" not in applied.err:
        log.lock_left_but_not_taken_over.append(f"after kill {log.kills}: {applied.err}")
    if "took over the state lock" in applied.err:
        log.stale_locks += 1
        if f"(pid {dead_pid} on " not in applied.err:
            log.lock_messages_without_details.append(applied.err)
    elif "is locked by" in applied.err:
        log.lock_messages_without_details.append(applied.err)
    return applied


def _check_live(root: Path, emulator: EmulatorServer, store: StateStore, log: CrashLog) -> None:
    live = read_emulator(emulator)
    enabled_names = [key.name for key in live.values() if key.enabled]
    twice = sorted({name for name in enabled_names if enabled_names.count(name) > 1})
    if twice:
        log.duplicates.append(f"after kill {log.kills}: {twice}")
    state = store.read()
    secrets_dir = root / "keys" / "secrets"
    delivered = (
        "".join(p.read_text() for p in secrets_dir.glob("*.env")) if secrets_dir.is_dir() else ""
    )
    for address, entry in state.resources.items():
        key = live.get(entry.id)
        if key is None or not key.enabled:
            continue
        lost = entry.secret is not None and entry.secret.status == "lost"
        if key.secret not in delivered and not lost:
            log.unreported_lost.append(f"after kill {log.kills}: {address} ({entry.id})")


@pytest.mark.slow
@pytest.mark.parametrize("step", CRASH_STEPS)
def test_apply_killed_inside_each_step_of_each_write_leaves_readable_state_and_converges(
    make_emulator: Callable[..., EmulatorServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    leak_guard: LeakWatch,
    step: str,
) -> None:
    emulator = make_emulator(write_limit=0, read_rate=0)
    env = _environment(emulator)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keys").mkdir()
    store = StateStore(tmp_path / ".infobip-iac" / "state.json")
    rng = random.Random(20261125)
    log = CrashLog()

    for round_number, (file_name, nth) in enumerate(WRITES):
        (tmp_path / "keys" / "main.yaml").write_text(_manifest(rng, round_number))
        crash = f"{step}:{file_name.format(n=round_number)}:{nth}"
        killed = _kill_inside_a_write(tmp_path, rng, env, crash)
        log.kills += 1
        if killed.returncode != -signal.SIGKILL:
            log.not_killed.append(f"{crash}: exit {killed.returncode}\n{killed.stderr[-600:]!r}")
        _read_state(store, log)
        # The lock's holder file is in place once its write got past the rename.
        lock_left = not (file_name.endswith(".lock") and step not in ("renamed", "durable"))
        recovered = _recover(tmp_path, killed.pid, lock_left, log)
        replanned = run_command("plan", "keys", "--detailed-exitcode")
        if recovered.code not in (0, 1) or replanned.code != 0:
            log.unconverged.append(
                f"after kill {log.kills} ({crash}): apply exit {recovered.code}, plan exit "
                f"{replanned.code}\n{recovered.err[-600:]}\n{replanned.out[-600:]}"
            )
        _check_live(tmp_path, emulator, store, log)

    print(  # the figures for docs/RELIABILITY.md (shown with `pytest -s`)
        f"crash proof ({step}): {log.kills} SIGKILLs inside writes, {log.stale_locks} dead "
        f"holders' locks taken over, {len(log.unreadable)} unreadable states, "
        f"{len(log.duplicates)} duplicates, {len(log.unconverged)} not converged, "
        f"{len(log.unreported_lost)} unreported lost secrets"
    )
    # Sink files of keys revoked since are in no state any more: the guard cannot tell them
    # from stray copies by itself. Only the sink writes there.
    for written in (tmp_path / "keys" / "secrets").glob("*.env"):
        leak_guard.allow(written)
    # A kill between the sink's write of its temp file and the rename leaves that file (mode
    # 0600, in the sink's folder); sweeps remove such files once they are 15 minutes old.
    for written in (tmp_path / "keys" / "secrets").glob(".*.env.*.tmp"):
        assert stat.S_IMODE(written.stat().st_mode) == 0o600
        leak_guard.allow(written)
    # Every round's kill did land inside the write it named (the proof proved something).
    assert log.not_killed == [], log.not_killed[:3]
    assert log.unreadable == [], log.unreadable
    assert log.duplicates == [], log.duplicates
    assert log.unconverged == [], "\n\n".join(log.unconverged[:3])
    assert log.unreported_lost == [], log.unreported_lost
    assert log.lock_messages_without_details == [], log.lock_messages_without_details[:2]
    assert log.lock_left_but_not_taken_over == [], log.lock_left_but_not_taken_over[:2]


ONE_KEY = """
    version: 1
    api_keys:
      solo:
        scopes: [sms:logs:read]
        allowed_ips: [203.0.113.0/24]
        secret: {sink: file, path: "secrets/{address}.env"}
"""


class _Killed(BaseException):
    """The process dies here (not an Exception: nothing in the tool may catch it)."""


def _die_right_after_the_create(monkeypatch: pytest.MonkeyPatch) -> None:
    """The next create lands on the server, then the process dies before recording it."""
    create = InfobipClient.create_key

    def create_then_die(self: InfobipClient, *args: object, **kwargs: object) -> object:
        create(self, *args, **kwargs)  # type: ignore[arg-type]
        monkeypatch.setattr(InfobipClient, "create_key", create)
        raise _Killed

    monkeypatch.setattr(InfobipClient, "create_key", create_then_die)


def _secret_of(ws: Workspace, name: str) -> str:
    (key,) = [k for k in read_emulator(ws.emulator).values() if k.name == name and k.enabled]
    return key.secret


def test_a_key_created_by_an_apply_that_died_before_recording_it_is_not_kept_secretless(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Protection: the create journal. An apply that dies between Infobip's answer to a
    create and the state write leaves a key nobody holds the secret of; the next apply
    must not adopt it silently: it ends with one enabled key whose secret is in its sink."""
    ws = workspace
    ws.write(ONE_KEY)
    _die_right_after_the_create(monkeypatch)
    with pytest.raises(_Killed):
        ws.apply()

    recovered = ws.apply()

    assert recovered.code == 0, recovered
    secret = _secret_of(ws, "solo")  # exactly one enabled key of the name
    assert secret in (ws.manifests / "secrets" / "api_keys.solo.env").read_text()
    assert "nobody holds its secret" in recovered.err
    ws.assert_converged()


def test_a_replacement_created_by_an_apply_that_died_before_recording_it_is_revoked(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Protection: the create journal. The new half of a replace lands, the apply dies
    before recording it: the next apply finds that key and revokes it, so no second
    enabled key of the name stays behind."""
    ws = workspace
    ws.write(ONE_KEY)
    assert ws.apply().code == 0
    _die_right_after_the_create(monkeypatch)
    with pytest.raises(_Killed):
        ws.apply("--replace", "api_keys.solo")

    recovered = ws.apply()

    assert recovered.code == 0, recovered
    secret = _secret_of(ws, "solo")  # exactly one enabled key of the name
    assert secret in (ws.manifests / "secrets" / "api_keys.solo.env").read_text()
    ws.assert_converged()


def test_an_apply_that_died_after_writing_a_secret_file_can_write_it_again(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Protection: the state claims a sink's file before the secret is written to it. An
    apply that dies between writing the file and recording it leaves a file no state entry
    owns; without the claim, every later replacement is refused that file and loses its
    secret in turn."""
    import infobip_iac.secrets.file_sink as sinks

    ws = workspace
    ws.write(ONE_KEY)
    write = sinks.write_secret_file

    def write_then_die(*args: object, **kwargs: object) -> object:
        write(*args, **kwargs)  # type: ignore[arg-type]
        raise _Killed

    monkeypatch.setattr(sinks, "write_secret_file", write_then_die)
    with pytest.raises(_Killed):
        ws.apply()
    monkeypatch.setattr(sinks, "write_secret_file", write)

    recovered = ws.apply()  # replaces the key: its secret was never recorded as delivered

    assert recovered.code == 0, recovered
    secret = _secret_of(ws, "solo")
    assert secret in (ws.manifests / "secrets" / "api_keys.solo.env").read_text()
    ws.assert_converged()


def test_an_unreadable_state_is_reported_with_the_backup_to_restore(workspace: Workspace) -> None:
    """A state cut short (as a writer without atomic renames would leave it) stops apply
    with exit 1, naming the backup and the command that restores it; after that, apply
    carries on with nothing created twice."""
    ws = workspace
    ws.write(ONE_KEY)
    assert ws.apply().code == 0
    ws.write(ONE_KEY.replace("sms:logs:read", "sms:message:send"))
    assert ws.apply().code == 0  # a second write, so the backup holds the first
    ws.state_path.write_bytes(ws.state_path.read_bytes()[:40])

    refused = ws.apply()

    assert refused.code == 1, refused
    relative = ".infobip-iac/state.json"  # as the default --state names it
    assert "is unreadable" in refused.err, refused
    assert f"cp {relative}.backup {relative}" in refused.err, refused
    assert "Traceback" not in refused.err
    ws.state_path.write_bytes(Path(f"{ws.state_path}.backup").read_bytes())
    assert ws.apply().code == 0
    ws.assert_converged()
    assert len(ws.live()) == 1

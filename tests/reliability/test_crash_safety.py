"""Crash safety: `infobip-iac apply` in a child process, killed with SIGKILL at random
moments while the emulator's delays keep it mid-apply, 50 times over a changing
configuration. After every kill the state is readable, a lock left behind is taken over by
the next apply with a warning naming the dead holder (no `force-unlock`), and that apply
converges with no key twice and every new key's secret in its sink or reported as lost."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from e2e.workspace import Outcome, Workspace
from leakguard import LeakWatch

from infobip_iac.emulator import EmulatorServer
from infobip_iac.errors import StateError
from infobip_iac.infobip.client import InfobipClient
from infobip_iac.state.store import StateStore
from reliability.campaign import read_emulator, run_command

KILLS = 50
STABLE = ("s0", "s1", "s2", "s3")
SCOPES = ("sms:message:send", "sms:logs:read", "2fa:pin:send", "email:message:send")
# Every Infobip operation waits this long, so an apply of a few writes takes long enough
# for a kill to land inside it.
DELAY_MS = 40


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


def _environment(emulator: EmulatorServer) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    return {
        **env,
        "NO_COLOR": "1",
        "INFOBIP_BASE_URL": emulator.base_url,
        "INFOBIP_USERNAME": "admin",
        "INFOBIP_PASSWORD": "admin",
    }


def _requests(emulator: EmulatorServer) -> int:
    return sum(emulator.control.stats()["requests"].values())


def _kill_mid_apply(
    root: Path, emulator: EmulatorServer, rng: random.Random, env: dict[str, str]
) -> int:
    """Start an apply in a child process (a rotation of one stable key in a third of the
    rounds) and SIGKILL it at a random moment after its first request; returns its pid."""
    before = _requests(emulator)
    rotate = ["--replace", f"api_keys.{rng.choice(STABLE)}"] if rng.random() < 0.33 else []
    child = subprocess.Popen(
        [
            sys.executable,
            *("-m", "infobip_iac", "apply", "keys", "--auto-approve", "--allow-revokes"),
            *rotate,
        ],
        cwd=root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while _requests(emulator) == before and child.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError("the apply made no request within 20 s")
            time.sleep(0.005)
        # After its first request an apply of this size takes some 0.3-0.6 s under the
        # delays: most kills land inside it, some as it ends.
        time.sleep(rng.uniform(0.0, 0.45))
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    return child.pid


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


def _recover(root: Path, dead_pid: int, log: CrashLog) -> Outcome:
    """Apply again in-process, as unattended CI would: a lock the killed child left is taken
    over with a warning naming it (no force-unlock). `--timeout 2` bounds how long it gives
    the dead child's last create to land (every call here answers within 40 ms)."""
    applied = run_command(
        "apply", str(root / "keys"), "--auto-approve", "--allow-revokes", "--timeout", "2"
    )
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
def test_apply_killed_at_random_moments_leaves_readable_state_and_converges_without_duplicates(
    make_emulator: Callable[..., EmulatorServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    leak_guard: LeakWatch,
) -> None:
    emulator = make_emulator(write_limit=0, read_rate=0)
    emulator.control.set_faults([{"operation": "*", "kind": "delay", "delay_ms": DELAY_MS}])
    env = _environment(emulator)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keys").mkdir()
    store = StateStore(tmp_path / ".infobip-iac" / "state.json")
    rng = random.Random(20261125)
    log = CrashLog()

    for round_number in range(KILLS):
        (tmp_path / "keys" / "main.yaml").write_text(_manifest(rng, round_number))
        dead_pid = _kill_mid_apply(tmp_path, emulator, rng, env)
        log.kills += 1
        _read_state(store, log)
        recovered = _recover(tmp_path, dead_pid, log)
        replanned = run_command("plan", "keys", "--detailed-exitcode")
        if recovered.code not in (0, 1) or replanned.code != 0:
            log.unconverged.append(
                f"after kill {log.kills}: apply exit {recovered.code}, plan exit "
                f"{replanned.code}\n{recovered.err[-600:]}\n{replanned.out[-600:]}"
            )
        _check_live(tmp_path, emulator, store, log)

    print(  # the figures for docs/RELIABILITY.md (shown with `pytest -s`)
        f"crash proof: {log.kills} SIGKILLs, {log.stale_locks} dead holders' locks taken over, "
        f"{len(log.unreadable)} unreadable states, {len(log.duplicates)} duplicates, "
        f"{len(log.unconverged)} not converged, {len(log.unreported_lost)} unreported lost secrets"
    )
    # Sink files of keys revoked since are in no state any more: the guard cannot tell them
    # from stray copies by itself. Only the sink writes there.
    for written in (tmp_path / "keys" / "secrets").glob("*.env"):
        leak_guard.allow(written)
    # A kill between the sink's write of its temp file and the rename leaves that file (mode
    # 0600, in the sink's folder); sweeps remove such files once they are 15 minutes old.
    for written in (tmp_path / "keys" / "secrets").glob(".*.env.*.tmp"):
        leak_guard.allow(written)
    assert log.unreadable == [], log.unreadable
    assert log.duplicates == [], log.duplicates
    assert log.unconverged == [], "\n\n".join(log.unconverged[:3])
    assert log.unreported_lost == [], log.unreported_lost
    assert log.lock_messages_without_details == [], log.lock_messages_without_details[:2]
    assert log.stale_locks >= KILLS // 2  # most kills did land while the lock was held


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
    import infobip_iac.secrets.sinks as sinks

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

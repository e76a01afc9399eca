"""Several applies at once on one state, and an apply told to stop (SIGTERM, as CI cancels a
job): one holder of the lock at a time, the others wait or say who holds it, a stopped
apply releases its lock with its state saved, and no key is ever created twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from leakguard import LeakWatch

from infobip_iac.emulator import EmulatorServer
from infobip_iac.state.lock import StateLock
from infobip_iac.state.store import StateStore
from reliability.campaign import read_emulator, run_command

CONTENDERS = 5
DELAY_MS = 40
KEYS = """\
version: 1
defaults:
  allowed_ips: [203.0.113.0/24]
  secret: {sink: file, path: "secrets/{address}.env"}
api_keys:
"""


def _manifest(idents: list[str], scope: str = "sms:logs:read") -> str:
    return KEYS + "".join(f"  {ident}:\n    scopes: [{scope}]\n" for ident in idents)


def _environment(emulator: EmulatorServer) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH")
    return {
        **{name: os.environ[name] for name in keep if name in os.environ},
        "NO_COLOR": "1",
        "INFOBIP_BASE_URL": emulator.base_url,
        "INFOBIP_USERNAME": "admin",
        "INFOBIP_PASSWORD": "admin",
    }


def _start_apply(root: Path, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "infobip_iac", "apply", "keys", "--auto-approve", *extra],
        cwd=root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _enabled_names(emulator: EmulatorServer) -> list[str]:
    return sorted(key.name for key in read_emulator(emulator).values() if key.enabled)


@pytest.fixture
def project(
    make_emulator: Callable[..., EmulatorServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[EmulatorServer, dict[str, str]]:
    """A project folder and an emulator whose every operation takes DELAY_MS, so that an
    apply holds the lock long enough for the others to meet it."""
    emulator = make_emulator(write_limit=0, read_rate=0)
    emulator.control.set_faults([{"operation": "*", "kind": "delay", "delay_ms": DELAY_MS}])
    env = _environment(emulator)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keys").mkdir()
    return emulator, env


@pytest.mark.slow
@pytest.mark.parametrize("lock_timeout", ["0", "60"])
def test_five_applies_at_once_hold_the_lock_one_at_a_time_and_create_each_key_once(
    project: tuple[EmulatorServer, dict[str, str]], tmp_path: Path, lock_timeout: str
) -> None:
    """Without waiting (0 s), an apply that meets the lock stops at once naming the holder;
    with a long --lock-timeout each waits its turn and finds nothing left to do."""
    emulator, env = project
    idents = [f"k{i}" for i in range(6)]
    (tmp_path / "keys" / "main.yaml").write_text(_manifest(idents))
    # The first apply to read holds the lock for 3 s or more: long enough for the others
    # to start (a loaded machine may take a second or two per start) and meet it.
    emulator.control.set_faults(
        [
            {
                "operation": "GET /settings/2/api-keys",
                "kind": "delay",
                "delay_ms": 3000,
                "times": 1,
            },
            {"operation": "*", "kind": "delay", "delay_ms": DELAY_MS},
        ]
    )

    applies = [
        _start_apply(tmp_path, env, "--lock-timeout", lock_timeout) for _ in range(CONTENDERS)
    ]
    results = [(p.wait(timeout=120), *p.communicate(timeout=10)) for p in applies]

    codes = [code for code, _, _ in results]
    print(f"concurrency (--lock-timeout {lock_timeout}): exits {sorted(codes)}")  # pytest -s
    assert all("Traceback" not in err for _, _, err in results)
    creators = [out for _, out, _ in results if "6 created" in out]
    assert len(creators) == 1, results  # the keys were created by one apply, once
    refused = [err for code, _, err in results if code == 1]
    if lock_timeout == "0":
        assert refused, codes  # some met the holder and stopped rather than wait
        for err in refused:
            assert "is locked by" in err and 'for "apply"' in err and "(pid " in err, err
            assert "--lock-timeout" in err, err
    else:
        assert codes == [0] * CONTENDERS, results
    assert _enabled_names(emulator) == [f"k{i}" for i in range(6)]
    assert StateLock(tmp_path / ".infobip-iac" / "state.json").holder() is None
    assert run_command("plan", "keys", "--detailed-exitcode").code == 0


@pytest.mark.slow
def test_sigterm_stops_an_apply_between_writes_with_state_saved_and_lock_released(
    project: tuple[EmulatorServer, dict[str, str]], tmp_path: Path, leak_guard: LeakWatch
) -> None:
    """Protection: SIGTERM raises inside the tool rather than ending it, and waits for a
    write in progress. Without it the killed apply leaves its lock behind (the next apply
    is refused) and may leave a key Infobip created unrecorded."""
    emulator, env = project
    rng = random.Random(143)
    store = StateStore(tmp_path / ".infobip-iac" / "state.json")
    for round_number in range(8):
        idents = [f"r{round_number}k{i}" for i in range(5)]
        (tmp_path / "keys" / "main.yaml").write_text(_manifest(idents))
        before = sum(emulator.control.stats()["requests"].values())
        child = _start_apply(tmp_path, env)
        deadline = time.monotonic() + 20
        while sum(emulator.control.stats()["requests"].values()) == before:
            assert child.poll() is None and time.monotonic() < deadline, child.communicate()
            time.sleep(0.005)
        time.sleep(rng.uniform(0.0, 0.3))
        child.send_signal(signal.SIGTERM)
        code = child.wait(timeout=60)
        out, err = child.communicate(timeout=10)

        assert "Traceback" not in err
        if code != 0:  # it could finish before the signal
            assert code == 128 + signal.SIGTERM, (code, out, err)
            assert "Stopped by SIGTERM" in err and "lock is released" in err, err
        assert StateLock(store.path).holder() is None, err
        store.read()  # readable
        carried_on = run_command("apply", "keys", "--auto-approve", "--lock-timeout", "0")
        assert carried_on.code == 0, carried_on
        assert "nobody holds its secret" not in carried_on.err  # no create was torn
        assert _enabled_names(emulator) == sorted(idents), round_number
    # Files of keys revoked in later rounds are in no state any more; the sink wrote them.
    for written in (tmp_path / "keys" / "secrets").glob("*.env"):
        leak_guard.allow(written)

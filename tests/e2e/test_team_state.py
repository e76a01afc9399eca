"""Team use: several runners (separate working folders, separate processes) share one state
in PostgreSQL and one Infobip (the emulator). Against a real server (INFOBIP_IAC_TEST_PG).

Timing is made deterministic by the emulator: a delay on creates holds an apply in the
middle of one, and the tests wait for what they can observe (a request arrived at the
emulator, a row in a table) before they kill or terminate anything.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from children import child_environment
from leakguard import LeakWatch
from pgstate import PgState, with_password
from reliability.campaign import read_emulator

from infobip_iac.emulator import EmulatorServer

pytestmark = pytest.mark.slow

CREATE = "POST /settings/2/api-keys"
NAMES = ("team alpha", "team beta", "team gamma", "team delta")
MANIFEST = "version: 1\napi_keys:\n" + "".join(
    f"  {name.split()[1]}:\n"
    f"    name: {name}\n"
    "    scopes: [sms:logs:read]\n"
    "    allowed_ips: [203.0.113.0/24]\n"
    '    secret: {sink: file, path: "secrets/{address}.env"}\n'
    for name in NAMES
)
ADDRESSES = {f"api_keys.{name.split()[1]}" for name in NAMES}


def _runner(root: Path, guard: LeakWatch, manifest: str = MANIFEST) -> Path:
    """A working folder as a fresh CI runner has it: the manifests, nothing else. The
    leak guard learns where its file sinks write (it finds them in a state file, and
    this state is in the database)."""
    for address in ADDRESSES:
        guard.allow((root / "keys" / "secrets" / f"{address}.env").resolve())
    (root / "keys").mkdir(parents=True)
    (root / "keys" / "main.yaml").write_text(manifest, encoding="utf-8")
    return root


def _environment(emulator: EmulatorServer, state: str) -> dict[str, str]:
    return child_environment(emulator.base_url, INFOBIP_IAC_STATE=state)


def _start(root: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "infobip_iac", *args],
        cwd=root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _apply(root: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return _start(root, env, "apply", "keys", "--auto-approve", "--lock-timeout", "120")


def _finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=240)
    return process.returncode, out, err


def _run(root: Path, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    return _finish(_start(root, env, *args))


def _wait_for(condition: Callable[[], bool], what: str, *, seconds: float = 60) -> None:
    """Poll an observable event (not a guess at how long something takes)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds:g}s for {what}")
        time.sleep(0.01)


def _creates_received(emulator: EmulatorServer) -> int:
    return int(emulator.control.stats()["requests"].get(CREATE, 0))


def _enabled_names(emulator: EmulatorServer) -> list[str]:
    emulator.control.set_faults([])
    return sorted(key.name for key in read_emulator(emulator).values() if key.enabled)


def _hold_creates(emulator: EmulatorServer, milliseconds: int) -> None:
    emulator.control.set_faults([{"operation": CREATE, "kind": "delay", "delay_ms": milliseconds}])


def _assert_converged(
    root: Path, env: dict[str, str], emulator: EmulatorServer, guard: LeakWatch
) -> None:
    assert _enabled_names(emulator) == sorted(NAMES)  # every key, each exactly once
    code, out, err = _run(_runner(root, guard), env, "plan", "keys", "--detailed-exitcode")
    assert code == 0 and "No changes." in out, (out, err)


def test_five_runners_applying_at_once_make_every_key_exactly_once(
    tmp_path: Path, emulator: EmulatorServer, pg_state: PgState, leak_guard: LeakWatch
) -> None:
    env = _environment(emulator, pg_state.url)
    # Each create takes a while, so the five runs overlap for certain.
    _hold_creates(emulator, 100)
    runs = [_apply(_runner(tmp_path / f"runner{n}", leak_guard), env) for n in range(5)]
    results = [_finish(run) for run in runs]
    assert [code for code, _, _ in results] == [0] * 5, results
    created = [out for _, out, _ in results if "4 created" in out]
    assert len(created) == 1, results
    assert _creates_received(emulator) == len(NAMES)
    _assert_converged(tmp_path / "sixth", env, emulator, leak_guard)
    (current,) = pg_state.query(
        f'SELECT serial FROM "{pg_state.schema}".states WHERE name = %s', pg_state.name
    )
    history = pg_state.query(
        f'SELECT count(*) FROM "{pg_state.schema}".versions WHERE name = %s', pg_state.name
    )
    # One version per apply that changed something: the one that created the keys.
    assert history[0][0] == 1 and current[0] >= 1


def _stop_in_second_create(
    tmp_path: Path, emulator: EmulatorServer, env: dict[str, str], guard: LeakWatch
) -> subprocess.Popen[str]:
    """An apply of four keys, held in its second create (the first one recorded)."""
    _hold_creates(emulator, 2000)
    holder = _apply(_runner(tmp_path / "holder", guard), env)
    _wait_for(lambda: _creates_received(emulator) == 2, "the second create to arrive")
    return holder


def test_a_lock_holder_killed_mid_apply_leaves_the_next_runner_to_recover_without_force_unlock(
    tmp_path: Path, emulator: EmulatorServer, pg_state: PgState, leak_guard: LeakWatch
) -> None:
    env = _environment(emulator, pg_state.url)
    holder = _stop_in_second_create(tmp_path, emulator, env, leak_guard)
    holder.send_signal(signal.SIGKILL)
    holder.communicate(timeout=60)
    # The killed create still lands at Infobip after its delay, with nobody to record it.
    _wait_for(lambda: len(emulator.control.secrets()) == 2, "the killed create to land")
    journal = pg_state.query(
        f'SELECT body FROM "{pg_state.schema}".journals WHERE name = %s', pg_state.name
    )
    assert "team beta" in journal[0][0]

    code, out, err = _run(
        _runner(tmp_path / "next", leak_guard), env, "apply", "keys", "--auto-approve"
    )

    assert code == 0, (out, err)
    assert "force-unlock" not in out + err
    assert "interrupted before recording it" in err  # the journal was recovered
    assert "3 created" in out and "1 revoked" in out, out
    live = read_emulator(emulator)
    assert sorted(k.name for k in live.values()) == sorted([*NAMES, "team beta"])
    _assert_converged(tmp_path / "check", env, emulator, leak_guard)
    assert pg_state.query(f'SELECT * FROM "{pg_state.schema}".journals') == []


def test_a_holder_whose_session_is_terminated_stops_before_its_next_write_and_says_why(
    tmp_path: Path, emulator: EmulatorServer, pg_state: PgState, leak_guard: LeakWatch
) -> None:
    env = _environment(emulator, pg_state.url)
    holder = _stop_in_second_create(tmp_path, emulator, env, leak_guard)
    ((session,),) = pg_state.query(
        f'SELECT backend_pid FROM "{pg_state.schema}".locks WHERE name = %s', pg_state.name
    )
    pg_state.query("SELECT pg_terminate_backend(%s)", session)

    code, out, err = _finish(holder)

    assert code == 1, (out, err)
    assert "was lost" in err and f"backend pid {session}" in err, err
    assert "Traceback" not in err
    # The second create was answered, but nothing was sent after it.
    assert _creates_received(emulator) == 2
    code, out, err = _run(
        _runner(tmp_path / "next", leak_guard), env, "apply", "keys", "--auto-approve"
    )
    assert code == 0, (out, err)
    assert "interrupted before recording it" in err
    _assert_converged(tmp_path / "check", env, emulator, leak_guard)


def test_state_mv_during_an_apply_waits_for_it_and_loses_none_of_its_updates(
    tmp_path: Path, emulator: EmulatorServer, pg_state: PgState, leak_guard: LeakWatch
) -> None:
    env = _environment(emulator, pg_state.url)
    first_two = MANIFEST.split("  gamma:")[0]
    seed = _runner(tmp_path / "seed", leak_guard, first_two)
    code, out, err = _run(seed, env, "apply", "keys", "--auto-approve")
    assert code == 0 and "2 created" in out, (out, err)
    _hold_creates(emulator, 500)
    apply = _apply(_runner(tmp_path / "runner", leak_guard), env)
    _wait_for(lambda: _creates_received(emulator) == 3, "the apply's first create")
    mover = _start(
        tmp_path, env, "state", "mv", "api_keys.alpha", "api_keys.first", "--lock-timeout", "120"
    )
    apply_code, apply_out, apply_err = _finish(apply)
    mv_code, mv_out, mv_err = _finish(mover)

    assert apply_code == 0 and "2 created" in apply_out, (apply_out, apply_err)
    assert mv_code == 0 and "Moved api_keys.alpha to api_keys.first." in mv_out, mv_err
    code, out, _ = _run(tmp_path, env, "state", "list")
    assert code == 0
    assert set(out.split()) == (ADDRESSES - {"api_keys.alpha"}) | {"api_keys.first"}


def test_no_secret_and_no_password_in_any_table_or_any_output(
    tmp_path: Path, emulator: EmulatorServer, pg_state: PgState, leak_guard: LeakWatch
) -> None:
    password = "db-pass-must-stay-hidden-5c2e"
    url = PgState(with_password(pg_state.admin, password), pg_state.schema, pg_state.name).url
    env = _environment(emulator, url)
    root = _runner(tmp_path / "runner", leak_guard)
    outputs = [
        _run(root, env, "apply", "keys", "--auto-approve"),
        _run(root, env, "plan", "keys"),
        _run(root, env, "state", "list"),
        _run(root, env, "state", "show", "api_keys.alpha"),
        _run(root, env, "state", "history"),
        _run(root, env, "state", "pull"),
        _run(root, env, "state", "pull", "--serial", "1"),
        _run(root, env, "force-unlock", "0b6fb8fe-0000-4000-8000-000000000000"),
        _run(root, env, "state", "rm", "api_keys.nothing"),
        _run(root, env, "plan", "keys", "--log-level", "debug"),
    ]
    assert outputs[0][0] == 0, outputs[0]
    secrets = [key.secret for key in read_emulator(emulator).values()]
    assert len(secrets) == len(NAMES) and all(secrets)
    history = outputs[4][1]
    assert "apply: 4 resources (+4 -0 ~0)" in history, history
    tables = pg_state.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
        pg_state.schema,
    )
    dumped = [
        text
        for (table,) in tables
        for (text,) in pg_state.query(
            f'SELECT row_to_json(t)::text FROM "{pg_state.schema}"."{table}" t'
        )
    ]
    assert any("team alpha" in text for text in dumped)  # the dump holds the state
    printed = [text for _, out, err in outputs for text in (out, err)]
    for secret in (*secrets, password):
        assert not any(secret in text for text in dumped), "a table holds it"
        assert not any(secret in text for text in printed), "an output holds it"

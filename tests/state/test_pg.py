"""What only the PostgreSQL backend has: its URL, its tables, its advisory lock's key and
life, and a password that never shows. Against a real server (INFOBIP_IAC_TEST_PG)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import pytest
from pgstate import PgState, with_password

from infobip_iac.errors import StateError, UsageError
from infobip_iac.state.backend import locked, open_backend
from infobip_iac.state.lock import LockInfo
from infobip_iac.state.pg import PostgresBackend, PostgresLocation
from state.conftest import make_resource


def test_name_and_schema_are_the_tools_own_and_the_rest_goes_to_libpq() -> None:
    where = PostgresLocation(
        "postgresql://ci:s3cr3t-pw@db.example:6432/infra?sslmode=require&name=payments&schema=team_a"
    )
    assert (where.name, where.schema) == ("payments", "team_a")
    assert where.dsn == "postgresql://ci:s3cr3t-pw@db.example:6432/infra?sslmode=require"
    assert where.shown == "postgresql://ci@db.example:6432/infra?name=payments&schema=team_a"
    defaults = PostgresLocation("postgresql://ci@db.example/infra")
    assert (defaults.name, defaults.schema) == ("default", "infobip_iac")


def test_a_schema_that_is_no_plain_identifier_is_refused_before_connecting() -> None:
    with pytest.raises(UsageError, match="schema='x; drop'"):
        PostgresLocation("postgresql://ci@db.example/infra?schema=x; drop")


def test_the_lock_key_depends_on_schema_and_name() -> None:
    base = "postgresql://ci@db.example/infra"
    keys = {
        PostgresLocation(f"{base}?name={name}&schema={schema}").lock_key
        for name in ("a", "b")
        for schema in ("s1", "s2")
    }
    assert len(keys) == 4


def test_states_of_other_names_and_schemas_lock_independently(pg_state: PgState) -> None:
    other_schema = PgState(pg_state.admin, pg_state.schema + "_b", pg_state.name)
    try:
        with (
            open_backend(pg_state.url) as one,
            open_backend(pg_state.url_for("other")) as other_name,
            open_backend(other_schema.url) as same_name_elsewhere,
            locked(one, "apply") as first,
            locked(other_name, "apply") as second,
            locked(same_name_elsewhere, "apply") as third,
        ):
            assert [b.lock.holder() for b in (one, other_name, same_name_elsewhere)] == [
                first,
                second,
                third,
            ]
    finally:
        other_schema.query(f'DROP SCHEMA IF EXISTS "{other_schema.schema}" CASCADE')


def test_two_runners_starting_at_once_on_an_empty_database_both_work(pg_state: PgState) -> None:
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def runner() -> None:
        try:
            start.wait(10)
            with open_backend(pg_state.url) as backend:
                backend.store.read()
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=runner) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    tables = pg_state.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
        pg_state.schema,
    )
    assert {t for (t,) in tables} == {"states", "versions", "changes", "locks", "journals"}


_HOLD_LOCK = """
import sys, time
from infobip_iac.state.backend import open_backend
from infobip_iac.state.lock import LockInfo
with open_backend(sys.argv[1]) as backend:
    backend.lock.acquire(LockInfo.new("apply"), timeout=0)
    print("locked", flush=True)
    time.sleep(120)
"""


def test_a_holder_killed_with_sigkill_loses_the_lock_with_its_connection(
    pg_state: PgState,
) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, pg_state.url],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with open_backend(pg_state.url) as backend:
            seen = backend.lock.holder()
            assert seen is not None and seen.pid == holder.pid
            holder.send_signal(signal.SIGKILL)
            holder.wait(30)
            # The server notices the dropped connection at once on loopback; the wait only
            # bounds a slow machine. No force-unlock is needed.
            with locked(backend, "apply", timeout=30) as info:
                assert backend.lock.holder() == info
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait(30)


def test_a_write_after_the_lock_session_was_terminated_is_refused_and_says_why(
    pg_state: PgState,
) -> None:
    with open_backend(pg_state.url) as backend:
        assert isinstance(backend, PostgresBackend)
        info = LockInfo.new("apply")
        backend.lock.acquire(info, timeout=0)
        doc = backend.store.write(backend.store.read())
        pid = backend.lock.backend_pid
        pg_state.query("SELECT pg_terminate_backend(%s)", pid)
        # The server ends the session asynchronously: wait until it has gone.
        deadline = time.monotonic() + 30
        while pg_state.query("SELECT 1 FROM pg_stat_activity WHERE pid = %s", pid):
            assert time.monotonic() < deadline, "the terminated session did not end"
            time.sleep(0.01)
        doc.resources["api_keys.a"] = make_resource("a")
        with pytest.raises(StateError, match=rf"lock on the state .* was lost.*pid {pid}"):
            backend.store.record(doc, ["api_keys.a"])
        with pytest.raises(StateError, match="was lost"):
            backend.store.write(doc)
        with pytest.raises(StateError, match="was lost"):
            backend.store.journal.clear()
        # Another run takes the lock at once and finds nothing of the refused writes.
        with open_backend(pg_state.url) as other, locked(other, "apply", timeout=10):
            assert other.store.read().resources == {}


def test_a_password_never_shows_in_messages_history_or_tables(pg_state: PgState) -> None:
    password = "pw-that-must-not-leak-8d1f"
    url = PgState(with_password(pg_state.admin, password), pg_state.schema, pg_state.name).url
    # Trust authentication ignores the password, so the backend works with it in the URL.
    with open_backend(url) as backend, locked(backend, "apply"):
        assert password not in backend.store.where
        backend.store.write(backend.store.read())
        history = backend.store.history()
    assert all(password not in f"{v.who} {v.summary}" for v in history)
    rows = pg_state.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
        pg_state.schema,
    )
    for (table,) in rows:
        dump = pg_state.query(f'SELECT row_to_json(t)::text FROM "{pg_state.schema}"."{table}" t')
        assert all(password not in text for (text,) in dump), table
    # A connection that fails does not repeat the URL's password either.
    unreachable = url.replace(":5432/", ":1/") if ":5432/" in url else url + "&port=1"
    with pytest.raises(StateError) as failed, open_backend(unreachable) as backend:
        backend.store.read()
    assert password not in str(failed.value)
    assert "cannot connect to the state postgresql://" in str(failed.value)


def test_a_lock_held_elsewhere_is_reported_with_its_holder(pg_state: PgState) -> None:
    with (
        open_backend(pg_state.url) as first,
        open_backend(pg_state.url) as second,
        locked(first, "apply") as info,
    ):
        started = time.monotonic()
        with pytest.raises(StateError) as refused:
            second.lock.acquire(LockInfo.new("plan"), timeout=0.5)
        assert time.monotonic() - started >= 0.4  # it waited, then gave up
        assert info.id in getattr(refused.value, "lock_id", "")
        assert "Waited 0.5s" in str(refused.value)

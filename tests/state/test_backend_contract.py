"""The contract every state backend keeps, run against each: the local file and PostgreSQL.

The PostgreSQL runs need a server (INFOBIP_IAC_TEST_PG, set by CI); without one they skip.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime

import pytest

from infobip_iac.errors import StateError, StateLockedError
from infobip_iac.state.backend import Backend, locked, open_backend
from infobip_iac.state.journal import PendingCreate
from infobip_iac.state.lock import LockInfo
from infobip_iac.state.model import StateDocument
from state.conftest import make_resource


@pytest.fixture
def backends(location: str) -> Iterator[list[Backend]]:
    """Two backends of one state, as two runs (two processes, two machines) open it."""
    with ExitStack() as stack:
        yield [stack.enter_context(open_backend(location)) for _ in range(2)]


def _doc(*idents: str) -> StateDocument:
    return StateDocument(resources={f"api_keys.{i}": make_resource(i) for i in idents})


def test_a_state_never_written_reads_as_empty_and_does_not_exist(
    backends: list[Backend],
) -> None:
    store = backends[0].store
    assert not store.exists()
    doc = store.read()
    assert (doc.serial, doc.resources) == (0, {})


def test_a_write_is_read_back_by_another_run_with_the_next_serial(backends: list[Backend]) -> None:
    first, second = backends
    written = first.store.write(_doc("a", "b"))
    assert written.serial == 1
    read = second.store.read()
    assert second.store.exists()
    assert read == written


def test_a_write_from_a_stale_read_is_refused_so_no_update_is_lost(
    backends: list[Backend],
) -> None:
    first, second = backends
    base = first.store.write(_doc("a"))
    mine, theirs = first.store.read(), second.store.read()
    mine.resources["api_keys.b"] = make_resource("b")
    first.store.write(mine)
    theirs.resources["api_keys.c"] = make_resource("c")
    with pytest.raises(StateError, match="changed by another run since it was read"):
        second.store.write(theirs)
    assert set(second.store.read().resources) == {"api_keys.a", "api_keys.b"}
    assert second.store.read().serial == base.serial + 1


def test_a_write_of_another_lineage_is_refused(backends: list[Backend]) -> None:
    backends[0].store.write(_doc("a"))
    stranger = _doc("x").model_copy(update={"serial": 7})
    with pytest.raises(StateError, match="different state"):
        backends[1].store.write(stranger)
    assert set(backends[1].store.read().resources) == {"api_keys.a"}


def test_recorded_changes_are_read_by_another_run_and_folded_into_the_next_version(
    backends: list[Backend],
) -> None:
    first, second = backends
    doc = first.store.write(_doc("a", "b"))
    doc.resources["api_keys.c"] = make_resource("c")
    del doc.resources["api_keys.a"]
    doc = first.store.record(doc, ["api_keys.c", "api_keys.a"])
    assert doc.serial == 2  # what a read shows now; the next full write stores 3
    seen = second.store.read()
    assert set(seen.resources) == {"api_keys.b", "api_keys.c"}
    assert seen.serial == 2
    doc.resources["api_keys.b"].name = "renamed"
    doc = first.store.record(doc, ["api_keys.b"])
    assert second.store.read().resources["api_keys.b"].name == "renamed"
    stored = first.store.write(doc)
    assert stored.serial == 3
    again = second.store.read()
    assert again == stored
    assert [v.serial for v in second.store.history()][-1] == 3


def test_a_change_recorded_against_a_stale_read_is_refused(backends: list[Backend]) -> None:
    first, second = backends
    first.store.write(_doc("a"))
    mine, theirs = first.store.read(), second.store.read()
    first.store.write(mine)
    theirs.resources["api_keys.z"] = make_resource("z")
    with pytest.raises(StateError, match="changed by another run"):
        second.store.record(theirs, ["api_keys.z"])
    assert "api_keys.z" not in first.store.read().resources


def test_changes_recorded_before_any_full_version_are_a_state(backends: list[Backend]) -> None:
    first, second = backends
    doc = _doc("a")
    first.store.record(doc, ["api_keys.a"])
    assert second.store.exists()
    seen = second.store.read()
    assert (seen.lineage, seen.serial, set(seen.resources)) == (doc.lineage, 1, {"api_keys.a"})
    assert first.store.write(seen).serial == 2


def test_the_journal_is_shared_and_keeps_its_entries_in_order(backends: list[Backend]) -> None:
    first, second = backends
    sent = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    a = PendingCreate("api_keys.a", "_", "a key", "file", sent, False, lineage="L")
    b = PendingCreate("api_keys.b", "_", "b key", "none", sent, True)
    journal = first.store.journal
    assert journal.pending() == []
    journal.begin(a)
    journal.begin(b)
    assert second.store.journal.pending() == [a, b]
    marked = journal.mark_unanswered(a)
    journal.begin(a)
    assert second.store.journal.pending() == [b, marked, a]
    journal.end("api_keys.a")
    assert second.store.journal.pending() == [b, marked]
    second.store.journal.settle(marked)
    assert journal.pending() == [b]
    journal.clear()
    assert second.store.journal.pending() == []


def test_one_run_holds_the_lock_and_others_see_who(backends: list[Backend]) -> None:
    first, second = backends
    info = LockInfo.new("apply")
    first.lock.acquire(info, timeout=0)
    try:
        held = second.lock.holder()
        assert held is not None
        assert (held.id, held.operation, held.who, held.host) == (
            info.id,
            "apply",
            info.who,
            info.host,
        )
        with pytest.raises(StateLockedError) as refused:
            second.lock.acquire(LockInfo.new("state mv"), timeout=0)
        assert refused.value.lock_id == info.id
        assert 'for "apply"' in str(refused.value)
        with pytest.raises(StateLockedError):
            second.lock.force_unlock(info.id)  # its holder is alive
    finally:
        first.lock.release(info.id)
    assert second.lock.holder() is None
    with locked(second, "state mv"):
        assert first.lock.holder() is not None


def test_a_waiting_run_gets_the_lock_once_it_is_released(backends: list[Backend]) -> None:
    first, second = backends
    info = LockInfo.new("apply")
    first.lock.acquire(info, timeout=0)
    outcome: list[object] = []
    started = threading.Event()

    def wait_for_it() -> None:
        started.set()
        try:
            with locked(second, "plan", timeout=60):
                outcome.append("locked")
        except StateError as error:
            outcome.append(error)

    waiter = threading.Thread(target=wait_for_it)
    waiter.start()
    started.wait(10)
    first.lock.release(info.id)
    waiter.join(60)
    assert outcome == ["locked"]


def test_force_unlock_of_an_unlocked_state_says_there_is_nothing_to_unlock(
    backends: list[Backend],
) -> None:
    with pytest.raises(StateError, match="not locked"):
        backends[0].lock.force_unlock("0b6fb8fe-0000-4000-8000-000000000000")


def test_history_lists_versions_and_a_version_is_pulled_by_serial(
    backends: list[Backend],
) -> None:
    first, second = backends
    one = first.store.write(_doc("a"))
    one.resources["api_keys.b"] = make_resource("b")
    two = first.store.write(one)
    serials = [v.serial for v in second.store.history()]
    assert serials[-2:] == [1, 2]
    assert all(v.lineage == two.lineage for v in second.store.history())
    assert set(second.store.version(1).resources) == {"api_keys.a"}
    assert second.store.version(2) == two
    with pytest.raises(StateError, match="version 9"):
        second.store.version(9)


def test_push_checks_lineage_and_serial(backends: list[Backend]) -> None:
    first, second = backends
    current = first.store.write(_doc("a"))
    with pytest.raises(StateError, match="serial 1 already"):
        second.store.push(current)
    with pytest.raises(StateError, match="another state"):
        second.store.push(_doc("x").model_copy(update={"serial": 5}))
    ahead = current.model_copy(update={"serial": 5})
    ahead.resources["api_keys.p"] = make_resource("p")
    second.store.push(ahead)
    read = first.store.read()
    assert (read.serial, set(read.resources)) == (5, {"api_keys.a", "api_keys.p"})


def test_push_to_an_empty_state_stores_the_document_as_it_is(backends: list[Backend]) -> None:
    doc = _doc("a").model_copy(update={"serial": 12})
    backends[0].store.push(doc)
    assert backends[1].store.read() == doc


def test_recorded_changes_carry_the_documents_own_fields(location: str) -> None:
    """The day's write tally (and the endpoint) reach a reader before the full version."""
    with (
        open_backend(location, endpoint="https://api.example") as first,
        open_backend(location) as second,
    ):
        doc = first.store.write(_doc("a"))
        doc.count_writes("_", date(2026, 12, 4), 3)
        first.store.record(doc, [])
        seen = second.store.read()
        assert seen.writes_on("_", date(2026, 12, 4)) == 3
        assert seen.endpoint == "https://api.example"


def test_a_state_of_another_endpoint_is_refused_on_read(location: str) -> None:
    with open_backend(location, endpoint="https://one.example") as first:
        first.store.write(_doc("a"))
    with (
        open_backend(location, endpoint="https://two.example") as second,
        pytest.raises(StateError, match=r"this run is against https://two\.example"),
    ):
        second.store.read()

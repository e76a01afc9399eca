"""The create journal (state/journal.py): entries written before a create is sent, kept
beside the state, read back exactly, and refused with a way out when unreadable. What
recovery makes of them is tested in tests/engine/test_recovery.py."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from builders import ACCOUNT_ID, NOW, live

from infobip_iac.errors import StateError
from infobip_iac.state.journal import CreateJournal, PendingCreate, journal_path_for

SENT_AT = NOW - timedelta(seconds=2)


def entry(address: str = "api_keys.a", **fields: object) -> PendingCreate:
    values: dict[str, object] = {
        "address": address,
        "account": "_",
        "name": address.removeprefix("api_keys."),
        "sink": "file",
        "sent_at": SENT_AT,
        "valid_from_given": False,
        **fields,
    }
    return PendingCreate(**values)  # type: ignore[arg-type]


@pytest.fixture
def journal(tmp_path: Path) -> CreateJournal:
    return CreateJournal(tmp_path / "state.json")


# --- where and how it is kept -------------------------------------------------------------


def test_the_journal_sits_beside_its_state(tmp_path: Path) -> None:
    state = tmp_path / "envs" / "prod.json"
    assert journal_path_for(state) == tmp_path / "envs" / "prod.json.creating"
    assert CreateJournal(state).path == journal_path_for(state)


def test_no_journal_means_nothing_pending(journal: CreateJournal) -> None:
    assert journal.pending() == []
    assert not journal.path.exists()


def test_an_entry_is_on_disk_owner_only_before_begin_returns(journal: CreateJournal) -> None:
    journal.begin(entry())
    assert stat.S_IMODE(journal.path.stat().st_mode) == 0o600
    # A fresh reader (another process, after a crash) sees it.
    assert CreateJournal(journal.path.with_name("state.json")).pending() == [entry()]


def test_entries_round_trip_exactly_oldest_first(journal: CreateJournal) -> None:
    first = entry("api_keys.a", lineage="3d1c4a55-2b8e-4f0e-9a53-5d8f1f4a6c01")
    second = entry(
        "api_keys.b",
        account=ACCOUNT_ID,
        sink="exec",
        sent_at=datetime(2026, 11, 25, 13, 0, 1, 250000, tzinfo=UTC),
        valid_from_given=True,
    )
    journal.begin(first)
    journal.begin(second)
    assert journal.pending() == [first, second]
    (read,) = [e for e in journal.pending() if e.address == "api_keys.b"]
    assert read.sent_at.tzinfo is not None and read.sent_at == second.sent_at


def test_the_last_end_removes_the_file(journal: CreateJournal) -> None:
    journal.begin(entry("api_keys.a"))
    journal.begin(entry("api_keys.b"))
    journal.end("api_keys.a")
    assert [e.address for e in journal.pending()] == ["api_keys.b"]
    journal.end("api_keys.b")
    assert journal.pending() == [] and not journal.path.exists()


def test_ending_what_was_never_begun_writes_nothing(journal: CreateJournal) -> None:
    journal.end("api_keys.a")
    assert not journal.path.exists()
    journal.begin(entry("api_keys.b"))
    before = journal.path.stat().st_mtime_ns, journal.path.read_bytes()
    journal.end("api_keys.a")
    journal.settle(entry("api_keys.c"))
    assert (journal.path.stat().st_mtime_ns, journal.path.read_bytes()) == before


def test_clear_forgets_everything(journal: CreateJournal) -> None:
    journal.begin(entry("api_keys.a"))
    journal.mark_unanswered(entry("api_keys.a"))
    journal.clear()
    assert journal.pending() == [] and not journal.path.exists()


# --- a create sent again --------------------------------------------------------------------


def test_beginning_a_create_again_replaces_its_entry(journal: CreateJournal) -> None:
    journal.begin(entry("api_keys.a"))
    journal.begin(entry("api_keys.b"))
    again = entry("api_keys.a", sent_at=NOW)
    journal.begin(again)
    assert journal.pending() == [entry("api_keys.b"), again]


def test_an_unanswered_attempt_outlives_the_end_of_the_next(journal: CreateJournal) -> None:
    first = entry()
    journal.begin(first)
    marked = journal.mark_unanswered(first)
    assert marked.unanswered and marked.address == first.address
    second = entry(sent_at=NOW)
    journal.begin(second)
    assert journal.pending() == [marked, second]

    journal.end("api_keys.a")  # the state now records the second attempt's key

    assert journal.pending() == [marked]
    journal.settle(marked)  # a later read found what became of the first
    assert journal.pending() == [] and not journal.path.exists()


# --- journals this version did not write --------------------------------------------------


def test_a_journal_from_before_unanswered_and_lineage_is_read(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    old = {
        "address": "api_keys.a",
        "account": "_",
        "name": "a",
        "sink": "file",
        "sent_at": SENT_AT.isoformat(),
        "valid_from_given": False,
    }
    journal_path_for(state).write_text(
        json.dumps({"version": 1, "creates": [old]}), encoding="utf-8"
    )
    assert CreateJournal(state).pending() == [entry()]


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"{not json", "Expecting property name"),
        (b"\xff\xfe", "codec can't decode"),
        (json.dumps({"version": 2, "creates": []}).encode(), "not a create journal"),
        (json.dumps([1, 2]).encode(), "not a create journal"),
        (json.dumps({"version": 1}).encode(), 'no "creates" list'),
        (json.dumps({"version": 1, "creates": ["a"]}).encode(), "not a JSON object"),
        (json.dumps({"version": 1, "creates": [{"address": "x"}]}).encode(), "has no 'account'"),
        (b" " * (4 * 1024 * 1024 + 1), "far too large"),
    ],
)
def test_an_unreadable_journal_is_refused_with_the_way_out(
    journal: CreateJournal, content: bytes, why: str
) -> None:
    journal.path.write_bytes(content)
    with pytest.raises(StateError) as refused:
        journal.pending()
    message = str(refused.value)
    assert why in message
    assert str(journal.path) in message and f"rm {journal.path}" in message
    assert "look for enabled keys no state manages" in message
    with pytest.raises(StateError):  # nothing is written over it either
        journal.begin(entry())
    assert journal.path.read_bytes() == content


def test_a_journal_that_cannot_be_written_is_a_state_error(tmp_path: Path) -> None:
    (tmp_path / "state.json.creating").mkdir()  # a folder where the file would go
    journal = CreateJournal(tmp_path / "state.json")
    with pytest.raises(StateError, match="cannot read"):
        journal.begin(entry())


# --- what an entry says about a live key ----------------------------------------------------


def test_a_key_from_before_the_create_was_sent_is_not_its(journal: CreateJournal) -> None:
    pending = entry()
    slack = timedelta(seconds=2)  # Infobip's clock is known to the second
    assert pending.may_have_made(live("K1", "a", valid_from=SENT_AT))
    assert pending.may_have_made(live("K1", "a", valid_from=SENT_AT - slack))
    assert not pending.may_have_made(live("K1", "a", valid_from=SENT_AT - 2 * slack))
    assert pending.may_have_made(live("K1", "a", valid_from=None))


def test_a_create_that_set_its_own_start_may_have_made_any_enabled_key() -> None:
    pending = entry(valid_from_given=True)
    assert pending.may_have_made(live("K1", "a", valid_from=SENT_AT - timedelta(days=30)))
    assert not pending.may_have_made(live("K1", "a", valid_from=SENT_AT, enabled=False))


@pytest.mark.parametrize(
    ("unanswered", "sink", "recorded_sink", "cause"),
    [
        (False, "file", "file", "interrupted before it recorded the key"),
        (True, "exec", "exec", "answer was lost"),
        (False, "vault", "none", "interrupted"),  # a sink this version does not know
    ],
)
def test_an_orphan_is_recorded_with_its_secret_lost(
    unanswered: bool, sink: str, recorded_sink: str, cause: str
) -> None:
    key = live("K1", "a", valid_from=NOW)
    record = entry(sink=sink, unanswered=unanswered, account="sub").orphan_entry(key)
    assert (record.id, record.account, record.name) == ("K1", "sub", "a")
    assert record.secret is not None
    assert record.secret.status == "lost" and record.secret.sink == recorded_sink
    assert cause in (record.secret.detail or "")

"""What the engine needs from Infobip (infobip/api.py): reading many accounts through any
KeyLister, in parallel and bounded, each account with its own declared names, and the
first failure in the order asked. The HTTP client's side is in test_client.py."""

from __future__ import annotations

import threading
from collections.abc import Collection

import pytest
from builders import live

from infobip_iac.errors import PermissionDeniedError
from infobip_iac.infobip.api import (
    MAX_READERS,
    AccountKeys,
    KeyLister,
    ProgressCallback,
    list_accounts_concurrently,
)

# Generous: a barrier that is not reached in this time means the reads were not parallel.
WAIT = 10.0


class Lister:
    """A KeyLister that records each call, and can make calls meet or fail."""

    def __init__(
        self,
        *,
        meet: int = 0,
        fail: dict[str, BaseException] | None = None,
        after: dict[str, threading.Event] | None = None,
    ) -> None:
        self.calls: list[tuple[str, tuple[str, ...], str]] = []
        self.running = 0
        self.peak = 0
        self._lock = threading.Lock()
        self._meeting = threading.Barrier(meet, timeout=WAIT) if meet else None
        self._fail = fail or {}
        self._after = after or {}
        self.done = {account: threading.Event() for account in self._fail}

    def list_keys(
        self,
        account: str,
        *,
        names: Collection[str] = (),
        progress: ProgressCallback | None = None,
    ) -> AccountKeys:
        with self._lock:
            self.calls.append((account, tuple(names), threading.current_thread().name))
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            if self._meeting is not None:
                self._meeting.wait()  # every party reads at once, or this times out
            if progress is not None:
                progress(account, 1, 1)
            if account in self._after:
                assert self._after[account].wait(WAIT)  # the other read has ended first
            failure = self._fail.get(account)
            if failure is not None:
                self.done[account].set()
                raise failure
            return AccountKeys(account=account, keys=[live(f"K-{account}", account)], requests=1)
        finally:
            with self._lock:
                self.running -= 1


def test_a_fake_lister_is_a_key_lister() -> None:
    lister: KeyLister = Lister()  # the protocol is all list_accounts_concurrently needs
    assert list_accounts_concurrently(lister, {}) == {}


def test_one_account_is_read_in_the_callers_thread() -> None:
    lister = Lister()
    read = list_accounts_concurrently(lister, {"_": ["ci", "web"]})
    assert list(read) == ["_"] and read["_"].keys[0].id == "K-_"
    assert lister.calls == [("_", ("ci", "web"), threading.current_thread().name)]


def test_accounts_are_read_in_parallel_each_with_its_own_names() -> None:
    requests = {"_": ["ci"], "A1": ["billing", "ops"], "B2": []}
    lister = Lister(meet=3)  # each read waits until all three are under way

    read = list_accounts_concurrently(lister, requests)

    assert list(read) == ["_", "A1", "B2"]  # in the order asked, whatever finished first
    assert {account: keys.keys[0].id for account, keys in read.items()} == {
        "_": "K-_",
        "A1": "K-A1",
        "B2": "K-B2",
    }
    assert sorted((a, n) for a, n, _ in lister.calls) == [
        ("A1", ("billing", "ops")),
        ("B2", ()),
        ("_", ("ci",)),
    ]
    assert all(thread.startswith("infobip-read") for _, _, thread in lister.calls)
    assert lister.peak == 3


def test_no_more_accounts_are_read_at_once_than_allowed() -> None:
    lister = Lister(meet=2)  # reads pair up: two at once, never one alone
    accounts = {f"A{n}": [] for n in range(6)}
    read = list_accounts_concurrently(lister, accounts, max_workers=2)
    assert list(read) == list(accounts)
    assert lister.peak == 2 and len(lister.calls) == 6
    assert len({thread for _, _, thread in lister.calls}) == 2  # two readers, reused


def test_one_reader_reads_in_turn_in_the_callers_thread() -> None:
    lister = Lister()
    list_accounts_concurrently(lister, {"A": [], "B": [], "C": []}, max_workers=1)
    assert [call[0] for call in lister.calls] == ["A", "B", "C"]
    assert {call[2] for call in lister.calls} == {threading.current_thread().name}


def test_the_default_bound_is_max_readers() -> None:
    lister = Lister()
    list_accounts_concurrently(lister, {f"A{n}": [] for n in range(MAX_READERS + 8)})
    assert 1 <= lister.peak <= MAX_READERS
    assert len(lister.calls) == MAX_READERS + 8


def test_progress_is_reported_for_each_account() -> None:
    seen: list[tuple[str, int, int]] = []
    guard = threading.Lock()

    def progress(account: str, pages: int, expected: int) -> None:
        with guard:
            seen.append((account, pages, expected))

    list_accounts_concurrently(Lister(), {"A": [], "B": []}, progress=progress)
    assert sorted(seen) == [("A", 1, 1), ("B", 1, 1)]


def test_the_first_failure_in_the_order_asked_is_raised_after_all_reads_stop() -> None:
    first = PermissionDeniedError("A: no access")
    later = PermissionDeniedError("B: no access")
    b_failed = threading.Event()
    lister = Lister(meet=3, fail={"A": first, "B": later}, after={"A": b_failed})
    lister.done["B"] = b_failed  # A fails only once B has: B's error is the earlier

    with pytest.raises(PermissionDeniedError) as raised:
        list_accounts_concurrently(lister, {"A": [], "B": [], "C": []})

    assert raised.value is first
    assert lister.running == 0  # no read is left running behind the error


def test_an_interrupt_in_a_read_is_raised_too() -> None:
    lister = Lister(fail={"B": KeyboardInterrupt()})
    with pytest.raises(KeyboardInterrupt):
        list_accounts_concurrently(lister, {"A": [], "B": []})

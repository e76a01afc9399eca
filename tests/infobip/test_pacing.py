"""Read pacing: evenly spaced, obeys Retry-After, slows down, becomes shared when needed,
and only 429s of its own slots slow a budget."""

from __future__ import annotations

import itertools
import threading

import pytest

from infobip_iac.infobip.pacing import HEADROOM, Pacer, ReadBudget


class _Time:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds


def test_pacer_spaces_calls_evenly() -> None:
    time = _Time()
    pacer = Pacer(10.0, clock=time.clock, sleep=time.sleep)
    starts = []
    for _ in range(5):
        pacer.wait()
        starts.append(time.now)
    gaps = [round(b - a, 6) for a, b in itertools.pairwise(starts)]
    assert gaps == [0.1, 0.1, 0.1, 0.1]
    assert starts[0] == 100.0  # the first call does not wait


def test_pacer_is_not_slowed_by_idle_time() -> None:
    time = _Time()
    pacer = Pacer(10.0, clock=time.clock, sleep=time.sleep)
    pacer.wait()
    time.now += 5
    assert pacer.wait() == 0.0


def test_hold_off_and_slow_down() -> None:
    time = _Time()
    pacer = Pacer(10.0, clock=time.clock, sleep=time.sleep)
    pacer.wait()
    pacer.hold_off(2.0)
    assert pacer.wait() == pytest.approx(2.0)
    pacer.slow_down()
    assert pacer.rate == pytest.approx(8.0)
    assert pacer.wait() == pytest.approx(0.125)


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="above zero"):
        Pacer(0)


def test_budget_is_per_account_with_headroom() -> None:
    time = _Time()
    budget = ReadBudget(10.0, scope="account", clock=time.clock, sleep=time.sleep)
    assert budget.pacer("A") is budget.pacer("A")
    assert budget.pacer("A") is not budget.pacer("B")
    assert budget.pacer("A").rate == pytest.approx(10.0 * HEADROOM)


def test_caller_scope_shares_one_pacer() -> None:
    budget = ReadBudget(10.0, scope="caller")
    assert budget.shared
    assert budget.pacer("A") is budget.pacer("B")


def test_throttle_holds_off_that_account_only() -> None:
    time = _Time()
    budget = ReadBudget(10.0, scope="account", clock=time.clock, sleep=time.sleep)
    budget.pacer("A").wait()
    budget.pacer("B").wait()
    budget.throttled("A", 3.0)
    assert budget.pacer("A").rate == pytest.approx(10.0 * HEADROOM * 0.8)
    assert budget.pacer("B").wait() == pytest.approx(1 / (10.0 * HEADROOM))
    assert budget.pacer("A").wait() == pytest.approx(3.0 - 1 / (10.0 * HEADROOM), abs=1e-6)


def test_adaptive_budget_becomes_shared_at_the_first_429_of_several_accounts() -> None:
    time = _Time()
    budget = ReadBudget(10.0, clock=time.clock, sleep=time.sleep)
    stale = budget.pacer("A")
    budget.pacer("B")
    budget.throttled("A", 1.0, pacer=stale)
    assert budget.shared
    shared = budget.pacer("A")
    assert shared is budget.pacer("B") is not stale
    # A fresh shared budget runs at one account's pace, not slower.
    assert shared.rate == pytest.approx(10.0 * HEADROOM)
    # The shared budget waits as the server asked before its first slot.
    assert budget.pacer("C").wait() == pytest.approx(1.0)


def test_429s_of_requests_paced_before_the_switch_do_not_slow_the_shared_budget() -> None:
    time = _Time()
    budget = ReadBudget(10.0, clock=time.clock, sleep=time.sleep)
    early = [budget.pacer(account) for account in "ABCD"]
    for account, pacer in zip("ABCD", early, strict=True):
        budget.throttled(account, 1.0, pacer=pacer)
    assert budget.throttles == 4
    assert budget.pacer("A").rate == pytest.approx(10.0 * HEADROOM)
    # A 429 to a slot of the shared budget itself does slow it.
    budget.throttled("A", 1.0, pacer=budget.pacer("A"))
    assert budget.pacer("A").rate == pytest.approx(10.0 * HEADROOM * 0.8)


def test_acquire_moves_to_the_shared_budget_when_it_appears_during_the_wait() -> None:
    time = _Time()
    budget: ReadBudget

    def sleep_and_switch(seconds: float) -> None:
        # Another account's 429 arrives while A's caller sleeps towards its slot.
        time.sleep(seconds)
        if not budget.shared:
            budget.throttled("B", 2.0)

    budget = ReadBudget(10.0, clock=time.clock, sleep=sleep_and_switch)
    first = budget.pacer("A")
    budget.pacer("B")
    first.wait()  # the next slot of A is 0.105 s away
    used = budget.acquire("A")
    assert used is budget.pacer("A") is not first
    assert time.now == pytest.approx(100.0 + 1 / (10.0 * HEADROOM) + 2.0)


def test_adaptive_budget_with_one_account_stays_per_account() -> None:
    time = _Time()
    budget = ReadBudget(10.0, clock=time.clock, sleep=time.sleep)
    for _ in range(3):
        budget.throttled("A", None)
    assert not budget.shared
    assert budget.pacer("A").rate == pytest.approx(10.0 * HEADROOM * 0.8**3)
    for _ in range(30):
        budget.throttled("A", None)
    assert budget.pacer("A").rate == pytest.approx(0.5)  # never slower than this


def test_pacer_across_threads_gives_distinct_slots() -> None:
    time = _Time()
    pacer = Pacer(10.0, clock=time.clock, sleep=lambda seconds: None)
    waits: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        waited = pacer.wait()
        with lock:
            waits.append(round(waited, 6))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert sorted(waits) == [round(i * 0.1, 6) for i in range(8)]

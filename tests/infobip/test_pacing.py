"""Read pacing: evenly spaced, obeys Retry-After, slows down, becomes shared when needed."""

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
    assert pacer.rate == 5.0
    assert pacer.wait() == pytest.approx(0.2)


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
    assert budget.pacer("A").rate == pytest.approx(10.0 * HEADROOM / 2)
    assert budget.pacer("B").wait() == pytest.approx(1 / (10.0 * HEADROOM))
    assert budget.pacer("A").wait() == pytest.approx(3.0 - 1 / (10.0 * HEADROOM), abs=1e-6)


def test_adaptive_budget_becomes_shared_when_429s_keep_coming() -> None:
    time = _Time()
    budget = ReadBudget(10.0, clock=time.clock, sleep=time.sleep)
    budget.pacer("A")
    budget.pacer("B")
    budget.throttled("A", 1.0)
    assert not budget.shared
    budget.throttled("B", 1.0)
    assert budget.shared
    assert budget.pacer("A") is budget.pacer("B")
    # The shared budget waits as the server asked before its first slot.
    assert budget.pacer("C").wait() == pytest.approx(1.0)


def test_adaptive_budget_with_one_account_stays_per_account() -> None:
    time = _Time()
    budget = ReadBudget(10.0, clock=time.clock, sleep=time.sleep)
    for _ in range(3):
        budget.throttled("A", None)
    assert not budget.shared
    assert budget.pacer("A").rate == pytest.approx(max(10.0 * HEADROOM / 8, 0.5))


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

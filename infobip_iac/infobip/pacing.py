"""Pacing of reads, so that listing a large account stays under Infobip's read limit.

Infobip documents 10 reads a second per account. A `Pacer` spaces requests evenly (a token
bucket holding one token): with a burst allowance a limiter that counts over a sliding
second could see eleven requests in one window and answer 429. A small headroom under the
limit absorbs jitter between our clock and the server's: at 98 % of 10/s, eleven requests
span 1.02 s, so a window of one second (sliding or fixed) sees at most ten unless the network
squeezes two requests ten apart by more than 20 ms; a deeper headroom would buy margin only
against a limiter with no burst at all, which ordinary internet jitter defeats anyway, and
costs every large account its share (95 % made 10,000 keys take 0.3 s longer).

Written here rather than taken from a library because the pacer must also obey `Retry-After`
and slow down at run time, which the rate-limit libraries at hand do not offer together with
a blocking, thread-safe wait.

`ReadBudget` hands each account its pacer. Its scope is pluggable: `account` (one budget per
account, as documented), `caller` (one budget shared by every account, for a limit counted
per caller), or `adaptive`: per account until the first 429 while several accounts are being
read, then shared, since that is what a caller-wide limit looks like from here. Only a 429
of a request paced by the budget now in force slows that budget: requests that were already
on their way under the old per-account pace are answered 429 as well, and they say nothing
new about the shared pace.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal

from infobip_iac.logs import get_logger

__all__ = [
    "DEFAULT_MAX_THROTTLE_WAIT",
    "DEFAULT_READ_RATE",
    "HEADROOM",
    "MAX_RETRY_AFTER",
    "BudgetScope",
    "Pacer",
    "ReadBudget",
]

DEFAULT_READ_RATE = 10.0  # reads per second per account (Infobip's documented limit)
# A write's 429 is waited out when its Retry-After is at most this (a burst limit); a longer
# one is the daily budget of 40 writes, and waiting for it is not the tool's to decide.
MAX_RETRY_AFTER = 60.0
# In all, a run waits out writes' short 429s at most this long (`--max-throttle-wait`).
DEFAULT_MAX_THROTTLE_WAIT = 300.0
HEADROOM = 0.98  # pace at 98 % of the limit
# A 429 at our own pace means the server counts more than we do (another client shares the
# budget, or its clock runs differently): slow down by a fifth each time, which finds a pace
# it accepts within a few 429s without collapsing to a crawl on a single stray one.
_SLOWDOWN = 0.8
_MIN_RATE = 0.5
_DEFAULT_HOLD_OFF = 1.0  # seconds to pause after a 429 that names no Retry-After

BudgetScope = Literal["account", "caller", "adaptive"]

_log = get_logger(__name__)


class Pacer:
    """Spaces calls to `wait()` at least 1/rate seconds apart; safe across threads."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("a pacing rate must be above zero")
        self._rate = rate
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = clock()

    @property
    def rate(self) -> float:
        return self._rate

    def wait(self) -> float:
        """Block until this caller's slot; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + 1.0 / self._rate
        # Sleep outside the lock: every caller already holds its own slot.
        delay = slot - now
        if delay > 0:
            self._sleep(delay)
        return max(delay, 0.0)

    def hold_off(self, seconds: float) -> None:
        """No slot before `seconds` from now (a server's Retry-After)."""
        with self._lock:
            self._next = max(self._next, self._clock() + max(seconds, 0.0))

    def slow_down(self, factor: float = _SLOWDOWN) -> None:
        with self._lock:
            slower = max(self._rate * factor, _MIN_RATE)
            # The slot already promised to the next caller moves too: slow from now on.
            self._next += 1.0 / slower - 1.0 / self._rate
            self._rate = slower


class ReadBudget:
    """The pacers of one client's reads, keyed by account reference."""

    def __init__(
        self,
        rate: float = DEFAULT_READ_RATE,
        *,
        scope: BudgetScope = "adaptive",
        headroom: float = HEADROOM,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._rate = rate * headroom
        self._scope: BudgetScope = scope
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._pacers: dict[str, Pacer] = {}
        self._shared: Pacer | None = self._new_pacer() if scope == "caller" else None
        self._throttles = 0

    def _new_pacer(self) -> Pacer:
        return Pacer(self._rate, clock=self._clock, sleep=self._sleep)

    @property
    def shared(self) -> bool:
        """True once every account draws from one budget."""
        return self._shared is not None

    def pacer(self, account: str) -> Pacer:
        with self._lock:
            if self._shared is not None:
                return self._shared
            pacer = self._pacers.get(account)
            if pacer is None:
                pacer = self._pacers[account] = self._new_pacer()
            return pacer

    def acquire(self, account: str) -> Pacer:
        """Wait for a slot of `account`'s budget; returns the pacer that gave it, for
        `throttled`. A slot given by a per-account pacer that was replaced by the shared
        one while its caller slept is not used: the caller queues on the shared one too."""
        while True:
            pacer = self.pacer(account)
            pacer.wait()
            if self.pacer(account) is pacer:
                return pacer

    @property
    def throttles(self) -> int:
        """429 answers to reads so far."""
        with self._lock:
            return self._throttles

    def throttled(
        self, account: str, retry_after: float | None, *, pacer: Pacer | None = None
    ) -> None:
        """A read of `account`, paced by `pacer` (default: the account's current one), got a
        429: the budget in force holds off as the server asks, and slows down when the
        request was paced by it."""
        pause = _DEFAULT_HOLD_OFF if retry_after is None else retry_after
        with self._lock:
            self._throttles += 1
            current = self._shared or self._pacers.setdefault(account, self._new_pacer())
            switching = self._scope == "adaptive" and self._shared is None and len(self._pacers) > 1
            if switching:
                # Per-account pacing did not keep the server content while several accounts
                # were read: their reads count against one budget, paced as one account's.
                current = self._shared = self._new_pacer()
                _log.info("infobip read limit looks shared by all accounts; pacing them as one")
        # A fresh shared budget already runs at one account's pace, which has not been shown
        # too fast yet; nor has the current pace when the 429 came to an earlier one's slot.
        if not switching and (pacer is None or pacer is current):
            current.slow_down()
        current.hold_off(pause)
        _log.debug("infobip read throttled", account=account, retry_after=retry_after)

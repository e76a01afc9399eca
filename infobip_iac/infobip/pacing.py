"""Pacing of reads, so that listing a large account stays under Infobip's read limit.

Infobip documents 10 reads a second per account. A `Pacer` spaces requests evenly (a token
bucket holding one token): with a burst allowance a limiter that counts over a sliding
second could see eleven requests in one window and answer 429. A small headroom under the
limit absorbs jitter between our clock and the server's. Written here rather than taken from
a library because the pacer must also obey `Retry-After` and slow down at run time, which the
rate-limit libraries at hand do not offer together with a blocking, thread-safe wait.

`ReadBudget` hands each account its pacer. Its scope is pluggable: `account` (one budget per
account, as documented), `caller` (one budget shared by every account, for a limit counted
per caller), or `adaptive`: per account until 429s keep arriving while several accounts are
read at once, then shared, since that is what a caller-wide limit looks like from here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal

from infobip_iac.logs import get_logger

__all__ = ["DEFAULT_READ_RATE", "HEADROOM", "BudgetScope", "Pacer", "ReadBudget"]

DEFAULT_READ_RATE = 10.0  # reads per second per account (Infobip's documented limit)
HEADROOM = 0.95  # pace at 95 % of the limit
_SLOWDOWN = 0.5  # a 429 halves the pace of the budget that got it
_MIN_RATE = 0.5
_DEFAULT_HOLD_OFF = 1.0  # seconds to pause after a 429 that names no Retry-After
_SHARE_AFTER = 2  # 429s while reading several accounts before the budget becomes shared

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

    def throttled(self, account: str, retry_after: float | None) -> None:
        """A read of `account` got a 429: pause that budget as the server asks, slow it."""
        pause = _DEFAULT_HOLD_OFF if retry_after is None else retry_after
        with self._lock:
            self._throttles += 1
            switching = (
                self._scope == "adaptive"
                and self._shared is None
                and self._throttles >= _SHARE_AFTER
                and len(self._pacers) > 1
            )
            if switching:
                # Per-account pacing did not keep the server content while several accounts
                # were read: their reads count against one budget, paced as one account's.
                self._shared = self._new_pacer()
                _log.info("infobip read limit looks shared by all accounts; pacing them as one")
            pacer = self._shared or self._pacers.setdefault(account, self._new_pacer())
        if not switching:
            # A fresh shared budget already runs at one account's pace: slowing it as well
            # would halve a rate that has not been shown too fast yet.
            pacer.slow_down()
        pacer.hold_off(pause)
        _log.debug("infobip read throttled", account=account, retry_after=retry_after)

"""Infobip's rate limits: reads per second (real time, a token bucket per budget owner) and
writes per UTC day of the emulator clock (counted in the store, so they persist)."""

from __future__ import annotations

import math
import threading
import time
from datetime import datetime, timedelta

from infobip_iac.emulator.failures import OperationError
from infobip_iac.emulator.store import Store

__all__ = ["ReadBudget", "day_of", "seconds_to_midnight", "write_refusal"]


class ReadBudget:
    """`rate` reads per second per owner, with bursts up to `rate` (at least one)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._buckets: dict[str, tuple[float, float]] = {}  # owner -> (tokens, at)
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()

    def take(self, owner: str) -> None:
        """Spend one read or raise a 429 (Retry-After 1)."""
        if self.rate <= 0:
            return
        capacity = max(1.0, self.rate)
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(owner, (capacity, now))
            tokens = min(capacity, tokens + (now - at) * self.rate)
            if tokens < 1.0:
                self._buckets[owner] = (tokens, now)
                raise OperationError(
                    429,
                    f"More than {self.rate:g} reads per second.",
                    headers={"Retry-After": "1"},
                )
            self._buckets[owner] = (tokens - 1.0, now)


def day_of(now: datetime) -> str:
    return now.date().isoformat()


def seconds_to_midnight(now: datetime) -> int:
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), now.tzinfo)
    return max(1, math.ceil((midnight - now).total_seconds()))


def write_refusal(store: Store, owner: str, now: datetime, limit: int) -> OperationError | None:
    """A 429 when `owner` has used today's writes; None when a write may go ahead."""
    if limit <= 0 or store.writes_on(day_of(now), owner) < limit:
        return None
    return OperationError(
        429,
        f"The daily limit of {limit} API-key writes (create and update) is used up.",
        headers={"Retry-After": str(seconds_to_midnight(now))},
    )

"""Counts of Infobip operations served and statuses answered since the last reset."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

__all__ = ["RequestStats"]


class RequestStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._statuses: Counter[str] = Counter()
        self._dropped = 0

    def request(self, operation: str) -> None:
        with self._lock:
            self._requests[operation] += 1

    def answered(self, status: int) -> None:
        with self._lock:
            self._statuses[str(status)] += 1

    def dropped(self) -> None:
        with self._lock:
            self._dropped += 1

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._statuses.clear()
            self._dropped = 0

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(sorted(self._requests.items())),
                "statuses": dict(sorted(self._statuses.items())),
                "dropped": self._dropped,
            }

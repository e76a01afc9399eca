"""Faults the control API injects into Infobip operations: error statuses, 429s, delays,
connections dropped before anything happens, writes that commit but lose their answer, and
operations whose answer comes as a header trickle or a decompression bomb (`hostile.py`)."""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["FAULT_KINDS", "FaultPlan", "FaultRule", "parse_rules"]

FaultKind = Literal[
    "status", "delay", "drop", "commit-then-drop", "rate-limit", "trickle-headers", "gzip-bomb"
]
FAULT_KINDS: tuple[FaultKind, ...] = (
    "status",
    "delay",
    "drop",
    "commit-then-drop",
    "rate-limit",
    "trickle-headers",
    "gzip-bomb",
)


@dataclass
class FaultRule:
    operation: str  # "METHOD /path/template", or "*" for any Infobip operation
    kind: FaultKind
    status: int = 500
    delay_ms: int = 0
    probability: float = 1.0
    times: int | None = None
    retry_after_s: int = 1
    fired: int = 0

    def matches(self, operation: str) -> bool:
        return self.operation in ("*", operation) and (
            self.times is None or self.fired < self.times
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "kind": self.kind,
            "status": self.status,
            "delay_ms": self.delay_ms,
            "probability": self.probability,
            "times": self.times,
            "retry_after_s": self.retry_after_s,
            "fired": self.fired,
        }


def parse_rules(document: Any, known_operations: Sequence[str]) -> list[FaultRule]:
    """Rules from the control API's JSON; ValueError names the first thing wrong."""
    if not isinstance(document, Mapping) or not isinstance(document.get("rules"), list):
        raise ValueError('expected {"rules": [...]}')
    rules = []
    for index, raw in enumerate(document["rules"]):
        where = f"rules[{index}]"
        if not isinstance(raw, Mapping):
            raise ValueError(f"{where} must be an object")
        operation = raw.get("operation", "*")
        if operation != "*" and operation not in known_operations:
            raise ValueError(
                f"{where}.operation {operation!r} is not one of: *, {', '.join(known_operations)}"
            )
        kind = raw.get("kind")
        if kind not in FAULT_KINDS:
            raise ValueError(f"{where}.kind must be one of {', '.join(FAULT_KINDS)}")
        rule = FaultRule(
            operation=operation,
            kind=kind,
            status=_integer(raw, "status", 500, where, low=400, high=599),
            delay_ms=_integer(raw, "delay_ms", 0, where, low=0, high=600_000),
            probability=_probability(raw, where),
            times=_integer(raw, "times", None, where, low=0, high=None),
            retry_after_s=_integer(raw, "retry_after_s", 1, where, low=0, high=None),
        )
        rules.append(rule)
    return rules


def _integer(
    raw: Mapping[str, Any], name: str, default: Any, where: str, *, low: int, high: int | None
) -> Any:
    value = raw.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{where}.{name} must be an integer")
    if value < low or (high is not None and value > high):
        raise ValueError(f"{where}.{name} must be between {low} and {high or 'any'}")
    return value


def _probability(raw: Mapping[str, Any], where: str) -> float:
    value = raw.get("probability", 1.0)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"{where}.probability must be a number from 0 to 1")
    return float(value)


class FaultPlan:
    """The rules in force. Rules are tried in order: every matching delay that fires is
    served, then the first other matching rule that fires decides the answer."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        # Fault draws only need to be reproducible from a seed, not unpredictable.
        self._random = random.Random()  # noqa: S311
        self._lock = threading.Lock()

    def replace(self, rules: list[FaultRule], seed: int | None = None) -> None:
        with self._lock:
            self._rules = rules
            self._random = random.Random(seed)  # noqa: S311

    def clear(self) -> None:
        self.replace([])

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.to_json() for rule in self._rules]

    def select(self, operation: str) -> tuple[int, FaultRule | None]:
        """(milliseconds to delay, the rule deciding the answer or None)."""
        delay = 0
        with self._lock:
            for rule in self._rules:
                if not rule.matches(operation):
                    continue
                if rule.probability < 1.0 and self._random.random() >= rule.probability:
                    continue
                rule.fired += 1
                if rule.kind == "delay":
                    delay += rule.delay_ms
                    continue
                return delay, rule
        return delay, None

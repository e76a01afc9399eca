"""Stopping on SIGTERM (how CI cancels a job) or Ctrl-C without tearing a write in half.

Python's default for SIGTERM ends the process on the spot: the state lock stays behind, and
a key Infobip just created may never reach the state or its secret its sink. With
`handle_stop_signals` in force, SIGTERM and SIGINT raise `Stopped` (a KeyboardInterrupt)
instead, so every `with`/`finally` runs: the state lock is released. Inside `critical()`
(one Infobip write, its state save and its secret's delivery) the signal is held back
until the block ends, and raised then; a second signal raises at once.

A held signal must not let the block wait long: `stop_requested` tells the code that waits
on the network (the HTTP transport, retry pauses) that a stop is pending, so it starts no
new request and abandons a wait soon (`seconds_since_stop`: a write in flight gets a
moment to be answered, so that an ordinary create is recorded rather than left to the
journal); the create journal keeps a create abandoned in flight for the next run.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType

__all__ = [
    "Stopped",
    "critical",
    "handle_stop_signals",
    "raise_if_stopping",
    "seconds_since_stop",
    "stop_requested",
]

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Stopped(KeyboardInterrupt):
    """A stop signal arrived; `signum` says which (exit status 128 + signum)."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


class _Deferral:
    depth = 0
    held: int | None = None
    # The first stop signal of the run, held back or raised, and when it came (monotonic):
    # set until the handlers go.
    stopping: int | None = None
    stopped_at = 0.0


_state = _Deferral()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if _state.stopping is None:
        _state.stopping = signum
        _state.stopped_at = time.monotonic()
    if _state.depth > 0 and _state.held is None:
        _state.held = signum
        return
    _state.held = None
    raise Stopped(signum)


@contextlib.contextmanager
def handle_stop_signals() -> Iterator[None]:
    """SIGTERM and SIGINT raise `Stopped` in the block (only in the main thread, where
    Python delivers signals); the previous handlers are back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _on_signal) for sig in _SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _state.held = None
        _state.stopping = None


def stop_requested() -> int | None:
    """The stop signal that arrived in this run, if one did (held back or not)."""
    return _state.stopping


def seconds_since_stop() -> float | None:
    """How long ago the run's stop signal came; None when none did."""
    if _state.stopping is None:
        return None
    return time.monotonic() - _state.stopped_at


def raise_if_stopping() -> None:
    """Raise `Stopped` when a stop signal arrived: nothing new is started after one."""
    signum = _state.stopping
    if signum is not None:
        raise Stopped(signum)


@contextlib.contextmanager
def critical() -> Iterator[None]:
    """Hold a stop signal back until the block is done, then raise it."""
    _state.depth += 1
    try:
        yield
    finally:
        _state.depth -= 1
        if _state.depth == 0 and _state.held is not None:
            signum, _state.held = _state.held, None
            raise Stopped(signum)

"""Stop signals: raised as `Stopped` so cleanups run, held back inside a critical block."""

from __future__ import annotations

import os
import signal

import pytest

from infobip_iac.interrupts import (
    Stopped,
    critical,
    handle_stop_signals,
    raise_if_stopping,
    stop_requested,
)


def _signal_self(signum: int) -> None:
    os.kill(os.getpid(), signum)


def test_sigterm_raises_stopped_so_that_finally_blocks_run() -> None:
    cleaned = []
    with pytest.raises(Stopped) as caught, handle_stop_signals():
        try:
            _signal_self(signal.SIGTERM)
        finally:
            cleaned.append(True)
    assert caught.value.signum == signal.SIGTERM and cleaned == [True]
    assert str(caught.value) == "SIGTERM"


def test_a_signal_inside_a_critical_block_waits_for_its_end() -> None:
    finished = []
    with pytest.raises(Stopped) as caught, handle_stop_signals():
        with critical():
            _signal_self(signal.SIGTERM)
            finished.append("the write and its state save")
        finished.append("never: the signal is raised as the block ends")
    assert finished == ["the write and its state save"]
    assert caught.value.signum == signal.SIGTERM


def test_a_second_signal_inside_a_critical_block_raises_at_once() -> None:
    with pytest.raises(Stopped) as caught, handle_stop_signals(), critical():
        _signal_self(signal.SIGTERM)
        _signal_self(signal.SIGINT)
        pytest.fail("the second signal should have stopped the block")
    assert caught.value.signum == signal.SIGINT


def test_ctrl_c_is_a_keyboard_interrupt_and_handlers_are_restored() -> None:
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt), handle_stop_signals():
        _signal_self(signal.SIGINT)
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_a_held_back_signal_is_visible_to_waits_and_stops_new_work_at_once() -> None:
    """Protection: code that waits on the network inside a critical block sees the pending
    stop (`stop_requested`) and starts nothing new (`raise_if_stopping`); the run's stop is
    forgotten once the handlers are gone."""
    seen = []
    with pytest.raises(Stopped) as caught, handle_stop_signals(), critical():
        assert stop_requested() is None
        raise_if_stopping()  # nothing pending: no effect
        _signal_self(signal.SIGTERM)
        seen.append(stop_requested())
        raise_if_stopping()
        pytest.fail("raise_if_stopping should have raised")
    assert seen == [signal.SIGTERM] and caught.value.signum == signal.SIGTERM
    assert stop_requested() is None

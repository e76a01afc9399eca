"""Answers are bounded in size, encoding and time, whatever the server sends."""

from __future__ import annotations

import gzip
import os
import signal
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from reliability.hostile_server import hostile_server

from infobip_iac.infobip.transport import (
    AnswerEncoded,
    AnswerTooLarge,
    AnswerTooSlow,
    BoundedTransport,
    deadline_http_transport,
)
from infobip_iac.interrupts import Stopped, critical, handle_stop_signals


class _Chunks(httpx.SyncByteStream):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks

    def close(self) -> None:
        self.closed = True


class _FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_small_answer_passes() -> None:
    inner = httpx.MockTransport(lambda request: httpx.Response(200, json={"ok": True}))
    with httpx.Client(transport=BoundedTransport(inner, max_bytes=100, deadline=5)) as client:
        assert client.get("http://x.test/").json() == {"ok": True}


def test_declared_length_over_cap_is_refused_before_reading() -> None:
    inner = httpx.MockTransport(lambda request: httpx.Response(200, content=b"x" * 101))
    with (
        httpx.Client(transport=BoundedTransport(inner, max_bytes=100, deadline=5)) as client,
        pytest.raises(AnswerTooLarge, match="declares 101 bytes"),
    ):
        client.get("http://x.test/")


def test_endless_stream_stops_at_the_cap() -> None:
    produced = 0

    def endless() -> Iterator[bytes]:
        nonlocal produced
        while True:
            produced += 1
            yield b"y" * 1000

    stream = _Chunks(endless())
    inner = httpx.MockTransport(lambda request: httpx.Response(200, stream=stream))
    with (
        httpx.Client(transport=BoundedTransport(inner, max_bytes=10_000, deadline=5)) as client,
        pytest.raises(AnswerTooLarge),
    ):
        client.get("http://x.test/")
    assert produced == 11
    assert stream.closed


def test_slow_trickle_stops_at_the_deadline() -> None:
    clock = _FakeClock()

    def trickle() -> Iterator[bytes]:
        for _ in range(1000):
            clock.now += 1.0
            yield b"z"

    inner = httpx.MockTransport(lambda request: httpx.Response(200, stream=_Chunks(trickle())))
    transport = BoundedTransport(inner, max_bytes=10_000, deadline=5, clock=clock)
    with httpx.Client(transport=transport) as client, pytest.raises(AnswerTooSlow):
        client.get("http://x.test/")
    assert clock.now <= 7


# -- one deadline for the whole call, over real sockets ----------------------------------------


def _timed_get(transport: httpx.BaseTransport, url: str) -> tuple[BaseException, float]:
    started = time.monotonic()
    with httpx.Client(transport=transport, timeout=30) as client:
        try:
            client.get(url)
        except httpx.HTTPError as error:
            return error, time.monotonic() - started
    raise AssertionError("the request should have failed")


@pytest.mark.parametrize("behaviour", ["trickles-status", "trickles-headers", "trickles"])
def test_a_trickled_answer_ends_at_the_deadline_whatever_part_trickles(behaviour: str) -> None:
    """Protection: the deadline bounds every socket read of the request (status line and
    headers included), not only the time between chunks of a body. httpx's own timeout
    (30 s here) is per read, and each trickled byte comes well within it."""
    transport = BoundedTransport(deadline_http_transport(), deadline=0.5)
    with hostile_server(behaviour) as server:
        error, elapsed = _timed_get(transport, server.base_url + "/settings/2/api-keys")
    assert isinstance(error, AnswerTooSlow), repr(error)
    assert 0.4 < elapsed < 3, elapsed


def test_silence_until_the_deadline_is_a_plain_timeout_that_may_be_retried() -> None:
    """Nothing at all came: a read timeout (retried for reads), not an unusable answer."""
    transport = BoundedTransport(deadline_http_transport(), deadline=0.5)
    with hostile_server("never-answers") as server:
        error, elapsed = _timed_get(transport, server.base_url + "/")
    assert isinstance(error, httpx.ReadTimeout) and not isinstance(error, AnswerTooSlow)
    assert 0.4 < elapsed < 3, elapsed


def test_a_stop_signal_abandons_a_request_waiting_inside_a_critical_block() -> None:
    """Protection: the transport's waits look for a pending stop between slices, so a
    signal that critical() holds back still ends the wait at once."""
    transport = BoundedTransport(deadline_http_transport(), deadline=60)
    with hostile_server("never-answers") as server:
        timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
        started = time.monotonic()
        with pytest.raises(Stopped), handle_stop_signals(), critical():
            timer.start()
            with (
                httpx.Client(transport=transport, timeout=60) as client,
                pytest.raises(httpx.ReadError),
            ):
                client.get(server.base_url + "/")
        elapsed = time.monotonic() - started
        timer.join()
    assert elapsed < 2, elapsed


def test_answers_are_asked_for_unencoded_and_an_encoded_one_is_refused() -> None:
    """Protection: a decompression bomb is never expanded: identity is asked for, and a
    compressed answer is refused before its body is read."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["accept-encoding"])
        body = gzip.compress(b" " * 1_000_000)
        return httpx.Response(200, content=body, headers={"Content-Encoding": "gzip"})

    transport = BoundedTransport(httpx.MockTransport(answer), max_bytes=10_000, deadline=5)
    with (
        httpx.Client(transport=transport) as client,
        pytest.raises(AnswerEncoded, match="gzip-encoded"),
    ):
        client.get("http://x.test/")
    assert seen == ["identity"]

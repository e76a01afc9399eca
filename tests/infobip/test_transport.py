"""Answers are bounded in size and in time, whatever the server sends."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from infobip_iac.infobip.transport import AnswerTooLarge, AnswerTooSlow, BoundedTransport


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

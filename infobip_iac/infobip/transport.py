"""A transport wrapper that bounds every answer in size and in time.

httpx's timeouts bound each network operation, not a whole answer: a server that trickles a
byte just inside the read timeout, or sends gigabytes quickly, would hold the client forever
or fill its memory. Wrapping the transport (rather than checking after a read) bounds every
body httpx reads, including the ones it reads by itself inside an auth flow.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx

__all__ = ["DEFAULT_MAX_BODY", "AnswerTooLarge", "AnswerTooSlow", "BoundedTransport"]

# The largest legitimate answer is a page of 100 keys, some tens of kilobytes.
DEFAULT_MAX_BODY = 4 * 1024 * 1024


class AnswerTooLarge(httpx.ReadError):
    """The body passed the size cap; raised while reading, so the rest is never loaded."""


class AnswerTooSlow(httpx.ReadTimeout):
    """The body took longer than the whole-answer deadline."""


class _BoundedStream(httpx.SyncByteStream):
    def __init__(
        self,
        inner: httpx.SyncByteStream,
        *,
        request: httpx.Request,
        max_bytes: int,
        deadline: float,
        clock: Callable[[], float],
    ) -> None:
        self._inner = inner
        self._request = request
        self._max_bytes = max_bytes
        self._deadline = deadline
        self._clock = clock

    def __iter__(self) -> Iterator[bytes]:
        received = 0
        for chunk in self._inner:
            received += len(chunk)
            if received > self._max_bytes:
                raise AnswerTooLarge(
                    f"answer larger than {self._max_bytes} bytes", request=self._request
                )
            if self._clock() > self._deadline:
                raise AnswerTooSlow("answer took longer than the timeout", request=self._request)
            yield chunk

    def close(self) -> None:
        self._inner.close()


class BoundedTransport(httpx.BaseTransport):
    """Delegates to `inner`, capping each answer at `max_bytes` and `deadline` seconds from
    the moment the request is handed over."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        *,
        max_bytes: int = DEFAULT_MAX_BODY,
        deadline: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = inner
        self._max_bytes = max_bytes
        self._deadline = deadline
        self._clock = clock

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        deadline = self._clock() + self._deadline
        response = self._inner.handle_request(request)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            response.close()
            raise AnswerTooLarge(
                f"answer declares {declared} bytes, more than {self._max_bytes}",
                request=request,
            )
        if not isinstance(response.stream, httpx.SyncByteStream):
            response.close()
            raise httpx.UnsupportedProtocol("an async stream reached a sync client")
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_BoundedStream(
                response.stream,
                request=request,
                max_bytes=self._max_bytes,
                deadline=deadline,
                clock=self._clock,
            ),
            extensions=response.extensions,
            request=request,
        )

    def close(self) -> None:
        self._inner.close()

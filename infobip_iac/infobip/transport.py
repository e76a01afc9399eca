"""A transport that bounds every answer in size, in encoding and in time.

httpx's timeouts bound each network operation, not a whole answer: a server that sends the
status line, a header or the body a byte at a time, each byte just inside the read timeout,
would hold the client forever, and one that sends gigabytes quickly would fill its memory.
So each request gets one deadline (`--timeout` from the moment it is handed over), and
every socket operation of that request, connect, TLS handshake, writes and reads, status
line and headers included, waits at most until that deadline. httpx offers no overall
deadline, so the bound is kept in a network backend of httpcore (the library under httpx),
which sees every socket operation: a watchdog thread closing sockets from outside would
race with the pool that reuses them.

The same backend waits in slices of a quarter second and looks for a pending stop signal
(`interrupts`) between them: a read is abandoned at once, a write after WRITE_STOP_GRACE
seconds (an ordinary answer arrives well within it, and a create answered is recorded
rather than left to the journal), even inside a critical block that holds the signal back.

Sizes count what reaches the client's memory: answers are asked for unencoded
(`Accept-Encoding: identity`) and an answer encoded all the same is refused, so a small
compressed body can never expand into gigabytes.
"""

from __future__ import annotations

import ssl
import time
import typing
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

import httpcore
import httpx

from infobip_iac import interrupts

__all__ = [
    "DEFAULT_MAX_BODY",
    "WRITE_STOP_GRACE",
    "AnswerEncoded",
    "AnswerTooLarge",
    "AnswerTooSlow",
    "BoundedTransport",
    "RequestAbandoned",
    "deadline_http_transport",
]

# The largest legitimate answer is a page of 100 keys, some tens of kilobytes.
DEFAULT_MAX_BODY = 4 * 1024 * 1024
# How often a wait on the network looks for a pending stop signal.
_POLL_SECONDS = 0.25
# How long after a stop signal a write still waits for its answer.
WRITE_STOP_GRACE = 1.5


class AnswerTooLarge(httpx.ReadError):
    """The body passed the size cap; raised while reading, so the rest is never loaded."""


class AnswerTooSlow(httpx.ReadTimeout):
    """The answer (status line, headers or body) began but did not end within the deadline."""


class AnswerEncoded(httpx.DecodingError):
    """The answer came compressed although an unencoded one was asked for."""


class RequestAbandoned(httpcore.ReadError):
    """A stop signal arrived while the request waited on the network."""


@dataclass
class _Deadline:
    at: float
    clock: Callable[[], float]
    received: int = 0  # bytes of the answer read so far
    stop_grace: float = 0.0  # how long after a stop signal the request is still waited for

    def remaining(self) -> float:
        return self.at - self.clock()


# The deadline of the request this thread is sending. A context variable, because httpx
# reads a body after `handle_request` has returned, and each reader thread sends its own.
_current: ContextVar[_Deadline | None] = ContextVar("infobip_iac_request_deadline", default=None)


def _wait_in_slices(
    operation: Callable[[float], typing.Any],
    timeout: float | None,
    expired: type[httpcore.TimeoutException],
) -> typing.Any:
    """Run `operation(slice)` until it finishes, within `timeout` and the request's
    deadline, looking for a stop signal between slices. The socket operations used here
    (connect, recv, send of one buffer) can be tried again after a timeout that did not
    end them: nothing was consumed."""
    deadline = _current.get()
    clock = deadline.clock if deadline is not None else time.monotonic
    limit = clock() + timeout if timeout is not None else None
    if deadline is not None:
        limit = deadline.at if limit is None else min(limit, deadline.at)
    grace = deadline.stop_grace if deadline is not None else 0.0
    while True:
        since = interrupts.seconds_since_stop()
        if since is not None and since >= grace:
            raise RequestAbandoned("abandoned: a stop signal arrived")
        left = None if limit is None else limit - clock()
        if left is not None and left <= 0:
            raise expired("the request took longer than the timeout")
        step = _POLL_SECONDS if left is None else min(left, _POLL_SECONDS)
        try:
            return operation(step)
        except expired:
            if left is not None and left <= _POLL_SECONDS:
                raise


def _clamped(timeout: float | None, expired: type[httpcore.TimeoutException]) -> float | None:
    """`timeout`, shortened to what is left of the request's deadline."""
    deadline = _current.get()
    if deadline is None:
        return timeout
    left = deadline.remaining()
    if left <= 0:
        raise expired("the request took longer than the timeout")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data: bytes = _wait_in_slices(
            lambda step: self._inner.read(max_bytes, step), timeout, httpcore.ReadTimeout
        )
        deadline = _current.get()
        if deadline is not None:
            deadline.received += len(data)
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        # Requests are small (a key's JSON) and go out in one send; a send cut short by a
        # slice could not be resumed, so it is bounded by the deadline alone.
        self._inner.write(buffer, _clamped(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: typing.Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _clamped(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        # Not sliced: a connection attempt cut short is not resumed but begun anew, and a
        # slow network's handshake would never finish in slices.
        if interrupts.stop_requested() is not None:
            raise RequestAbandoned("abandoned: a stop signal arrived")
        stream = self._inner.connect_tcp(
            host,
            port,
            _clamped(timeout, httpcore.ConnectTimeout),
            local_address=local_address,
            socket_options=socket_options,
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def deadline_http_transport(
    proxy: str | None = None, verify: ssl.SSLContext | bool = True
) -> httpx.HTTPTransport:
    """httpx's own transport, its socket operations bounded by each request's deadline.

    httpx's transport does not take a network backend, while the httpcore pool it wraps
    does (a public argument of httpcore): the pool's backend is wrapped in place. Should
    a later httpx hide it, the transport works unbounded by the deadline between chunks
    of a body only, and `tests/infobip/test_transport.py` fails on the header trickle."""
    transport = httpx.HTTPTransport(proxy=proxy, verify=verify)
    pool = transport._pool
    backend = getattr(pool, "_network_backend", None)
    if isinstance(backend, httpcore.NetworkBackend):
        pool._network_backend = _DeadlineBackend(backend)
    return transport


class _BoundedStream(httpx.SyncByteStream):
    def __init__(
        self,
        inner: httpx.SyncByteStream,
        *,
        request: httpx.Request,
        max_bytes: int,
        deadline: _Deadline,
    ) -> None:
        self._inner = inner
        self._request = request
        self._max_bytes = max_bytes
        self._deadline = deadline

    def __iter__(self) -> Iterator[bytes]:
        received = 0
        try:
            for chunk in self._inner:
                received += len(chunk)
                if received > self._max_bytes:
                    raise AnswerTooLarge(
                        f"answer larger than {self._max_bytes} bytes", request=self._request
                    )
                if self._deadline.remaining() < 0:
                    raise _too_slow(self._request)
                yield chunk
        except AnswerTooSlow:
            raise
        except httpx.TimeoutException:
            raise _too_slow(self._request) from None

    def close(self) -> None:
        self._inner.close()


def _too_slow(request: httpx.Request) -> AnswerTooSlow:
    return AnswerTooSlow("answer took longer than the timeout", request=request)


class BoundedTransport(httpx.BaseTransport):
    """Delegates to `inner`, capping each answer at `max_bytes` unencoded bytes and at
    `deadline` seconds from the moment the request is handed over. With `inner` made by
    `deadline_http_transport`, the deadline bounds every socket operation; with another
    transport, only the time between chunks of a body."""

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
        grace = 0.0 if request.method in ("GET", "HEAD") else WRITE_STOP_GRACE
        deadline = _Deadline(self._clock() + self._deadline, self._clock, stop_grace=grace)
        _current.set(deadline)
        request.headers["Accept-Encoding"] = "identity"
        try:
            response = self._inner.handle_request(request)
        except httpx.TimeoutException:
            # Some of the answer came, but not all of it in time (a status line or headers
            # a byte at a time): asking again would only wait as long again.
            if deadline.received:
                raise _too_slow(request) from None
            raise
        encoding = response.headers.get("content-encoding", "").strip().lower()
        if encoding not in ("", "identity"):
            response.close()
            raise AnswerEncoded(
                f"answer is {encoding[:40]}-encoded though an unencoded one was asked for",
                request=request,
            )
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
                response.stream, request=request, max_bytes=self._max_bytes, deadline=deadline
            ),
            extensions=response.extensions,
            request=request,
        )

    def close(self) -> None:
        self._inner.close()

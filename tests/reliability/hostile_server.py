"""A loopback HTTP server that answers Infobip's list of API keys in hostile ways: never,
a byte at a time (body, status line or headers), malformed, wrongly typed, with paging that
never ends, without end, as a decompression bomb, or echoing the request's credentials.
A create (POST) never gets an answer (`create_hangs`), or is answered by `create_behaviour`
(default: the same behaviour as reads).

Each behaviour is a function of the handler; the server counts the requests it got, and
sets `posted` when a create arrives. Every wait inside is bounded (and ends when the server
stops), so a test can never hang on it.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["BEHAVIOURS", "BOMB_BYTES", "HostileServer", "gzip_bomb", "hostile_server"]

_MAX_WAIT_SECONDS = 30
_HUGE_BYTES = 512 * 1024 * 1024
# The pause between the bytes or lines of a trickle: each read is quick, the answer never
# ends. (Shorter than the one a second, so that tests stay short.)
_TRICKLE_PAUSE = 0.2
# What a decompression bomb expands to; its gzip body is about a thousandth of that.
BOMB_BYTES = 256 * 1024 * 1024
_ids = itertools.count(1)
_bombs: dict[int, bytes] = {}


def gzip_bomb(expanded: int = BOMB_BYTES) -> bytes:
    """A gzip body of `expanded` spaces (JSON whitespace), made once per size."""
    if expanded not in _bombs:
        packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        block = b" " * (1024 * 1024)
        parts = [packer.compress(block) for _ in range(expanded // len(block))]
        _bombs[expanded] = b"".join([*parts, packer.flush()])
    return _bombs[expanded]


def _key(index: int) -> dict[str, Any]:
    return {
        "id": f"{index:032X}",
        "apiKeySecret": f"{index:032x}-not-a-real-secret",
        "accountId": "ACCOUNT",
        "name": f"key {index}",
        "allowedIPs": [],
        "validFrom": "2026-01-01T00:00:00Z",
        "validTo": "2027-01-01T00:00:00Z",
        "enabled": True,
        "permissions": ["PUBLIC_API"],
        "scopeGuids": [],
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HostileServer

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self.server.requests += 1
        BEHAVIOURS[self.server.behaviour](self)

    def do_POST(self) -> None:
        """A create: never answered with `create_hangs`, else answered by the behaviour."""
        self.server.requests += 1
        self.server.posts += 1
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.posted.set()
        if self.server.create_hangs:
            self.wait_until_stopped()
            return
        BEHAVIOURS[self.server.create_behaviour or self.server.behaviour](self)

    # -- helpers ------------------------------------------------------------------------

    def send_json(self, body: Any, status: int = 200) -> None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def wait_until_stopped(self) -> None:
        self.server.stopping.wait(_MAX_WAIT_SECONDS)
        self.close_connection = True


def _never_answers(handler: _Handler) -> None:
    handler.wait_until_stopped()


def _trickles(handler: _Handler) -> None:
    """Headers at once, then one byte of body every 0.2 s: each read is quick enough for a
    per-read timeout, the whole answer never arrives."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    deadline = time.monotonic() + _MAX_WAIT_SECONDS
    try:
        while time.monotonic() < deadline and not handler.server.stopping.is_set():
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(0.2)
    except OSError:
        pass  # the client gave up, as it should
    handler.close_connection = True


def _header_lines() -> Iterator[bytes]:
    return (f"X-Filler-{index}: {'x' * 20}\r\n".encode() for index in itertools.count())


def _trickles_status(handler: _Handler) -> None:
    """The status line, then the headers, a byte at a time without end."""
    head = itertools.chain([b"HTTP/1.1 200 OK\r\n"], _header_lines())
    _drip(handler, (bytes([byte]) for line in head for byte in line))


def _trickles_headers(handler: _Handler) -> None:
    """The status line at once, then one header line at a time, without end."""
    _drip(handler, itertools.chain([b"HTTP/1.1 200 OK\r\n"], _header_lines()))


def _drip(handler: _Handler, pieces: Iterable[bytes]) -> None:
    deadline = time.monotonic() + _MAX_WAIT_SECONDS
    try:
        for piece in pieces:
            if time.monotonic() > deadline or handler.server.stopping.is_set():
                break
            handler.wfile.write(piece)
            handler.wfile.flush()
            handler.server.stopping.wait(_TRICKLE_PAUSE)
    except OSError:
        pass  # the client gave up, as it should
    handler.close_connection = True


def _gzip_bomb(handler: _Handler) -> None:
    """A page of keys as gzip that expands to BOMB_BYTES, sent whatever was asked for."""
    body = gzip_bomb(handler.server.bomb_bytes)
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Encoding", "gzip")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    with suppress(OSError):
        handler.wfile.write(body)
    handler.close_connection = True  # the client hangs up on it, unread


def _echoes_headers(handler: _Handler) -> None:
    """A 400 whose description and violations repeat every request header, as some
    gateways and debugging proxies do."""
    echoed = "; ".join(f"{name}: {value}" for name, value in handler.headers.items())
    body = {
        "errorCode": "E400",
        "description": f"Bad request. Headers received: {echoed}",
        "violations": [
            {"property": name, "violation": value} for name, value in handler.headers.items()
        ],
    }
    handler.send_json(body, status=400)


def _huge_account(handler: _Handler) -> None:
    """Claims 10^11 keys in 10^9 pages, every page full of keys not seen before, whatever
    the filter (a name included): no read of it can be complete."""
    keys = [_key(next(_ids)) for _ in range(100)]
    paging = {
        "page": 0,
        "pageSize": 100,
        "totalCount": 10**11,
        "totalPages": 10**9,
        "orderBy": "id",
        "orderDirection": "ASC",
    }
    handler.send_json({"apiKeys": keys, "paging": paging})


def _empty_account(handler: _Handler) -> None:
    handler.send_json(
        {
            "apiKeys": [],
            "paging": {
                "page": 0,
                "pageSize": 100,
                "totalCount": 0,
                "totalPages": 0,
                "orderBy": "id",
                "orderDirection": "ASC",
            },
        }
    )


def _malformed_json(handler: _Handler) -> None:
    handler.send_json(b'{"apiKeys": [{"id": "1", "name": ')


def _wrong_types(handler: _Handler) -> None:
    handler.send_json({"apiKeys": "none today", "paging": {"totalPages": "many"}})


def _endless_paging(handler: _Handler) -> None:
    """Every page is full of new keys and says there are more pages than the last one did
    (while its count of keys stays small): paging that never ends."""
    query = handler.path.partition("?")[2]
    params = dict(part.partition("=")[::2] for part in query.split("&") if part)
    page = int(params.get("page", "0") or 0)
    keys = [_key(next(_ids)) for _ in range(100)]
    paging = {
        "page": page,
        "pageSize": 100,
        "totalCount": 900,
        "totalPages": page + 5,
        "orderBy": "id",
        "orderDirection": "ASC",
    }
    handler.send_json({"apiKeys": keys, "paging": paging})


def _huge_declared(handler: _Handler) -> None:
    """Declares half a gigabyte and sends it as fast as the client reads."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(_HUGE_BYTES))
    handler.end_headers()
    _pour(handler, _HUGE_BYTES)


def _huge_chunked(handler: _Handler) -> None:
    """No length at all: chunks until the client hangs up."""
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    chunk = b"[" * 65536
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    try:
        for _ in range(_HUGE_BYTES // len(chunk)):
            if handler.server.stopping.is_set():
                break
            handler.wfile.write(framed)
    except OSError:
        pass
    handler.close_connection = True


def _pour(handler: _Handler, total: int) -> None:
    block = b" " * 65536
    try:
        for _ in range(total // len(block)):
            if handler.server.stopping.is_set():
                break
            handler.wfile.write(block)
    except OSError:
        pass
    handler.close_connection = True


BEHAVIOURS: dict[str, Callable[[_Handler], None]] = {
    "never-answers": _never_answers,
    "trickles": _trickles,
    "malformed-json": _malformed_json,
    "wrong-types": _wrong_types,
    "endless-paging": _endless_paging,
    "huge-declared": _huge_declared,
    "huge-chunked": _huge_chunked,
    "trickles-status": _trickles_status,
    "trickles-headers": _trickles_headers,
    "gzip-bomb": _gzip_bomb,
    "echoes-headers": _echoes_headers,
    "huge-account": _huge_account,
    "empty-account": _empty_account,
}


class HostileServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, behaviour: str, *, create_hangs: bool = False, create_behaviour: str = ""
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = behaviour
        self.create_hangs = create_hangs
        self.create_behaviour = create_behaviour
        self.bomb_bytes = BOMB_BYTES  # what a gzip-bomb answer expands to
        self.requests = 0
        self.posts = 0
        self.posted = threading.Event()
        self.stopping = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up on a hostile answer is what the tests want, not an error
        # to print over their output; anything else still is.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def hostile_server(
    behaviour: str, *, create_hangs: bool = False, create_behaviour: str = ""
) -> Iterator[HostileServer]:
    server = HostileServer(behaviour, create_hangs=create_hangs, create_behaviour=create_behaviour)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

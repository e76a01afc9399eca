"""A loopback HTTP server that answers Infobip's list of API keys in hostile ways: never,
a byte at a time, malformed, wrongly typed, with paging that never ends, or without end.

Each behaviour is a function of the handler; the server counts the requests it got. Every
wait inside is bounded (and ends when the server stops), so a test can never hang on it.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["BEHAVIOURS", "HostileServer", "hostile_server"]

_MAX_WAIT_SECONDS = 30
_HUGE_BYTES = 512 * 1024 * 1024
_ids = itertools.count(1)


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
}


class HostileServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, behaviour: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = behaviour
        self.requests = 0
        self.stopping = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def hostile_server(behaviour: str) -> Iterator[HostileServer]:
    server = HostileServer(behaviour)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

"""The emulator as an HTTP server on loopback, runnable in-process (`with EmulatorServer()`).

Built on the standard library's `http.server.ThreadingHTTPServer` rather than an ASGI stack:
fault injection must be able to close a connection having sent zero bytes, and to commit a
write and then close without answering, which ASGI servers do not let an application do.
The standard library is well kept and adds no dependency."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import selectors
import socket
import sys
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from infobip_iac.emulator.auth import Authenticator
from infobip_iac.emulator.catalog import load_catalog
from infobip_iac.emulator.clock import EmulatorClock, format_http_date
from infobip_iac.emulator.control import ControlApi
from infobip_iac.emulator.control_client import EmulatorControl
from infobip_iac.emulator.dispatch import Dispatcher, RequestHook, ResponseHook
from infobip_iac.emulator.faults import FaultPlan
from infobip_iac.emulator.hostile import HostileAnswer, write_hostile
from infobip_iac.emulator.limits import ReadBudget
from infobip_iac.emulator.model import DEFAULT_ROLE, EmulatorUser
from infobip_iac.emulator.operations import InfobipApi, LimitScope
from infobip_iac.emulator.persistence import read_document, write_document
from infobip_iac.emulator.routing import Answer
from infobip_iac.emulator.services import Services
from infobip_iac.emulator.stats import RequestStats
from infobip_iac.emulator.store import Store

__all__ = ["DEFAULT_USER", "EmulatorServer"]

log = logging.getLogger("infobip_iac.emulator")

DEFAULT_USER = EmulatorUser("admin", "admin", (DEFAULT_ROLE,))

# Bodies larger than this are refused unread: the largest legitimate one is a seed of some
# tens of thousands of keys.
MAX_BODY_BYTES = 256 * 1024 * 1024


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], family: socket.AddressFamily) -> None:
        self.address_family = family
        self.dispatcher: Dispatcher | None = None
        self.clock = EmulatorClock()
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        # serve_forever polls for its stop every poll_interval, so stopping waits that long
        # (50 ms, a sixth of a one-key `plan --emulator`). `serve` waits on the socket and on
        # this pipe instead, and `stop_serving` ends it at once by writing to the pipe.
        self._wake_read, self._wake_write = os.pipe()
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        super().__init__(address, _Handler)

    def serve(self) -> None:
        """Accept connections until `stop_serving` is called."""
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(self.socket, selectors.EVENT_READ)
                selector.register(self._wake_read, selectors.EVENT_READ)
                while not self._stopping.is_set():
                    for key, _ in selector.select():
                        if key.fileobj is self.socket and not self._stopping.is_set():
                            self.handle_request()
        finally:
            self._stopped.set()

    def stop_serving(self, timeout: float = 5.0) -> None:
        """End `serve` and wait until it has (at most `timeout` seconds)."""
        self._stopping.set()
        with contextlib.suppress(OSError):  # the pipe is full: the loop is awake anyway
            os.write(self._wake_write, b"x")
        self._stopped.wait(timeout)

    def server_close(self) -> None:
        super().server_close()
        for end in (self._wake_read, self._wake_write):
            with contextlib.suppress(OSError):
                os.close(end)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-exchange (as fault tests do on purpose) is no error of
        # the emulator's; anything else is logged, not printed over the test output.
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError | TimeoutError):
            log.warning("emulator connection failed", exc_info=True)

    def close_open_connections(self) -> None:
        """End kept-alive connections too, so no client keeps talking to a stopped server."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):  # already closed by the client
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "infobip-iac-emulator"
    sys_version = ""
    # Headers and body go out in two writes; without this, Nagle and delayed ACKs add 40 ms.
    disable_nagle_algorithm = True
    server: _HttpServer
    # Idle keep-alive connections are closed after this many seconds.
    timeout = 60

    def __getattr__(self, name: str) -> Any:
        # http.server looks up `do_<METHOD>` and answers 501 in HTML when it is missing;
        # Infobip answers any method it does not serve with a 404 ApiError, so every method
        # goes through the router.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        # Request lines may carry an apiKeySecret filter; nothing is logged.
        return

    def date_time_string(self, timestamp: float | None = None) -> str:
        # Clients read Infobip's time from the Date header: it follows the emulator clock.
        return format_http_date(self.server.clock.now())

    def _serve(self) -> None:
        dispatcher = self.server.dispatcher
        assert dispatcher is not None
        body = self._read_body()
        if body is None:
            self.close_connection = True
            return
        target = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        answer = dispatcher.dispatch(
            self.command,
            target.path,
            parse_qs(target.query, keep_blank_values=True),
            headers,
            body,
            client_ip=str(self.client_address[0]),
        )
        if isinstance(answer, HostileAnswer):
            write_hostile(answer, self.wfile)
            self.close_connection = True
            return
        if not isinstance(answer, Answer):  # DROP: close having sent nothing
            self.close_connection = True
            return
        self._send(answer.status, answer.body, answer.headers)

    def _read_body(self) -> bytes | None:
        """The request body, or None after answering a request whose body cannot be read."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunks()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self._send(400, {"error": "missing, invalid or too large Content-Length"}, {})
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunks(self) -> bytes | None:
        parts: list[bytes] = []
        received = 0
        while True:
            line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                self._send(400, {"error": "malformed chunked body"}, {})
                return None
            received += size
            if received > MAX_BODY_BYTES:
                self._send(400, {"error": "request body too large"}, {})
                return None
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline(8)  # the CRLF after each chunk

    def _send(self, status: int, body: Any, headers: dict[str, str]) -> None:
        payload = b"" if body is None else json.dumps(body).encode("utf-8")
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":  # a HEAD answer has the headers of the body, not the body
            self.wfile.write(payload)


class EmulatorServer:
    """Infobip's account-management API on a loopback port, in this process.

    `port=0` picks a free port; `data_path` keeps every key, account and user across
    restarts; `write_limit`/`read_rate` of 0 or less mean unlimited (every write request
    counts, refused ones too, unless `count_refused_writes` is False); `limit_scope` keys the
    budgets by account or by authenticated caller; `on_response(method, path_template,
    status, body_json)` sees every answer to an Infobip operation, `on_request(method,
    path_template, headers, body_bytes)` every request to one."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        data_path: Path | None = None,
        users: Sequence[EmulatorUser] | None = None,
        write_limit: int = 40,
        count_refused_writes: bool = True,
        read_rate: float = 10.0,
        limit_scope: LimitScope = "account",
        on_response: ResponseHook | None = None,
        on_request: RequestHook | None = None,
    ) -> None:
        if limit_scope not in ("account", "caller"):
            raise ValueError("limit_scope must be 'account' or 'caller'")
        self.host = host
        self._port = port
        self.data_path = data_path
        self._initial_users = list(users) if users is not None else [DEFAULT_USER]
        self._write_limit = write_limit
        self._count_refused_writes = count_refused_writes
        self._read_rate = read_rate
        self._limit_scope: LimitScope = limit_scope
        self._on_response = on_response
        self._on_request = on_request
        self._store = self._load_store()
        self._http: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def main_account_id(self) -> str:
        return self._store.main_account_id

    @property
    def port(self) -> int:
        if self._http is None:
            raise RuntimeError("the emulator is not running")
        return int(self._http.server_address[1])

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def control(self) -> EmulatorControl:
        """A client of this emulator's control API."""
        return EmulatorControl(self.base_url)

    def start(self) -> EmulatorServer:
        if self._http is not None:
            return self
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        http = _HttpServer((self.host, self._port), family)
        catalog = load_catalog()
        faults = FaultPlan()
        stats = RequestStats()
        services = Services(
            store=self._store,
            clock=http.clock,
            auth=Authenticator(self._store, catalog),
            catalog=catalog,
            reads=ReadBudget(self._read_rate),
            persist=self._persist,
        )
        infobip = InfobipApi(
            services,
            write_limit=self._write_limit,
            count_refused_writes=self._count_refused_writes,
            limit_scope=self._limit_scope,
        )
        control = ControlApi(
            services,
            faults=faults,
            stats=stats,
            initial_users=self._initial_users,
            infobip_operations=lambda: dispatcher.infobip.operations(),
        )
        dispatcher = Dispatcher(
            store=self._store,
            infobip=infobip.routes(),
            control=control.routes(),
            faults=faults,
            stats=stats,
            on_response=self._on_response,
            on_request=self._on_request,
        )
        http.dispatcher = dispatcher
        self._http = http
        self._thread = threading.Thread(
            target=http.serve,
            name=f"infobip-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        http, thread = self._http, self._thread
        if http is None:
            return
        http.stop_serving()
        http.close_open_connections()
        http.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._http = None
        self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _load_store(self) -> Store:
        document = read_document(self.data_path) if self.data_path is not None else None
        store = Store.from_document(document) if document is not None else Store()
        # The configured users always sign in, next to any the data file already holds.
        for user in self._initial_users:
            store.add_user(user)
        self._persist_store(store)
        return store

    def _persist(self) -> None:
        self._persist_store(self._store)

    def _persist_store(self, store: Store) -> None:
        if self.data_path is not None:
            write_document(self.data_path, store.to_document())

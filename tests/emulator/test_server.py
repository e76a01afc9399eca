"""The HTTP server: loopback binding, the Date header from the emulator clock, keep-alive,
stopping, IPv6, and the public entry point."""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
import pytest

import infobip_iac.emulator as package
from infobip_iac.emulator import EmulatorServer

from .conftest import RawExchange


def test_public_api_is_pinned() -> None:
    assert package.__all__ == [
        "DEFAULT_USER",
        "ControlRequestError",
        "EmulatorControl",
        "EmulatorServer",
        "EmulatorUser",
    ]


def test_context_manager_binds_a_free_loopback_port() -> None:
    with EmulatorServer() as first, EmulatorServer() as second:
        assert first.base_url.startswith("http://127.0.0.1:")
        assert first.port != second.port
        assert (
            httpx.get(first.base_url + "/settings/2/api-keys", auth=("admin", "admin")).status_code
            == 200
        )
    with pytest.raises(RuntimeError, match="not running"):
        _ = first.base_url


def test_stop_ends_the_serving_thread_without_waiting_for_a_poll() -> None:
    """The accept loop waits on its socket with no timeout, so it ends only because stop
    wakes it: were the wake lost, the thread would still be alive after stop."""
    server = EmulatorServer().start()
    thread = server._thread
    assert thread is not None and thread.is_alive()
    httpx.get(server.base_url + "/settings/2/api-keys", auth=("admin", "admin"))
    server.stop()
    assert not thread.is_alive()
    server.stop()  # a second stop is harmless


def test_every_answer_carries_the_emulator_clock_as_date(emulator: EmulatorServer) -> None:
    emulator.control.set_clock("2040-02-29T12:00:00Z")
    for response in (
        httpx.get(emulator.base_url + "/settings/2/api-keys", auth=("admin", "admin")),
        httpx.get(emulator.base_url + "/settings/2/api-keys"),
        httpx.get(emulator.base_url + "/nowhere"),
        httpx.get(emulator.base_url + "/_emulator/stats"),
    ):
        served = parsedate_to_datetime(response.headers["Date"])
        assert abs(served - datetime(2040, 2, 29, 12, tzinfo=UTC)) < timedelta(seconds=5)


def test_keep_alive_connections_are_reused_and_cut_at_stop(
    make_emulator: Callable[..., EmulatorServer],
) -> None:
    server = make_emulator(read_rate=0)
    with httpx.Client(base_url=server.base_url, auth=("admin", "admin"), timeout=5) as client:
        for _ in range(5):
            assert client.get("/settings/2/api-keys").status_code == 200
        server.stop()
        with pytest.raises(httpx.TransportError):
            client.get("/settings/2/api-keys")


def test_ipv6_loopback(make_emulator: Callable[..., EmulatorServer]) -> None:
    if not socket.has_ipv6:
        pytest.skip("this machine has no IPv6")
    try:
        server = make_emulator(host="::1")
    except OSError as error:
        pytest.skip(f"IPv6 loopback is not available here: {error}")
    assert server.base_url.startswith("http://[::1]:")
    assert (
        httpx.get(server.base_url + "/settings/2/api-keys", auth=("admin", "admin")).status_code
        == 200
    )


def test_a_port_in_use_is_an_error(emulator: EmulatorServer) -> None:
    with pytest.raises(OSError):
        EmulatorServer(port=emulator.port).start()


def test_the_secret_is_not_in_reprs() -> None:
    from infobip_iac.emulator import DEFAULT_USER

    assert "admin" in repr(DEFAULT_USER)
    assert "password" not in repr(DEFAULT_USER)


def test_bad_limit_scope_is_refused() -> None:
    with pytest.raises(ValueError, match="limit_scope"):
        EmulatorServer(limit_scope="planet")  # type: ignore[arg-type]


AUTH = "Authorization: Basic YWRtaW46YWRtaW4=\r\n"


def test_a_chunked_body_is_read(emulator: EmulatorServer, raw_exchange: RawExchange) -> None:
    body = b'{"name": "chunked"}'
    request = (
        f"POST /settings/2/api-keys HTTP/1.1\r\nHost: x\r\n{AUTH}Connection: close\r\n"
        "Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
    ).encode() + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    answer = raw_exchange(emulator, request)
    assert answer.startswith(b"HTTP/1.1 200")
    assert b'"name": "chunked"' in answer


@pytest.mark.parametrize("length", ["ten", "-1"])
def test_a_bad_content_length_is_400(
    emulator: EmulatorServer, raw_exchange: RawExchange, length: str
) -> None:
    request = (
        f"POST /settings/2/api-keys HTTP/1.1\r\nHost: x\r\n{AUTH}Content-Length: {length}\r\n\r\n"
    ).encode()
    assert raw_exchange(emulator, request).startswith(b"HTTP/1.1 400")


def test_head_answers_headers_only(emulator: EmulatorServer) -> None:
    with httpx.Client(base_url=emulator.base_url, auth=("admin", "admin"), timeout=5) as client:
        head = client.head("/settings/2/api-keys")
        assert head.status_code == 404
        assert head.content == b""
        assert client.get("/settings/2/api-keys").status_code == 200  # the connection is sound

"""Fixtures for the emulator's tests: HTTP clients signed in to a running emulator."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import httpx
import pytest

from infobip_iac.emulator import EmulatorServer


@pytest.fixture
def emulator(make_emulator: Callable[..., EmulatorServer]) -> EmulatorServer:
    """As the shared fixture, but reads unthrottled: only the rate-limit tests, which start
    their own emulators, are about the 10 reads per second."""
    return make_emulator(read_rate=0)


@pytest.fixture
def api(emulator: EmulatorServer) -> Iterator[httpx.Client]:
    """The default user (admin/admin, Account Manager) over Basic authentication."""
    with httpx.Client(base_url=emulator.base_url, auth=("admin", "admin"), timeout=10) as client:
        yield client


@pytest.fixture
def anonymous(emulator: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.base_url, timeout=10) as client:
        yield client


RawExchange = Callable[[EmulatorServer, bytes], bytes]


@pytest.fixture
def raw_exchange() -> RawExchange:
    """Send raw bytes as one HTTP request and read until the server closes: exactly what it
    sent back (b"" when it closed without a byte)."""

    def exchange(server: EmulatorServer, request: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(request)
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
            return received

    return exchange

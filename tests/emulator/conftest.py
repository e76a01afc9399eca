"""Fixtures for the emulator's tests: HTTP clients signed in to a running emulator."""

from __future__ import annotations

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

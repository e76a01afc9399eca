"""Fixtures for the Infobip client tests: clients bound to an emulator, seeded keys, counts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from infobip_iac.domain.secret import Secret
from infobip_iac.emulator import EmulatorServer
from infobip_iac.infobip.client import InfobipClient
from infobip_iac.infobip.pacing import ReadBudget
from infobip_iac.infobip.settings import Credentials, UserCredentials

ADMIN = UserCredentials("admin", Secret("admin"))
LIST_OPERATION = "GET /settings/2/api-keys"


@pytest.fixture
def unlimited_emulator(make_emulator: Callable[..., EmulatorServer]) -> EmulatorServer:
    """An emulator with its read limit lifted, for tests that are not about pacing."""
    return make_emulator(read_rate=0)


@pytest.fixture
def connect() -> Iterator[Callable[..., InfobipClient]]:
    """`connect(server, credentials=ADMIN, **options)`: a client closed after the test.
    Retries back off in milliseconds, so retry tests stay fast."""
    clients: list[InfobipClient] = []

    def make(
        server: EmulatorServer, credentials: Credentials = ADMIN, **options: Any
    ) -> InfobipClient:
        options.setdefault("backoff", 0.005)
        options.setdefault("timeout", 5.0)
        client = InfobipClient(base_url=server.base_url, credentials=credentials, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def fast_budget() -> Callable[[], ReadBudget]:
    """A read budget far above anything a test reaches (use with `unlimited_emulator`)."""
    return lambda: ReadBudget(10_000.0)


@pytest.fixture
def seed() -> Callable[..., list[str]]:
    """`seed(server, count, prefix=, enabled=, account_id=)`: keys named `<prefix>-<i>`."""

    def make(
        server: EmulatorServer,
        count: int,
        *,
        prefix: str = "key",
        enabled: bool = True,
        account_id: str | None = None,
        **fields: Any,
    ) -> list[str]:
        keys = [{"name": f"{prefix}-{i}", "enabled": enabled, **fields} for i in range(count)]
        return server.control.seed(keys, account_id=account_id)

    return make


@pytest.fixture
def requests_of() -> Callable[[EmulatorServer, str], int]:
    """How many requests the emulator counted for one operation (`"GET /path"`)."""

    def count(server: EmulatorServer, operation: str) -> int:
        return int(server.control.stats()["requests"].get(operation, 0))

    return count

"""Fixtures of the scale tests: emulators holding thousands of keys in many accounts, keys
as a busy account holds them, manifests that declare them, and projects wired to them.

These emulators skip the spec-conformance check of every answer that the shared
`make_emulator` does: at thousands of keys it would cost more than the tests themselves,
and the emulator's own tests check its answers against the spec.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from e2e.workspace import Workspace

from infobip_iac.emulator import EmulatorServer

SCOPES = ["sms:message:send", "sms:logs:read", "2fa:pin:send", "email:message:send"]

MakeServer = Callable[..., EmulatorServer]


@pytest.fixture
def make_server() -> Iterator[MakeServer]:
    """`make_server(read_rate=..., limit_scope=..., write_limit=...)`: emulators stopped
    after the test."""
    started: list[EmulatorServer] = []

    def make(**settings: Any) -> EmulatorServer:
        server = EmulatorServer(**settings)
        started.append(server.start())
        return server

    yield make
    for server in started:
        server.stop()


def busy_keys(count: int, *, prefix: str = "svc", seed: int = 1) -> list[dict[str, Any]]:
    """`count` keys in Infobip's JSON: names in no relation to the server's random ids or to
    creation times (spread over two years), every key valid today."""
    draw = random.Random(seed)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=730)
    keys = []
    for i in range(count):
        created = start + timedelta(minutes=draw.randrange(730 * 24 * 60))
        keys.append(
            {
                "name": f"{prefix}-{i:05d}",
                "scopeGuids": sorted(draw.sample(SCOPES, draw.randint(1, 2))),
                "allowedIPs": [f"10.{i % 250}.{i // 250 % 250}.0/24"],
                "validFrom": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "validTo": (created + timedelta(days=3 * 365)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    return keys


def seed_keys(server: EmulatorServer, keys: list[dict[str, Any]], account_id: str | None) -> None:
    for start in range(0, len(keys), 5_000):
        server.control.seed(keys[start : start + 5_000], account_id=account_id)


def declare(path: Path, account: str, keys: list[dict[str, Any]]) -> None:
    """A manifest declaring `keys` in `account` exactly as they are live."""
    lines = ["version: 1", f"account: {account!r}", "api_keys:"]
    for key in keys:
        lines += [
            f"  {key['name']}:",
            f"    scopes: [{', '.join(key['scopeGuids'])}]",
            f"    allowed_ips: [{', '.join(key['allowedIPs'])}]",
            f"    valid_from: {key['validFrom']}",
            f"    valid_to: {key['validTo']}",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[[EmulatorServer], Workspace]:
    """`project(server)`: a project folder whose commands talk to `server`."""
    return lambda server: Workspace.open(tmp_path, server, capsys, monkeypatch)

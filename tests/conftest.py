"""Fixtures shared by every test package."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pgstate import PgState

from infobip_iac.emulator import EmulatorControl, EmulatorServer

# The secret leak guard (tests/leakguard.py) watches every test in which an emulator runs;
# pytester lets its own test run an inner session.
pytest_plugins = ("leakguard", "pytester")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long tests (marked `slow`) start first: on several workers (pytest-xdist, as the
    README's test line runs) none of them is then left running alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


# --- the emulator of Infobip's account-management API --------------------------------------


@pytest.fixture(scope="session")
def conformance() -> Any:
    """The checker of emulator answers against Infobip's OpenAPI document (session-wide),
    vendored in tests/data/infobip/."""
    from emulator.conformance import ConformanceChecker

    return ConformanceChecker()


@pytest.fixture
def make_emulator(conformance: Any) -> Iterator[Callable[..., EmulatorServer]]:
    """Start emulators with custom settings (`make_emulator(write_limit=2)`), each checked:
    the test fails if any answer to an Infobip operation did not match the spec's schema,
    or if any request body this tool's client sent did not match the request schema (tests
    that send bad bodies on purpose do so with their own HTTP client)."""
    started: list[EmulatorServer] = []
    first_problem = len(conformance.problems)

    def check(method: str, template: str, status: int, body: Any) -> None:
        conformance.check(method, template, status, body)

    def check_request(method: str, template: str, headers: Any, body: bytes) -> None:
        if not headers.get("user-agent", "").startswith("infobip-iac/"):
            return
        if method in ("POST", "PUT") and template.startswith("/settings/2/api-keys"):
            try:
                sent = json.loads(body)
            except ValueError:
                conformance.problems.append(f"{method} {template} request: not JSON")
                return
            conformance.problems.extend(conformance.request_problems(method, template, sent))

    def make(**settings: Any) -> EmulatorServer:
        settings.setdefault("on_request", check_request)
        server = EmulatorServer(on_response=check, **settings)
        started.append(server.start())
        return server

    yield make
    for server in started:
        server.stop()
    seen = conformance.problems[first_problem:]
    if seen:
        pytest.fail("requests or answers that break the spec:\n" + "\n".join(seen[:20]))


@pytest.fixture
def emulator(make_emulator: Callable[..., EmulatorServer]) -> EmulatorServer:
    """An emulator on a free loopback port, default user admin/admin, default limits."""
    return make_emulator()


@pytest.fixture
def emulator_control(emulator: EmulatorServer) -> EmulatorControl:
    """The control API (reset, seed, clock, faults, stats, accounts, users, secrets)."""
    return emulator.control


# --- files ---------------------------------------------------------------------------------


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask, so that only the code's own modes can keep files private."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


# --- the PostgreSQL state backend ----------------------------------------------------------

# Where the database backend's tests find a server: a libpq URL of a database they may create
# schemas in. CI sets it (see .ci/run); without it those tests skip, saying so.
TEST_PG_VARIABLE = "INFOBIP_IAC_TEST_PG"


@pytest.fixture
def pg_state() -> Iterator[PgState]:
    """A schema of its own (parallel runs never meet), dropped afterwards."""
    admin = os.environ.get(TEST_PG_VARIABLE)
    if not admin:
        pytest.skip(
            f"{TEST_PG_VARIABLE} is not set, so there is no PostgreSQL server to test the "
            f"database backend against (CI sets it; e.g. {TEST_PG_VARIABLE}="
            "postgresql://postgres@127.0.0.1:5432/test)"
        )
    state = PgState(admin=admin, schema=f"t_{uuid.uuid4().hex[:16]}", name="test")
    try:
        yield state
    finally:
        state.query(f'DROP SCHEMA IF EXISTS "{state.schema}" CASCADE')


@pytest.fixture(params=["file", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A `--state` location of each backend in turn: a file, then a PostgreSQL schema.
    Tests that every backend must pass take this instead of a path."""
    if request.param == "file":
        return str(tmp_path / "state.json")
    pg: PgState = request.getfixturevalue("pg_state")
    return pg.url

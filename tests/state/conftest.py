"""Fixtures and builders for the state tests."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from infobip_iac.errors import StateError
from infobip_iac.state.lock import LockInfo, StateLock
from infobip_iac.state.model import ResourceState, SecretRecord, StateDocument
from infobip_iac.state.store import StateStore

DATA = Path(__file__).parent / "data"


def make_resource(ident: str, *, key_id: str | None = None) -> ResourceState:
    """A managed key as apply would record it after a create with a file sink."""
    name = f"{ident} key"
    return ResourceState(
        id=key_id or f"{ident.upper():0<32}"[:32],
        account="_",
        account_id="8F0792F86035A9F4290821F1EE6BC06A",
        name=name,
        attributes={
            "name": name,
            "scopes": ["sms:logs:read", "sms:message:send"],
            "permissions": ["PUBLIC_API"],
            "platform": [],
            "allowed_ips": ["198.51.100.7/32"],
            "valid_from": "2026-01-01T00:00:00Z",
            "valid_to": "2026-07-01T00:00:00Z",
            "enabled": True,
        },
        valid_for="180d",
        secret=SecretRecord(
            sink="file",
            status="delivered",
            location=f"secrets/api_keys.{ident}.env",
            files_written=[f"secrets/api_keys.{ident}.env"],
        ),
    )


def make_document(*idents: str) -> StateDocument:
    doc = StateDocument()
    for ident in idents:
        doc.resources[f"api_keys.{ident}"] = make_resource(ident)
    return doc


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / ".infobip-iac" / "state.json"


@pytest.fixture
def store(state_path: Path) -> StateStore:
    return StateStore(state_path)


@pytest.fixture
def hold(state_path: Path) -> Iterator[Callable[[str], LockInfo]]:
    """Take the state lock in this process (as a running apply would); released at teardown."""
    taken: list[LockInfo] = []

    def take(operation: str = "apply") -> LockInfo:
        info = LockInfo.new(operation)
        StateLock(state_path).acquire(info, timeout=0)
        taken.append(info)
        return info

    yield take
    for info in taken:
        with contextlib.suppress(StateError):
            StateLock(state_path).release(info.id)

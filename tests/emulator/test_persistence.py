"""The data file: written atomically after each mutation, loaded at start; a restart keeps
every key, account and user, and no session or token."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from infobip_iac.emulator import EmulatorServer
from infobip_iac.emulator.persistence import read_document, write_document

KEYS = "/settings/2/api-keys"


def test_a_restart_keeps_keys_accounts_users_but_no_sign_in(
    make_emulator: Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    data = tmp_path / "nested" / "emulator.json"
    first = make_emulator(data_path=data)
    sub = first.control.add_account("B")
    first.control.add_user("bob", "pw", account_id=sub)
    with httpx.Client(base_url=first.base_url, auth=("admin", "admin"), timeout=10) as api:
        created = api.post(KEYS, json={"name": "kept", "scopeGuids": ["sms:manage"]}).json()
        api.put(f"{KEYS}/{created['id']}", json={"enabled": False})
        token = api.post("/auth/1/session", json={"username": "admin", "password": "admin"})
    first.control.seed([{"name": "seeded"}], account_id=sub)
    main_account = first.main_account_id
    first.stop()

    second = make_emulator(data_path=data)
    assert second.main_account_id == main_account
    with httpx.Client(base_url=second.base_url, timeout=10) as client:
        kept = client.get(f"{KEYS}/{created['id']}", auth=("admin", "admin")).json()
        assert kept == {**created, "enabled": False}
        assert [k["name"] for k in client.get(KEYS, auth=("bob", "pw")).json()["apiKeys"]] == [
            "seeded"
        ]
        header = {"Authorization": f"IBSSO {token.json()['token']}"}
        assert client.get(KEYS, headers=header).status_code == 401
    document = json.loads(data.read_text())
    assert "token" not in json.dumps(document["users"])
    assert stat.S_IMODE(data.stat().st_mode) == 0o600


def test_the_daily_write_count_survives_a_restart(
    make_emulator: Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    data = tmp_path / "emulator.json"
    first = make_emulator(data_path=data, write_limit=1)
    with httpx.Client(base_url=first.base_url, auth=("admin", "admin"), timeout=10) as api:
        assert api.post(KEYS, json={"name": "a"}).status_code == 200
    first.stop()
    second = make_emulator(data_path=data, write_limit=1)
    with httpx.Client(base_url=second.base_url, auth=("admin", "admin"), timeout=10) as api:
        assert api.post(KEYS, json={"name": "b"}).status_code == 429


def test_writes_replace_the_file_whole_and_leave_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "data.json"
    write_document(target, {"a": 1})
    write_document(target, {"b": 2})
    assert read_document(target) == {"b": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["data.json"]


def test_a_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "data.json"
    write_document(target, {"a": 1})
    with pytest.raises(TypeError):
        write_document(target, {"not json": object()})
    assert read_document(target) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["data.json"]


def test_missing_and_broken_files(tmp_path: Path) -> None:
    assert read_document(tmp_path / "absent.json") is None
    broken = tmp_path / "broken.json"
    broken.write_text("{oops")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_document(broken)
    broken.write_text("[1]")
    with pytest.raises(ValueError, match="JSON object"):
        read_document(broken)
    broken.write_text('{"format": 99}')
    with pytest.raises(ValueError, match="unknown emulator data format"):
        EmulatorServer(data_path=broken)

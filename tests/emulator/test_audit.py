"""The audit log: an entry for each API-key write, in the spec's SearchResult shape, read
with the audit-logs:read scope."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from infobip_iac.emulator import EmulatorServer

KEYS = "/settings/2/api-keys"
AUDIT = "/audit/1/logs"
FIELDS = {"id", "action", "item", "description", "username", "ipAddress", "timestamp"}


def _write_three(api: httpx.Client) -> dict[str, Any]:
    """Create a key, rename it, revoke it."""
    key = api.post(KEYS, json={"name": "billing"}).json()
    assert api.put(f"{KEYS}/{key['id']}", json={"name": "billing v2"}).status_code == 200
    assert api.put(f"{KEYS}/{key['id']}", json={"enabled": False}).status_code == 200
    return key


def test_each_key_write_is_an_entry_newest_first(api: httpx.Client) -> None:
    key = _write_three(api)

    response = api.get(AUDIT)

    assert response.status_code == 200, response.text
    entries = response.json()
    assert [entry["action"] for entry in entries] == ["Disable", "Update", "Create"]
    for entry in entries:
        assert set(entry) == FIELDS
        assert entry["item"] == "ApiKey"
        assert key["id"] in entry["description"]
        assert entry["username"] == "admin"
        assert entry["ipAddress"] == "127.0.0.1"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:?\d\d)", entry["timestamp"])
    assert "'billing v2'" in entries[0]["description"]
    assert "'billing'" in entries[2]["description"]
    assert len({entry["id"] for entry in entries}) == 3


def test_filters_and_limit(api: httpx.Client) -> None:
    _write_three(api)

    assert [e["action"] for e in api.get(AUDIT, params={"action": "Create"}).json()] == ["Create"]
    assert api.get(AUDIT, params={"item": "User"}).json() == []
    assert [e["action"] for e in api.get(AUDIT, params={"limit": 1}).json()] == ["Disable"]
    assert api.get(AUDIT, params={"from": "2000-01-01T00:00:00.000+0000"}).json()
    assert api.get(AUDIT, params={"to": "2000-01-01T00:00:00.000+0000"}).json() == []
    refused = api.get(AUDIT, params={"limit": 0})
    assert refused.status_code == 400
    assert refused.json()["requestError"]["serviceException"]["messageId"] == "BAD_REQUEST"


def test_reading_it_needs_the_audit_scope(emulator: EmulatorServer, api: httpx.Client) -> None:
    _write_three(api)
    # Analyze Manager may manage API keys but not read the audit log.
    emulator.control.add_user("analyst", "pw", roles=["Analyze Manager"])
    with httpx.Client(base_url=emulator.base_url, auth=("analyst", "pw"), timeout=10) as other:
        assert other.get(KEYS).status_code == 200
        refused = other.get(AUDIT)

    assert refused.status_code == 403
    assert "audit-logs:read" in refused.json()["requestError"]["serviceException"]["text"]


def test_a_sub_account_users_writes_are_in_the_main_accounts_log(
    emulator: EmulatorServer, api: httpx.Client
) -> None:
    sub = emulator.control.add_account("Team")
    emulator.control.add_user("team.lead", "pw", account_id=sub)
    with httpx.Client(base_url=emulator.base_url, auth=("team.lead", "pw"), timeout=10) as lead:
        assert lead.post(KEYS, json={"name": "team key"}).status_code == 200
        own = lead.get(AUDIT).json()

    entries = api.get(AUDIT).json()
    assert [(e["username"], e["action"]) for e in entries] == [("team.lead", "Create")]
    assert own == entries


def test_the_answers_conform_to_the_spec(api: httpx.Client, conformance: Any) -> None:
    _write_three(api)

    assert conformance.problems_of("GET", AUDIT, 200, api.get(AUDIT).json()) == []
    refused = api.get(AUDIT, params={"limit": 0})
    assert conformance.problems_of("GET", AUDIT, 400, refused.json()) == []


def test_the_log_survives_a_restart(
    make_emulator: Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    data = tmp_path / "emulator.json"
    first = make_emulator(data_path=data, read_rate=0)
    with httpx.Client(base_url=first.base_url, auth=("admin", "admin"), timeout=10) as api:
        _write_three(api)
        before = api.get(AUDIT).json()
    first.stop()

    second = make_emulator(data_path=data, read_rate=0)
    with httpx.Client(base_url=second.base_url, auth=("admin", "admin"), timeout=10) as api:
        assert api.get(AUDIT).json() == before

"""Sub-accounts: keys isolated per account, `accountId` from the main account, 403 and 404
across accounts, and GET /settings/1/accounts."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from infobip_iac.emulator import EmulatorControl, EmulatorServer

KEYS = "/settings/2/api-keys"


@pytest.fixture
def sub_account(emulator_control: EmulatorControl) -> str:
    return emulator_control.add_account("Team B", account_id="B" * 32)


@pytest.fixture
def sub_user(
    emulator: EmulatorServer, emulator_control: EmulatorControl, sub_account: str
) -> Iterator[httpx.Client]:
    emulator_control.add_user("bob", "pw", account_id=sub_account)
    with httpx.Client(base_url=emulator.base_url, auth=("bob", "pw"), timeout=10) as client:
        yield client


def test_main_account_user_manages_sub_account_keys_through_account_id(
    api: httpx.Client, sub_account: str
) -> None:
    created = api.post(KEYS, json={"name": "team-b", "accountId": sub_account}).json()
    assert created["accountId"] == sub_account
    assert api.get(KEYS).json()["apiKeys"] == []
    listed = api.get(KEYS, params={"accountId": sub_account}).json()["apiKeys"]
    assert [k["id"] for k in listed] == [created["id"]]
    updated = api.put(
        f"{KEYS}/{created['id']}", json={"accountId": sub_account, "enabled": False}
    ).json()
    assert updated["enabled"] is False
    # Without accountId an update means the caller's own account, where the key is not.
    assert api.put(f"{KEYS}/{created['id']}", json={"enabled": True}).status_code == 404
    assert api.get(f"{KEYS}/{created['id']}").status_code == 200


def test_sub_account_user_sees_only_its_own_keys(
    api: httpx.Client, sub_user: httpx.Client, sub_account: str, emulator: EmulatorServer
) -> None:
    main_key = api.post(KEYS, json={"name": "main"}).json()
    own = sub_user.post(KEYS, json={"name": "own"}).json()
    assert own["accountId"] == sub_account
    assert [k["name"] for k in sub_user.get(KEYS).json()["apiKeys"]] == ["own"]
    assert sub_user.get(f"{KEYS}/{main_key['id']}").status_code == 404
    assert sub_user.put(f"{KEYS}/{main_key['id']}", json={"name": "x"}).status_code == 404
    foreign = sub_user.get(KEYS, params={"accountId": emulator.main_account_id})
    assert foreign.status_code == 403
    assert foreign.json()["errorCode"] == "E403"
    assert sub_user.post(KEYS, json={"name": "x", "accountId": "C" * 32}).status_code == 403


def test_platform_links_only_on_the_callers_main_account(
    api: httpx.Client, sub_user: httpx.Client, sub_account: str
) -> None:
    link = [{"applicationId": "app"}]
    refused = api.post(KEYS, json={"name": "x", "accountId": sub_account, "platform": link})
    assert refused.status_code == 400
    assert [v["property"] for v in refused.json()["violations"]] == ["platform"]
    assert sub_user.post(KEYS, json={"name": "x", "platform": link}).status_code == 400
    assert api.post(KEYS, json={"name": "x", "platform": link}).status_code == 200


def test_accounts_lists_the_callers_sub_accounts(
    api: httpx.Client,
    sub_user: httpx.Client,
    emulator_control: EmulatorControl,
    emulator: EmulatorServer,
    sub_account: str,
) -> None:
    other = emulator_control.add_account("Team C")
    answer = api.get("/settings/1/accounts").json()
    assert answer["accounts"] == [
        {
            "key": sub_account,
            "name": "Team B",
            "enabled": True,
            "ownerKey": emulator.main_account_id,
        },
        {"key": other, "name": "Team C", "enabled": True, "ownerKey": emulator.main_account_id},
    ]
    named = api.get("/settings/1/accounts", params={"name": "Team C", "limit": 5}).json()
    assert [a["key"] for a in named["accounts"]] == [other]
    assert len(api.get("/settings/1/accounts", params={"limit": 1}).json()["accounts"]) == 1
    assert api.get("/settings/1/accounts", params={"enabled": "false"}).json()["accounts"] == []
    assert sub_user.get("/settings/1/accounts").json() == {"accounts": []}
    bad = api.get("/settings/1/accounts", params={"limit": "lots"})
    assert bad.status_code == 400
    assert "limit" in bad.json()["requestError"]["serviceException"]["validationErrors"]


def test_accounts_accepts_an_api_key_with_the_manage_scope(
    api: httpx.Client, anonymous: httpx.Client, sub_account: str
) -> None:
    manager = api.post(KEYS, json={"name": "m", "scopeGuids": ["account-management:manage"]})
    plain = api.post(KEYS, json={"name": "p", "scopeGuids": ["sms:manage"]})
    as_manager = {"Authorization": f"App {manager.json()['apiKeySecret']}"}
    as_plain = {"Authorization": f"App {plain.json()['apiKeySecret']}"}
    listed = anonymous.get("/settings/1/accounts", headers=as_manager)
    assert [a["key"] for a in listed.json()["accounts"]] == [sub_account]
    assert anonymous.get("/settings/1/accounts", headers=as_plain).status_code == 403
    api.put(f"{KEYS}/{manager.json()['id']}", json={"enabled": False})
    revoked = anonymous.get("/settings/1/accounts", headers=as_manager)
    assert revoked.status_code == 401
    assert revoked.json()["requestError"]["serviceException"]["messageId"] == "UNAUTHORIZED"

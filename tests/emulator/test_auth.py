"""Authentication and authorization: Basic, IBSSO sessions, OAuth2 tokens, API keys refused,
roles without account-management:manage refused."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from infobip_iac.emulator import EmulatorControl, EmulatorServer, EmulatorUser

KEYS = "/settings/2/api-keys"


def error_code(response: httpx.Response) -> str:
    return str(response.json()["errorCode"])


def test_basic_with_the_default_user(anonymous: httpx.Client) -> None:
    assert anonymous.get(KEYS, auth=("admin", "admin")).status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Basic " + "YWRtaW46bm9wZQ==",
        "Basic not-base64!",
        "Basic YWRtaW4=",
        "Digest x",
        "IBSSO",
    ],
)
def test_missing_or_wrong_credentials_are_401(anonymous: httpx.Client, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = anonymous.get(KEYS, headers=headers)
    assert response.status_code == 401
    assert error_code(response) == "E401"


def test_an_api_key_cannot_manage_api_keys(api: httpx.Client, anonymous: httpx.Client) -> None:
    secret = api.post(KEYS, json={"name": "k", "scopeGuids": ["account-management:manage"]}).json()[
        "apiKeySecret"
    ]
    response = anonymous.get(KEYS, headers={"Authorization": f"App {secret}"})
    assert response.status_code == 401
    assert "API key cannot manage API keys" in response.json()["description"]
    assert secret not in response.text


def test_ibsso_session_create_use_destroy(anonymous: httpx.Client) -> None:
    created = anonymous.post("/auth/1/session", json={"username": "admin", "password": "admin"})
    assert created.status_code == 200
    header = {"Authorization": f"IBSSO {created.json()['token']}"}
    assert anonymous.get(KEYS, headers=header).status_code == 200
    assert anonymous.delete("/auth/1/session", headers=header).status_code == 200
    after = anonymous.get(KEYS, headers=header)
    assert after.status_code == 401
    assert anonymous.delete("/auth/1/session", headers=header).status_code == 401


def test_ibsso_session_failures(anonymous: httpx.Client) -> None:
    wrong = anonymous.post("/auth/1/session", json={"username": "admin", "password": "no"})
    assert wrong.status_code == 401
    assert wrong.json()["requestError"]["serviceException"]["messageId"] == "UNAUTHORIZED"
    missing = anonymous.post("/auth/1/session", json={"username": "admin"})
    assert missing.status_code == 400
    details = missing.json()["requestError"]["serviceException"]
    assert details["validationErrors"] == {"password": ["is required"]}
    assert anonymous.delete("/auth/1/session").status_code == 401


def test_ibsso_session_ends_after_an_idle_hour(
    anonymous: httpx.Client, emulator_control: EmulatorControl
) -> None:
    token = anonymous.post("/auth/1/session", json={"username": "admin", "password": "admin"})
    header = {"Authorization": f"IBSSO {token.json()['token']}"}
    emulator_control.advance_clock("59m")
    assert anonymous.get(KEYS, headers=header).status_code == 200  # use renews it
    emulator_control.advance_clock("59m")
    assert anonymous.get(KEYS, headers=header).status_code == 200
    emulator_control.advance_clock("61m")
    assert anonymous.get(KEYS, headers=header).status_code == 401


def token_for(client: httpx.Client, username: str, password: str) -> httpx.Response:
    return client.post(
        "/auth/1/oauth2/token",
        data={"client_id": username, "client_secret": password, "grant_type": "client_credentials"},
    )


def test_oauth2_token_and_its_expiry(
    anonymous: httpx.Client, emulator_control: EmulatorControl
) -> None:
    answer = token_for(anonymous, "admin", "admin")
    assert answer.status_code == 200
    body = answer.json()
    assert body["expires_in"] == 3600
    assert body["token_type"] == "Bearer"
    header = {"Authorization": f"Bearer {body['access_token']}"}
    assert anonymous.get(KEYS, headers=header).status_code == 200
    emulator_control.advance_clock("3570s")
    assert anonymous.get(KEYS, headers=header).status_code == 200
    emulator_control.advance_clock("31s")
    expired = anonymous.get(KEYS, headers=header)
    assert expired.status_code == 401
    assert "expired" in expired.json()["description"]


def test_oauth2_token_failures(anonymous: httpx.Client) -> None:
    wrong = token_for(anonymous, "admin", "wrong")
    assert wrong.status_code == 401
    assert wrong.json()["requestError"]["serviceException"]["messageId"] == "UNAUTHORIZED"
    grant = anonymous.post(
        "/auth/1/oauth2/token",
        data={"client_id": "admin", "client_secret": "admin", "grant_type": "password"},
    )
    assert grant.status_code == 400
    assert anonymous.post("/auth/1/oauth2/token", data={"client_id": "admin"}).status_code == 400
    unknown = anonymous.get(KEYS, headers={"Authorization": "Bearer made-up"})
    assert unknown.status_code == 401


@pytest.mark.parametrize(
    ("roles", "allowed"),
    [
        (["Communication Manager"], False),
        (["Answers Supervisor", "Content Manager"], False),
        ([], False),
        (["Integrations Manager"], True),
        (["Analyze Manager"], True),
        (["Conversations Account Manager"], True),
    ],
)
def test_roles_decide_who_may_manage_keys(
    emulator: EmulatorServer,
    emulator_control: EmulatorControl,
    anonymous: httpx.Client,
    roles: list[str],
    allowed: bool,
) -> None:
    emulator_control.add_user("someone", "pw", roles=roles)
    auth = ("someone", "pw")
    listing = anonymous.get(KEYS, auth=auth)
    creating = anonymous.post(KEYS, auth=auth, json={"name": "k"})
    if allowed:
        assert (listing.status_code, creating.status_code) == (200, 200)
    else:
        assert (listing.status_code, creating.status_code) == (403, 403)
        assert error_code(listing) == "E403"
        assert "account-management:manage" in creating.json()["description"]
        assert anonymous.get("/settings/1/accounts", auth=auth).status_code == 403


def test_configured_users_replace_the_default(
    make_emulator: Callable[..., EmulatorServer],
) -> None:
    server = make_emulator(users=[EmulatorUser("ops", "s3cret", ("Integrations Manager",))])
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        assert client.get(KEYS, auth=("ops", "s3cret")).status_code == 200
        assert client.get(KEYS, auth=("admin", "admin")).status_code == 401

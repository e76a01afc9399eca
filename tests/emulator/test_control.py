"""The control API: reset, seed, clock, stats, accounts, users and secrets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
import pytest

from infobip_iac.emulator import ControlRequestError, EmulatorControl, EmulatorServer

KEYS = "/settings/2/api-keys"


def test_reset_forgets_keys_accounts_users_sessions_and_counters(
    api: httpx.Client, anonymous: httpx.Client, emulator_control: EmulatorControl
) -> None:
    api.post(KEYS, json={"name": "k"})
    emulator_control.add_account("B")
    emulator_control.add_user("temp", "pw")
    token = anonymous.post("/auth/1/session", json={"username": "admin", "password": "admin"})
    emulator_control.advance_clock("5d")
    emulator_control.reset()
    assert api.get(KEYS).json()["apiKeys"] == []
    assert api.get("/settings/1/accounts").json() == {"accounts": []}
    assert anonymous.get(KEYS, auth=("temp", "pw")).status_code == 401
    header = {"Authorization": f"IBSSO {token.json()['token']}"}
    assert anonymous.get(KEYS, headers=header).status_code == 401
    now = datetime.fromisoformat(emulator_control.now())
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)
    assert emulator_control.secrets() == []
    stats = emulator_control.stats()
    assert stats["requests"] == {"GET /settings/2/api-keys": 3, "GET /settings/1/accounts": 1}


def test_seed_bypasses_the_valid_from_rule_and_returns_ids(
    api: httpx.Client, emulator_control: EmulatorControl
) -> None:
    ids = emulator_control.seed(
        [
            {"name": "old", "validFrom": "2001-01-01T00:00:00Z", "validTo": "2002-01-01T00:00:00Z"},
            {"name": "given", "id": "A" * 32, "apiKeySecret": "s", "enabled": False},
        ]
    )
    assert ids[1] == "A" * 32
    old = api.get(f"{KEYS}/{ids[0]}").json()
    assert old["validFrom"].startswith("2001-01-01T00:00:00")
    given = api.get(f"{KEYS}/{'A' * 32}").json()
    assert (given["apiKeySecret"], given["enabled"]) == ("s", False)


def test_seed_into_a_sub_account(api: httpx.Client, emulator_control: EmulatorControl) -> None:
    sub = emulator_control.add_account("B")
    emulator_control.seed([{"name": "b"}], account_id=sub)
    assert api.get(KEYS).json()["apiKeys"] == []
    assert [k["name"] for k in api.get(KEYS, params={"accountId": sub}).json()["apiKeys"]] == ["b"]


@pytest.mark.parametrize(
    ("keys", "prop"),
    [
        ([{"name": "ok"}, {"name": ""}], "keys[1].name"),
        ([{"name": "a", "scopeGuids": ["nope"]}], "keys[0].scopeGuids[0]"),
        ([{"name": "a", "id": "lower-case"}], "keys[0].id"),
        ([{"name": "a", "id": "B" * 32}, {"name": "b", "id": "B" * 32}], "keys[1].id"),
    ],
)
def test_seed_refuses_invalid_keys_naming_them(
    emulator_control: EmulatorControl, keys: list[dict[str, object]], prop: str
) -> None:
    with pytest.raises(ControlRequestError) as refused:
        emulator_control.seed(keys)
    assert refused.value.status == 400
    assert prop in [v["property"] for v in refused.value.answer["violations"]]
    assert emulator_control.secrets() == []  # all or nothing


def test_seed_refuses_an_unknown_account(emulator_control: EmulatorControl) -> None:
    with pytest.raises(ControlRequestError, match="no account"):
        emulator_control.seed([{"name": "a"}], account_id="F" * 32)


def test_clock_moves_validity_defaults_and_the_date_header(
    api: httpx.Client, emulator_control: EmulatorControl
) -> None:
    assert emulator_control.set_clock("2031-03-04T05:06:07Z").startswith("2031-03-04T05:06:07")
    response = api.post(KEYS, json={"name": "k"})
    assert response.json()["validFrom"].startswith("2031-03-04T05:06")
    served = parsedate_to_datetime(response.headers["Date"])
    assert abs(served - datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC)) < timedelta(seconds=5)
    after = emulator_control.advance_clock("36h")
    assert after.startswith("2031-03-05T17:06")
    # a validFrom that was the future is now the past
    refused = api.post(KEYS, json={"name": "k", "validFrom": "2031-03-05T00:00:00Z"})
    assert refused.status_code == 400


@pytest.mark.parametrize("body", [{}, {"set": "soon"}, {"advance": "3 fortnights"}])
def test_clock_refuses_what_it_cannot_read(emulator: EmulatorServer, body: object) -> None:
    answer = httpx.post(f"{emulator.base_url}/_emulator/clock", json=body, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["error"]


def test_stats_count_operations_by_template_and_statuses(
    api: httpx.Client, emulator_control: EmulatorControl
) -> None:
    key = api.post(KEYS, json={"name": "k"}).json()
    api.get(f"{KEYS}/{key['id']}")
    api.get(f"{KEYS}/{'0' * 32}")
    api.put(f"{KEYS}/{key['id']}", json={"name": "x"})
    api.get("/nowhere")
    stats = emulator_control.stats()
    assert stats["requests"] == {
        "GET /settings/2/api-keys/{apiKeyId}": 2,
        "POST /settings/2/api-keys": 1,
        "PUT /settings/2/api-keys/{apiKeyId}": 1,
    }
    assert stats["statuses"] == {"200": 3, "404": 2}


def test_users_and_accounts_are_checked(emulator_control: EmulatorControl) -> None:
    with pytest.raises(ControlRequestError, match="unknown role"):
        emulator_control.add_user("x", "y", roles=["Overlord"])
    with pytest.raises(ControlRequestError, match="no account"):
        emulator_control.add_user("x", "y", account_id="F" * 32)
    with pytest.raises(ControlRequestError, match="name is required"):
        emulator_control.add_account("")
    emulator_control.add_account("B", account_id="B" * 32)
    with pytest.raises(ControlRequestError, match="taken"):
        emulator_control.add_account("B again", account_id="B" * 32)


def test_secrets_lists_every_issued_secret(
    api: httpx.Client, emulator_control: EmulatorControl
) -> None:
    created = api.post(KEYS, json={"name": "k"}).json()["apiKeySecret"]
    emulator_control.seed([{"name": "s"}])
    secrets = emulator_control.secrets()
    assert created in secrets
    assert len(secrets) == 2


def test_unknown_control_operation_is_404(emulator: EmulatorServer) -> None:
    answer = httpx.get(f"{emulator.base_url}/_emulator/nothing", timeout=10)
    assert answer.status_code == 404
    assert "POST /_emulator/reset" in answer.json()["error"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/reset"), ("POST", "/faults"), ("POST", "/seed"), ("DELETE", "/faults")],
)
@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_changing_request_without_a_json_content_type_is_refused(
    emulator: EmulatorServer,
    emulator_control: EmulatorControl,
    method: str,
    path: str,
    content_type: str | None,
) -> None:
    # A web page can send these cross-origin without a preflight; none may change anything.
    emulator_control.seed([{"name": "kept"}])
    emulator_control.set_faults([{"kind": "status", "status": 503, "times": 1}])
    headers = {} if content_type is None else {"Content-Type": content_type}
    body = b'{"rules": [], "keys": [{"name": "planted"}]}'
    answer = httpx.request(
        method, f"{emulator.base_url}/_emulator{path}", content=body, headers=headers, timeout=10
    )
    assert answer.status_code == 415
    assert "application/json" in answer.json()["error"]
    assert len(emulator_control.secrets()) == 1  # neither reset nor seeded
    assert httpx.get(f"{emulator.base_url}/_emulator/faults", timeout=10).json()["rules"]


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://127.0.0.1:8080"])
def test_a_request_carrying_an_origin_is_refused(
    emulator: EmulatorServer, emulator_control: EmulatorControl, origin: str
) -> None:
    emulator_control.seed([{"name": "kept"}])
    reset = httpx.post(
        f"{emulator.base_url}/_emulator/reset", json={}, headers={"Origin": origin}, timeout=10
    )
    assert reset.status_code == 403
    assert "Origin" in reset.json()["error"]
    secrets = httpx.get(
        f"{emulator.base_url}/_emulator/secrets", headers={"Origin": origin}, timeout=10
    )
    assert secrets.status_code == 403
    assert "secrets" not in secrets.json()
    assert len(emulator_control.secrets()) == 1


def test_a_json_request_with_a_charset_is_accepted(
    emulator: EmulatorServer, emulator_control: EmulatorControl
) -> None:
    emulator_control.seed([{"name": "gone"}])
    answer = httpx.post(
        f"{emulator.base_url}/_emulator/reset",
        content=b"{}",
        headers={"Content-Type": "application/json; charset=utf-8"},
        timeout=10,
    )
    assert answer.status_code == 200
    assert emulator_control.secrets() == []

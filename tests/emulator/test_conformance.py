"""The conformance checker that every emulator fixture runs: it must catch what breaks the
spec (a date-time without offset above all), or its silence proves nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from infobip_iac.emulator import EmulatorServer

KEY = "/settings/2/api-keys/{apiKeyId}"

GOOD_KEY = {
    "id": "573711510E1C002E29679B12C7CB48AE",
    "apiKeySecret": "s",
    "accountId": "8F0792F86035A9F4290821F1EE6BC06A",
    "name": "k",
    "allowedIPs": [],
    "validFrom": "2026-12-01T00:00:00+00:00",
    "validTo": "2027-12-01T00:00:00Z",
    "enabled": True,
    "permissions": ["PUBLIC_API"],
    "scopeGuids": [],
}


@pytest.fixture
def checker(conformance: Any) -> Any:
    return conformance


def test_a_good_key_passes(checker: Any) -> None:
    assert checker.problems_of("GET", KEY, 200, GOOD_KEY) == []


@pytest.mark.parametrize(
    "bad", ["2023-09-01T10:00:00", "2026-12-01", "soon", "2026-12-01T25:00:00Z"]
)
def test_a_bad_date_time_fails(checker: Any, bad: str) -> None:
    problems = checker.problems_of("GET", KEY, 200, {**GOOD_KEY, "validTo": bad})
    assert len(problems) == 1
    assert "validTo" in problems[0]


def test_wrong_types_and_missing_fields_fail(checker: Any) -> None:
    assert checker.problems_of("GET", KEY, 200, {**GOOD_KEY, "enabled": "yes"})
    no_name = {k: v for k, v in GOOD_KEY.items() if k != "name"}
    assert checker.problems_of("PUT", KEY, 200, no_name)
    assert checker.problems_of("GET", "/settings/2/api-keys", 200, {"apiKeys": []})  # no paging
    error = {"errorCode": "E404", "description": "d", "action": "a", "violations": []}
    assert checker.problems_of("GET", KEY, 404, error)  # no resources


def test_statuses_the_spec_does_not_declare(checker: Any) -> None:
    assert checker.problems_of("GET", KEY, 201, GOOD_KEY)  # a success must be declared
    exception = {"requestError": {"serviceException": {"messageId": "UNAUTHORIZED", "text": "t"}}}
    assert checker.problems_of("POST", "/auth/1/session", 401, exception) == []
    assert checker.undeclared[-1] == "POST /auth/1/session -> 401"
    assert checker.problems_of("POST", "/auth/1/session", 401, {"requestError": "flat"})


def test_bodies_where_none_is_declared_and_unknown_operations(checker: Any) -> None:
    assert checker.problems_of("DELETE", "/auth/1/session", 200, None) == []
    assert checker.problems_of("DELETE", "/auth/1/session", 200, {"ok": True})
    api_error = {
        "errorCode": "E404",
        "description": "d",
        "action": "a",
        "violations": [],
        "resources": [],
    }
    assert checker.problems_of("GET", "/nowhere", 404, api_error) == []
    assert checker.problems_of("GET", "/nowhere", 200, api_error)
    assert checker.problems_of("GET", "/nowhere", 404, {"error": "x"})


def test_the_fixture_checks_every_answer(
    emulator: EmulatorServer, checker: Any, api: httpx.Client
) -> None:
    checked, problems = checker.checked, len(checker.problems)
    api.get("/settings/2/api-keys")
    api.post("/settings/2/api-keys", json={"name": ""})
    api.get("/nowhere")
    emulator.control.stats()  # the control API is not Infobip's: not checked
    assert checker.checked == checked + 3
    assert len(checker.problems) == problems


KEYS = "/settings/2/api-keys"
GOOD_CREATE = {
    "name": "k",
    "allowedIPs": ["203.0.113.0/24"],
    "validFrom": "2027-06-30T00:00:00.000+0000",
    "validTo": "2028-06-30T00:00:00.000+0000",
    "permissions": ["PUBLIC_API"],
    "scopeGuids": ["sms:message:send"],
}


def test_a_good_request_body_passes(checker: Any) -> None:
    assert checker.request_problems("POST", KEYS, GOOD_CREATE) == []
    assert checker.request_problems("PUT", KEY, {"enabled": False}) == []
    assert checker.request_problems("PUT", KEY, {"platform": []}) == []


def test_request_bodies_with_fields_or_combinations_the_spec_lacks_fail(checker: Any) -> None:
    (enabled,) = checker.request_problems("POST", KEYS, {**GOOD_CREATE, "enabled": True})
    assert "'enabled' is not a field" in enabled
    link = {"applicationId": "a", "colour": "red"}
    (deep,) = checker.request_problems("PUT", KEY, {"platform": [link]})
    assert "platform/0" in deep
    assert "'colour'" in deep
    both = checker.request_problems(
        "PUT", KEY, {"platform": [], "permissions": ["2FA_CLIENT"], "scopeGuids": []}
    )
    assert len(both) == 2
    assert checker.request_problems("PUT", KEY, {"name": 7})  # the schema itself


@pytest.mark.parametrize("bad", ["2027-06-30T00:00:00", "2027-06-30", "2027-06-30T00:00:00+0000"])
def test_request_date_times_are_rfc_3339_or_infobip_s_own_form(checker: Any, bad: str) -> None:
    assert checker.request_problems("PUT", KEY, {"validTo": "2027-06-30T00:00:00Z"}) == []
    assert checker.request_problems("PUT", KEY, {"validTo": bad})

"""Every non-success answer maps to its typed error; bodies are never quoted."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from infobip_iac.errors import (
    AuthenticationError,
    BadRequestError,
    InfobipApiError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    TransportError,
    Violation,
)
from infobip_iac.infobip.answers import (
    api_error,
    decode_json,
    parse_http_date,
    parse_retry_after,
    without_hint,
)


def _api_error_body(code: str, description: str, violations: list[dict[str, str]]) -> bytes:
    return json.dumps(
        {
            "errorCode": code,
            "description": description,
            "action": "Check the request.",
            "violations": violations,
            "resources": [],
        }
    ).encode()


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, BadRequestError),
        (429, RateLimitedError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (302, TransportError),
    ],
)
def test_status_maps_to_typed_error(status: int, kind: type[InfobipApiError]) -> None:
    error = api_error(
        status=status,
        body=_api_error_body(f"E{status}", "Something happened.", []),
        operation="list API keys",
    )
    assert type(error) is kind
    assert error.status == status
    assert error.operation == "list API keys"
    assert str(error).startswith("list API keys:")


def test_bad_request_keeps_violations() -> None:
    error = api_error(
        status=400,
        body=_api_error_body(
            "E400",
            "Request cannot be processed.",
            [{"property": "validTo", "violation": "must be after validFrom"}],
        ),
        operation="create API key",
    )
    assert isinstance(error, BadRequestError)
    assert error.error_code == "E400"
    assert error.violations == [Violation("validTo", "must be after validFrom")]
    assert "[validTo: must be after validFrom]" in str(error)


def test_rate_limited_carries_retry_after() -> None:
    error = api_error(status=429, body=b"", operation="list API keys", retry_after=2.5)
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 2.5
    assert "retry after 2.5 s" in str(error)


def test_auth_errors_say_how_to_fix() -> None:
    unauthorized = api_error(status=401, body=b"", operation="list API keys")
    forbidden = api_error(status=403, body=b"", operation="list API keys")
    assert "INFOBIP_USERNAME" in str(unauthorized)
    assert "account-management:manage" in str(forbidden)


def test_a_description_that_gives_the_advice_is_not_followed_by_it_again() -> None:
    body = json.dumps(
        {
            "errorCode": "E403",
            "description": "The caller lacks the account-management:manage scope.",
        }
    ).encode()
    forbidden = api_error(status=403, body=body, operation="list API keys")
    assert str(forbidden).count("account-management:manage") == 1
    assert without_hint(forbidden) == forbidden.message


def test_without_hint_gives_infobips_own_words() -> None:
    body = json.dumps({"errorCode": "E403", "description": "Insufficient permissions."}).encode()
    forbidden = api_error(status=403, body=body, operation="list API keys")
    assert "account-management:manage" in forbidden.message
    assert without_hint(forbidden) == "HTTP 403 E403: Insufficient permissions."


def test_older_exception_shape_of_auth_endpoints() -> None:
    body = json.dumps(
        {
            "requestError": {
                "serviceException": {
                    "messageId": "UNAUTHORIZED",
                    "text": "Invalid login details",
                    "validationErrors": {"username": ["must not be blank"]},
                }
            }
        }
    ).encode()
    error = api_error(status=401, body=body, operation="create session")
    assert error.error_code == "UNAUTHORIZED"
    assert "Invalid login details" in str(error)
    assert error.violations == [Violation("username", "must not be blank")]


def test_body_that_is_not_an_api_error_is_not_quoted() -> None:
    body = b'<html>{"apiKeySecret": "zz-secret-zz"}</html>'
    error = api_error(status=500, body=body, operation="get API key")
    assert isinstance(error, ServerError)
    assert "zz-secret-zz" not in str(error)
    assert str(error) == "get API key: HTTP 500"


def test_long_descriptions_are_cut() -> None:
    error = api_error(
        status=400, body=_api_error_body("E400", "x" * 5000, []), operation="create API key"
    )
    assert len(str(error)) < 400


def test_decode_json_names_the_operation() -> None:
    assert decode_json(b'{"a": 1}', operation="get API key") == {"a": 1}
    with pytest.raises(TransportError, match=r"get API key: .*not JSON"):
        decode_json(b'{"apiKeySecret": "zz', operation="get API key")


def test_retry_after_seconds_and_dates() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("3", now=now) == 3.0
    assert parse_retry_after("0.5", now=now) == 0.5
    assert parse_retry_after("Thu, 01 Jan 2026 12:00:07 GMT", now=now) == 7.0
    assert parse_retry_after("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("-4", now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("nan") is None


def test_http_date() -> None:
    assert parse_http_date("Wed, 01 Jan 2025 00:00:09 GMT") == datetime(
        2025, 1, 1, 0, 0, 9, tzinfo=UTC
    )
    assert parse_http_date("yesterday") is None
    assert parse_http_date(None) is None

"""Credentials are taken out of whatever the tool prints or logs: the sign-in values it
registered (and their Basic form) and anything shaped like a credential."""

from __future__ import annotations

import base64
import io
import sys

import pytest

from infobip_iac.logs import configure_logging, get_logger
from infobip_iac.redaction import REDACTED, redact, register, register_basic


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
        ('{"authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.x"}', "eyJhbGciOiJIUzI1NiJ9"),
        ("authorization: IBSSO 2f8c5a01-77aa-4bb0-9c1e-0d5e8f7a6b3c", "2f8c5a01-77aa"),
        ("sent IBSSO 2f8c5a01-77aa-4bb0-9c1e-0d5e8f7a6b3c again", "2f8c5a01-77aa"),
        ("postgresql://app:Sup3r-S3cret@db.internal:5432/keys", "Sup3r-S3cret"),
        ("grant_type=client_credentials&client_id=me&client_secret=abc123xyz", "abc123xyz"),
        ('{"username": "me", "password": "hunter22"}', "hunter22"),
        ('{"access_token": "tok-123456", "expires_in": 3600}', "tok-123456"),
        ("GET /x?token=q1w2e3r4&page=1", "q1w2e3r4"),
    ],
)
def test_credential_shapes_are_redacted(text: str, gone: str) -> None:
    cleaned = redact(text)
    assert gone not in cleaned and REDACTED in cleaned, cleaned


@pytest.mark.parametrize(
    "text",
    [
        "api_keys.token: Creating...",
        "api_keys.password: Modifications complete [id=ABC]",
        "HTTP 401 (check the credentials in INFOBIP_USERNAME/INFOBIP_PASSWORD)",
        "Basic authentication is not enabled for this user",
        "secret: {sink: file, path: secrets/x.env}",
    ],
)
def test_ordinary_text_is_left_as_it_is(text: str) -> None:
    assert redact(text) == text


def test_registered_credentials_are_redacted_in_any_form_a_server_echoes() -> None:
    register_basic("ops-user", "pa55-w0rd-for-tests")
    register("an-oauth-client-secret")
    basic = base64.b64encode(b"ops-user:pa55-w0rd-for-tests").decode()
    echoed = f"got {basic} from ops-user; body was pa55-w0rd-for-tests / an-oauth-client-secret"

    cleaned = redact(echoed)

    for value in (basic, "pa55-w0rd-for-tests", "an-oauth-client-secret"):
        assert value not in cleaned
    assert "ops-user" in cleaned  # a user name is not a credential


def test_short_registered_values_do_not_blot_out_words() -> None:
    register("admin")  # the emulator's password
    assert redact("admin user") == "admin user"


def test_log_lines_are_redacted_whoever_logged_the_credential(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Protection: the logging set-up redacts every field of every line (logs.py)."""
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    configure_logging("debug", "json")
    get_logger("test").warning(
        "server said Authorization: Basic dXNlcjpwYXNzd29yZA==",
        body='{"password": "hunter22"}',
    )
    line = stream.getvalue()
    assert "dXNlcjpwYXNzd29yZA==" not in line and "hunter22" not in line, line
    assert line.count(REDACTED) == 2

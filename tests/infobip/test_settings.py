"""Connection settings from the environment (SPEC §3)."""

from __future__ import annotations

import pytest

from infobip_iac.errors import CredentialsError
from infobip_iac.infobip.settings import (
    ClientCredentials,
    IbssoToken,
    UserCredentials,
    normalize_base_url,
    settings_from_env,
)

URL = "https://abc.api.infobip.com"


def test_basic_from_username_and_password() -> None:
    settings = settings_from_env(
        {"INFOBIP_BASE_URL": URL, "INFOBIP_USERNAME": "ann", "INFOBIP_PASSWORD": "pw-1"}
    )
    assert settings.base_url == URL
    assert isinstance(settings.credentials, UserCredentials)
    assert settings.credentials.username == "ann"
    assert settings.credentials.password.reveal() == "pw-1"
    assert not settings.credentials.use_session


def test_session_when_asked() -> None:
    settings = settings_from_env(
        {
            "INFOBIP_BASE_URL": URL,
            "INFOBIP_USERNAME": "ann",
            "INFOBIP_PASSWORD": "pw-1",
            "INFOBIP_USE_SESSION": "true",
        }
    )
    assert isinstance(settings.credentials, UserCredentials)
    assert settings.credentials.use_session


def test_oauth_client_credentials() -> None:
    settings = settings_from_env(
        {"INFOBIP_BASE_URL": URL, "INFOBIP_CLIENT_ID": "ann", "INFOBIP_CLIENT_SECRET": "cs"}
    )
    assert isinstance(settings.credentials, ClientCredentials)
    assert settings.credentials.client_secret.reveal() == "cs"


def test_ibsso_token() -> None:
    settings = settings_from_env({"INFOBIP_BASE_URL": URL, "INFOBIP_IBSSO_TOKEN": "tok"})
    assert isinstance(settings.credentials, IbssoToken)
    assert settings.credentials.token.reveal() == "tok"


def test_basic_wins_over_later_methods() -> None:
    settings = settings_from_env(
        {
            "INFOBIP_BASE_URL": URL,
            "INFOBIP_USERNAME": "ann",
            "INFOBIP_PASSWORD": "pw",
            "INFOBIP_CLIENT_ID": "bob",
            "INFOBIP_CLIENT_SECRET": "cs",
            "INFOBIP_IBSSO_TOKEN": "tok",
        }
    )
    assert isinstance(settings.credentials, UserCredentials)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("abc.api.infobip.com", "https://abc.api.infobip.com"),
        ("https://abc.api.infobip.com/", "https://abc.api.infobip.com"),
        (" http://127.0.0.1:8080 ", "http://127.0.0.1:8080"),
        # One spelling per endpoint, since a state records and compares it.
        ("HTTPS://ABC.Api.Infobip.com:443/", "https://abc.api.infobip.com"),
        ("http://[::1]:80/base/", "http://[::1]/base"),
        ("http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_base_url_gets_a_scheme(raw: str, expected: str) -> None:
    assert normalize_base_url(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["ftp://abc.example", "https://", "https://x.example/?a=1", "http://[::1", "x.example:port"],
)
def test_unusable_base_url(raw: str) -> None:
    with pytest.raises(CredentialsError, match="INFOBIP_BASE_URL"):
        normalize_base_url(raw)


def test_api_key_only_is_refused_with_what_to_set() -> None:
    with pytest.raises(CredentialsError) as caught:
        settings_from_env({"INFOBIP_BASE_URL": URL, "INFOBIP_API_KEY": "key-value-123"})
    message = str(caught.value)
    assert "API key cannot manage API keys" in message
    assert "INFOBIP_USERNAME" in message and "INFOBIP_CLIENT_ID" in message
    assert "key-value-123" not in message


@pytest.mark.parametrize(
    ("env", "present", "missing"),
    [
        ({"INFOBIP_USERNAME": "ann"}, "INFOBIP_USERNAME", "INFOBIP_PASSWORD"),
        ({"INFOBIP_PASSWORD": "hunter2"}, "INFOBIP_PASSWORD", "INFOBIP_USERNAME"),
        ({"INFOBIP_CLIENT_SECRET": "hunter2"}, "INFOBIP_CLIENT_SECRET", "INFOBIP_CLIENT_ID"),
    ],
)
def test_half_a_pair_names_both_variables(env: dict[str, str], present: str, missing: str) -> None:
    with pytest.raises(CredentialsError) as caught:
        settings_from_env({"INFOBIP_BASE_URL": URL, "INFOBIP_IBSSO_TOKEN": "t", **env})
    message = str(caught.value)
    assert f"{present} is set but {missing} is not" in message
    assert "hunter2" not in message


def test_nothing_set() -> None:
    with pytest.raises(CredentialsError, match="no Infobip credentials"):
        settings_from_env({"INFOBIP_BASE_URL": URL})


def test_missing_base_url() -> None:
    with pytest.raises(CredentialsError, match="INFOBIP_BASE_URL is not set"):
        settings_from_env({"INFOBIP_USERNAME": "ann", "INFOBIP_PASSWORD": "pw"})


def test_session_without_a_user() -> None:
    with pytest.raises(CredentialsError, match="INFOBIP_USE_SESSION needs"):
        settings_from_env(
            {"INFOBIP_BASE_URL": URL, "INFOBIP_IBSSO_TOKEN": "t", "INFOBIP_USE_SESSION": "1"}
        )


def test_bad_flag_value() -> None:
    with pytest.raises(CredentialsError, match="INFOBIP_USE_SESSION must be"):
        settings_from_env(
            {"INFOBIP_BASE_URL": URL, "INFOBIP_IBSSO_TOKEN": "t", "INFOBIP_USE_SESSION": "maybe"}
        )


def test_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("INFOBIP_USERNAME", "INFOBIP_PASSWORD", "INFOBIP_USE_SESSION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INFOBIP_BASE_URL", "abc.api.infobip.com")
    monkeypatch.setenv("INFOBIP_IBSSO_TOKEN", "zq-token-9")
    monkeypatch.delenv("INFOBIP_CLIENT_ID", raising=False)
    monkeypatch.delenv("INFOBIP_CLIENT_SECRET", raising=False)
    settings = settings_from_env()
    assert settings.base_url == "https://abc.api.infobip.com"
    assert isinstance(settings.credentials, IbssoToken)
    assert "zq-token-9" not in repr(settings)


def test_a_missing_base_url_and_missing_credentials_are_reported_together() -> None:
    with pytest.raises(CredentialsError) as caught:
        settings_from_env({})
    message = str(caught.value)
    assert "INFOBIP_BASE_URL is not set" in message
    assert "no Infobip credentials" in message and "INFOBIP_USERNAME" in message


def test_the_settings_remember_an_assumed_scheme() -> None:
    user = {"INFOBIP_USERNAME": "ann", "INFOBIP_PASSWORD": "pw"}
    bare = settings_from_env({"INFOBIP_BASE_URL": "abc.api.infobip.com", **user})
    assert bare.base_url == "https://abc.api.infobip.com" and bare.scheme_assumed
    assert not settings_from_env({"INFOBIP_BASE_URL": URL, **user}).scheme_assumed


def test_a_base_url_with_a_password_in_it_is_refused_without_showing_it() -> None:
    with pytest.raises(CredentialsError, match="must not carry a user name") as caught:
        normalize_base_url("https://ann:hunter2@abc.api.infobip.com")
    assert "hunter2" not in str(caught.value)

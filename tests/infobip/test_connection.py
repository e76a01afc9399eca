"""open_key_service: the embedded emulator, or Infobip from the environment."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from infobip_iac.domain.keys import KeyWrite
from infobip_iac.emulator import EmulatorServer
from infobip_iac.errors import AuthenticationError, CredentialsError, TransportError
from infobip_iac.infobip.connection import open_key_service


def test_emulator_runs_in_process_and_keeps_its_data(tmp_path: Path) -> None:
    data = tmp_path / ".infobip-iac" / "emulator.json"
    env = {"INFOBIP_API_KEY": "ignored: the emulator does not read the environment"}
    with open_key_service(emulator=True, emulator_data=data, timeout=5, env=env) as service:
        created = service.create_key("_", KeyWrite(name="kept"))
        base_url = service.base_url
    assert data.is_file()
    # Closed on exit: nothing answers on that port any more.
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base_url}/settings/2/api-keys", timeout=1)
    with open_key_service(emulator=True, emulator_data=data, timeout=5) as service:
        assert [k.id for k in service.list_keys("_").keys] == [created.key.id]


def test_environment_settings(emulator: EmulatorServer) -> None:
    env = {
        "INFOBIP_BASE_URL": emulator.base_url,
        "INFOBIP_CLIENT_ID": "admin",
        "INFOBIP_CLIENT_SECRET": "admin",
    }
    with open_key_service(emulator=False, emulator_data=Path("unused"), timeout=5, env=env) as s:
        assert s.list_keys("_").keys == []
    assert emulator.control.stats()["requests"]["POST /auth/1/oauth2/token"] == 1


def test_api_key_only_environment(tmp_path: Path) -> None:
    env = {"INFOBIP_BASE_URL": "abc.api.infobip.com", "INFOBIP_API_KEY": "k"}
    with (
        pytest.raises(CredentialsError, match="API key cannot manage API keys"),
        open_key_service(emulator=False, emulator_data=tmp_path, timeout=5, env=env),
    ):
        pass


def test_session_is_destroyed_on_exit(emulator: EmulatorServer) -> None:
    env = {
        "INFOBIP_BASE_URL": emulator.base_url,
        "INFOBIP_USERNAME": "admin",
        "INFOBIP_PASSWORD": "admin",
        "INFOBIP_USE_SESSION": "yes",
    }
    with open_key_service(emulator=False, emulator_data=Path("unused"), timeout=5, env=env) as s:
        s.list_keys("_")
    requests = emulator.control.stats()["requests"]
    assert requests["POST /auth/1/session"] == 1
    assert requests["DELETE /auth/1/session"] == 1


def _env(base_url: str, **more: str) -> dict[str, str]:
    return {"INFOBIP_BASE_URL": base_url, **more}


def test_refused_credentials_name_the_variables_that_were_sent(emulator: EmulatorServer) -> None:
    env = _env(emulator.base_url, INFOBIP_USERNAME="admin", INFOBIP_PASSWORD="not-the-one")
    with (
        pytest.raises(AuthenticationError) as caught,
        open_key_service(emulator=False, emulator_data=Path("unused"), timeout=5, env=env) as s,
    ):
        s.list_keys("_")
    message = str(caught.value)
    assert "INFOBIP_USERNAME/INFOBIP_PASSWORD (as Basic)" in message
    assert "INFOBIP_CLIENT_ID" not in message and "not-the-one" not in message


def test_a_connection_error_names_the_url_and_the_assumed_scheme(
    emulator: EmulatorServer,
) -> None:
    """The emulator speaks plain HTTP: a base URL written without a scheme gets https://,
    whose handshake fails. The error shows the URL it tried and says why."""
    bare = emulator.base_url.removeprefix("http://")
    env = _env(bare, INFOBIP_USERNAME="admin", INFOBIP_PASSWORD="admin")
    with (
        pytest.raises(TransportError) as caught,
        open_key_service(
            emulator=False, emulator_data=Path("unused"), timeout=5, env=env, max_attempts=1
        ) as service,
    ):
        service.list_keys("_")
    message = str(caught.value)
    assert f"to https://{bare};" in message
    assert "INFOBIP_BASE_URL has no scheme, so https:// was assumed" in message
    assert "http://" in message


def test_a_connection_error_with_a_scheme_names_the_url_only() -> None:
    with socket.socket() as probe:  # a port the OS just gave out, now closed again
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    env = _env(url, INFOBIP_USERNAME="admin", INFOBIP_PASSWORD="admin")
    with (
        pytest.raises(TransportError) as caught,
        open_key_service(
            emulator=False, emulator_data=Path("unused"), timeout=5, env=env, max_attempts=1
        ) as service,
    ):
        service.list_keys("_")
    assert f"to {url};" in str(caught.value) and "no scheme" not in str(caught.value)

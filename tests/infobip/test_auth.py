"""Each way of authenticating, over HTTP against the emulator, and token renewal."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import pytest

from infobip_iac.domain.secret import Secret
from infobip_iac.emulator import EmulatorServer
from infobip_iac.errors import AuthenticationError, PermissionDeniedError
from infobip_iac.infobip.auth import (
    OAuth2ClientCredentialsAuth,
    StaticTokenAuth,
    build_auth,
)
from infobip_iac.infobip.client import InfobipClient
from infobip_iac.infobip.settings import (
    ClientCredentials,
    IbssoToken,
    UserCredentials,
)

Connect = Callable[..., InfobipClient]
RequestsOf = Callable[[EmulatorServer, str], int]

TOKEN = "POST /auth/1/oauth2/token"
SESSION = "POST /auth/1/session"
LOGOUT = "DELETE /auth/1/session"
OAUTH = ClientCredentials("admin", Secret("admin"))


def test_basic(emulator: EmulatorServer, connect: Connect) -> None:
    client = connect(emulator, UserCredentials("admin", Secret("admin")))
    assert client.list_keys("_").keys == []


def test_basic_wrong_password(emulator: EmulatorServer, connect: Connect) -> None:
    client = connect(emulator, UserCredentials("admin", Secret("zz-wrong-zz")))
    with pytest.raises(AuthenticationError) as caught:
        client.list_keys("_")
    assert caught.value.status == 401
    assert "zz-wrong-zz" not in str(caught.value)
    assert "INFOBIP_USERNAME" in str(caught.value)


def test_user_without_manage_scope_is_forbidden(emulator: EmulatorServer, connect: Connect) -> None:
    emulator.control.add_user("designer", "pw-designer", roles=["Answers Designer"])
    client = connect(emulator, UserCredentials("designer", Secret("pw-designer")))
    with pytest.raises(PermissionDeniedError) as caught:
        client.list_keys("_")
    assert caught.value.status == 403
    assert "account-management:manage" in str(caught.value)


def test_an_unknown_account_is_refused_without_advice_about_the_scope(
    emulator: EmulatorServer, connect: Connect
) -> None:
    client = connect(emulator, UserCredentials("admin", Secret("admin")))
    with pytest.raises(PermissionDeniedError) as caught:
        client.list_keys("NOSUCHACCOUNT")
    message = str(caught.value)
    assert message.startswith(
        "list API keys: account NOSUCHACCOUNT does not exist, or these credentials cannot "
        "manage it (Infobip answered HTTP 403"
    )
    assert "account-management:manage" not in message
    assert caught.value.status == 403


def test_the_scope_advice_is_given_once(emulator: EmulatorServer, connect: Connect) -> None:
    emulator.control.add_user("designer", "pw-designer", roles=["Answers Designer"])
    client = connect(emulator, UserCredentials("designer", Secret("pw-designer")))
    with pytest.raises(PermissionDeniedError) as caught:
        client.list_keys("_")
    assert str(caught.value).count("account-management:manage") == 1


def test_oauth_token_is_fetched_once_and_reused(
    emulator: EmulatorServer, connect: Connect, requests_of: RequestsOf
) -> None:
    client = connect(emulator, OAUTH)
    for _ in range(3):
        client.list_keys("_")
    assert requests_of(emulator, TOKEN) == 1


def test_oauth_wrong_secret(emulator: EmulatorServer, connect: Connect) -> None:
    client = connect(emulator, ClientCredentials("admin", Secret("zz-nope-zz")))
    with pytest.raises(AuthenticationError) as caught:
        client.list_keys("_")
    assert caught.value.operation == "create OAuth2 token"
    assert "zz-nope-zz" not in str(caught.value)


def test_oauth_token_renewed_after_server_expiry(
    emulator: EmulatorServer, connect: Connect, requests_of: RequestsOf
) -> None:
    client = connect(emulator, OAUTH)
    client.list_keys("_")
    emulator.control.advance_clock("2h")  # the token's hour is over on the server's clock
    client.list_keys("_")
    assert requests_of(emulator, TOKEN) == 2
    statuses = emulator.control.stats()["statuses"]
    assert statuses.get("401") == 1  # exactly one refused request, then the renewed one


def test_oauth_renewal_of_a_write_keeps_its_body(
    emulator: EmulatorServer, connect: Connect, requests_of: RequestsOf
) -> None:
    from infobip_iac.domain.keys import KeyWrite

    client = connect(emulator, OAUTH)
    client.list_keys("_")
    emulator.control.advance_clock("2h")
    created = client.create_key("_", KeyWrite(name="after-renewal"))
    assert created.key.name == "after-renewal"
    assert requests_of(emulator, "POST /settings/2/api-keys") == 2
    assert len(client.find_by_name("_", "after-renewal")) == 1


def test_ibsso_session_made_reused_and_destroyed(
    emulator: EmulatorServer, connect: Connect, requests_of: RequestsOf
) -> None:
    client = connect(emulator, UserCredentials("admin", Secret("admin"), use_session=True))
    client.list_keys("_")
    client.list_keys("_")
    assert requests_of(emulator, SESSION) == 1
    client.close()
    assert requests_of(emulator, LOGOUT) == 1


def test_ibsso_session_renewed_after_idle_expiry(
    emulator: EmulatorServer, connect: Connect, requests_of: RequestsOf
) -> None:
    client = connect(emulator, UserCredentials("admin", Secret("admin"), use_session=True))
    client.list_keys("_")
    emulator.control.advance_clock("61m")
    client.list_keys("_")
    assert requests_of(emulator, SESSION) == 2


def test_given_ibsso_token(emulator: EmulatorServer, connect: Connect) -> None:
    answer = httpx.post(
        f"{emulator.base_url}/auth/1/session",
        json={"username": "admin", "password": "admin"},
        timeout=5,
    )
    token = answer.json()["token"]
    client = connect(emulator, IbssoToken(Secret(token)))
    assert client.list_keys("_").keys == []


def test_given_ibsso_token_that_is_unknown(emulator: EmulatorServer, connect: Connect) -> None:
    client = connect(emulator, IbssoToken(Secret("zz-unknown-token-zz")))
    with pytest.raises(AuthenticationError) as caught:
        client.list_keys("_")
    assert "zz-unknown-token-zz" not in str(caught.value)


# -- renewal logic with a fake exchange and clock -----------------------------------------------


class _Exchange:
    def __init__(self, lifetime: int = 3600) -> None:
        self.lifetime = lifetime
        self.calls: list[str] = []
        self._lock = threading.Lock()

    def call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        form: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        assert form is not None and form["grant_type"] == "client_credentials"
        with self._lock:
            self.calls.append(path)
            return {"access_token": f"token-{len(self.calls)}", "expires_in": self.lifetime}


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _send(auth: httpx.Auth, answers: list[int]) -> list[str]:
    """Drive an auth flow as httpx does; returns the Authorization header of each send."""
    sent: list[str] = []
    flow = auth.sync_auth_flow(httpx.Request("GET", "http://x.test/settings/2/api-keys"))
    request = next(flow)
    for status in answers:
        sent.append(request.headers["Authorization"])
        try:
            request = flow.send(httpx.Response(status))
        except StopIteration:
            break
    return sent


def test_token_renewed_shortly_before_expiry() -> None:
    exchange, clock = _Exchange(lifetime=600), _Clock()
    auth = OAuth2ClientCredentialsAuth(OAUTH, exchange, clock=clock)
    assert _send(auth, [200]) == ["Bearer token-1"]
    clock.now = 530  # 70 s left: more than the 60 s margin
    assert _send(auth, [200]) == ["Bearer token-1"]
    clock.now = 545  # 55 s left: renewed before it runs out
    assert _send(auth, [200]) == ["Bearer token-2"]
    assert len(exchange.calls) == 2


def test_token_renewed_once_on_401() -> None:
    exchange = _Exchange()
    auth = OAuth2ClientCredentialsAuth(OAUTH, exchange, clock=_Clock())
    assert _send(auth, [401, 401]) == ["Bearer token-1", "Bearer token-2"]
    assert len(exchange.calls) == 2  # a second 401 is the caller's to report


def test_threads_share_one_token() -> None:
    exchange = _Exchange()
    auth = OAuth2ClientCredentialsAuth(OAUTH, exchange, clock=_Clock())
    threads = [threading.Thread(target=_send, args=(auth, [200])) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert len(exchange.calls) == 1


def test_auth_objects_do_not_show_secrets() -> None:
    exchange = _Exchange()
    for credentials in (
        UserCredentials("u", Secret("zz-s1-zz"), use_session=True),
        ClientCredentials("u", Secret("zz-s1-zz")),
        IbssoToken(Secret("zz-s1-zz")),
    ):
        auth = build_auth(credentials, exchange)
        assert "zz-s1-zz" not in repr(auth)
    assert "zz" not in repr(StaticTokenAuth("IBSSO", Secret("zz")))
    assert "zz-s1-zz" not in repr(UserCredentials("u", Secret("zz-s1-zz")))

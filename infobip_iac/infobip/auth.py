"""How requests to Infobip authenticate: Basic, an IBSSO token, an IBSSO session made from a
username and password, or an OAuth2 client-credentials token.

Tokens are fetched through a `TokenExchange` (the client's own request path, without auth)
rather than as extra requests inside the httpx auth flow: a token request that fails is then
already a typed error, and can never be mistaken for a lost write of the request it serves.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from typing import Any, Generic, Protocol, TypeVar, assert_never

import httpx

from infobip_iac import redaction
from infobip_iac.domain.secret import Secret
from infobip_iac.errors import InfobipApiError, TransportError
from infobip_iac.infobip.settings import (
    ClientCredentials,
    Credentials,
    IbssoToken,
    UserCredentials,
)
from infobip_iac.logs import get_logger

__all__ = [
    "OAUTH_TOKEN_PATH",
    "SESSION_PATH",
    "IbssoSessionAuth",
    "OAuth2ClientCredentialsAuth",
    "StaticTokenAuth",
    "TokenExchange",
    "build_auth",
    "close_auth",
]

OAUTH_TOKEN_PATH = "/auth/1/oauth2/token"  # noqa: S105 - a path, not a password
SESSION_PATH = "/auth/1/session"

_log = get_logger(__name__)


class TokenExchange(Protocol):
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
        """Send one request without the client's auth and return its decoded JSON (None
        for an empty body); a non-success answer raises the typed error."""
        ...


class StaticTokenAuth(httpx.Auth):
    """`Authorization: <scheme> <token>` on every request; nothing to renew."""

    def __init__(self, scheme: str, token: Secret) -> None:
        self._scheme = scheme
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"{self._scheme} {self._token.reveal()}"
        yield request

    def __repr__(self) -> str:
        return f"StaticTokenAuth({self._scheme!r}, ***)"


_CredentialsT = TypeVar("_CredentialsT", ClientCredentials, UserCredentials)


class _RenewableTokenAuth(httpx.Auth, ABC, Generic[_CredentialsT]):
    """A token obtained through the exchange with `credentials`, cached, renewed when its
    lifetime is nearly over and once after a 401 (the server may end a session or token
    early)."""

    scheme = ""

    def __init__(
        self,
        credentials: _CredentialsT,
        exchange: TokenExchange,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._credentials: _CredentialsT = credentials
        self._exchange = exchange
        self._clock = clock
        # One lock so that threads reading several accounts at once fetch one token, not one
        # each; it is held during a token request, never during the request it serves.
        self._lock = threading.Lock()
        self._token: Secret | None = None
        self._renew_at: float | None = None
        self._generation = 0

    @abstractmethod
    def _fetch(self) -> tuple[Secret, float | None]:
        """A new token and its lifetime in seconds (None when the server does not say)."""

    def _current(self, *, replacing: int | None = None) -> tuple[Secret, int]:
        with self._lock:
            stale = self._token is None or (
                self._renew_at is not None and self._clock() >= self._renew_at
            )
            if stale or replacing == self._generation:
                token, lifetime = self._fetch()
                self._token = token
                self._renew_at = None if lifetime is None else self._clock() + _margin(lifetime)
                self._generation += 1
            assert self._token is not None
            return self._token, self._generation

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        token, generation = self._current()
        request.headers["Authorization"] = f"{self.scheme} {token.reveal()}"
        response = yield request
        if response.status_code == 401:
            # Renew only if no other thread has done so since this token was handed out.
            token, _ = self._current(replacing=generation)
            request.headers["Authorization"] = f"{self.scheme} {token.reveal()}"
            _log.debug("infobip token renewed after 401", scheme=self.scheme)
            yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        # The token cache is guarded by a thread lock, which an event loop must not block on.
        raise TypeError("infobip-iac's token auth works with httpx.Client only")
        yield request  # unreachable; makes this an async generator as httpx expects

    def __repr__(self) -> str:
        return f"{type(self).__name__}(***)"


def _margin(lifetime: float) -> float:
    """When to renew: a tenth of the lifetime early (at most a minute), so that a request
    never leaves with a token that expires on the way."""
    return max(lifetime - min(60.0, lifetime / 10), 0.0)


class OAuth2ClientCredentialsAuth(_RenewableTokenAuth[ClientCredentials]):
    """`Authorization: Bearer <token>` from `POST /auth/1/oauth2/token` (form-encoded)."""

    scheme = "Bearer"

    def _fetch(self) -> tuple[Secret, float | None]:
        operation = "create OAuth2 token"
        answer = self._exchange.call(
            "POST",
            OAUTH_TOKEN_PATH,
            operation=operation,
            form={
                "client_id": self._credentials.client_id,
                "client_secret": self._credentials.client_secret.reveal(),
                "grant_type": "client_credentials",
            },
        )
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise TransportError("malformed answer: no access_token", operation=operation)
        lifetime = answer.get("expires_in")
        if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
            lifetime = None
        _log.debug("infobip oauth2 token obtained", expires_in=lifetime)
        redaction.register(token)
        return Secret(token), None if lifetime is None else float(lifetime)


class IbssoSessionAuth(_RenewableTokenAuth[UserCredentials]):
    """`Authorization: IBSSO <token>` from `POST /auth/1/session`; `close()` logs out."""

    scheme = "IBSSO"

    def _fetch(self) -> tuple[Secret, float | None]:
        operation = "create session"
        answer = self._exchange.call(
            "POST",
            SESSION_PATH,
            operation=operation,
            json={
                "username": self._credentials.username,
                "password": self._credentials.password.reveal(),
            },
        )
        token = answer.get("token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise TransportError("malformed answer: no session token", operation=operation)
        _log.debug("infobip session created")
        # Sessions end after a period of inactivity the answer does not state: renew on 401.
        redaction.register(token)
        return Secret(token), None

    def close(self) -> None:
        """Destroy the session, if one was made. A failure is logged, not raised: closing
        must not hide the error that made the program close."""
        with self._lock:
            token, self._token = self._token, None
        if token is None:
            return
        try:
            self._exchange.call(
                "DELETE",
                SESSION_PATH,
                operation="destroy session",
                headers={"Authorization": f"IBSSO {token.reveal()}"},
            )
        except InfobipApiError as error:
            _log.warning("infobip session not destroyed", error=str(error))


def build_auth(
    credentials: Credentials,
    exchange: TokenExchange,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> httpx.Auth:
    """The auth flow for these credentials, which are from now on redacted from whatever
    the tool prints or logs."""
    match credentials:
        case UserCredentials(username=username, password=password):
            redaction.register_basic(username, password.reveal())
        case ClientCredentials(client_secret=secret) | IbssoToken(token=secret):
            redaction.register(secret.reveal())
    match credentials:
        case UserCredentials(use_session=True):
            return IbssoSessionAuth(credentials, exchange, clock=clock)
        case UserCredentials(username=username, password=password):
            return httpx.BasicAuth(username, password.reveal())
        case ClientCredentials():
            return OAuth2ClientCredentialsAuth(credentials, exchange, clock=clock)
        case IbssoToken(token=token):
            return StaticTokenAuth("IBSSO", token)
    assert_never(credentials)


def close_auth(auth: httpx.Auth) -> None:
    """End whatever the auth flow opened on the server (an IBSSO session)."""
    if isinstance(auth, IbssoSessionAuth):
        auth.close()

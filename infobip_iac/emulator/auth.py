"""Who is calling: Basic credentials, IBSSO session tokens, OAuth2 bearer tokens; and whether
their roles let them manage API keys. An API key (`App <key>`) cannot manage API keys."""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from infobip_iac.emulator.catalog import MANAGE_SCOPE, ScopeCatalog
from infobip_iac.emulator.failures import OperationError
from infobip_iac.emulator.model import EmulatorUser
from infobip_iac.emulator.store import Store

__all__ = ["SESSION_IDLE", "TOKEN_LIFETIME", "Authenticator", "Caller"]

# Infobip ends an IBSSO session after 60 minutes without use; OAuth2 tokens live an hour.
SESSION_IDLE = timedelta(minutes=60)
TOKEN_LIFETIME = timedelta(seconds=3600)


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: a user, or (only where the spec allows it) an API key."""

    name: str  # username, or "key:<id>" for an API key
    account_id: str
    scopes: frozenset[str]


@dataclass
class _Grant:
    username: str
    expires: datetime


class Authenticator:
    """Holds sessions and tokens in memory only: a restart signs everyone out, as persisted
    data must never carry a credential that grants access."""

    def __init__(self, store: Store, catalog: ScopeCatalog) -> None:
        self._store = store
        self._catalog = catalog
        self._sessions: dict[str, _Grant] = {}
        self._tokens: dict[str, _Grant] = {}

    def forget_all(self) -> None:
        self._sessions.clear()
        self._tokens.clear()

    def check_password(self, username: str, password: str) -> EmulatorUser | None:
        user = self._store.users.get(username)
        if user is None or not hmac.compare_digest(user.password.encode(), password.encode()):
            return None
        return user

    def open_session(self, username: str, password: str, now: datetime) -> str | None:
        if self.check_password(username, password) is None:
            return None
        token = str(uuid.uuid4())
        self._sessions[token] = _Grant(username, now + SESSION_IDLE)
        return token

    def close_session(self, token: str) -> bool:
        return self._sessions.pop(token, None) is not None

    def issue_token(self, username: str, password: str, now: datetime) -> str | None:
        if self.check_password(username, password) is None:
            return None
        token = secrets.token_urlsafe(32)
        self._tokens[token] = _Grant(username, now + TOKEN_LIFETIME)
        return token

    def session_token(self, header: str | None) -> str | None:
        scheme, _, credentials = (header or "").strip().partition(" ")
        return credentials.strip() if scheme.upper() == "IBSSO" and credentials.strip() else None

    def authenticate(self, header: str | None, now: datetime, *, keys_allowed: bool) -> Caller:
        """The caller named by an Authorization header, or a 401."""
        scheme, _, credentials = (header or "").strip().partition(" ")
        credentials = credentials.strip()
        scheme = scheme.upper()
        if not scheme:
            raise OperationError(401, "No Authorization header was sent.")
        if scheme == "BASIC":
            return self._basic(credentials)
        if scheme == "IBSSO":
            return self._granted(self._sessions, credentials, now, "IBSSO session", renew=True)
        if scheme == "BEARER":
            return self._granted(self._tokens, credentials, now, "OAuth2 token", renew=False)
        if scheme == "APP":
            if not keys_allowed:
                raise OperationError(
                    401,
                    "An API key cannot manage API keys; authenticate as a user "
                    "(Basic, IBSSO or OAuth2).",
                )
            return self._api_key(credentials, now)
        raise OperationError(401, f"Unsupported authorization scheme {scheme.title()!r}.")

    def require_manage(self, caller: Caller) -> None:
        if MANAGE_SCOPE not in caller.scopes:
            raise OperationError(
                403,
                f"The caller lacks the {MANAGE_SCOPE} scope; give the user a role that "
                "grants it (e.g. Account Manager or Integrations Manager).",
            )

    def _as_caller(self, user: EmulatorUser) -> Caller:
        scopes: set[str] = set()
        for role in user.roles:
            scopes |= self._catalog.role_scopes(role)
        return Caller(user.username, self._store.account_of(user), frozenset(scopes))

    def _basic(self, credentials: str) -> Caller:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise OperationError(401, "The Basic credentials are not valid base64.") from None
        username, sep, password = decoded.partition(":")
        user = self.check_password(username, password) if sep else None
        if user is None:
            raise OperationError(401, "Wrong username or password.")
        return self._as_caller(user)

    def _granted(
        self, grants: dict[str, _Grant], token: str, now: datetime, what: str, *, renew: bool
    ) -> Caller:
        grant = grants.get(token)
        if grant is None:
            raise OperationError(401, f"Unknown {what}.")
        if now >= grant.expires:
            del grants[token]
            raise OperationError(401, f"The {what} has expired.")
        user = self._store.users.get(grant.username)
        if user is None:
            raise OperationError(401, f"The {what} belongs to a user who no longer exists.")
        if renew:
            grant.expires = now + SESSION_IDLE
        return self._as_caller(user)

    def _api_key(self, secret: str, now: datetime) -> Caller:
        key = self._store.key_for_secret(secret)
        if key is None or not key.enabled or not key.valid_from <= now <= key.valid_to:
            raise OperationError(401, "The API key is unknown, revoked or outside its validity.")
        return Caller(f"key:{key.id}", key.account_id, frozenset(key.scope_guids))

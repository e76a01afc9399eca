"""Connection settings for Infobip, read from the environment only (never from a manifest).

SPEC §3: `INFOBIP_BASE_URL`, then one complete pair of credentials, tried in this order:
`INFOBIP_USERNAME` + `INFOBIP_PASSWORD` (Basic), `INFOBIP_CLIENT_ID` +
`INFOBIP_CLIENT_SECRET` (OAuth2 client credentials), `INFOBIP_IBSSO_TOKEN`.
`INFOBIP_USE_SESSION=1` turns a username and password into an IBSSO session instead of
Basic (one login, then a token; the session is destroyed when the client closes).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from infobip_iac.domain.secret import Secret
from infobip_iac.errors import CredentialsError

__all__ = [
    "ClientCredentials",
    "ConnectionSettings",
    "Credentials",
    "IbssoToken",
    "UserCredentials",
    "credential_variables",
    "has_scheme",
    "normalize_base_url",
    "settings_from_env",
]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"", "0", "false", "no", "off"})

_HOW_TO = (
    "set INFOBIP_USERNAME and INFOBIP_PASSWORD (Basic), or INFOBIP_CLIENT_ID and "
    "INFOBIP_CLIENT_SECRET (OAuth2), or INFOBIP_IBSSO_TOKEN"
)


@dataclass(frozen=True)
class UserCredentials:
    """A user's name and password: sent as Basic, or exchanged for an IBSSO session."""

    username: str
    password: Secret
    use_session: bool = False


@dataclass(frozen=True)
class ClientCredentials:
    """OAuth2 client credentials; Infobip's client id is the user's name."""

    client_id: str
    client_secret: Secret


@dataclass(frozen=True)
class IbssoToken:
    """A session token made elsewhere (e.g. by a login step in CI)."""

    token: Secret


Credentials = UserCredentials | ClientCredentials | IbssoToken


def credential_variables(credentials: Credentials) -> str:
    """The environment variables `credentials` came from, and how they are sent: what an
    error about refused credentials names (never their values)."""
    match credentials:
        case UserCredentials(use_session=True):
            return "INFOBIP_USERNAME/INFOBIP_PASSWORD (as an IBSSO session login)"
        case UserCredentials():
            return "INFOBIP_USERNAME/INFOBIP_PASSWORD (as Basic)"
        case ClientCredentials():
            return "INFOBIP_CLIENT_ID/INFOBIP_CLIENT_SECRET (OAuth2 client credentials)"
        case IbssoToken():
            return "INFOBIP_IBSSO_TOKEN (IBSSO)"


@dataclass(frozen=True)
class ConnectionSettings:
    base_url: str
    credentials: Credentials
    # INFOBIP_BASE_URL had no scheme and https:// was put in front: a connection error
    # says so, since a server that speaks plain HTTP then cannot be reached.
    scheme_assumed: bool = False


def has_scheme(raw: str) -> bool:
    return "://" in raw


def normalize_base_url(raw: str) -> str:
    """`xyz.api.infobip.com` -> `https://xyz.api.infobip.com`; `HTTPS://XYZ.api.infobip.com:443/`
    the same. The result carries no user information, so it may be shown in any message."""
    text = raw.strip()
    if not has_scheme(text):
        text = f"https://{text}"
    text = text.rstrip("/")
    try:
        parts = urlsplit(text)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # e.g. an unclosed IPv6 bracket, or a port that is not a number
        usable = False
    if not usable:
        raise CredentialsError(
            "INFOBIP_BASE_URL is not a usable URL; set it to your account's base URL, "
            "e.g. https://xxxxx.api.infobip.com"
        )
    if parts.query or parts.fragment:
        raise CredentialsError(
            "INFOBIP_BASE_URL must not carry a query or fragment; set it to the bare base URL"
        )
    if parts.username is not None or parts.password is not None:
        # Messages show the base URL, so it must never hold a password.
        raise CredentialsError(
            "INFOBIP_BASE_URL must not carry a user name or password; set it to the bare "
            "base URL and put the credentials in INFOBIP_USERNAME and INFOBIP_PASSWORD"
        )
    # One spelling per endpoint (a state records it and compares it): the scheme and host
    # in lower case, no default port, no trailing slash.
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None and parts.port != _DEFAULT_PORTS[parts.scheme]:
        netloc += f":{parts.port}"
    return f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}"


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise CredentialsError(f"{name} must be 1/true/yes or 0/false/no")


def _pair(env: Mapping[str, str], first: str, second: str) -> tuple[str, str] | None:
    """Both values of a pair, None when neither is set; half a pair is an error, so that a
    typo in one name cannot silently fall through to another method."""
    a, b = env.get(first, ""), env.get(second, "")
    if a and b:
        return a, b
    if a or b:
        present, missing = (first, second) if a else (second, first)
        raise CredentialsError(f"{present} is set but {missing} is not; set both, or neither")
    return None


def settings_from_env(env: Mapping[str, str] | None = None) -> ConnectionSettings:
    """Read the connection settings; raise CredentialsError saying what to set, every
    problem at once (a missing base URL and missing credentials are one error, not two
    runs).

    Messages name variables, never their values: a password or token must not reach a
    terminal or a CI log through an error.
    """
    source = os.environ if env is None else env
    problems: list[str] = []
    base_url = ""
    raw_url = source.get("INFOBIP_BASE_URL", "")
    if not raw_url.strip():
        problems.append(
            "INFOBIP_BASE_URL is not set; set it to your account's base URL "
            "(e.g. https://xxxxx.api.infobip.com, shown in Infobip's web interface)"
        )
    else:
        try:
            base_url = normalize_base_url(raw_url)
        except CredentialsError as error:
            problems.append(str(error))
    credentials: Credentials | None = None
    try:
        credentials = _credentials(source)
    except CredentialsError as error:
        problems.append(str(error))
    if credentials is None or problems:
        if len(problems) == 1:
            raise CredentialsError(problems[0])
        raise CredentialsError(
            "the environment does not say how to reach Infobip:\n"
            + "\n".join(f"  - {problem}" for problem in problems)
        )
    return ConnectionSettings(base_url, credentials, scheme_assumed=not has_scheme(raw_url))


def _credentials(source: Mapping[str, str]) -> Credentials:
    user = _pair(source, "INFOBIP_USERNAME", "INFOBIP_PASSWORD")
    client = _pair(source, "INFOBIP_CLIENT_ID", "INFOBIP_CLIENT_SECRET")
    token = source.get("INFOBIP_IBSSO_TOKEN", "")
    use_session = _flag(source, "INFOBIP_USE_SESSION")

    credentials: Credentials
    if user is not None:
        credentials = UserCredentials(user[0], Secret(user[1]), use_session=use_session)
    elif client is not None:
        credentials = ClientCredentials(client[0], Secret(client[1]))
    elif token:
        credentials = IbssoToken(Secret(token))
    elif source.get("INFOBIP_API_KEY"):
        raise CredentialsError(
            "INFOBIP_API_KEY is set, but an API key cannot manage API keys (Infobip refuses "
            f"it on these endpoints); {_HOW_TO} of a user with the account-management:manage "
            "scope"
        )
    else:
        raise CredentialsError(f"no Infobip credentials in the environment; {_HOW_TO}")
    if use_session and not isinstance(credentials, UserCredentials):
        raise CredentialsError(
            "INFOBIP_USE_SESSION needs INFOBIP_USERNAME and INFOBIP_PASSWORD to log in with"
        )
    return credentials

"""Credentials taken out of any text before the tool prints or logs it.

Infobip's answers are quoted in error messages, and a server (or a proxy in front of it)
may echo what it was sent: an `Authorization` header, a password, a token. Two nets catch
them. The credentials this process signs in with are registered (`register`) and replaced
wherever they appear, also as the Basic header made from them. Patterns catch the forms a
credential takes in text the tool never saw before: an Authorization header's value, a
token after its scheme (Basic, Bearer, IBSSO, App), a value named password, client secret
or token in JSON or a query string, and the password of a DSN
(`postgresql://user:PASSWORD@host`). Free text such as "api_keys.token: Creating..." is
left alone: the patterns need a form only data takes.

Hand-written: no library at hand redacts free text; logging libraries offer processors
(structlog's is used, `logs.py`) but no rules for what a credential looks like.
"""

from __future__ import annotations

import base64
import re
import threading

__all__ = ["REDACTED", "redact", "register", "register_basic"]

REDACTED = "[redacted]"
# Shorter values would blot out ordinary words ("admin", the emulator's password); a short
# credential is still caught by the patterns where it takes a credential's form.
_MIN_REGISTERED = 8

_lock = threading.Lock()
_known: set[str] = set()

# Names a credential goes by in a query string, a form or JSON.
_NAMES = (
    r"authorization|password|passwd|pwd|client[_-]?secret|clientSecret|api[_-]?key[_-]?secret|"
    r"apiKeySecret|access[_-]?token|accessToken|refresh[_-]?token|id[_-]?token|token|"
    r"ibsso[_-]?token"
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # A header line as a server echoes it: "Authorization: <scheme> <credentials>".
    (
        re.compile(
            r"(?i)(\bauthorization\s*:\s*)(?:Basic|Bearer|IBSSO|App|Digest|Token|Negotiate)"
            r"\s+[^\s\"',;}]+"
        ),
        rf"\g<1>{REDACTED}",
    ),
    # A named value in JSON ("password": "...", "authorization": "Basic ...") ...
    (
        re.compile(rf"""(?i)(["'](?:{_NAMES})["']\s*:\s*["'])[^"']+"""),
        rf"\g<1>{REDACTED}",
    ),
    # ... or in a query string or form: password=...&
    (re.compile(rf"(?i)(\b(?:{_NAMES})=)[^\s&;,\"']+"), rf"\g<1>{REDACTED}"),
    # A token after its scheme. Basic needs a character no English word has (a digit, +, /
    # or =), so that "Basic authentication" stays readable.
    (
        re.compile(r"(?i)\b(Basic\s+)(?=[A-Za-z0-9+/]*[0-9+/=])[A-Za-z0-9+/]{6,}={0,2}"),
        rf"\g<1>{REDACTED}",
    ),
    (re.compile(r"\b((?:Bearer|IBSSO|App)\s+)[A-Za-z0-9._~+/=-]{8,}"), rf"\g<1>{REDACTED}"),
    # The password of a URL or DSN: scheme://user:PASSWORD@host
    (
        re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s/]+(@)"),
        rf"\g<1>{REDACTED}\g<2>",
    ),
)


def register(value: str) -> None:
    """A credential of this run: replaced wherever it appears in printed or logged text."""
    if len(value) >= _MIN_REGISTERED:
        with _lock:
            _known.add(value)


def register_basic(username: str, password: str) -> None:
    """The password, and the Basic header value made of the pair (as a server echoes it)."""
    register(password)
    pair = f"{username}:{password}".encode()
    register(base64.b64encode(pair).decode("ascii"))


def redact(text: str) -> str:
    """`text` without any credential this module knows or recognizes."""
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text

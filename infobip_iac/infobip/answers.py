"""Infobip's answers as values: JSON bodies decoded, and every non-success mapped to a typed
error of `infobip_iac.errors` in one function (`api_error`).

Error messages quote Infobip's own `description` and violations (short, written for users,
with any credential they echo redacted) but never a raw body: a body may hold an
`apiKeySecret` or a token.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

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
from infobip_iac.redaction import redact

__all__ = ["api_error", "decode_json", "parse_http_date", "parse_retry_after", "without_hint"]

# Infobip's descriptions are a sentence or two; anything longer is not a message for users.
_MAX_TEXT = 300
_MAX_VIOLATIONS = 20

_HINTS = {
    401: "check the credentials in INFOBIP_USERNAME/INFOBIP_PASSWORD, INFOBIP_CLIENT_ID/"
    "INFOBIP_CLIENT_SECRET or INFOBIP_IBSSO_TOKEN",
    403: "the user needs the account-management:manage scope (e.g. the Account Manager or "
    "Integrations Manager role) and access to the account",
}
# A description that names this already gives the hint's advice in Infobip's own words.
_HINT_TOPICS = {403: "account-management:manage"}


def decode_json(body: bytes, *, operation: str) -> Any:
    """The JSON value of a body; a TransportError naming the operation if it is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise TransportError(
            "Infobip answered with a body that is not JSON", operation=operation
        ) from None


def _text(value: object) -> str:
    if not isinstance(value, str):
        return ""
    # Server text may echo what it was sent (an Authorization header, a password).
    text = redact(" ".join(value.split()))
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def _api_error_fields(payload: object) -> tuple[str, str, list[Violation]]:
    """(code, description, violations) from an `ApiError` body, or from the older
    `{"requestError": {"serviceException": ...}}` shape the auth endpoints use."""
    if not isinstance(payload, dict):
        return "", "", []
    violations: list[Violation] = []
    if "errorCode" in payload or "description" in payload:
        code = _text(payload.get("errorCode"))
        description = _text(payload.get("description"))
        raw = payload.get("violations")
        for item in raw if isinstance(raw, list) else []:
            if isinstance(item, dict):
                violations.append(
                    Violation(_text(item.get("property")), _text(item.get("violation")))
                )
        return code, description, violations[:_MAX_VIOLATIONS]
    request_error = payload.get("requestError")
    service = request_error.get("serviceException") if isinstance(request_error, dict) else None
    if isinstance(service, dict):
        errors = service.get("validationErrors")
        if isinstance(errors, dict):
            for prop, messages in errors.items():
                for message in messages if isinstance(messages, list) else [messages]:
                    violations.append(Violation(_text(prop), _text(message)))
        return (
            _text(service.get("messageId")),
            _text(service.get("text")),
            violations[:_MAX_VIOLATIONS],
        )
    return "", _text(payload.get("error")), []


def without_hint(error: InfobipApiError) -> str:
    """The error's message as Infobip gave it, without the general advice `api_error`
    adds, for a caller that knows better what the status means in its context."""
    hint = _HINTS.get(error.status)
    return error.message.removesuffix(f" ({hint})") if hint else error.message


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP date (`Date`, `Retry-After`) as aware UTC, None when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """`Retry-After` in seconds: either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        when = parse_http_date(text)
        if when is None:
            return None
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def api_error(
    *,
    status: int,
    body: bytes,
    operation: str,
    retry_after: float | None = None,
) -> InfobipApiError:
    """The typed error for one non-success answer. The only place that maps statuses."""
    try:
        payload: object = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        payload = None  # a proxy's HTML error page, say: the status alone still tells
    code, description, violations = _api_error_fields(payload)
    summary = f"HTTP {status}" + (f" {code}" if code else "")
    message = f"{summary}: {description}" if description else summary
    topic = _HINT_TOPICS.get(status)
    if status in _HINTS and not (topic and topic in description):
        message = f"{message} ({_HINTS[status]})"
    fields: dict[str, Any] = {
        "message": message,
        "status": status,
        "error_code": code,
        "operation": operation,
        "violations": violations,
    }
    if status == 400 or (400 <= status < 500 and status not in (401, 403, 404, 429)):
        return BadRequestError(**fields)
    if status == 401:
        return AuthenticationError(**fields)
    if status == 403:
        return PermissionDeniedError(**fields)
    if status == 404:
        return NotFoundError(**fields)
    if status == 429:
        if retry_after is not None:
            fields["message"] = f"{message} (retry after {retry_after:g} s)"
        return RateLimitedError(**fields, retry_after=retry_after)
    if status >= 500:
        return ServerError(**fields)
    # 1xx/3xx: redirects are not followed (they could carry credentials elsewhere).
    return TransportError(**{**fields, "message": f"unexpected answer {summary}"})

"""Non-success answers, in the body shapes Infobip's spec gives each family of operation:
`ApiError` for API keys v2 (and unknown paths), `ApiException` for accounts and sessions,
`OAuthApiException` for the OAuth2 token endpoint."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Family",
    "OperationError",
    "Violation",
    "failure_body",
]

Family = Literal["api-error", "api-exception", "oauth"]

Violation = tuple[str, str]  # (property, violation)

_ERROR_CODES = {400: "E400", 401: "E401", 403: "E403", 404: "E404", 429: "E429"}

_DESCRIPTIONS = {
    400: ("The request is not valid.", "Correct the properties named in violations and retry."),
    401: (
        "The credentials were missing, wrong or expired.",
        "Send valid Basic, IBSSO or OAuth2 credentials of a user.",
    ),
    403: (
        "The caller is not allowed to do this.",
        "Use a user whose roles grant account-management:manage, on an account it may reach.",
    ),
    404: ("No such resource.", "Check the path and the id."),
    429: ("Too many requests.", "Wait for the number of seconds in Retry-After, then retry."),
    500: ("The server failed to answer the request.", "Retry later."),
}

_MESSAGE_IDS = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    429: "TOO_MANY_REQUESTS",
    500: "GENERAL_ERROR",
}


def _error_code(status: int) -> str:
    if status >= 500:
        return "E500"
    return _ERROR_CODES.get(status, "E400")


def _closest(status: int) -> int:
    return status if status in _DESCRIPTIONS else (500 if status >= 500 else 400)


def failure_body(
    family: Family,
    status: int,
    *,
    description: str = "",
    violations: Sequence[Violation] = (),
) -> dict[str, Any]:
    """The body of a failure of `status` in `family`'s shape; `description` overrides the
    generic text for the status."""
    generic_description, action = _DESCRIPTIONS[_closest(status)]
    text = description or generic_description
    if family == "api-error":
        return {
            "errorCode": _error_code(status),
            "description": text,
            "action": action,
            "violations": [{"property": p, "violation": v} for p, v in violations],
            "resources": [],
        }
    details: dict[str, Any] = {"messageId": _MESSAGE_IDS[_closest(status)], "text": text}
    if violations:
        grouped: dict[str, list[str]] = {}
        for prop, violation in violations:
            grouped.setdefault(prop, []).append(violation)
        details["validationErrors"] = grouped
    body: dict[str, Any] = {"requestError": {"serviceException": details}}
    if family == "oauth":
        body["error"] = text
    return body


@dataclass
class OperationError(Exception):
    """Raised inside an operation to answer `status` with a failure body of the operation's
    family (chosen by the router, so handlers need not know it)."""

    status: int
    description: str = ""
    violations: Sequence[Violation] = ()
    headers: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(f"{self.status} {self.description}")

    def body(self, family: Family) -> dict[str, Any]:
        return failure_body(
            family, self.status, description=self.description, violations=self.violations
        )

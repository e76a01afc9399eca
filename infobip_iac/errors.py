"""The one place where infobip-iac's exceptions are defined.

The tree, drawn once::

    InfobipIacError                 anything the tool reports to a user (exit 1 unless said)
    ├── ConfigurationError          bad manifests; carries every Diagnostic found at once
    ├── UsageError                  bad command-line arguments or environment
    ├── CredentialsError            no usable connection settings (e.g. only INFOBIP_API_KEY)
    ├── StateError                  the state file cannot be read, written or upgraded
    │   ├── StateLockedError        another process holds the lock
    │   ├── StateLockLostError      the lock's files were removed or replaced while held
    │   └── StalePlanError          a saved plan no longer matches state or live keys
    ├── PlanError                   the planner refuses (ambiguous name, prevent_revoke, …)
    ├── ApplyRefusedError           a guard rail refuses the apply before any write
    ├── SecretSinkError             a secret could not be delivered to its sink
    └── InfobipApiError             an answer from Infobip that is not a success
        ├── BadRequestError         400 (violations listed)
        ├── AuthenticationError     401
        ├── PermissionDeniedError   403
        ├── NotFoundError           404
        ├── RateLimitedError        429 (retry_after seconds, when given)
        ├── ServerError             5xx
        └── TransportError          no answer at all: timeout, refused, dropped, malformed body
            └── AmbiguousWriteError a write whose outcome is unknown (sent, no answer)

Library exceptions (httpx, yaml, pydantic) never escape past the module that uses the library;
they are turned into one of these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "AmbiguousWriteError",
    "ApplyRefusedError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "CredentialsError",
    "Diagnostic",
    "InfobipApiError",
    "InfobipIacError",
    "NotFoundError",
    "PermissionDeniedError",
    "PlanError",
    "RateLimitedError",
    "SecretSinkError",
    "ServerError",
    "StalePlanError",
    "StateError",
    "StateLockLostError",
    "StateLockedError",
    "TransportError",
    "UsageError",
    "Violation",
]

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding about a manifest: where it is, a stable code, what is wrong, how to mend it.

    `line` and `column` are 1-based, as editors show them; 0 means "the whole file".
    """

    file: str
    line: int
    column: int
    code: str
    message: str
    hint: str = ""
    severity: Severity = "error"

    def render(self) -> str:
        text = f"{self._where()}: {self.severity} {self.code}: {self.message}"
        return f"{text}\n    hint: {self.hint}" if self.hint else text

    def one_line(self) -> str:
        """The finding on one line (hint included), as plan outputs list their warnings."""
        text = f"{self._where()}: {self.code}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text

    def _where(self) -> str:
        return f"{self.file}:{self.line}:{self.column}" if self.line else self.file


class InfobipIacError(Exception):
    """Base of every error the tool reports to its user; `exit_code` is what the CLI returns."""

    exit_code: int = 1


class ConfigurationError(InfobipIacError):
    """The manifests are invalid. Holds every diagnostic found, not only the first."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        errors = [d for d in diagnostics if d.severity == "error"]
        super().__init__(f"{len(errors)} error(s) in the configuration")


class UsageError(InfobipIacError):
    """The command line or environment asks for something the tool cannot do."""


class CredentialsError(InfobipIacError):
    """No usable credentials for Infobip's account-management API."""


class StateError(InfobipIacError):
    """The state file is unreadable, of an unknown version, or cannot be written."""


class StateLockedError(StateError):
    """Another process holds the state lock."""

    def __init__(self, message: str, *, lock_id: str = "", holder: str = "") -> None:
        self.lock_id = lock_id
        self.holder = holder
        super().__init__(message)


class StateLockLostError(StateError):
    """The state lock this run held is no longer the lock others see (its files were
    removed or replaced, or its database session ended): the run stops before its next
    write."""


class StalePlanError(StateError):
    """A saved plan was made against a state or live keys that have changed since."""


class PlanError(InfobipIacError):
    """The planner cannot produce a plan (ambiguous adoption, prevent_revoke, policy)."""


class ApplyRefusedError(InfobipIacError):
    """A guard rail refused the apply before anything was written."""


class SecretSinkError(InfobipIacError):
    """A new key's secret could not be delivered to its sink. Never carries the secret."""


@dataclass(frozen=True, slots=True)
class Violation:
    """One entry of an ApiError's `violations`."""

    property: str
    violation: str


@dataclass(eq=False)
class InfobipApiError(InfobipIacError):
    """A non-success answer from Infobip (or no answer at all, for TransportError)."""

    message: str
    status: int = 0
    error_code: str = ""
    operation: str = ""
    violations: list[Violation] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        parts = [self.message]
        if self.operation:
            parts.insert(0, f"{self.operation}:")
        parts.extend(f"[{v.property}: {v.violation}]" for v in self.violations)
        return " ".join(parts)


class BadRequestError(InfobipApiError):
    """400: Infobip refused the request's content."""


class AuthenticationError(InfobipApiError):
    """401: the credentials were not accepted."""


class PermissionDeniedError(InfobipApiError):
    """403: the user lacks `account-management:manage` or the account is not theirs."""


class NotFoundError(InfobipApiError):
    """404: no such key (or it belongs to an account the caller cannot see)."""


@dataclass(eq=False)
class RateLimitedError(InfobipApiError):
    """429: over a read or write limit. `retry_after` in seconds when the server said."""

    retry_after: float | None = None


class ServerError(InfobipApiError):
    """5xx from Infobip."""


class TransportError(InfobipApiError):
    """No usable answer: timeout, refused or dropped connection, malformed or huge body."""


class AmbiguousWriteError(TransportError):
    """A write was sent but its outcome is unknown; it may or may not have been committed."""

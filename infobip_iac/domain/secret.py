"""A wrapper that keeps a secret or credential out of every repr, log line and traceback."""

from __future__ import annotations

__all__ = ["Secret"]


class Secret:
    """Holds any secret the tool handles: a new key's `apiKeySecret`, and the credentials
    it signs in with (a password, an OAuth2 client secret, a session or access token).
    `str()`/`repr()` never show it; only `reveal()` does, and only where the value must
    leave the process as it is meant to: the secret sinks (`infobip_iac.secrets`, which
    also reveal it to redact it from a sink command's output) and the sign-in code
    (`infobip_iac.infobip.auth`, to put a credential in a request)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would write the value somewhere we do not control.
        raise TypeError("a Secret cannot be pickled")

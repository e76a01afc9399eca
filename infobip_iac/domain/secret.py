"""A wrapper that keeps an API key secret out of every repr, log line and traceback."""

from __future__ import annotations

__all__ = ["Secret"]


class Secret:
    """Holds an `apiKeySecret`. `str()`/`repr()` never show it; only `reveal()` does, and
    only a secret sink should call that."""

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

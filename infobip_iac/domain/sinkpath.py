"""Filling a secret sink's path template: one place for the file sink and the plan view."""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["PLACEHOLDERS", "fill_sink_path", "sanitize_component"]

PLACEHOLDERS = ("address", "id", "name", "account")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]")


def sanitize_component(value: str) -> str:
    """One file-name component: no separators, no `.`/`..`, nothing a shell would expand,
    so a key name cannot add folders or climb out of the sink's folder."""
    cleaned = _UNSAFE_CHARS.sub("_", value)
    return "_" if cleaned in {"", ".", ".."} else cleaned


def fill_sink_path(template: str, values: Mapping[str, str | None]) -> str:
    """`secrets/{address}.env` with the known placeholders filled in (sanitized).

    A placeholder whose value is None (the key id before creation) is left as written, so
    a plan can show what it knows. Raises KeyError naming an unknown placeholder.
    """

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in PLACEHOLDERS:
            raise KeyError(name)
        value = values.get(name)
        return match.group(0) if value is None else sanitize_component(value)

    return _PLACEHOLDER.sub(fill, template)

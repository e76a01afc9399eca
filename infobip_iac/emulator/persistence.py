"""The emulator's data file: JSON, replaced atomically so a crash leaves the old or the new
file, never half of one."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["read_document", "write_document"]


def read_document(path: Path) -> dict[str, Any] | None:
    """The stored document, or None when there is no file yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        document = json.loads(text)
    except ValueError as error:
        raise ValueError(f"emulator data file {path} is not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise ValueError(f"emulator data file {path} does not hold a JSON object")
    return document


def write_document(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Compact separators: a 20,000-key file is written after every mutation.
    data = json.dumps(document, separators=(",", ":")).encode("utf-8")
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        # The file holds key secrets: owner-only, like any credential store.
        Path(temp_name).chmod(0o600)
        Path(temp_name).replace(path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise

"""Fixtures for the manifest tests: write manifests into a temp folder and load them."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from infobip_iac.errors import Diagnostic
from infobip_iac.manifest import LoadResult, load_configuration

# Every test that depends on the clock runs at this moment.
NOW = datetime(2026, 6, 1, tzinfo=UTC)

WriteManifest = Callable[..., Path]
LoadText = Callable[..., LoadResult]


@pytest.fixture
def write_manifest(tmp_path: Path) -> WriteManifest:
    """`write_manifest(text, name="manifest.yaml")`: the dedented text as a file in tmp_path."""

    def write(text: str, name: str = "manifest.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


@pytest.fixture
def load_text(write_manifest: WriteManifest) -> LoadText:
    """`load_text(text, **options)`: write one manifest and load it at NOW."""

    def load(text: str, **options: object) -> LoadResult:
        path = write_manifest(text)
        options.setdefault("now", NOW)
        return load_configuration([path], **options)  # type: ignore[arg-type]

    return load


def found(result: LoadResult, severity: str | None = None) -> set[tuple[str, int, int]]:
    """(code, line, column) of the diagnostics, optionally of one severity."""
    return {
        (d.code, d.line, d.column)
        for d in result.diagnostics
        if severity is None or d.severity == severity
    }


def codes(diagnostics: list[Diagnostic]) -> list[str]:
    return [d.code for d in diagnostics]

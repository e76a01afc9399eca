"""Fixtures of the reliability tests: a project folder wired to a fresh emulator."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e.workspace import Workspace

from infobip_iac.emulator import EmulatorServer


@pytest.fixture
def workspace(
    tmp_path: Path,
    emulator: EmulatorServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Workspace:
    return Workspace.open(tmp_path, emulator, capsys, monkeypatch)

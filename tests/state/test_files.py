"""Durable writes: private folders and atomic replacement."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from infobip_iac.state.files import ensure_private_dir, write_atomically


def test_missing_folders_are_created_private_and_existing_ones_left_alone(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)

    ensure_private_dir(shared / "a" / "b")

    assert stat.S_IMODE((shared / "a").stat().st_mode) == 0o700
    assert stat.S_IMODE((shared / "a" / "b").stat().st_mode) == 0o700
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755


def test_write_atomically_replaces_the_file_with_mode_0600(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_text("old")
    os.chmod(target, 0o644)
    old_umask = os.umask(0)
    try:
        write_atomically(target, b"new")
    finally:
        os.umask(old_umask)

    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_a_failed_replace_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "occupied"
    (target / "child").mkdir(parents=True)  # a non-empty folder cannot be replaced

    with pytest.raises(OSError):
        write_atomically(target, b"data")

    assert sorted(p.name for p in tmp_path.iterdir()) == ["occupied"]

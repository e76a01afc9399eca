"""Durable writes: private folders and atomic replacement."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from infobip_iac.state.files import (
    TEMP_NAME_OVERHEAD,
    TempFileError,
    ensure_private_dir,
    is_temp_file_name,
    write_atomically,
)


def test_missing_folders_are_created_private_and_existing_ones_left_alone(tmp_path: Path) -> None:
    parent = tmp_path / "parent"
    parent.mkdir(mode=0o755)
    os.chmod(parent, 0o755)

    ensure_private_dir(parent / "a" / "b")

    assert stat.S_IMODE((parent / "a").stat().st_mode) == 0o700
    assert stat.S_IMODE((parent / "a" / "b").stat().st_mode) == 0o700
    assert stat.S_IMODE(parent.stat().st_mode) == 0o755


@pytest.mark.usefixtures("open_umask")
def test_write_atomically_replaces_the_file_with_mode_0600(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_text("old")
    os.chmod(target, 0o644)
    write_atomically(target, b"new")

    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_a_failed_replace_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "occupied"
    (target / "child").mkdir(parents=True)  # a non-empty folder cannot be replaced

    with pytest.raises(OSError):
        write_atomically(target, b"data")

    assert sorted(p.name for p in tmp_path.iterdir()) == ["occupied"]


def test_a_temp_file_that_cannot_be_created_is_told_apart_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    """Callers name the folder for this one (it takes no new file) and the target for any
    later failure."""
    target = tmp_path / "missing-folder" / "state.json"

    with pytest.raises(TempFileError) as caught:
        write_atomically(target, b"data")

    assert isinstance(caught.value, OSError) and caught.value.errno == errno.ENOENT
    assert list(tmp_path.iterdir()) == []


def test_temp_file_names_are_known_by_their_shape_and_length(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file sink sweeps a shared folder by this shape, and refuses names too long for
    this overhead: both must describe the names write_atomically really uses."""
    target = tmp_path / "api_keys.ci.env"
    renamed: list[str] = []
    real_replace = os.replace

    def watching_replace(source: Any, destination: Any) -> None:
        renamed.append(Path(source).name)
        real_replace(source, destination)

    monkeypatch.setattr(os, "replace", watching_replace)

    write_atomically(target, b"data")

    (temp_name,) = renamed
    assert is_temp_file_name(temp_name)
    assert len(temp_name) == len(target.name) + TEMP_NAME_OVERHEAD
    for not_ours in (".notes.tmp", "data.0123456789abcdef.tmp", ".a.0123456789abcdef"):
        assert not is_temp_file_name(not_ours)

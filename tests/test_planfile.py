"""Saved plan files: written whole, durably and privately; read back only when they hold
exactly the plan that was saved."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest
from builders import busy_plan as make_busy_plan
from builders import targeted_plan

from infobip_iac.domain.plan import Plan
from infobip_iac.errors import UsageError
from infobip_iac.planfile import _digest, holds_a_saved_plan, read_plan_file, write_plan_file
from infobip_iac.render.json import render_json


@pytest.fixture
def busy_plan() -> Plan:
    return make_busy_plan()


def test_saved_plan_round_trips(busy_plan: Plan, tmp_path: Path) -> None:
    target = tmp_path / "plan.json"

    write_plan_file(busy_plan, target)

    assert read_plan_file(target) == busy_plan
    saved = json.loads(target.read_text())
    shown = {k: v for k, v in saved.items() if k != "infobip_iac"}
    assert shown == json.loads(render_json(busy_plan))
    assert list(tmp_path.iterdir()) == [target]  # no temp file left behind
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_plan_saved_before_the_left_out_count_still_reads(tmp_path: Path) -> None:
    target = tmp_path / "plan.json"
    write_plan_file(targeted_plan(), target)
    saved = json.loads(target.read_text())
    embedded = saved["infobip_iac"]
    del embedded["plan"]["changes_outside_targets"]
    embedded["digest"] = _digest(embedded["plan"])
    target.write_text(json.dumps(saved))

    assert read_plan_file(target).changes_outside_targets == 0


def _save(busy_plan: Plan, tmp_path: Path, edit: Any) -> Path:
    target = tmp_path / "plan.json"
    write_plan_file(busy_plan, target)
    document = json.loads(target.read_text())
    edit(document)
    target.write_text(json.dumps(document))
    return target


def _set(path: list[str], value: Any) -> Any:
    def edit(document: dict[str, Any]) -> None:
        node = document
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (_set(["infobip_iac", "plan", "write_limit"], 400), "corrupt or was edited"),
        (_set(["resource_changes"], []), "was edited"),
        (_set(["infobip_iac", "plan_format"], 99), "plan format 99"),
        (lambda document: document.pop("infobip_iac"), "not a saved plan of infobip-iac"),
    ],
    ids=["embedded plan edited", "resource_changes edited", "other format", "terraform plan"],
)
def test_a_wrong_plan_file_is_refused_clearly(
    busy_plan: Plan, tmp_path: Path, edit: Any, message: str
) -> None:
    target = _save(busy_plan, tmp_path, edit)

    with pytest.raises(UsageError, match=message):
        read_plan_file(target)


def test_a_consistent_but_unreadable_embedded_plan_is_refused(
    busy_plan: Plan, tmp_path: Path
) -> None:
    def edit(document: dict[str, Any]) -> None:
        section = document["infobip_iac"]
        section["plan"]["changes"][0]["action"] = "explode"
        section["digest"] = _digest(section["plan"])

    target = _save(busy_plan, tmp_path, edit)

    with pytest.raises(UsageError, match=r"cannot read .*changes\.0\.action"):
        read_plan_file(target)


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (lambda plan: plan, r"cannot read .*\(1 problem\(s\), first at surprise\)"),
        (lambda plan: plan["changes"][0], r"cannot read .*changes\.0\.surprise"),
        (
            lambda plan: next(c["write"] for c in plan["changes"] if c["write"]),
            r"cannot read .*changes\.\d+\.write\.surprise",
        ),
    ],
    ids=["plan", "change", "write"],
)
def test_an_embedded_plan_with_a_field_it_does_not_have_is_refused(
    busy_plan: Plan, tmp_path: Path, where: Any, message: str
) -> None:
    # The plan is a plain dataclass; the file's edge still refuses what it does not know.
    def edit(document: dict[str, Any]) -> None:
        section = document["infobip_iac"]
        where(section["plan"])["surprise"] = 1
        section["digest"] = _digest(section["plan"])

    target = _save(busy_plan, tmp_path, edit)

    with pytest.raises(UsageError, match=message):
        read_plan_file(target)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"not json {", "not JSON"), (b"\xff\xfe", "not UTF-8"), (b"[1, 2]", "not a saved plan")],
)
def test_files_that_are_not_plans(tmp_path: Path, content: bytes, message: str) -> None:
    target = tmp_path / "plan.json"
    target.write_bytes(content)

    with pytest.raises(UsageError, match=message):
        read_plan_file(target)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read the plan file"):
        read_plan_file(tmp_path / "absent.json")


def test_an_unwritable_place(busy_plan: Plan, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot write the plan file"):
        write_plan_file(busy_plan, tmp_path / "no-such-dir" / "plan.json")


def test_a_saved_plan_is_private_whatever_the_umask(
    busy_plan: Plan, tmp_path: Path, open_umask: None
) -> None:
    target = tmp_path / "plan.json"
    target.write_text("an older plan")
    os.chmod(target, 0o644)

    write_plan_file(busy_plan, target)

    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_the_folder_is_synced_after_the_plan_is_in_place(
    busy_plan: Plan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without an fsync of the folder, a power loss after `plan --out` may undo the rename:
    the reviewed plan would be gone, or an older one left under its name."""
    target = tmp_path / "plan.json"
    folder = tmp_path.stat()
    real_fsync = os.fsync
    synced: list[tuple[bool, bool]] = []  # (a folder?, the plan already in place?)

    def watching_fsync(fd: int) -> None:
        found = os.fstat(fd)
        is_folder = stat.S_ISDIR(found.st_mode) and (found.st_dev, found.st_ino) == (
            folder.st_dev,
            folder.st_ino,
        )
        synced.append((is_folder, target.exists()))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", watching_fsync)

    write_plan_file(busy_plan, target)

    assert (True, True) in synced
    assert synced[0] == (False, False)  # the content first, before the rename


def test_a_failed_write_keeps_the_old_plan_and_leaves_no_temp_file(
    busy_plan: Plan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "plan.json"
    target.write_text("the plan reviewed before")

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)

    with pytest.raises(
        UsageError, match=f"cannot write the plan file {target}: No space left on device"
    ):
        write_plan_file(busy_plan, target)

    assert target.read_text() == "the plan reviewed before"
    assert list(tmp_path.iterdir()) == [target]


def test_temp_files_of_a_killed_plan_are_swept_when_it_next_writes(
    busy_plan: Plan, tmp_path: Path
) -> None:
    """`plan --out` killed between writing and renaming leaves a temp file; the next
    successful write of that plan file removes it, but not one another writer may still be
    working on, nor a file of another name."""
    target = tmp_path / "plan.json"
    abandoned = tmp_path / ".plan.json.0123456789abcdef.tmp"
    fresh = tmp_path / ".plan.json.fedcba9876543210.tmp"
    other = tmp_path / ".other.json.0123456789abcdef.tmp"
    an_hour_ago = time.time() - 3600
    for path in (abandoned, fresh, other):
        path.write_text("{")
    for path in (abandoned, other):
        os.utime(path, (an_hour_ago, an_hour_ago))

    write_plan_file(busy_plan, target)

    assert not abandoned.exists()
    assert fresh.exists() and other.exists()
    assert read_plan_file(target) == busy_plan


def test_a_saved_plan_is_known_by_its_content_and_a_manifest_is_not(
    busy_plan: Plan, tmp_path: Path
) -> None:
    saved = tmp_path / "reviewed.yaml"  # the name does not matter, the content does
    write_plan_file(busy_plan, saved)
    yaml_manifest = tmp_path / "a.yaml"
    yaml_manifest.write_text("version: 1\napi_keys: {}\n")
    json_manifest = tmp_path / "b.json"
    json_manifest.write_text('{"version": 1, "api_keys": {}}')
    broken = tmp_path / "c.plan"
    broken.write_text('{"format_version": ')

    assert holds_a_saved_plan(saved)
    assert not holds_a_saved_plan(yaml_manifest)
    assert not holds_a_saved_plan(json_manifest)
    assert not holds_a_saved_plan(broken)
    assert not holds_a_saved_plan(tmp_path / "missing.plan")

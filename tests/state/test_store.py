"""StateStore: empty start, the on-disk format, atomic writes, backups, and clear errors."""

from __future__ import annotations

import json
import os
import stat
import time
import typing
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from infobip_iac.domain.secret import Secret
from infobip_iac.errors import StateError
from infobip_iac.state import files
from infobip_iac.state import store as store_module
from infobip_iac.state.model import STATE_VERSION, ResourceState, SecretRecord, StateDocument
from infobip_iac.state.store import StateStore, render_state

from .conftest import DATA, make_document, make_resource


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_read_without_a_file_gives_an_empty_document_with_a_fresh_lineage(
    store: StateStore,
) -> None:
    first, second = store.read(), store.read()

    assert (first.serial, first.resources, first.version) == (0, {}, STATE_VERSION)
    assert first.lineage != second.lineage
    assert not store.path.exists()


def test_write_adds_one_to_the_serial_and_returns_what_it_stored(store: StateStore) -> None:
    doc = make_document("ci-sms")

    stored = store.write(doc)
    again = store.write(stored)

    assert (stored.serial, again.serial) == (1, 2)
    assert store.read() == again
    assert doc.serial == 0  # the caller's document is not changed behind its back


def test_state_file_and_created_folder_are_private(store: StateStore) -> None:
    store.write(store.read())
    store.write(store.read())

    assert mode_of(store.path) == 0o600
    assert mode_of(store.backup_path) == 0o600
    assert mode_of(store.path.parent) == 0o700


def test_the_on_disk_format_round_trips_byte_for_byte(store: StateStore) -> None:
    golden = (DATA / "state_v3.json").read_text()
    store.path.parent.mkdir(parents=True)
    store.path.write_text(golden)

    doc = store.read()
    stored = store.write(doc)

    assert doc.serial == 6
    assert doc.resources["api_keys.ci-sms"].prevent_revoke is True
    assert doc.resources["api_keys.billing"].secret == SecretRecord(
        sink="file",
        status="lost",
        location="secrets/api_keys.billing.env",
        detail="the secret of api_keys.billing was not delivered: disk full",
        files_written=["secrets/api_keys.billing.env"],
    )
    # A rotated key's predecessor waits for its revoke; the day's writes are tallied.
    predecessor = doc.resources["api_keys.ci-sms#deposed-1D4C9E0B7A2F4E6B8C3D5A7F9E1B2C40"]
    assert predecessor.revoke_after == datetime(2027, 3, 8, 9, 30, tzinfo=UTC)
    assert doc.resources["api_keys.ci-sms"].revoke_after is None
    assert doc.writes_on("_", date(2027, 3, 1)) == 3
    assert stored.serial == 7
    expected = golden.replace('"serial": 6,', '"serial": 7,', 1)
    assert store.path.read_text() == expected
    assert store.backup_path.read_text() == golden


def test_a_version_2_file_is_read_as_it_was_and_written_as_version_3(store: StateStore) -> None:
    """Version 3 only adds fields a version-2 state cannot hold (revoke_after, writes)."""
    golden = (DATA / "state_v2.json").read_text()
    store.path.parent.mkdir(parents=True)
    store.path.write_text(golden)

    store.write(store.read())

    expected = golden.replace('"serial": 6,', '"serial": 7,', 1)
    assert store.path.read_text() == expected.replace('"version": 2,', '"version": 3,', 1)


def test_resources_are_written_sorted_by_address(store: StateStore) -> None:
    store.write(make_document("zeta", "alpha", "mid"))

    written = json.loads(store.path.read_text())

    assert list(written["resources"]) == ["api_keys.alpha", "api_keys.mid", "api_keys.zeta"]


def test_each_write_keeps_the_previous_file_as_backup(store: StateStore) -> None:
    first = store.write(make_document("a"))
    second = first.model_copy(deep=True)
    second.resources["api_keys.b"] = make_resource("b")

    store.write(second)

    backup = StateStore(store.backup_path).read()
    assert backup.serial == 1
    assert set(backup.resources) == {"api_keys.a"}
    assert set(store.read().resources) == {"api_keys.a", "api_keys.b"}


def test_an_unreadable_state_names_the_backup_and_the_command_to_restore_it(
    store: StateStore,
) -> None:
    store.write(store.write(make_document("a")))
    store.path.write_text('{"version": 1, "serial": ')

    with pytest.raises(StateError) as caught:
        store.read()

    message = str(caught.value)
    assert f"{store.path} is unreadable: not valid JSON (line 1" in message
    assert "(serial 1)" in message
    assert f"cp {store.backup_path} {store.path}" in message


def test_an_unreadable_state_without_backup_says_how_to_start_afresh(store: StateStore) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_bytes(b"")

    with pytest.raises(StateError) as caught:
        store.read()

    message = str(caught.value)
    assert "the file is empty" in message
    assert f"{store.backup_path} does not exist" in message
    assert f"mv {store.path} {store.path}.broken" in message


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"[1, 2]", "not an object"),
        (b'{"version": 1, "lineage": "x", "serial": "many", "resources": {}}', "serial"),
        (b'{"version": 1, "resources": {"api_keys.a": {"name": "a"}}}', "api_keys.a.id"),
        (b'{"version": 1, "resources": {}, "surprise": true}', "surprise"),
        (b"[" * 100_000, "nested too deeply"),
    ],
)
def test_corrupt_contents_become_a_state_error(
    store: StateStore, content: bytes, reason: str
) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_bytes(content)

    with pytest.raises(StateError, match=reason):
        store.read()


def test_a_state_from_a_newer_infobip_iac_is_refused(store: StateStore) -> None:
    store.path.parent.mkdir(parents=True)
    newer = {"version": STATE_VERSION + 1, "lineage": "b1", "serial": 7, "resources": {}}
    store.path.write_text(json.dumps(newer))

    with pytest.raises(StateError) as caught:
        store.read()

    assert str(caught.value).startswith(f"the state file {store.path} has state format version")
    assert "written by a newer infobip-iac" in str(caught.value)


def test_a_terraform_state_is_named_and_not_blamed_on_infobip_iac(store: StateStore) -> None:
    store.path.parent.mkdir(parents=True)
    store.path.write_text(
        json.dumps(
            {
                "version": 4,
                "terraform_version": "1.5.0",
                "serial": 3,
                "lineage": "abc",
                "outputs": {},
                "resources": [],
            }
        )
    )

    with pytest.raises(StateError) as caught:
        store.read()

    message = str(caught.value)
    assert message.startswith(f"the state file {store.path} is not an infobip-iac state")
    assert "Terraform 1.5.0" in message and "newer" not in message


def test_a_huge_file_is_refused_without_reading_it_whole(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "MAX_STATE_BYTES", 1024)
    store.path.parent.mkdir(parents=True)
    store.path.write_text(json.dumps({"version": 1, "pad": "x" * 4096}))

    with pytest.raises(StateError, match="larger than"):
        store.read()


def test_a_folder_given_as_state_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="is a folder"):
        StateStore(tmp_path).read()


def test_writing_over_another_lineage_is_refused(store: StateStore) -> None:
    store.write(make_document("a"))

    with pytest.raises(StateError, match="different state"):
        store.write(make_document("b"))

    assert set(store.read().resources) == {"api_keys.a"}


def test_writing_a_document_older_than_the_file_is_refused(store: StateStore) -> None:
    first = store.write(make_document("a"))
    store.write(first)

    with pytest.raises(StateError, match="changed by another run"):
        store.write(first)


def test_a_secret_field_in_attributes_is_never_written(store: StateStore) -> None:
    doc = store.write(make_document("a"))
    doc.resources["api_keys.a"].attributes["apiKeySecret"] = "planted-value-123"
    before = store.path.read_bytes()

    with pytest.raises(StateError) as caught:
        store.write(doc)

    assert "planted-value-123" not in str(caught.value)
    assert store.path.read_bytes() == before


def test_a_secret_object_in_attributes_is_never_written(store: StateStore) -> None:
    doc = make_document("a")
    doc.resources["api_keys.a"].attributes["token"] = Secret("planted-value-456")

    with pytest.raises(StateError) as caught:
        store.write(doc)

    assert "planted-value-456" not in str(caught.value)
    assert not store.path.exists()


def _field_names(model: type[typing.Any], seen: set[type[typing.Any]]) -> set[str]:
    names: set[str] = set()
    seen.add(model)
    for name, info in model.model_fields.items():
        names.add(name)
        for inner in _types_in(info.annotation):
            assert inner is not Secret, f"{model.__name__}.{name} can hold a Secret"
            if isinstance(inner, type) and hasattr(inner, "model_fields") and inner not in seen:
                names |= _field_names(inner, seen)
    return names


def _types_in(annotation: typing.Any) -> list[typing.Any]:
    found = [annotation]
    for arg in typing.get_args(annotation):
        found.extend(_types_in(arg))
    return found


def test_no_field_of_the_state_model_can_hold_a_secret() -> None:
    names = _field_names(StateDocument, set())

    assert "apiKeySecret" not in names
    # The only field about secrets is the record of where one went, with these parts.
    assert set(SecretRecord.model_fields) == {
        "sink",
        "status",
        "location",
        "detail",
        "files_written",
    }
    assert ResourceState.model_fields["secret"].annotation == SecretRecord | None


def test_render_state_is_plain_json_ending_in_a_newline() -> None:
    data = render_state(make_document("a"))

    assert data.endswith(b"}\n")
    assert json.loads(data)["version"] == STATE_VERSION


def test_write_sweeps_temp_files_abandoned_by_killed_writers(store: StateStore) -> None:
    store.write(make_document("a"))
    old = store.path.parent / f".{store.path.name}.abc123.tmp"
    fresh = store.path.parent / f".{store.path.name}.def456.tmp"
    old.write_text("{")
    fresh.write_text("{")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))

    store.write(store.read())

    assert not old.exists()
    assert fresh.exists()


def test_a_write_that_fails_leaves_the_state_and_no_temp_file(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = store.write(make_document("a"))
    before = store.path.read_bytes()

    def fail(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", fail)
    with pytest.raises(StateError, match="No space left on device"):
        store.write(doc)

    assert store.path.read_bytes() == before
    leftovers = [p.name for p in store.path.parent.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


# A writer killed inside each step of the state write (and of the backup write before it)
# is tested deterministically, with the other atomic writes, in
# tests/reliability/test_killed_writes.py.


# -- the change log: small writes between full versions ------------------------------------


def test_a_recorded_change_leaves_the_state_file_as_it_was(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.json")
    doc = store.write(StateDocument(resources={"api_keys.a": make_resource("a")}))
    before = store.path.read_bytes()
    doc.resources["api_keys.b"] = make_resource("b")
    store.record(doc, ["api_keys.b"])
    assert store.path.read_bytes() == before
    assert set(StateStore(store.path).read().resources) == {"api_keys.a", "api_keys.b"}


def test_a_torn_last_line_of_the_change_log_is_ignored(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.json")
    doc = store.write(StateDocument())
    doc.resources["api_keys.a"] = make_resource("a")
    store.record(doc, ["api_keys.a"])
    with store.changes_path.open("ab") as log:
        log.write(b'{"lineage": "')  # a writer killed while appending
    assert set(StateStore(store.path).read().resources) == {"api_keys.a"}


def test_changes_of_an_older_version_are_not_replayed(tmp_path: Path) -> None:
    """A crash between a full write's rename and the log's removal leaves lines the new
    version holds already (or, as here, has undone since)."""
    store = StateStore(tmp_path / "state.json")
    doc = store.write(StateDocument())
    doc.resources["api_keys.a"] = make_resource("a")
    doc = store.record(doc, ["api_keys.a"])
    left_behind = store.changes_path.read_bytes()
    del doc.resources["api_keys.a"]
    store.write(doc)
    store.changes_path.write_bytes(left_behind)
    read = StateStore(store.path).read()
    assert (read.serial, read.resources) == (3, {})


def test_a_broken_line_inside_the_change_log_is_reported_with_how_to_go_on(
    tmp_path: Path,
) -> None:
    store = StateStore(tmp_path / "state.json")
    doc = store.write(StateDocument())
    doc.resources["api_keys.a"] = make_resource("a")
    store.record(doc, ["api_keys.a"])
    lines = store.changes_path.read_bytes()
    store.changes_path.write_bytes(b"not json\n" + lines)
    with pytest.raises(
        StateError, match=r"change log .*state\.json\.changes is unreadable at line 1"
    ):
        StateStore(store.path).read()

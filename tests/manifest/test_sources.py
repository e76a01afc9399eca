"""Finding files, and reading each file section by section (all errors at once)."""

from __future__ import annotations

from pathlib import Path

from infobip_iac.manifest.sources import expand_paths, read_manifest
from manifest.conftest import LoadText, WriteManifest, found


def test_a_folder_means_its_yaml_files_sorted(tmp_path: Path) -> None:
    for name in ("b.yml", "a.yaml", "c.txt", "sub/d.yaml"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("version: 1\n")
    files, problems = expand_paths([tmp_path, tmp_path / "a.yaml"])
    assert [f.name for f in files] == ["a.yaml", "b.yml"]
    assert not problems


def test_missing_paths_and_empty_folders_are_reported(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    files, problems = expand_paths([tmp_path / "nope.yaml", tmp_path / "empty"])
    assert files == []
    assert [(p.code, p.line) for p in problems] == [("E100", 0), ("E101", 0)]


def test_a_file_with_a_newer_version_is_not_read_further(load_text: LoadText) -> None:
    result = load_text("version: 2\napi_keys:\n  x: {scopes: [nope]}\n")
    assert found(result) == {("E201", 1, 10)}


def test_a_file_without_version_is_still_checked(load_text: LoadText) -> None:
    result = load_text("api_keys:\n  x: {scopes: [nope]}\n")
    assert {code for code, _, _ in found(result, "error")} == {"E200", "E400"}


def test_one_bad_field_does_not_hide_the_others(load_text: LoadText) -> None:
    result = load_text(
        """
        version: 1
        api_keys:
          a:
            scopez: []
            scopes: [sms:mesage:send]
            roles: [Nobody]
            valid_for: soon
          b:
            scope_sets: [missing]
          Bad: {}
        unknown: 1
        """
    )
    assert found(result, "error") == {
        ("E202", 4, 5),
        ("E400", 5, 14),
        ("E401", 6, 13),
        ("E601", 7, 16),
        ("E402", 9, 18),
        ("E206", 10, 3),
        ("E202", 11, 1),
    }


def test_partial_keys_are_not_judged_on_what_was_dropped(load_text: LoadText) -> None:
    # valid_for is bad; the key must not also be blamed for having no validity at all.
    result = load_text(
        """
        version: 1
        policy: {max_validity: 30d, require_allowed_ips: true}
        api_keys:
          a: {valid_for: 3 months, allowed_ips: [198.51.100.1]}
        """
    )
    assert found(result, "error") == {("E601", 4, 18)}


def test_read_manifest_keeps_the_folder_for_relative_paths(write_manifest: WriteManifest) -> None:
    path = write_manifest("version: 1\naccount: ABC\n", name="team/keys.yaml")
    manifest, problems = read_manifest(path)
    assert manifest is not None and not problems
    assert manifest.folder == path.parent and manifest.account == "ABC"


def test_a_misspelt_shared_section_does_not_blame_every_key(load_text: LoadText) -> None:
    result = load_text(
        """
        version: 1
        policy: {require_allowed_ips: true}
        default:
          allowed_ips: [192.0.2.0/24]
        scope_sets: [senders]
        api_keys:
          a: {scope_sets: [senders]}
          b: {}
        """
    )
    assert found(result, "error") == {("E202", 3, 1), ("E203", 5, 13)}

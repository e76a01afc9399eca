"""The public entry points: load_configuration and load_or_raise."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

import infobip_iac.manifest as manifest
from infobip_iac.errors import ConfigurationError
from infobip_iac.manifest import load_configuration, load_or_raise, yamlload
from manifest.conftest import NOW, WriteManifest


def test_the_public_api_is_pinned() -> None:
    assert sorted(manifest.__all__) == [
        "Code",
        "LoadResult",
        "load_configuration",
        "load_or_raise",
    ]


def test_load_or_raise_gives_the_config_and_its_warnings(write_manifest: WriteManifest) -> None:
    path = write_manifest("version: 1\napi_keys:\n  open: {}\n")
    config, diagnostics = load_or_raise([path], now=NOW)
    assert list(config.keys) == ["api_keys.open"]
    assert config.files == (str(path),)
    assert [d.code for d in diagnostics] == ["W102"]


def test_load_or_raise_carries_every_error(write_manifest: WriteManifest) -> None:
    path = write_manifest("version: 1\napi_keys:\n  A: {scopes: [x]}\n")
    with pytest.raises(ConfigurationError) as caught:
        load_or_raise([path], now=NOW)
    assert [d.code for d in caught.value.diagnostics] == ["E206", "W102", "E400"]
    assert "2 error(s)" in str(caught.value)


def test_no_path_means_the_current_folder(
    write_manifest: WriteManifest, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_manifest("version: 1\napi_keys:\n  k: {allowed_ips: [192.0.2.1]}\n")
    monkeypatch.chdir(path.parent)
    result = load_configuration([], now=NOW)
    assert result.config is not None and result.files == ("manifest.yaml",)
    assert result.config.keys["api_keys.k"].secret.base_dir == "."


def test_a_naive_now_is_utc(write_manifest: WriteManifest) -> None:
    path = write_manifest(
        "version: 1\napi_keys:\n  k: {allowed_ips: [192.0.2.1], valid_to: 2026-06-10}\n"
    )
    naive = load_configuration([path], now=datetime(2026, 6, 1))
    aware = load_configuration([path], now=NOW)
    assert naive.diagnostics == aware.diagnostics
    assert [d.code for d in naive.diagnostics] == ["W101"]


def test_diagnostics_come_sorted_by_file_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text("version: 1\napi_keys:\n  b: {scopes: [nope]}\n")
    (tmp_path / "a.yaml").write_text("version: 1\nbogus: 1\napi_keys:\n  a: {roles: [x]}\n")
    result = load_configuration([tmp_path], now=NOW)
    places = [(Path(d.file).name, d.line, d.column) for d in result.diagnostics]
    assert places == sorted(places)
    assert result.config is None and len(result.errors) == 3


SUB = "5A1B2C3D4E5F60718293A4B5C6D7E8F9"


def test_where_each_manifest_writes_its_account_is_recorded(
    write_manifest: WriteManifest,
) -> None:
    keys = "api_keys:\n  {id}: {{allowed_ips: [192.0.2.1]}}\n"
    first = write_manifest(f'version: 1\naccount: "{SUB}"\n' + keys.format(id="a"), "a.yaml")
    second = write_manifest(f"version: 1\n\naccount:   {SUB}\n" + keys.format(id="b"), "b.yaml")
    caller = write_manifest("version: 1\n" + keys.format(id="c"), "c.yaml")
    config, _ = load_or_raise([first, second, caller], now=NOW)
    assert {k: [str(s) for s in v] for k, v in config.account_sources.items()} == {
        SUB: [f"{first}:2:10", f"{second}:3:12"]
    }


def test_a_valid_plain_file_is_read_once(
    write_manifest: WriteManifest, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every DesiredKey carries where its validity was written: those marks come from the
    # first read, so a valid file is never read a second time for them (0.3 s at 10,000 keys).
    def read_again(text: str) -> None:
        raise AssertionError("the file was read again for its marks")

    monkeypatch.setattr(yamlload, "_all_marks", read_again)
    path = write_manifest(
        "version: 1\n"
        "api_keys:\n"
        "  k:\n"
        "    allowed_ips: [192.0.2.1]\n"
        "    valid_from: 2026-05-01\n"
        "    valid_to: 2026-09-01\n"
    )
    config, _ = load_or_raise([path], now=NOW)
    key = config.keys["api_keys.k"]
    assert key.valid_from_source is not None and key.valid_to_source is not None
    assert (key.valid_from_source.line, key.valid_from_source.column) == (5, 17)
    assert (key.valid_to_source.line, key.valid_to_source.column) == (6, 15)

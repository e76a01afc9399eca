"""`infobip-iac state history | pull | push | migrate`, and --state from INFOBIP_IAC_STATE,
on both backends (the PostgreSQL runs need INFOBIP_IAC_TEST_PG, set by CI)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pgstate import PgState
from state.conftest import make_resource

from infobip_iac.cli.main import main
from infobip_iac.state.backend import open_backend
from infobip_iac.state.journal import PendingCreate
from infobip_iac.state.model import StateDocument
from infobip_iac.state.store import StateStore

SENT_AT = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def run(*args: str) -> int:
    return main(list(args))


def _two_versions(location: str) -> StateDocument:
    with open_backend(location) as backend:
        first = backend.store.write(StateDocument(resources={"api_keys.a": make_resource("a")}))
        first.resources["api_keys.b"] = make_resource("b")
        return backend.store.write(first)


def test_history_lists_serial_time_who_and_a_summary(
    location: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _two_versions(location)
    assert run("state", "history", "--state", location) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["1", "2"]
    assert all(len(line.split()) >= 4 for line in lines)
    assert "2 resources" in lines[1]


def test_pull_prints_the_current_version_or_one_by_serial(
    location: str, capsys: pytest.CaptureFixture[str]
) -> None:
    current = _two_versions(location)
    assert run("state", "pull", "--state", location) == 0
    pulled = json.loads(capsys.readouterr().out)
    assert (pulled["serial"], pulled["lineage"]) == (2, current.lineage)
    assert run("state", "pull", "--serial", "1", "--state", location) == 0
    assert set(json.loads(capsys.readouterr().out)["resources"]) == {"api_keys.a"}
    assert run("state", "pull", "--serial", "7", "--state", location) == 1
    assert "7" in capsys.readouterr().err


def test_push_takes_a_higher_serial_of_the_same_lineage_only(
    location: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _two_versions(location)
    assert run("state", "pull", "--state", location) == 0
    pulled = json.loads(capsys.readouterr().out)
    edited = tmp_path / "edited.json"
    del pulled["resources"]["api_keys.a"]
    edited.write_text(json.dumps(pulled), encoding="utf-8")
    assert run("state", "push", str(edited), "--state", location) == 1
    assert "serial 2 already" in capsys.readouterr().err
    pulled["serial"] = 3
    edited.write_text(json.dumps(pulled), encoding="utf-8")
    assert run("state", "push", str(edited), "--state", location) == 0
    assert run("state", "list", "--state", location) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "api_keys.b"
    pulled["lineage"], pulled["serial"] = "another", 9
    edited.write_text(json.dumps(pulled), encoding="utf-8")
    assert run("state", "push", str(edited), "--state", location) == 1
    assert "another state" in capsys.readouterr().err


def test_migrate_from_a_file_to_postgresql_and_back(
    pg_state: PgState, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = str(tmp_path / "state.json")
    current = _two_versions(source)
    sent = PendingCreate("api_keys.c", "_", "c key", "none", SENT_AT, False)
    StateStore(Path(source)).journal.begin(sent)

    assert run("state", "migrate", "--to", pg_state.url, "--state", source) == 0
    assert "1 unsettled create(s)" in capsys.readouterr().out
    with open_backend(pg_state.url) as backend:
        assert backend.store.read() == current
        assert backend.store.journal.pending() == [sent]

    back = str(tmp_path / "back" / "state.json")
    assert run("state", "migrate", "--to", back, "--state", pg_state.url) == 0
    capsys.readouterr()
    assert StateStore(Path(back)).read() == current

    stranger = tmp_path / "stranger.json"
    StateStore(stranger).write(StateDocument())
    assert run("state", "migrate", "--to", pg_state.url, "--state", str(stranger)) == 1
    assert "another state" in capsys.readouterr().err
    with open_backend(pg_state.url) as backend:
        assert backend.store.read() == current


def test_the_state_comes_from_infobip_iac_state_when_no_option_names_it(
    location: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _two_versions(location)
    monkeypatch.setenv("INFOBIP_IAC_STATE", location)
    assert run("state", "list") == 0
    assert capsys.readouterr().out == "api_keys.a\napi_keys.b\n"

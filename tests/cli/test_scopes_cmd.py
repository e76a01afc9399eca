"""`infobip-iac scopes list | search | show | role`, run through the real entry point."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from infobip_iac.cli.main import main
from infobip_iac.scopes import load_catalog

ESC = "\x1b["


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["scopes", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = run(capsys, *args, "--format", "json")
    assert (code, err) == (0, "")
    return json.loads(out)


# -- list ------------------------------------------------------------------------------------


def test_list_json_has_every_scope_sorted(capsys: pytest.CaptureFixture[str]) -> None:
    listed = run_json(capsys, "list")
    names = [entry["name"] for entry in listed]
    assert names == sorted(load_catalog().scopes)
    assert listed[0].keys() == {"name", "category", "product", "description", "sdk"}


def test_json_output_is_stable(capsys: pytest.CaptureFixture[str]) -> None:
    first = run(capsys, "list", "--format", "json")
    assert run(capsys, "list", "--format", "json") == first
    # sorted keys, two-space indent: the text itself is canonical
    assert first[1] == json.dumps(json.loads(first[1]), indent=2, sort_keys=True) + "\n"


def test_list_piped_table_is_plain(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "list", "--product", "SMS")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["SCOPE", "CATEGORY", "PRODUCT", "DESCRIPTION"]
    assert [line.split()[0] for line in lines[1:]] == [
        "sms:inbound-message:read",
        "sms:logs:read",
        "sms:manage",
        "sms:message:send",
    ]
    assert ESC not in out
    assert all(line == line.rstrip() for line in lines)
    assert not set(out) & set("─│┃━")


def test_list_by_category_and_prefix(capsys: pytest.CaptureFixture[str]) -> None:
    platform = run_json(capsys, "list", "--category", "platform")
    assert platform
    assert {entry["category"] for entry in platform} == {"Platform"}
    voice = run_json(capsys, "list", "--product", "voice & webrtc")
    assert {"calls:manage", "webrtc:manage", "voice:logs:read"} <= {e["name"] for e in voice}
    people = run_json(capsys, "list", "--product", "people")
    assert [e["name"] for e in people] == ["people:manage", "people:read", "people:use"]


def test_list_unknown_category_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "list", "--category", "Chanels")
    assert code == 1
    assert out == ""
    assert 'did you mean "Channels"?' in err


def test_scopes_without_subcommand_lists(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys)
    assert code == 0
    assert len(out.splitlines()) == 1 + len(load_catalog().scopes)


# -- search ----------------------------------------------------------------------------------


def test_search_finds_by_every_word(capsys: pytest.CaptureFixture[str]) -> None:
    found = run_json(capsys, "search", "whatsapp", "inbound")
    assert [e["name"] for e in found] == ["whatsapp:inbound-message:read"]
    code, out, _ = run(capsys, "search", "sms:message:send")
    assert code == 0
    assert out.splitlines()[1].split()[0] == "sms:message:send"


def test_search_with_no_match(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "search", "carrier", "pigeon")
    assert (code, out) == (0, "")
    assert 'No scope matches "carrier pigeon".' in err
    assert run_json(capsys, "search", "carrier pigeon") == []


def test_search_needs_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "search")
    assert code == 1
    assert "TEXT" in err


# -- show ------------------------------------------------------------------------------------


def test_show_json_tells_coverage_and_roles(capsys: pytest.CaptureFixture[str]) -> None:
    shown = run_json(capsys, "show", "sms:message:send")
    assert shown["covered_by"] == ["message:send", "sms:manage"]
    assert shown["covers"] == []
    assert shown["product"] == "SMS"
    assert "Account Manager" in shown["roles"]
    assert "Analyze Manager" not in shown["roles"]
    manage = run_json(capsys, "show", "sms:manage")
    assert manage["covers"] == ["sms:inbound-message:read", "sms:logs:read", "sms:message:send"]


def test_show_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "show", "web:sdk")
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines() if line and line[0] != " "}
    assert "Client-side SDK" in rows["category"]
    assert "only scope on its key" in out
    assert "Account Manager" in out


def test_show_unknown_scope_suggests(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "show", "sms:mesage:send")
    assert code == 1
    assert out == ""
    assert 'unknown scope "sms:mesage:send" — did you mean "sms:message:send"?' in err


# -- role ------------------------------------------------------------------------------------


def test_role_json_in_any_case_without_quotes(capsys: pytest.CaptureFixture[str]) -> None:
    role = run_json(capsys, "role", "finance", "DATA", "manager")
    assert role["name"] == "Finance Data Manager"
    assert [s["name"] for s in role["scopes"]] == [
        "account-management:manage",
        "conversations:manage",
        "forms:use",
        "numbers:manage",
    ]


def test_role_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "role", "Answers Supervisor")
    assert code == 0
    assert out.splitlines()[0] == "Role Answers Supervisor: 1 scopes"
    assert out.splitlines()[2].split()[0] == "answers:manage"


def test_role_unknown_suggests(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "role", "Analyse Manager")
    assert code == 1
    assert 'did you mean "Analyze Manager"?' in err


def test_role_without_name_lists_roles(capsys: pytest.CaptureFixture[str]) -> None:
    roles = run_json(capsys, "role")
    assert len(roles) == len(load_catalog().roles)
    code, out, _ = run(capsys, "role")
    assert code == 0
    assert "Conversations Agent" in out


# -- colour ----------------------------------------------------------------------------------


def pretend_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the captured stdout look like a colour terminal. Called inside the test, since
    capsys gives each test phase a stream of its own."""
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setenv("TERM", "xterm-256color")
    for variable in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLUMNS"):
        monkeypatch.delenv(variable, raising=False)


def test_terminal_gets_colour(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pretend_terminal(monkeypatch)
    code, out, _ = run(capsys, "list", "--product", "sms")
    assert code == 0
    assert ESC in out
    assert "─" in out  # the rule under the header, which piped output leaves out


def test_no_color_flag_and_env(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    pretend_terminal(monkeypatch)
    code, out, _ = run(capsys, "show", "sms:manage", "--no-color")
    assert code == 0
    assert "sms:manage" in out
    assert ESC not in out
    monkeypatch.setenv("NO_COLOR", "1")
    code, out, _ = run(capsys, "show", "sms:manage")
    assert code == 0
    assert "sms:manage" in out
    assert ESC not in out

"""`infobip-iac plan` through main(): formats, exit codes, saved plans, targets, errors, the
read report and its progress bar."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import click
import pytest
from e2e.workspace import Workspace, writes
from rich.console import Console

from infobip_iac.cli import plan_cmd, planning
from infobip_iac.cli.common import DEFAULT_LOCK_TIMEOUT, EMULATOR_DATA, EMULATOR_GITIGNORE
from infobip_iac.cli.main import cli
from infobip_iac.cli.planning import ReadReporter
from infobip_iac.domain.keys import DesiredConfig
from infobip_iac.emulator import EmulatorServer
from infobip_iac.engine import run
from infobip_iac.engine.refresh import ReadAhead
from infobip_iac.state.lock import locked

TWO_KEYS = """
    version: 1
    defaults:
      allowed_ips: [203.0.113.0/24]
    api_keys:
      reports:
        scopes: [sms:logs:read]
      sender:
        scopes: [sms:message:send]
"""


@pytest.fixture
def ws(
    tmp_path: Path,
    emulator: EmulatorServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Workspace:
    workspace = Workspace.open(tmp_path, emulator, capsys, monkeypatch)
    workspace.write(TWO_KEYS)
    return workspace


def test_detailed_exitcode_is_2_with_changes_and_0_without(ws: Workspace) -> None:
    assert ws.plan().code == 0
    with_changes = ws.plan("--detailed-exitcode")
    assert with_changes.code == 2, with_changes
    assert "Plan: 2 to add, 0 to change, 0 to revoke." in with_changes.out
    assert ws.apply().code == 0
    assert ws.plan("--detailed-exitcode").code == 0


def test_results_go_to_stdout_and_the_read_report_to_stderr(ws: Workspace) -> None:
    outcome = ws.plan()
    assert "will be created" in outcome.out
    assert "Reading live keys" not in outcome.out
    assert "Reading live keys of the main account … 0 keys in 1 request." in outcome.err


def test_json_and_markdown_formats(ws: Workspace) -> None:
    document = json.loads(ws.plan("--format", "json").out)
    assert {c["address"] for c in document["resource_changes"]} == {
        "api_keys.reports",
        "api_keys.sender",
    }
    markdown = ws.plan("--format", "markdown").out
    assert markdown.startswith("**") and "<details>" in markdown


def test_out_saves_a_plan_that_show_prints_again(ws: Workspace) -> None:
    planfile = ws.root / "saved.plan"
    made = ws.plan("--out", str(planfile))
    assert made.code == 0 and planfile.is_file()
    assert f"infobip-iac apply {planfile}" in made.err
    assert ws.run("show", str(planfile)).out == made.out


def test_target_plans_only_the_named_key(ws: Workspace) -> None:
    document = ws.plan_json("--target", "api_keys.sender")
    assert [c["address"] for c in document["resource_changes"]] == ["api_keys.sender"]


def test_a_target_that_matches_nothing_is_an_error_with_the_address_meant(
    ws: Workspace,
) -> None:
    outcome = ws.plan("--target", "api_keys.sendr", "--out", str(ws.root / "x.plan"))
    assert outcome.code == 1 and outcome.out == ""
    assert "--target api_keys.sendr matches no declared key" in outcome.err
    assert "did you mean api_keys.sender?" in outcome.err
    assert not (ws.root / "x.plan").exists()


def test_an_invalid_manifest_exits_1_with_its_diagnostics(ws: Workspace) -> None:
    ws.write("version: 1\napi_keys:\n  bad:\n    scopes: [sms:mesage:send]\n")
    outcome = ws.plan()
    assert outcome.code == 1
    assert "main.yaml:4" in outcome.err and "sms:message:send" in outcome.err
    assert "Traceback" not in outcome.err and outcome.out == ""


def test_a_locked_state_is_reported_with_its_holder_after_lock_timeout(ws: Workspace) -> None:
    with locked(ws.state_path, "apply"):
        outcome = ws.plan("--lock-timeout", "0.1")
    assert outcome.code == 1
    assert "locked" in outcome.err and '"apply"' in outcome.err
    # The advice in the message is an option plan takes.
    assert "Waited 0.1s for it; pass a longer --lock-timeout to wait more." in outcome.err


@pytest.mark.parametrize(
    "path", [("plan",), ("apply",), ("import",), ("state", "rm"), ("state", "mv")]
)
def test_every_command_that_locks_waits_the_same_five_seconds(path: tuple[str, ...]) -> None:
    command: click.Command | None = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.get_command(click.Context(command), name)
    assert command is not None
    waits = {param.name: param.default for param in command.params}
    assert waits["lock_timeout"] == DEFAULT_LOCK_TIMEOUT == 5.0


def test_only_an_api_key_in_the_environment_is_a_clear_error(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("INFOBIP_USERNAME", "INFOBIP_PASSWORD"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("INFOBIP_API_KEY", "not-a-secret-of-anyone")
    outcome = ws.plan()
    assert outcome.code == 1
    assert "INFOBIP_USERNAME" in outcome.err and "Traceback" not in outcome.err


def test_a_missing_base_url_and_missing_credentials_are_one_error(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("INFOBIP_BASE_URL", "INFOBIP_USERNAME", "INFOBIP_PASSWORD"):
        monkeypatch.delenv(name)
    outcome = ws.plan()
    assert outcome.code == 1 and "Traceback" not in outcome.err
    assert "INFOBIP_BASE_URL is not set" in outcome.err
    assert "no Infobip credentials in the environment" in outcome.err


def test_the_progress_bar_shows_only_for_long_reads_on_a_terminal() -> None:
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=100)
    with ReadReporter(color=False, console=terminal) as reporter:
        for page in range(1, 4):
            reporter.page_read("_", page, 3)
    assert screen.getvalue() == ""  # three pages: over before a bar would help

    with ReadReporter(color=False, console=terminal) as reporter:
        for page in range(1, 31):
            reporter.page_read("_", page, 30)
    assert "Reading live keys of the main account" in screen.getvalue()

    piped = io.StringIO()
    with ReadReporter(color=False, console=Console(file=piped, width=100)) as reporter:
        for page in range(1, 31):
            reporter.page_read("_", page, 30)
    assert piped.getvalue() == ""  # not a terminal: the summary line is enough


def _no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("INFOBIP_BASE_URL", "INFOBIP_USERNAME", "INFOBIP_PASSWORD"):
        monkeypatch.delenv(name)


TYPO = "version: 1\napi_keys:\n  bad:\n    allowed_ips: [203.0.113.0/24]\n    scopez: [x]\n"


def test_a_manifest_error_is_reported_before_missing_credentials(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.write(TYPO)
    _no_credentials(monkeypatch)
    outcome = ws.plan()
    assert outcome.code == 1
    assert 'main.yaml:5:5: error E202: unknown field "scopez"' in outcome.err
    assert "credentials" not in outcome.err


def test_a_manifest_error_comes_first_while_the_state_is_being_read_ahead(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ws.apply().code == 0  # a state with keys: plan opens the connection early
    ws.write(TYPO)
    _no_credentials(monkeypatch)
    outcome = ws.plan()
    assert outcome.code == 1
    assert 'unknown field "scopez"' in outcome.err and "credentials" not in outcome.err
    # With valid manifests, the held-back problem is the one reported.
    ws.write(TWO_KEYS)
    outcome = ws.plan()
    assert outcome.code == 1 and "no Infobip credentials" in outcome.err


@pytest.mark.parametrize("command", [["plan"], ["apply", "--auto-approve"]])
def test_an_address_typo_is_refused_before_anything_is_opened_or_read(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    ws.write(TWO_KEYS)
    _no_credentials(monkeypatch)
    with ws.counting() as requests:
        outcome = ws.run(*command, str(ws.manifests), "--replace", "ci-sms")
    assert outcome.code == 1, outcome
    assert '--replace "ci-sms" is not a key address' in outcome.err, outcome
    assert "credentials" not in outcome.err and not requests
    assert not ws.state_path.exists()


def test_live_reads_still_overlap_the_parsing_of_the_manifests(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert ws.apply().code == 0
    events: list[str] = []
    real_ahead, real_load = ReadAhead, planning.load_configuration

    def ahead(*args: Any, **kwargs: Any) -> ReadAhead:
        events.append("read ahead")
        return real_ahead(*args, **kwargs)

    def load(*args: Any, **kwargs: Any) -> DesiredConfig:
        events.append("parse")
        return real_load(*args, **kwargs)

    monkeypatch.setattr(run, "ReadAhead", ahead)
    monkeypatch.setattr(plan_cmd, "load_configuration", load)
    assert ws.plan("--detailed-exitcode").code == 0
    assert events == ["read ahead", "parse"]


def test_an_invalid_manifest_leaves_no_emulator_data_behind(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.write(TYPO)
    outcome = ws.plan("--emulator")
    assert outcome.code == 1 and 'unknown field "scopez"' in outcome.err
    assert not (ws.root / EMULATOR_DATA).exists()
    # What stays is the lock's flock file, by design (see state/lock.py).
    flock = ["emulator-state.json.flock"]
    assert sorted(p.name for p in (ws.root / ".infobip-iac").iterdir()) == flock


@pytest.mark.parametrize("name", ["p.yml", "p.yaml", "P.YAML"])
def test_a_plan_file_named_like_a_manifest_is_refused(ws: Workspace, name: str) -> None:
    outcome = ws.plan("--out", str(ws.manifests / name))
    assert outcome.code == 1
    assert "Invalid value for '--out'" in outcome.err and "named like a manifest" in outcome.err
    assert not (ws.manifests / name).exists()
    assert outcome.out == ""


SINK_TO_FILE = """
    version: 1
    api_keys:
      reports:
        scopes: [sms:logs:read]
        allowed_ips: [203.0.113.0/24]
        secret: {sink: file, path: "secrets/{address}.env"}
"""


def test_a_new_key_whose_sink_apply_would_refuse_is_a_warning_of_the_plan(ws: Workspace) -> None:
    ws.write(SINK_TO_FILE)
    in_the_way = ws.manifests / "secrets" / "api_keys.reports.env"
    in_the_way.parent.mkdir()
    in_the_way.write_text("not written by infobip-iac\n", encoding="utf-8")

    outcome = ws.plan("--detailed-exitcode")
    assert outcome.code == 2, outcome
    (warning,) = ws.plan_json()["warnings"]
    assert warning.startswith(
        "api_keys.reports: apply on this machine would refuse to create this key, since its "
        "secret could not be delivered: "
    )
    assert str(in_the_way) in warning and 'secret.path "secrets/{address}.env"' in warning
    assert f"Warning: {warning}" in outcome.out

    # What the plan warned of is what apply refuses, for the same reason.
    refused = ws.apply()
    assert refused.code == 1 and warning.split(": ", 2)[2] in refused.err, refused
    assert ws.live() == {}

    in_the_way.unlink()
    assert ws.plan_json()["warnings"] == []
    assert ws.apply().code == 0
    # A replace may overwrite the file the key's sink wrote before: no warning then.
    assert ws.plan_json("--replace", "api_keys.reports")["warnings"] == []


@pytest.mark.parametrize(
    ("command", "why"),
    [
        ('["no-such-secret-store-4a1f", "put"]', "was not found"),
        ('["./store.sh"]', "is not executable"),
        ('["./missing/store.sh"]', "was not found"),
    ],
)
def test_an_exec_sink_that_cannot_run_is_a_plan_warning_and_apply_refuses_before_writing(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch, command: str, why: str
) -> None:
    ws.write(
        "version: 1\n"
        "defaults: {allowed_ips: [203.0.113.0/24]}\n"
        "api_keys:\n"
        "  vaulted:\n"
        "    scopes: [sms:logs:read]\n"
        f"    secret: {{sink: exec, command: {command}}}\n"
    )
    # The command runs from the folder apply runs in, so that is where ./store.sh is.
    script = ws.manifests / "store.sh"
    script.write_text("#!/bin/sh\ncat >/dev/null\n", encoding="utf-8")
    script.chmod(0o644)
    monkeypatch.chdir(ws.manifests)

    (warning,) = ws.plan_json()["warnings"]
    assert warning.startswith("api_keys.vaulted: apply on this machine would refuse to create")
    assert why in warning and "(secret.command)" in warning
    with ws.counting() as counts:
        refused = ws.apply()
    assert refused.code == 1 and why in refused.err, refused
    assert writes(counts) == 0 and ws.live() == {}

    script.chmod(0o755)
    if why == "is not executable":
        assert ws.plan_json()["warnings"] == []
        assert ws.apply().code == 0
        assert sorted(ws.live()) == ["vaulted"]


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    return subprocess.run(
        [git, "-C", str(root), *args], capture_output=True, text=True, timeout=30, check=False
    )


def test_the_embedded_emulator_keeps_its_data_file_out_of_git(ws: Workspace) -> None:
    assert _git(ws.root, "init", "-q").returncode == 0
    assert ws.plan("--emulator").code == 0
    assert ws.apply("--emulator").code == 0
    assert (ws.root / EMULATOR_DATA).is_file() and (ws.root / EMULATOR_GITIGNORE).is_file()
    data = str(EMULATOR_DATA)
    temp = str(EMULATOR_DATA.parent / f".{EMULATOR_DATA.name}.0123abcd.tmp")
    state = str(ws.state_path.relative_to(ws.root))
    checked = _git(ws.root, "check-ignore", "--no-index", data, temp, state)
    # Exit 0: some path is ignored; the state is not among them.
    assert checked.returncode == 0, checked
    assert checked.stdout.split() == [data, temp]


def test_a_gitignore_beside_the_emulator_data_is_left_as_it_is(ws: Workspace) -> None:
    (ws.root / EMULATOR_GITIGNORE).parent.mkdir()
    (ws.root / EMULATOR_GITIGNORE).write_text("# the team's own\n", encoding="utf-8")
    assert ws.plan("--emulator").code == 0
    assert (ws.root / EMULATOR_GITIGNORE).read_text(encoding="utf-8") == "# the team's own\n"


def test_validation_warnings_reach_every_plan_output(ws: Workspace) -> None:
    """A manifest's warnings are in the JSON plan's `warnings`, in the markdown comment and
    in a saved plan, at file:line:column; a text plan shows them once, on stdout."""
    ws.write(
        """
        version: 1
        api_keys:
          open:
            scopes: [sms:logs:read]
        """
    )
    manifest = ws.manifests / "main.yaml"

    document = ws.plan_json()
    [warning] = [w for w in document["warnings"] if "W102" in w]
    assert warning.startswith(f"{manifest}:3:")

    markdown = ws.plan("--format", "markdown")
    assert markdown.code == 0
    # The first section of the comment, and counted in the summary above it.
    summary, warnings = markdown.out.split("<details>")[:2]
    assert "1 warning." in summary
    assert "Warnings" in warnings and "W102" in warnings and f"{manifest}:3:" in warnings
    assert "W102" in markdown.err  # the terminal still sees it

    text = ws.plan("--out", str(ws.root / "open.plan"))
    assert text.out.count("W102") == 1 and "W102" not in text.err
    shown = ws.run("show", str(ws.root / "open.plan"), "--format", "json")
    assert any("W102" in w for w in json.loads(shown.out)["warnings"])


def test_terraforms_single_dash_spellings_are_accepted(ws: Workspace) -> None:
    planfile = ws.root / "one.plan"
    made = ws.plan(f"-out={planfile}", "-detailed-exitcode", "-target", "api_keys.sender")
    assert made.code == 2, made
    assert "Plan: 1 to add" in made.out and planfile.is_file()
    assert ws.run("apply", str(planfile)).code == 0
    assert sorted(ws.live()) == ["sender"]

    applied = ws.run(
        "apply", str(ws.manifests), "-auto-approve", "-target=api_keys.reports", "-lock-timeout=0"
    )
    assert applied.code == 0, applied
    assert sorted(ws.live()) == ["reports", "sender"]
    replaced = ws.plan("-replace=api_keys.reports", "-out", str(planfile))
    assert replaced.code == 0 and "api_keys.reports must be replaced" in replaced.out, replaced

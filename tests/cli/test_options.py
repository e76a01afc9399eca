"""Options shared between commands: declared once, so they mean the same everywhere."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from infobip_iac.cli import rotate_cmd
from infobip_iac.cli.apply_cmd import apply, apply_configuration
from infobip_iac.cli.common import GlobalOptions, format_option, locked_state, stacked
from infobip_iac.cli.main import cli, main
from infobip_iac.cli.plan_cmd import plan
from infobip_iac.cli.planning import max_writes_option, plan_shape_options
from infobip_iac.engine.run import PlanShape
from infobip_iac.errors import StateLockedError


def _option(command: click.Command, name: str) -> click.Option:
    (found,) = [p for p in command.params if isinstance(p, click.Option) and p.name == name]
    return found


@pytest.mark.parametrize("name", ["targets", "replace", "refresh_only"])
def test_plan_and_apply_shape_a_plan_with_the_same_options(name: str) -> None:
    planned, applied = _option(plan, name), _option(apply, name)
    assert planned.opts == applied.opts
    assert planned.help == applied.help
    assert planned.multiple == applied.multiple


def _option_names(*path: str) -> set[str]:
    command: click.Command | None = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.get_command(click.Context(command), name)
    assert command is not None
    return {opt for p in command.params if isinstance(p, click.Option) for opt in p.opts}


# --emulator is on every command (with a state: the emulator's state; without one it
# changes nothing), so that it can be added to any command line.
OUTPUT = {"--no-color", "--log-level", "--log-format", "--emulator"}
CONNECTION = {"--timeout"}


@pytest.mark.parametrize(
    ("path", "state", "connects"),
    [
        (("plan",), True, True),
        (("apply",), True, True),
        (("import",), True, True),
        (("expiry",), True, True),
        (("rotate",), True, True),
        (("state", "list"), True, False),
        (("state", "show"), True, False),
        (("state", "rm"), True, False),
        (("state", "mv"), True, False),
        (("state", "set-endpoint"), True, False),
        (("force-unlock",), True, False),
        (("validate",), False, False),
        (("show",), False, False),
        (("scopes", "list"), False, False),
        (("scopes", "search"), False, False),
        (("scopes", "show"), False, False),
        (("scopes", "role"), False, False),
    ],
)
def test_each_command_takes_only_the_shared_options_it_uses(
    path: tuple[str, ...], state: bool, connects: bool
) -> None:
    names = _option_names(*path)
    assert names >= OUTPUT
    assert ("--state" in names) is state
    assert (names & CONNECTION == CONNECTION) is connects
    assert (names & CONNECTION == set()) is not connects


def test_an_option_a_command_does_not_take_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--timeout", "5"]) == 1
    assert "No such option '--timeout'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "path", [(), ("plan",), ("apply",), ("import",), ("export",), ("state", "set-endpoint")]
)
def test_the_help_of_what_reaches_infobip_names_the_environment(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*path, "--help"]) == 0
    shown = capsys.readouterr().out
    for variable in (
        "INFOBIP_BASE_URL",
        "INFOBIP_USERNAME",
        "INFOBIP_PASSWORD",
        "INFOBIP_CLIENT_ID",
        "INFOBIP_CLIENT_SECRET",
        "INFOBIP_IBSSO_TOKEN",
    ):
        assert variable in shown


def test_apply_help_shows_that_it_takes_a_plan_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["apply", "--help"]) == 0
    usage = capsys.readouterr().out.splitlines()[0]
    assert usage.endswith(" apply [OPTIONS] [PATHS]... | PLANFILE")


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "--emulator", str(Path(__file__).parents[2] / "examples" / "single-team")],
        ["scopes", "list", "--emulator"],
        ["scopes", "show", "sms:message:send", "--emulator"],
    ],
)
def test_emulator_is_accepted_by_commands_that_reach_nothing(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 0, capsys.readouterr().err


def _probe(captured: dict[str, object]) -> click.Command:
    """A command under the shared plan-shaping options, with an option declared below them
    and one above, that keeps what it was called with."""

    @click.command()
    @max_writes_option(7, "How many writes.")
    @plan_shape_options
    @click.option("--below")
    def probe(**kwargs: object) -> None:
        captured.update(kwargs)

    return probe


def test_the_plan_shaping_options_reach_the_command_as_one_plan_shape() -> None:
    captured: dict[str, object] = {}
    args = ["-target", "api_keys.a", "--replace", "api_keys.b", "--rotate", "api_keys.c"]
    args += ["--refresh-only", "--max-writes", "3", "--below", "kept"]
    outcome = CliRunner().invoke(_probe(captured), args)
    assert outcome.exit_code == 0, outcome.output
    assert captured == {
        "shape": PlanShape(
            refresh_only=True,
            targets=("api_keys.a",),
            replace=("api_keys.b",),
            rotate=("api_keys.c",),
            write_limit=3,
        ),
        "max_writes": 3,
        "below": "kept",
    }


def test_the_plan_shaping_options_keep_the_order_they_are_written_in() -> None:
    names = [p.name for p in _probe({}).params]
    assert names == ["max_writes", "refresh_only", "targets", "replace", "rotate", "below"]


def test_stacked_decorates_as_the_at_sign_would() -> None:
    def noted(mark: str) -> Callable[[list[str]], list[str]]:
        return lambda seen: [*seen, mark]

    # Written with @ as noted("outer") above noted("inner"): inner is applied first.
    assert stacked(["plain"], noted("outer"), noted("inner")) == ["plain", "inner", "outer"]


def test_rotate_runs_apply_s_own_function() -> None:
    assert rotate_cmd.apply_configuration is apply_configuration
    assert inspect.getdoc(apply_configuration) == inspect.getdoc(apply.callback)


def test_a_format_option_defaults_to_its_first_choice() -> None:
    @click.command()
    @format_option("table", "json")
    def show(output_format: str) -> None:
        click.echo(output_format)

    assert CliRunner().invoke(show, []).output == "table\n"
    assert CliRunner().invoke(show, ["--format", "json"]).output == "json\n"
    assert CliRunner().invoke(show, ["--format", "yaml"]).exit_code == 2


def test_locked_state_holds_the_lock_until_it_ends(tmp_path: Path) -> None:
    opts = GlobalOptions(
        state=str(tmp_path / "state.json"),
        state_given=True,
        emulator=True,
        color=False,
        log_level="warning",
        log_format="console",
        timeout=1.0,
    )
    with (
        locked_state(opts, "first", 0.0),
        pytest.raises(StateLockedError),
        locked_state(opts, "second", 0.0),
    ):
        pass
    with locked_state(opts, "third", 0.0) as backend:
        assert backend.lock.holder() is not None

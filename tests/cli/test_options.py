"""Options shared between commands: declared once, so they mean the same everywhere."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from infobip_iac.cli.apply_cmd import apply
from infobip_iac.cli.main import cli, main
from infobip_iac.cli.plan_cmd import plan


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

"""A command imports only what it uses (issue 15: a fast start).

Each command runs in a fresh interpreter, which then lists the modules it loaded: a module
that one of these commands never needs costs every run of it its import time, so one that
creeps back in (an eager import at the top of a shared module) fails here. The figures are
in benchmarks/startup.py and docs/PERFORMANCE.md; these tests pin the cause, not a time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from infobip_iac.cli.commands import COMMANDS, LazyGroup
from infobip_iac.cli.main import cli
from infobip_iac.emulator import EmulatorServer

# Runs the CLI's entry point, then writes the names of the loaded modules to the file named
# by the first argument (a None in sys.modules is a module kept out, not one loaded).
_CHILD = (
    "import json, sys\n"
    "from infobip_iac.cli.main import main\n"
    "code = main(sys.argv[2:])\n"
    "with open(sys.argv[1], 'w', encoding='utf-8') as out:\n"
    "    json.dump(sorted(k for k, v in sys.modules.items() if v is not None), out)\n"
    "sys.exit(code)\n"
)

# What a start does not need unless the command uses it, each costing a run from a few to
# a hundred milliseconds: structlog (its console renderer loads rich's pretty-printer and
# traceback modules), rich, pygments, the embedded emulator, deepdiff.
NEVER_AT_START = (
    "structlog",
    "rich",
    "pygments",
    "deepdiff",
    "infobip_iac.emulator",
)
# What commands that never reach Infobip or read the state do not load.
OFFLINE = (
    *NEVER_AT_START,
    "httpx",
    "httpcore",
    "filelock",
    "infobip_iac.infobip.client",
    "infobip_iac.state",
    "infobip_iac.engine",
    "infobip_iac.render",
)
# `--help` lists commands; it loads no command and none of what the commands use.
HELP = (
    *OFFLINE,
    "pydantic",
    "yaml",
    "infobip_iac.manifest",
    "infobip_iac.scopes",
    "infobip_iac.domain",
    *(f"infobip_iac.cli.{entry.module}" for entry in COMMANDS.values()),
)

MANIFEST = """\
version: 1
api_keys:
  ci-sms:
    name: CI SMS sender
    scopes: [sms:message:send]
    allowed_ips: [198.51.100.0/24]
    valid_for: 90d
    secret: {sink: none}
"""


def _loaded(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    listing = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(listing), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(listing.read_text(encoding="utf-8"))), done


def _found(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    """The loaded modules that are, or are inside, any of `packages`."""
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in packages))


def _offline_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("INFOBIP_")}


def test_help_lists_every_command_without_importing_any(tmp_path: Path) -> None:
    modules, done = _loaded(tmp_path, "--help", env=_offline_env())
    assert _found(modules, HELP) == []
    assert "click" in modules and "infobip_iac.cli.commands" in modules  # it did run
    listed = done.stdout.split("Commands:\n", 1)[1]
    for name, entry in COMMANDS.items():
        assert f"  {name} " in listed
        assert entry.help in " ".join(listed.split())  # as one line, however wrapped


def test_validate_loads_no_http_state_or_emulator(tmp_path: Path) -> None:
    (tmp_path / "keys.yaml").write_text(MANIFEST, encoding="utf-8")
    modules, done = _loaded(tmp_path, "validate", "keys.yaml", env=_offline_env())
    assert "Valid: 1 key in 1 file." in done.stdout
    assert "infobip_iac.manifest.load" in modules  # the work was done
    assert _found(modules, OFFLINE) == []


def test_plan_against_an_endpoint_loads_no_emulator_logging_or_httpx_cli(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    (tmp_path / "keys.yaml").write_text(MANIFEST, encoding="utf-8")
    env = {
        **_offline_env(),
        "INFOBIP_BASE_URL": emulator.base_url,
        "INFOBIP_USERNAME": "admin",
        "INFOBIP_PASSWORD": "admin",
    }
    modules, done = _loaded(tmp_path, "plan", "--no-color", "keys.yaml", env=env)
    assert "Plan: 1 to add" in done.stdout
    assert "httpx" in modules  # it reached the endpoint
    assert _found(modules, NEVER_AT_START) == []
    # httpx's own command-line program (rich and pygments) is kept out.
    assert _found(modules, ("httpx._main",)) == []


def test_a_line_at_an_enabled_level_still_loads_structlog_and_is_written(
    tmp_path: Path, emulator: EmulatorServer
) -> None:
    """Logging is lazy, not gone: a line at an enabled level is written."""
    (tmp_path / "keys.yaml").write_text(MANIFEST, encoding="utf-8")
    env = {
        **_offline_env(),
        "INFOBIP_BASE_URL": emulator.base_url,
        "INFOBIP_USERNAME": "admin",
        "INFOBIP_PASSWORD": "admin",
    }
    modules, done = _loaded(
        tmp_path, "plan", "--log-level", "debug", "--log-format", "json", "keys.yaml", env=env
    )
    assert "structlog" in modules
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert any(line["level"] == "debug" for line in lines)


def test_every_registered_command_is_the_click_command_of_its_name() -> None:
    group = cli
    assert isinstance(group, LazyGroup)
    context = click.Context(group)
    for name, entry in COMMANDS.items():
        command = group.get_command(context, name)
        assert isinstance(command, click.Command), name
        assert command.name == name
        # The listed line is one line, and a sentence.
        assert "\n" not in entry.help and entry.help.endswith(".")


@pytest.mark.parametrize("name", ["no-such-command", ""])
def test_an_unknown_command_is_none(name: str) -> None:
    assert cli.get_command(click.Context(cli), name) is None

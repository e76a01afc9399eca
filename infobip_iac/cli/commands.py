"""The subcommands, each in a module of its own, imported only when it is run.

`infobip-iac --help` lists every command with the one-line help kept here, so it imports
none of them; running a command imports its module alone. The emulator, the HTTP client,
the planner and the pydantic models of other commands stay unloaded (see
docs/PERFORMANCE.md, "Start-up"). A new command is one line in COMMANDS.
"""

from __future__ import annotations

import importlib
from typing import NamedTuple

import click

__all__ = ["COMMANDS", "Entry", "LazyGroup"]


class Entry(NamedTuple):
    module: str  # under infobip_iac.cli
    attribute: str  # the click command in that module
    help: str  # the line `infobip-iac --help` shows for it


COMMANDS: dict[str, Entry] = {
    "validate": Entry("validate_cmd", "validate", "Check manifests without reaching Infobip."),
    "plan": Entry("plan_cmd", "plan", "Show what apply would change."),
    "apply": Entry("apply_cmd", "apply", "Make the changes of a plan."),
    "show": Entry("show_cmd", "show", "Print the plan saved by `plan --out PLANFILE`."),
    "import": Entry("import_cmd", "import_", "Record a live key as a declared one."),
    "export": Entry("export_cmd", "export", "Write a manifest for an account's live keys."),
    "state": Entry("state_cmd", "state", "Inspect or edit the state file."),
    "force-unlock": Entry("state_cmd", "force_unlock", "Break a state lock left behind."),
    "scopes": Entry("scopes_cmd", "scopes", "Browse Infobip API scopes and roles."),
    "emulator": Entry("emulator_cmd", "emulator", "Serve an emulator of Infobip's API."),
    "expiry": Entry("expiry_cmd", "expiry", "List keys soonest expiry first."),
    "rotate": Entry("rotate_cmd", "rotate", "Rotate declared keys now, keeping the overlap."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        name = f"infobip_iac.cli.{entry.module}"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as missing:
            # Only a command whose module is absent is skipped; a broken import still fails.
            if missing.name == name:
                return None
            raise
        command = getattr(module, entry.attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{name}.{entry.attribute} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands and their one-line help from COMMANDS, without importing them
        (click's own asks each command, which would import every module)."""
        rows = [(name, COMMANDS[name].help) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

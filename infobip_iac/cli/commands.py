"""The subcommands, each in a module of its own, imported only when it is run.

Importing lazily keeps `infobip-iac --help` and `scopes list` fast: the emulator, the HTTP
client and the planner are not loaded until a command needs them.
"""

from __future__ import annotations

import importlib

import click

__all__ = ["COMMANDS", "LazyGroup"]

# command name -> (module under infobip_iac.cli, attribute holding the click command)
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("validate_cmd", "validate"),
    "plan": ("plan_cmd", "plan"),
    "apply": ("apply_cmd", "apply"),
    "show": ("show_cmd", "show"),
    "import": ("import_cmd", "import_"),
    "export": ("export_cmd", "export"),
    "state": ("state_cmd", "state"),
    "force-unlock": ("state_cmd", "force_unlock"),
    "scopes": ("scopes_cmd", "scopes"),
    "emulator": ("emulator_cmd", "emulator"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        name = f"infobip_iac.cli.{target[0]}"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as missing:
            # Only a command whose module is absent is skipped; a broken import still fails.
            if missing.name == name:
                return None
            raise
        command = getattr(module, target[1])
        if not isinstance(command, click.Command):
            raise TypeError(f"infobip_iac.cli.{target[0]}.{target[1]} is not a click command")
        return command

"""The list of subcommands; each lives in a module of its own."""

from __future__ import annotations

import click

__all__ = ["register"]


def register(group: click.Group) -> None:
    from infobip_iac.cli import emulator_cmd

    group.add_command(emulator_cmd.emulator)

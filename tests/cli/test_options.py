"""Options shared between commands: declared once, so they mean the same everywhere."""

from __future__ import annotations

import click
import pytest

from infobip_iac.cli.apply_cmd import apply
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

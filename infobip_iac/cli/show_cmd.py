"""`infobip-iac show PLANFILE`: print a saved plan again, in any of the plan formats."""

from __future__ import annotations

from pathlib import Path

import click

from infobip_iac.cli.common import GlobalOptions, output_options
from infobip_iac.cli.planning import PlanFormat, plan_format_option, render_plan
from infobip_iac.planfile import read_plan_file

__all__ = ["show"]


@click.command()
@click.argument("planfile", type=click.Path(dir_okay=False, path_type=Path))
@plan_format_option
@output_options
def show(*, opts: GlobalOptions, planfile: Path, output_format: PlanFormat) -> int:
    """Print the plan saved by `plan --out PLANFILE`."""
    saved = read_plan_file(planfile)
    click.echo(render_plan(saved, output_format, color=opts.color, saved_as=planfile), nl=False)
    return 0

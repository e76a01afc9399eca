"""`infobip-iac show PLANFILE`: print a saved plan again, in any of the plan formats."""

from __future__ import annotations

from pathlib import Path

import click

from infobip_iac.cli.common import GlobalOptions, output_options
from infobip_iac.cli.planning import (
    MANIFEST_SUFFIXES,
    PlanFormat,
    plan_format_option,
    render_plan,
)
from infobip_iac.errors import UsageError
from infobip_iac.planfile import holds_a_saved_plan, read_plan_file

__all__ = ["show"]


@click.command()
@click.argument("planfile", type=click.Path(dir_okay=False, path_type=Path))
@plan_format_option
@output_options
def show(*, opts: GlobalOptions, planfile: Path, output_format: PlanFormat) -> int:
    """Print the plan saved by `plan --out PLANFILE`."""
    if planfile.suffix.lower() in MANIFEST_SUFFIXES and not holds_a_saved_plan(planfile):
        # `plan --out` refuses a name like this one, so the general advice (save a new
        # plan under the same name) would send the user in a circle.
        raise UsageError(
            f"{planfile} is a manifest, not a saved plan: to see what applying it would "
            f"change, run `infobip-iac plan {planfile}`; to save that plan for show and "
            f"apply, run `infobip-iac plan {planfile} --out {planfile.with_suffix('.plan')}`"
        )
    saved = read_plan_file(planfile)
    click.echo(render_plan(saved, output_format, color=opts.color, saved_as=planfile), nl=False)
    return 0

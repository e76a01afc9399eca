"""`infobip-iac plan`: compare the manifests with the live keys and print what apply would do."""

from __future__ import annotations

from pathlib import Path

import click

from infobip_iac.cli.common import (
    ENVIRONMENT_HELP,
    TERRAFORM_HELP,
    GlobalOptions,
    TerraformSpelling,
    allow_unknown_scopes_option,
    apply_command,
    common_options,
    lock_timeout_option,
    open_service,
    run_endpoint,
)
from infobip_iac.cli.planning import (
    MANIFEST_SUFFIXES,
    PlanFormat,
    ReadReporter,
    load_configuration,
    max_writes_option,
    plan_format_option,
    plan_shape_options,
    render_plan,
)
from infobip_iac.engine.apply import ApplyEvent
from infobip_iac.engine.plan import DEFAULT_WRITE_LIMIT, check_address_syntax
from infobip_iac.engine.run import PlanRequest, PlanShape, RunHooks, run_plan
from infobip_iac.planfile import write_plan_file

__all__ = ["plan"]


def _not_named_like_a_manifest(
    ctx: click.Context, param: click.Parameter, value: Path | None
) -> Path | None:
    if value is not None and value.suffix.lower() in MANIFEST_SUFFIXES:
        raise click.BadParameter(
            f"{value} is named like a manifest, so the next plan of its folder would read "
            f"the saved plan as one. Give it another name, e.g. --out {value.with_suffix('.plan')}",
            ctx=ctx,
            param=param,
        )
    return value


def _warn(event: ApplyEvent) -> None:
    # stdout carries the plan itself (JSON for tools): what recovery will do goes to stderr.
    click.echo(f"{event.address}: {event.message}", err=True)


@click.command(epilog=f"{ENVIRONMENT_HELP}\n\n{TERRAFORM_HELP}")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "-out",
    cls=TerraformSpelling,
    type=click.Path(dir_okay=False, path_type=Path),
    callback=_not_named_like_a_manifest,
    help="Save the plan to this file; `apply FILE` then makes exactly these changes.",
)
@plan_format_option
@click.option(
    "--detailed-exitcode",
    "-detailed-exitcode",
    cls=TerraformSpelling,
    is_flag=True,
    help="Exit 2 when the plan has changes.",
)
@plan_shape_options
@max_writes_option(
    DEFAULT_WRITE_LIMIT,
    "Infobip writes a day this plan may use; rotations beyond them are deferred.",
)
@lock_timeout_option()
@allow_unknown_scopes_option
@common_options
def plan(
    *,
    opts: GlobalOptions,
    paths: tuple[Path, ...],
    out: Path | None,
    output_format: PlanFormat,
    detailed_exitcode: bool,
    shape: PlanShape,
    max_writes: int,  # the plan uses it as shape.write_limit
    lock_timeout: float,
    allow_unknown_scopes: bool,
) -> int:
    """Show what apply would change. Exit 0; 1 on error; 2 with --detailed-exitcode when
    there are changes."""
    # A typo in an address is refused before the state is locked or anything is read.
    check_address_syntax(shape.targets, shape.replace, rotate=shape.rotate)
    request = PlanRequest(
        state=opts.state,
        endpoint=lambda: run_endpoint(opts),
        # A text plan shows the manifests' warnings itself; JSON and markdown carry them
        # too, but a person watching the terminal should still see them.
        load=lambda: load_configuration(
            paths,
            allow_unknown_scopes=allow_unknown_scopes,
            echo_warnings=output_format != "text",
        ),
        shape=shape,
        lock_timeout=lock_timeout,
    )
    hooks = RunHooks(
        connect=lambda: open_service(opts),
        reads=lambda: ReadReporter(color=opts.color),
        events=_warn,
    )
    made = run_plan(request, hooks)
    click.echo(render_plan(made, output_format, color=opts.color, saved_as=out), nl=False)
    if out is not None:
        write_plan_file(made, out)
        click.echo(
            f"Saved the plan to {out}. To make exactly these changes, run: "
            f"{apply_command(opts, out)}",
            err=True,
        )
    return 2 if detailed_exitcode and made.applyable else 0

"""`infobip-iac apply`: make the planned changes, from manifests (after a `yes`) or from a
saved plan file (exactly that plan, refused when stale)."""

from __future__ import annotations

import dataclasses
import sys
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
    stacked,
)
from infobip_iac.cli.planning import (
    MANIFEST_SUFFIXES,
    ReadReporter,
    load_configuration,
    max_writes_option,
    plan_shape_options,
    render_plan,
    show_secrets_option,
)
from infobip_iac.domain.normalize import format_instant
from infobip_iac.domain.plan import Plan
from infobip_iac.engine.apply import (
    DEFAULT_MAX_WRITES,
    ApplyEvent,
    ApplyOptions,
    ApplyResult,
    EventKind,
)
from infobip_iac.engine.plan import check_address_syntax
from infobip_iac.engine.run import ApplyRequest, PlanShape, RunHooks, run_apply
from infobip_iac.errors import UsageError
from infobip_iac.planfile import holds_a_saved_plan, read_plan_file
from infobip_iac.redaction import redact
from infobip_iac.state.model import EMULATOR_ENDPOINT, describe_endpoint

__all__ = ["apply", "apply_configuration"]


def _is_plan_file(paths: tuple[Path, ...]) -> bool:
    """Whether apply was given a saved plan: one file not named like a manifest, or any file
    whose content is a saved plan. A saved plan among manifests is refused."""
    plans = [path for path in paths if path.is_file() and holds_a_saved_plan(path)]
    if plans and len(paths) > 1:
        raise UsageError(
            f"{plans[0]} is a saved plan, and a saved plan is applied alone: run "
            f"`infobip-iac apply {plans[0]}`, or pass only manifest PATHs to plan and apply "
            "them afresh"
        )
    if plans:
        return True
    return len(paths) == 1 and paths[0].is_file() and paths[0].suffix not in MANIFEST_SUFFIXES


class _Printer:
    """Progress on stdout, warnings and stops on stderr (loud, so CI logs show them)."""

    def __init__(self, *, color: bool) -> None:
        self.color = color

    def __call__(self, event: ApplyEvent) -> None:
        line = redact(f"{event.address}: {event.message}")
        if event.kind in (EventKind.WARNING, EventKind.STOPPED):
            loud = self.color and sys.stderr.isatty()
            click.secho(line, err=True, fg="red", bold=True, color=loud)
        else:
            click.echo(line)


def apply_configuration(
    *,
    opts: GlobalOptions,
    paths: tuple[Path, ...],
    auto_approve: bool,
    allow_revokes: bool,
    max_writes: int,
    show_secrets: bool,
    lock_timeout: float,
    shape: PlanShape,
    allow_unknown_scopes: bool,
) -> int:
    """Make the changes of a plan: of the manifests in PATHS (default: the current
    folder), after a `yes`, or exactly those of a PLANFILE saved by `plan --out`.

    Exit 0 done; 1 error; 3 stopped by Infobip's daily write limit (run again later to
    carry on)."""
    # The docstring above is apply's help; `rotate` calls this too, with its own shape.
    saved = _is_plan_file(paths)
    if saved and (shape.refresh_only or shape.targets or shape.replace or shape.rotate):
        raise UsageError(
            "--refresh-only, --target, --replace and --rotate shape a new plan; a saved plan "
            "is applied as it is. Pass them to `plan --out` instead"
        )
    # A typo in an address is refused before anything is read, let alone written.
    check_address_syntax(shape.targets, shape.replace, rotate=shape.rotate)
    if not saved and not auto_approve and not sys.stdin.isatty():
        raise UsageError(
            "apply asks for `yes` before changing anything, but there is no terminal to "
            "ask on. Pass --auto-approve, or save a reviewed plan with `plan --out FILE` "
            "and run `apply FILE`"
        )
    options = ApplyOptions(
        max_writes=max_writes,
        allow_revokes=allow_revokes,
        show_secrets=show_secrets,
        saved_plan=saved,
        sink_timeout=opts.timeout,
    )
    # The input is checked before the connection is opened, so that a bad plan file or
    # manifest is what gets reported, not missing credentials.
    source = (
        read_plan_file(paths[0])
        if saved
        # The text plan printed below shows the manifests' warnings.
        else load_configuration(
            paths, allow_unknown_scopes=allow_unknown_scopes, echo_warnings=False
        )
    )
    if isinstance(source, Plan):
        _refuse_another_endpoint(source, paths[0], opts)
    request = ApplyRequest(
        state=opts.state,
        endpoint=run_endpoint(opts),
        source=source,
        options=options,
        shape=shape,
        lock_timeout=lock_timeout,
        auto_approve=auto_approve,
        call_timeout=opts.timeout,
    )
    hooks = RunHooks(
        connect=lambda: open_service(opts),
        reads=lambda: ReadReporter(color=opts.color),
        events=_Printer(color=opts.color),
        show_plan=lambda planned: click.echo(
            render_plan(planned, "text", color=opts.color), nl=False
        ),
        approve=_approved,
    )
    outcome = run_apply(request, hooks)
    if outcome.result is None:
        click.echo("Apply cancelled.", err=True)
        return 1
    if not outcome.quiet:
        _summarize(outcome.result)
    return outcome.result.exit_code


# The command is apply_configuration under apply's options (rotate calls it undecorated).
apply = stacked(
    apply_configuration,
    click.command("apply", epilog=f"{ENVIRONMENT_HELP}\n\n{TERRAFORM_HELP}"),
    click.argument(
        "paths", nargs=-1, type=click.Path(path_type=Path), metavar="[PATHS]... | PLANFILE"
    ),
    click.option(
        "--auto-approve",
        "-auto-approve",
        cls=TerraformSpelling,
        is_flag=True,
        help="Apply without asking for `yes`.",
    ),
    click.option("--allow-revokes", is_flag=True, help="Revoke more keys than policy.max_revokes."),
    max_writes_option(
        DEFAULT_MAX_WRITES,
        "Refuse a plan with more Infobip writes than this (Infobip allows 40 a day).",
    ),
    show_secrets_option,
    lock_timeout_option(),
    plan_shape_options,
    allow_unknown_scopes_option,
    common_options,
)


def _refuse_another_endpoint(plan: Plan, planfile: Path, opts: GlobalOptions) -> None:
    """A saved plan is made of one endpoint's keys; applied elsewhere it would write to
    keys it never saw. (A plan saved before plans recorded their endpoint is let through:
    the state's own endpoint check still guards it.)"""
    if plan.endpoint is None:
        return
    # A plan of the emulator applied without --emulator is named as such before the
    # environment is asked for a base URL it need not have.
    endpoint = EMULATOR_ENDPOINT if opts.emulator else None
    if endpoint is None and plan.endpoint != EMULATOR_ENDPOINT:
        endpoint = run_endpoint(opts)
    if plan.endpoint == endpoint:
        return
    if plan.endpoint == EMULATOR_ENDPOINT:
        fix = f"run `{apply_command(dataclasses.replace(opts, emulator=True), planfile)}`"
    else:
        fix = f"set INFOBIP_BASE_URL to {plan.endpoint}" + (
            ", without --emulator" if opts.emulator else ""
        )
    here = describe_endpoint(endpoint) if endpoint else "Infobip (no --emulator)"
    raise UsageError(
        f"{planfile} was planned against {describe_endpoint(plan.endpoint)}, but this run is "
        f"against {here}; nothing was changed. To apply it, {fix}; or make a new plan here"
    )


def _approved() -> bool:
    answer = click.prompt(
        "\nDo you want to perform these actions?\n"
        "  Only 'yes' will be accepted to approve.\n\n  Enter a value",
        default="",
        show_default=False,
    )
    return bool(answer.strip() == "yes")


def _counts(result: ApplyResult) -> str:
    """`1 imported, 2 created, 0 updated, 0 revoked; 2 Infobip writes`. Imports and moves
    are named only when there were any (as Terraform names imports): they cost no write,
    but an apply that only did them did do something."""
    state_only = [
        f"{count} {label}"
        for count, label in ((result.imported, "imported"), (result.moved, "moved"))
        if count
    ]
    keys = ", ".join(
        [
            *state_only,
            f"{result.created} created",
            f"{result.updated} updated",
            f"{result.revoked} revoked",
        ]
    )
    return f"{keys}; {result.writes} Infobip write{'' if result.writes == 1 else 's'}"


def _summarize(result: ApplyResult) -> None:
    counts = _counts(result)
    if result.stopped_by_limit:
        when = (
            f"after {format_instant(result.resume_after)}"
            if result.resume_after is not None
            else "tomorrow"
        )
        click.echo(
            f"\nApply stopped by Infobip's daily write limit. Done so far (saved in state): "
            f"{counts}.\nLeft to do: {', '.join(result.remaining) or 'nothing'}.\n"
            f"Run apply again {when}; it carries on from the saved state.",
            err=True,
        )
    elif result.only_settling_left:
        many = len(result.unsettled_creates) > 1
        click.echo(
            f"\nEvery change was made (saved in state): {counts}.\n"
            f"The outcome of the unanswered create{'s' if many else ''} of "
            f"{', '.join(result.unsettled_creates)} {'are' if many else 'is'} still unknown: "
            f"{'each' if many else 'it'} may yet make a second key, which nobody holds the "
            f"secret of.\nLeft to do: {', '.join(result.remaining)}. Run apply again in a few "
            "minutes to settle it; it revokes such a key.",
            err=True,
        )
    elif result.error is not None:
        click.echo(
            f"\nApply stopped: {redact(result.error)}\nDone so far (saved in state): {counts}.\n"
            f"Left to do: {', '.join(result.remaining) or 'nothing'}.",
            err=True,
        )
    else:
        click.echo(f"\nApply complete! Keys: {counts}.")
    if result.secrets_lost:
        click.echo(
            f"{len(result.secrets_lost)} secret(s) NOT delivered: "
            f"{', '.join(result.secrets_lost)}. Those keys exist but nobody holds their "
            "secrets; run plan to replace them.",
            err=True,
        )

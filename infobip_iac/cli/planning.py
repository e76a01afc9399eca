"""What `plan` and `apply` share: load the configuration, read live keys (telling the user
how it goes on stderr), make the plan, render it."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Literal

import click

from infobip_iac.cli.common import TerraformSpelling
from infobip_iac.domain.keys import DesiredConfig, describe_account
from infobip_iac.domain.plan import Action, Plan, Reason
from infobip_iac.engine.attribution import AuditLogReader, attribute_drift
from infobip_iac.engine.guard_rails import sink_refusals
from infobip_iac.engine.plan import DEFAULT_WRITE_LIMIT, make_plan
from infobip_iac.engine.refresh import ReadAhead, describe_read, read_live_keys
from infobip_iac.errors import PlanError
from infobip_iac.infobip.api import AccountKeys, KeyService
from infobip_iac.manifest import load_or_raise
from infobip_iac.render.json import render_json
from infobip_iac.render.markdown import render_markdown
from infobip_iac.render.text import render_text
from infobip_iac.state.model import StateDocument

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

__all__ = [
    "MANIFEST_SUFFIXES",
    "PLAN_FORMATS",
    "PlanFormat",
    "ReadReporter",
    "configuration_files",
    "load_configuration",
    "plan_against_live",
    "plan_format_option",
    "refresh_only_option",
    "render_plan",
    "replace_option",
    "rotate_option",
    "target_option",
]

PlanFormat = Literal["text", "json", "markdown"]
PLAN_FORMATS: tuple[PlanFormat, ...] = ("text", "json", "markdown")

plan_format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice(PLAN_FORMATS),
    default="text",
    show_default=True,
)
refresh_only_option = click.option(
    "--refresh-only",
    "-refresh-only",
    cls=TerraformSpelling,
    is_flag=True,
    help="Only bring the state up to date with live.",
)
target_option = click.option(
    "--target",
    "-target",
    "targets",
    cls=TerraformSpelling,
    multiple=True,
    metavar="ADDR",
    help="Only this key (repeatable); the others are left as they are.",
)
replace_option = click.option(
    "--replace",
    "-replace",
    "replace",
    cls=TerraformSpelling,
    multiple=True,
    metavar="ADDR",
    help="Replace this key with a new one, revoking the old (repeatable).",
)

rotate_option = click.option(
    "--rotate",
    "rotate",
    multiple=True,
    metavar="ADDR",
    help="Rotate this key now, honouring its rotation overlap (repeatable).",
)

# The names a folder's manifests have (manifest/sources.py reads these from a folder).
MANIFEST_SUFFIXES = (".yaml", ".yml")

# Reads of up to this many pages finish in about a second: a bar would only flicker.
_PAGES_BEFORE_A_BAR = 5


def load_configuration(
    paths: Sequence[Path], *, allow_unknown_scopes: bool, echo_warnings: bool = True
) -> DesiredConfig:
    """The validated configuration of `paths` (default: the working folder), holding its
    warnings (which also go to stderr unless `echo_warnings` is False: a text plan on
    stdout shows them itself); errors raise ConfigurationError with every diagnostic."""
    config, diagnostics = load_or_raise(
        list(paths) or [Path()], allow_unknown_scopes=allow_unknown_scopes
    )
    if echo_warnings:
        for diagnostic in diagnostics:
            click.echo(diagnostic.render(), err=True)
    warnings = tuple(d.one_line() for d in diagnostics if d.severity == "warning")
    return config.model_copy(update={"warnings": warnings}) if warnings else config


class ReadReporter:
    """Says on stderr what each account's read cost, and shows a progress bar while a read
    takes more than a few pages, when stderr is a terminal.

    rich is imported only for a read long enough for a bar: a plan of a few keys, the
    common case, starts faster without it."""

    def __init__(self, *, color: bool, console: Console | None = None) -> None:
        self._color = color
        self._console = console
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> ReadReporter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop_bar()

    def page_read(self, account: str, pages: int, expected: int) -> None:
        if self._progress is None:
            if expected <= _PAGES_BEFORE_A_BAR:
                return
            self._progress = self._new_bar()
            if self._progress is None:
                return
            self._progress.start()
        task = self._tasks.get(account)
        if task is None:
            task = self._progress.add_task(describe_account(account), total=expected)
            self._tasks[account] = task
        self._progress.update(task, completed=pages, total=max(expected, pages))

    def account_read(self, read: AccountKeys) -> None:
        self._stop_bar()
        click.echo(describe_read(read), err=True)

    def _new_bar(self) -> Progress | None:
        """A progress bar on the console, or None when that is not a terminal."""
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        if self._console is None:
            self._console = Console(stderr=True, no_color=not self._color, highlight=False)
        if not self._console.is_terminal:
            return None
        return Progress(
            TextColumn("Reading live keys of {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("pages"),
            TimeElapsedColumn(),
            console=self._console,
            transient=True,
        )

    def _stop_bar(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._tasks.clear()


def plan_against_live(
    config: DesiredConfig,
    state: StateDocument,
    service: KeyService,
    *,
    color: bool,
    refresh_only: bool = False,
    targets: Sequence[str] = (),
    replace: Sequence[str] = (),
    rotate: Sequence[str] = (),
    write_limit: int = DEFAULT_WRITE_LIMIT,
    ahead: ReadAhead | None = None,
    endpoint: str | None = None,
) -> Plan:
    """Read the live keys of every account in play (taking what `ahead` read already) and
    plan against them."""
    with ReadReporter(color=color) as reporter:
        live = read_live_keys(
            service,
            config,
            state,
            on_account=reporter.account_read,
            progress=reporter.page_read,
            ahead=ahead,
        )
    configuration = configuration_files(config)
    try:
        made = make_plan(
            config,
            state,
            live,
            now=service.server_time(),
            refresh_only=refresh_only,
            targets=tuple(targets),
            replace=tuple(replace),
            rotate=tuple(rotate),
            write_limit=write_limit,
        )
    except PlanError as refused:
        other = _another_configuration(state, configuration)
        if other is None:
            raise
        raise PlanError(f"{refused}\n{other}") from None
    # Keys changed outside the tool: one read of the audit log says who and when.
    made = attribute_drift(made, service if isinstance(service, AuditLogReader) else None)
    removed = [c.address for c in made.changes if c.reason is Reason.REMOVED_FROM_CONFIG]
    other = _another_configuration(state, configuration) if removed else None
    named = ", ".join(removed[:3]) + (f" and {len(removed) - 3} more" if len(removed) > 3 else "")
    foreign = [f"{named}: no longer declared. {other}"] if other else []
    return made.model_copy(
        update={
            "warnings": (*made.warnings, *_sink_warnings(made, state), *foreign),
            "validation_warnings": config.warnings,
            "endpoint": endpoint,
            "configuration": configuration,
        }
    )


def configuration_files(config: DesiredConfig) -> tuple[str, ...]:
    """The configuration's manifest files, sorted, relative to the working folder when
    inside it: the same files name the same configuration however the paths were typed."""
    here = Path.cwd().resolve()
    files = set()
    for name in config.files:
        path = Path(name).resolve()
        files.add(
            path.relative_to(here).as_posix() if path.is_relative_to(here) else path.as_posix()
        )
    return tuple(sorted(files))


def _another_configuration(state: StateDocument, configuration: Sequence[str]) -> str | None:
    """What to say when the state was last applied from other manifests than these: its
    keys that these do not declare are most likely another configuration's, and the fix is
    a state of this configuration's own, not `state rm` (which would orphan them)."""
    recorded = state.configuration
    if not recorded or set(recorded) == set(configuration):
        return None
    unread = [name for name in recorded if name not in configuration]
    if not unread:
        return None
    shown = ", ".join(unread[:5]) + (f" and {len(unread) - 5} more" if len(unread) > 5 else "")
    return (
        f"This state was last applied from manifests this run did not read ({shown}): keys "
        "they declare are not in this plan's configuration. If this is another "
        "configuration, give it a state of its own (--state FILE, or run it from its own "
        "folder) rather than removing those keys with `state rm`; if those manifests are "
        "part of this configuration, pass them too."
    )


def _sink_warnings(plan: Plan, state: StateDocument) -> list[str]:
    """A warning for each new key whose secret sink apply would refuse on this machine.

    Apply refuses such a plan before its first write (engine/guard_rails); saying so in
    the plan lets a reviewer see it before then. A warning, not an error: a plan made in CI
    may be applied on a machine whose folders differ."""
    return [
        f"{change.address}: apply on this machine would refuse to "
        f"{'create' if change.action is Action.CREATE else 'replace'} this key, since its "
        f"secret could not be delivered: {refusal}"
        for change, refusal in sink_refusals(plan, state)
    ]


def render_plan(
    plan: Plan, output_format: PlanFormat, *, color: bool, saved_as: Path | None = None
) -> str:
    """The plan in `output_format`; `saved_as` is the plan file that holds it, which a
    markdown comment too short for the whole plan names as where the rest is."""
    if output_format == "json":
        return render_json(plan)
    if output_format == "markdown":
        where = (
            f"the plan file `{saved_as}` (`infobip-iac show {saved_as}`)"
            if saved_as is not None
            else None
        )
        return render_markdown(plan, full_plan=where)
    return render_text(plan, color=color and sys.stdout.isatty())

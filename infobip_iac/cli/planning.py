"""What `plan` and `apply` share in the CLI: their plan-shaping options, loading the
configuration (its warnings on stderr), telling the user how live reads go, rendering the
plan. The run itself is engine/run.py's."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click

from infobip_iac.cli.common import F, TerraformSpelling, format_option, stacked
from infobip_iac.domain.keys import DesiredConfig, describe_account
from infobip_iac.domain.plan import Plan
from infobip_iac.engine.refresh import describe_read
from infobip_iac.infobip.api import AccountKeys
from infobip_iac.manifest import load_or_raise
from infobip_iac.render.json import render_json
from infobip_iac.render.markdown import render_markdown
from infobip_iac.render.text import render_text

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

__all__ = [
    "MANIFEST_SUFFIXES",
    "PLAN_FORMATS",
    "PlanFormat",
    "ReadReporter",
    "load_configuration",
    "max_writes_option",
    "plan_format_option",
    "plan_shape_options",
    "render_plan",
    "show_secrets_option",
]

PlanFormat = Literal["text", "json", "markdown"]
PLAN_FORMATS: tuple[PlanFormat, ...] = ("text", "json", "markdown")

plan_format_option = format_option(*PLAN_FORMATS)


def _address_option(name: str, dest: str, help: str, *, terraform: bool) -> Callable[[F], F]:
    """A repeatable key address option; `terraform`: also answers to `-NAME`."""
    if terraform:
        return click.option(
            f"--{name}",
            f"-{name}",
            dest,
            cls=TerraformSpelling,
            multiple=True,
            metavar="ADDR",
            help=help,
        )
    return click.option(f"--{name}", dest, multiple=True, metavar="ADDR", help=help)


_SHAPE_OPTIONS = (
    click.option(
        "--refresh-only",
        "-refresh-only",
        cls=TerraformSpelling,
        is_flag=True,
        help="Only bring the state up to date with live.",
    ),
    _address_option(
        "target",
        "targets",
        "Only this key (repeatable); the others are left as they are.",
        terraform=True,
    ),
    _address_option(
        "replace",
        "replace",
        "Replace this key with a new one, revoking the old (repeatable).",
        terraform=True,
    ),
    _address_option(
        "rotate",
        "rotate",
        "Rotate this key now, honouring its rotation overlap (repeatable).",
        terraform=False,
    ),
)


def plan_shape_options(func: F) -> F:
    """--refresh-only, --target, --replace and --rotate, handed to the command as one
    `shape: PlanShape` keyword argument whose write limit is the command's --max-writes."""

    def wrapper(**kwargs: Any) -> Any:
        # Imported when the command runs: plan and apply load the engine then anyway.
        from infobip_iac.engine.run import PlanShape

        shape = PlanShape(
            refresh_only=kwargs.pop("refresh_only"),
            targets=kwargs.pop("targets"),
            replace=kwargs.pop("replace"),
            rotate=kwargs.pop("rotate"),
            write_limit=kwargs["max_writes"],
        )
        return func(shape=shape, **kwargs)

    # update_wrapper carries over the name, the help (the docstring) and the options
    # declared below this decorator (click keeps them in the function's __dict__).
    return stacked(functools.update_wrapper(wrapper, func), *_SHAPE_OPTIONS)  # type: ignore[no-any-return]


def max_writes_option(default: int, help: str) -> Callable[[F], F]:
    return click.option(
        "--max-writes",
        type=click.IntRange(min=0),
        default=default,
        show_default=True,
        help=help,
    )


show_secrets_option = click.option(
    "--show-secrets", is_flag=True, help="Allow `stdout` secret sinks to print."
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
    return replace(config, warnings=warnings) if warnings else config


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

    def __exit__(self, *exc: object) -> None:
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

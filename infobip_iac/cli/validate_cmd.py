"""`infobip-iac validate [PATH...]`: check manifests without talking to Infobip.

Diagnostics are the result, so they go to stdout (text, or a JSON list for scripts); exit 0
when there is no error (warnings allowed), 1 otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import click

from infobip_iac.cli.common import (
    GlobalOptions,
    allow_unknown_scopes_option,
    format_option,
    output_options,
)
from infobip_iac.errors import Diagnostic
from infobip_iac.manifest import LoadResult, load_configuration

__all__ = ["render_text", "summary", "validate"]


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def summary(result: LoadResult) -> str:
    warnings = len(result.warnings)
    if result.config is None:
        # The files the errors are in, read or not: a file that fails to parse is one too.
        files = _count(len({d.file for d in result.errors}), "file")
        text = f"Invalid: {_count(len(result.errors), 'error')} in {files}"
        return f"{text}, {_count(warnings, 'warning')}." if warnings else f"{text}."
    text = f"Valid: {_count(len(result.config.keys), 'key')} in {_count(len(result.files), 'file')}"
    return f"{text}, {_count(warnings, 'warning')}." if warnings else f"{text}."


def render_text(diagnostics: Sequence[Diagnostic], *, color: bool) -> str:
    """Each diagnostic as `Diagnostic.render` writes it; in colour, its first line shows the
    severity."""
    shown: list[str] = []
    for found in diagnostics:
        text = found.render()
        if color:
            headline, newline, hint = text.partition("\n")
            shade = "red" if found.severity == "error" else "yellow"
            text = click.style(headline, fg=shade, bold=True) + newline + hint
        shown.append(text)
    return "\n".join(shown)


@click.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@format_option(
    "text",
    "json",
    help="Diagnostics as text lines, or as a JSON list (the summary then goes to stderr).",
)
@allow_unknown_scopes_option
@output_options
def validate(
    *,
    opts: GlobalOptions,
    paths: tuple[Path, ...],
    output_format: str,
    allow_unknown_scopes: bool,
) -> int:
    """Check manifests: files, or folders of *.yaml/*.yml (default: the current folder).

    Exit 0 when valid (warnings are shown), 1 when any error is found.
    """
    result = load_configuration(list(paths), allow_unknown_scopes=allow_unknown_scopes)
    if output_format == "json":
        click.echo(
            json.dumps(
                [asdict(found) for found in result.diagnostics], indent=2, ensure_ascii=False
            )
        )
        click.echo(summary(result), err=True)
    else:
        if result.diagnostics:
            click.echo(render_text(result.diagnostics, color=opts.color))
        click.echo(summary(result))
    return 0 if result.config is not None else 1

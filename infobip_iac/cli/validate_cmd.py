"""`infobip-iac validate [PATH...]`: check manifests without talking to Infobip.

Diagnostics are the result, so they go to stdout (text, or a JSON list for scripts); exit 0
when there is no error (warnings allowed), 1 otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import click

from infobip_iac.cli.common import GlobalOptions, allow_unknown_scopes_option, common_options
from infobip_iac.errors import Diagnostic
from infobip_iac.manifest import LoadResult, load_configuration

__all__ = ["render_json", "render_text", "summary", "validate"]


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def summary(result: LoadResult) -> str:
    files = _count(len(result.files), "file")
    warnings = len(result.warnings)
    if result.config is None:
        text = f"Invalid: {_count(len(result.errors), 'error')}"
        if warnings:
            text += f", {_count(warnings, 'warning')}"
        return f"{text} in {files}."
    text = f"Valid: {_count(len(result.config.keys), 'key')} in {files}"
    return f"{text}, {_count(warnings, 'warning')}." if warnings else f"{text}."


def render_text(diagnostics: Sequence[Diagnostic], *, color: bool) -> str:
    lines: list[str] = []
    for found in diagnostics:
        where = f"{found.file}:{found.line}:{found.column}" if found.line else found.file
        label: str = found.severity
        if color:
            label = click.style(label, fg="red" if label == "error" else "yellow", bold=True)
        lines.append(f"{where}: {label} {found.code}: {found.message}")
        if found.hint:
            lines.append(f"    hint: {found.hint}")
    return "\n".join(lines)


def render_json(diagnostics: Sequence[Diagnostic]) -> str:
    return json.dumps(
        [
            {
                "file": found.file,
                "line": found.line,
                "column": found.column,
                "severity": found.severity,
                "code": found.code,
                "message": found.message,
                "hint": found.hint,
            }
            for found in diagnostics
        ],
        indent=2,
        ensure_ascii=False,
    )


@click.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Diagnostics as text lines, or as a JSON list (the summary then goes to stderr).",
)
@allow_unknown_scopes_option
@common_options
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
        click.echo(render_json(result.diagnostics))
        click.echo(summary(result), err=True)
    else:
        if result.diagnostics:
            click.echo(render_text(result.diagnostics, color=opts.color))
        click.echo(summary(result))
    return 0 if result.config is not None else 1

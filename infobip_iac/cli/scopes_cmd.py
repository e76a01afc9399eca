"""`infobip-iac scopes`: browse the catalog of Infobip API scopes and roles."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from infobip_iac.cli.common import GlobalOptions, format_option, output_options
from infobip_iac.scopes import load_catalog
from infobip_iac.scopes.catalog import ScopeInfo
from infobip_iac.scopes.report import (
    role_document,
    role_table,
    roles_document,
    roles_table,
    scope_detail_document,
    scope_detail_table,
    scope_document,
    scopes_table,
    select_scopes,
    unknown_role,
    unknown_scope,
)

__all__ = ["scopes"]

# Wide enough that a piped table is never wrapped; rich only pads to the table's own width.
_PIPE_WIDTH = 1000

_format_option = format_option(
    "table", "json", help="Readable table, or JSON (stable, sorted) for scripts."
)


def _print_table(table: Table, *, color: bool) -> None:
    stream = sys.stdout
    if stream.isatty():
        console = Console(
            file=stream, highlight=False, no_color=not color, color_system="auto" if color else None
        )
        console.print(table)
        return
    # Piped: plain columns for grep and awk; no borders, colours, wrapping or padding.
    table.box = None
    table.show_edge = False
    table.pad_edge = False
    buffer = io.StringIO()
    Console(file=buffer, width=_PIPE_WIDTH, color_system=None, highlight=False).print(table)
    lines = [line.rstrip() for line in buffer.getvalue().splitlines()]
    click.echo("\n".join(line for line in lines if line))


def _print_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False))


def _print(
    output_format: str,
    document: Callable[..., Any],
    table: Callable[..., Table],
    *of: Any,
    color: bool,
) -> int:
    """Print `document(*of)` as JSON or `table(*of)`, building only the one asked for;
    the command's exit code."""
    if output_format == "json":
        _print_json(document(*of))
    else:
        _print_table(table(*of), color=color)
    return 0


def _scope_documents(chosen: list[ScopeInfo]) -> list[dict[str, Any]]:
    return sorted((scope_document(s) for s in chosen), key=lambda d: d["name"])


@click.group(invoke_without_command=True)
@click.pass_context
def scopes(ctx: click.Context) -> int:
    """Browse Infobip API scopes and roles (the catalog validation checks against).

    Without a subcommand, lists every scope.
    """
    if ctx.invoked_subcommand is None:
        result: int = ctx.invoke(list_scopes)
        return result
    return 0


@scopes.command("list")
@click.option("--category", help="Only this category, e.g. Channels or Platform.")
@click.option("--product", help='Only this product ("SMS", "Voice & WebRTC") or prefix ("sms").')
@_format_option
@output_options
def list_scopes(
    opts: GlobalOptions, category: str | None, product: str | None, output_format: str
) -> int:
    """List scopes, grouped by category and product."""
    catalog = load_catalog()
    chosen = select_scopes(catalog, category=category, product=product)
    return _print(output_format, _scope_documents, scopes_table, chosen, color=opts.color)


@scopes.command("search")
@click.argument("text", nargs=-1, required=True)
@_format_option
@output_options
def search(opts: GlobalOptions, text: tuple[str, ...], output_format: str) -> int:
    """Find scopes whose name, description, category or product has every word of TEXT."""
    query = " ".join(text)
    found = load_catalog().search(query)
    if output_format == "json":
        _print_json([scope_document(s) for s in found])
    elif found:
        _print_table(scopes_table(found), color=opts.color)
    else:
        click.echo(f'No scope matches "{query}".', err=True)
    return 0


@scopes.command("show")
@click.argument("scope")
@_format_option
@output_options
def show(opts: GlobalOptions, scope: str, output_format: str) -> int:
    """Describe SCOPE: what covers it, what it covers and which roles imply it."""
    catalog = load_catalog()
    info = catalog.scopes.get(scope)
    if info is None:
        raise unknown_scope(catalog, scope)
    return _print(
        output_format, scope_detail_document, scope_detail_table, catalog, info, color=opts.color
    )


@scopes.command("role")
@click.argument("role", nargs=-1)
@_format_option
@output_options
def role(opts: GlobalOptions, role: tuple[str, ...], output_format: str) -> int:
    """List the scopes ROLE implies (any case; quotes optional); without ROLE, list roles."""
    catalog = load_catalog()
    if not role:
        return _print(output_format, roles_document, roles_table, catalog, color=opts.color)
    name = " ".join(role)
    info = catalog.role(name)
    if info is None:
        raise unknown_role(catalog, name)
    return _print(output_format, role_document, role_table, catalog, info, color=opts.color)

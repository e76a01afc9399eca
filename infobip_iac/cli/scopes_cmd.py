"""`infobip-iac scopes`: browse the catalog of Infobip API scopes and roles."""

from __future__ import annotations

import io
import json
import sys
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from infobip_iac.cli.common import GlobalOptions, output_options
from infobip_iac.scopes import load_catalog
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

format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Readable table, or JSON (stable, sorted) for scripts.",
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
@format_option
@output_options
def list_scopes(
    opts: GlobalOptions, category: str | None, product: str | None, output_format: str
) -> int:
    """List scopes, grouped by category and product."""
    catalog = load_catalog()
    chosen = select_scopes(catalog, category=category, product=product)
    if output_format == "json":
        _print_json(sorted((scope_document(s) for s in chosen), key=lambda d: d["name"]))
    else:
        _print_table(scopes_table(chosen), color=opts.color)
    return 0


@scopes.command("search")
@click.argument("text", nargs=-1, required=True)
@format_option
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
@format_option
@output_options
def show(opts: GlobalOptions, scope: str, output_format: str) -> int:
    """Describe SCOPE: what covers it, what it covers and which roles imply it."""
    catalog = load_catalog()
    info = catalog.scopes.get(scope)
    if info is None:
        raise unknown_scope(catalog, scope)
    if output_format == "json":
        _print_json(scope_detail_document(catalog, info))
    else:
        _print_table(scope_detail_table(catalog, info), color=opts.color)
    return 0


@scopes.command("role")
@click.argument("role", nargs=-1)
@format_option
@output_options
def role(opts: GlobalOptions, role: tuple[str, ...], output_format: str) -> int:
    """List the scopes ROLE implies (any case; quotes optional); without ROLE, list roles."""
    catalog = load_catalog()
    if not role:
        if output_format == "json":
            _print_json(roles_document(catalog))
        else:
            _print_table(roles_table(catalog), color=opts.color)
        return 0
    name = " ".join(role)
    info = catalog.role(name)
    if info is None:
        raise unknown_role(catalog, name)
    if output_format == "json":
        _print_json(role_document(catalog, info))
    else:
        _print_table(role_table(catalog, info), color=opts.color)
    return 0

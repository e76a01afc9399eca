"""`infobip-iac expiry`: every live key by expiry, for a nightly job that must hear of a
key about to lapse before it does."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import click

from infobip_iac.cli.common import (
    GlobalOptions,
    allow_unknown_scopes_option,
    common_options,
    format_option,
    lock_timeout_option,
    locked_state,
    open_service,
)
from infobip_iac.cli.planning import ReadReporter, load_configuration
from infobip_iac.domain.normalize import format_duration, format_instant, parse_duration
from infobip_iac.engine.expiry import ExpiringKey, ExpiryReport, expiry_report
from infobip_iac.engine.refresh import read_live_keys

__all__ = ["expiry"]


def _window(ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as error:
        raise click.BadParameter(str(error), ctx=ctx, param=param) from None


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--within",
    default="30d",
    show_default=True,
    callback=_window,
    metavar="DURATION",
    help="Flag keys expiring within this long (e.g. 30d, 2w) with nothing to replace them.",
)
@format_option("text", "json")
@lock_timeout_option()
@allow_unknown_scopes_option
@common_options
def expiry(
    *,
    opts: GlobalOptions,
    paths: tuple[Path, ...],
    within: timedelta,
    output_format: Literal["text", "json"],
    lock_timeout: float,
    allow_unknown_scopes: bool,
) -> int:
    """List every enabled key, managed or not, soonest expiry first. Read-only. Exit 0;
    1 on error; 2 when a key expires within --within with nothing to replace it."""
    config = load_configuration(paths, allow_unknown_scopes=allow_unknown_scopes)
    with locked_state(opts, "expiry", lock_timeout) as backend:
        state = backend.store.read()
    with open_service(opts) as service, ReadReporter(color=opts.color) as reporter:
        live = read_live_keys(service, config, state, on_account=reporter.account_read)
        now = service.server_time()
    report = expiry_report(config, state, live, now=now, within=within)
    if output_format == "json":
        click.echo(json.dumps(_document(report), indent=2))
    else:
        click.echo(_text(report), nl=False)
    return 2 if report.at_risk else 0


def _left(key: ExpiringKey, report: ExpiryReport) -> str:
    if key.valid_to is None:
        return "never"
    left = key.valid_to - report.now
    if left <= timedelta(0):
        return "expired"
    if left < timedelta(days=1):
        return f"{int(left.total_seconds() // 3600)}h"
    return f"{left.days}d"


def _text(report: ExpiryReport) -> str:
    header = (
        f"Enabled keys by expiry (Infobip's clock {format_instant(report.now)}; "
        f"window {format_duration(report.within)}):\n"
    )
    if not report.keys:
        return header + "  (no enabled keys)\n"
    titles = ("EXPIRES", "IN", "ADDRESS", "ID")
    rows = [
        (
            format_instant(key.valid_to) if key.valid_to else "-",
            _left(key, report),
            key.address,
            key.key_id,
        )
        for key in report.keys
    ]
    widths = [max(len(row[column]) for row in (titles, *rows)) for column in range(4)]

    def line(cells: tuple[str, ...], rotation: str, flag: str = "") -> str:
        padded = "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
        return f"  {padded}  {rotation}{flag}".rstrip()

    lines = [line(titles, "ROTATION")]
    for cells, key in zip(rows, report.keys, strict=True):
        flag = "  <- EXPIRES IN THE WINDOW, NOTHING REPLACES IT" if key.at_risk else ""
        lines.append(line(cells, key.rotation or "none", flag))
    at_risk = len(report.at_risk)
    footer = (
        f"{at_risk} key(s) expire within {format_duration(report.within)} with nothing to "
        "replace them: declare a rotation for them, or replace them before then "
        "(plan --replace ADDR for a managed key).\n"
        if at_risk
        else f"No key expires within {format_duration(report.within)} unreplaced.\n"
    )
    return header + "\n".join(lines) + "\n" + footer


def _document(report: ExpiryReport) -> dict[str, Any]:
    return {
        "now": format_instant(report.now),
        "within": format_duration(report.within),
        "at_risk": len(report.at_risk),
        "keys": [
            {
                "address": key.address,
                "account": key.account,
                "key_id": key.key_id,
                "name": key.name,
                "managed": key.managed,
                "valid_to": format_instant(key.valid_to) if key.valid_to else None,
                "expires_in_seconds": int((key.valid_to - report.now).total_seconds())
                if key.valid_to
                else None,
                "rotation": key.rotation,
                "at_risk": key.at_risk,
            }
            for key in report.keys
        ],
    }

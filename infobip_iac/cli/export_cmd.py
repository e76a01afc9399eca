"""`infobip-iac export`: write manifests for the live keys of an account, each with an
`imports` entry, so that an existing account can be put under the tool without a write."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from infobip_iac.cli.common import (
    ENVIRONMENT_HELP,
    GlobalOptions,
    common_options,
    open_service,
    run_endpoint,
)
from infobip_iac.domain.keys import CALLER_ACCOUNT
from infobip_iac.engine.refresh import describe_read
from infobip_iac.errors import UsageError
from infobip_iac.manifest.export import export_file_name, export_manifest
from infobip_iac.scopes.catalog import load_catalog
from infobip_iac.state.backend import open_backend

__all__ = ["export"]


def _write(path: Path, text: str) -> None:
    """Replace `path` whole (a temp file renamed over it), so an interrupted export never
    leaves half a manifest for the next plan to read."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(temp).chmod(0o644)
        Path(temp).replace(path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


@click.command(epilog=ENVIRONMENT_HELP)
@click.option(
    "--account",
    default=CALLER_ACCOUNT,
    show_default=True,
    metavar="ID",
    help="The account to export: `_` for the credentials' own, or a sub-account's id.",
)
@click.option(
    "--unmanaged-only",
    is_flag=True,
    help="Only the keys the state does not hold yet.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    show_default=True,
    help="Folder to write the manifest into (created when missing).",
)
@common_options
def export(*, opts: GlobalOptions, account: str, unmanaged_only: bool, out_dir: Path) -> int:
    """Write a manifest for the live keys of an account, with an `imports` entry per key.

    Secrets cannot be exported. Plan the folder to see the imports; apply records the keys
    in state without writing to Infobip."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out {out_dir} is not a folder; give a folder to write into")
    # The state of another endpoint would say nothing about these keys: refused.
    with open_backend(opts.state, endpoint=run_endpoint(opts)) as backend:
        state = backend.store.read()
    managed = {
        record.id: address
        for address, record in state.resources.items()
        if address.startswith("api_keys.")
    }
    with open_service(opts) as service:
        # No names are known to look up, so an account too large for paging's reach is
        # swept in every order Infobip sorts by; what stays out of reach is said below.
        read = service.list_keys(account, sweep_all=True)
        now = service.server_time()
    click.echo(describe_read(read), err=True)
    keys = [key for key in read.keys if not (unmanaged_only and key.id in managed)]
    exported = export_manifest(
        account,
        keys,
        managed=managed,
        now=now,
        catalog=load_catalog(),
        unreached=None if read.complete else "; ".join(read.notes),
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / export_file_name(account)
    _write(path, exported.text)
    expired = f"; {exported.expired} expired (valid_to left undeclared)" if exported.expired else ""
    if exported.left_out:
        expired += f"; {exported.left_out} left out for a name another key has (listed in the file)"
    if not read.complete:
        click.echo(
            "Warning: Infobip's paging did not reach every key of this account; the keys "
            "it did not reach are not in the manifest (the file's header says how many).",
            err=True,
        )
    click.echo(
        f"Wrote {path}: {exported.keys} keys, {exported.imports} to import{expired}. "
        "Secrets cannot be exported. Next: review it, then `infobip-iac plan "
        f"{out_dir}` shows only imports, and apply records them without writing to Infobip."
    )
    return 0

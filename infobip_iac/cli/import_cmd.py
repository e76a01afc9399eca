"""`infobip-iac import ADDR KEY_ID`: put an existing live key under a declared address.

Only the state changes; nothing is written to Infobip. The next plan shows what differs
between the key and its declaration.
"""

from __future__ import annotations

from pathlib import Path

import click

from infobip_iac.cli.common import (
    ENVIRONMENT_HELP,
    GlobalOptions,
    allow_unknown_scopes_option,
    common_options,
    lock_timeout_option,
    locked_state,
    open_service,
)
from infobip_iac.cli.planning import load_configuration
from infobip_iac.domain.keys import describe_account
from infobip_iac.errors import NotFoundError, UsageError
from infobip_iac.state.model import ResourceState

__all__ = ["import_"]


@click.command("import", epilog=ENVIRONMENT_HELP)
@click.argument("address")
@click.argument("key_id")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@lock_timeout_option()
@allow_unknown_scopes_option
@common_options
def import_(
    *,
    opts: GlobalOptions,
    address: str,
    key_id: str,
    paths: tuple[Path, ...],
    lock_timeout: float,
    allow_unknown_scopes: bool,
) -> int:
    """Record live key KEY_ID as the key declared at ADDR (e.g. api_keys.billing)."""
    config = load_configuration(paths, allow_unknown_scopes=allow_unknown_scopes)
    desired = config.keys.get(address)
    if desired is None:
        declared = ", ".join(sorted(config.keys)[:10]) or "none"
        raise UsageError(
            f"{address} is not declared in the configuration (declared: {declared}); "
            "declare the key first, then import it"
        )
    with locked_state(opts, "import", lock_timeout) as backend, open_service(opts) as service:
        store = backend.store
        state = store.read()
        if address in state.resources:
            raise UsageError(
                f"{address} already manages key {state.resources[address].id}; "
                f"remove it first with `infobip-iac state rm {address}` to import another"
            )
        owner = state.by_key_id().get(key_id)
        if owner is not None:
            raise UsageError(f"key {key_id} is already managed as {owner}")
        live = service.get_key(key_id, account=desired.account)
        if live is None:
            raise NotFoundError(
                f"no key {key_id} in {describe_account(desired.account)}; check the id "
                "(list keys in Infobip's web interface) and the key's `account`",
                status=404,
            )
        state.resources[address] = ResourceState.of_live_key(
            live,
            account=desired.account,
            prevent_revoke=desired.lifecycle.prevent_revoke,
        )
        store.write(state)
    click.echo(
        f"{address}: imported key {live.id} ({live.name}). Nothing was changed in Infobip; "
        "run plan to see how the key differs from its declaration."
    )
    return 0

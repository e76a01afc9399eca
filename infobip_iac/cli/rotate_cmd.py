"""`infobip-iac rotate ADDR... [PATH...]`: rotate declared keys now, honouring their
rotation overlap (what `--replace` is to replacement). Only those keys are planned."""

from __future__ import annotations

from pathlib import Path

import click

from infobip_iac.cli.apply_cmd import apply_configuration
from infobip_iac.cli.common import (
    GlobalOptions,
    allow_unknown_scopes_option,
    common_options,
    lock_timeout_option,
)
from infobip_iac.cli.planning import max_writes_option, show_secrets_option
from infobip_iac.domain.keys import is_key_address
from infobip_iac.engine.apply import DEFAULT_MAX_WRITES
from infobip_iac.engine.run import PlanShape
from infobip_iac.errors import UsageError

__all__ = ["rotate"]


@click.command()
@click.argument("arguments", nargs=-1, metavar="ADDR... [PATH...]")
@click.option("--auto-approve", is_flag=True, help="Rotate without asking for `yes`.")
@max_writes_option(
    DEFAULT_MAX_WRITES, "Infobip writes a day this run may use (Infobip allows 40 a day)."
)
@show_secrets_option
@lock_timeout_option()
@allow_unknown_scopes_option
@common_options
def rotate(
    *,
    opts: GlobalOptions,
    arguments: tuple[str, ...],
    auto_approve: bool,
    max_writes: int,
    show_secrets: bool,
    lock_timeout: float,
    allow_unknown_scopes: bool,
) -> int:
    """Give each key ADDR (api_keys.ID) a successor now; its predecessor stays enabled for
    the key's rotation overlap, and a later plan revokes it. The other arguments are the
    manifests (default: the working folder). Exit codes as apply's."""
    addresses = tuple(a for a in arguments if is_key_address(a))
    paths = tuple(Path(a) for a in arguments if not is_key_address(a))
    if not addresses:
        raise UsageError("rotate needs at least one key address, e.g. api_keys.ci-sms")
    return apply_configuration(
        opts=opts,
        paths=paths,
        auto_approve=auto_approve,
        allow_revokes=False,
        max_writes=max_writes,
        show_secrets=show_secrets,
        lock_timeout=lock_timeout,
        shape=PlanShape(targets=addresses, rotate=addresses, write_limit=max_writes),
        allow_unknown_scopes=allow_unknown_scopes,
    )

"""Read the live keys a plan needs: every account the configuration or the state names.

One listing per account (the client pages it with the fewest requests), never one request
per key. The names declared for an account go along, so the client can narrow its filter
when an account holds more keys than one filter can page through.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from infobip_iac.domain.keys import DesiredConfig
from infobip_iac.infobip.api import AccountKeys, KeyService, ProgressCallback
from infobip_iac.infobip.client import MAX_READERS, list_accounts_concurrently
from infobip_iac.state.model import StateDocument

__all__ = ["accounts_to_read", "describe_read", "read_live_keys"]


def accounts_to_read(config: DesiredConfig, state: StateDocument) -> dict[str, frozenset[str]]:
    """Account reference -> the key names known for it (declared or in state), sorted by
    account so that reads and messages come in a stable order."""
    names: dict[str, set[str]] = {}
    for key in config.keys.values():
        names.setdefault(key.account, set()).add(key.name)
    for resource in state.resources.values():
        names.setdefault(resource.account, set()).add(resource.name)
    return {account: frozenset(names[account]) for account in sorted(names)}


def read_live_keys(
    service: KeyService,
    config: DesiredConfig,
    state: StateDocument,
    *,
    on_account: Callable[[AccountKeys], None] | None = None,
    progress: ProgressCallback | None = None,
    max_workers: int = MAX_READERS,
) -> Mapping[str, AccountKeys]:
    """Every live key of every account in play, by account reference; several accounts
    are read at once, each within its own read budget. `on_account` hears of each account
    (in account order) when all are read, `progress` of each page as it arrives."""
    requests = accounts_to_read(config, state)
    live = list_accounts_concurrently(
        service,
        {account: sorted(names) for account, names in requests.items()},
        max_workers=max_workers,
        progress=progress,
    )
    if on_account is not None:
        for account in requests:
            on_account(live[account])
    return live


def describe_read(read: AccountKeys) -> str:
    """`Reading live keys of account _ … 3 keys in 1 request.` (the line plan prints on
    stderr), plus any note the client made about an incomplete or split read."""
    keys = f"{len(read.keys)} key" + ("" if len(read.keys) == 1 else "s")
    requests = f"{read.requests} request" + ("" if read.requests == 1 else "s")
    line = f"Reading live keys of account {read.account} … {keys} in {requests}."
    notes = list(read.notes)
    if not read.complete:
        notes.append("the read is incomplete; keys beyond it are not in the plan")
    return "\n".join([line, *(f"  note: {note}" for note in notes)])

"""`infobip-iac state list | show | rm | mv | set-endpoint` and `infobip-iac force-unlock`:
the state by hand.

None of these talks to Infobip. `rm` and `mv` change only the state file, under the lock,
as Terraform's `state rm`/`state mv` do; `list` and `show` read without locking (every write
is an atomic rename, so a reader never sees half a state), so they work while an apply runs.
"""

from __future__ import annotations

import difflib
import json
import sys
from collections.abc import Sequence
from typing import Any

import click

from infobip_iac.cli.common import (
    EMULATOR_STATE,
    ENVIRONMENT_HELP,
    GlobalOptions,
    lock_timeout_option,
    run_endpoint,
    state_options,
)
from infobip_iac.domain.keys import is_key_address, key_address
from infobip_iac.errors import UsageError
from infobip_iac.state.lock import LockInfo, StateLock, locked
from infobip_iac.state.model import ResourceState, StateDocument, describe_endpoint
from infobip_iac.state.store import StateStore

__all__ = ["force_unlock", "state"]


def _unknown_address(address: str, doc: StateDocument, store: StateStore) -> UsageError:
    message = f'no resource "{address}" in the state {store.path}'
    close = difflib.get_close_matches(address, list(doc.resources), n=1, cutoff=0.6)
    if close:
        message += f'; did you mean "{close[0]}"?'
    elif doc.resources:
        message += "; `infobip-iac state list` shows the addresses it has"
    else:
        message += " (it holds no resources)"
    return UsageError(message)


def _require(addresses: Sequence[str], doc: StateDocument, store: StateStore) -> None:
    for address in addresses:
        if address not in doc.resources:
            raise _unknown_address(address, doc, store)


def _require_state_file(store: StateStore) -> None:
    # Checked before locking, so that a mistyped --state does not leave a new folder behind,
    # and by the readers too: an empty listing would look like a state that manages nothing.
    if not store.exists():
        emulated = store.path != EMULATOR_STATE and EMULATOR_STATE.is_file()
        raise UsageError(
            f"there is no state file at {store.path}; pass --state with the right path"
            + ("; the embedded emulator's state is read with --emulator" if emulated else "")
        )


@click.group("state")
def state() -> None:
    """Inspect or edit the state file; nothing here changes a key at Infobip."""


@state.command("list")
@state_options
def list_(*, opts: GlobalOptions) -> int:
    """Print every address the state manages, one per line."""
    store = StateStore(opts.state)
    _require_state_file(store)
    doc = store.read()
    for address in sorted(doc.resources):
        click.echo(address)
    return 0


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _describe(address: str, resource: ResourceState) -> list[str]:
    account = _value(resource.account)
    if resource.account_id and resource.account_id != resource.account:
        account += f" (account id {_value(resource.account_id)})"
    rows: list[tuple[str, str]] = [
        ("id", _value(resource.id)),
        ("account", account),
        ("name", _value(resource.name)),
    ]
    rows.extend(
        (name, _value(value)) for name, value in resource.attributes.items() if name != "name"
    )
    if resource.valid_for:
        rows.append(("valid_for", _value(resource.valid_for)))
    if resource.prevent_revoke:
        rows.append(("prevent_revoke", "true"))
    width = max(len(name) for name, _ in rows)
    lines = [f"# {address}"]
    lines.extend(f"{name.ljust(width)} = {value}" for name, value in rows)
    lines.append(f"{'secret'.ljust(width)} = {_secret_status(resource)}")
    return lines


def _secret_status(resource: ResourceState) -> str:
    record = resource.secret
    if record is None:
        return "(no record: the key was not created by infobip-iac)"
    where = f" to {record.sink}" + (f" {record.location}" if record.location else "")
    if record.status == "delivered":
        return f"(sensitive value, delivered{where})"
    if record.status == "lost":
        detail = f": {record.detail}" if record.detail else ""
        return f"(LOST, not delivered{where}{detail}; the next plan offers to replace the key)"
    return "(sensitive value, not requested: sink none)"


@state.command("show")
@click.argument("address")
@state_options
def show(address: str, *, opts: GlobalOptions) -> int:
    """Show one managed key as the state records it (never its secret)."""
    store = StateStore(opts.state)
    _require_state_file(store)
    doc = store.read()
    _require([address], doc, store)
    click.echo("\n".join(_describe(address, doc.resources[address])))
    return 0


@state.command("rm")
@click.argument("addresses", metavar="ADDR...", nargs=-1, required=True)
@lock_timeout_option()
@state_options
def rm(addresses: tuple[str, ...], lock_timeout: float, *, opts: GlobalOptions) -> int:
    """Forget keys; Infobip is not touched.

    The keys stay as they are at Infobip, no longer managed by this state.
    """
    store = StateStore(opts.state)
    _require_state_file(store)
    with locked(opts.state, "state rm", lock_timeout):
        doc = store.read()
        _require(addresses, doc, store)
        for address in dict.fromkeys(addresses):
            del doc.resources[address]
        store.write(doc)
    for address in dict.fromkeys(addresses):
        click.echo(f"Removed {address} from the state; its Infobip key was not changed.")
    return 0


@state.command("mv")
@click.argument("source", metavar="FROM")
@click.argument("destination", metavar="TO")
@lock_timeout_option()
@state_options
def mv(source: str, destination: str, lock_timeout: float, *, opts: GlobalOptions) -> int:
    """Give a managed key a new address.

    Use it after renaming the key's id in the manifest (or declare a `moved` block).
    """
    if not is_key_address(destination):
        raise UsageError(
            f'"{destination}" is not a key address; use api_keys.<id> with an id of lowercase '
            f"letters, digits, _ and - (e.g. {key_address('ci-sms')})"
        )
    store = StateStore(opts.state)
    _require_state_file(store)
    with locked(opts.state, "state mv", lock_timeout):
        doc = store.read()
        _require([source], doc, store)
        if destination in doc.resources:
            raise UsageError(
                f'"{destination}" is already in the state (key {doc.resources[destination].id}); '
                "remove or move it first"
            )
        doc.resources[destination] = doc.resources.pop(source)
        store.write(doc)
    click.echo(f"Moved {source} to {destination}.")
    return 0


@state.command("set-endpoint", epilog=ENVIRONMENT_HELP)
@lock_timeout_option()
@state_options
def set_endpoint(lock_timeout: float, *, opts: GlobalOptions) -> int:
    """Record INFOBIP_BASE_URL as where the state's keys live.

    For when the same Infobip account is reached under a new base URL. A state of another
    account's keys needs a state of its own (--state FILE) instead: its keys are not there.
    """
    endpoint = run_endpoint(opts)
    store = StateStore(opts.state)  # no endpoint: the recorded one is what this replaces
    _require_state_file(store)
    with locked(opts.state, "state set-endpoint", lock_timeout):
        doc = store.read()
        before = doc.endpoint
        doc.endpoint = endpoint
        store.write(doc)
    was = f" (was {describe_endpoint(before)})" if before else ""
    click.echo(
        f"The state {opts.state} now records its keys at {describe_endpoint(endpoint)}{was}. "
        "Run plan to check that they are all found there."
    )
    return 0


@click.command("force-unlock")
@click.argument("lock_id")
@click.option(
    "-force",
    "--force",
    "force",
    is_flag=True,
    help="Break the lock without asking for confirmation.",
)
@state_options
def force_unlock(lock_id: str, force: bool, *, opts: GlobalOptions) -> int:
    """Break a state lock left by a run that was killed or crashed.

    LOCK_ID is the id shown in the "locked" message. Only a lock whose holder is no longer
    running can be broken; look at what the interrupted run did before breaking it. A lock
    left by a dead run on this host is taken over by the next run without this command;
    it is for a lock from another host, whose holder cannot be checked from here. Asks
    for `yes` first (as Terraform does) unless -force is given.
    """
    lock = StateLock(opts.state)
    holder = lock.holder()
    if not force:
        _confirm_force_unlock(lock_id, holder)
    lock.force_unlock(lock_id)
    held_by = f" (held by {holder.describe()})" if holder else ""
    click.echo(f"Lock {lock_id} on {opts.state} is broken{held_by}; the state is unlocked.")
    return 0


def _confirm_force_unlock(lock_id: str, holder: LockInfo | None) -> None:
    if not sys.stdin.isatty():
        raise UsageError(
            "force-unlock asks for `yes` before breaking a lock, but there is no terminal "
            "to ask on. Pass -force to break it without asking"
        )
    held_by = f"\n  It is held by {holder.describe()}." if holder else ""
    answer = click.prompt(
        "Do you really want to force-unlock?\n"
        "  infobip-iac will remove the lock on the state. This lets other runs change the\n"
        "  state, even though it may still be in use."
        f"{held_by}\n"
        "  Only 'yes' will be accepted to confirm.\n\n  Enter a value",
        default="",
        show_default=False,
    )
    if answer.strip() != "yes":
        raise UsageError(f"force-unlock cancelled; lock {lock_id} was left in place")

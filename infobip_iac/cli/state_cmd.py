"""`infobip-iac state list | show | rm | mv | set-endpoint | history | pull | push | migrate`
and `infobip-iac force-unlock`: the state by hand, on any backend (a file or PostgreSQL).

None of these talks to Infobip. `rm`, `mv` and `push` change only the state, under the lock,
as Terraform's `state rm`/`state mv`/`state push` do; `list`, `show`, `history` and `pull`
read without locking (every write replaces a whole version at once, so a reader never sees
half a state), so they work while an apply runs.
"""

from __future__ import annotations

import difflib
import json
import sys
from collections.abc import Sequence
from datetime import UTC
from pathlib import Path
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
from infobip_iac.errors import StateError, UsageError
from infobip_iac.state.backend import Store, locked, open_backend
from infobip_iac.state.lock import LockInfo
from infobip_iac.state.model import ResourceState, StateDocument, describe_endpoint
from infobip_iac.state.store import MAX_STATE_BYTES, decode_state, render_state

__all__ = ["force_unlock", "state"]


def _unknown_address(address: str, doc: StateDocument, store: Store) -> UsageError:
    message = f'no resource "{address}" in the state {store.where}'
    close = difflib.get_close_matches(address, list(doc.resources), n=1, cutoff=0.6)
    if close:
        message += f'; did you mean "{close[0]}"?'
    elif doc.resources:
        message += "; `infobip-iac state list` shows the addresses it has"
    else:
        message += " (it holds no resources)"
    return UsageError(message)


def _require(addresses: Sequence[str], doc: StateDocument, store: Store) -> None:
    for address in addresses:
        if address not in doc.resources:
            raise _unknown_address(address, doc, store)


def _require_state_file(store: Store) -> None:
    # Checked before locking, so that a mistyped --state does not leave a new folder behind,
    # and by the readers too: an empty listing would look like a state that manages nothing.
    if not store.exists():
        emulated = store.where != str(EMULATOR_STATE) and EMULATOR_STATE.is_file()
        raise UsageError(
            f"there is no state at {store.where}; pass --state with the right path or URL"
            + ("; the embedded emulator's state is read with --emulator" if emulated else "")
        )


@click.group("state")
def state() -> None:
    """Inspect or edit the state; nothing here changes a key at Infobip."""


@state.command("list")
@state_options
def list_(*, opts: GlobalOptions) -> int:
    """Print every address the state manages, one per line."""
    with open_backend(opts.state) as backend:
        _require_state_file(backend.store)
        doc = backend.store.read()
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
    with open_backend(opts.state) as backend:
        _require_state_file(backend.store)
        doc = backend.store.read()
        _require([address], doc, backend.store)
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
    with open_backend(opts.state) as backend:
        store = backend.store
        _require_state_file(store)
        with locked(backend, "state rm", lock_timeout):
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
    with open_backend(opts.state) as backend:
        store = backend.store
        _require_state_file(store)
        with locked(backend, "state mv", lock_timeout):
            doc = store.read()
            _require([source], doc, store)
            if destination in doc.resources:
                taken = doc.resources[destination].id
                raise UsageError(
                    f'"{destination}" is already in the state (key {taken}); '
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
    # No endpoint given to the backend: the recorded one is what this replaces.
    with open_backend(opts.state) as backend:
        store = backend.store
        _require_state_file(store)
        with locked(backend, "state set-endpoint", lock_timeout):
            doc = store.read()
            before = doc.endpoint
            doc.endpoint = endpoint
            store.write(doc)
    was = f" (was {describe_endpoint(before)})" if before else ""
    click.echo(
        f"The state {store.where} now records its keys at {describe_endpoint(endpoint)}{was}. "
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
    with open_backend(opts.state) as backend:
        holder = backend.lock.holder()
        if not force:
            _confirm_force_unlock(lock_id, holder)
        backend.lock.force_unlock(lock_id)
        where = backend.store.where
    held_by = f" (held by {holder.describe()})" if holder else ""
    click.echo(f"Lock {lock_id} on {where} is broken{held_by}; the state is unlocked.")
    return 0


@state.command("history")
@state_options
def history(*, opts: GlobalOptions) -> int:
    """List the stored versions: serial, time (UTC), who, and what changed.

    A database state keeps every version; a state file keeps itself and its backup.
    """
    with open_backend(opts.state) as backend:
        _require_state_file(backend.store)
        versions = backend.store.history()
    for version in versions:
        when = (
            version.created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            if version.created is not None
            else "-"
        )
        click.echo(f"{version.serial:>6}  {when}  {version.who}  {version.summary}")
    return 0


@state.command("pull")
@click.option("--serial", type=click.IntRange(min=0), help="A stored version (default: current).")
@state_options
def pull(serial: int | None, *, opts: GlobalOptions) -> int:
    """Print a version of the state as JSON (it never holds a secret)."""
    with open_backend(opts.state) as backend:
        _require_state_file(backend.store)
        doc = backend.store.read() if serial is None else backend.store.version(serial)
    click.echo(render_state(doc, where=backend.store.where).decode(), nl=False)
    return 0


@state.command("push")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@lock_timeout_option()
@state_options
def push(file: Path, lock_timeout: float, *, opts: GlobalOptions) -> int:
    """Store FILE (a state as `state pull` prints it) as the newest version.

    Refused when the state holds another lineage, or a serial not below FILE's: pull, edit,
    raise the serial, push.
    """
    try:
        with file.open("rb") as handle:
            data = handle.read(MAX_STATE_BYTES + 1)
    except OSError as error:
        raise UsageError(f"cannot read {file}: {error.strerror}") from None
    doc = decode_state(data, where=str(file))
    with open_backend(opts.state) as backend, locked(backend, "state push", lock_timeout):
        backend.store.push(doc)
        where = backend.store.where
    click.echo(f"Pushed {file} (serial {doc.serial}, {len(doc.resources)} resources) to {where}.")
    return 0


@state.command("migrate")
@click.option("--to", "target", required=True, help="The state to copy to: a path or a URL.")
@lock_timeout_option()
@state_options
def migrate(target: str, lock_timeout: float, *, opts: GlobalOptions) -> int:
    """Copy the state (and its journal) to another backend, e.g. a file to PostgreSQL.

    Refused when the target holds another state (lineage). The source is left as it is;
    point --state (or INFOBIP_IAC_STATE) at the target from then on.
    """
    with (
        open_backend(opts.state) as source,
        open_backend(target) as destination,
    ):
        _require_state_file(source.store)
        with (
            locked(source, "state migrate", lock_timeout),
            locked(destination, "state migrate", lock_timeout),
        ):
            doc = source.store.read()
            if destination.store.exists():
                there = destination.store.read()
                if there.lineage != doc.lineage:
                    raise StateError(
                        f"refusing to migrate to {destination.store.where}: it holds another "
                        f"state (lineage {there.lineage}, not {doc.lineage}); pick another "
                        "target (another name= for a database)"
                    )
                if there.serial >= doc.serial:
                    raise StateError(
                        f"refusing to migrate to {destination.store.where}: it holds this "
                        f"state at serial {there.serial} already (the source is at "
                        f"{doc.serial}); nothing to copy"
                    )
            destination.store.push(doc)
            pending = source.store.journal.pending()
            for entry in pending:
                destination.store.journal.begin(entry)
        frm, to = source.store.where, destination.store.where
    journal = f" and {len(pending)} unsettled create(s) of its journal" if pending else ""
    click.echo(
        f"Copied the state (serial {doc.serial}, {len(doc.resources)} resources){journal} "
        f"from {frm} to {to}.\nUse --state {to} (or INFOBIP_IAC_STATE) from now on; "
        f"{frm} was left as it is."
    )
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

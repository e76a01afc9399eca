"""`infobip-iac emulator`: serve the emulator of Infobip's account-management API until
interrupted."""

from __future__ import annotations

import ipaddress
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import click

from infobip_iac.emulator import EmulatorServer, EmulatorUser
from infobip_iac.emulator.catalog import load_catalog
from infobip_iac.emulator.model import DEFAULT_ROLE

__all__ = ["emulator", "parse_user"]


def parse_user(text: str) -> EmulatorUser:
    """`USER:PASSWORD[:ROLE]`; the role defaults to Account Manager. A password may hold
    colons: the part after the last colon is a role only when it names one."""
    username, sep, rest = text.partition(":")
    if not username or not sep:
        raise click.BadParameter(f"{text!r} is not USER:PASSWORD[:ROLE]", param_hint="--user")
    catalog = load_catalog()
    password, colon, role = rest.rpartition(":")
    if not colon:
        return EmulatorUser(username, rest, (DEFAULT_ROLE,))
    canonical = catalog.find_role(role)
    if canonical is not None:
        return EmulatorUser(username, password, (canonical,))
    if role[:1].isupper() or " " in role:
        known = ", ".join(sorted(catalog.roles))
        raise click.BadParameter(
            f"unknown role {role!r}; known roles: {known}", param_hint="--user"
        )
    return EmulatorUser(username, rest, (DEFAULT_ROLE,))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may well resolve beyond this machine


@click.command("emulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port to listen on; 0 picks a free one.",
)
@click.option(
    "--data",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Keep keys, accounts and users in this JSON file across restarts.",
)
@click.option(
    "--user",
    "users",
    multiple=True,
    metavar="USER:PASSWORD[:ROLE]",
    help="A user who may sign in (repeatable). Default: admin:admin:Account Manager.",
)
@click.option(
    "--write-limit",
    type=click.IntRange(min=0),
    default=40,
    show_default=True,
    help="API-key writes (create + update) per day; 0 = unlimited.",
)
@click.option(
    "--read-rate",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    help="API-key reads per second; 0 = unlimited.",
)
@click.option(
    "--limit-scope",
    type=click.Choice(["account", "caller"]),
    default="account",
    show_default=True,
    help="Keep the limits per account or per authenticated user.",
)
def emulator(
    host: str,
    port: int,
    data: Path | None,
    users: tuple[str, ...],
    write_limit: int,
    read_rate: float,
    limit_scope: str,
) -> int:
    """Serve an emulator of Infobip's account-management API until Ctrl-C or SIGTERM."""
    parsed = [parse_user(text) for text in users] or None
    try:
        server = EmulatorServer(
            host=host,
            port=port,
            data_path=data,
            users=parsed,
            write_limit=write_limit,
            read_rate=read_rate,
            limit_scope="caller" if limit_scope == "caller" else "account",
        )
        server.start()
    except (OSError, ValueError, KeyError) as error:
        raise click.ClickException(f"cannot start the emulator: {error}") from None
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        # Scripts wait for this line to learn the port, so it must not sit in a buffer.
        click.echo(f"listening on {server.base_url}")
        sys.stdout.flush()
        names = ", ".join(f"{u.username} ({', '.join(u.roles)})" for u in parsed or [])
        if not _is_loopback(host):
            click.echo(
                f"warning: listening on {host}, beyond this machine: the control API under "
                "/_emulator/ (which shows every secret the emulator issued) asks for no "
                "credentials. Use it only on a network you trust.",
                err=True,
            )
        click.echo(
            f"main account {server.main_account_id}"
            + (f"; users: {names}" if names else "; user admin (Account Manager)")
            + "; control API under /_emulator/",
            err=True,
        )
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0

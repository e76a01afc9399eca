"""Options every command shares (SPEC §3), gathered into one value."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from infobip_iac.logs import configure_logging

if TYPE_CHECKING:
    from infobip_iac.infobip.client import InfobipClient

__all__ = [
    "DEFAULT_STATE",
    "EMULATOR_DATA",
    "GlobalOptions",
    "allow_unknown_scopes_option",
    "common_options",
    "lock_timeout_option",
    "open_service",
]

DEFAULT_STATE = Path(".infobip-iac") / "state.json"
EMULATOR_DATA = Path(".infobip-iac") / "emulator.json"

F = TypeVar("F", bound=Callable[..., Any])

# Options several (not all) commands take, declared once so their meaning stays the same.
allow_unknown_scopes_option = click.option(
    "--allow-unknown-scopes",
    is_flag=True,
    help="Warn instead of failing on scopes newer than the catalog.",
)


def lock_timeout_option(default: float = 0.0) -> Callable[[F], F]:
    """--lock-timeout. `plan` only reads the state, so it waits a little by default, where
    the commands that write it give up at once."""
    return click.option(
        "--lock-timeout",
        type=click.FloatRange(min=0),
        default=default,
        show_default=True,
        help="Seconds to wait for another run's lock on the state.",
    )


@dataclass(frozen=True)
class GlobalOptions:
    state: Path
    emulator: bool
    color: bool
    log_level: str
    log_format: str
    timeout: float


def common_options(func: F) -> F:
    """Add --state, --emulator, --no-color, --log-level, --log-format and --timeout; the
    command receives them as one `opts: GlobalOptions` keyword argument."""

    options = [
        click.option(
            "--state",
            "state_path",
            type=click.Path(dir_okay=False, path_type=Path),
            default=DEFAULT_STATE,
            show_default=True,
            help="State file.",
        ),
        click.option(
            "--emulator",
            is_flag=True,
            help="Run against the embedded emulator (data in .infobip-iac/emulator.json).",
        ),
        click.option("--no-color", is_flag=True, help="No colour (also when NO_COLOR is set)."),
        click.option(
            "--log-level",
            type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
            default="warning",
            show_default=True,
        ),
        click.option("--log-format", type=click.Choice(["console", "json"]), default="console"),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0.1),
            default=30.0,
            show_default=True,
            help="Seconds any one network call may take.",
        ),
    ]

    def wrapper(**kwargs: Any) -> Any:
        opts = GlobalOptions(
            state=kwargs.pop("state_path"),
            emulator=kwargs.pop("emulator"),
            color=not kwargs.pop("no_color") and "NO_COLOR" not in os.environ,
            log_level=kwargs.pop("log_level"),
            log_format=kwargs.pop("log_format"),
            timeout=kwargs.pop("timeout"),
        )
        configure_logging(opts.log_level, "json" if opts.log_format == "json" else "console")
        return func(opts=opts, **kwargs)

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    decorated: Any = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]


def open_service(opts: GlobalOptions) -> AbstractContextManager[InfobipClient]:
    """The Infobip client for one command run: the embedded emulator with --emulator, else
    Infobip as the environment says; every call bounded by --timeout."""
    # Imported here so that the commands that never reach Infobip load no HTTP stack.
    from infobip_iac.infobip.connection import open_key_service

    return open_key_service(
        emulator=opts.emulator, emulator_data=EMULATOR_DATA, timeout=opts.timeout
    )

"""Options every command shares (SPEC §3), gathered into one value."""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from infobip_iac.errors import InfobipIacError
from infobip_iac.infobip.pacing import DEFAULT_MAX_THROTTLE_WAIT
from infobip_iac.logs import configure_logging, get_logger

if TYPE_CHECKING:
    from infobip_iac.infobip.client import InfobipClient
    from infobip_iac.state.backend import Backend

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "DEFAULT_STATE",
    "DEFAULT_TIMEOUT",
    "EMULATOR_DATA",
    "EMULATOR_GITIGNORE",
    "EMULATOR_STATE",
    "ENVIRONMENT_HELP",
    "STATE_VARIABLE",
    "TERRAFORM_HELP",
    "GlobalOptions",
    "TerraformSpelling",
    "allow_unknown_scopes_option",
    "apply_command",
    "common_options",
    "format_option",
    "keep_emulator_data_out_of_git",
    "lock_timeout_option",
    "locked_state",
    "open_service",
    "output_options",
    "run_endpoint",
    "stacked",
    "state_options",
]

DEFAULT_STATE = Path(".infobip-iac") / "state.json"
# The default of --state when it is not given (and not --emulator).
STATE_VARIABLE = "INFOBIP_IAC_STATE"
EMULATOR_DATA = Path(".infobip-iac") / "emulator.json"
# The embedded emulator's keys are not Infobip's: their state is kept beside the emulator's
# data, apart from the state of the real endpoint, so that an --emulator run and a real one
# from the same folder never see each other's keys.
EMULATOR_STATE = Path(".infobip-iac") / "emulator-state.json"
DEFAULT_TIMEOUT = 30.0
# Beside the emulator's data file, which holds every secret the emulator issued and sits in
# the working folder, often a git work tree. Only that file (and its temp files) is
# ignored: the state in the same folder is the user's to commit or not.
EMULATOR_GITIGNORE = EMULATOR_DATA.parent / ".gitignore"
_EMULATOR_GITIGNORE_TEXT = (
    "# Written by infobip-iac: the embedded emulator's data file holds the secret of every\n"
    "# key it issued, so it stays out of git. Edit freely; it is never rewritten.\n"
    f"/{EMULATOR_DATA.name}\n"
    f"/.{EMULATOR_DATA.name}.*.tmp\n"
)

_log = get_logger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


class TerraformSpelling(click.Option):
    """An option that also answers to Terraform's single-dash spelling (`-out=FILE`,
    `-target ADDR`), which its users type by habit; click parses both. Help lists only the
    `--` names, so that each option reads once (TERRAFORM_HELP mentions the others)."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        every = self.opts
        self.opts = [name for name in every if name.startswith("--")] or every
        try:
            return super().get_help_record(ctx)
        finally:
            self.opts = every


# Said at the end of the help of each command that reaches Infobip (and of the tool).
ENVIRONMENT_HELP = (
    "\b\nEnvironment (none of it is read with --emulator):\n"
    "  INFOBIP_BASE_URL   the account's base URL, e.g. https://xxxxx.api.infobip.com\n"
    "  and one pair of credentials, tried in this order:\n"
    "  INFOBIP_USERNAME + INFOBIP_PASSWORD        Basic (INFOBIP_USE_SESSION=1: IBSSO)\n"
    "  INFOBIP_CLIENT_ID + INFOBIP_CLIENT_SECRET  OAuth2 client credentials\n"
    "  INFOBIP_IBSSO_TOKEN                        an IBSSO token made elsewhere"
)
# Said after ENVIRONMENT_HELP by the commands with TerraformSpelling options (and the tool).
TERRAFORM_HELP = (
    "\b\nTerraform's single-dash spellings are accepted too: -out=FILE, -auto-approve,\n"
    "-detailed-exitcode, -target ADDR, -replace ADDR, -refresh-only, -lock-timeout N."
)

# Options several (not all) commands take, declared once so their meaning stays the same.
allow_unknown_scopes_option = click.option(
    "--allow-unknown-scopes",
    is_flag=True,
    help="Warn instead of failing on scopes newer than the catalog.",
)


def format_option(*choices: str, help: str | None = None) -> Callable[[F], F]:
    """--format, one of `choices` (the first is the default), as `output_format`."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(choices),
        default=choices[0],
        show_default=True,
        help=help,
    )


def stacked(func: Callable[..., Any], *decorators: Callable[[Any], Any]) -> Any:
    """`func` under `decorators`, the first outermost, as if each were written above it
    with @: for a command whose plain function another command calls too."""
    decorated: Any = func
    for decorate in reversed(decorators):
        decorated = decorate(decorated)
    return decorated


# Every command that takes the state's lock waits this long for another run's by default:
# long enough to outlast a plan's read or a `state mv`, short enough that a run stuck
# behind a long apply says so instead of hanging. One value, so no command surprises.
DEFAULT_LOCK_TIMEOUT = 5.0


def lock_timeout_option() -> Callable[[F], F]:
    """--lock-timeout, with the same default on every command that locks the state."""
    return click.option(
        "--lock-timeout",
        "-lock-timeout",
        cls=TerraformSpelling,
        type=click.FloatRange(min=0),
        default=DEFAULT_LOCK_TIMEOUT,
        show_default=True,
        metavar="SECONDS",
        help="Wait this long for another run's lock on the state (0: give up at once).",
    )


@dataclass(frozen=True)
class GlobalOptions:
    """The shared options of one command run. Those the command does not take hold their
    defaults, and it does not read them."""

    # A state file path or a postgresql:// URL (state.backend.open_backend opens either).
    state: str
    # Whether --state was given (else `state` is INFOBIP_IAC_STATE or the default).
    state_given: bool
    emulator: bool
    color: bool
    log_level: str
    log_format: str
    timeout: float
    max_throttle_wait: float = DEFAULT_MAX_THROTTLE_WAIT


_STATE_OPTION = click.option(
    "--state",
    "state_path",
    default=None,
    metavar="PATH|URL",
    help=(
        "State file, or a state shared in PostgreSQL (postgresql://USER@HOST:PORT/DB"
        f"?name=NAME). Default: ${STATE_VARIABLE}, else {DEFAULT_STATE}; with --emulator "
        f"{EMULATOR_STATE}."
    ),
)
_EMULATOR_OPTION = click.option(
    "--emulator",
    is_flag=True,
    help=f"Run against the embedded emulator (data in {EMULATOR_DATA}, state in "
    f"{EMULATOR_STATE}) instead of Infobip.",
)
_EMULATOR_STATE_OPTION = click.option(
    "--emulator",
    is_flag=True,
    help=f"Work on the embedded emulator's state ({EMULATOR_STATE}).",
)
_EMULATOR_ACCEPTED_OPTION = click.option(
    "--emulator",
    is_flag=True,
    help="Accepted like on every command; this one reaches neither Infobip nor the emulator.",
)
_OUTPUT_OPTIONS = (
    click.option("--no-color", is_flag=True, help="No colour (also when NO_COLOR is set)."),
    click.option(
        "--log-level",
        type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
        default="warning",
        show_default=True,
    ),
    click.option("--log-format", type=click.Choice(["console", "json"]), default="console"),
)
_TIMEOUT_OPTION = click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds any one network call may take, from connecting to the answer's last byte.",
)
_THROTTLE_WAIT_OPTION = click.option(
    "--max-throttle-wait",
    type=click.FloatRange(min=0),
    default=DEFAULT_MAX_THROTTLE_WAIT,
    show_default=True,
    envvar="INFOBIP_IAC_MAX_THROTTLE_WAIT",
    help="Seconds in all to wait out Infobip's short 429s on writes (each wait at most 60 s; "
    "a longer Retry-After, the daily write limit, stops the run with exit 3). "
    "Also INFOBIP_IAC_MAX_THROTTLE_WAIT.",
)


def _shared_options(*, state: bool, service: bool) -> Callable[[F], F]:
    """A decorator adding the output options (--no-color, --log-level, --log-format), plus
    --state when the command reads the state and --emulator and --timeout when it talks to
    Infobip; the command receives them as one `opts: GlobalOptions` keyword argument."""
    # --emulator on every command, so that it can be added to any command line; what it
    # means depends on what the command touches.
    emulator = (
        _EMULATOR_OPTION
        if service
        else _EMULATOR_STATE_OPTION
        if state
        else _EMULATOR_ACCEPTED_OPTION
    )
    options = [
        *([_STATE_OPTION] if state else []),
        emulator,
        *_OUTPUT_OPTIONS,
        *([_TIMEOUT_OPTION, _THROTTLE_WAIT_OPTION] if service else []),
    ]

    def decorate(func: F) -> F:
        def wrapper(**kwargs: Any) -> Any:
            given: str | None = kwargs.pop("state_path", None)
            on_emulator: bool = kwargs.pop("emulator", False)
            opts = GlobalOptions(
                state=given or _default_state(on_emulator),
                state_given=given is not None,
                emulator=on_emulator,
                color=not kwargs.pop("no_color") and "NO_COLOR" not in os.environ,
                log_level=kwargs.pop("log_level"),
                log_format=kwargs.pop("log_format"),
                timeout=kwargs.pop("timeout", DEFAULT_TIMEOUT),
                max_throttle_wait=kwargs.pop("max_throttle_wait", DEFAULT_MAX_THROTTLE_WAIT),
            )
            configure_logging(opts.log_level, "json" if opts.log_format == "json" else "console")
            if state and on_emulator and given is None:
                _note_an_emulator_state_kept_in_the_shared_file()
            return func(opts=opts, **kwargs)

        wrapper.__name__ = func.__name__
        wrapper.__doc__ = func.__doc__
        return stacked(wrapper, *options)  # type: ignore[no-any-return]

    return decorate


def _default_state(on_emulator: bool) -> str:
    """The state of a run without --state: the embedded emulator keeps its own; otherwise
    INFOBIP_IAC_STATE (a team's shared state, set once in CI), else the local file."""
    if on_emulator:
        return str(EMULATOR_STATE)
    return os.environ.get(STATE_VARIABLE) or str(DEFAULT_STATE)


# Commands that read the state and talk to Infobip (plan, apply, import).
common_options = _shared_options(state=True, service=True)
# Commands that work on the state file alone (state ..., force-unlock).
state_options = _shared_options(state=True, service=False)
# Commands that touch neither (validate, show, scopes).
output_options = _shared_options(state=False, service=False)


def apply_command(opts: GlobalOptions, planfile: Path) -> str:
    """The command line that applies `planfile` as this run would: with --emulator and
    --state when this run had them, since a saved plan is refused elsewhere."""
    words = ["infobip-iac", "apply"]
    if opts.emulator:
        words.append("--emulator")
    if opts.state_given:
        words += ["--state", str(opts.state)]
    return shlex.join([*words, str(planfile)])


def run_endpoint(opts: GlobalOptions) -> str:
    """Where this run reaches Infobip, as a state and a saved plan record it: the normalised
    INFOBIP_BASE_URL, or EMULATOR_ENDPOINT with --emulator. Raises CredentialsError, with
    every problem of the environment at once, when the settings are not usable."""
    # Imported here, as in the functions below: validate, show and scopes, which take these
    # options too, read no state and reach no endpoint, and start faster without them.
    from infobip_iac.state.model import EMULATOR_ENDPOINT

    if opts.emulator:
        return EMULATOR_ENDPOINT
    from infobip_iac.infobip.settings import settings_from_env

    return settings_from_env().base_url


@contextmanager
def locked_state(opts: GlobalOptions, holder: str, lock_timeout: float) -> Iterator[Backend]:
    """The run's state, opened for this run's endpoint (a state of another endpoint is
    refused: its ids mean nothing here) and locked as `holder`."""
    from infobip_iac.state.backend import locked, open_backend

    with (
        open_backend(opts.state, endpoint=run_endpoint(opts)) as backend,
        locked(backend, holder, timeout=lock_timeout),
    ):
        yield backend


def _note_an_emulator_state_kept_in_the_shared_file() -> None:
    """Before states recorded their endpoint, --emulator runs kept their keys in
    DEFAULT_STATE. Such a state cannot be told from a real one, so it is not moved; the
    first --emulator run without EMULATOR_STATE says how to move it, once per run."""
    if EMULATOR_STATE.exists() or not DEFAULT_STATE.is_file():
        return
    from infobip_iac.state.backend import open_backend

    try:
        with open_backend(str(DEFAULT_STATE)) as backend:
            shared = backend.store.read()
    except InfobipIacError:
        return  # the commands that read it report what is wrong with it
    if shared.endpoint is not None or not shared.resources:
        return
    click.echo(
        f"Note: --emulator now keeps its state in {EMULATOR_STATE}, apart from {DEFAULT_STATE}. "
        f"{DEFAULT_STATE} was written by an older infobip-iac and does not say which endpoint "
        f"its {len(shared.resources)} key(s) belong to. If they are the emulator's, move it "
        f"before going on: mv {DEFAULT_STATE} {EMULATOR_STATE}",
        err=True,
    )


@contextmanager
def open_service(opts: GlobalOptions) -> Iterator[InfobipClient]:
    """The Infobip client for one command run: the embedded emulator with --emulator, else
    Infobip as the environment says; every call bounded by --timeout."""
    # Imported here so that the commands that never reach Infobip load no HTTP stack.
    from infobip_iac.infobip.connection import open_key_service

    if opts.emulator:
        keep_emulator_data_out_of_git()
    with open_key_service(
        emulator=opts.emulator,
        emulator_data=EMULATOR_DATA,
        timeout=opts.timeout,
        max_throttle_wait=opts.max_throttle_wait,
    ) as service:
        yield service


def keep_emulator_data_out_of_git() -> None:
    """Write EMULATOR_GITIGNORE unless a file of that name is there already (the user's
    own is left as it is). A `git add -A` would otherwise commit every issued secret."""
    from infobip_iac.state.files import ensure_private_dir

    ensure_private_dir(EMULATOR_GITIGNORE.parent)
    try:
        # O_EXCL: a .gitignore written meanwhile by anyone else is never replaced.
        fd = os.open(EMULATOR_GITIGNORE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return
    except OSError as error:
        # The emulator runs without it; the data file is still owner-only (mode 0600).
        _log.warning(
            "could not write the .gitignore beside the emulator's data file",
            path=str(EMULATOR_GITIGNORE),
            error=error.strerror,
        )
        return
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(_EMULATOR_GITIGNORE_TEXT)

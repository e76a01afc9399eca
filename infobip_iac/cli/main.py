"""`infobip-iac`: wires arguments to commands and decides exit codes in one place."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import click

from infobip_iac import __version__
from infobip_iac.cli.commands import LazyGroup
from infobip_iac.cli.common import ENVIRONMENT_HELP, TERRAFORM_HELP
from infobip_iac.collector import tune_collector
from infobip_iac.errors import ConfigurationError, InfobipIacError
from infobip_iac.interrupts import Stopped, handle_stop_signals
from infobip_iac.redaction import redact

__all__ = ["cli", "main", "run"]

# httpx imports its own command-line program (httpx._main: rich's syntax highlighting and
# pygments' lexer tables) whenever click, rich and pygments are installed, as they are
# beside this tool: a tenth of a `plan`'s start, for a program this one never runs. httpx
# defines a stand-in when that import fails, and a None in sys.modules is the import
# system's way to make it fail. Set here, in the CLI's own process only, and only when
# httpx is not loaded yet (it is imported when a command reaches Infobip).
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=f"{ENVIRONMENT_HELP}\n\n{TERRAFORM_HELP}",
)
@click.version_option(__version__, prog_name="infobip-iac")
def cli() -> None:
    """Infrastructure as code for Infobip API keys."""


def _report(error: InfobipIacError) -> None:
    if isinstance(error, ConfigurationError):
        for diagnostic in error.diagnostics:
            click.echo(diagnostic.render(), err=True)
    # Messages may quote a server's text; no credential is printed whatever it echoed.
    click.echo(f"Error: {redact(str(error))}", err=True)


def _stopped(stop: Stopped) -> int:
    # Raised between writes (see infobip_iac.interrupts): locks are released and
    # everything done so far is in the state.
    click.echo(
        f"Stopped by {stop}. What was done so far is saved in the state and the lock is "
        "released; run the command again to carry on.",
        err=True,
    )
    return 128 + stop.signum


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; user errors exit 1 (or their own code), Ctrl-C 130, SIGTERM 143, a
    crash 70."""
    tune_collector()
    try:
        with handle_stop_signals():
            result = cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except InfobipIacError as error:
        _report(error)
        return error.exit_code
    except Stopped as stop:
        return _stopped(stop)
    except click.exceptions.Abort as abort:
        # click turns a KeyboardInterrupt (so a Stopped) into Abort.
        if isinstance(abort.__cause__, Stopped):
            return _stopped(abort.__cause__)
        click.echo("Aborted.", err=True)
        return 130
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    except click.ClickException as error:
        error.show()
        return 1 if error.exit_code == 2 else error.exit_code
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except Exception:
        # A bug: keep the traceback out of the user's face but on disk for a report.
        # Tracebacks carry no local values, so no secret can land in this file. Both modules
        # are imported only here: they cost every run a fiftieth of a second otherwise.
        import tempfile
        import traceback

        fd, name = tempfile.mkstemp(prefix="infobip-iac-crash-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(traceback.format_exc())
        click.echo(
            f"infobip-iac crashed (a bug). The traceback is in {Path(name)}; please report it.",
            err=True,
        )
        return 70
    return int(result) if isinstance(result, int) else 0


def run() -> NoReturn:
    """The console script: `main`, then end the process without tearing its objects down.

    A 10,000-key plan leaves some hundred thousand objects behind; freeing them one by one
    at interpreter exit cost 0.2 s of a 2.3 s run (benchmarks/plan_http_10k.py), for memory
    the operating system takes back anyway. By the time `main` returns every lock is
    released, the state and secrets are written and closed, and only the output buffers
    and log handlers are left: they are flushed here, then the process ends. Tests and
    other callers use `main`, which returns.
    """
    code = main()
    logging = sys.modules.get("logging")  # imported only by commands that log
    if logging is not None:
        logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`) or a closed stream
            code = code or 1
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()

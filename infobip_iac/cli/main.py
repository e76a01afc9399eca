"""`infobip-iac`: wires arguments to commands and decides exit codes in one place."""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from collections.abc import Sequence
from pathlib import Path

import click

from infobip_iac import __version__
from infobip_iac.cli.commands import LazyGroup
from infobip_iac.errors import ConfigurationError, InfobipIacError

__all__ = ["cli", "main"]


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="infobip-iac")
def cli() -> None:
    """Infrastructure as code for Infobip API keys."""


def _report(error: InfobipIacError) -> None:
    if isinstance(error, ConfigurationError):
        for diagnostic in error.diagnostics:
            click.echo(diagnostic.render(), err=True)
    click.echo(f"Error: {error}", err=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; user errors exit 1 (or their own code), Ctrl-C 130, a crash 70."""
    try:
        result = cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except InfobipIacError as error:
        _report(error)
        return error.exit_code
    except click.exceptions.Abort:
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
        # Tracebacks carry no local values, so no secret can land in this file.
        fd, name = tempfile.mkstemp(prefix="infobip-iac-crash-", suffix=".txt")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(traceback.format_exc())
        click.echo(
            f"infobip-iac crashed (a bug). The traceback is in {Path(name)}; please report it.",
            err=True,
        )
        return 70
    return int(result) if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

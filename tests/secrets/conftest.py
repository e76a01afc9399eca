"""Fixtures for the secret sink tests: a known secret, a key's metadata, a recording command."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from infobip_iac.domain.secret import Secret
from infobip_iac.secrets.meta import KeyMeta

# Distinctive, so that a search for it cannot match anything by accident.
SECRET_VALUE = "7f3c9a0e5b2d4c18a6e1f0b9c8d7e6f5-PLANTED-SECRET"


@pytest.fixture
def secret_value() -> str:
    return SECRET_VALUE


@pytest.fixture
def secret(secret_value: str) -> Secret:
    return Secret(secret_value)


@pytest.fixture
def meta() -> KeyMeta:
    return KeyMeta(
        address="api_keys.ci-sms",
        key_id="573711510E1C002E29679B12C7CB48AE",
        name="CI SMS sender",
        account="_",
    )


@pytest.fixture
def recorder(tmp_path: Path) -> tuple[str, ...]:
    """A command that writes what it received (argv, environment, stdin) as JSON to the
    file named by its first argument."""
    script = tmp_path / "record_call.py"
    script.write_text(
        textwrap.dedent(
            """
            import json, os, sys
            received = {"argv": sys.argv, "env": dict(os.environ), "stdin": sys.stdin.read()}
            with open(sys.argv[1], "w") as out:
                json.dump(received, out)
            """
        )
    )
    return (sys.executable, str(script))


@pytest.fixture
def python_command() -> tuple[str, ...]:
    """A command prefix that runs a snippet of Python given as the next argument."""
    return (sys.executable, "-c")

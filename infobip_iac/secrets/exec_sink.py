"""The `exec` sink: a command that stores the secret (vault, a cloud secret manager, …).

The command runs without a shell and receives the secret on stdin only: argv and the
environment of a process can be read by other users of the machine (`ps`, /proc), stdin
cannot. The key's metadata, which is not secret, travels in environment variables.
"""

from __future__ import annotations

import os
import subprocess

from infobip_iac.domain.keys import SecretSinkSpec
from infobip_iac.domain.secret import Secret
from infobip_iac.errors import SecretSinkError
from infobip_iac.secrets.meta import KeyMeta
from infobip_iac.secrets.redact import redact
from infobip_iac.state.model import SecretRecord

__all__ = ["command_environment", "run_secret_command"]


def command_environment(meta: KeyMeta) -> dict[str, str]:
    """This process's environment plus the key's address, id, name and account."""
    env = dict(os.environ)
    env.update(
        INFOBIP_KEY_ADDRESS=meta.address,
        INFOBIP_KEY_ID=meta.key_id,
        INFOBIP_KEY_NAME=meta.name,
        INFOBIP_ACCOUNT=meta.account,
    )
    return env


def run_secret_command(
    spec: SecretSinkSpec, secret: Secret, meta: KeyMeta, *, timeout: float
) -> SecretRecord:
    if not spec.command:
        raise SecretSinkError('an "exec" sink needs a "command" (a program and its arguments)')
    program = spec.command[0]
    try:
        done = subprocess.run(
            list(spec.command),
            input=secret.reveal(),
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=command_environment(meta),
            shell=False,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise SecretSinkError(
            f'the secret command "{program}" was not found. The command runs without a shell: '
            "give the program (on PATH or as a path) and its arguments as a list."
        ) from None
    except PermissionError:
        raise SecretSinkError(f'the secret command "{program}" is not executable') from None
    except subprocess.TimeoutExpired:
        raise SecretSinkError(
            f'the secret command "{program}" did not finish within {timeout:g}s and was stopped'
        ) from None
    except OSError as error:
        raise SecretSinkError(
            f'the secret command "{program}" could not run: {error.strerror}'
        ) from None
    if done.returncode != 0:
        status = (
            f"was killed by signal {-done.returncode}"
            if done.returncode < 0
            else f"exited with status {done.returncode}"
        )
        stderr = redact(done.stderr.strip(), secret)
        detail = f": {stderr}" if stderr else " (no output on stderr)"
        raise SecretSinkError(f'the secret command "{program}" {status}{detail}')
    return SecretRecord(sink="exec", status="delivered", location=program)

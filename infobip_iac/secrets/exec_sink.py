"""The `exec` sink: a command that stores the secret (vault, a cloud secret manager, …).

The command runs without a shell and receives the secret on stdin only: argv and the
environment of a process can be read by other users of the machine (`ps`, /proc), stdin
cannot. The key's metadata, which is not secret, travels in environment variables (a
rotation's successor also says so, and names its predecessor); the tool's own Infobip
credentials are taken out of the command's environment, since storing a secret never
needs them. docs/SECRET_SINKS.md has recipes for common secret stores.

The command runs in a session of its own, so that a timeout stops it together with
anything it started, and only the first part of its stderr is kept: a command that floods
its output cannot exhaust our memory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
from collections.abc import Collection
from pathlib import Path
from typing import IO

from infobip_iac.domain.keys import SecretSinkSpec, SinkKind
from infobip_iac.domain.secret import Secret
from infobip_iac.errors import SecretSinkError
from infobip_iac.secrets.meta import KeyMeta
from infobip_iac.secrets.protocol import Delivery, WritesNoFiles
from infobip_iac.secrets.redact import redact
from infobip_iac.state.model import SecretRecord

__all__ = [
    "WITHHELD_VARIABLES",
    "ExecSink",
    "check_command",
    "command_environment",
    "command_environment_without_credentials",
    "run_secret_command",
]

# The tool's connection secrets (SPEC §3): a sink command has no business with them.
WITHHELD_VARIABLES = frozenset(
    {"INFOBIP_PASSWORD", "INFOBIP_CLIENT_SECRET", "INFOBIP_IBSSO_TOKEN", "INFOBIP_API_KEY"}
)
_STDERR_KEPT_BYTES = 64 * 1024
_READER_GRACE_SECONDS = 2.0


def command_environment_without_credentials() -> dict[str, str]:
    """This process's environment without its Infobip credentials."""
    return {name: value for name, value in os.environ.items() if name not in WITHHELD_VARIABLES}


def command_environment(meta: KeyMeta) -> dict[str, str]:
    """This process's environment without its Infobip credentials, plus the key's address,
    id, name and account, and whether it is a rotation's successor (`INFOBIP_KEY_ROTATION`
    is `true` or `false`; `INFOBIP_PREDECESSOR_KEY_ID` is set only for a rotation)."""
    env = command_environment_without_credentials()
    env.pop("INFOBIP_PREDECESSOR_KEY_ID", None)  # never inherited from our own environment
    env.update(
        INFOBIP_KEY_ADDRESS=meta.address,
        INFOBIP_KEY_ID=meta.key_id,
        INFOBIP_KEY_NAME=meta.name,
        INFOBIP_ACCOUNT=meta.account,
        INFOBIP_KEY_ROTATION="true" if meta.predecessor_id else "false",
    )
    if meta.predecessor_id:
        env["INFOBIP_PREDECESSOR_KEY_ID"] = meta.predecessor_id
    return env


class _StderrHead:
    """Drains a pipe on a thread, keeping only its first `keep` bytes."""

    def __init__(self, pipe: IO[bytes], keep: int) -> None:
        self._pipe = pipe
        self._keep = keep
        self._kept = bytearray()
        self.dropped = 0
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            while chunk := os.read(self._pipe.fileno(), 65536):
                room = self._keep - len(self._kept)
                self._kept += chunk[:room]
                self.dropped += max(0, len(chunk) - room)

    def text(self) -> str:
        """What was kept, decoded; nothing is stripped or cut here, so that redaction sees
        the text as the command wrote it."""
        # A grandchild that keeps stderr open must not hold us: give up after a grace period.
        self._thread.join(_READER_GRACE_SECONDS)
        return bytes(self._kept).decode("utf-8", errors="replace")


def _stderr_detail(stderr: _StderrHead, secret: Secret) -> str:
    """The command's stderr as an error may quote it: redacted first, then cut."""
    text = stderr.text()
    if stderr.dropped:
        # The head was cut where the bytes ran out, maybe inside a secret whose beginning
        # alone is too short to be recognised as a fragment; the head holds a secret's
        # length beyond _STDERR_KEPT_BYTES, so dropping that much loses nothing we show.
        text = text[: max(0, len(text) - len(secret.reveal()))]
    parts = [redact(text.strip(), secret)]
    if stderr.dropped:
        parts.append(f"({stderr.dropped} more bytes not kept)")
    return " ".join(part for part in parts if part)


def _stop_session(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def check_command(spec: SecretSinkSpec) -> None:
    """Refuse (SecretSinkError) a command that cannot be started: a program missing from
    PATH, or a path that is not an executable file. Looked up as `_start` will run it (no
    shell, the PATH of the command's environment), so a key is not created whose secret
    has nowhere to go."""
    program = _runnable_command(spec)[0]
    if os.sep in program:
        if not Path(program).is_file():
            raise _not_found(program)
        if not os.access(program, os.X_OK):
            raise SecretSinkError(f'the secret command "{program}" is not executable')
        return
    search = command_environment_without_credentials().get("PATH", os.defpath)
    if shutil.which(program, path=search) is None:
        raise _not_found(program)


def _runnable_command(spec: SecretSinkSpec) -> tuple[str, ...]:
    """The command, refused when it is missing or holds a NUL. The manifest refuses a NUL
    (E209), but a saved plan is read without the manifest, and a NUL reaching Popen raises
    ValueError, which no sink error catches: after the key's create, that is a traceback
    and a lost secret."""
    if not spec.command:
        raise SecretSinkError('an "exec" sink needs a "command" (a program and its arguments)')
    if any("\0" in part for part in spec.command):
        raise SecretSinkError(
            "the secret command holds a NUL character (\\0), which no program argument can "
            "hold; remove it from the command"
        )
    return spec.command


def _not_found(program: str) -> SecretSinkError:
    return SecretSinkError(
        f'the secret command "{program}" was not found. The command runs without a shell: '
        "give the program (on PATH or as a path) and its arguments as a list"
    )


def _start(spec: SecretSinkSpec, meta: KeyMeta, program: str) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            list(spec.command or ()),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=command_environment(meta),
            shell=False,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise _not_found(program) from None
    except PermissionError:
        raise SecretSinkError(f'the secret command "{program}" is not executable') from None
    except OSError as error:
        raise SecretSinkError(
            f'the secret command "{program}" could not run: {error.strerror}'
        ) from None


def run_secret_command(
    spec: SecretSinkSpec, secret: Secret, meta: KeyMeta, *, timeout: float
) -> SecretRecord:
    program = _runnable_command(spec)[0]
    process = _start(spec, meta, program)
    assert process.stdin is not None and process.stderr is not None
    stderr = _StderrHead(process.stderr, _STDERR_KEPT_BYTES + len(secret.reveal().encode()))
    try:
        # A secret is far smaller than a pipe's buffer, so this write cannot block.
        with contextlib.suppress(BrokenPipeError):
            process.stdin.write(secret.reveal().encode())
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop_session(process)
            raise SecretSinkError(
                f'the secret command "{program}" did not finish within {timeout:g}s and was stopped'
            ) from None
    except BaseException:
        if process.poll() is None:
            _stop_session(process)
        raise
    finally:
        detail = _stderr_detail(stderr, secret)
        process.stderr.close()
    if returncode != 0:
        status = (
            f"was killed by signal {-returncode}"
            if returncode < 0
            else f"exited with status {returncode}"
        )
        raise SecretSinkError(
            f'the secret command "{program}" {status}'
            + (f": {detail}" if detail else " (no output on stderr)")
        )
    return SecretRecord(sink="exec", status="delivered", location=program)


class ExecSink(WritesNoFiles):
    """The `exec` sink as a SecretSink. Before the create it checks that the program can be
    started (`check_command`); whether the command accepts the secret shows only when it
    runs."""

    kind: SinkKind = "exec"

    def location(self, spec: SecretSinkSpec, meta: KeyMeta) -> str | None:
        # A NUL (refused before the create) is shown as \0, never printed raw.
        return spec.command[0].replace("\0", "\\0") if spec.command else None

    def refusal_before_create(
        self, spec: SecretSinkSpec, meta: KeyMeta, owned_files: Collection[str]
    ) -> str | None:
        """A program missing from PATH, or a path that is not an executable file."""
        try:
            check_command(spec)
        except SecretSinkError as refusal:
            return f"{refusal} (secret.command)."
        return None

    def deliver(
        self, spec: SecretSinkSpec, secret: Secret, meta: KeyMeta, delivery: Delivery
    ) -> SecretRecord:
        return run_secret_command(spec, secret, meta, timeout=delivery.timeout)

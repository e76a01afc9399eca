"""Delivering a new key's secret to the sink its manifest chose, and nowhere else.

`deliver` is the only caller of `Secret.reveal()` in the tool besides the sinks themselves.
Whatever goes wrong, the error it raises never carries the secret: every message is
redacted on the way out and no exception is chained (a chained exception's text would end
up in a traceback).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Collection
from pathlib import Path
from typing import TextIO

from infobip_iac.domain.keys import SecretSinkSpec
from infobip_iac.domain.secret import Secret
from infobip_iac.errors import SecretSinkError
from infobip_iac.secrets.exec_sink import check_command, run_secret_command
from infobip_iac.secrets.file_sink import (
    check_folder,
    check_folders_below_base,
    check_target,
    owned_name,
    resolve_target,
    write_secret_file,
)
from infobip_iac.secrets.meta import KeyMeta
from infobip_iac.secrets.redact import redact
from infobip_iac.state.model import SecretRecord

__all__ = [
    "KeyMeta",
    "deliver",
    "files_to_claim",
    "lost_record",
    "refusal_before_create",
    "sink_location",
]


def deliver(
    spec: SecretSinkSpec,
    secret: Secret,
    meta: KeyMeta,
    *,
    show_secrets: bool,
    owned_files: Collection[str] = (),
    stdout: TextIO | None = None,
    timeout: float = 30,
) -> SecretRecord:
    """Hand `secret` to the sink `spec` names. Returns a record with status `delivered`
    (or `not-requested` for `none`); raises SecretSinkError, free of the secret, when the
    secret could not be delivered, which the caller records with `lost_record`. Its
    message is why, as a clause without a final full stop, for the caller to place after
    the key's address.

    `owned_files` are the files this key's sink wrote before (from state): only those may
    be replaced. `show_secrets` is the `--show-secrets` flag the `stdout` sink requires.
    """
    try:
        if not secret.reveal():
            raise SecretSinkError("Infobip returned an empty secret")
        if spec.sink == "file":
            return write_secret_file(spec, secret, meta, owned_files=owned_files)
        if spec.sink == "exec":
            return run_secret_command(spec, secret, meta, timeout=timeout)
        if spec.sink == "stdout":
            return _print_secret(secret, meta, show_secrets=show_secrets, stream=stdout)
        return SecretRecord(sink="none", status="not-requested")
    except SecretSinkError as error:
        reason = str(error)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        if error.filename is not None:
            reason = f"{os.fsdecode(error.filename)}: {reason}"
    # The reason alone: whoever reports it already names the key and says the secret was
    # not delivered (apply's SECRET NOT DELIVERED line, `state show` under the key).
    raise SecretSinkError(redact(reason, secret))


def _print_secret(
    secret: Secret, meta: KeyMeta, *, show_secrets: bool, stream: TextIO | None
) -> SecretRecord:
    if not show_secrets:
        raise SecretSinkError(
            'its sink is "stdout", which prints secrets only when --show-secrets is passed; '
            "pass it, or choose a file or exec sink"
        )
    out = stream if stream is not None else sys.stdout
    out.write(f"{meta.address}: {secret.reveal()}\n")
    out.flush()
    return SecretRecord(sink="stdout", status="delivered", location="stdout")


def sink_location(spec: SecretSinkSpec, meta: KeyMeta) -> str | None:
    """Where the secret goes, for plans and records: a file path, a program, or stdout."""
    if spec.sink == "file":
        try:
            return str(resolve_target(spec, meta))
        except SecretSinkError:
            return spec.path
    if spec.sink == "exec":
        return spec.command[0] if spec.command else None
    if spec.sink == "stdout":
        return "stdout"
    return None


def refusal_before_create(
    spec: SecretSinkSpec, meta: KeyMeta, owned_files: Collection[str]
) -> str | None:
    """Why the sink will refuse the secret of a key not created yet, or None; a sentence
    naming the path and the manifest field, ending with a full stop. Apply asks before its
    first write, rather than create a key whose secret cannot be delivered.

    An `exec` sink's program must exist and be executable. A `file` sink is checked with
    every check it makes before writing: a link among the folders below the manifest's, a
    file in the way that is not this key's (or is a link), a path that cannot be looked at.
    A path naming the key's `{id}` is checked up to the first component holding it, since
    the rest is not known before the create."""
    if spec.sink == "exec":
        try:
            check_command(spec)
        except SecretSinkError as refusal:
            return f"{refusal} (secret.command)."
        return None
    if spec.sink != "file" or not spec.path:
        return None
    try:
        target = resolve_target(spec, meta)
        if "{id}" in spec.path:
            known = _folder_before_id(spec, target)
            check_folders_below_base(spec, known / "_")
            check_folder(known)
        else:
            check_target(spec, target, owned_files)
    except SecretSinkError as refusal:
        return f'{refusal} (secret.path "{spec.path}").'
    return None


def _folder_before_id(spec: SecretSinkSpec, target: Path) -> Path:
    """The folders of `target` before the first component of `spec.path` naming `{id}`.

    Placeholders fill in one sanitized component each, so the path as written and the
    filled-in target have the same components, in the same places from the end."""
    written = Path(spec.path or "").parts
    first = next(index for index, part in enumerate(written) if "{id}" in part)
    return Path(*target.parts[: len(target.parts) - len(written) + first])


def files_to_claim(spec: SecretSinkSpec, meta: KeyMeta, owned_files: Collection[str]) -> list[str]:
    """The files to record as this key's before its secret is delivered: those it owned,
    and the file its sink is about to write when nothing is there yet.

    A run killed after the sink wrote the file but before the state recorded it would
    otherwise leave a file no key owns, which every later delivery must refuse to replace.
    An existing file is never claimed: it stays protected until a delivery succeeds.
    """
    files = list(owned_files)
    if spec.sink != "file":
        return files
    try:
        target = resolve_target(spec, meta)
    except SecretSinkError:
        return files
    claimed = owned_name(target)
    if claimed not in {owned_name(owned) for owned in files} and not os.path.lexists(target):
        files.append(claimed)
    return files


def lost_record(
    spec: SecretSinkSpec,
    meta: KeyMeta,
    error: SecretSinkError,
    *,
    owned_files: Collection[str] = (),
) -> SecretRecord:
    """The state record of a secret that could not be delivered; the next plan offers to
    replace the key. Files the sink owned before stay owned."""
    return SecretRecord(
        sink=spec.sink,
        status="lost",
        location=sink_location(spec, meta),
        detail=str(error),
        files_written=list(owned_files),
    )

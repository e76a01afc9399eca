"""Delivering a new key's secret to the sink its manifest chose, and nowhere else.

Every caller (create, replace, rotation) goes through these functions, which find the sink
in `secrets.registry`; the sinks themselves follow `secrets.protocol.SecretSink`.
`deliver` is the only caller of `Secret.reveal()` in the tool besides the sinks themselves.
Whatever goes wrong, the error it raises never carries the secret: every message is
redacted on the way out and no exception is chained (a chained exception's text would end
up in a traceback).
"""

from __future__ import annotations

import os
from collections.abc import Collection
from typing import TextIO

from infobip_iac.domain.keys import SecretSinkSpec
from infobip_iac.domain.secret import Secret
from infobip_iac.errors import SecretSinkError
from infobip_iac.secrets.meta import KeyMeta
from infobip_iac.secrets.protocol import Delivery
from infobip_iac.secrets.redact import redact
from infobip_iac.secrets.registry import sink_for
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
    `meta.predecessor_id` marks a rotation's successor.
    """
    delivery = Delivery(
        show_secrets=show_secrets, owned_files=owned_files, stdout=stdout, timeout=timeout
    )
    try:
        if not secret.reveal():
            raise SecretSinkError("Infobip returned an empty secret")
        return sink_for(spec.sink).deliver(spec, secret, meta, delivery)
    except SecretSinkError as error:
        reason = str(error)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        if error.filename is not None:
            reason = f"{os.fsdecode(error.filename)}: {reason}"
    # The reason alone: whoever reports it already names the key and says the secret was
    # not delivered (apply's SECRET NOT DELIVERED line, `state show` under the key).
    raise SecretSinkError(redact(reason, secret))


def sink_location(spec: SecretSinkSpec, meta: KeyMeta) -> str | None:
    """Where the secret goes, for plans and records: a file path, a program, or stdout."""
    return sink_for(spec.sink).location(spec, meta)


def refusal_before_create(
    spec: SecretSinkSpec, meta: KeyMeta, owned_files: Collection[str]
) -> str | None:
    """Why the sink will refuse the secret of a key not created yet, or None; a sentence
    naming the path and the manifest field, ending with a full stop. Apply asks before its
    first write, rather than create a key whose secret cannot be delivered; plan warns of
    the same refusal. Each sink makes its own checks (an `exec` sink's program must exist
    and be executable; a `file` sink makes every check it makes before writing)."""
    return sink_for(spec.sink).refusal_before_create(spec, meta, owned_files)


def files_to_claim(spec: SecretSinkSpec, meta: KeyMeta, owned_files: Collection[str]) -> list[str]:
    """The files to record as this key's before its secret is delivered: those it owned,
    and the file its sink is about to write when nothing is there yet.

    A run killed after the sink wrote the file but before the state recorded it would
    otherwise leave a file no key owns, which every later delivery must refuse to replace.
    An existing file is never claimed: it stays protected until a delivery succeeds.
    """
    return sink_for(spec.sink).files_to_claim(spec, meta, owned_files)


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

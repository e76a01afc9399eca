"""The secret sink protocol: what every sink (file, exec, stdout, none) offers the engine.

A sink is asked twice: `refusal_before_create` before any write to Infobip (so that no key
is made whose secret has nowhere to go), and `deliver` once the key exists. Creates,
replacements and rotations all go through the same two calls (via `secrets.sinks`), so a
new sink is one class here plus one line in `secrets.registry`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol, TextIO

from infobip_iac.domain.keys import SecretSinkSpec, SinkKind
from infobip_iac.domain.secret import Secret
from infobip_iac.secrets.meta import KeyMeta
from infobip_iac.state.model import SecretRecord

__all__ = ["Delivery", "SecretSink", "WritesNoFiles"]


@dataclass(frozen=True)
class Delivery:
    """How one delivery is to be made, beyond the spec and the key: the `--show-secrets`
    flag, the files this key's sink wrote before (only those may be replaced), where the
    stdout sink prints, and how long a command may take."""

    show_secrets: bool = False
    owned_files: Collection[str] = ()
    stdout: TextIO | None = None
    timeout: float = 30


class SecretSink(Protocol):
    """One kind of sink. Implementations raise SecretSinkError (or OSError) on failure;
    `secrets.sinks.deliver` redacts whatever they raise."""

    kind: SinkKind

    def location(self, spec: SecretSinkSpec, meta: KeyMeta) -> str | None:
        """Where the secret goes, for plans and records: a path, a program, stdout."""
        ...

    def refusal_before_create(
        self, spec: SecretSinkSpec, meta: KeyMeta, owned_files: Collection[str]
    ) -> str | None:
        """Why this sink will refuse the secret of a key not created yet (a sentence), or
        None. Makes no write."""
        ...

    def files_to_claim(
        self, spec: SecretSinkSpec, meta: KeyMeta, owned_files: Collection[str]
    ) -> list[str]:
        """The files state records as this key's before delivery (see sinks.files_to_claim)."""
        ...

    def deliver(
        self, spec: SecretSinkSpec, secret: Secret, meta: KeyMeta, delivery: Delivery
    ) -> SecretRecord:
        """Hand the secret over; a record with status `delivered` or `not-requested`."""
        ...


class WritesNoFiles:
    """What a sink that writes no file of its own (exec, stdout, none) answers to the
    questions about files and, unless it overrides it, to the check before a create."""

    def refusal_before_create(
        self, spec: SecretSinkSpec, meta: KeyMeta, owned_files: Collection[str]
    ) -> str | None:
        return None

    def files_to_claim(
        self, spec: SecretSinkSpec, meta: KeyMeta, owned_files: Collection[str]
    ) -> list[str]:
        # Files an earlier sink of this key wrote stay claimed, so a later file sink may
        # still replace them.
        return list(owned_files)

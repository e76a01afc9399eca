"""The `stdout` and `none` sinks: printing the secret (only with --show-secrets), or not
delivering it at all."""

from __future__ import annotations

import sys

from infobip_iac.domain.keys import SecretSinkSpec, SinkKind
from infobip_iac.domain.secret import Secret
from infobip_iac.errors import SecretSinkError
from infobip_iac.secrets.meta import KeyMeta
from infobip_iac.secrets.protocol import Delivery, WritesNoFiles
from infobip_iac.state.model import SecretRecord

__all__ = ["NoSink", "StdoutSink"]


class StdoutSink(WritesNoFiles):
    kind: SinkKind = "stdout"

    def location(self, spec: SecretSinkSpec, meta: KeyMeta) -> str | None:
        return "stdout"

    # No refusal before a create: whether --show-secrets is passed is known only to apply,
    # which says so itself.

    def deliver(
        self, spec: SecretSinkSpec, secret: Secret, meta: KeyMeta, delivery: Delivery
    ) -> SecretRecord:
        if not delivery.show_secrets:
            raise SecretSinkError(
                'its sink is "stdout", which prints secrets only when --show-secrets is '
                "passed; pass it, or choose a file or exec sink"
            )
        out = delivery.stdout if delivery.stdout is not None else sys.stdout
        out.write(f"{meta.address}: {secret.reveal()}\n")
        out.flush()
        return SecretRecord(sink="stdout", status="delivered", location="stdout")


class NoSink(WritesNoFiles):
    """`sink: none`: the secret is dropped on purpose; the key is still usable by whoever
    reads it from Infobip's portal."""

    kind: SinkKind = "none"

    def location(self, spec: SecretSinkSpec, meta: KeyMeta) -> str | None:
        return None

    def deliver(
        self, spec: SecretSinkSpec, secret: Secret, meta: KeyMeta, delivery: Delivery
    ) -> SecretRecord:
        return SecretRecord(sink="none", status="not-requested")

"""Handing a new key's secret to its sink, inside the create's critical section.

Between a create and its delivery the secret exists only in this process: the state then
holds a provisional record saying the secret was lost (`provisional_record`), so an apply
that dies there leaves the next plan knowing it. `deliver` hands the secret over and
records the outcome (never the secret); a sink that fails is reported and recorded as
`lost`, and the apply goes on. `awaiting` says whether a secret is still on its way, for
the create to report one a second stop signal cut short.
"""

from __future__ import annotations

import sys

from infobip_iac.domain.keys import LiveKey, SecretSinkSpec
from infobip_iac.domain.plan import ResourceChange
from infobip_iac.domain.secret import Secret
from infobip_iac.engine.apply_outcome import ApplyEvent, ApplyOptions, EventKind
from infobip_iac.engine.ledger import Ledger, clause
from infobip_iac.errors import SecretSinkError, StateError
from infobip_iac.secrets.meta import KeyMeta
from infobip_iac.secrets.sinks import deliver, files_to_claim, lost_record
from infobip_iac.state.model import SecretRecord

__all__ = ["Delivery"]


class Delivery:
    def __init__(self, ledger: Ledger, options: ApplyOptions) -> None:
        self.ledger = ledger
        self.options = options
        # Set while a new key's secret exists only in this process (see engine.creates).
        self.awaiting = False

    def expect(self, change: ResourceChange) -> None:
        """A create has answered: its secret, if it wants one, now waits for its sink."""
        self.awaiting = (change.secret_sink or SecretSinkSpec()).sink != "none"

    def provisional_record(
        self, change: ResourceChange, key: LiveKey, owned_files: list[str]
    ) -> SecretRecord:
        """What state says between the create and the delivery: if the apply dies there,
        the secret is lost, and the next plan must know it; the files the sink owns (and
        the one it is about to write) stay its own for the replacement."""
        spec = change.secret_sink or SecretSinkSpec()
        if spec.sink == "none":
            return SecretRecord(sink="none", status="not-requested")
        unsent = SecretSinkError("the apply stopped before the secret was delivered")
        meta = _meta(change, key)
        claimed = files_to_claim(spec, meta, owned_files)
        return lost_record(spec, meta, unsent, owned_files=claimed)

    def deliver(
        self, change: ResourceChange, key: LiveKey, secret: Secret | None, owned_files: list[str]
    ) -> None:
        """Hand the new secret to its sink and record the outcome (never the secret)."""
        ledger = self.ledger
        spec = change.secret_sink or SecretSinkSpec()
        entry = ledger.state.resources[change.address]
        meta = _meta(change, key)
        if spec.sink == "none":
            entry.secret = SecretRecord(sink="none", status="not-requested")
            ledger.save([change.address])
            return
        try:
            if secret is None:
                raise SecretSinkError("the create's answer was lost, so its secret was never seen")
            record = deliver(
                spec,
                secret,
                meta,
                show_secrets=self.options.show_secrets,
                owned_files=owned_files,
                stdout=self.options.stdout or sys.stdout,
                timeout=self.options.sink_timeout,
            )
        except SecretSinkError as failure:
            self.awaiting = False
            entry.secret = lost_record(spec, meta, failure, owned_files=owned_files)
            ledger.save([change.address])
            self.report_lost(change, key, str(failure))
            return
        self.awaiting = False
        entry.secret = record
        # A command is named as one: "delivered to sh" reads like a place.
        kind = "command " if record.sink == "exec" else ""
        where = f" to {kind}{record.location}" if record.location else ""
        try:
            ledger.save([change.address])
        except StateError as failure:
            ledger.fail(
                change,
                f"{change.address} was created [id={key.id}] and its secret delivered{where}, "
                f"but the state could not record the delivery: {clause(str(failure))}. "
                "Nothing more was written. The state still says the secret was not "
                "delivered, so the next apply replaces the key (a new key, whose secret "
                "goes to the same place)",
            )
        ledger.emit(ApplyEvent(EventKind.SECRET, change.address, f"Secret delivered{where}"))

    def lost_on_stop(self, change: ResourceChange, key: LiveKey) -> None:
        """The apply is stopping before the secret reached its sink. The state already says
        so (the provisional record); the output must too."""
        self.awaiting = False
        self.report_lost(change, key, "the apply was stopped before the secret reached its sink")

    def report_lost(self, change: ResourceChange, key: LiveKey, reason: str) -> None:
        self.ledger.result.secrets_lost.append(change.address)
        self.ledger.warn(
            change.address,
            f"SECRET NOT DELIVERED [id={key.id}]: {clause(reason)}. The key exists but "
            "nobody holds its secret; the next plan offers to replace it.",
        )


def _meta(change: ResourceChange, key: LiveKey) -> KeyMeta:
    return KeyMeta(
        address=change.address,
        key_id=key.id,
        name=key.name,
        account=change.account,
        predecessor_id=change.rotation.predecessor_id if change.rotation else None,
    )

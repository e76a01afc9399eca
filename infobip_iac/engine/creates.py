"""A create step: journal it, send it without ever making a key twice blindly, record it,
deliver its secret.

The create journal names the create before it is sent, so a run after a crash can find a
key the state never recorded. After an ambiguous answer the key is looked up by name
before anything else; a found key is adopted (without its secret). A create sent again
after no answer keeps the journal entry of the first one, which may still land
(`engine.settling`). A create refused with 500 or 503 is sent again once a lookup by name
shows no key came of it. A created key is recorded in state, with its secret as lost until
the delivery says otherwise (`engine.delivery`); a key the state cannot record stops the
apply, its secret undelivered, and its journal entry has the next apply revoke it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NoReturn

from infobip_iac.domain.keys import KeyWrite, LiveKey, SecretSinkSpec, deposed_address
from infobip_iac.domain.plan import Action, Plan, ResourceChange
from infobip_iac.domain.secret import Secret
from infobip_iac.engine.apply_outcome import ApplyEvent, EventKind
from infobip_iac.engine.delivery import Delivery
from infobip_iac.engine.ledger import Ledger, clause, entry_from_key
from infobip_iac.engine.rotation_apply import predecessor_revoke_after
from infobip_iac.engine.settling import Settling
from infobip_iac.engine.writes import Writes
from infobip_iac.errors import (
    AmbiguousWriteError,
    ApplyRefusedError,
    InfobipApiError,
    ServerError,
    StateError,
)
from infobip_iac.infobip.api import KeyService
from infobip_iac.logs import get_logger
from infobip_iac.state.journal import PendingCreate

__all__ = ["Creates"]

# A create is sent at most this often for one key: the first time, and once more only
# when a lookup by name proved the first one did not land.
_CREATE_ATTEMPTS = 2
# A create Infobip refused with a server error (500, 503: it answered, so nothing of it is
# still at work) is sent again after a lookup by name shows no key came of it, up to this
# many times in all. A gateway's 502 or 504 stops the apply instead (engine.writes), and
# the journal has the next apply look for the key.
_CREATE_REFUSALS = 4

log = get_logger(__name__)


@dataclass(eq=False)
class Creates:
    """The create steps of one apply, and the parts of it they use."""

    plan: Plan
    ledger: Ledger
    service: KeyService
    writes: Writes
    delivery: Delivery
    settling: Settling

    def create(self, change: ResourceChange) -> None:
        if change.write is None:
            raise ApplyRefusedError(f"{change.address}: the plan holds no create body")
        # The one `valid_for` the planner cannot resolve: counted from the key's creation,
        # on Infobip's clock, as it is sent.
        write = change.write.with_valid_to_resolved(self.service.server_time)
        self.ledger.emit(ApplyEvent(EventKind.WRITING, change.address, "Creating..."))
        pending = PendingCreate(
            address=change.address,
            account=change.account,
            name=write.name or change.name,
            sink=(change.secret_sink or SecretSinkSpec()).sink,
            sent_at=self.service.server_time(),
            valid_from_given=write.valid_from is not None,
            lineage=self.ledger.state.lineage,
        )
        self.ledger.journal.begin(pending)
        key, secret = self._send(change, write, pending)
        self.delivery.expect(change)
        try:
            self._record(change, key, secret)
        except KeyboardInterrupt:
            # A second stop signal does not wait for the delivery: the secret leaves with
            # this process, and that must be as loud as a sink that failed.
            if self.delivery.awaiting:
                self.delivery.lost_on_stop(change, key)
            raise

    def _record(self, change: ResourceChange, key: LiveKey, secret: Secret | None) -> None:
        ledger = self.ledger
        ledger.result.created += 1
        old = ledger.state.resources.get(change.address)
        # A key created again at the same address may overwrite the files its sink wrote.
        owned_files = list(old.secret.files_written) if old and old.secret else []
        changed = [change.address]
        if change.action is Action.REPLACE and old is not None and change.key_id == old.id:
            # Keep the old key in state until its revoke lands (see deposed_address); a
            # rotation's predecessor until its overlap ends (see engine.rotation_apply).
            deposed = old.model_copy(
                update={
                    "prevent_revoke": False,
                    "revoke_after": predecessor_revoke_after(change, self.service.server_time),
                }
            )
            ledger.state.resources[deposed_address(change.address, old.id)] = deposed
            changed.append(deposed_address(change.address, old.id))
        ledger.state.resources[change.address] = entry_from_key(
            change, key, self.delivery.provisional_record(change, key, owned_files)
        )
        try:
            ledger.save(changed)
        except StateError as failure:
            self._unrecorded(change, key, failure)
        try:
            ledger.journal.end(change.address)
        except StateError as failure:
            # The state records the key, which is all recovery needs to leave it alone; the
            # secret is delivered all the same (a lost lock stops the next write).
            ledger.warn(change.address, clause(str(failure)))
        ledger.emit(
            ApplyEvent(EventKind.WRITTEN, change.address, f"Creation complete [id={key.id}]")
        )
        self.delivery.deliver(change, key, secret, owned_files)

    def _send(
        self, change: ResourceChange, write: KeyWrite, pending: PendingCreate
    ) -> tuple[LiveKey, Secret | None]:
        """POST the key; after an ambiguous answer, look it up by name before anything
        else, so a key is never created twice blindly. A found key comes without its
        secret. A create sent again keeps the journal entry of the first one: that one may
        still land (see engine.settling)."""
        known = self.ledger.known_key_ids(self.plan)
        attempt = refusals = 0
        while attempt < _CREATE_ATTEMPTS:
            try:
                created = self.writes.send(
                    change,
                    Action.CREATE,
                    lambda: self.service.create_key(change.account, write),
                    refused_again=True,
                )
            except ServerError as refused:
                refusals += 1
                found = self._look_up_by_name(
                    change,
                    write,
                    known,
                    adopted=f"the create was answered {refused.message}, yet the key was",
                    give_up=(
                        f"create {change.address} failed: {refused}"
                        if refusals >= _CREATE_REFUSALS
                        else None
                    ),
                )
                if found is not None:
                    return found, None
                log.info(
                    "create refused; no key came of it; sending it again", status=refused.status
                )
            except AmbiguousWriteError as unknown:
                attempt += 1
                found = self._look_up_by_name(
                    change,
                    write,
                    known,
                    adopted=f"the create's answer was lost ({unknown.message}); the key was",
                    give_up=(
                        f"creating {change.address} failed twice without an answer, and "
                        f'no key named "{write.name}" exists; run apply again'
                        if attempt == _CREATE_ATTEMPTS
                        else None
                    ),
                )
                if found is not None:
                    return found, None
                self.ledger.warn(
                    change.address,
                    "the create's answer was lost and no such key exists yet; sending it "
                    "once more (the first may still land: it is looked for again).",
                )
                self.settling.sent_again(pending)
            else:
                return created.key, created.secret
            pending = replace(pending, sent_at=self.service.server_time())
            self.ledger.journal.begin(pending)
        raise AssertionError("unreachable: the last attempt returns or fails")

    def _look_up_by_name(
        self,
        change: ResourceChange,
        write: KeyWrite,
        known: set[str],
        *,
        adopted: str,
        give_up: str | None,
    ) -> LiveKey | None:
        """After a create whose answer says nothing sure: the key it made, found by name
        and adopted (`adopted` begins the warning that says so); else None, or, with
        `give_up` (the last attempt), the end of the apply with that message."""
        found = self._lookup_after_ambiguity(change, write, known)
        if found is not None:
            self.ledger.warn(
                change.address, f"{adopted} found by name and adopted [id={found.id}]."
            )
        elif give_up is not None:
            self.ledger.fail(change, give_up)
        return found

    def _lookup_after_ambiguity(
        self, change: ResourceChange, write: KeyWrite, known: set[str]
    ) -> LiveKey | None:
        name = write.name or change.name
        try:
            # A create makes an enabled key; a disabled one of the same name is older.
            candidates = [
                key
                for key in self.service.find_by_name(change.account, name)
                if key.id not in known and key.enabled
            ]
        except InfobipApiError as error:
            self.ledger.fail(
                change,
                f"creating {change.address} got no answer, and looking the key up by "
                f"name failed too ({error}); run plan and apply again (it adopts the key "
                "by name if it was created)",
            )
        if len(candidates) > 1:
            ids = ", ".join(sorted(key.id for key in candidates))
            self.ledger.fail(
                change,
                f'creating {change.address} got no answer and several keys named "{name}" '
                f"now exist ({ids}); import the right one with `infobip-iac import`",
            )
        return candidates[0] if candidates else None

    def _unrecorded(self, change: ResourceChange, key: LiveKey, failure: StateError) -> NoReturn:
        """Stop after a create the state could not record. Its secret is not delivered: the
        key is known only to the create journal, whose entry stays, and the next apply's
        recovery revokes every key such an entry left (a delivered secret would then be of
        a revoked key, and its file in the way of the key created in its place)."""
        self.delivery.awaiting = False
        self.ledger.result.secrets_lost.append(change.address)
        self.ledger.fail(
            change,
            f"{change.address} was created at Infobip [id={key.id}], but the state could not "
            f"record it: {clause(str(failure))}. Its secret was NOT delivered, and nothing "
            "more was written. The create journal (kept with the state) still lists "
            "this create: the next "
            f"apply finds key {key.id} by its name {key.name!r}, revokes it, and creates "
            f"{change.address} again (fix the cause first)",
        )

"""Settling creates whose outcome is unknown, as an apply ends.

A create that got no answer and was sent again may still land later (Infobip has no
idempotency key): its journal entry stays, and the apply looks for it by name once more
before it ends (`settle_all`). One that has landed made a second key, which nobody holds
the secret of: it is recorded at a deposed address (so a stop from then on leaves it for
the next plan to revoke), its journal entry settled, and then revoked. One that has not
shown up stays in the journal, and the apply ends with exit 1 saying so; the next apply
looks again (`engine.recovery`, whose finding and recording this shares).

A dead holder's creates that recovery left unsettled are looked for the same way; should
the planner adopt by name a key one of them made, the key is recorded with its secret lost
(`inherited_create_of`, `adopted`).
"""

from __future__ import annotations

from infobip_iac.domain.normalize import parse_instant
from infobip_iac.domain.plan import Action, Plan, Reason, ResourceChange
from infobip_iac.engine.ledger import Ledger, StopApplyError
from infobip_iac.engine.recovery import keep_for_revoke, keys_made_by
from infobip_iac.engine.writes import Writes
from infobip_iac.errors import InfobipApiError
from infobip_iac.infobip.api import KeyService
from infobip_iac.interrupts import critical
from infobip_iac.state.journal import PendingCreate
from infobip_iac.state.model import SecretRecord

__all__ = ["Settling", "secret_nobody_holds"]


class Settling:
    def __init__(self, ledger: Ledger, service: KeyService, plan: Plan, writes: Writes) -> None:
        self.ledger = ledger
        self.service = service
        self.plan = plan
        self.writes = writes
        # Creates that got no answer and were sent again: looked for when the apply ends.
        self.unanswered: list[PendingCreate] = []

    def take_inherited(self) -> None:
        """A dead holder's creates that recovery has not seen land yet: looked for again
        when this apply ends, like this run's own unanswered creates."""
        self.unanswered = [e for e in self.ledger.journal.pending() if e.unanswered]

    def sent_again(self, first: PendingCreate) -> None:
        """`first` got no answer and its create is about to be sent once more."""
        self.unanswered.append(self.ledger.journal.mark_unanswered(first))

    def inherited_create_of(self, change: ResourceChange) -> PendingCreate | None:
        """The create of a dead holder that recovery left unsettled (see engine.recovery)
        and that may have made the key `change` adopts by name."""
        before = change.before or {}
        valid_from = before.get("valid_from")
        for entry in self.unanswered:
            if entry.account != change.account or entry.name != before.get("name"):
                continue
            made = entry.may_have_made_one(
                enabled=bool(before.get("enabled")),
                valid_from=parse_instant(valid_from) if isinstance(valid_from, str) else None,
            )
            if made:
                return entry
        return None

    def adopted(self, change: ResourceChange, made_by: PendingCreate) -> None:
        """The key `change` adopted by name, recorded already, is the one `made_by` made:
        its create is settled, and its secret, if one was wanted, reported lost."""
        self.ledger.journal.settle(made_by)
        self.unanswered.remove(made_by)
        if made_by.sink == "none":
            return
        self.ledger.result.secrets_lost.append(change.address)
        self.ledger.warn(
            change.address,
            f"SECRET NOT DELIVERED [id={change.importing_id}]: the key was made by "
            "the create of an apply that died before recording it, and landed after "
            "that create was looked for. The key is adopted but nobody holds its "
            "secret; the next plan offers to replace it.",
        )

    def settle_all(self) -> None:
        """Look once more by name for the unanswered creates (see the module docstring)."""
        result = self.ledger.result
        stopped = result.error is not None
        for entry in self.unanswered:
            if result.error is not None:
                # Infobip is failing this run; the next apply's recovery looks instead.
                self._unsettled(entry)
                continue
            try:
                with critical():
                    self._settle(entry)
            except StopApplyError:
                continue
        unsettled = result.unsettled_creates
        if unsettled and not stopped and result.error is None:
            result.error = (
                f"the outcome of the first create of {', '.join(unsettled)} is still unknown "
                "(see above); run apply again in a few minutes: it looks for a second key "
                "that create may yet make, and revokes it"
            )
            result.remaining += [f"look for the unanswered create of {a}" for a in unsettled]
            result.only_settling_left = True

    def _settle(self, entry: PendingCreate) -> None:
        ledger = self.ledger
        try:
            late = keys_made_by(self.service, entry, ledger.known_key_ids(self.plan))
        except InfobipApiError:
            self._unsettled(entry)
            return
        if not late:
            self._unsettled(entry)
            return
        revokes = [
            _revoke_of_second_key(
                entry, key.id, key.name, keep_for_revoke(ledger.state, entry, key)
            )
            for key in late
        ]
        ledger.save(change.address for change in revokes)
        ledger.journal.settle(entry)
        for change in revokes:
            ledger.warn(
                entry.address,
                f"the first create of {entry.address}, whose answer was lost, landed "
                f"after it was sent again: key {change.key_id} is a second key named "
                f"{change.name!r} that nobody holds the secret of; revoking it.",
            )
            self.writes.revoke(change)

    def _unsettled(self, entry: PendingCreate) -> None:
        """Say that a create may still land as a second key (its journal entry stays)."""
        self.ledger.result.unsettled_creates.append(entry.address)
        self.ledger.warn(
            entry.address,
            f"the first create of {entry.address} got no answer, and no key named "
            f"{entry.name!r} has come of it since it was sent again; should it still "
            "land, it is a second key that nobody holds the secret of. The next apply "
            "looks for it and revokes it.",
        )


def _revoke_of_second_key(
    entry: PendingCreate, key_id: str, name: str, address: str
) -> ResourceChange:
    """The revoke of a key `entry`'s create made a second time, kept at `address`."""
    return ResourceChange(
        address=address,
        account=entry.account,
        name=name,
        action=Action.REVOKE,
        reason=Reason.REMOVED_FROM_CONFIG,
        key_id=key_id,
        forget=True,
    )


def secret_nobody_holds(made_by: PendingCreate) -> SecretRecord:
    """The secret record of a key a dead holder's create made: lost, unless its sink is
    `none` (no secret was wanted)."""
    if made_by.sink == "none":
        return SecretRecord(sink="none", status="not-requested")
    return made_by.lost_secret()

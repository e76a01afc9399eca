"""Writes to Infobip, one at a time: sending each request, and the update and revoke steps.

`Writes.send` is the one door every write of an apply goes through: it checks the state
lock first (no write once another run may hold it), counts every request toward the
account's writes of the day, and turns an API error into the end of the apply (a 429 the
client did not wait out stops it resumably, exit 3). An update or revoke is a PUT, which
repeats harmlessly but costs a write: after an ambiguous answer the key is read back and
the PUT sent again only if it did not land. Creates, which cannot simply be sent again,
are `engine.creates`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import NoReturn, TypeVar

from infobip_iac.domain.keys import KeyWrite, LiveKey, deposed_address, describe_account
from infobip_iac.domain.normalize import format_instant
from infobip_iac.domain.plan import Action, Reason, ResourceChange
from infobip_iac.engine.apply_outcome import ApplyEvent, EventKind
from infobip_iac.engine.ledger import Ledger, StopApplyError, entry_from_key
from infobip_iac.errors import (
    AmbiguousWriteError,
    ApplyRefusedError,
    InfobipApiError,
    RateLimitedError,
    ServerError,
)
from infobip_iac.infobip.api import KeyService
from infobip_iac.logs import get_logger

__all__ = ["Writes", "verb"]

# 502 and 504 come from a gateway whose upstream may still be at work: never sent again
# blindly (see engine.creates).
_GATEWAY_STATUSES = (502, 504)

log = get_logger(__name__)

T = TypeVar("T")


class Writes:
    def __init__(self, ledger: Ledger, service: KeyService) -> None:
        self.ledger = ledger
        self.service = service

    def send(
        self,
        change: ResourceChange,
        action: Action,
        send: Callable[[], T],
        *,
        account: str = "",
        refused_again: bool = False,
    ) -> T:
        """Send one write; a 429 or another API error ends the apply with state saved.
        Not sent once the state lock was lost (StateLockLostError). With `refused_again`,
        a server error that is not a gateway's is raised to the caller, who can tell
        whether the write was made.

        Every request it took counts toward the account's writes of the day, refused,
        failed and repeated ones too (Infobip's limit counts requests), and the state
        keeps the tally (`account` is where the key lives, when not the change's)."""
        self.ledger.store.check_lock()
        said = verb(action)
        log.debug("infobip write", verb=said, address=change.address, key_id=change.key_id)
        before = self.service.write_requests()
        try:
            answer = send()
        except AmbiguousWriteError:
            self._count_requests(account or change.account, before)
            raise
        except ServerError as refused:
            self._count_requests(account or change.account, before, save=True)
            if refused_again and refused.status not in _GATEWAY_STATUSES:
                raise
            self.ledger.fail(change, f"{said} {change.address} failed: {refused}")
        except RateLimitedError as limited:
            self._count_requests(account or change.account, before, save=True)
            self._stopped_by_limit(change, action, limited)
        except InfobipApiError as error:
            self._count_requests(account or change.account, before, save=True)
            self.ledger.fail(change, f"{said} {change.address} failed: {error}")
        self._count_requests(account or change.account, before)
        return answer

    def update(self, change: ResourceChange) -> None:
        if change.write is None or change.key_id is None:
            raise ApplyRefusedError(f"{change.address}: the plan holds no update body")
        key_id = change.key_id
        # An update's `valid_to` is the planner's: only a create counts from its own moment.
        write = change.write
        self.ledger.emit(
            ApplyEvent(EventKind.WRITING, change.address, f"Modifying... [id={key_id}]")
        )
        for step in write.update_steps():
            key = self._put(change, key_id, step)
        ledger = self.ledger
        ledger.result.updated += 1
        entry = ledger.state.resources.get(change.address)
        if entry is not None and entry.id == key_id:
            entry.attributes = key.attributes()
            entry.name = key.name
            entry.account_id = key.account_id
        else:
            ledger.state.resources[change.address] = entry_from_key(change, key, None)
        ledger.save([change.address])
        ledger.emit(
            ApplyEvent(EventKind.WRITTEN, change.address, f"Modifications complete [id={key_id}]")
        )

    def revoke(self, change: ResourceChange) -> None:
        key_id = change.key_id
        if key_id is None:
            return
        self.ledger.emit(
            ApplyEvent(EventKind.WRITING, change.address, f"Revoking... [id={key_id}]")
        )
        key = self._put(
            change,
            key_id,
            KeyWrite(enabled=False),
            action=Action.REVOKE,
            account=self._account_of(change, key_id),
        )
        self.ledger.result.revoked += 1
        self.ledger.save(self._record_revoke(change, key_id, key))
        self.ledger.emit(
            ApplyEvent(
                EventKind.WRITTEN,
                change.address,
                f"Revocation complete [id={key_id}] (disabled; Infobip keeps revoked keys)",
            )
        )

    def _put(
        self,
        change: ResourceChange,
        key_id: str,
        write: KeyWrite,
        *,
        action: Action = Action.UPDATE,
        account: str | None = None,
    ) -> LiveKey:
        """PUT once. A PUT repeats harmlessly, but each try costs one of the day's writes,
        so after an ambiguous answer the key is read first and the PUT sent again only if
        it did not land. `account` is where the key lives, when that is not the change's
        (the old key of a replace across accounts)."""
        where = account or change.account
        for attempt in (1, 2):
            try:
                return self.send(
                    change,
                    action,
                    lambda: self.service.update_key(key_id, account=where, write=write),
                    account=where,
                )
            except AmbiguousWriteError:
                live = self._read_back(change, key_id, account=where)
                if live is not None and write_landed(write, live):
                    return live
                if attempt == 2:
                    self.ledger.fail(change, f"{verb(action)} {change.address} got no answer twice")
        raise AssertionError("unreachable: the last attempt returns or fails")

    def _account_of(self, change: ResourceChange, key_id: str) -> str:
        """The account a key to revoke lives in. For a replace after an account change the
        change names the NEW account; the old key is still where state recorded it."""
        if change.action is Action.REPLACE:
            deposed = self.ledger.state.resources.get(deposed_address(change.address, key_id))
            if deposed is not None:
                return deposed.account
        return change.account

    def _record_revoke(self, change: ResourceChange, key_id: str, key: LiveKey) -> list[str]:
        """Record a revoke in the state; returns the addresses it changed."""
        resources = self.ledger.state.resources
        if change.action is Action.REPLACE:
            resources.pop(deposed_address(change.address, key_id), None)
            return [deposed_address(change.address, key_id)]
        address = self.ledger.state.by_key_id().get(key_id)
        if address is None:
            return []  # an unmanaged key: nothing in state to keep
        if change.forget or change.reason is Reason.REMOVED_FROM_CONFIG:
            del resources[address]
        else:
            resources[address].attributes = key.attributes()
        return [address]

    def _read_back(self, change: ResourceChange, key_id: str, *, account: str) -> LiveKey | None:
        try:
            return self.service.get_key(key_id, account=account)
        except InfobipApiError as error:
            self.ledger.fail(
                change,
                f"{change.address}: the write got no answer and reading the "
                f"key back failed ({error}); run plan and apply again",
            )

    def _count_requests(self, account: str, before: int, *, save: bool = False) -> None:
        """Tally the write requests sent since `before` (the service's count then) on
        today's date of Infobip's clock; `save` for a write whose step saves nothing."""
        sent = self.service.write_requests() - before
        if sent <= 0:
            return
        self.ledger.result.writes += sent
        self.ledger.state.count_writes(account, self.service.server_time().date(), sent)
        if save:
            self.ledger.save()

    def _stopped_by_limit(
        self, change: ResourceChange, action: Action, limited: RateLimitedError
    ) -> NoReturn:
        result = self.ledger.result
        result.stopped_by_limit = True
        result.retry_after = limited.retry_after
        if limited.retry_after is not None:
            now = self.service.server_time()
            result.resume_after = now + timedelta(seconds=limited.retry_after)
        when = (
            f"after {format_instant(result.resume_after)}"
            if result.resume_after is not None
            else "tomorrow"
        )
        self.ledger.emit(
            ApplyEvent(
                EventKind.STOPPED,
                change.address,
                f"Infobip's daily write limit of {describe_account(change.account)} was reached at "
                f"{verb(action)} {change.address}; what was done is saved in state. Run apply "
                f"again {when}",
            )
        )
        raise StopApplyError


def verb(action: Action) -> str:
    """A write as messages name it: Infobip cannot delete, so REVOKE is `revoke`."""
    return "revoke" if action is Action.REVOKE else action.value


def write_landed(write: KeyWrite, live: LiveKey) -> bool:
    """True when every field of `write` already holds on `live`."""
    return all(getattr(live, name) == value for name, value in write.sent().items())

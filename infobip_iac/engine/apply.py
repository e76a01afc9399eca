"""Apply a Plan: the only place that writes to Infobip, and it keeps the state as it goes.

The rules this module keeps (SPEC §2, §4, §5):
- Guard rails refuse the whole apply before the first write: too many writes for the day,
  too many revokes, a `prevent_revoke` key about to be revoked, a `stdout` sink without
  `--show-secrets`, a saved plan that has gone stale.
- Creates (also the new half of a replace) go first, then updates, then revokes, so that a
  replacement exists before the key it replaces is disabled.
- One write per changed key, and the state records it right after (a small write of the
  entries it changed; the full version is written once, at the end), so an interruption
  never loses what was done. A create is never sent twice blindly: after an ambiguous answer the
  key is looked up by name first.
- A create sent again after no answer may still land later (Infobip has no idempotency
  key): its journal entry stays, the apply looks for it by name once more before it ends
  and revokes the second key it finds; when none has shown up yet, the apply ends with
  exit 1 saying so, and the next apply looks again (`engine.recovery`).
- A create's secret reaches its sink before the next write. A sink that fails is reported,
  recorded as `lost`, and the apply goes on; it then ends with exit 1. A second stop signal
  that cuts a delivery short is reported the same way on the way out.
- A 429 on a write that the client did not wait out (a long Retry-After: the daily write
  limit) ends the apply cleanly (exit 3): the state holds what was done and the next apply
  plans only what is left. A create refused with 500 or 503 is sent again once a lookup by
  name shows no key came of it.
- A stop signal abandons a write waiting on Infobip at once (the client starts nothing
  after it); the create journal keeps an abandoned create for the next apply.
- No Infobip write is sent once the state lock's files were removed or replaced (another run
  may hold the lock now): the apply stops there (the store's `check_lock`; the state
  store and the journal check it before each of their writes too).
- A create whose key the state then cannot record (a full disk, a read-only state, a lost
  lock) stops the apply naming the key, saying its secret was not delivered, and what the
  next apply does: its journal entry stays, so the next apply revokes that key.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NoReturn, TextIO, TypeVar

from infobip_iac.domain.keys import (
    KeyWrite,
    LiveKey,
    SecretSinkSpec,
    deposed_address,
    describe_account,
)
from infobip_iac.domain.normalize import format_duration, format_instant, parse_instant
from infobip_iac.domain.plan import Action, Plan, Reason, ResourceChange
from infobip_iac.domain.secret import Secret
from infobip_iac.engine.guard_rails import (
    DEFAULT_MAX_WRITES,
    check_creates_still_valid,
    check_guard_rails,
    check_plan_is_fresh,
)
from infobip_iac.engine.rotation_apply import predecessor_revoke_after
from infobip_iac.errors import (
    AmbiguousWriteError,
    ApplyRefusedError,
    InfobipApiError,
    RateLimitedError,
    SecretSinkError,
    ServerError,
    StateError,
    StateLockLostError,
)
from infobip_iac.infobip.api import KeyService
from infobip_iac.interrupts import critical
from infobip_iac.logs import get_logger
from infobip_iac.secrets.meta import KeyMeta
from infobip_iac.secrets.sinks import deliver, files_to_claim, lost_record
from infobip_iac.state.backend import Store
from infobip_iac.state.journal import PendingCreate
from infobip_iac.state.model import ResourceState, SecretRecord, StateDocument

__all__ = [
    "DEFAULT_MAX_WRITES",
    "ApplyEvent",
    "ApplyOptions",
    "ApplyResult",
    "EventKind",
    "apply_plan",
]

# A create is sent at most this often for one key: the first time, and once more only
# when a lookup by name proved the first one did not land.
_CREATE_ATTEMPTS = 2
# A create Infobip refused with a server error (500, 503: it answered, so nothing of it is
# still at work) is sent again after a lookup by name shows no key came of it, up to this
# many times in all. 502 and 504 come from a gateway whose upstream may still be at work:
# those stop the apply, and the journal has the next apply look for the key.
_CREATE_REFUSALS = 4
_GATEWAY_STATUSES = (502, 504)

log = get_logger(__name__)

T = TypeVar("T")


class EventKind(StrEnum):
    WRITING = "writing"  # a write is about to be sent
    WRITTEN = "written"  # Infobip confirmed a write
    STATE = "state"  # state changed without a write (move, import, forget)
    SECRET = "secret"  # noqa: S105 - an event name; a secret reached its sink
    WARNING = "warning"  # something the user must act on (a lost secret, an adoption)
    STOPPED = "stopped"  # the apply ended early (daily write limit, an API error)


@dataclass(frozen=True)
class ApplyEvent:
    """One line of progress. `message` never holds a secret."""

    kind: EventKind
    address: str
    message: str


@dataclass(frozen=True)
class ApplyOptions:
    max_writes: int = DEFAULT_MAX_WRITES
    allow_revokes: bool = False
    show_secrets: bool = False
    # A plan read from a file is checked against the state and live keys before use.
    saved_plan: bool = False
    sink_timeout: float = 30.0
    # Where a `stdout` sink prints (only with show_secrets).
    stdout: TextIO | None = None


@dataclass
class ApplyResult:
    created: int = 0
    updated: int = 0
    revoked: int = 0
    # Keys put under an address without a write: `imports` blocks, `import`-style
    # adoptions by name, and `moved` blocks. Counted so that an apply that only did these
    # does not read as having done nothing.
    imported: int = 0
    moved: int = 0
    state_changes: int = 0
    writes: int = 0
    secrets_lost: list[str] = field(default_factory=list)
    # Addresses whose create got no answer, was sent again, and may still make a second
    # key: the journal keeps them for the next apply to look for.
    unsettled_creates: list[str] = field(default_factory=list)
    # Every step ran, and all that is left is to learn what became of unsettled_creates.
    only_settling_left: bool = False
    stopped_by_limit: bool = False
    retry_after: float | None = None
    resume_after: datetime | None = None
    # What was left undone when the apply stopped early: "create api_keys.x", …
    remaining: list[str] = field(default_factory=list)
    error: str | None = None
    # The state as last saved (None when the apply saved nothing).
    state: StateDocument | None = None

    @property
    def exit_code(self) -> int:
        """0 done; 3 stopped by the daily write limit (resumable); 1 anything else."""
        if self.stopped_by_limit:
            return 3
        if self.error or self.secrets_lost or self.unsettled_creates:
            return 1
        return 0


def _creates(plan: Plan) -> list[ResourceChange]:
    return [c for c in plan.changes if c.action in (Action.CREATE, Action.REPLACE)]


def apply_plan(
    plan: Plan,
    *,
    service: KeyService,
    store: Store,
    state: StateDocument,
    options: ApplyOptions,
    events: Callable[[ApplyEvent], None],
) -> ApplyResult:
    """Carry out `plan`, saving the state through `store` after every step; the result
    holds the state as last saved.

    Raises ApplyRefusedError or StalePlanError before any write; API errors during the
    writes end the apply with the state saved and are reported in the result.
    """
    check_guard_rails(
        plan,
        state,
        max_writes=options.max_writes,
        max_revokes=plan.max_revokes,
        allow_revokes=options.allow_revokes,
        show_secrets=options.show_secrets,
    )
    if options.saved_plan:
        check_plan_is_fresh(plan, state, service)
    check_creates_still_valid(plan, service.server_time())
    run = _Run(plan, service=service, store=store, state=state, options=options, emit=events)
    run.execute()
    return run.result


@dataclass(frozen=True)
class _Step:
    """One write of the apply, in the order it is sent."""

    action: Action  # CREATE, UPDATE or REVOKE (a replace is a create, later a revoke)
    change: ResourceChange

    @property
    def verb(self) -> str:
        """The step as messages name it: Infobip cannot delete, so REVOKE is `revoke`."""
        return "revoke" if self.action is Action.REVOKE else self.action.value

    def describe(self) -> str:
        return f"{self.verb} {self.change.address}"


class _StopApplyError(Exception):
    """Ends the apply early; the result already says why."""


class _Run:
    def __init__(
        self,
        plan: Plan,
        *,
        service: KeyService,
        store: Store,
        state: StateDocument,
        options: ApplyOptions,
        emit: Callable[[ApplyEvent], None],
    ) -> None:
        self.plan = plan
        self.service = service
        self.store = store
        # A copy: the caller's document stays as it was read; the result holds the new one.
        self.state = state.model_copy(deep=True)
        self.options = options
        self.emit = emit
        self.result = ApplyResult()
        # Creates sent but not yet in state: what a run after a crash looks for.
        self.journal = store.journal
        # This run's creates that got no answer and were sent again (see _settle_unanswered).
        self.unanswered: list[PendingCreate] = []
        # Set while a new key's secret exists only in this process (see _create).
        self.awaiting_delivery = False
        # Changes recorded since the last full version (see _save and _write_version).
        self.unwritten = False

    # -- the order of work ---------------------------------------------------------------

    def execute(self) -> None:
        try:
            if self.plan.refresh_only:
                self._refresh_state()
                self._forget_without_write()
            else:
                # A dead holder's creates that recovery has not seen land yet: looked for
                # again when this apply ends, like this run's own unanswered creates.
                self.unanswered = [e for e in self.journal.pending() if e.unanswered]
                self._record_state_only_effects()
                self._write_steps()
                self._settle_unanswered()
        except BaseException:
            # A stop signal, or a state that can no longer be written: the recorded changes
            # are durable already, and folding them into a version is only tidier.
            with contextlib.suppress(StateError):
                self._write_version()
            raise
        try:
            self._write_version()
        except StateError as failure:
            # Every step is recorded already (the next run reads it); an apply that
            # stopped for another reason (a lost lock) says that reason instead.
            if self.result.error is None:
                self.result.error = (
                    "every step was recorded, but the state could not be written in full: "
                    f"{_clause(str(failure))}; the next run reads what was recorded"
                )

    def _write_steps(self) -> None:
        steps = self._steps()
        # Infobip counts writes per account: the daily limit reached in one account stops
        # that account's writes only, and the others carry on.
        limited: set[str] = set()
        for index, step in enumerate(steps):
            if step.change.account in limited:
                self.result.remaining.append(step.describe())
                continue
            try:
                # A stop signal waits for the write, its state save and its secret.
                with critical():
                    self._perform(step)
            except _StopApplyError:
                if self.result.error is not None:
                    self.result.remaining += [s.describe() for s in steps[index:]]
                    return
                limited.add(step.change.account)
                self.result.remaining.append(step.describe())
        if not limited:
            self._forget_without_write()

    def _settle_unanswered(self) -> None:
        """Look once more by name for this run's creates that got no answer and were sent
        again. One that has landed by now made a second key, which nobody holds the secret
        of: it is recorded at a deposed address (so a stop from here on leaves it for the
        next plan to revoke), its journal entry settled, and then revoked. One that has not
        shown up stays in the journal, and the apply does not end as a success."""
        stopped = self.result.error is not None
        for entry in self.unanswered:
            if self.result.error is not None:
                # Infobip is failing this run; the next apply's recovery looks instead.
                self._unsettled(entry)
                continue
            try:
                with critical():
                    self._settle(entry)
            except _StopApplyError:
                continue
        unsettled = self.result.unsettled_creates
        if unsettled and not stopped and self.result.error is None:
            self.result.error = (
                f"the outcome of the first create of {', '.join(unsettled)} is still unknown "
                "(see above); run apply again in a few minutes: it looks for a second key "
                "that create may yet make, and revokes it"
            )
            self.result.remaining += [f"look for the unanswered create of {a}" for a in unsettled]
            self.result.only_settling_left = True

    def _settle(self, entry: PendingCreate) -> None:
        known = set(self.state.by_key_id()) | set(self.plan.fingerprints)
        try:
            late = [
                key
                for key in self.service.find_by_name(entry.account, entry.name)
                if key.id not in known and entry.may_have_made(key)
            ]
        except InfobipApiError:
            self._unsettled(entry)
            return
        if not late:
            self._unsettled(entry)
            return
        revokes = []
        for key in late:
            address = deposed_address(entry.address, key.id)
            self.state.resources[address] = entry.orphan_entry(key)
            revokes.append(
                ResourceChange(
                    address=address,
                    account=entry.account,
                    name=key.name,
                    action=Action.REVOKE,
                    reason=Reason.REMOVED_FROM_CONFIG,
                    key_id=key.id,
                    forget=True,
                )
            )
        self._save(deposed_address(entry.address, key.id) for key in late)
        self.journal.settle(entry)
        for change in revokes:
            self.emit(
                ApplyEvent(
                    EventKind.WARNING,
                    entry.address,
                    f"the first create of {entry.address}, whose answer was lost, landed "
                    f"after it was sent again: key {change.key_id} is a second key named "
                    f"{change.name!r} that nobody holds the secret of; revoking it.",
                )
            )
            self._revoke(change)

    def _unsettled(self, entry: PendingCreate) -> None:
        """Say that a create may still land as a second key (its journal entry stays)."""
        self.result.unsettled_creates.append(entry.address)
        self.emit(
            ApplyEvent(
                EventKind.WARNING,
                entry.address,
                f"the first create of {entry.address} got no answer, and no key named "
                f"{entry.name!r} has come of it since it was sent again; should it still "
                "land, it is a second key that nobody holds the secret of. The next apply "
                "looks for it and revokes it.",
            )
        )

    def _steps(self) -> list[_Step]:
        creates = [_Step(Action.CREATE, c) for c in _creates(self.plan)]
        updates = [_Step(Action.UPDATE, c) for c in self.plan.changes if c.action is Action.UPDATE]
        # The plan's own count of revokes (what the guard rails checked), less any revoke
        # of a key that has no id to send.
        revokes = [_Step(Action.REVOKE, c) for c in self.plan.revokes() if c.key_id is not None]
        return creates + updates + revokes

    def _perform(self, step: _Step) -> None:
        try:
            self._perform_unguarded(step)
        except StateLockLostError as lost:
            self._fail(step.change, f"{step.describe()} was not sent: {lost}")

    def _perform_unguarded(self, step: _Step) -> None:
        if step.action is Action.CREATE:
            self._create(step.change)
        elif step.action is Action.UPDATE:
            self._update(step.change)
        else:
            self._revoke(step.change)

    # -- state-only effects --------------------------------------------------------------

    def _record_state_only_effects(self) -> None:
        """Moves, imports and adoptions first: they cost no write, and the writes after
        them then find every key under the address the plan uses."""
        changed: list[str] = []
        made_by_dead_holder: list[tuple[ResourceChange, PendingCreate]] = []
        for change in self.plan.changes:
            if change.previous_address and change.previous_address in self.state.resources:
                entry = self.state.resources.pop(change.previous_address)
                self.state.resources[change.address] = entry
                self._note_state(change.address, f"moved from {change.previous_address}")
                self.result.moved += 1
                changed += [change.previous_address, change.address]
            if change.importing_id and change.before is not None:
                how = "adopted by name" if change.adopted_by_name else "imported"
                entry = self._entry_from_attributes(change, change.importing_id, change.before)
                made_by = self._inherited_create_of(change) if change.adopted_by_name else None
                if made_by is not None:
                    entry.secret = _secret_nobody_holds(made_by)
                    made_by_dead_holder.append((change, made_by))
                self.state.resources[change.address] = entry
                self._note_state(change.address, f"{how} [id={change.importing_id}]")
                self.result.imported += 1
                changed.append(change.address)
            # Only a declared key has its lifecycle in the plan; a removed key keeps what
            # state remembers until it is revoked and forgotten.
            record = self.state.resources.get(change.address)
            declared = change.reason is not Reason.REMOVED_FROM_CONFIG
            if record and declared and record.prevent_revoke != change.prevent_revoke:
                record.prevent_revoke = change.prevent_revoke
                changed.append(change.address)
            if self._take_live_attributes(change):
                changed.append(change.address)
        if changed:
            self._save(changed)
        for change, made_by in made_by_dead_holder:
            self.journal.settle(made_by)
            self.unanswered.remove(made_by)
            if made_by.sink == "none":
                continue
            self.result.secrets_lost.append(change.address)
            self.emit(
                ApplyEvent(
                    EventKind.WARNING,
                    change.address,
                    f"SECRET NOT DELIVERED [id={change.importing_id}]: the key was made by "
                    "the create of an apply that died before recording it, and landed after "
                    "that create was looked for. The key is adopted but nobody holds its "
                    "secret; the next plan offers to replace it.",
                )
            )

    def _inherited_create_of(self, change: ResourceChange) -> PendingCreate | None:
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

    def _take_live_attributes(self, change: ResourceChange) -> bool:
        """A key this plan leaves as it is, but whose live attributes differ from what
        state says: record live, as Terraform keeps the refreshed state of an apply. Else
        a write that landed without its state save (an apply killed after the PUT) would
        leave state saying the old values for good, since live already matches the
        configuration and no later write saves the key again."""
        if change.action is not Action.NOOP or change.forget or change.before is None:
            return False
        record = self.state.resources.get(change.address)
        if record is None or record.id != change.key_id or record.attributes == change.before:
            return False
        record.attributes = dict(change.before)
        record.name = str(change.before.get("name", record.name))
        self._note_state(change.address, "attributes refreshed from live")
        return True

    def _forget_without_write(self) -> None:
        """Removed keys that need no write (already disabled): drop them from state."""
        changed: list[str] = []
        for change in self.plan.changes:
            forgotten = change.forget and change.action is Action.NOOP
            if forgotten and self.state.resources.pop(change.address, None) is not None:
                self._note_state(change.address, "removed from state (already revoked)")
                changed.append(change.address)
        if changed:
            self._save(changed)

    def _refresh_state(self) -> None:
        """A refresh-only plan: take every managed key's attributes from live as planned."""
        by_id = self.state.by_key_id()
        changed: list[str] = []
        for change in self.plan.changes:
            address = by_id.get(change.key_id or "")
            if address is None or change.before is None:
                continue
            entry = self.state.resources[address]
            if entry.attributes != change.before:
                entry.attributes = dict(change.before)
                entry.name = str(change.before.get("name", entry.name))
                self._note_state(address, "attributes refreshed from live")
                changed.append(address)
        if changed:
            self._save(changed)

    # -- writes --------------------------------------------------------------------------

    def _create(self, change: ResourceChange) -> None:
        if change.write is None:
            raise ApplyRefusedError(f"{change.address}: the plan holds no create body")
        # The one `valid_for` the planner cannot resolve: counted from the key's creation,
        # on Infobip's clock, as it is sent.
        write = change.write.with_valid_to_resolved(self.service.server_time)
        self.emit(ApplyEvent(EventKind.WRITING, change.address, "Creating..."))
        pending = PendingCreate(
            address=change.address,
            account=change.account,
            name=write.name or change.name,
            sink=(change.secret_sink or SecretSinkSpec()).sink,
            sent_at=self.service.server_time(),
            valid_from_given=write.valid_from is not None,
            lineage=self.state.lineage,
        )
        self.journal.begin(pending)
        key, secret = self._send_create(change, write, pending)
        self.awaiting_delivery = (change.secret_sink or SecretSinkSpec()).sink != "none"
        try:
            self._record_create(change, key, secret)
        except KeyboardInterrupt:
            # A second stop signal does not wait for the delivery: the secret leaves with
            # this process, and that must be as loud as a sink that failed.
            if self.awaiting_delivery:
                self._lost_on_stop(change, key)
            raise

    def _record_create(self, change: ResourceChange, key: LiveKey, secret: Secret | None) -> None:
        self.result.created += 1
        old = self.state.resources.get(change.address)
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
            self.state.resources[deposed_address(change.address, old.id)] = deposed
            changed.append(deposed_address(change.address, old.id))
        self.state.resources[change.address] = self._entry_from_key(
            change, key, self._provisional_record(change, key, owned_files)
        )
        try:
            self._save(changed)
        except StateError as failure:
            self._unrecorded_create(change, key, failure)
        try:
            self.journal.end(change.address)
        except StateError as failure:
            # The state records the key, which is all recovery needs to leave it alone; the
            # secret is delivered all the same (a lost lock stops the next write).
            self.emit(ApplyEvent(EventKind.WARNING, change.address, _clause(str(failure))))
        self.emit(ApplyEvent(EventKind.WRITTEN, change.address, f"Creation complete [id={key.id}]"))
        self._deliver(change, key, secret, owned_files)

    def _send_create(
        self, change: ResourceChange, write: KeyWrite, pending: PendingCreate
    ) -> tuple[LiveKey, Secret | None]:
        """POST the key; after an ambiguous answer, look it up by name before anything
        else, so a key is never created twice blindly. A found key comes without its
        secret. A create sent again keeps the journal entry of the first one: that one may
        still land (see _settle_unanswered)."""
        known = set(self.state.by_key_id()) | set(self.plan.fingerprints)
        attempt = refusals = 0
        while attempt < _CREATE_ATTEMPTS:
            try:
                created = self._write(
                    change,
                    "create",
                    lambda: self.service.create_key(change.account, write),
                    refused_again=True,
                )
            except ServerError as refused:
                refusals += 1
                found = self._lookup_after_ambiguity(change, write, known)
                if found is not None:
                    self.emit(
                        ApplyEvent(
                            EventKind.WARNING,
                            change.address,
                            f"the create was answered {refused.message}, yet the key was "
                            f"found by name and adopted [id={found.id}].",
                        )
                    )
                    return found, None
                if refusals >= _CREATE_REFUSALS:
                    self._fail(change, f"create {change.address} failed: {refused}")
                log.info(
                    "create refused; no key came of it; sending it again", status=refused.status
                )
                pending = replace(pending, sent_at=self.service.server_time())
                self.journal.begin(pending)
                continue
            except AmbiguousWriteError as unknown:
                attempt += 1
                found = self._lookup_after_ambiguity(change, write, known)
                if found is not None:
                    self.emit(
                        ApplyEvent(
                            EventKind.WARNING,
                            change.address,
                            f"the create's answer was lost ({unknown.message}); the key "
                            f"was found by name and adopted [id={found.id}].",
                        )
                    )
                    return found, None
                if attempt == _CREATE_ATTEMPTS:
                    self._fail(
                        change,
                        f"creating {change.address} failed twice without an answer, and "
                        f'no key named "{write.name}" exists; run apply again',
                    )
                self.emit(
                    ApplyEvent(
                        EventKind.WARNING,
                        change.address,
                        "the create's answer was lost and no such key exists yet; sending it "
                        "once more (the first may still land: it is looked for again).",
                    )
                )
                self.unanswered.append(self.journal.mark_unanswered(pending))
                pending = replace(pending, sent_at=self.service.server_time())
                self.journal.begin(pending)
                continue
            return created.key, created.secret
        raise AssertionError("unreachable: the last attempt returns or fails")

    def _unrecorded_create(
        self, change: ResourceChange, key: LiveKey, failure: StateError
    ) -> NoReturn:
        """Stop after a create the state could not record. Its secret is not delivered: the
        key is known only to the create journal, whose entry stays, and the next apply's
        recovery revokes every key such an entry left (a delivered secret would then be of
        a revoked key, and its file in the way of the key created in its place)."""
        self.awaiting_delivery = False
        self.result.secrets_lost.append(change.address)
        self._fail(
            change,
            f"{change.address} was created at Infobip [id={key.id}], but the state could not "
            f"record it: {_clause(str(failure))}. Its secret was NOT delivered, and nothing "
            "more was written. The create journal (kept with the state) still lists "
            "this create: the next "
            f"apply finds key {key.id} by its name {key.name!r}, revokes it, and creates "
            f"{change.address} again (fix the cause first)",
        )

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
            self._fail(
                change,
                f"creating {change.address} got no answer, and looking the key up by "
                f"name failed too ({error}); run plan and apply again (it adopts the key "
                "by name if it was created)",
            )
        if len(candidates) > 1:
            ids = ", ".join(sorted(key.id for key in candidates))
            self._fail(
                change,
                f'creating {change.address} got no answer and several keys named "{name}" '
                f"now exist ({ids}); import the right one with `infobip-iac import`",
            )
        return candidates[0] if candidates else None

    def _update(self, change: ResourceChange) -> None:
        if change.write is None or change.key_id is None:
            raise ApplyRefusedError(f"{change.address}: the plan holds no update body")
        key_id = change.key_id
        # An update's `valid_to` is the planner's: only a create counts from its own moment.
        write = change.write
        self.emit(ApplyEvent(EventKind.WRITING, change.address, f"Modifying... [id={key_id}]"))
        for step in write.update_steps():
            key = self._send_update(change, key_id, step)
        self.result.updated += 1
        entry = self.state.resources.get(change.address)
        if entry is not None and entry.id == key_id:
            entry.attributes = key.attributes()
            entry.name = key.name
            entry.account_id = key.account_id
        else:
            self.state.resources[change.address] = self._entry_from_key(change, key, None)
        self._save([change.address])
        self.emit(
            ApplyEvent(EventKind.WRITTEN, change.address, f"Modifications complete [id={key_id}]")
        )

    def _send_update(
        self,
        change: ResourceChange,
        key_id: str,
        write: KeyWrite,
        *,
        verb: str = "update",
        account: str | None = None,
    ) -> LiveKey:
        """PUT once. A PUT repeats harmlessly, but each try costs one of the day's writes,
        so after an ambiguous answer the key is read first and the PUT sent again only if
        it did not land. `account` is where the key lives, when that is not the change's
        (the old key of a replace across accounts)."""
        where = account or change.account
        for attempt in (1, 2):
            try:
                return self._write(
                    change,
                    verb,
                    lambda: self.service.update_key(key_id, account=where, write=write),
                    account=where,
                )
            except AmbiguousWriteError:
                live = self._read_back(change, key_id, account=where)
                if live is not None and _write_landed(write, live):
                    return live
                if attempt == 2:
                    self._fail(change, f"{verb} {change.address} got no answer twice")
        raise AssertionError("unreachable: the last attempt returns or fails")

    def _revoke(self, change: ResourceChange) -> None:
        key_id = change.key_id
        if key_id is None:
            return
        self.emit(ApplyEvent(EventKind.WRITING, change.address, f"Revoking... [id={key_id}]"))
        key = self._send_update(
            change,
            key_id,
            KeyWrite(enabled=False),
            verb="revoke",
            account=self._account_of(change, key_id),
        )
        self.result.revoked += 1
        self._save(self._record_revoke(change, key_id, key))
        self.emit(
            ApplyEvent(
                EventKind.WRITTEN,
                change.address,
                f"Revocation complete [id={key_id}] (disabled; Infobip keeps revoked keys)",
            )
        )

    def _account_of(self, change: ResourceChange, key_id: str) -> str:
        """The account a key to revoke lives in. For a replace after an account change the
        change names the NEW account; the old key is still where state recorded it."""
        if change.action is Action.REPLACE:
            deposed = self.state.resources.get(deposed_address(change.address, key_id))
            if deposed is not None:
                return deposed.account
        return change.account

    def _record_revoke(self, change: ResourceChange, key_id: str, key: LiveKey) -> list[str]:
        """Record a revoke in the state; returns the addresses it changed."""
        if change.action is Action.REPLACE:
            self.state.resources.pop(deposed_address(change.address, key_id), None)
            return [deposed_address(change.address, key_id)]
        address = self.state.by_key_id().get(key_id)
        if address is None:
            return []  # an unmanaged key: nothing in state to keep
        if change.forget or change.reason is Reason.REMOVED_FROM_CONFIG:
            del self.state.resources[address]
        else:
            entry = self.state.resources[address]
            entry.attributes = key.attributes()
        return [address]

    def _read_back(
        self, change: ResourceChange, key_id: str, *, account: str | None = None
    ) -> LiveKey | None:
        try:
            return self.service.get_key(key_id, account=account or change.account)
        except InfobipApiError as error:
            self._fail(
                change,
                f"{change.address}: the write got no answer and reading the "
                f"key back failed ({error}); run plan and apply again",
            )

    def _write(
        self,
        change: ResourceChange,
        verb: str,
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
        self.store.check_lock()
        log.debug("infobip write", verb=verb, address=change.address, key_id=change.key_id)
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
            self._fail(change, f"{verb} {change.address} failed: {refused}")
        except RateLimitedError as limited:
            self._count_requests(account or change.account, before, save=True)
            self._stopped_by_limit(change, verb, limited)
        except InfobipApiError as error:
            self._count_requests(account or change.account, before, save=True)
            self._fail(change, f"{verb} {change.address} failed: {error}")
        self._count_requests(account or change.account, before)
        return answer

    def _count_requests(self, account: str, before: int, *, save: bool = False) -> None:
        """Tally the write requests sent since `before` (the service's count then) on
        today's date of Infobip's clock; `save` for a write whose step saves nothing."""
        sent = self.service.write_requests() - before
        if sent <= 0:
            return
        self.result.writes += sent
        self.state.count_writes(account, self.service.server_time().date(), sent)
        if save:
            self._save()

    # -- secrets -------------------------------------------------------------------------

    def _provisional_record(
        self, change: ResourceChange, key: LiveKey, owned_files: list[str]
    ) -> SecretRecord:
        """What state says between the create and the delivery: if the apply dies there,
        the secret is lost, and the next plan must know it; the files the sink owns (and
        the one it is about to write) stay its own for the replacement."""
        spec = change.secret_sink or SecretSinkSpec()
        if spec.sink == "none":
            return SecretRecord(sink="none", status="not-requested")
        unsent = SecretSinkError("the apply stopped before the secret was delivered")
        meta = self._meta(change, key)
        claimed = files_to_claim(spec, meta, owned_files)
        return lost_record(spec, meta, unsent, owned_files=claimed)

    def _deliver(
        self, change: ResourceChange, key: LiveKey, secret: Secret | None, owned_files: list[str]
    ) -> None:
        """Hand the new secret to its sink and record the outcome (never the secret)."""
        spec = change.secret_sink or SecretSinkSpec()
        entry = self.state.resources[change.address]
        meta = self._meta(change, key)
        if spec.sink == "none":
            entry.secret = SecretRecord(sink="none", status="not-requested")
            self._save([change.address])
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
            self.awaiting_delivery = False
            entry.secret = lost_record(spec, meta, failure, owned_files=owned_files)
            self._save([change.address])
            self._report_lost(change, key, str(failure))
            return
        self.awaiting_delivery = False
        entry.secret = record
        # A command is named as one: "delivered to sh" reads like a place.
        kind = "command " if record.sink == "exec" else ""
        where = f" to {kind}{record.location}" if record.location else ""
        try:
            self._save([change.address])
        except StateError as failure:
            self._fail(
                change,
                f"{change.address} was created [id={key.id}] and its secret delivered{where}, "
                f"but the state could not record the delivery: {_clause(str(failure))}. "
                "Nothing more was written. The state still says the secret was not "
                "delivered, so the next apply replaces the key (a new key, whose secret "
                "goes to the same place)",
            )
        self.emit(ApplyEvent(EventKind.SECRET, change.address, f"Secret delivered{where}"))

    def _lost_on_stop(self, change: ResourceChange, key: LiveKey) -> None:
        """The apply is stopping before the secret reached its sink. The state already says
        so (the provisional record); the output must too."""
        self.awaiting_delivery = False
        self._report_lost(change, key, "the apply was stopped before the secret reached its sink")

    def _report_lost(self, change: ResourceChange, key: LiveKey, reason: str) -> None:
        self.result.secrets_lost.append(change.address)
        self.emit(
            ApplyEvent(
                EventKind.WARNING,
                change.address,
                f"SECRET NOT DELIVERED [id={key.id}]: {_clause(reason)}. The key exists but "
                "nobody holds its secret; the next plan offers to replace it.",
            )
        )

    @staticmethod
    def _meta(change: ResourceChange, key: LiveKey) -> KeyMeta:
        return KeyMeta(
            address=change.address,
            key_id=key.id,
            name=key.name,
            account=change.account,
            predecessor_id=change.rotation.predecessor_id if change.rotation else None,
        )

    # -- helpers -------------------------------------------------------------------------

    def _entry_from_key(
        self, change: ResourceChange, key: LiveKey, secret: SecretRecord | None
    ) -> ResourceState:
        valid_for = change.write.valid_for if change.write is not None else None
        return ResourceState.of_live_key(
            key,
            account=change.account,
            valid_for=_duration_text(valid_for),
            prevent_revoke=change.prevent_revoke,
            secret=secret,
        )

    def _entry_from_attributes(
        self, change: ResourceChange, key_id: str, attributes: dict[str, object]
    ) -> ResourceState:
        return ResourceState(
            id=key_id,
            account=change.account,
            name=str(attributes.get("name", change.name)),
            attributes=dict(attributes),
            prevent_revoke=change.prevent_revoke,
        )

    def _note_state(self, address: str, message: str) -> None:
        self.result.state_changes += 1
        self.emit(ApplyEvent(EventKind.STATE, address, message))

    def _save(self, addresses: Iterable[str] = ()) -> None:
        """Record the entries at `addresses` as they are now, and the document's own
        fields (the write tally): a small write whatever the size of the state, of what an
        interruption must not lose."""
        self.state = self.store.record(self.state, addresses)
        self.result.state = self.state
        self.unwritten = True

    def _write_version(self) -> None:
        """The one full write of the apply: every recorded change becomes a new version."""
        if self.unwritten:
            self.state = self.store.write(self.state)
            self.result.state = self.state
            self.unwritten = False

    def _stopped_by_limit(
        self, change: ResourceChange, verb: str, limited: RateLimitedError
    ) -> NoReturn:
        self.result.stopped_by_limit = True
        self.result.retry_after = limited.retry_after
        if limited.retry_after is not None:
            now = self.service.server_time()
            self.result.resume_after = now + timedelta(seconds=limited.retry_after)
        when = (
            f"after {format_instant(self.result.resume_after)}"
            if self.result.resume_after is not None
            else "tomorrow"
        )
        self.emit(
            ApplyEvent(
                EventKind.STOPPED,
                change.address,
                f"Infobip's daily write limit of {describe_account(change.account)} was reached at "
                f"{verb} {change.address}; what was done is saved in state. Run apply "
                f"again {when}",
            )
        )
        raise _StopApplyError

    def _fail(self, change: ResourceChange, message: str) -> NoReturn:
        self.result.error = message
        self.emit(ApplyEvent(EventKind.STOPPED, change.address, message))
        raise _StopApplyError


def _clause(text: str) -> str:
    """`text` ready to be followed by a full stop: messages from elsewhere may end in one."""
    return text.rstrip().rstrip(".")


def _write_landed(write: KeyWrite, live: LiveKey) -> bool:
    """True when every field of `write` already holds on `live`."""
    sent = write.model_dump(exclude_none=True, exclude={"valid_for"})
    current = live.model_dump()
    return all(current.get(name) == value for name, value in sent.items())


def _duration_text(value: timedelta | None) -> str | None:
    return format_duration(value) if value is not None else None


def _secret_nobody_holds(made_by: PendingCreate) -> SecretRecord:
    """The secret record of a key a dead holder's create made: lost, unless its sink is
    `none` (no secret was wanted)."""
    if made_by.sink == "none":
        return SecretRecord(sink="none", status="not-requested")
    return made_by.lost_secret()

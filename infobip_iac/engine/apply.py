"""Apply a Plan: the only place that writes to Infobip, and it keeps the state as it goes.

This module is the entry point (`apply_plan`) and the order of the work; each part lives
in a module of its own: `engine.state_only` (what needs no write), `engine.writes` (every
request, updates and revokes), `engine.creates` (a create step), `engine.delivery` (a new
key's secret to its sink), `engine.settling` (creates whose outcome is unknown),
`engine.ledger` (the state saved after each step, the result, the events) and
`engine.apply_outcome` (the options, events and result callers see).

The rules an apply keeps, whichever part carries them out (SPEC §2, §4, §5):
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
from collections.abc import Callable
from dataclasses import dataclass

from infobip_iac.domain.plan import Action, Plan, ResourceChange
from infobip_iac.engine.apply_outcome import ApplyEvent, ApplyOptions, ApplyResult, EventKind
from infobip_iac.engine.creates import Creates
from infobip_iac.engine.delivery import Delivery
from infobip_iac.engine.guard_rails import (
    DEFAULT_MAX_WRITES,
    check_creates_still_valid,
    check_guard_rails,
    check_plan_is_fresh,
)
from infobip_iac.engine.ledger import Ledger, StopApplyError, clause
from infobip_iac.engine.settling import Settling
from infobip_iac.engine.state_only import (
    forget_without_write,
    record_state_only_effects,
    refresh_state,
)
from infobip_iac.engine.writes import Writes, verb
from infobip_iac.errors import StateError, StateLockLostError
from infobip_iac.infobip.api import KeyService
from infobip_iac.interrupts import critical
from infobip_iac.state.backend import Store
from infobip_iac.state.model import StateDocument

__all__ = [
    "DEFAULT_MAX_WRITES",
    "ApplyEvent",
    "ApplyOptions",
    "ApplyResult",
    "EventKind",
    "apply_plan",
    "check_apply_guard_rails",
]


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
    check_apply_guard_rails(plan, state, options)
    if options.saved_plan:
        check_plan_is_fresh(plan, state, service)
    check_creates_still_valid(plan, service.server_time())
    run = _Run(plan, service=service, store=store, state=state, options=options, emit=events)
    run.execute()
    return run.ledger.result


def check_apply_guard_rails(plan: Plan, state: StateDocument, options: ApplyOptions) -> None:
    """The guard rails (engine.guard_rails) with the limits `options` set: apply_plan
    checks them before its first write, and a caller may check them before asking for
    approval."""
    check_guard_rails(
        plan,
        state,
        max_writes=options.max_writes,
        max_revokes=plan.max_revokes,
        allow_revokes=options.allow_revokes,
        show_secrets=options.show_secrets,
    )


@dataclass(frozen=True)
class _Step:
    """One write of the apply, in the order it is sent."""

    action: Action  # CREATE, UPDATE or REVOKE (a replace is a create, later a revoke)
    change: ResourceChange

    def describe(self) -> str:
        return f"{verb(self.action)} {self.change.address}"


def _steps(plan: Plan) -> list[_Step]:
    """Creates (also the new half of a replace) first, then updates, then revokes."""
    creates = [
        _Step(Action.CREATE, c) for c in plan.changes if c.action in (Action.CREATE, Action.REPLACE)
    ]
    updates = [_Step(Action.UPDATE, c) for c in plan.changes if c.action is Action.UPDATE]
    # The plan's own count of revokes (what the guard rails checked), less any revoke
    # of a key that has no id to send.
    revokes = [_Step(Action.REVOKE, c) for c in plan.revokes() if c.key_id is not None]
    return creates + updates + revokes


class _Run:
    """The order of the work; the parts do it."""

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
        self.ledger = Ledger(store, state, emit)
        self.writes = Writes(self.ledger, service)
        self.settling = Settling(self.ledger, service, plan, self.writes)
        self.creates = Creates(
            plan=plan,
            ledger=self.ledger,
            service=service,
            writes=self.writes,
            delivery=Delivery(self.ledger, options),
            settling=self.settling,
        )

    def execute(self) -> None:
        ledger = self.ledger
        try:
            if self.plan.refresh_only:
                refresh_state(ledger, self.plan)
                forget_without_write(ledger, self.plan)
            else:
                self.settling.take_inherited()
                record_state_only_effects(ledger, self.plan, self.settling)
                self._write_steps()
                self.settling.settle_all()
        except BaseException:
            # A stop signal, or a state that can no longer be written: the recorded changes
            # are durable already, and folding them into a version is only tidier.
            with contextlib.suppress(StateError):
                ledger.write_version()
            raise
        try:
            ledger.write_version()
        except StateError as failure:
            # Every step is recorded already (the next run reads it); an apply that
            # stopped for another reason (a lost lock) says that reason instead.
            if ledger.result.error is None:
                ledger.result.error = (
                    "every step was recorded, but the state could not be written in full: "
                    f"{clause(str(failure))}; the next run reads what was recorded"
                )

    def _write_steps(self) -> None:
        steps = _steps(self.plan)
        result = self.ledger.result
        # Infobip counts writes per account: the daily limit reached in one account stops
        # that account's writes only, and the others carry on.
        limited: set[str] = set()
        for index, step in enumerate(steps):
            if step.change.account in limited:
                result.remaining.append(step.describe())
                continue
            try:
                # A stop signal waits for the write, its state save and its secret.
                with critical():
                    self._perform(step)
            except StopApplyError:
                if result.error is not None:
                    result.remaining += [s.describe() for s in steps[index:]]
                    return
                limited.add(step.change.account)
                result.remaining.append(step.describe())
        if not limited:
            forget_without_write(self.ledger, self.plan)

    def _perform(self, step: _Step) -> None:
        try:
            if step.action is Action.CREATE:
                self.creates.create(step.change)
            elif step.action is Action.UPDATE:
                self.writes.update(step.change)
            else:
                self.writes.revoke(step.change)
        except StateLockLostError as lost:
            self.ledger.fail(step.change, f"{step.describe()} was not sent: {lost}")

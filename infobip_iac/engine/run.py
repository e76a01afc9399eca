"""One run of `plan` or `apply`, from the state's lock to the last write: open the state and
lock it, read it, recover (or preview the recovery of) an interrupted apply, read the live
keys, plan, check the guard rails, ask for approval and apply.

The CLI builds a request from its options and hands over what only it can do as hooks:
reach Infobip (the emulator or the environment's account), parse the manifests (it prints
their warnings), report reads and apply's progress, show the plan, ask for `yes`. It renders
what comes back and maps it to an exit code; no terminal I/O happens here."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from infobip_iac.domain.keys import DesiredConfig
from infobip_iac.domain.plan import Action, Plan, Reason
from infobip_iac.engine.apply import (
    ApplyEvent,
    ApplyOptions,
    ApplyResult,
    apply_plan,
    check_apply_guard_rails,
)
from infobip_iac.engine.attribution import AuditLogReader, attribute_drift
from infobip_iac.engine.guard_rails import sink_refusals
from infobip_iac.engine.plan import DEFAULT_WRITE_LIMIT, make_plan
from infobip_iac.engine.recovery import preview_interrupted_creates, recover_interrupted_creates
from infobip_iac.engine.refresh import ReadAhead, read_live_keys
from infobip_iac.errors import InfobipIacError, PlanError
from infobip_iac.infobip.api import AccountKeys, KeyService
from infobip_iac.state.backend import locked, open_backend
from infobip_iac.state.model import StateDocument

__all__ = [
    "ApplyOutcome",
    "ApplyRequest",
    "PlanRequest",
    "PlanShape",
    "ReadProgress",
    "RunHooks",
    "configuration_files",
    "plan_against_live",
    "run_apply",
    "run_plan",
]


class ReadProgress(Protocol):
    """Hears how the reads of live keys go (the CLI shows a bar and a line per account)."""

    def page_read(self, account: str, pages: int, expected: int) -> None: ...

    def account_read(self, read: AccountKeys) -> None: ...


class _Silent:
    """Reads nobody watches (a caller without a terminal, e.g. a test)."""

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def page_read(self, account: str, pages: int, expected: int) -> None:
        return None

    def account_read(self, read: AccountKeys) -> None:
        return None


def _silent_reads() -> AbstractContextManager[ReadProgress]:
    return _Silent()


def _ignore(event: ApplyEvent) -> None:
    """An event nobody listens to."""


def _no_plan_shown(plan: Plan) -> None:
    """No plan shown before approval."""


def _refuse() -> bool:
    # Without an approval hook only an auto-approved run writes.
    return False


@dataclass(frozen=True)
class RunHooks:
    """What the caller does for a run: `connect` opens the client of the run's endpoint
    (called once, after the input is known to be valid where that matters); `reads` makes
    the watcher of one round of live reads; `events` hears recovery's and apply's
    progress; `show_plan` shows a fresh plan before `approve` is asked for a `yes`."""

    connect: Callable[[], AbstractContextManager[KeyService]]
    reads: Callable[[], AbstractContextManager[ReadProgress]] = _silent_reads
    events: Callable[[ApplyEvent], None] = _ignore
    show_plan: Callable[[Plan], None] = _no_plan_shown
    approve: Callable[[], bool] = _refuse


@dataclass(frozen=True)
class PlanShape:
    """The options that shape a new plan (a saved plan is applied as it is)."""

    refresh_only: bool = False
    targets: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()
    rotate: tuple[str, ...] = ()
    write_limit: int = DEFAULT_WRITE_LIMIT


@dataclass(frozen=True)
class PlanRequest:
    """A `plan`: `state` is a state file path or a postgresql:// URL; `endpoint` says where
    the run reaches Infobip and may raise (missing credentials), an error held back until
    the manifests, which `load` parses, are known to be valid: a mistake in them is
    reported first, whatever else is wrong."""

    state: str
    endpoint: Callable[[], str]
    load: Callable[[], DesiredConfig]
    shape: PlanShape = PlanShape()
    lock_timeout: float = 0.0


@dataclass(frozen=True)
class ApplyRequest:
    """An `apply` of `source`: a saved plan (applied exactly) or a loaded configuration
    (planned afresh, shown, and applied after approval unless `auto_approve`).
    `call_timeout` bounds one Infobip call: recovery after taking over a dead run's lock
    waits that long for its last create to land."""

    state: str
    endpoint: str
    source: Plan | DesiredConfig
    options: ApplyOptions
    shape: PlanShape = PlanShape()
    lock_timeout: float = 0.0
    auto_approve: bool = False
    call_timeout: float = 0.0


@dataclass(frozen=True)
class ApplyOutcome:
    """How an apply ended: `result` is None when the plan was not approved; `quiet` when
    the plan had no changes to approve and the apply only recorded what state needs (no
    news to summarise)."""

    result: ApplyResult | None
    plan: Plan | None = None
    quiet: bool = False


def run_plan(request: PlanRequest, hooks: RunHooks) -> Plan:
    """Lock the state, read it and the live keys, and plan; nothing is written."""
    service: KeyService | None = None
    ahead: ReadAhead | None = None
    held_back: InfobipIacError | None = None
    endpoint: str | None = None
    try:
        endpoint = request.endpoint()
    except InfobipIacError as error:
        held_back = error
    with (
        open_backend(request.state, endpoint=endpoint) as backend,
        locked(backend, "plan", timeout=request.lock_timeout),
        ExitStack() as stack,
    ):
        store = backend.store
        state = store.read()
        if state.resources and held_back is None:
            # The accounts in state are read while the manifests are parsed, so a large
            # configuration costs about the time of its paced reads, not that plus parsing.
            try:
                service = stack.enter_context(hooks.connect())
            except InfobipIacError as error:
                held_back = error
            else:
                ahead = stack.enter_context(ReadAhead(service, state))
        config = request.load()
        if held_back is not None:
            raise held_back
        if service is None:
            # Nothing to read ahead, so nothing is opened (with --emulator: no data file
            # created) until the manifests are known to be valid.
            service = stack.enter_context(hooks.connect())
        # An apply stopped in the middle of a create left its journal behind: plan from the
        # state its recovery will leave, so that this plan shows (and a saved plan holds)
        # what the next apply does. Nothing is written here.
        state = preview_interrupted_creates(service, store, state, events=hooks.events)
        return plan_against_live(
            config,
            state,
            service,
            shape=request.shape,
            reads=hooks.reads,
            ahead=ahead,
            endpoint=endpoint,
        )


def run_apply(request: ApplyRequest, hooks: RunHooks) -> ApplyOutcome:
    """Lock the state, recover an interrupted apply, plan (unless the plan was saved),
    check the guard rails, get approval, and apply."""
    options = request.options
    with (
        open_backend(request.state, endpoint=request.endpoint) as backend,
        locked(backend, "apply", timeout=request.lock_timeout),
        hooks.connect() as service,
    ):
        store = backend.store
        state = store.read()
        # Keys an interrupted apply created but never recorded: revoked by this plan.
        # A dead holder's last create may still land: recovery gives it time to (one call's
        # timeout at most), so that it is not made a second time.
        taken_over = backend.lock.taken_over_from() is not None
        state = recover_interrupted_creates(
            service,
            store,
            state,
            events=hooks.events,
            in_flight_for=request.call_timeout if taken_over else 0.0,
        )
        # A plan without changes has nothing to approve; apply still records what only
        # state needs (a lifecycle.prevent_revoke added to a key that is otherwise
        # unchanged). Bookkeeping of a plan without changes is not news: no events.
        quiet = False
        if isinstance(request.source, Plan):
            planned = request.source
        else:
            planned = plan_against_live(
                request.source,
                state,
                service,
                shape=request.shape,
                reads=hooks.reads,
                endpoint=request.endpoint,
            )
            hooks.show_plan(planned)
            quiet = not planned.applyable
            if not quiet:
                # apply_plan checks these too; here they refuse before a `yes`, not after.
                check_apply_guard_rails(planned, state, options)
                if not request.auto_approve and not hooks.approve():
                    return ApplyOutcome(None, planned)
        if planned.configuration and not quiet:
            # Saved with the apply's first write: whose keys these are (see
            # configuration_files).
            state.configuration = list(planned.configuration)
        result = apply_plan(
            planned,
            service=service,
            store=store,
            state=state,
            options=options,
            events=_ignore if quiet else hooks.events,
        )
    return ApplyOutcome(result, planned, quiet=quiet)


def plan_against_live(
    config: DesiredConfig,
    state: StateDocument,
    service: KeyService,
    *,
    shape: PlanShape = PlanShape(),
    reads: Callable[[], AbstractContextManager[ReadProgress]] = _silent_reads,
    ahead: ReadAhead | None = None,
    endpoint: str | None = None,
) -> Plan:
    """Read the live keys of every account in play (taking what `ahead` read already) and
    plan against them."""
    with reads() as reporter:
        live = read_live_keys(
            service,
            config,
            state,
            on_account=reporter.account_read,
            progress=reporter.page_read,
            ahead=ahead,
        )
    configuration = configuration_files(config)
    try:
        made = make_plan(
            config,
            state,
            live,
            now=service.server_time(),
            refresh_only=shape.refresh_only,
            targets=shape.targets,
            replace=shape.replace,
            rotate=shape.rotate,
            write_limit=shape.write_limit,
        )
    except PlanError as refused:
        other = _another_configuration(state, configuration)
        if other is None:
            raise
        raise PlanError(f"{refused}\n{other}") from None
    # Keys changed outside the tool: one read of the audit log says who and when.
    made = attribute_drift(made, service if isinstance(service, AuditLogReader) else None)
    removed = [c.address for c in made.changes if c.reason is Reason.REMOVED_FROM_CONFIG]
    other = _another_configuration(state, configuration) if removed else None
    named = ", ".join(removed[:3]) + (f" and {len(removed) - 3} more" if len(removed) > 3 else "")
    foreign = [f"{named}: no longer declared. {other}"] if other else []
    return replace(
        made,
        warnings=(*made.warnings, *_sink_warnings(made, state), *foreign),
        validation_warnings=config.warnings,
        endpoint=endpoint,
        configuration=configuration,
    )


def configuration_files(config: DesiredConfig) -> tuple[str, ...]:
    """The configuration's manifest files, sorted, relative to the working folder when
    inside it: the same files name the same configuration however the paths were typed."""
    here = Path.cwd().resolve()
    files = set()
    for name in config.files:
        path = Path(name).resolve()
        files.add(
            path.relative_to(here).as_posix() if path.is_relative_to(here) else path.as_posix()
        )
    return tuple(sorted(files))


def _another_configuration(state: StateDocument, configuration: Sequence[str]) -> str | None:
    """What to say when the state was last applied from other manifests than these: its
    keys that these do not declare are most likely another configuration's, and the fix is
    a state of this configuration's own, not `state rm` (which would orphan them)."""
    recorded = state.configuration
    if not recorded or set(recorded) == set(configuration):
        return None
    unread = [name for name in recorded if name not in configuration]
    if not unread:
        return None
    shown = ", ".join(unread[:5]) + (f" and {len(unread) - 5} more" if len(unread) > 5 else "")
    return (
        f"This state was last applied from manifests this run did not read ({shown}): keys "
        "they declare are not in this plan's configuration. If this is another "
        "configuration, give it a state of its own (--state FILE, or run it from its own "
        "folder) rather than removing those keys with `state rm`; if those manifests are "
        "part of this configuration, pass them too."
    )


def _sink_warnings(plan: Plan, state: StateDocument) -> list[str]:
    """A warning for each new key whose secret sink apply would refuse on this machine.

    Apply refuses such a plan before its first write (engine/guard_rails); saying so in
    the plan lets a reviewer see it before then. A warning, not an error: a plan made in CI
    may be applied on a machine whose folders differ."""
    return [
        f"{change.address}: apply on this machine would refuse to "
        f"{'create' if change.action is Action.CREATE else 'replace'} this key, since its "
        f"secret could not be delivered: {refusal}"
        for change, refusal in sink_refusals(plan, state)
    ]

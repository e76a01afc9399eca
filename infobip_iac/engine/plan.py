"""The planner: a pure function of (desired, state, live) deciding every change to make.

No IO and no clock of its own (`now` is given), so the same inputs always give the same
plan, changes sorted by address. The rules are SPEC §2 and the `domain.plan` docstring;
the tests in tests/engine/test_plan.py walk through each of them.

This module keeps the order of the work and assembles the `Plan`; the parts are
`engine/addresses.py` (address syntax, `--target` and `--replace` requests),
`engine/identity.py` (which live key each address manages), `engine/declared.py` (what
becomes of a declared key), `engine/undeclared.py` (removed keys, refresh-only, unmanaged
keys), `engine/validity.py` (the dates a key is valid, and those Infobip refuses),
`engine/write_bodies.py`, `engine/rotation.py` (rotations in the day's write budget),
`engine/drift.py`, and `engine/drafts.py` (a change as it is built), all sharing one
`PlanContext` (`engine/plan_context.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from functools import partial

from infobip_iac import __version__
from infobip_iac.domain.keys import DesiredConfig
from infobip_iac.domain.plan import AccountRead, Action, DriftItem, Plan, ResourceChange
from infobip_iac.engine.addresses import (
    check_address_syntax,
    check_replace_requests,
    refuse_unknown_targets,
    unmanaged_address,
)
from infobip_iac.engine.declared import DeclaredKeys
from infobip_iac.engine.diff import attribute_changes
from infobip_iac.engine.drafts import Draft, Planned, change_of
from infobip_iac.engine.drift import find_drift
from infobip_iac.engine.identity import Identities, Problem, resolve_identities
from infobip_iac.engine.live import LiveIndex
from infobip_iac.engine.plan_context import PlanContext
from infobip_iac.engine.rotation import check_rotation_requests, fit_rotations
from infobip_iac.engine.undeclared import plan_refresh_only, plan_removed, plan_unmanaged
from infobip_iac.errors import PlanError, UsageError
from infobip_iac.infobip.api import AccountKeys
from infobip_iac.state.model import StateDocument

# check_address_syntax and unmanaged_address are engine/addresses.py's, named here too
# because the commands know the planner by this module.
__all__ = ["DEFAULT_WRITE_LIMIT", "check_address_syntax", "make_plan", "unmanaged_address"]

DEFAULT_WRITE_LIMIT = 40  # Infobip's creates and updates per account and day


def make_plan(
    config: DesiredConfig,
    state: StateDocument,
    live: Mapping[str, AccountKeys],
    *,
    now: datetime,
    refresh_only: bool = False,
    targets: Collection[str] = (),
    replace: Collection[str] = (),
    rotate: Collection[str] = (),
    write_limit: int = DEFAULT_WRITE_LIMIT,
) -> Plan:
    """Decide what to change so that Infobip matches `config`.

    Rotations due (and those `rotate` asks for now) fit into `write_limit` writes per
    account after the writes `state` tallied today (Infobip's day of `now`) and the plan's
    other writes; see engine.rotation.

    `live` maps every account reference the configuration or the state names to its live
    keys. Raises PlanError when the plan cannot be made: an ambiguous adoption, a broken
    `moved` or `imports` block, or a revoke of a key under `lifecycle.prevent_revoke`.
    Raises UsageError for a `targets` or `replace` entry that is not an address, and for a
    `replace` this plan could not honour (so a rotation asked for is never skipped).
    """
    check_address_syntax(
        targets, replace, rotate=rotate, known=set(config.keys) | set(state.resources)
    )
    for flag, asked in (("--replace", replace), ("--rotate", rotate)):
        if refresh_only and asked:
            raise UsageError(
                f"{flag} asks for new keys, and a refresh-only plan writes no key; "
                f"drop --refresh-only or {flag}"
            )
    context = PlanContext(
        config=config,
        state=state,
        index=LiveIndex(live, state),
        now=now,
        write_limit=write_limit,
        refresh_only=refresh_only,
        targets=frozenset(targets),
        replace=frozenset(replace),
        rotate=frozenset(rotate),
    )
    context.index.require_accounts(
        set(config.accounts) | {record.account for record in state.resources.values()}
    )
    changes, drift = _plan_changes(context)
    return _assemble(context, live, changes, drift)


def _assemble(
    context: PlanContext,
    live: Mapping[str, AccountKeys],
    changes: tuple[ResourceChange, ...],
    drift: tuple[DriftItem, ...],
) -> Plan:
    """The plan: its changes and drift, and what the parts found on the way."""
    state, today, limit = context.state, context.now.date(), context.write_limit
    fingerprints = {
        change.key_id: context.fingerprint(change.key_id)
        for change in changes
        if change.key_id and (change.action is not Action.NOOP or change.touches_state)
    }
    for item in drift:
        fingerprints[item.key_id] = context.fingerprint(item.key_id)
    return Plan(
        tool_version=__version__,
        created_at=context.now,
        refresh_only=context.refresh_only,
        targets=tuple(sorted(context.targets)),
        changes=changes,
        drift=drift,
        unmanaged=tuple(context.unmanaged),
        reads=tuple(
            AccountRead(
                account=read.account,
                keys=len(read.keys),
                requests=read.requests,
                complete=read.complete,
                notes=tuple(read.notes),
            )
            for _, read in sorted(live.items())
        ),
        warnings=tuple(context.warnings + _read_warnings(live)),
        write_limit=limit,
        writes_left={
            account: max(0, limit - state.writes_on(account, today))
            for account in sorted(state.writes)
            if state.writes_on(account, today)
        },
        state_lineage=state.lineage,
        state_serial=state.serial,
        fingerprints=dict(sorted(fingerprints.items())),
        max_revokes=context.config.policy.max_revokes,
        changes_outside_targets=context.outside_targets,
        deferred_rotations=context.deferred,
        waiting_predecessors=tuple(
            sorted(context.waiting, key=lambda w: (w.revoke_after, w.address))
        ),
    )


def _plan_changes(
    context: PlanContext,
) -> tuple[tuple[ResourceChange, ...], tuple[DriftItem, ...]]:
    """Every change, in address order, and the drift found on the way."""
    identities = resolve_identities(context.config, context.state, context.index)
    check_replace_requests(context, identities)
    check_rotation_requests(context.rotate, context.config, identities)
    if context.refresh_only:
        identities, planned = plan_refresh_only(context, identities)
    else:
        context.problems.extend(p for p in identities.problems if context.in_scope(*p.addresses))
        planned = _plan_identities(context, identities)
    if context.problems:
        raise PlanError(_problem_text(context.problems))
    planned.extend(plan_unmanaged(context, identities.claimed))
    planned = fit_rotations(context, planned)
    refuse_unknown_targets(context, identities, planned)
    if context.outside_targets:
        noun = "change" if context.outside_targets == 1 else "changes"
        context.warnings.append(
            f"resource targeting is in effect: {context.outside_targets} {noun} to keys "
            "outside --target left out of this plan, so applying it does not bring "
            "every key in line with the configuration"
        )
    planned.sort(key=lambda p: p.address)

    diffs = attribute_changes(
        {
            p.subject.address: (p.old, p.new)
            for p in planned
            if isinstance(p, Draft) and (p.old or p.new)
        }
    )
    changes = tuple(
        [p.finish(diffs.get(p.subject.address, ())) if isinstance(p, Draft) else p for p in planned]
    )
    return changes, find_drift(context, identities, changes)


def _plan_identities(context: PlanContext, identities: Identities) -> list[Planned]:
    planned: list[Planned] = []
    declared = DeclaredKeys(context)
    everything = not context.targets
    keys = context.config.keys
    for address, ident in identities.declared.items():
        if everything or context.in_scope(address, ident.previous_address):
            planned.append(declared.plan(keys[address], ident))
        else:
            _count_left_out(context, partial(declared.plan, keys[address], ident))
    for address, ident in identities.removed.items():
        if everything or context.in_scope(address, ident.previous_address):
            planned.append(plan_removed(context, ident))
        else:
            _count_left_out(context, partial(plan_removed, context, ident))
    return planned


def _count_left_out(context: PlanContext, plan_one: Callable[[], Planned]) -> None:
    """Plan a key --target leaves out only to count it when it would change. What
    stops its plan (a prevent_revoke, a broken state entry) is for a plan that
    includes it to report, so here it only counts as a change."""
    problems = len(context.problems)
    try:
        planned = plan_one()
    except PlanError:
        context.outside_targets += 1
        return
    if len(context.problems) > problems:
        del context.problems[problems:]
        context.outside_targets += 1
    elif change_of(planned).has_effect:
        context.outside_targets += 1


def _read_warnings(live: Mapping[str, AccountKeys]) -> list[str]:
    return [
        f"the live keys of account {account} were read incompletely"
        + (f" ({'; '.join(read.notes)})" if read.notes else "")
        + ": keys beyond the read are not in this plan"
        for account, read in sorted(live.items())
        if not read.complete
    ]


def _problem_text(problems: list[Problem]) -> str:
    unique = list(dict.fromkeys(problem.message for problem in problems))
    if len(unique) == 1:
        return unique[0]
    return f"{len(unique)} problems stop this plan:\n" + "\n".join(f"  - {m}" for m in unique)

"""The planner: a pure function of (desired, state, live) deciding every change to make.

No IO and no clock of its own (`now` is given), so the same inputs always give the same
plan, changes sorted by address. The rules are SPEC §2 and the `domain.plan` docstring;
the tests in tests/engine/test_plan.py walk through each of them.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from infobip_iac import __version__
from infobip_iac.domain.attributes import (
    CREATE_ATTRIBUTES,
    MANAGED_ATTRIBUTES,
    STRUCTURED_ATTRIBUTES,
    link_order,
)
from infobip_iac.domain.keys import (
    CALLER_ACCOUNT,
    DesiredConfig,
    DesiredKey,
    KeyWrite,
    LiveKey,
    SecretSinkSpec,
    SourceRef,
    is_key_address,
    key_address,
)
from infobip_iac.domain.normalize import format_duration, format_instant, parse_instant
from infobip_iac.domain.plan import (
    AccountRead,
    Action,
    AttributeChange,
    DeferredRotation,
    DriftItem,
    Plan,
    Reason,
    ResourceChange,
    RotationNote,
    UnmanagedKey,
    WaitingPredecessor,
)
from infobip_iac.domain.rotation import rotation_due
from infobip_iac.engine.diff import (
    Attributes,
    attribute_changes,
    desired_attributes,
    differing_attributes,
    json_value,
    live_values,
    same_value,
    wanted_values,
)
from infobip_iac.engine.identity import (
    Identities,
    Identity,
    Problem,
    resolve_identities,
    state_identities,
)
from infobip_iac.engine.live import LiveIndex
from infobip_iac.engine.rotation import (
    BUDGET_TAKERS,
    DueRotation,
    check_rotation_requests,
    expiring_before_budget,
    schedule_rotations,
    too_late_text,
)
from infobip_iac.errors import PlanError, UsageError
from infobip_iac.infobip.api import AccountKeys
from infobip_iac.state.model import ResourceState, StateDocument

__all__ = ["DEFAULT_WRITE_LIMIT", "check_address_syntax", "make_plan", "unmanaged_address"]

DEFAULT_WRITE_LIMIT = 40  # Infobip's creates and updates per account and day

_UNMANAGED_ADDRESS = re.compile(r"unmanaged\.[^.\s]+\.[^.\s]+")
_KEY_ADDRESS_HELP = (
    "use api_keys.<id>, with the id of a key under api_keys: lowercase letters, digits, "
    "_ and - (e.g. api_keys.ci-sms)"
)


def unmanaged_address(account: str, key_id: str) -> str:
    """The address a plan gives a live key nobody declared, so `--target` can name it."""
    return f"unmanaged.{account}.{key_id}"


def check_address_syntax(
    targets: Iterable[str] = (),
    replace: Iterable[str] = (),
    *,
    rotate: Iterable[str] = (),
    known: Collection[str] | None = None,
) -> None:
    """Raise UsageError for a `--target`, `--replace` or `--rotate` that is not an address.

    `known` (declared and state addresses) narrows "did you mean" to addresses that exist.
    make_plan checks this itself; the CLI may call it first, to refuse a typo before it
    reads any live key."""
    for flag, addresses in (("--replace", replace), ("--rotate", rotate)):
        for address in addresses:
            if not is_key_address(address):
                raise UsageError(
                    f'{flag} "{address}" is not a key address; {_KEY_ADDRESS_HELP}'
                    f"{_suggestion(address, known)}"
                )
    for address in targets:
        if not (is_key_address(address) or _UNMANAGED_ADDRESS.fullmatch(address)):
            raise UsageError(
                f'--target "{address}" is not a key address; {_KEY_ADDRESS_HELP}, or '
                "unmanaged.<account>.<key id> for a live key nobody declared"
                f"{_suggestion(address, known)}"
            )


def _suggestion(text: str, known: Collection[str] | None) -> str:
    if known is not None:
        return _did_you_mean(text, known)
    # Without the addresses at hand, the likeliest slip is a key id without its prefix.
    address = key_address(text)
    return f"; did you mean {address}?" if is_key_address(address) else ""


def _did_you_mean(address: str, known: Iterable[str]) -> str:
    """`; did you mean api_keys.x?` for a likely typo of one of `known`, else nothing."""
    pool = sorted(set(known))
    if key_address(address) in pool:  # the id alone, without `api_keys.`
        return f"; did you mean {key_address(address)}?"
    close = difflib.get_close_matches(address, pool, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


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
    return _make_plan(
        config,
        state,
        live,
        now=now,
        refresh_only=refresh_only,
        targets=targets,
        replace=replace,
        rotate=rotate,
        write_limit=write_limit,
    )


def _make_plan(
    config: DesiredConfig,
    state: StateDocument,
    live: Mapping[str, AccountKeys],
    *,
    now: datetime,
    refresh_only: bool,
    targets: Collection[str],
    replace: Collection[str],
    rotate: Collection[str],
    write_limit: int,
) -> Plan:
    index = LiveIndex(live, state)
    index.require_accounts(
        set(config.accounts) | {record.account for record in state.resources.values()}
    )
    planner = _Planner(
        config,
        state,
        index,
        refresh_only=refresh_only,
        targets=frozenset(targets),
        replace=frozenset(replace),
        rotate=frozenset(rotate),
        now=now,
        write_limit=write_limit,
    )
    drafts, drift = planner.run()
    changes = tuple(drafts)
    fingerprints = {
        change.key_id: planner.fingerprint(change.key_id)
        for change in changes
        if change.key_id and (change.action is not Action.NOOP or change.touches_state)
    }
    for item in drift:
        fingerprints[item.key_id] = planner.fingerprint(item.key_id)
    return Plan(
        tool_version=__version__,
        created_at=now,
        refresh_only=refresh_only,
        targets=tuple(sorted(set(targets))),
        changes=changes,
        drift=drift,
        unmanaged=tuple(planner.unmanaged),
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
        warnings=tuple(planner.warnings + _read_warnings(live)),
        write_limit=write_limit,
        writes_left={
            account: max(0, write_limit - state.writes_on(account, now.date()))
            for account in sorted(state.writes)
            if state.writes_on(account, now.date())
        },
        state_lineage=state.lineage,
        state_serial=state.serial,
        fingerprints=dict(sorted(fingerprints.items())),
        max_revokes=config.policy.max_revokes,
        changes_outside_targets=planner.outside_targets,
        deferred_rotations=planner.deferred,
        waiting_predecessors=tuple(
            sorted(planner.waiting, key=lambda w: (w.revoke_after, w.address))
        ),
    )


def _read_warnings(live: Mapping[str, AccountKeys]) -> list[str]:
    return [
        f"the live keys of account {account} were read incompletely"
        + (f" ({'; '.join(read.notes)})" if read.notes else "")
        + ": keys beyond the read are not in this plan"
        for account, read in sorted(live.items())
        if not read.complete
    ]


@dataclass(slots=True)
class _Draft:
    """A ResourceChange before its attribute changes are known (they are diffed for the
    whole plan at once). `old`/`new` hold only the differing attributes."""

    address: str
    account: str
    name: str
    action: Action
    reason: Reason = Reason.NONE
    key_id: str | None = None
    before: Attributes | None = None
    after: Attributes | None = None
    after_unknown: tuple[str, ...] = ()
    write: KeyWrite | None = None
    writes: int = 0
    secret_sink: SecretSinkSpec | None = None
    importing_id: str | None = None
    adopted_by_name: bool = False
    previous_address: str | None = None
    ignored: tuple[str, ...] = ()
    forget: bool = False
    prevent_revoke: bool = False
    rotation: RotationNote | None = None
    # A rotation's plan should today's budget not take it: the key's ordinary change.
    fallback: _Planned | None = None
    old: Attributes = field(default_factory=dict)
    new: Attributes = field(default_factory=dict)
    extra: tuple[AttributeChange, ...] = ()

    def finish(self, changes: tuple[AttributeChange, ...]) -> ResourceChange:
        kept = {name: getattr(self, name) for name in _KEPT}
        return ResourceChange(**kept, changes=self.extra + changes)


# The fields a draft hands to its ResourceChange as they are: all but `changes`, which
# are the draft's own (`extra`) and the diff's.
_KEPT = tuple(name for name in ResourceChange.__dataclass_fields__ if name != "changes")


class _Planner:
    def __init__(
        self,
        config: DesiredConfig,
        state: StateDocument,
        index: LiveIndex,
        *,
        refresh_only: bool,
        targets: frozenset[str],
        replace: frozenset[str],
        rotate: frozenset[str] = frozenset(),
        now: datetime,
        write_limit: int,
    ) -> None:
        self.config = config
        self.state = state
        self.index = index
        self.now = now
        self.refresh_only = refresh_only
        self.targets = targets
        self.replace = replace
        self.rotate = rotate
        self.write_limit = write_limit
        self.deferred: tuple[DeferredRotation, ...] = ()
        self.waiting: list[WaitingPredecessor] = []
        self.problems: list[Problem] = []
        self.unmanaged: list[UnmanagedKey] = []
        self.warnings: list[str] = []
        # Keys --target leaves out that a plan without it would change (planned, then
        # dropped: only their count is kept, for the summary).
        self.outside_targets = 0
        self._attributes: dict[str, Attributes] = {}

    # -- lookups -------------------------------------------------------------------------

    def live_key(self, key_id: str) -> LiveKey:
        key = self.index.get(key_id)
        if key is None:  # pragma: no cover - changes only name keys the index holds
            raise PlanError(f"internal: key {key_id} is not among the live keys")
        return key

    def fingerprint(self, key_id: str) -> str:
        key = self.live_key(key_id)
        return key.fingerprint(self.attributes_of(key))

    def attributes_of(self, key: LiveKey) -> Attributes:
        cached = self._attributes.get(key.id)
        if cached is None:
            cached = self._attributes[key.id] = key.attributes()
        return cached

    def in_scope(self, *addresses: str | None) -> bool:
        """`--target`: an address is planned when it, or the address it moved from, is
        targeted."""
        return not self.targets or any(a in self.targets for a in addresses if a)

    # -- the plan --------------------------------------------------------------------------

    def run(self) -> tuple[list[ResourceChange], tuple[DriftItem, ...]]:
        identities = resolve_identities(self.config, self.state, self.index)
        self._check_replace(identities)
        check_rotation_requests(self.rotate, self.config, identities)
        if self.refresh_only:
            claimed = identities.claimed
            identities = state_identities(self.state, self.index)
            identities.claimed |= claimed
            drafts: list[_Planned] = []
            left_out: list[_Planned] = []
            for address, ident in identities.removed.items():
                (drafts if self.in_scope(address) else left_out).append(self._refresh(ident))
            if left_out:
                # A full refresh-only plan would record these: the forgotten entries and
                # the keys that drifted.
                finished = [_finish(d, ()) for d in left_out]
                recorded = {c.address for c in finished if c.has_effect}
                recorded |= {item.address for item in self._drift(identities, finished)}
                self.outside_targets += len(recorded)
        else:
            self.problems.extend(p for p in identities.problems if self.in_scope(*p.addresses))
            drafts = self._plan_identities(identities)
        if self.problems:
            raise PlanError(_problem_text(self.problems))
        drafts.extend(self._plan_unmanaged(identities.claimed))
        drafts = self._schedule_rotations(drafts)
        self._refuse_unknown_targets(identities, drafts)
        if self.outside_targets:
            noun = "change" if self.outside_targets == 1 else "changes"
            self.warnings.append(
                f"resource targeting is in effect: {self.outside_targets} {noun} to keys "
                "outside --target left out of this plan, so applying it does not bring "
                "every key in line with the configuration"
            )
        drafts.sort(key=lambda draft: draft.address)

        diffs = attribute_changes(
            {
                d.address: (d.old, d.new)
                for d in drafts
                if isinstance(d, _Draft) and (d.old or d.new)
            }
        )
        changes = [_finish(d, diffs.get(d.address, ())) for d in drafts]
        return changes, self._drift(identities, changes)

    def _plan_identities(self, identities: Identities) -> list[_Planned]:
        drafts: list[_Planned] = []
        everything = not self.targets
        keys = self.config.keys
        for address, ident in identities.declared.items():
            if everything or self.in_scope(address, ident.previous_address):
                drafts.append(self._plan_declared(keys[address], ident))
            else:
                self._count_left_out(self._plan_declared, keys[address], ident)
        for address, ident in identities.removed.items():
            if everything or self.in_scope(address, ident.previous_address):
                drafts.append(self._plan_removed(ident))
            else:
                self._count_left_out(self._plan_removed, ident)
        return drafts

    def _count_left_out(self, plan_one: Callable[..., _Planned], *args: Any) -> None:
        """Plan a key --target leaves out only to count it when it would change. What
        stops its plan (a prevent_revoke, a broken state entry) is for a plan that
        includes it to report, so here it only counts as a change."""
        problems = len(self.problems)
        try:
            draft = plan_one(*args)
        except PlanError:
            self.outside_targets += 1
            return
        if len(self.problems) > problems:
            del self.problems[problems:]
            self.outside_targets += 1
        elif _finish(draft, ()).has_effect:
            self.outside_targets += 1

    def _check_replace(self, identities: Identities) -> None:
        """Refuse a `--replace` this plan would not carry out: a typo, a key no longer
        declared, a disabled key, or one --target leaves out."""
        declared = self.config.keys
        for address in sorted(self.replace):
            desired = declared.get(address)
            if desired is None:
                if address in self.state.resources:
                    raise UsageError(
                        f"--replace {address}: the key is no longer declared, so this plan "
                        "revokes it rather than replacing it; declare it again to replace it"
                    )
                raise UsageError(
                    f"--replace {address}: no key is declared at this address"
                    f"{_did_you_mean(address, declared)}"
                )
            if not desired.enabled:
                where = f" at {desired.source}" if desired.source else ""
                raise UsageError(
                    f"--replace {address}: the key is declared with enabled: false{where}, "
                    "and a disabled key is not replaced; enable it, or drop --replace"
                )
            ident = identities.declared.get(address)
            previous = ident.previous_address if ident is not None else None
            if not self.in_scope(address, previous):
                raise UsageError(
                    f"--replace {address}: --target leaves this key out of the plan; "
                    f"add --target {address}"
                )

    def _refuse_unknown_targets(self, identities: Identities, drafts: list[_Planned]) -> None:
        """A target that matches nothing would make a plan that silently does nothing:
        refused, as a typo, with the address most likely meant."""
        known = (
            set(self.config.keys)
            | set(identities.declared)
            | set(identities.removed)
            | set(self.state.resources)
            | {d.address for d in drafts}
            | {unmanaged_address(u.account, u.key_id) for u in self.unmanaged}
        )
        unknown = sorted(self.targets - known)
        if unknown:
            target = unknown[0]
            raise UsageError(
                f"--target {target} matches no declared key, state entry or unmanaged key"
                f"{_did_you_mean(target, known)}"
            )

    # -- declared keys ---------------------------------------------------------------------

    def _plan_declared(self, desired: DesiredKey, ident: Identity) -> _Planned:
        key, record = ident.live, ident.record
        common: dict[str, Any] = {
            "address": desired.address,
            "account": desired.account,
            "name": desired.name,
            "importing_id": ident.importing_id,
            "adopted_by_name": ident.adopted_by_name,
            "previous_address": ident.previous_address,
            "prevent_revoke": desired.lifecycle.prevent_revoke,
        }
        if key is None:
            if not desired.enabled:
                # Declared revoked and nothing to revoke: never create a key just to
                # disable it. A state entry whose key is gone is dropped.
                reason = Reason.GONE if record else Reason.NONE
                if record is None and self.in_scope(desired.address):
                    self.warnings.append(
                        f"{desired.address} is declared with enabled: false and no key "
                        f'"{desired.name}" exists{_in_account(desired.account)}: it is not '
                        "created (a new key is always enabled)"
                    )
                return _Draft(**common, action=Action.NOOP, reason=reason, forget=bool(record))
            return self._create(desired, common, Reason.GONE if record else Reason.NEW)

        before = self.attributes_of(key)
        common.update(key_id=key.id, before=before)
        replacing = self._replace_reason(desired, record)
        if replacing is not None and desired.enabled:
            return self._replace(desired, record, key, common, replacing)
        planned = self._plan_existing(desired, record, key, common, before)
        if desired.rotation is None or not desired.enabled or not key.enabled:
            return planned
        due = (
            "requested"
            if desired.address in self.rotate
            else rotation_due(
                desired.rotation, valid_from=key.valid_from, valid_to=key.valid_to, now=self.now
            )
        )
        if due is None:
            return planned
        return self._rotate(desired, record, key, common, due, planned)

    def _plan_existing(
        self,
        desired: DesiredKey,
        record: ResourceState | None,
        key: LiveKey,
        common: dict[str, Any],
        before: Attributes,
    ) -> _Planned:
        """A declared key whose live key stays: a no-op, an update or a revoke."""
        if not desired.enabled:
            if not key.enabled:
                return _Draft(**common, action=Action.NOOP, after=before)
            self._guard(desired.address, desired.lifecycle.prevent_revoke, record, "revoke")
            return _revoke(common, before, Reason.DISABLED_IN_CONFIG)

        ignoring = desired.lifecycle.ignore_changes
        ignored = tuple(a for a in MANAGED_ATTRIBUTES if a in ignoring) if ignoring else ()
        wanted = wanted_values(desired, self._expected_valid_to(desired, record, key))
        differing = differing_attributes(wanted, live_values(key), ignored)
        if not differing:
            # Most keys of a large configuration: finished at once, no attributes to diff.
            return _unchanged(common, after=before, ignored=ignored)
        self._check_updated_window(desired, wanted, key, differing)
        if "platform" in differing:
            self._check_platform_account(desired)
        new = {a: json_value(a, wanted[a]) for a in differing}
        write = _update_body(wanted, differing)
        if desired.platform and "platform" in differing and key.scopes:
            # Infobip refuses a key with both links and scopes: the scopes go first.
            write = replace(write, scopes=frozenset())
        return _Draft(
            **common,
            action=Action.UPDATE,
            reason=Reason.REENABLE if "enabled" in differing else Reason.CHANGED,
            after={**before, **new},
            write=write,
            writes=len(write.update_steps()),
            ignored=ignored,
            old={a: before[a] for a in differing},
            new=new,
        )

    def _replace_reason(self, desired: DesiredKey, record: ResourceState | None) -> Reason | None:
        if record is not None and not self._same_account(desired.account, record):
            return Reason.ACCOUNT_CHANGED
        if desired.address in self.replace:
            return Reason.REPLACE_REQUESTED
        if record is not None and record.secret is not None and record.secret.status == "lost":
            return Reason.SECRET_LOST
        return None

    def _same_account(self, account: str, record: ResourceState) -> bool:
        if self.index.same_account(account, record.account):
            return True
        return record.account_id is not None and self.index.resolve(account) == record.account_id

    def _expected_valid_to(
        self, desired: DesiredKey, record: ResourceState | None, key: LiveKey
    ) -> datetime | None:
        """The `valid_to` a declaration means for an existing key.

        A relative `valid_for` was resolved against the clock when the key was written;
        while it (and `valid_from`) stay as they were, the instant recorded then is the
        one to keep, rather than a new instant that moves with every plan.
        """
        if desired.valid_to is not None or desired.valid_for is None:
            return desired.valid_to
        if record is not None and record.valid_for == format_duration(desired.valid_for):
            recorded_to = _recorded_instant(record, "valid_to")
            recorded_from = _recorded_instant(record, "valid_from")
            if recorded_to is not None and desired.valid_from in (None, recorded_from):
                return recorded_to
        start = desired.valid_from or key.valid_from
        return start + desired.valid_for if start is not None else None

    # -- dates Infobip refuses ---------------------------------------------------------------
    # Infobip refuses a create whose validFrom or validTo is earlier than the moment of
    # creation, and any write that leaves validTo earlier than validFrom. Such a change is
    # an error of the plan, at the line that wrote the date, judged by Infobip's clock
    # (`now`, from its Date header): never a 400 in the middle of an apply. An update may
    # keep or set a validFrom in the past: Infobip documents no rule against it.

    def _refused_date(self, desired: DesiredKey, source: SourceRef | None, message: str) -> None:
        where = source or desired.source
        at = f"{where}: " if where is not None else ""
        self.problems.append(Problem((desired.address,), f"{at}{_REFUSED_DATE} {message}"))

    def _check_create_dates(self, desired: DesiredKey) -> None:
        now = format_instant(self.now)
        if desired.valid_from is not None and desired.valid_from < self.now:
            self._refused_date(
                desired,
                desired.valid_from_source,
                f"{desired.address} would be created with valid_from "
                f"{format_instant(desired.valid_from)}, before now ({now} on Infobip's clock); "
                "Infobip refuses a new key valid from the past: set a later valid_from, or "
                "leave it out (the key is then valid from its creation)",
            )
            return
        end = _declared_valid_to(desired)
        if end is not None and end <= self.now:
            self._refused_date(
                desired,
                desired.valid_to_source,
                f"{desired.address} would be created valid until {format_instant(end)}, "
                f"before now ({now} on Infobip's clock); Infobip refuses it: set a later "
                "valid_to or a longer valid_for",
            )

    def _check_updated_window(
        self, desired: DesiredKey, wanted: Attributes, key: LiveKey, differing: list[str]
    ) -> None:
        starts = wanted["valid_from"] if "valid_from" in differing else key.valid_from
        ends = wanted["valid_to"] if "valid_to" in differing else key.valid_to
        if starts is None or ends is None or ends >= starts:
            return
        written = "valid_to" if "valid_to" in differing else "valid_from"
        source = desired.valid_to_source if written == "valid_to" else desired.valid_from_source
        self._refused_date(
            desired,
            source,
            f"{desired.address}: the update would leave key {key.id} valid until "
            f"{format_instant(ends)}, before it becomes valid ({format_instant(starts)}); "
            f"Infobip refuses that: declare both valid_from and valid_to, or change {written}",
        )

    def _check_platform_account(self, desired: DesiredKey) -> None:
        """Infobip links CPaaS X applications only to keys of the caller's own (main)
        account. Known when the caller's account id is: whether that account is a main
        account is not, and is left to Infobip."""
        caller = self.index.resolve(CALLER_ACCOUNT)
        if (
            not desired.platform
            or caller is None
            or self.index.same_account(desired.account, caller)
        ):
            return
        at = f"{desired.source}: " if desired.source is not None else ""
        self.problems.append(
            Problem(
                (desired.address,),
                f"{at}{desired.address} links CPaaS X applications (platform) on a key of "
                f"account {desired.account}; Infobip allows platform only on keys of the "
                f"credentials' own account ({caller}): move the key there, or drop platform",
            )
        )

    def _create(self, desired: DesiredKey, common: dict[str, Any], reason: Reason) -> _Draft:
        self._check_create_dates(desired)
        self._check_platform_account(desired)
        valid_to = _declared_valid_to(desired)
        wanted = desired_attributes(desired, valid_to)
        unknown = ("id", *(a for a in ("valid_from", "valid_to") if wanted[a] is None))
        return _Draft(
            **common,
            action=Action.CREATE,
            reason=reason,
            after={a: v for a, v in wanted.items() if v is not None},
            after_unknown=unknown,
            write=_create_body(desired, valid_to),
            writes=1,
            secret_sink=desired.secret if desired.secret.sink != "none" else None,
        )

    def _replace(
        self,
        desired: DesiredKey,
        record: ResourceState | None,
        key: LiveKey,
        common: dict[str, Any],
        reason: Reason,
    ) -> _Draft:
        self._guard(desired.address, desired.lifecycle.prevent_revoke, record, "replace")
        created = self._create(desired, common, reason)
        created.action = Action.REPLACE
        created.writes = 2  # the create, then the revoke of the old key
        before = self.attributes_of(key)
        wanted = wanted_values(desired, self._expected_valid_to(desired, record, key))
        differing = differing_attributes(wanted, live_values(key))
        created.old = {a: before[a] for a in differing}
        created.new = {a: json_value(a, wanted[a]) for a in differing}
        if reason is Reason.ACCOUNT_CHANGED and record is not None:
            created.extra = (
                AttributeChange(attribute="account", before=record.account, after=desired.account),
            )
        return created

    def _rotate(
        self,
        desired: DesiredKey,
        record: ResourceState | None,
        key: LiveKey,
        common: dict[str, Any],
        due: str,
        fallback: _Planned,
    ) -> _Draft:
        """A successor with the declared attributes; the predecessor stays for the overlap.
        Not guarded by prevent_revoke: declaring a rotation asks for the later revoke."""
        assert desired.rotation is not None
        created = self._create(desired, common, Reason.ROTATION)
        created.action = Action.REPLACE
        created.writes = 1  # the successor; the predecessor's revoke comes on a later day
        before = self.attributes_of(key)
        wanted = wanted_values(desired, self._expected_valid_to(desired, record, key))
        differing = differing_attributes(wanted, live_values(key))
        created.old = {a: before[a] for a in differing}
        created.new = {a: json_value(a, wanted[a]) for a in differing}
        overlap = desired.rotation.overlap
        created.rotation = RotationNote(
            due=due,
            predecessor_id=key.id,
            overlap=format_duration(overlap),
            revoke_predecessor_after=self.now + overlap,
        )
        created.fallback = fallback
        return created

    def _schedule_rotations(self, drafts: list[_Planned]) -> list[_Planned]:
        """Keep the rotations today's write budget can take; the rest fall back to the
        key's ordinary change and are listed as deferred."""
        rotations = [d for d in drafts if isinstance(d, _Draft) and d.rotation is not None]
        if not rotations:
            return drafts
        # Today's budget is spent first by the writes already made today (the state's tally
        # on Infobip's day, as apply counted them), then by the plan's other writes.
        today = self.now.date()
        spent = {r.account: self.state.writes_on(r.account, today) for r in rotations}
        for draft in drafts:
            if draft.writes and not (isinstance(draft, _Draft) and draft.rotation is not None):
                spent[draft.account] = spent.get(draft.account, 0) + draft.writes
        due = [
            DueRotation(
                address=d.address,
                account=d.account,
                key_id=d.key_id or "",
                due=d.rotation.due if d.rotation else "",
                valid_to=self.live_key(d.key_id).valid_to if d.key_id else None,
            )
            for d in rotations
        ]
        taken, deferred = schedule_rotations(due, spent, write_limit=self.write_limit)
        asked = sorted(r.address for r in deferred if r.address in self.rotate)
        if asked:
            raise UsageError(
                f"rotate {', '.join(asked)}: today's budget of {self.write_limit} Infobip "
                f"writes is taken by {BUDGET_TAKERS}; rotate later"
            )
        late = expiring_before_budget(deferred, self.now)
        if late:
            raise PlanError(too_late_text(late, write_limit=self.write_limit, now=self.now))
        self.deferred = deferred
        return [
            d.fallback
            if isinstance(d, _Draft)
            and d.rotation is not None
            and d.address not in taken
            and d.fallback is not None
            else d
            for d in drafts
        ]

    def _guard(self, address: str, declared: bool, record: ResourceState | None, verb: str) -> None:
        if declared:
            self.problems.append(
                Problem(
                    (address,),
                    f"{address} has lifecycle.prevent_revoke, but this plan would {verb} it; "
                    "keep it enabled and in its account, or remove prevent_revoke first",
                )
            )
        elif record is not None and record.prevent_revoke:
            self.problems.append(
                Problem(
                    (address,),
                    f"{address} was declared with lifecycle.prevent_revoke (the state "
                    f"remembers it), but this plan would {verb} it. If manifests this run "
                    "did not read declare it (another configuration sharing this state "
                    "file), pass them too, or give this configuration a state of its own "
                    "with --state FILE; else declare it again as it was. Only to stop "
                    f"managing the key without a revoke: `infobip-iac state rm {address}`",
                )
            )

    # -- keys no longer declared -------------------------------------------------------------

    def _plan_removed(self, ident: Identity) -> _Draft:
        record, key = ident.record, ident.live
        assert record is not None
        common: dict[str, Any] = {
            "address": ident.address,
            "account": record.account,
            "name": key.name if key else record.name,
            "reason": Reason.REMOVED_FROM_CONFIG,
            "previous_address": ident.previous_address,
            "forget": True,
        }
        if key is None:
            return _Draft(**common, action=Action.NOOP)
        before = self.attributes_of(key)
        common.update(key_id=key.id, before=before)
        if not key.enabled:
            return _Draft(**common, action=Action.NOOP, after=before)
        if record.revoke_after is not None:
            # A rotated key's predecessor: enabled until its overlap ends.
            if self.now < record.revoke_after:
                self.waiting.append(
                    WaitingPredecessor(
                        address=ident.address, key_id=key.id, revoke_after=record.revoke_after
                    )
                )
                common.update(reason=Reason.NONE, forget=False)
                return _Draft(**common, action=Action.NOOP, after=before)
            return _revoke(common, before, Reason.ROTATION_OVERLAP_ENDED)
        self._guard(ident.address, False, record, "revoke")
        return _revoke(common, before, Reason.REMOVED_FROM_CONFIG)

    def _refresh(self, ident: Identity) -> _Draft:
        """A refresh-only plan writes nothing: it records what is live, and forgets state
        entries whose key no longer exists."""
        record, key = ident.record, ident.live
        assert record is not None
        if key is None:
            return _Draft(
                address=ident.address,
                account=record.account,
                name=record.name,
                action=Action.NOOP,
                reason=Reason.GONE,
                forget=True,
            )
        before = self.attributes_of(key)
        return _Draft(
            address=ident.address,
            account=record.account,
            name=key.name,
            action=Action.NOOP,
            key_id=key.id,
            before=before,
            after=before,
        )

    # -- keys nobody declared ----------------------------------------------------------------

    def _plan_unmanaged(self, claimed: set[str]) -> list[_Draft]:
        policy = self.config.policy.unmanaged_keys
        if policy == "ignore":
            return []
        drafts = []
        for account, key in self.index.unique_keys():
            if not key.enabled or key.id in claimed:
                continue
            address = unmanaged_address(account, key.id)
            revoking = policy == "revoke" and not self.refresh_only and self.in_scope(address)
            if policy == "revoke" and not self.refresh_only and not revoking:
                self.outside_targets += 1
            self.unmanaged.append(
                UnmanagedKey(
                    account=account,
                    key_id=key.id,
                    name=key.name,
                    disposition="revoke" if revoking else "report",
                )
            )
            if revoking:
                common: dict[str, Any] = {
                    "address": address,
                    "account": account,
                    "name": key.name,
                    "key_id": key.id,
                }
                drafts.append(_revoke(common, self.attributes_of(key), Reason.UNMANAGED))
        return drafts

    # -- drift -------------------------------------------------------------------------------

    def _drift(
        self, identities: Identities, changes: list[ResourceChange]
    ) -> tuple[DriftItem, ...]:
        """Managed keys whose live attributes differ from what state says we last wrote."""
        planned = {change.address: change for change in changes}
        pairs: dict[str, tuple[Attributes, Attributes]] = {}
        key_ids: dict[str, str] = {}
        for ident in [*identities.declared.values(), *identities.removed.values()]:
            record, key = ident.record, ident.live
            if record is None or key is None or ident.address not in planned:
                continue
            live = self.attributes_of(key)
            if record.attributes == live:
                continue
            drifted = [
                a
                for a in MANAGED_ATTRIBUTES
                if a in record.attributes and not same_value(a, record.attributes[a], live[a])
            ]
            if drifted:
                pairs[ident.address] = (
                    {a: record.attributes[a] for a in drifted},
                    {a: live[a] for a in drifted},
                )
                key_ids[ident.address] = key.id
        items = []
        for address, changes_found in sorted(attribute_changes(pairs).items()):
            reverting = {c.attribute for c in planned[address].changes}
            items.append(
                DriftItem(
                    address=address,
                    key_id=key_ids[address],
                    changes=changes_found,
                    will_revert=not self.refresh_only
                    and any(c.attribute in reverting for c in changes_found),
                )
            )
        return tuple(items)


# A change still to be diffed, or one that is finished already (no attribute changes).
_Planned = _Draft | ResourceChange


def _finish(planned: _Planned, changes: tuple[AttributeChange, ...]) -> ResourceChange:
    return planned.finish(changes) if isinstance(planned, _Draft) else planned


def _unchanged(common: dict[str, Any], **fields: Any) -> ResourceChange:
    """A no-op change, built without a draft (`common` holds address, account and name)."""
    return ResourceChange(**common, action=Action.NOOP, **fields)


def _revoke(common: dict[str, Any], before: Attributes, reason: Reason) -> _Draft:
    fields = {**common, "reason": reason, "before": before}
    return _Draft(
        **fields,
        action=Action.REVOKE,
        after={**before, "enabled": False},
        write=KeyWrite(enabled=False),
        writes=1,
        old={"enabled": before["enabled"]},
        new={"enabled": False},
    )


# The code the manifest's diagnostics give a date Infobip refuses (manifest/diagnostics.py),
# so that a plan's refusal reads like validate's.
_REFUSED_DATE = "E606"


def _in_account(account: str) -> str:
    return "" if account == CALLER_ACCOUNT else f" in account {account}"


def _declared_valid_to(desired: DesiredKey) -> datetime | None:
    """The `valid_to` a declaration fixes without a clock: its own, or `valid_for` counted
    from its `valid_from`. None when it sets neither, or when its `valid_for` counts from
    the key's creation, a moment only apply knows (it resolves that one against Infobip's
    clock as it sends the create). The one place the planner resolves `valid_for`, besides
    keeping an existing key's recorded instant (`_expected_valid_to`)."""
    if desired.valid_to is not None or desired.valid_for is None or desired.valid_from is None:
        return desired.valid_to
    return desired.valid_from + desired.valid_for


def _create_body(desired: DesiredKey, valid_to: datetime | None) -> KeyWrite:
    """The full key: every attribute the create request has and the declaration sets (no
    links for a key without any), with the planner's `valid_to`. A declared `valid_for`
    goes along, as what state records; it is never sent (see KeyWrite)."""
    wanted = wanted_values(desired, valid_to)
    sent = [
        attribute
        for attribute in CREATE_ATTRIBUTES
        if wanted[attribute] is not None
        and (wanted[attribute] or attribute not in STRUCTURED_ATTRIBUTES)
    ]
    write = _update_body(wanted, sent)
    if desired.valid_for is not None and desired.valid_to is None:
        write = replace(write, valid_for=desired.valid_for)
    return write


def _update_body(wanted: Attributes, differing: list[str]) -> KeyWrite:
    """Only the fields that change: Infobip leaves the others as they are. The values are
    the declaration's, already of the write's field types."""
    fields = {attribute: wanted[attribute] for attribute in differing}
    for attribute in STRUCTURED_ATTRIBUTES.intersection(differing):
        # A write holds its links in the order they are sent; the diff compares them as a set.
        fields[attribute] = tuple(sorted(fields[attribute], key=link_order))
    return KeyWrite(**fields)


def _recorded_instant(record: ResourceState, attribute: str) -> datetime | None:
    value = record.attributes.get(attribute)
    if not value:
        return None
    try:
        return parse_instant(str(value))
    except ValueError as bad:
        raise PlanError(
            f"the state entry of key {record.id} holds an invalid {attribute} ({value!r}); "
            "run `infobip-iac plan --refresh-only` and apply it to record the live value"
        ) from bad


def _problem_text(problems: list[Problem]) -> str:
    unique = list(dict.fromkeys(problem.message for problem in problems))
    if len(unique) == 1:
        return unique[0]
    return f"{len(unique)} problems stop this plan:\n" + "\n".join(f"  - {m}" for m in unique)

"""Properties of the planner over random (desired, state, live) triples: it raises nothing
but PlanError, and once its writes are applied (by a tiny in-memory Infobip here), planning
again finds nothing to do."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta
from typing import Any

from builders import ACCOUNT_ID, NOW, live
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infobip_iac.domain.keys import (
    DesiredConfig,
    DesiredKey,
    ImportBlock,
    KeyWrite,
    Lifecycle,
    LiveKey,
    MovedBlock,
    Permission,
    PlatformLink,
    Policy,
    SecretSinkSpec,
    key_address,
)
from infobip_iac.domain.normalize import format_duration
from infobip_iac.domain.plan import Action, Plan
from infobip_iac.engine.plan import make_plan
from infobip_iac.errors import PlanError
from infobip_iac.infobip.api import AccountKeys
from infobip_iac.state.model import ResourceState, SecretRecord, StateDocument

OTHER = "777"  # a sub-account, next to the caller's own `_`
ACCOUNTS = ("_", OTHER)
ACCOUNT_IDS = {"_": ACCOUNT_ID, OTHER: OTHER}
IDENTS = ("alpha", "beta", "gamma", "delta")
NAMES = ("Alpha", "Beta", "Shared")
SCOPES = ("sms:message:send", "sms:logs:read", "2fa:pin:send")
IPS = ("198.51.100.7/32", "203.0.113.0/24", "2001:db8::/48")
INSTANTS = (None, NOW - timedelta(days=3), NOW + timedelta(days=40), NOW + timedelta(days=400))
YEAR = timedelta(days=365)

small_sets = st.frozensets
scopes = small_sets(st.sampled_from(SCOPES), max_size=3)
ips = small_sets(st.sampled_from(IPS), max_size=2)
permissions = small_sets(st.sampled_from(list(Permission)), max_size=2)
platforms = st.one_of(
    st.just(()), st.just((PlatformLink(application_id="app-1", entity_id="e-1"),))
)


@st.composite
def declared_keys(draw: Any, ident: str) -> DesiredKey:
    validity = draw(st.sampled_from(["none", "to", "for"]))
    return DesiredKey(
        address=key_address(ident),
        ident=ident,
        account=draw(st.sampled_from(ACCOUNTS)),
        name=draw(st.sampled_from(NAMES)),
        scopes=draw(scopes),
        permissions=draw(permissions),
        platform=draw(platforms) if draw(st.integers(0, 5)) == 0 else (),
        allowed_ips=draw(ips),
        valid_from=draw(st.sampled_from(INSTANTS)),
        valid_to=draw(st.sampled_from(INSTANTS[1:])) if validity == "to" else None,
        valid_for=draw(st.sampled_from([timedelta(days=30), timedelta(days=90)]))
        if validity == "for"
        else None,
        enabled=draw(st.booleans()),
        secret=SecretSinkSpec(sink=draw(st.sampled_from(["none", "file"])), path="s/{address}"),
        lifecycle=Lifecycle(
            prevent_revoke=draw(st.integers(0, 4)) == 0,
            ignore_changes=draw(
                small_sets(st.sampled_from(["name", "scopes", "valid_to"]), max_size=1)
            ),
        ),
    )


@st.composite
def live_keys(draw: Any, account: str, first: int) -> list[LiveKey]:
    keys = []
    for number in range(draw(st.integers(0, 4))):
        keys.append(
            live(
                f"L{first + number}",
                draw(st.sampled_from(NAMES)),
                account_id=ACCOUNT_IDS[account],
                scopes=draw(scopes),
                permissions=draw(permissions),
                allowed_ips=draw(ips),
                valid_from=draw(st.sampled_from(INSTANTS)),
                valid_to=draw(st.sampled_from(INSTANTS)),
                enabled=draw(st.booleans()),
            )
        )
    return keys


@st.composite
def scenarios(draw: Any) -> dict[str, Any]:
    idents = draw(st.lists(st.sampled_from(IDENTS), unique=True, max_size=4))
    declared = [draw(declared_keys(ident)) for ident in idents]
    reads = {
        account: draw(live_keys(account, first=10 * number))
        for number, account in enumerate(ACCOUNTS)
    }
    every_key = [(account, key) for account, keys in reads.items() for key in keys]

    records: dict[str, ResourceState] = {}
    for ident in draw(
        st.lists(st.sampled_from((*IDENTS, "old-one", "old-two")), unique=True, max_size=4)
    ):
        if every_key and draw(st.booleans()):
            account, key = draw(st.sampled_from(every_key))
            attributes = key.attributes()
            if draw(st.booleans()):  # written differently from what is live now: drift
                attributes = {**attributes, "name": "renamed since", "scopes": []}
        else:
            account, key, attributes = draw(st.sampled_from(ACCOUNTS)), None, {}
        records[key_address(ident)] = ResourceState(
            id=key.id if key else f"GONE-{ident}",
            account=account,
            account_id=ACCOUNT_IDS[account],
            name=key.name if key else ident,
            attributes=attributes,
            valid_for=draw(st.sampled_from([None, "30d", "90d"])),
            prevent_revoke=draw(st.integers(0, 4)) == 0,
            secret=SecretRecord(sink="file", status=draw(st.sampled_from(["delivered", "lost"]))),
        )

    moved = []
    if records and idents and draw(st.booleans()):
        moved.append(
            MovedBlock(
                from_address=draw(st.sampled_from(sorted(records))),
                to_address=key_address(draw(st.sampled_from(idents))),
            )
        )
    imports = []
    if every_key and idents and draw(st.booleans()):
        imports.append(
            ImportBlock(
                to_address=key_address(draw(st.sampled_from(idents))),
                key_id=draw(st.sampled_from(every_key))[1].id,
            )
        )
    replaceable = [key.address for key in declared if key.enabled]
    return {
        "config": DesiredConfig(
            keys={key.address: key for key in declared},
            policy=Policy(unmanaged_keys=draw(st.sampled_from(["ignore", "report", "revoke"]))),
            moved=tuple(moved),
            imports=tuple(imports),
        ),
        "state": StateDocument(resources=records),
        "live": reads,
        # Only what --replace accepts: a declared, enabled key (anything else is refused).
        "replace": draw(st.lists(st.sampled_from(replaceable), max_size=1)) if replaceable else [],
    }


class MemoryInfobip:
    """Just enough of Infobip and of apply to carry out a plan: the writes on the keys,
    and what apply records in state."""

    def __init__(self, reads: dict[str, list[LiveKey]], current: StateDocument) -> None:
        self.keys = {account: {key.id: key for key in keys} for account, keys in reads.items()}
        self.state = current.model_copy(deep=True)
        self.numbers = itertools.count(1)

    def reads(self) -> dict[str, AccountKeys]:
        return {
            account: AccountKeys(account=account, keys=list(keys.values()), requests=1)
            for account, keys in self.keys.items()
        }

    def _find(self, key_id: str) -> tuple[str, LiveKey]:
        for account, keys in self.keys.items():
            if key_id in keys:
                return account, keys[key_id]
        raise AssertionError(f"the plan writes to {key_id}, which does not exist")

    def _put(self, key_id: str, write: KeyWrite) -> LiveKey:
        account, key = self._find(key_id)
        changed = replace(key, **write.sent())
        self.keys[account][key_id] = changed
        return changed

    def _create(self, account: str, write: KeyWrite) -> LiveKey:
        start = write.valid_from or NOW
        if write.valid_to is not None:
            end = write.valid_to
        elif write.valid_for is not None:
            end = start + write.valid_for
        else:
            end = NOW + YEAR
        key = LiveKey(
            id=f"NEW{next(self.numbers)}",
            account_id=ACCOUNT_IDS[account],
            name=write.name or "",
            scopes=write.scopes or frozenset(),
            permissions=write.permissions or frozenset(),
            platform=write.platform or (),
            allowed_ips=write.allowed_ips or frozenset(),
            valid_from=start,
            valid_to=end,
            enabled=True,
        )
        self.keys[account][key.id] = key
        return key

    def _record(self, address: str, account: str, key: LiveKey, **fields: Any) -> None:
        old = self.state.resources.get(address)
        entry = ResourceState(
            id=key.id,
            account=account,
            account_id=key.account_id,
            name=key.name,
            attributes=key.attributes(),
            valid_for=old.valid_for if old and old.id == key.id else None,
            prevent_revoke=fields.pop("prevent_revoke", False),
            secret=old.secret if old and old.id == key.id else None,
        )
        self.state.resources[address] = entry.model_copy(update=fields)

    def apply(self, plan: Plan) -> None:
        resources = self.state.resources
        for change in plan.changes:
            if change.previous_address and change.previous_address in resources:
                resources[change.address] = resources.pop(change.previous_address)
        for change in plan.changes:
            if change.action in (Action.CREATE, Action.REPLACE):
                assert change.write is not None
                key = self._create(change.account, change.write)
                if change.action is Action.REPLACE:
                    assert change.key_id is not None
                    self._put(change.key_id, KeyWrite(enabled=False))
                valid_for = change.write.valid_for
                self._record(
                    change.address,
                    change.account,
                    key,
                    valid_for=format_duration(valid_for) if valid_for else None,
                    prevent_revoke=change.prevent_revoke,
                    secret=SecretRecord(sink="file", status="delivered"),
                )
                continue
            if change.action in (Action.UPDATE, Action.REVOKE):
                assert change.write is not None and change.key_id is not None
                key = self._put(change.key_id, change.write)
            elif change.key_id is not None:
                key = self._find(change.key_id)[1]
            else:
                key = None
            if change.forget:
                resources.pop(change.address, None)
            elif key is not None and not change.address.startswith("unmanaged."):
                known = resources.get(change.address)
                self._record(
                    change.address,
                    known.account if known else change.account,
                    key,
                    prevent_revoke=change.prevent_revoke,
                )


@settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(scenarios())
def test_applying_a_plan_then_planning_again_finds_nothing_to_do(scenario: dict[str, Any]) -> None:
    declared: DesiredConfig = scenario["config"]
    try:
        first = make_plan(
            declared,
            scenario["state"],
            {a: AccountKeys(account=a, keys=k, requests=1) for a, k in scenario["live"].items()},
            now=NOW,
            replace=scenario["replace"],
        )
    except PlanError:
        return  # a refusal is a legitimate answer; anything else raised fails the test

    infobip = MemoryInfobip(scenario["live"], scenario["state"])
    infobip.apply(first)
    second = make_plan(declared, infobip.state, infobip.reads(), now=NOW + timedelta(minutes=5))

    assert [
        (c.address, c.action, c.changes, c.forget, c.importing_id, c.previous_address)
        for c in second.changes
        if c.action is not Action.NOOP or c.touches_state
    ] == []
    assert second.drift == ()
    assert second.writes == 0

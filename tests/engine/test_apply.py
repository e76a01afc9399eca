"""Apply against an in-memory KeyService whose writes can be made to fail: ordering, state
after every write, no blind create retry, the 429 stop, guard rails and lost secrets."""

from __future__ import annotations

import itertools
import signal
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from builders import ACCOUNT_ID, NOW, config, declared

from infobip_iac.domain.keys import (
    DesiredConfig,
    ImportBlock,
    KeyWrite,
    Lifecycle,
    LiveKey,
    MovedBlock,
    Permission,
    SecretSinkSpec,
    deposed_address,
)
from infobip_iac.domain.plan import Action, Plan
from infobip_iac.domain.secret import Secret
from infobip_iac.engine import delivery as delivery_module
from infobip_iac.engine.apply import (
    ApplyEvent,
    ApplyOptions,
    ApplyResult,
    EventKind,
    apply_plan,
)
from infobip_iac.engine.plan import make_plan
from infobip_iac.errors import (
    AmbiguousWriteError,
    ApplyRefusedError,
    BadRequestError,
    RateLimitedError,
    SecretSinkError,
    ServerError,
    StalePlanError,
)
from infobip_iac.infobip.api import AccountKeys, CreatedKey, ProgressCallback
from infobip_iac.interrupts import Stopped
from infobip_iac.state.journal import CreateJournal
from infobip_iac.state.model import StateDocument
from infobip_iac.state.store import StateStore

# --- an in-memory Infobip -----------------------------------------------------------------


@dataclass
class FakeInfobip:
    """A KeyService over a dict. `faults[op]` is a queue of what the next calls of `op`
    ("create" or "update") do instead of succeeding: an exception to raise, "lost" for a
    write that commits but whose answer never arrives, or "late" for a create that gets no
    answer and commits only when the next create arrives (a server slower than the client
    waits), or only when the test moves it from `landing` itself (`hold_late`)."""

    keys: dict[str, LiveKey] = field(default_factory=dict)
    faults: dict[str, list[Exception | str]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    landing: dict[str, LiveKey] = field(default_factory=dict)
    hold_late: bool = False
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def list_keys(
        self,
        account: str,
        *,
        names: Collection[str] = (),
        progress: ProgressCallback | None = None,
    ) -> AccountKeys:
        self.calls.append("list")
        return AccountKeys(account=account, keys=list(self.keys.values()), requests=1)

    def get_key(self, key_id: str, *, account: str) -> LiveKey | None:
        self.calls.append(f"get {key_id}")
        return self.keys.get(key_id)

    def find_by_name(self, account: str, name: str) -> list[LiveKey]:
        self.calls.append(f"find {name}")
        return [key for key in self.keys.values() if key.name == name]

    def create_key(self, account: str, write: KeyWrite) -> CreatedKey:
        self.calls.append(f"create {write.name}")
        if not self.hold_late:
            self.keys.update(self.landing)
            self.landing.clear()
        fault = self._fault("create")
        if isinstance(fault, Exception):
            raise fault
        assert write.valid_for is None, "apply resolves valid_for before sending"
        key_id = f"{next(self._ids):032X}"
        key = LiveKey(
            id=key_id,
            account_id=ACCOUNT_ID,
            name=write.name or "",
            scopes=write.scopes or frozenset(),
            permissions=write.permissions or frozenset({Permission.PUBLIC_API}),
            allowed_ips=write.allowed_ips or frozenset(),
            valid_from=write.valid_from or NOW,
            valid_to=write.valid_to or NOW + timedelta(days=365),
            enabled=True if write.enabled is None else write.enabled,
        )
        if fault == "late":
            self.landing[key_id] = key
            raise AmbiguousWriteError("timed out", operation="create API key")
        self.keys[key_id] = key
        if fault == "lost":
            raise AmbiguousWriteError("the connection dropped", operation="create API key")
        return CreatedKey(key=key, secret=Secret(f"secret-of-{key_id}"))

    def update_key(self, key_id: str, *, account: str, write: KeyWrite) -> LiveKey:
        self.calls.append(f"update {key_id}")
        fault = self._fault("update")
        if isinstance(fault, Exception):
            raise fault
        key = replace(self.keys[key_id], **write.sent())
        self.keys[key_id] = key
        if fault == "lost":
            raise AmbiguousWriteError("the connection dropped", operation="update API key")
        return key

    def server_time(self) -> datetime:
        return NOW

    def write_requests(self) -> int:
        # every create and update sent, whatever came back
        return sum(1 for call in self.calls if call.startswith(("create ", "update ")))

    def seed(self, name: str, **attributes: Any) -> LiveKey:
        key_id = f"{next(self._ids):032X}"
        values: dict[str, Any] = {
            "scopes": frozenset({"sms:message:send"}),
            "permissions": frozenset({Permission.PUBLIC_API}),
            "allowed_ips": frozenset({"203.0.113.0/24"}),
            "valid_from": NOW - timedelta(days=1),
            "valid_to": NOW + timedelta(days=300),
            **attributes,
        }
        key = LiveKey(id=key_id, account_id=ACCOUNT_ID, name=name, **values)
        self.keys[key_id] = key
        return key

    def writes(self) -> list[str]:
        return [c for c in self.calls if c.startswith(("create", "update"))]

    def _fault(self, operation: str) -> Exception | str | None:
        queue = self.faults.get(operation)
        return queue.pop(0) if queue else None


# --- planning against the fake ----------------------------------------------------------


def plan_for(infobip: FakeInfobip, cfg: DesiredConfig, state: StateDocument) -> Plan:
    live = {"_": infobip.list_keys("_")}
    infobip.calls.clear()
    return make_plan(cfg, state, live, now=NOW)


@dataclass
class Harness:
    """One project: a fake Infobip, a state file, and every event apply reported."""

    infobip: FakeInfobip
    store: StateStore
    events: list[ApplyEvent] = field(default_factory=list)
    # Small writes (one per step) and full versions (one per apply) of the state.
    saves: int = 0
    full_writes: int = 0

    def state(self) -> StateDocument:
        return self.store.read()

    def apply(self, cfg: DesiredConfig, **options: Any) -> ApplyResult:
        state = self.state()
        return self.apply_plan(plan_for(self.infobip, cfg, state), **options)

    def apply_plan(self, plan: Plan, **options: Any) -> ApplyResult:
        real_write, real_record = self.store.write, self.store.record

        def counting_write(doc: StateDocument) -> StateDocument:
            self.full_writes += 1
            return real_write(doc)

        def counting_record(doc: StateDocument, addresses: Iterable[str]) -> StateDocument:
            self.saves += 1
            return real_record(doc, addresses)

        self.store.write = counting_write  # type: ignore[method-assign]
        self.store.record = counting_record  # type: ignore[method-assign]
        try:
            return apply_plan(
                plan,
                service=self.infobip,
                store=self.store,
                state=self.state(),
                options=ApplyOptions(**options),
                events=self.events.append,
            )
        finally:
            del self.store.write
            del self.store.record

    def messages(self, kind: EventKind) -> list[str]:
        return [f"{e.address}: {e.message}" for e in self.events if e.kind is kind]


@pytest.fixture
def harness(tmp_path: Path) -> Harness:
    return Harness(FakeInfobip(), StateStore(tmp_path / "state.json"))


def sink_to(tmp_path: Path, name: str = "{address}.env") -> SecretSinkSpec:
    return SecretSinkSpec(sink="file", path=name, base_dir=str(tmp_path / "secrets"))


# --- ordering and state -------------------------------------------------------------------


def test_creates_go_first_then_updates_then_revokes_with_state_saved_after_each(
    harness: Harness,
) -> None:
    infobip = harness.infobip
    stays = infobip.seed("stays")
    removed = infobip.seed("removed")
    harness.apply(config(declared("stays"), declared("removed")))
    assert set(harness.state().resources) == {"api_keys.stays", "api_keys.removed"}
    harness.saves = harness.full_writes = 0
    infobip.calls.clear()

    result = harness.apply(config(declared("stays", allowed_ips=frozenset()), declared("fresh")))

    assert result.exit_code == 0, result
    assert infobip.writes() == ["create fresh", f"update {stays.id}", f"update {removed.id}"]
    assert (result.created, result.updated, result.revoked, result.writes) == (1, 1, 1, 3)
    # One small save per write, plus one for the secret's record of the create; one full
    # version at the end.
    assert harness.saves == 4
    assert harness.full_writes == 1
    state = harness.state()
    assert set(state.resources) == {"api_keys.stays", "api_keys.fresh"}
    assert state.resources["api_keys.stays"].attributes["allowed_ips"] == []
    assert infobip.keys[removed.id].enabled is False


def test_second_apply_of_the_same_configuration_writes_nothing(harness: Harness) -> None:
    cfg = config(declared("a"), declared("b", valid_to=None, valid_for=timedelta(days=90)))
    first = harness.apply(cfg)
    assert first.created == 2
    harness.infobip.calls.clear()

    again = harness.apply(cfg)

    assert harness.infobip.writes() == []
    assert again.writes == 0 and again.state is None


def test_valid_for_is_resolved_against_infobips_clock_and_remembered(harness: Harness) -> None:
    harness.apply(config(declared("rel", valid_to=None, valid_for=timedelta(days=90))))
    record = harness.state().resources["api_keys.rel"]
    assert record.valid_for == "90d"
    assert record.attributes["valid_to"] == "2027-02-23T12:00:00Z"


def test_moves_imports_and_adoptions_change_state_without_writes(harness: Harness) -> None:
    infobip = harness.infobip
    old = infobip.seed("old")
    harness.apply(config(declared("old")))
    adopted = infobip.seed("adopt-me")
    imported = infobip.seed("legacy name")
    infobip.calls.clear()
    cfg = replace(
        config(
            declared("new", name="old"),
            declared("adopt-me"),
            declared("legacy", name="legacy name"),
        ),
        moved=(MovedBlock(from_address="api_keys.old", to_address="api_keys.new"),),
        imports=(ImportBlock(to_address="api_keys.legacy", key_id=imported.id),),
    )

    result = harness.apply(cfg)

    assert result.exit_code == 0
    assert infobip.writes() == []
    state = harness.state()
    assert state.resources["api_keys.new"].id == old.id
    assert "api_keys.old" not in state.resources
    assert state.resources["api_keys.adopt-me"].id == adopted.id
    assert state.resources["api_keys.legacy"].id == imported.id


def test_refresh_only_apply_takes_live_attributes_into_state(harness: Harness) -> None:
    infobip = harness.infobip
    harness.apply(config(declared("a")))
    key_id = harness.state().resources["api_keys.a"].id
    infobip.keys[key_id] = replace(infobip.keys[key_id], allowed_ips=frozenset({"198.51.100.0/24"}))
    state = harness.state()
    refresh = make_plan(
        config(declared("a")), state, {"_": infobip.list_keys("_")}, now=NOW, refresh_only=True
    )
    infobip.calls.clear()

    result = harness.apply_plan(refresh)

    assert infobip.writes() == []
    assert result.state_changes == 1
    assert harness.state().resources["api_keys.a"].attributes["allowed_ips"] == ["198.51.100.0/24"]


def test_an_unchanged_key_whose_state_is_behind_live_gets_live_attributes_recorded(
    harness: Harness,
) -> None:
    # An apply killed after its PUT landed and before its state save: live already says
    # what the configuration says, so the next apply writes nothing, and must record live.
    infobip = harness.infobip
    harness.apply(config(declared("a")))
    key_id = harness.state().resources["api_keys.a"].id
    wanted = frozenset({"sms:message:send", "whatsapp:message:send"})
    infobip.keys[key_id] = replace(infobip.keys[key_id], enabled=False, scopes=wanted)
    infobip.calls.clear()

    result = harness.apply(config(declared("a", enabled=False, scopes=wanted)))

    assert result.exit_code == 0, result
    assert infobip.writes() == []
    attributes = harness.state().resources["api_keys.a"].attributes
    assert attributes["enabled"] is False
    assert set(attributes["scopes"]) == set(wanted)
    assert harness.messages(EventKind.STATE) == ["api_keys.a: attributes refreshed from live"]


def test_prevent_revoke_is_remembered_in_state(harness: Harness) -> None:
    harness.apply(config(declared("guarded", lifecycle=Lifecycle(prevent_revoke=True))))
    assert harness.state().resources["api_keys.guarded"].prevent_revoke is True


# --- creates are never sent twice blindly ----------------------------------------------------


def test_a_create_whose_answer_is_lost_is_found_by_name_and_adopted(
    harness: Harness, tmp_path: Path
) -> None:
    infobip = harness.infobip
    infobip.faults["create"] = ["lost"]

    result = harness.apply(config(declared("a", secret=sink_to(tmp_path)), declared("b")))

    assert infobip.calls[:2] == ["create a", "find a"]
    assert sorted(key.name for key in infobip.keys.values()) == ["a", "b"]
    record = harness.state().resources["api_keys.a"].secret
    assert record is not None and record.status == "lost"
    assert result.secrets_lost == ["api_keys.a"] and result.exit_code == 1
    # The next plan offers a new key in place of the one whose secret nobody has.
    again = plan_for(
        infobip, config(declared("a", secret=sink_to(tmp_path)), declared("b")), harness.state()
    )
    assert {c.address: c.action for c in again.changes}["api_keys.a"] is Action.REPLACE


def test_a_lost_create_of_a_key_without_a_sink_is_adopted_without_complaint(
    harness: Harness,
) -> None:
    harness.infobip.faults["create"] = ["lost"]
    result = harness.apply(config(declared("a")))
    assert result.exit_code == 0
    record = harness.state().resources["api_keys.a"].secret
    assert record is not None and record.status == "not-requested"


def test_a_create_that_never_arrived_is_sent_once_more_and_not_forgotten(
    harness: Harness,
) -> None:
    """The first create may still land after the second: apply looks once more before it
    ends, keeps the journal entry of the first, and does not claim a clean success."""
    infobip = harness.infobip
    infobip.faults["create"] = [AmbiguousWriteError("timed out", operation="create API key")]

    result = harness.apply(config(declared("a")))

    assert infobip.calls == ["create a", "find a", "create a", "find a"]
    assert [key.name for key in infobip.keys.values()] == ["a"]
    assert result.created == 1 and result.exit_code == 1
    assert result.unsettled_creates == ["api_keys.a"]
    assert result.remaining == ["look for the unanswered create of api_keys.a"]
    assert "run apply again" in (result.error or "")
    assert result.only_settling_left
    (kept,) = CreateJournal(harness.store.path).pending()
    assert kept.address == "api_keys.a" and kept.unanswered
    assert any("nobody holds the secret" in w for w in harness.messages(EventKind.WARNING))


def test_a_first_create_that_lands_before_the_apply_ends_is_revoked(harness: Harness) -> None:
    infobip = harness.infobip
    infobip.faults["create"] = ["late"]

    result = harness.apply(config(declared("a")))

    assert infobip.calls[:4] == ["create a", "find a", "create a", "find a"]
    enabled = [key for key in infobip.keys.values() if key.enabled]
    assert [key.id for key in enabled] == [harness.state().resources["api_keys.a"].id]
    (late,) = [key for key in infobip.keys.values() if not key.enabled]
    assert infobip.writes()[-1] == f"update {late.id}"
    assert (result.created, result.revoked, result.exit_code) == (1, 1, 0)
    assert set(harness.state().resources) == {"api_keys.a"}
    assert CreateJournal(harness.store.path).pending() == []
    warnings = " ".join(harness.messages(EventKind.WARNING))
    assert f"key {late.id} is a second key" in warnings and "revoking it" in warnings


def test_a_late_first_create_whose_revoke_fails_is_left_in_state_to_revoke(
    harness: Harness,
) -> None:
    infobip = harness.infobip
    infobip.faults["create"] = ["late"]
    infobip.faults["update"] = [BadRequestError("refused", status=400)]

    result = harness.apply(config(declared("a")))

    kept = harness.state().resources["api_keys.a"].id
    (late,) = [key for key in infobip.keys.values() if key.id != kept]
    assert result.exit_code == 1 and late.enabled
    assert deposed_address("api_keys.a", late.id) in harness.state().resources
    again = plan_for(infobip, config(declared("a")), harness.state())
    revoked = [c.key_id for c in again.changes if c.action is Action.REVOKE]
    assert revoked == [late.id]


def test_two_unanswered_creates_stop_the_apply_without_a_third(harness: Harness) -> None:
    infobip = harness.infobip
    infobip.faults["create"] = [
        AmbiguousWriteError("timed out", operation="create API key"),
        AmbiguousWriteError("timed out", operation="create API key"),
    ]

    result = harness.apply(config(declared("a"), declared("b")))

    assert [c for c in infobip.calls if c.startswith("create")] == ["create a", "create a"]
    assert result.exit_code == 1
    assert result.remaining == ["create api_keys.a", "create api_keys.b"]
    assert "run apply again" in (result.error or "")


def test_an_older_disabled_key_of_the_name_is_not_taken_for_a_lost_create(
    harness: Harness,
) -> None:
    infobip = harness.infobip
    old = infobip.seed("a", enabled=False)  # plan never adopts a disabled key
    plan = plan_for(infobip, config(declared("a")), harness.state())
    infobip.faults["create"] = ["lost"]

    result = harness.apply_plan(plan)

    assert result.exit_code == 0
    adopted = harness.state().resources["api_keys.a"].id
    assert adopted != old.id and infobip.keys[adopted].enabled


def test_several_new_keys_of_the_name_after_a_lost_create_stop_the_apply(
    harness: Harness,
) -> None:
    infobip = harness.infobip
    plan = plan_for(infobip, config(declared("a")), harness.state())
    infobip.seed("a")  # someone else created one since the plan was made
    infobip.faults["create"] = ["lost"]

    result = harness.apply_plan(plan)

    assert result.exit_code == 1
    assert "several keys" in (result.error or "") and "import" in (result.error or "")
    assert "api_keys.a" not in harness.state().resources


def test_an_update_whose_answer_is_lost_is_read_back_not_resent(harness: Harness) -> None:
    infobip = harness.infobip
    harness.apply(config(declared("a")))
    key_id = harness.state().resources["api_keys.a"].id
    infobip.faults["update"] = ["lost"]
    infobip.calls.clear()

    result = harness.apply(config(declared("a", allowed_ips=frozenset({"198.51.100.7/32"}))))

    assert infobip.writes() == [f"update {key_id}"]
    assert f"get {key_id}" in infobip.calls
    assert result.exit_code == 0 and result.updated == 1
    attributes = harness.state().resources["api_keys.a"].attributes
    assert attributes["allowed_ips"] == ["198.51.100.7/32"]


def test_a_revoke_whose_answer_is_lost_is_read_back_not_resent(harness: Harness) -> None:
    infobip = harness.infobip
    harness.apply(config(declared("a")))
    key_id = harness.state().resources["api_keys.a"].id
    infobip.faults["update"] = ["lost"]
    infobip.calls.clear()

    result = harness.apply(config())

    assert infobip.writes() == [f"update {key_id}"]
    assert result.exit_code == 0 and result.revoked == 1
    assert infobip.keys[key_id].enabled is False
    assert harness.state().resources == {}


# --- the daily write limit and other API errors -------------------------------------------


def test_a_429_on_a_write_stops_cleanly_and_the_next_apply_carries_on(harness: Harness) -> None:
    infobip = harness.infobip
    cfg = config(declared("a"), declared("b"), declared("c"))
    infobip.faults["create"] = [
        "ok",
        RateLimitedError("too many", status=429, retry_after=3600.0),
    ]

    stopped = harness.apply(cfg)

    assert stopped.exit_code == 3
    assert stopped.created == 1
    assert stopped.remaining == ["create api_keys.b", "create api_keys.c"]
    assert stopped.resume_after == NOW + timedelta(hours=1)
    assert any("after 2026-11-25T13:00:00Z" in m for m in harness.messages(EventKind.STOPPED))
    assert set(harness.state().resources) == {"api_keys.a"}

    resumed = harness.apply(cfg)

    assert resumed.exit_code == 0 and resumed.created == 2
    assert sorted(key.name for key in infobip.keys.values()) == ["a", "b", "c"]


def test_a_create_refused_with_a_500_is_looked_up_then_sent_again(harness: Harness) -> None:
    """Protection: a server that answered 500 or 503 has finished with the request, so
    once a lookup by name shows no key came of it, the create is sent again in the same
    apply (before, the apply stopped with exit 1 and every such answer cost an apply)."""
    infobip = harness.infobip
    infobip.faults["create"] = [
        ServerError("HTTP 500", status=500),
        ServerError("HTTP 503", status=503),
    ]

    result = harness.apply(config(declared("a")))

    assert result.exit_code == 0, result.error
    assert infobip.writes() == ["create a", "create a", "create a"]
    assert [key.name for key in infobip.keys.values()] == ["a"]
    assert result.created == 1 and result.writes == 3


@pytest.mark.parametrize("status", [502, 504])
def test_a_gateway_error_on_a_create_stops_the_apply(harness: Harness, status: int) -> None:
    """A gateway's upstream may still be at work on the create: it is not sent again; the
    journal has the next apply look for the key."""
    infobip = harness.infobip
    infobip.faults["create"] = [ServerError(f"HTTP {status}", status=status)]

    result = harness.apply(config(declared("a")))

    assert result.exit_code == 1 and f"HTTP {status}" in (result.error or "")
    assert infobip.writes() == ["create a"]


def test_another_api_error_stops_with_what_was_done_saved(harness: Harness) -> None:
    infobip = harness.infobip
    infobip.faults["create"] = ["ok", BadRequestError("bad scope", status=400)]

    result = harness.apply(config(declared("a"), declared("b")))

    assert result.exit_code == 1
    assert "bad scope" in (result.error or "")
    assert set(harness.state().resources) == {"api_keys.a"}


# --- replace ----------------------------------------------------------------------------------


def test_replace_creates_the_new_key_before_revoking_the_old(harness: Harness) -> None:
    infobip = harness.infobip
    harness.apply(config(declared("a")))
    old_id = harness.state().resources["api_keys.a"].id
    infobip.calls.clear()
    plan = make_plan(
        config(declared("a")),
        harness.state(),
        {"_": infobip.list_keys("_")},
        now=NOW,
        replace=("api_keys.a",),
    )

    result = harness.apply_plan(plan)

    assert infobip.writes() == ["create a", f"update {old_id}"]
    assert result.exit_code == 0
    state = harness.state()
    assert set(state.resources) == {"api_keys.a"}
    assert state.resources["api_keys.a"].id != old_id
    assert infobip.keys[old_id].enabled is False


def test_an_interrupted_replace_leaves_the_old_key_in_state_to_be_revoked(
    harness: Harness,
) -> None:
    infobip = harness.infobip
    harness.apply(config(declared("a")))
    old_id = harness.state().resources["api_keys.a"].id
    plan = make_plan(
        config(declared("a")),
        harness.state(),
        {"_": infobip.list_keys("_")},
        now=NOW,
        replace=("api_keys.a",),
    )
    infobip.faults["update"] = [RateLimitedError("too many", status=429)]

    stopped = harness.apply_plan(plan)

    assert stopped.exit_code == 3
    state = harness.state()
    assert state.resources[deposed_address("api_keys.a", old_id)].id == old_id
    # The next plan revokes the old key, which nobody declares any more.
    follow_up = plan_for(infobip, config(declared("a")), state)
    revokes = [c for c in follow_up.changes if c.action is Action.REVOKE]
    assert [c.key_id for c in revokes] == [old_id]
    assert harness.apply_plan(follow_up).exit_code == 0
    assert set(harness.state().resources) == {"api_keys.a"}


# --- secrets ------------------------------------------------------------------------------------


def test_each_secret_reaches_its_sink_before_the_next_write(
    harness: Harness, tmp_path: Path
) -> None:
    infobip = harness.infobip
    seen_before_second_create: list[bool] = []
    real_create = infobip.create_key

    def create(account: str, write: KeyWrite) -> CreatedKey:
        if write.name == "b":
            seen_before_second_create.append((tmp_path / "secrets" / "api_keys.a.env").exists())
        return real_create(account, write)

    infobip.create_key = create  # type: ignore[method-assign]

    result = harness.apply(config(declared("a", secret=sink_to(tmp_path)), declared("b")))

    assert result.exit_code == 0
    assert seen_before_second_create == [True]
    secret_file = tmp_path / "secrets" / "api_keys.a.env"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    record = harness.state().resources["api_keys.a"].secret
    assert record is not None and record.status == "delivered"


def test_a_delivery_names_a_file_as_a_place_and_a_command_as_a_command(
    harness: Harness, tmp_path: Path
) -> None:
    command = SecretSinkSpec(sink="exec", command=("true",), base_dir=str(tmp_path))

    result = harness.apply(
        config(declared("a", secret=sink_to(tmp_path)), declared("b", secret=command))
    )

    assert result.exit_code == 0
    delivered = dict(line.split(": ", 1) for line in harness.messages(EventKind.SECRET))
    assert delivered["api_keys.b"] == "Secret delivered to command true"
    assert delivered["api_keys.a"].startswith("Secret delivered to ")
    assert "command" not in delivered["api_keys.a"]


def test_a_failing_sink_is_reported_recorded_and_the_rest_still_applied(
    harness: Harness, tmp_path: Path
) -> None:
    failing = SecretSinkSpec(sink="exec", command=("false",), base_dir=str(tmp_path))

    result = harness.apply(config(declared("a", secret=failing), declared("b")))

    assert result.created == 2
    assert result.secrets_lost == ["api_keys.a"]
    assert result.exit_code == 1
    warnings = harness.messages(EventKind.WARNING)
    assert any("SECRET NOT DELIVERED" in w for w in warnings)
    record = harness.state().resources["api_keys.a"].secret
    assert record is not None and record.status == "lost"
    for key in harness.infobip.keys.values():
        text = harness.store.path.read_text() + " ".join(harness.messages(EventKind.WARNING))
        assert f"secret-of-{key.id}" not in text


def test_a_lost_secret_is_reported_in_one_sentence_without_repeating_itself(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sink's reason that ends in a full stop of its own gets no second one."""

    def refuse(spec: SecretSinkSpec, secret: Secret, meta: Any, **_: Any) -> Any:
        raise SecretSinkError("give the program and its arguments as a list.")

    monkeypatch.setattr(delivery_module, "deliver", refuse)

    harness.apply(config(declared("a", secret=sink_to(tmp_path))))

    key_id = harness.state().resources["api_keys.a"].id
    (warning,) = harness.messages(EventKind.WARNING)
    assert warning == (
        f"api_keys.a: SECRET NOT DELIVERED [id={key_id}]: give the program and its "
        "arguments as a list. The key exists but nobody holds its secret; the next plan "
        "offers to replace it."
    )


def test_a_second_stop_signal_during_delivery_reports_the_lost_secret(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second Ctrl-C does not wait for the sink: the secret goes with the process, and
    the output says so before the stop is raised on."""

    def interrupted(*_: Any, **__: Any) -> Any:
        raise Stopped(signal.SIGINT)

    monkeypatch.setattr(delivery_module, "deliver", interrupted)

    with pytest.raises(Stopped):
        harness.apply(config(declared("a", secret=sink_to(tmp_path)), declared("b")))

    assert harness.infobip.writes() == ["create a"]
    key_id = harness.state().resources["api_keys.a"].id
    (warning,) = harness.messages(EventKind.WARNING)
    assert warning.startswith(f"api_keys.a: SECRET NOT DELIVERED [id={key_id}]: the apply was")
    record = harness.state().resources["api_keys.a"].secret
    assert record is not None and record.status == "lost"


# --- guard rails ----------------------------------------------------------------------------


def test_a_plan_over_max_writes_is_refused_before_any_write(harness: Harness) -> None:
    with pytest.raises(ApplyRefusedError, match="--max-writes 2"):
        harness.apply(config(declared("a"), declared("b"), declared("c")), max_writes=2)
    assert harness.infobip.writes() == []


def test_revokes_over_policy_max_revokes_need_allow_revokes(harness: Harness) -> None:
    harness.apply(config(declared("a"), declared("b")))
    shrink = config(max_revokes=1)
    with pytest.raises(ApplyRefusedError, match="--allow-revokes"):
        harness.apply(shrink)
    result = harness.apply(shrink, allow_revokes=True)
    assert result.revoked == 2


def test_a_stdout_sink_needs_show_secrets(harness: Harness) -> None:
    loud = declared("a", secret=SecretSinkSpec(sink="stdout"))
    with pytest.raises(ApplyRefusedError, match="--show-secrets"):
        harness.apply(config(loud))
    assert harness.infobip.writes() == []


def test_a_saved_plan_is_stale_when_the_state_moved_on(harness: Harness) -> None:
    saved = plan_for(harness.infobip, config(declared("a")), harness.state())
    harness.apply(config(declared("b")))
    with pytest.raises(StalePlanError, match="state serial"):
        harness.apply_plan(saved, saved_plan=True)


def test_a_saved_plan_is_stale_when_a_touched_live_key_changed(harness: Harness) -> None:
    infobip = harness.infobip
    harness.apply(config(declared("a")))
    saved = plan_for(infobip, config(declared("a", allowed_ips=frozenset())), harness.state())
    key_id = harness.state().resources["api_keys.a"].id
    infobip.keys[key_id] = replace(infobip.keys[key_id], name="renamed by hand")
    infobip.calls.clear()

    with pytest.raises(StalePlanError, match="changed since the plan"):
        harness.apply_plan(saved, saved_plan=True)

    assert infobip.calls == ["list"]


def test_a_saved_plan_is_stale_when_a_key_it_creates_appeared(harness: Harness) -> None:
    saved = plan_for(harness.infobip, config(declared("a")), harness.state())
    harness.infobip.seed("a")
    with pytest.raises(StalePlanError, match='named "a"'):
        harness.apply_plan(saved, saved_plan=True)

"""The planner, rule by rule (SPEC §2): identity, actions and reasons, writes, drift,
unmanaged keys, guard rails, targets and refresh-only plans."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from typing import Any

import pytest
from builders import (
    ACCOUNT_ID,
    NOW,
    change,
    config,
    desired,
    live,
    live_map,
    matching,
    plan,
    record,
    state,
)

from infobip_iac.domain.keys import (
    DesiredConfig,
    ImportBlock,
    KeyWrite,
    Lifecycle,
    MovedBlock,
    Permission,
    PlatformLink,
    SecretSinkSpec,
    SourceRef,
)
from infobip_iac.domain.plan import Action, Reason
from infobip_iac.errors import PlanError, UsageError
from infobip_iac.infobip.api import AccountKeys
from infobip_iac.infobip.wire import live_key_from_wire
from infobip_iac.render.text import render_text
from infobip_iac.state.model import SecretRecord, StateDocument

SCOPES = frozenset({"sms:message:send", "sms:logs:read"})
BASE = desired(
    "ci",
    name="CI sender",
    scopes=SCOPES,
    allowed_ips=frozenset({"198.51.100.7/32"}),
    valid_from=NOW + timedelta(hours=1),
    valid_to=NOW + timedelta(days=90),
)


def write_fields(write: KeyWrite) -> dict[str, Any]:
    """The fields `write` sets, its links as plan JSON shows them (the cases spell them so)."""
    shown = {f.name: getattr(write, f.name) for f in fields(write)}
    shown = {name: value for name, value in shown.items() if value is not None}
    if "platform" in shown:
        shown["platform"] = tuple(link.as_json() for link in shown["platform"])
    return shown


def managed(key: Any = BASE, key_id: str = "K1", **live_fields: Any) -> tuple[Any, Any, Any]:
    """(config, state, live) where `key` manages live key `key_id`, in sync unless
    `live_fields` change the live key afterwards (state keeps what was written)."""
    written = matching(key, key_id)
    current = replace(written, **live_fields) if live_fields else written
    return (
        config(key),
        state({key.address: record(written)}),
        live_map(current),
    )


# -- every attribute, alone and together ---------------------------------------------------

ATTRIBUTE_EDITS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # attribute: (declared fields, the expected write)
    "name": ({"name": "CI sender v2"}, {"name": "CI sender v2"}),
    "scopes": (
        {"scopes": frozenset({"sms:message:send", "2fa:pin:send"})},
        {"scopes": frozenset({"sms:message:send", "2fa:pin:send"})},
    ),
    "permissions": (
        {"permissions": frozenset({Permission.TWO_FA_CLIENT})},
        {"permissions": frozenset({Permission.TWO_FA_CLIENT})},
    ),
    "allowed_ips": (
        {"allowed_ips": frozenset({"198.51.100.7/32", "2001:db8::/48"})},
        {"allowed_ips": frozenset({"198.51.100.7/32", "2001:db8::/48"})},
    ),
    "valid_from": (
        {"valid_from": NOW + timedelta(days=2)},
        {"valid_from": NOW + timedelta(days=2)},
    ),
    "valid_to": (
        {"valid_to": NOW + timedelta(days=30)},
        {"valid_to": NOW + timedelta(days=30)},
    ),
}


@pytest.mark.parametrize("attribute", sorted(ATTRIBUTE_EDITS))
def test_one_changed_attribute_is_one_put_of_that_field(attribute: str) -> None:
    fields, expected_write = ATTRIBUTE_EDITS[attribute]
    declared = replace(BASE, **fields)
    _, current, reads = managed()

    made = plan(config(declared), current, reads)

    update = change(made, "api_keys.ci")
    assert (update.action, update.reason) == (Action.UPDATE, Reason.CHANGED)
    assert update.write is not None
    assert write_fields(update.write) == expected_write
    assert [c.attribute for c in update.changes] == [attribute]
    assert update.writes == 1 and made.writes == 1
    assert update.key_id == "K1"
    assert update.after is not None and update.before is not None
    assert {a for a in update.after if update.after[a] != update.before[a]} == {attribute}


def test_platform_links_change_alone() -> None:
    link = PlatformLink(application_id="app-1", entity_id="shop-7")
    linked = replace(BASE, platform=(link,), scopes=frozenset())
    written = matching(linked, "K1")
    unlinked = replace(written, platform=())

    made = plan(config(linked), state({linked.address: record(written)}), live_map(unlinked))

    update = change(made, "api_keys.ci")
    assert update.write is not None
    assert write_fields(update.write) == {
        "platform": ({"application_id": "app-1", "entity_id": "shop-7"},)
    }
    assert update.changes[0].added == ({"application_id": "app-1", "entity_id": "shop-7"},)


def test_every_attribute_together_is_still_one_put() -> None:
    fields: dict[str, Any] = {}
    expected: dict[str, Any] = {}
    for edit, write in ATTRIBUTE_EDITS.values():
        fields.update(edit)
        expected.update(write)
    declared = replace(BASE, **fields)
    _, current, reads = managed()

    update = change(plan(config(declared), current, reads), "api_keys.ci")

    assert update.action is Action.UPDATE
    assert update.write is not None
    assert write_fields(update.write) == expected
    assert [c.attribute for c in update.changes] == [
        "name",
        "scopes",
        "permissions",
        "allowed_ips",
        "valid_from",
        "valid_to",
    ]
    assert update.writes == 1


def test_set_changes_list_added_removed_and_unchanged_members() -> None:
    declared = replace(
        BASE, scopes=frozenset({"sms:message:send", "sms:logs:read", "2fa:pin:send"})
    )
    _, current, reads = managed(scopes=frozenset({"sms:message:send", "sms:logs:read", "x:y"}))

    scopes = change(plan(config(declared), current, reads), "api_keys.ci").changes[0]

    assert scopes.attribute == "scopes"
    assert scopes.added == ("2fa:pin:send",)
    assert scopes.removed == ("x:y",)
    assert scopes.unchanged == 2


# -- the action table ------------------------------------------------------------------------


@dataclass
class Case:
    build: Callable[[], tuple[DesiredConfig, StateDocument, dict[str, AccountKeys]]]
    address: str
    action: Action
    reason: Reason
    writes: int
    write: dict[str, Any] | None = None
    flags: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


def _create_new() -> Any:
    return config(BASE), state(), live_map()


def _create_gone() -> Any:
    _, current, _ = managed()
    return config(BASE), current, live_map()


def _reenable() -> Any:
    return managed(enabled=False)


def _disabled_in_config() -> Any:
    declared = replace(BASE, enabled=False)
    _, current, reads = managed()
    return config(declared), current, reads


def _declared_disabled_already_disabled() -> Any:
    declared = replace(BASE, enabled=False)
    _, current, reads = managed(enabled=False)
    return config(declared), current, reads


def _declared_disabled_nothing_live() -> Any:
    return config(replace(BASE, enabled=False)), state(), live_map()


def _removed_enabled() -> Any:
    _, current, reads = managed()
    return config(), current, reads


def _removed_disabled() -> Any:
    _, current, reads = managed(enabled=False)
    return config(), current, reads


def _removed_gone() -> Any:
    _, current, _ = managed()
    return config(), current, live_map()


def _account_changed() -> Any:
    elsewhere = replace(BASE, account="55555")
    _, current, reads = managed()
    reads["55555"] = AccountKeys(account="55555", keys=[], requests=1)
    return config(elsewhere), current, reads


def _secret_lost() -> Any:
    declared, current, reads = managed()
    lost = SecretRecord(sink="file", status="lost", detail="disk full")
    current.resources["api_keys.ci"].secret = lost
    return declared, current, reads


def _adopted() -> Any:
    return config(BASE), state(), live_map(matching(BASE, "K9"))


def _adopted_and_updated() -> Any:
    return config(BASE), state(), live_map(matching(BASE, "K9", scopes=frozenset({"x:y"})))


def _moved() -> Any:
    _, current, reads = managed()
    current.resources = {"api_keys.old-ci": current.resources["api_keys.ci"]}
    return config(BASE, moved=[("api_keys.old-ci", "api_keys.ci")]), current, reads


def _imported() -> Any:
    stranger = matching(BASE, "K7", name="someone else's name")
    return config(BASE, imports=[("api_keys.ci", "K7")]), state(), live_map(stranger)


def _unmanaged_revoked() -> Any:
    return config(unmanaged_keys="revoke"), state(), live_map(live("U1", "stranger"))


CASES = {
    "create": Case(_create_new, "api_keys.ci", Action.CREATE, Reason.NEW, 1),
    "create again when the key is gone": Case(
        _create_gone, "api_keys.ci", Action.CREATE, Reason.GONE, 1
    ),
    "re-enable": Case(
        _reenable, "api_keys.ci", Action.UPDATE, Reason.REENABLE, 1, {"enabled": True}
    ),
    "revoke: disabled in config": Case(
        _disabled_in_config,
        "api_keys.ci",
        Action.REVOKE,
        Reason.DISABLED_IN_CONFIG,
        1,
        {"enabled": False},
    ),
    "declared disabled, live disabled": Case(
        _declared_disabled_already_disabled, "api_keys.ci", Action.NOOP, Reason.NONE, 0
    ),
    "declared disabled, nothing live: never created": Case(
        _declared_disabled_nothing_live, "api_keys.ci", Action.NOOP, Reason.NONE, 0
    ),
    "revoke: removed from config": Case(
        _removed_enabled,
        "api_keys.ci",
        Action.REVOKE,
        Reason.REMOVED_FROM_CONFIG,
        1,
        {"enabled": False},
        {"forget": True},
    ),
    "removed, already disabled: forget only": Case(
        _removed_disabled,
        "api_keys.ci",
        Action.NOOP,
        Reason.REMOVED_FROM_CONFIG,
        0,
        flags={"forget": True, "key_id": "K1"},
    ),
    "removed, key gone: forget only": Case(
        _removed_gone,
        "api_keys.ci",
        Action.NOOP,
        Reason.REMOVED_FROM_CONFIG,
        0,
        flags={"forget": True, "key_id": None},
    ),
    "replace: account changed": Case(
        _account_changed,
        "api_keys.ci",
        Action.REPLACE,
        Reason.ACCOUNT_CHANGED,
        2,
        flags={"key_id": "K1", "account": "55555"},
    ),
    "replace: requested": Case(
        managed,
        "api_keys.ci",
        Action.REPLACE,
        Reason.REPLACE_REQUESTED,
        2,
        flags={"key_id": "K1"},
        options={"replace": ["api_keys.ci"]},
    ),
    "replace: secret lost": Case(
        _secret_lost, "api_keys.ci", Action.REPLACE, Reason.SECRET_LOST, 2, flags={"key_id": "K1"}
    ),
    "adopt by name": Case(
        _adopted,
        "api_keys.ci",
        Action.NOOP,
        Reason.NONE,
        0,
        flags={"importing_id": "K9", "adopted_by_name": True, "key_id": "K9"},
    ),
    "adopt by name, then update": Case(
        _adopted_and_updated,
        "api_keys.ci",
        Action.UPDATE,
        Reason.CHANGED,
        1,
        {"scopes": SCOPES},
        {"importing_id": "K9", "adopted_by_name": True},
    ),
    "move": Case(
        _moved,
        "api_keys.ci",
        Action.NOOP,
        Reason.NONE,
        0,
        flags={"previous_address": "api_keys.old-ci"},
    ),
    "import": Case(
        _imported,
        "api_keys.ci",
        Action.UPDATE,
        Reason.CHANGED,
        1,
        {"name": "CI sender"},
        {"importing_id": "K7", "adopted_by_name": False},
    ),
    "unmanaged key, policy revoke": Case(
        _unmanaged_revoked,
        "unmanaged._.U1",
        Action.REVOKE,
        Reason.UNMANAGED,
        1,
        {"enabled": False},
        {"key_id": "U1"},
    ),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_action_table(case: Case) -> None:
    declared, current, reads = case.build()

    made = plan(declared, current, reads, **case.options)

    found = change(made, case.address)
    assert (found.action, found.reason, found.writes) == (case.action, case.reason, case.writes)
    if case.write is not None:
        assert found.write is not None
        assert write_fields(found.write) == case.write
    for name, value in case.flags.items():
        assert getattr(found, name) == value, name
    assert made.writes == case.writes


def test_create_carries_the_full_body_and_unknowns() -> None:
    declared = desired(
        "ci",
        name="CI sender",
        scopes=SCOPES,
        valid_for=timedelta(days=90),
        secret=SecretSinkSpec(sink="file", path="secrets/ci.env"),
    )

    create = change(plan(config(declared)), "api_keys.ci")

    assert create.before is None and create.key_id is None
    assert create.after_unknown == ("id", "valid_from", "valid_to")
    assert create.after is not None and "valid_to" not in create.after
    assert create.write is not None
    # valid_for stays relative: apply resolves it against Infobip's clock when it creates
    assert create.write.valid_for == timedelta(days=90) and create.write.valid_to is None
    assert create.write.name == "CI sender" and create.write.scopes == SCOPES
    assert create.write.permissions == frozenset({Permission.PUBLIC_API})
    assert create.write.enabled is None  # the create request has no such field
    assert create.secret_sink == SecretSinkSpec(sink="file", path="secrets/ci.env")


def test_create_with_valid_from_and_valid_for_knows_valid_to() -> None:
    start = NOW + timedelta(days=1)
    declared = desired("ci", valid_from=start, valid_for=timedelta(days=10))

    create = change(plan(config(declared)), "api_keys.ci")

    assert create.after_unknown == ("id",)
    assert create.after is not None
    assert create.after["valid_to"] == "2026-12-06T12:00:00Z"
    # Resolved once, here: apply and the client send this instant as it is. The declared
    # valid_for goes along for state to record; it is never sent.
    assert create.write is not None
    assert create.write.valid_to == start + timedelta(days=10)
    assert create.write.valid_for == timedelta(days=10)


def test_create_without_a_sink_carries_none() -> None:
    assert change(plan(config(BASE)), "api_keys.ci").secret_sink is None


def test_replace_shows_the_account_change_and_creates_in_the_new_account() -> None:
    declared, current, reads = _account_changed()

    replace = change(plan(declared, current, reads), "api_keys.ci")

    assert replace.changes[0].attribute == "account"
    assert (replace.changes[0].before, replace.changes[0].after) == ("_", "55555")
    assert replace.write is not None and replace.write.name == "CI sender"
    assert replace.before is not None and replace.after is not None


def test_same_account_written_as_underscore_or_id_is_not_a_replace() -> None:
    by_id = replace(BASE, account=ACCOUNT_ID)
    _, current, reads = managed()
    reads[ACCOUNT_ID] = AccountKeys(account=ACCOUNT_ID, keys=reads["_"].keys, requests=1)

    made = plan(config(by_id), current, reads)

    assert change(made, "api_keys.ci").action is Action.NOOP
    assert made.unmanaged == ()


# -- identity ----------------------------------------------------------------------------------


def test_ambiguous_name_is_an_error_listing_the_ids_and_the_fix() -> None:
    twins = live_map(matching(BASE, "K1"), matching(BASE, "K2"))

    with pytest.raises(PlanError) as raised:
        plan(config(BASE), state(), twins)

    message = str(raised.value)
    assert "K1" in message and "K2" in message
    assert "imports" in message and "api_keys.ci" in message


def test_adoption_ignores_disabled_and_claimed_keys() -> None:
    disabled = matching(BASE, "K1", enabled=False)
    other = desired("other", name="CI sender")
    claimed = matching(other, "K2")
    current = state({"api_keys.other": record(claimed)})

    made = plan(config(BASE, other), current, live_map(disabled, claimed))

    assert change(made, "api_keys.ci").action is Action.CREATE


def test_one_live_key_is_adopted_by_one_address_only() -> None:
    twin = desired("twin", name="CI sender", scopes=SCOPES)

    made = plan(config(BASE, twin), state(), live_map(matching(BASE, "K1")))

    assert change(made, "api_keys.ci").importing_id == "K1"
    assert change(made, "api_keys.twin").action is Action.CREATE


def test_move_with_a_change_carries_the_previous_address() -> None:
    _, current, reads = _moved()
    renamed = replace(BASE, name="CI sender v2")

    update = change(
        plan(config(renamed, moved=[("api_keys.old-ci", "api_keys.ci")]), current, reads),
        "api_keys.ci",
    )

    assert update.action is Action.UPDATE
    assert update.previous_address == "api_keys.old-ci"


def test_move_onto_an_address_in_state_is_an_error() -> None:
    other = matching(BASE, "K2")
    _, current, reads = managed()
    current.resources["api_keys.old-ci"] = record(other)
    reads = live_map(matching(BASE, "K1"), other)

    with pytest.raises(PlanError, match=r"api_keys\.ci is already in state"):
        plan(config(BASE, moved=[("api_keys.old-ci", "api_keys.ci")]), current, reads)


def test_an_applied_move_is_skipped() -> None:
    _, current, reads = managed()

    made = plan(config(BASE, moved=[("api_keys.old-ci", "api_keys.ci")]), current, reads)

    assert not made.has_changes


def test_import_of_an_unknown_id_names_the_block() -> None:
    block = ImportBlock(
        to_address="api_keys.ci",
        key_id="NOPE",
        source=SourceRef(file="keys.yaml", line=12, column=5),
    )
    declared = replace(config(BASE), imports=(block,))

    with pytest.raises(
        PlanError, match=r"imports block at keys\.yaml:12:5: no live key has id NOPE"
    ):
        plan(declared, state(), live_map())


@pytest.mark.parametrize(
    ("imports", "keys", "needle"),
    [
        ([("api_keys.ghost", "K7")], ["K7"], "api_keys.ghost is not declared"),
        ([("api_keys.ci", "K7"), ("api_keys.ci", "K7")], ["K7"], None),
        ([("api_keys.ci", "K1")], ["K1"], "already managed by api_keys.other"),
    ],
)
def test_import_problems(
    imports: list[tuple[str, str]], keys: list[str], needle: str | None
) -> None:
    other = desired("other")
    reads = live_map(*(matching(BASE, key_id, name=f"n-{key_id}") for key_id in keys))
    current = state()
    if needle and "already managed" in needle:
        current = state({"api_keys.other": record(reads["_"].keys[0])})

    if needle is None:  # the same block twice imports once
        made = plan(config(BASE, other, imports=imports), current, reads)
        assert change(made, "api_keys.ci").importing_id == "K7"
        return
    with pytest.raises(PlanError, match=needle):
        plan(config(BASE, other, imports=imports), current, reads)


def test_import_already_applied_is_a_no_op() -> None:
    _, current, reads = managed()

    made = plan(config(BASE, imports=[("api_keys.ci", "K1")]), current, reads)

    assert not made.has_changes


def test_duplicate_ids_in_state_are_an_error() -> None:
    key = matching(BASE, "K1")
    current = state({"api_keys.ci": record(key), "api_keys.copy": record(key)})

    with pytest.raises(PlanError, match="same key K1"):
        plan(config(BASE), current, live_map(key))


def test_an_account_that_was_not_read_is_an_error() -> None:
    with pytest.raises(PlanError, match="55555"):
        plan(config(replace(BASE, account="55555")), state(), live_map())


# -- lifecycle ---------------------------------------------------------------------------------


def test_ignore_changes_leaves_the_attribute_alone() -> None:
    declared = replace(BASE, lifecycle=Lifecycle(ignore_changes=frozenset({"valid_to"})))
    _, current, reads = managed(valid_to=NOW + timedelta(days=5))

    made = plan(config(declared), current, reads)

    kept = change(made, "api_keys.ci")
    assert kept.action is Action.NOOP
    assert kept.ignored == ("valid_to",)
    assert [(d.address, d.will_revert) for d in made.drift] == [("api_keys.ci", False)]


def test_ignore_changes_still_updates_the_other_attributes() -> None:
    declared = replace(
        BASE, name="renamed", lifecycle=Lifecycle(ignore_changes=frozenset({"valid_to"}))
    )
    _, current, reads = managed(valid_to=NOW + timedelta(days=5))

    update = change(plan(config(declared), current, reads), "api_keys.ci")

    assert update.write is not None
    assert write_fields(update.write) == {"name": "renamed"}


def _guarded(**update: Any) -> Any:
    return replace(BASE, lifecycle=Lifecycle(prevent_revoke=True), **update)


@pytest.mark.parametrize(
    ("declared", "options", "verb"),
    [
        (_guarded(enabled=False), {}, "revoke"),
        (_guarded(), {"replace": ["api_keys.ci"]}, "replace"),
        (_guarded(account="55555"), {}, "replace"),
    ],
    ids=["disabled", "replace requested", "account changed"],
)
def test_prevent_revoke_declared_refuses_the_plan(
    declared: Any, options: dict[str, Any], verb: str
) -> None:
    _, current, reads = managed()
    reads["55555"] = AccountKeys(account="55555", keys=[], requests=1)

    with pytest.raises(PlanError, match=rf"prevent_revoke, but this plan would {verb} it"):
        plan(config(declared), current, reads, **options)


def test_prevent_revoke_remembered_in_state_refuses_the_removal() -> None:
    _, current, reads = managed()
    current.resources["api_keys.ci"].prevent_revoke = True

    with pytest.raises(PlanError, match=r"state remembers it.*state rm api_keys\.ci"):
        plan(config(), current, reads)


def test_prevent_revoke_allows_updates_and_is_carried_for_apply() -> None:
    declared = _guarded(name="renamed")
    _, current, reads = managed()

    update = change(plan(config(declared), current, reads), "api_keys.ci")

    assert update.action is Action.UPDATE
    assert update.prevent_revoke is True


def test_every_guard_violation_is_listed_at_once() -> None:
    one = desired("one", enabled=False, lifecycle=Lifecycle(prevent_revoke=True))
    two = desired("two", enabled=False, lifecycle=Lifecycle(prevent_revoke=True))
    keys = [
        matching(replace(one, enabled=True), "K1"),
        matching(replace(two, enabled=True), "K2"),
    ]
    current = state({"api_keys.one": record(keys[0]), "api_keys.two": record(keys[1])})

    with pytest.raises(PlanError, match=r"2 problems") as raised:
        plan(config(one, two), current, live_map(*keys))

    assert "api_keys.one" in str(raised.value) and "api_keys.two" in str(raised.value)


# -- unmanaged keys ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "reported", "revoked"),
    [
        ("ignore", [], []),
        ("report", [("U1", "report")], []),
        ("revoke", [("U1", "revoke")], ["unmanaged._.U1"]),
    ],
)
def test_unmanaged_keys_follow_the_policy(
    policy: str, reported: list[tuple[str, str]], revoked: list[str]
) -> None:
    _, current, _ = managed()
    reads = live_map(matching(BASE, "K1"), live("U1", "stranger"), live("U2", "old", enabled=False))

    made = plan(config(BASE, unmanaged_keys=policy), current, reads)

    assert [(u.key_id, u.disposition) for u in made.unmanaged] == reported
    assert [c.address for c in made.changes if c.action is Action.REVOKE] == revoked


def test_unmanaged_keys_exclude_adopted_and_imported_ones() -> None:
    imported = desired("imported", name="whatever")
    reads = live_map(matching(BASE, "K1"), live("K7", "legacy"))

    made = plan(config(BASE, imported, imports=[("api_keys.imported", "K7")]), state(), reads)

    assert made.unmanaged == ()


def test_a_key_read_under_two_references_is_reported_once() -> None:
    stranger = live("U1", "stranger")
    reads = live_map(stranger, **{ACCOUNT_ID: [stranger]})

    made = plan(config(), state(), reads)

    assert [u.key_id for u in made.unmanaged] == ["U1"]


# -- drift and refresh-only --------------------------------------------------------------------


def test_drift_is_reported_and_reverted() -> None:
    _, current, reads = managed(allowed_ips=frozenset({"0.0.0.0/0"}))

    made = plan(config(BASE), current, reads)

    (item,) = made.drift
    assert item.address == "api_keys.ci" and item.key_id == "K1" and item.will_revert
    (moved,) = item.changes
    assert (moved.attribute, moved.added, moved.removed) == (
        "allowed_ips",
        ("0.0.0.0/0",),
        ("198.51.100.7/32",),
    )
    assert change(made, "api_keys.ci").action is Action.UPDATE


def test_drift_that_matches_the_new_declaration_is_not_reverted() -> None:
    declared = replace(BASE, name="renamed outside")
    _, current, reads = managed(name="renamed outside")

    made = plan(config(declared), current, reads)

    assert not made.has_changes
    assert [d.will_revert for d in made.drift] == [False]


def test_refresh_only_writes_nothing_and_lists_drift() -> None:
    gone = desired("gone")
    _, current, reads = managed(name="renamed outside")
    current.resources["api_keys.gone"] = record(matching(gone, "K5"))

    made = plan(config(BASE, gone, unmanaged_keys="revoke"), current, reads, refresh_only=True)

    assert made.refresh_only and made.writes == 0
    assert {c.action for c in made.changes} == {Action.NOOP}
    assert change(made, "api_keys.gone").forget
    refreshed = change(made, "api_keys.ci")
    assert refreshed.before is not None and refreshed.before["name"] == "renamed outside"
    assert [(d.address, d.will_revert) for d in made.drift] == [("api_keys.ci", False)]
    assert "K1" in made.fingerprints


# -- targets, writes, determinism ----------------------------------------------------------------


def test_targets_plan_only_those_addresses() -> None:
    other = desired("other")
    declared = config(BASE, other, unmanaged_keys="revoke")
    reads = live_map(live("U1", "stranger"))

    made = plan(declared, state(), reads, targets=["api_keys.other"])

    assert [c.address for c in made.changes] == ["api_keys.other"]
    assert made.targets == ("api_keys.other",)
    assert [u.disposition for u in made.unmanaged] == ["report"]


def test_a_target_includes_the_move_it_depends_on() -> None:
    declared, current, reads = _moved()

    made = plan(declared, current, reads, targets=["api_keys.ci"])

    assert change(made, "api_keys.ci").previous_address == "api_keys.old-ci"


def test_targets_skip_problems_elsewhere() -> None:
    other = desired("other", name="twin")
    reads = live_map(live("T1", "twin"), live("T2", "twin"))

    made = plan(config(BASE, other), state(), reads, targets=["api_keys.ci"])

    assert [c.address for c in made.changes] == ["api_keys.ci"]


def test_a_targeted_plan_counts_the_changes_it_leaves_out() -> None:
    untouched = desired("untouched")
    quiet_key = matching(untouched, "K2")
    declared = config(
        replace(BASE, name="renamed"),
        untouched,
        desired("fresh"),
        unmanaged_keys="revoke",
    )
    current = state(
        {
            "api_keys.ci": record(matching(BASE, "K1")),
            "api_keys.untouched": record(quiet_key),
        }
    )
    reads = live_map(matching(BASE, "K1"), quiet_key, live("U1", "stranger"))

    made = plan(declared, current, reads, targets=["api_keys.untouched"])

    # Declared and unchanged: a no-op, as in Terraform. Left out: the update of ci, the
    # create of fresh and the revoke of the unmanaged key.
    assert [(c.address, c.action) for c in made.changes] == [("api_keys.untouched", Action.NOOP)]
    assert not made.has_changes
    assert made.changes_outside_targets == 3
    assert any("3 changes to keys outside --target left out" in w for w in made.warnings)


def test_a_targeted_plan_leaves_out_nothing_when_the_rest_is_in_sync() -> None:
    other = desired("other")
    _, current, reads = managed()
    current.resources["api_keys.other"] = record(matching(other, "K2"))
    reads = live_map(*reads["_"].keys, matching(other, "K2"))

    made = plan(config(BASE, other), current, reads, targets=["api_keys.ci"])

    assert made.changes_outside_targets == 0 and made.warnings == ()


def test_a_left_out_key_that_could_not_be_planned_still_counts() -> None:
    guarded = desired("guarded", enabled=False, lifecycle=Lifecycle(prevent_revoke=True))
    guarded_key = matching(replace(guarded, enabled=True), "G1")
    _, current, reads = managed()
    current.resources["api_keys.guarded"] = record(guarded_key)
    reads = live_map(*reads["_"].keys, guarded_key)

    made = plan(config(BASE, guarded), current, reads, targets=["api_keys.ci"])

    assert made.changes_outside_targets == 1


def test_a_targeted_refresh_only_plan_counts_drift_outside_the_targets() -> None:
    other = desired("other")
    other_key = matching(other, "K2")
    _, current, reads = managed()
    current.resources["api_keys.other"] = record(other_key)
    reads = live_map(*reads["_"].keys, replace(other_key, name="renamed by hand"))

    made = plan(config(BASE, other), current, reads, targets=["api_keys.ci"], refresh_only=True)

    assert made.drift == () and made.changes_outside_targets == 1


def test_an_unknown_target_is_refused_with_the_address_meant() -> None:
    with pytest.raises(
        UsageError, match=r"api_keys\.cj matches no declared key.*did you mean api_keys\.ci\?"
    ):
        plan(config(BASE), targets=["api_keys.cj"])


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"targets": ["nope"]}, '--target "nope" is not a key address'),
        ({"targets": ["API_KEYS.CI"]}, '--target "API_KEYS.CI" is not a key address'),
        ({"replace": ["ci"]}, r'--replace "ci" is not a key address.*did you mean api_keys\.ci\?'),
        ({"replace": ["unmanaged._.U1"]}, '--replace "unmanaged._.U1" is not a key address'),
    ],
)
def test_target_and_replace_must_be_addresses(options: dict[str, Any], expected: str) -> None:
    with pytest.raises(UsageError, match=expected):
        plan(config(BASE), **options)


def test_a_bad_address_is_offered_only_an_address_that_exists() -> None:
    with pytest.raises(UsageError) as refused:
        plan(config(BASE), targets=["nope"])
    assert "did you mean" not in str(refused.value)

    with pytest.raises(UsageError, match=r"did you mean api_keys\.ci\?$"):
        plan(config(BASE), targets=["ci"])


def test_an_unmanaged_key_address_is_a_valid_target() -> None:
    made = plan(
        config(unmanaged_keys="revoke"),
        state(),
        live_map(live("U1", "stranger")),
        targets=["unmanaged._.U1"],
    )

    assert [c.address for c in made.changes] == ["unmanaged._.U1"]


def test_replace_of_an_undeclared_address_is_an_error_with_a_suggestion() -> None:
    declared, current, reads = managed()

    with pytest.raises(UsageError) as refused:
        plan(declared, current, reads, replace=["api_keys.cj"])

    assert str(refused.value) == (
        "--replace api_keys.cj: no key is declared at this address; did you mean api_keys.ci?"
    )


@pytest.mark.parametrize(
    ("setup", "options", "expected"),
    [
        ("removed", {}, "no longer declared"),
        ("disabled", {}, "declared with enabled: false"),
        ("managed", {"targets": ["api_keys.other"]}, "add --target api_keys.ci"),
        ("managed", {"refresh_only": True}, "refresh-only plan writes no key"),
    ],
)
def test_a_replace_the_plan_would_skip_is_an_error(
    setup: str, options: dict[str, Any], expected: str
) -> None:
    declared, current, reads = managed()
    if setup == "removed":
        declared = config()
    elif setup == "disabled":
        declared = config(replace(BASE, enabled=False))
    declared = config(*declared.keys.values(), desired("other"))

    with pytest.raises(UsageError, match=expected):
        plan(declared, current, reads, replace=["api_keys.ci"], **options)


def test_replace_within_the_targets_is_planned() -> None:
    declared, current, reads = managed()

    made = plan(declared, current, reads, targets=["api_keys.ci"], replace=["api_keys.ci"])

    assert change(made, "api_keys.ci").action is Action.REPLACE


def test_writes_are_counted_against_the_limit() -> None:
    fresh = desired("fresh")
    changed = replace(BASE, name="renamed")
    gone = desired("gone")
    gone_key = matching(gone, "K3")
    replaced = desired("rotated")
    rotated_key = matching(replaced, "K4")
    current = state(
        {
            "api_keys.ci": record(matching(BASE, "K1")),
            "api_keys.gone": record(gone_key),
            "api_keys.rotated": record(rotated_key),
        }
    )
    reads = live_map(matching(BASE, "K1"), gone_key, rotated_key)

    made = plan(
        config(fresh, changed, replaced),
        current,
        reads,
        replace=["api_keys.rotated"],
        write_limit=3,
    )

    assert [(c.address, c.writes) for c in made.changes] == [
        ("api_keys.ci", 1),
        ("api_keys.fresh", 1),
        ("api_keys.gone", 1),
        ("api_keys.rotated", 2),
    ]
    assert made.writes == 5 and made.write_limit == 3


def test_staleness_guards_are_recorded() -> None:
    declared = replace(BASE, name="renamed")
    untouched = desired("untouched")
    _, current, reads = managed()
    quiet = matching(untouched, "K2")
    current.resources["api_keys.untouched"] = record(quiet)
    reads = live_map(*reads["_"].keys, quiet)

    made = plan(config(declared, untouched), current, reads)

    assert (made.state_lineage, made.state_serial) == (current.lineage, current.serial)
    assert made.fingerprints == {"K1": reads["_"].keys[0].fingerprint()}
    assert made.created_at == NOW


def test_the_plan_is_deterministic_and_sorted() -> None:
    keys = [desired(name) for name in ("zeta", "alpha", "mid")]
    reads = live_map(live("U2", "b"), live("U1", "a"))

    first = plan(config(*keys, unmanaged_keys="revoke"), state(), reads)
    second = plan(config(*reversed(keys), unmanaged_keys="revoke"), state(), reads)

    assert first == second
    addresses = [c.address for c in first.changes]
    assert addresses == sorted(addresses)


def test_incomplete_reads_are_recorded_and_warned_about() -> None:
    reads = {
        "_": AccountKeys(
            account="_", keys=[], requests=101, complete=False, notes=["beyond 10,100 keys"]
        )
    }

    made = plan(config(BASE), state(), reads)

    assert made.reads[0].requests == 101 and not made.reads[0].complete
    assert any("incompletely" in w and "10,100" in w for w in made.warnings)


# -- relative validity ---------------------------------------------------------------------------


def _relative(**fields: Any) -> Any:
    return desired("rel", valid_for=timedelta(days=90), **fields)


def test_valid_for_keeps_the_instant_written_at_creation() -> None:
    declared = _relative()
    created = matching(
        declared, "K1", valid_from=NOW - timedelta(days=40), valid_to=NOW + timedelta(days=50)
    )
    current = state({declared.address: record(created, valid_for="90d")})

    made = plan(config(declared), current, live_map(created), now=NOW + timedelta(days=30))

    assert not made.has_changes


def test_a_changed_valid_for_moves_valid_to_from_the_live_valid_from() -> None:
    declared = replace(_relative(), valid_for=timedelta(days=120))
    created = matching(
        declared, "K1", valid_from=NOW - timedelta(days=40), valid_to=NOW + timedelta(days=50)
    )
    current = state({declared.address: record(created, valid_for="90d")})

    update = change(plan(config(declared), current, live_map(created)), "api_keys.rel")

    assert update.write is not None
    assert write_fields(update.write) == {"valid_to": NOW + timedelta(days=80)}


def test_valid_for_reverts_a_valid_to_changed_outside() -> None:
    declared = _relative()
    created = matching(
        declared, "K1", valid_from=NOW - timedelta(days=40), valid_to=NOW + timedelta(days=50)
    )
    moved_out = replace(created, valid_to=NOW + timedelta(days=500))
    current = state({declared.address: record(created, valid_for="90d")})

    update = change(plan(config(declared), current, live_map(moved_out)), "api_keys.rel")

    assert update.write is not None and update.write.valid_to == NOW + timedelta(days=50)


def test_an_invalid_instant_in_state_is_a_plan_error() -> None:
    declared = _relative()
    created = matching(declared, "K1")
    broken = record(created, valid_for="90d")
    broken.attributes["valid_to"] = "next tuesday"

    with pytest.raises(PlanError, match="invalid valid_to"):
        plan(config(declared), state({declared.address: broken}), live_map(created))


def test_moved_blocks_and_imports_from_source_refs() -> None:
    """Problems point at the manifest line of the block that caused them."""
    block = MovedBlock(
        from_address="api_keys.a",
        to_address="api_keys.b",
        source=SourceRef(file="m.yaml", line=3, column=4),
    )
    one, two = matching(desired("a"), "K1"), matching(desired("b"), "K2")
    current = state({"api_keys.a": record(one), "api_keys.b": record(two)})
    declared = replace(config(desired("a"), desired("b")), moved=(block,))

    with pytest.raises(PlanError, match=r"moved block at m\.yaml:3:4"):
        plan(declared, current, live_map(one, two))


def test_a_moved_address_that_is_still_declared_is_an_error() -> None:
    old = desired("old-ci")
    _, current, reads = _moved()

    with pytest.raises(
        PlanError, match=r"api_keys\.old-ci is moved to api_keys\.ci but is still declared"
    ):
        plan(config(BASE, old, moved=[("api_keys.old-ci", "api_keys.ci")]), current, reads)


def test_a_state_entry_whose_key_is_gone_binds_nothing() -> None:
    """Infobip cannot delete keys, so such an entry is stale: the address is matched by
    name like a new one, and the same decision holds once the entry is dropped."""
    _, current, _ = managed()
    same_name = matching(BASE, "K2")

    adopted = change(plan(config(BASE), current, live_map(same_name)), "api_keys.ci")

    assert (adopted.action, adopted.importing_id, adopted.adopted_by_name) == (
        Action.NOOP,
        "K2",
        True,
    )


def test_an_imports_block_for_a_managed_address_is_done() -> None:
    """As in Terraform, the block stays in the manifest after the import (and after a
    replace gave the address a new key) without effect."""
    _, current, reads = managed()
    other = live("K8", "elsewhere")

    made = plan(
        config(BASE, imports=[("api_keys.ci", "K8")]), current, live_map(*reads["_"].keys, other)
    )

    assert change(made, "api_keys.ci").importing_id is None
    assert [u.key_id for u in made.unmanaged] == ["K8"]


def test_a_live_key_holding_values_the_tool_does_not_know_is_updated_to_the_declaration() -> None:
    written = matching(BASE, "K1")
    odd = live_key_from_wire(
        {
            "id": "K1",
            "accountId": written.account_id,
            "name": BASE.name,
            "allowedIPs": ["10.0.0.1-10.0.0.5", "10.0.0.*"],
            "permissions": ["ALL"],
            "scopeGuids": sorted(BASE.scopes),
            "validFrom": "2026-12-03T00:00:00Z",
            "validTo": "2027-03-03T00:00:00Z",
            "someNewField": {"x": 1},
        },
        operation="list API keys",
    )
    current = replace(written, allowed_ips=odd.allowed_ips, permissions=odd.permissions)
    made = plan(config(BASE), state({BASE.address: record(written)}), live_map(current))

    update = change(made, "api_keys.ci")
    assert update.action is Action.UPDATE
    assert update.write is not None
    assert update.write.allowed_ips == BASE.allowed_ips
    assert update.write.permissions == {Permission.PUBLIC_API}
    shown = render_text(made)
    assert '"10.0.0.*"' in shown and '"10.0.0.1-10.0.0.5"' in shown and '"ALL"' in shown


def test_an_update_leaving_valid_to_before_the_live_valid_from_is_refused() -> None:
    declared = replace(BASE, valid_from=None, valid_to=NOW + timedelta(days=3))
    _, current, reads = managed(
        declared, valid_from=NOW + timedelta(days=10), valid_to=NOW + timedelta(days=20)
    )
    with pytest.raises(PlanError, match=r"E606 api_keys\.ci: the update would leave key K1"):
        plan(config(declared), current, reads)
    # the same valid_to with a valid_from before it is a plain update
    both = replace(declared, valid_from=NOW + timedelta(days=1))
    _, current, reads = managed(
        both, valid_from=NOW + timedelta(days=10), valid_to=NOW + timedelta(days=20)
    )
    assert change(plan(config(both), current, reads), "api_keys.ci").action is Action.UPDATE


def test_a_new_key_valid_from_the_past_is_refused_but_an_existing_one_keeps_it() -> None:
    past = replace(BASE, valid_from=NOW - timedelta(days=1))
    with pytest.raises(PlanError, match=r"E606 api_keys\.ci would be created with valid_from"):
        plan(config(past), state(), live_map())
    cfg, current, reads = managed(past)
    assert change(plan(cfg, current, reads), "api_keys.ci").action is Action.NOOP


def test_platform_on_a_key_of_another_account_than_the_caller_s_is_refused() -> None:
    links = (PlatformLink(application_id="billing"),)
    linked = desired("linked", account="SUB1", platform=links, permissions=frozenset())
    reads = live_map(live("K9", "someone"), SUB1=[])
    with pytest.raises(PlanError, match="Infobip allows platform only on keys of the credentials"):
        plan(config(linked), state(), reads)
    at_home = desired("linked", account=ACCOUNT_ID, platform=links, permissions=frozenset())
    made = plan(config(at_home), state(), live_map(live("K9", "someone"), **{ACCOUNT_ID: []}))
    assert change(made, "api_keys.linked").action is Action.CREATE


def test_linking_a_key_that_holds_scopes_clears_them_first() -> None:
    links = (PlatformLink(application_id="billing"),)
    linked = replace(BASE, platform=links, scopes=frozenset())
    _, current, reads = managed()  # the live key holds BASE's scopes
    update = change(plan(config(linked), current, reads), "api_keys.ci")
    assert update.write is not None
    assert update.write.update_steps() == (
        KeyWrite(scopes=frozenset()),
        KeyWrite(platform=links),
    )
    assert update.writes == 2

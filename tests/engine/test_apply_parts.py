"""The seams between apply's parts that the end-to-end tests of test_apply reach only
through a whole apply: the guard rails a caller checks before approval, the finding and
recording of keys an unanswered create made (shared by recovery and settling), the
ledger's saves, the read-back test of a PUT, and the words messages use for a write."""

from __future__ import annotations

from datetime import timedelta

import pytest
from builders import NOW, config, declared

from engine.test_apply import Harness, harness, plan_for
from infobip_iac.domain.keys import KeyWrite, deposed_address
from infobip_iac.domain.plan import Action
from infobip_iac.engine.apply import ApplyOptions, check_apply_guard_rails
from infobip_iac.engine.apply_outcome import ApplyEvent
from infobip_iac.engine.ledger import Ledger
from infobip_iac.engine.recovery import keep_for_revoke, keys_made_by
from infobip_iac.engine.writes import verb, write_landed
from infobip_iac.errors import ApplyRefusedError
from infobip_iac.state.journal import PendingCreate

__all__ = ["harness"]  # the fixture, shared with test_apply


def _pending(**fields: object) -> PendingCreate:
    values: dict[str, object] = {
        "address": "api_keys.a",
        "account": "_",
        "name": "a",
        "sink": "file",
        "sent_at": NOW,
        "valid_from_given": False,
        **fields,
    }
    return PendingCreate(**values)  # type: ignore[arg-type]


def test_the_guard_rails_take_their_limits_from_the_apply_options(harness: Harness) -> None:
    plan = plan_for(harness.infobip, config(declared("a"), declared("b")), harness.state())

    with pytest.raises(ApplyRefusedError, match="--max-writes 1"):
        check_apply_guard_rails(plan, harness.state(), ApplyOptions(max_writes=1))
    check_apply_guard_rails(plan, harness.state(), ApplyOptions(max_writes=2))
    assert harness.infobip.writes() == []


def test_keys_made_by_a_create_are_new_enabled_and_unknown(harness: Harness) -> None:
    infobip = harness.infobip
    older = infobip.seed("a", valid_from=NOW - timedelta(days=1))
    disabled = infobip.seed("a", valid_from=NOW, enabled=False)
    known = infobip.seed("a", valid_from=NOW)
    made = infobip.seed("a", valid_from=NOW + timedelta(seconds=1))
    infobip.seed("b", valid_from=NOW)

    found = keys_made_by(infobip, _pending(), {known.id})

    assert [key.id for key in found] == [made.id]
    assert {older.id, disabled.id}.isdisjoint(key.id for key in found)


def test_a_key_kept_for_revoke_waits_at_a_deposed_address_with_its_secret_lost(
    harness: Harness,
) -> None:
    key = harness.infobip.seed("a", valid_from=NOW)
    state = harness.state()

    address = keep_for_revoke(state, _pending(unanswered=True), key)

    assert address == deposed_address("api_keys.a", key.id)
    entry = state.resources[address]
    assert entry.id == key.id and entry.account == "_"
    assert entry.secret is not None and entry.secret.status == "lost"


def test_the_ledger_saves_each_step_and_writes_one_version(harness: Harness) -> None:
    harness.apply(config(declared("a")))
    read = harness.state()
    events: list[ApplyEvent] = []
    ledger = Ledger(harness.store, read, events.append)

    ledger.write_version()
    assert ledger.result.state is None  # nothing recorded, nothing written

    del ledger.state.resources["api_keys.a"]
    ledger.note_state("api_keys.a", "forgotten")
    ledger.save(["api_keys.a"])

    assert "api_keys.a" in read.resources  # the caller's document is left as it was read
    assert "api_keys.a" not in harness.state().resources  # the small write is durable
    assert ledger.result.state is ledger.state and ledger.result.state_changes == 1
    serial = harness.state().serial
    ledger.write_version()
    ledger.write_version()
    assert harness.state().serial == serial + 1
    assert [e.message for e in events] == ["forgotten"]


def test_a_put_has_landed_when_every_field_it_sends_holds_live(harness: Harness) -> None:
    key = harness.infobip.seed("a", enabled=True)

    assert write_landed(KeyWrite(enabled=True), key)
    assert not write_landed(KeyWrite(enabled=False), key)
    assert write_landed(KeyWrite(enabled=True, valid_for=timedelta(days=1)), key)


def test_a_write_is_named_by_its_action_and_a_revoke_is_not_a_delete() -> None:
    assert [verb(a) for a in (Action.CREATE, Action.UPDATE, Action.REVOKE)] == [
        "create",
        "update",
        "revoke",
    ]

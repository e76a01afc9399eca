"""The index of live keys: lookups, name matching and account references."""

from __future__ import annotations

import pytest
from builders import ACCOUNT_ID, live, live_map, record, state

from infobip_iac.engine.live import LiveIndex
from infobip_iac.errors import PlanError


def test_the_caller_id_is_learned_from_keys_or_state() -> None:
    from_keys = LiveIndex(live_map(live("K1")), state())
    from_state = LiveIndex(live_map(), state({"api_keys.a": record(live("K9"))}))
    unknown = LiveIndex(live_map(), state())

    for index in (from_keys, from_state):
        assert index.same_account("_", ACCOUNT_ID)
        assert index.resolve("_") == ACCOUNT_ID
    assert not unknown.same_account("_", ACCOUNT_ID)
    assert unknown.same_account("555", "555")


def test_enabled_keys_by_name_and_unique_keys() -> None:
    keys = [live("K2", "n"), live("K1", "n"), live("K3", "n", enabled=False), live("K4", "m")]
    index = LiveIndex(live_map(*keys, **{ACCOUNT_ID: [keys[0]]}), state())

    assert [k.id for k in index.enabled_named("_", "n")] == ["K1", "K2"]
    assert index.enabled_named("_", "absent") == []
    assert [(a, k.id) for a, k in index.unique_keys()] == [
        (ACCOUNT_ID, "K2"),
        ("_", "K1"),
        ("_", "K3"),
        ("_", "K4"),
    ]
    assert index.in_account("_", "K2") and index.account_of("K2") == ACCOUNT_ID
    assert index.get("nope") is None


def test_unread_accounts_are_refused() -> None:
    with pytest.raises(PlanError, match="777"):
        LiveIndex(live_map(), state()).require_accounts({"_", "777"})

"""The checks apply makes before its first write: policy.max_revokes, --max-writes, and a
saved plan's state."""

from __future__ import annotations

from typing import Any, cast

import pytest
from builders import config, desired, live_map, matching, plan, record, state

from infobip_iac.domain.plan import Plan
from infobip_iac.engine.guard_rails import check_guard_rails, check_plan_is_fresh
from infobip_iac.errors import ApplyRefusedError, StalePlanError
from infobip_iac.infobip.api import KeyService
from infobip_iac.state.model import StateDocument

ROTATED = desired("rotated")
ROTATED_KEY = matching(ROTATED, "R1")


def _rotation(**policy: Any) -> tuple[Plan, StateDocument]:
    """A plan that replaces api_keys.rotated on request, and the state it was made from."""
    current = state({"api_keys.rotated": record(ROTATED_KEY)})
    made = plan(
        config(ROTATED, **policy), current, live_map(ROTATED_KEY), replace=["api_keys.rotated"]
    )
    return made, current


def test_max_revokes_counts_the_revoke_inside_a_replace() -> None:
    made, current = _rotation(max_revokes=0)

    with pytest.raises(ApplyRefusedError, match=r"revokes 1 key .*policy\.max_revokes \(0\)"):
        check_guard_rails(made, current, max_revokes=made.max_revokes)


def test_allow_revokes_lets_a_replace_past_max_revokes() -> None:
    made, current = _rotation(max_revokes=0)

    check_guard_rails(made, current, max_revokes=made.max_revokes, allow_revokes=True)


def test_prevent_revoke_in_state_stops_a_replace_as_it_stops_a_revoke() -> None:
    made, current = _rotation()
    current.resources["api_keys.rotated"] = record(ROTATED_KEY, prevent_revoke=True)

    with pytest.raises(ApplyRefusedError, match=r"api_keys\.rotated has lifecycle\.prevent_revoke"):
        check_guard_rails(made, current)


def test_max_writes_advice_works_for_a_saved_plan_too() -> None:
    made, current = _rotation()

    with pytest.raises(ApplyRefusedError) as refused:
        check_guard_rails(made, current, max_writes=1)

    # `apply PLANFILE --target` is refused; the advice must name what a saved plan accepts.
    assert "plan --target ADDR --out FILE" in str(refused.value)


class _NoReads:
    """A KeyService for checks that must fail before reading anything."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the check called {name} before comparing the states")


def _no_reads() -> KeyService:
    return cast(KeyService, _NoReads())


def test_a_plan_of_another_lineage_is_stale_and_says_so() -> None:
    made, current = _rotation()
    other = current.model_copy(update={"lineage": "11111111-1111-4111-8111-111111111111"})

    with pytest.raises(StalePlanError) as stale:
        check_plan_is_fresh(made, other, _no_reads())

    message = str(stale.value)
    assert "another state" in message
    assert current.lineage in message and other.lineage in message
    assert "serial" not in message  # the same serial on both sides explains nothing


def test_a_plan_of_an_older_serial_names_both_serials() -> None:
    made, current = _rotation()
    later = current.model_copy(update={"serial": current.serial + 1})

    with pytest.raises(StalePlanError) as stale:
        check_plan_is_fresh(made, later, _no_reads())

    assert str(stale.value).startswith(
        f"the saved plan was made against state serial {current.serial}, but the state is "
        f"now at serial {current.serial + 1}"
    )

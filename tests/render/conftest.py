"""Plans for the renderer tests, made by the real planner from small triples."""

from __future__ import annotations

import pytest
from engine.builders import (
    config,
    desired,
    live,
    live_map,
    matching,
    plan,
    record,
    state,
)

from infobip_iac.domain.plan import Plan
from render import plans


@pytest.fixture
def busy_plan() -> Plan:
    """One of everything (render/plans.py)."""
    return plans.busy_plan()


@pytest.fixture
def quiet_plan() -> Plan:
    """Everything in sync; one unmanaged key reported."""
    key = desired("steady")
    steady = matching(key, "S1")
    return plan(
        config(key),
        state({key.address: record(steady)}),
        live_map(steady, live("U9", "someone's key")),
    )


@pytest.fixture
def update_plan() -> Plan:
    """A single in-place update: nothing revoked, nothing replaced."""
    key = desired("billing", name="Billing v2")
    current = matching(key, "B1", name="Billing")
    return plan(config(key), state({key.address: record(current)}), live_map(current))

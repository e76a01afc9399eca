"""Plans for the renderer tests (tests/builders.py makes them with the real planner)."""

from __future__ import annotations

import builders
import pytest

from infobip_iac.domain.plan import Plan


@pytest.fixture
def busy_plan() -> Plan:
    """One of everything."""
    return builders.busy_plan()


@pytest.fixture
def quiet_plan() -> Plan:
    """Everything in sync; one unmanaged key reported."""
    return builders.quiet_plan()


@pytest.fixture
def update_plan() -> Plan:
    """A single in-place update: nothing revoked, nothing replaced."""
    return builders.update_plan()

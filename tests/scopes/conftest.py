"""Fixtures for the scope catalog tests: the shipped catalog, a tiny one, and the seeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from infobip_iac.scopes import Catalog, RoleInfo, ScopeInfo, load_catalog

REPO = Path(__file__).resolve().parents[2]
# Infobip's scope documentation, vendored with the tests (tests/data/infobip/README.md).
SEEDS = REPO / "tests" / "data" / "infobip" / "seeds"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


def _scope(name: str, category: str = "Channels", product: str | None = None) -> ScopeInfo:
    return ScopeInfo(
        name=name,
        category=category,
        product=product,
        description=f"about {name}",
        sdk=category == "Client-side SDK",
    )


@pytest.fixture
def tiny_catalog() -> Catalog:
    """Just enough scopes to exercise every coverage rule by hand."""
    scopes = [
        _scope("message:send", "General"),
        _scope("inbound-message:read", "General"),
        _scope("sms:manage", product="SMS"),
        _scope("sms:message:send", product="SMS"),
        _scope("sms:inbound-message:read", product="SMS"),
        _scope("sms:logs:read", product="SMS"),
        _scope("zalo:manage", product="Zalo"),
        _scope("zalo-follower:message:send", product="Zalo"),
        _scope("2fa:manage", product="2FA"),
        _scope("2fa:sdk", "Client-side SDK"),
        _scope("people:manage", "Customer Engagement"),
        _scope("people:read", "Customer Engagement"),
    ]
    roles = [
        RoleInfo(name="Sender", scopes=frozenset({"message:send", "sms:logs:read"})),
        RoleInfo(name="People Reader", scopes=frozenset({"people:read"})),
    ]
    return Catalog(scopes=scopes, roles=roles)


@pytest.fixture(scope="session")
def seeds() -> Path:
    return SEEDS

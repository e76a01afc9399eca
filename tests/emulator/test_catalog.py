"""The emulator's scope data file against the newest seed (Infobip's scope documentation)."""

from __future__ import annotations

import re
from pathlib import Path

from infobip_iac.emulator.catalog import MANAGE_SCOPE, load_catalog

# Vendored with the tests (tests/data/infobip/README.md).
SEED = Path(__file__).resolve().parents[1] / "data/infobip/seeds/002_b485e2e2bd817401.txt"


def seed_tables() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(scopes by category heading, scopes by role) as the seed's markdown tables give them."""
    categories: dict[str, set[str]] = {}
    roles: dict[str, set[str]] = {}
    heading = ""
    for line in SEED.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 2 or cells[0] in ("SCOPE", "ROLE") or set(cells[0]) <= {"-"}:
            continue
        if heading.startswith("User roles"):
            roles[cells[0]] = {s.strip() for s in cells[1].split(",")}
        elif heading in (
            "Channels",
            "Client-side SDK",
            "Connectivity",
            "Customer Engagement",
            "General",
            "Platform",
        ):
            categories.setdefault(heading, set()).add(cells[0])
    return categories, roles


def test_every_seed_scope_is_in_the_catalog_and_no_other() -> None:
    categories, _ = seed_tables()
    catalog = load_catalog()
    from_seed = set().union(*categories.values())
    assert from_seed <= catalog.scopes
    # The one addition: named in the seed's list of main scopes, absent from its tables.
    assert catalog.scopes - from_seed == {"mobile-app-messaging:sdk"}
    assert "**mobile-app-messaging:sdk**" in SEED.read_text(encoding="utf-8")


def test_client_side_sdk_scopes() -> None:
    categories, _ = seed_tables()
    catalog = load_catalog()
    assert categories["Client-side SDK"] <= catalog.client_side_sdk
    assert catalog.client_side_sdk == {
        "2fa:sdk",
        "web:sdk",
        "web:tracking:sdk",
        "mobile-app-messaging:sdk",
    }


def test_role_table_matches_the_seed() -> None:
    _, roles = seed_tables()
    catalog = load_catalog()
    assert set(catalog.roles) == set(roles)
    for role, scopes in roles.items():
        assert catalog.role_scopes(role) == scopes, role
    holders = {role for role, scopes in catalog.roles.items() if MANAGE_SCOPE in scopes}
    assert {"Account Manager", "Integrations Manager"} <= holders
    assert "Communication Manager" not in holders


def test_roles_are_found_without_regard_to_case() -> None:
    catalog = load_catalog()
    assert catalog.find_role("account manager") == "Account Manager"
    assert catalog.find_role("Overlord") is None


def test_scope_names_are_well_formed() -> None:
    assert all(re.fullmatch(r"[a-z0-9-]+(:[a-z0-9-]+)+", s) for s in load_catalog().scopes)

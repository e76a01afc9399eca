"""The catalog's lookups and coverage rules, on a hand-made catalog and on the shipped one."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from infobip_iac.scopes import Catalog, RoleInfo, ScopeInfo, load_catalog

# -- coverage rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("broad", "narrow"),
    [
        ("message:send", "sms:message:send"),
        ("message:send", "zalo-follower:message:send"),
        ("inbound-message:read", "sms:inbound-message:read"),
        ("sms:manage", "sms:logs:read"),
        ("sms:manage", "sms:message:send"),
        ("people:manage", "people:read"),
        # The rules work on names, so scopes newer than the catalog are covered too.
        ("sms:manage", "sms:brand-new:read"),
        ("message:send", "newchannel:message:send"),
    ],
)
def test_covers_by_rule(tiny_catalog: Catalog, broad: str, narrow: str) -> None:
    assert tiny_catalog.covers(broad, narrow)
    assert not tiny_catalog.covers(narrow, broad)


@pytest.mark.parametrize(
    ("broad", "narrow"),
    [
        ("sms:manage", "sms:manage"),  # not itself
        ("message:send", "message:send"),
        ("zalo:manage", "zalo-follower:message:send"),  # another prefix, not the same product
        ("message:send", "sms:inbound-message:read"),
        ("inbound-message:read", "sms:message:send"),
        ("sms:manage", "message:send"),
        ("message:send", "sms:manage"),
        ("2fa:manage", "2fa:sdk"),  # SDK scopes stand apart
        ("sms:logs:read", "sms:message:send"),  # only <product>:manage covers its product
        ("message:send", "sms:message:send:extra"),
        ("message:send", ":message:send"),
        ("message:manage", "message:send"),  # umbrellas belong to no product
        ("inbound-message:manage", "inbound-message:read"),
    ],
)
def test_does_not_cover(tiny_catalog: Catalog, broad: str, narrow: str) -> None:
    assert not tiny_catalog.covers(broad, narrow)


def test_covered_by_lists_known_coverers_sorted(tiny_catalog: Catalog) -> None:
    assert tiny_catalog.covered_by("sms:message:send") == ["message:send", "sms:manage"]
    assert tiny_catalog.covered_by("zalo-follower:message:send") == ["message:send"]
    assert tiny_catalog.covered_by("sms:manage") == []
    # zalo-follower:manage would cover it by rule but is not a known scope here.
    assert tiny_catalog.covered_by("zalo-follower:logs:read") == []


def test_covering_lists_known_covered_scopes(tiny_catalog: Catalog) -> None:
    assert tiny_catalog.covering("sms:manage") == [
        "sms:inbound-message:read",
        "sms:logs:read",
        "sms:message:send",
    ]
    assert tiny_catalog.covering("message:send") == [
        "sms:message:send",
        "zalo-follower:message:send",
    ]
    assert tiny_catalog.covering("2fa:manage") == []
    assert tiny_catalog.covering("sms:logs:read") == []


def test_redundant_in_maps_narrow_to_a_broader_present_scope(tiny_catalog: Catalog) -> None:
    found = tiny_catalog.redundant_in(
        ["sms:message:send", "sms:manage", "message:send", "people:read", "sms:manage"]
    )
    # The product's own :manage is named in preference to the umbrella.
    assert found == {"sms:message:send": "sms:manage"}
    assert tiny_catalog.redundant_in(["zalo-follower:message:send", "message:send"]) == {
        "zalo-follower:message:send": "message:send"
    }
    assert tiny_catalog.redundant_in(["sms:logs:read", "people:read", "2fa:sdk"]) == {}
    assert tiny_catalog.redundant_in([]) == {}


def test_redundant_in_accepts_any_iterable_once(tiny_catalog: Catalog) -> None:
    scopes = iter(["people:manage", "people:read"])
    assert tiny_catalog.redundant_in(scopes) == {"people:read": "people:manage"}


# -- names -----------------------------------------------------------------------------------


def test_has_scope_and_sdk(tiny_catalog: Catalog) -> None:
    assert tiny_catalog.has_scope("sms:manage")
    assert not tiny_catalog.has_scope("SMS:manage")
    assert tiny_catalog.is_sdk_scope("2fa:sdk")
    assert not tiny_catalog.is_sdk_scope("2fa:manage")
    assert not tiny_catalog.is_sdk_scope("unknown:sdk")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("sms:mesage:send", "sms:message:send"),
        ("SMS:Manage", "sms:manage"),
        (" sms:manage ", "sms:manage"),
        ("sms:send", "sms:message:send"),  # stays within the product typed
        ("message:sned", "message:send"),
        ("people:reed", "people:read"),
        ("nothing-alike-at-all", None),
        ("sms:manage", None),  # known: nothing to suggest
    ],
)
def test_suggest_scope(tiny_catalog: Catalog, typed: str, expected: str | None) -> None:
    assert tiny_catalog.suggest_scope(typed) == expected


def test_role_lookup_ignores_case_and_spacing(tiny_catalog: Catalog) -> None:
    role = tiny_catalog.role("  people   READER ")
    assert role is not None
    assert role.name == "People Reader"
    assert role.scopes == frozenset({"people:read"})
    assert tiny_catalog.role("People Writer") is None


def test_suggest_role(tiny_catalog: Catalog) -> None:
    assert tiny_catalog.suggest_role("peple reader") == "People Reader"
    assert tiny_catalog.suggest_role("people reader") is None
    assert tiny_catalog.suggest_role("Completely Different") is None


def test_roles_granting(tiny_catalog: Catalog) -> None:
    assert tiny_catalog.roles_granting("people:read") == ["People Reader"]
    assert tiny_catalog.roles_granting("sms:manage") == []


def test_categories_and_products(tiny_catalog: Catalog) -> None:
    assert tiny_catalog.categories == [
        "Channels",
        "Client-side SDK",
        "Customer Engagement",
        "General",
    ]
    assert tiny_catalog.products == ["2FA", "SMS", "Zalo"]


# -- search ----------------------------------------------------------------------------------


def test_search_ranks_exact_then_name_matches(tiny_catalog: Catalog) -> None:
    names = [s.name for s in tiny_catalog.search("message:send")]
    assert names[0] == "message:send"
    assert set(names) == {"message:send", "sms:message:send", "zalo-follower:message:send"}


def test_search_needs_every_word(tiny_catalog: Catalog) -> None:
    assert [s.name for s in tiny_catalog.search("SMS logs")] == ["sms:logs:read"]
    assert [s.name for s in tiny_catalog.search("customer PEOPLE read")] == ["people:read"]
    assert tiny_catalog.search("sms zalo") == []
    assert tiny_catalog.search("   ") == []


# -- construction and loading ----------------------------------------------------------------


def test_catalog_mappings_are_read_only(tiny_catalog: Catalog) -> None:
    with pytest.raises(TypeError):
        tiny_catalog.scopes["x:manage"] = tiny_catalog.scopes["sms:manage"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        tiny_catalog.scopes["sms:manage"].name = "other"  # type: ignore[misc]


def test_role_with_unknown_scope_is_refused() -> None:
    scope = ScopeInfo("sms:manage", "Channels", "SMS", "all of SMS", sdk=False)
    with pytest.raises(ValueError, match=r"Ghost.*sms:ghost"):
        Catalog(scopes=[scope], roles=[RoleInfo("Ghost", frozenset({"sms:ghost"}))])


def _document() -> dict[str, Any]:
    return {
        "format": 1,
        "coverage": {"umbrella_scopes": ["message:send"], "product_manage_action": "manage"},
        "scopes": [
            {
                "name": "message:send",
                "category": "General",
                "product": None,
                "description": "send anything",
                "sdk": False,
            },
            {
                "name": "sms:message:send",
                "category": "Channels",
                "product": "SMS",
                "description": "send SMS",
                "sdk": False,
            },
        ],
        "roles": [{"name": "Sender", "scopes": ["message:send"]}],
    }


def test_from_document_reads_scopes_roles_and_rules() -> None:
    built = Catalog.from_document(_document())
    assert built.scopes["sms:message:send"].product == "SMS"
    assert built.roles["Sender"].scopes == frozenset({"message:send"})
    assert built.covered_by("sms:message:send") == ["message:send"]


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda d: d.update(format=2), "format 2"),
        (lambda d: d.pop("roles"), "malformed"),
        (lambda d: d["scopes"][0].pop("sdk"), "malformed"),
        (lambda d: d.update(coverage=None), "malformed"),
    ],
)
def test_from_document_refuses_a_broken_file(breakage: Any, message: str) -> None:
    document = _document()
    breakage(document)
    with pytest.raises(ValueError, match=message):
        Catalog.from_document(document)


def test_load_catalog_is_cached_and_json_round_trips(catalog: Catalog) -> None:
    assert load_catalog() is catalog
    assert json.loads(json.dumps([s.name for s in catalog.scopes.values()]))


# -- the shipped catalog ---------------------------------------------------------------------


def test_shipped_catalog_rules(catalog: Catalog) -> None:
    assert catalog.covered_by("sms:message:send") == ["message:send", "sms:manage"]
    assert catalog.covered_by("zalo-follower:logs:read") == ["zalo-follower:manage"]
    assert set(catalog.covering("inbound-message:read")) == {
        "mms:inbound-message:read",
        "mobile-app-messaging:inbound-message:read",
        "sms:inbound-message:read",
        "whatsapp:inbound-message:read",
    }
    sends = catalog.covering("message:send")
    assert "whatsapp:message:send" in sends
    assert all(name.endswith(":message:send") for name in sends)
    assert catalog.covering("calls:manage") == sorted(
        name for name in catalog.scopes if name.startswith("calls:") and name != "calls:manage"
    )
    assert {name for name in catalog.scopes if catalog.is_sdk_scope(name)} == {
        "2fa:sdk",
        "mobile-app-messaging:sdk",
        "web:sdk",
        "web:tracking:sdk",
    }
    assert catalog.covered_by("web:sdk") == []


def test_shipped_catalog_every_description_is_one_line(catalog: Catalog) -> None:
    for scope in catalog.scopes.values():
        assert scope.description.strip() == scope.description
        assert "\n" not in scope.description
        assert 5 <= len(scope.description) <= 100, scope.name

"""Selections, JSON documents and tables that `infobip-iac scopes` prints."""

from __future__ import annotations

import io

import pytest
from rich.console import Console
from rich.table import Table

from infobip_iac.errors import UsageError
from infobip_iac.scopes import Catalog, ScopeInfo
from infobip_iac.scopes.report import (
    role_document,
    role_table,
    roles_document,
    roles_table,
    scope_detail_document,
    scope_detail_table,
    scope_document,
    scopes_table,
    select_scopes,
    unknown_role,
    unknown_scope,
)


def _names(scopes: list[ScopeInfo]) -> list[str]:
    return [scope.name for scope in scopes]


def _text(table: Table) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=200, color_system=None).print(table)
    return buffer.getvalue()


def test_select_everything_sorted_by_category_product_name(tiny_catalog: Catalog) -> None:
    chosen = select_scopes(tiny_catalog)
    assert len(chosen) == len(tiny_catalog.scopes)
    keys = [(s.category, s.product or "", s.name) for s in chosen]
    assert keys == sorted(keys)


def test_select_by_category_ignores_case(tiny_catalog: Catalog) -> None:
    assert _names(select_scopes(tiny_catalog, category="general")) == [
        "inbound-message:read",
        "message:send",
    ]


def test_select_by_product_name_or_prefix(tiny_catalog: Catalog) -> None:
    by_name = select_scopes(tiny_catalog, product="sms")
    assert _names(by_name) == [
        "sms:inbound-message:read",
        "sms:logs:read",
        "sms:manage",
        "sms:message:send",
    ]
    # "people" is no product name (not a channel) but is the prefix of people:* scopes.
    assert _names(select_scopes(tiny_catalog, product="People")) == [
        "people:manage",
        "people:read",
    ]
    # The product Zalo includes zalo-follower scopes, which the prefix would not.
    assert "zalo-follower:message:send" in _names(select_scopes(tiny_catalog, product="Zalo"))


def test_select_by_category_and_product(tiny_catalog: Catalog) -> None:
    assert select_scopes(tiny_catalog, category="General", product="SMS") == []


def test_unknown_category_suggests_and_lists(tiny_catalog: Catalog) -> None:
    with pytest.raises(UsageError, match=r'did you mean "Channels"\?.*"General"'):
        select_scopes(tiny_catalog, category="chanels")


def test_unknown_product_lists_known_ones(tiny_catalog: Catalog) -> None:
    with pytest.raises(
        UsageError, match=r'unknown product "pigeon post" for --product\. Known: "2FA"'
    ):
        select_scopes(tiny_catalog, product="pigeon post")


def test_unknown_scope_and_role_messages(tiny_catalog: Catalog) -> None:
    assert 'did you mean "sms:message:send"?' in str(unknown_scope(tiny_catalog, "sms:mesage:send"))
    assert "did you mean" not in str(unknown_scope(tiny_catalog, "qqqqqqqq"))
    assert 'did you mean "Sender"?' in str(unknown_role(tiny_catalog, "sendr"))
    assert "scopes role" in str(unknown_role(tiny_catalog, "xyzzy"))


def test_scope_detail_document(tiny_catalog: Catalog) -> None:
    document = scope_detail_document(tiny_catalog, tiny_catalog.scopes["sms:logs:read"])
    assert document == {
        **scope_document(tiny_catalog.scopes["sms:logs:read"]),
        "covered_by": ["sms:manage"],
        "covers": [],
        "roles": ["Sender"],
    }
    assert set(document) == {
        "name",
        "category",
        "product",
        "description",
        "sdk",
        "covered_by",
        "covers",
        "roles",
    }


def test_role_documents(tiny_catalog: Catalog) -> None:
    sender = tiny_catalog.roles["Sender"]
    document = role_document(tiny_catalog, sender)
    assert document["name"] == "Sender"
    assert [s["name"] for s in document["scopes"]] == ["message:send", "sms:logs:read"]
    assert roles_document(tiny_catalog) == [
        {"name": "People Reader", "scopes": ["people:read"]},
        {"name": "Sender", "scopes": ["message:send", "sms:logs:read"]},
    ]


def test_tables_show_what_the_documents_say(tiny_catalog: Catalog) -> None:
    listing = _text(scopes_table(select_scopes(tiny_catalog, product="SMS")))
    assert "sms:logs:read" in listing
    assert "about sms:logs:read" in listing
    assert "people:read" not in listing
    assert "alone on its key" in _text(scopes_table([tiny_catalog.scopes["2fa:sdk"]]))

    detail = _text(scope_detail_table(tiny_catalog, tiny_catalog.scopes["sms:manage"]))
    assert "sms:inbound-message:read" in detail  # what it covers
    assert "(none)" in detail  # covered by nothing
    roles = _text(roles_table(tiny_catalog))
    assert "People Reader" in roles
    assert "Role Sender: 2 scopes" in _text(role_table(tiny_catalog, tiny_catalog.roles["Sender"]))

"""What `infobip-iac scopes` shows: catalog selections as JSON documents and rich tables.

JSON documents are plain dicts with sorted lists, so that `json.dumps(..., sort_keys=True)`
gives output that is stable between runs and releases of the same catalog.
"""

from __future__ import annotations

import difflib
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from infobip_iac.errors import UsageError
from infobip_iac.scopes.catalog import Catalog, RoleInfo, ScopeInfo

__all__ = [
    "role_document",
    "role_table",
    "roles_document",
    "roles_table",
    "scope_detail_document",
    "scope_detail_table",
    "scope_document",
    "scopes_table",
    "select_scopes",
    "unknown_role",
    "unknown_scope",
]

SDK_NOTE = "yes: must be the only scope on its key"


def _choice(value: str, known: list[str], what: str, option: str) -> str:
    for candidate in known:
        if candidate.casefold() == value.casefold():
            return candidate
    folded = {k.casefold(): k for k in known}
    guess = difflib.get_close_matches(value.casefold(), folded, n=1, cutoff=0.6)
    hint = f' — did you mean "{folded[guess[0]]}"?' if guess else "."
    listed = ", ".join(f'"{k}"' for k in known)
    raise UsageError(f'unknown {what} "{value}" for {option}{hint} Known: {listed}.')


def select_scopes(
    catalog: Catalog, *, category: str | None = None, product: str | None = None
) -> list[ScopeInfo]:
    """The scopes of a category and/or a product, sorted by category, product and name.

    `product` is a product name ("SMS", "Voice & WebRTC") or a scope prefix ("sms", "people"),
    ignoring case, so that non-channel products can be listed too.
    """
    chosen = list(catalog.scopes.values())
    if category is not None:
        wanted = _choice(category, catalog.categories, "category", "--category")
        chosen = [s for s in chosen if s.category == wanted]
    if product is not None:
        key = product.strip().casefold()
        prefixes = {name.partition(":")[0] for name in catalog.scopes}
        by_name = [p for p in catalog.products if p.casefold() == key]
        if by_name:
            chosen = [s for s in chosen if s.product == by_name[0]]
        elif key in prefixes:
            chosen = [s for s in chosen if s.name.partition(":")[0] == key]
        else:
            _choice(product, catalog.products, "product", "--product")
    return sorted(chosen, key=lambda s: (s.category, s.product or "", s.name))


def unknown_scope(catalog: Catalog, name: str) -> UsageError:
    guess = catalog.suggest_scope(name)
    hint = f' — did you mean "{guess}"?' if guess else ""
    return UsageError(
        f'unknown scope "{name}"{hint} (`infobip-iac scopes search WORD` finds scopes)'
    )


def unknown_role(catalog: Catalog, name: str) -> UsageError:
    guess = catalog.suggest_role(name)
    hint = f' — did you mean "{guess}"?' if guess else ""
    return UsageError(f'unknown role "{name}"{hint} (`infobip-iac scopes role` lists the roles)')


# -- JSON ------------------------------------------------------------------------------------


def scope_document(scope: ScopeInfo) -> dict[str, Any]:
    return {
        "name": scope.name,
        "category": scope.category,
        "product": scope.product,
        "description": scope.description,
        "sdk": scope.sdk,
    }


def scope_detail_document(catalog: Catalog, scope: ScopeInfo) -> dict[str, Any]:
    return {
        **scope_document(scope),
        "covered_by": catalog.covered_by(scope.name),
        "covers": catalog.covering(scope.name),
        "roles": catalog.roles_granting(scope.name),
    }


def role_document(catalog: Catalog, role: RoleInfo) -> dict[str, Any]:
    return {
        "name": role.name,
        "scopes": [scope_document(catalog.scopes[name]) for name in sorted(role.scopes)],
    }


def roles_document(catalog: Catalog) -> list[dict[str, Any]]:
    return [{"name": r.name, "scopes": sorted(r.scopes)} for r in catalog.roles.values()]


# -- tables ----------------------------------------------------------------------------------


def _table(*columns: str, title: str | None = None) -> Table:
    table = Table(
        *columns, box=box.SIMPLE_HEAD, title=title, title_justify="left", header_style="bold"
    )
    table.columns[0].style = "cyan"
    table.columns[0].no_wrap = True
    return table


def scopes_table(scopes: list[ScopeInfo], *, title: str | None = None) -> Table:
    table = _table("SCOPE", "CATEGORY", "PRODUCT", "DESCRIPTION", title=title)
    for scope in scopes:
        description = scope.description + (" [SDK: alone on its key]" if scope.sdk else "")
        table.add_row(scope.name, scope.category, scope.product or "", Text(description))
    return table


def _listing(names: list[str]) -> str:
    return "\n".join(names) if names else "(none)"


def scope_detail_table(catalog: Catalog, scope: ScopeInfo) -> Table:
    table = _table("FIELD", "VALUE")
    table.show_header = False
    table.columns[0].style = "bold"
    table.add_row("scope", scope.name)
    table.add_row("category", scope.category)
    table.add_row("product", scope.product or "(none)")
    table.add_row("description", Text(scope.description))
    table.add_row("client-side SDK", SDK_NOTE if scope.sdk else "no")
    table.add_row("covered by", _listing(catalog.covered_by(scope.name)))
    table.add_row("covers", _listing(catalog.covering(scope.name)))
    table.add_row("implied by roles", _listing(catalog.roles_granting(scope.name)))
    return table


def role_table(catalog: Catalog, role: RoleInfo) -> Table:
    scopes = sorted(
        (catalog.scopes[name] for name in role.scopes),
        key=lambda s: (s.category, s.product or "", s.name),
    )
    return scopes_table(scopes, title=f"Role {role.name}: {len(scopes)} scopes")


def roles_table(catalog: Catalog) -> Table:
    table = _table("ROLE", "SCOPES")
    for role in catalog.roles.values():
        table.add_row(role.name, str(len(role.scopes)))
    return table

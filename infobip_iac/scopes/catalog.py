"""The catalog of Infobip API scopes and roles, and the rules that say which scope covers which.

The data comes from the package's `catalog.json` (built from Infobip's documentation by
`tools/build_scope_catalog.py`); the coverage rules are stated by that documentation:

- an umbrella scope (`message:send`, `inbound-message:read`) covers every
  `<channel>:<umbrella>` scope, e.g. `message:send` covers `sms:message:send`;
- `<product>:manage` covers every other scope whose name starts with `<product>:`,
  e.g. `sms:manage` covers `sms:logs:read` (but `zalo:manage` not `zalo-follower:…`);
- no scope covers itself, and client-side SDK scopes neither cover nor are covered: Infobip
  refuses any other scope on a key that has one.

The rules work on names, so they also apply to scopes newer than the catalog.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

__all__ = [
    "CATALOG_FORMAT",
    "Catalog",
    "RoleInfo",
    "ScopeInfo",
    "load_catalog",
]

CATALOG_FORMAT = 1
_CATALOG_FILE = "catalog.json"
# difflib ratio below which a name is too far off to be offered as "did you mean".
_SUGGEST_CUTOFF = 0.6


@dataclass(frozen=True)
class ScopeInfo:
    """One API scope. `product` is set for channel scopes only (e.g. "SMS", "WhatsApp")."""

    name: str
    category: str
    product: str | None
    description: str
    sdk: bool


@dataclass(frozen=True)
class RoleInfo:
    """A user role and the scopes it implies (Infobip grants users scopes through roles)."""

    name: str
    scopes: frozenset[str]


def _role_key(name: str) -> str:
    # Role names are matched ignoring case and runs of spaces: "analyze  manager" finds it.
    return " ".join(name.split()).casefold()


class Catalog:
    """Every known scope and role, with the coverage rules between scopes."""

    scopes: Mapping[str, ScopeInfo]
    roles: Mapping[str, RoleInfo]

    def __init__(
        self,
        *,
        scopes: Iterable[ScopeInfo],
        roles: Iterable[RoleInfo],
        umbrella_scopes: Iterable[str] = ("inbound-message:read", "message:send"),
        manage_action: str = "manage",
    ) -> None:
        by_name = {scope.name: scope for scope in sorted(scopes, key=lambda s: s.name)}
        by_role = {role.name: role for role in sorted(roles, key=lambda r: r.name)}
        for role in by_role.values():
            unknown = sorted(role.scopes - by_name.keys())
            if unknown:
                raise ValueError(f"role {role.name!r} implies unknown scopes {unknown}")
        self.scopes = MappingProxyType(by_name)
        self.roles = MappingProxyType(by_role)
        self._umbrellas = frozenset(umbrella_scopes)
        self._manage_action = manage_action
        self._role_keys = {_role_key(name): role for name, role in by_role.items()}

    # -- names -----------------------------------------------------------------------------

    def has_scope(self, name: str) -> bool:
        return name in self.scopes

    def suggest_scope(self, name: str) -> str | None:
        """The known scope closest to an unknown `name`, for "did you mean"; None if none is
        close or `name` is itself known."""
        if name in self.scopes:
            return None
        cleaned = name.strip().lower()
        if cleaned in self.scopes:
            return cleaned
        matches = difflib.get_close_matches(cleaned, self.scopes, n=5, cutoff=_SUGGEST_CUTOFF)
        # A right product with a wrong action ("sms:send") should stay in its product.
        prefix = cleaned.partition(":")[0] + ":"
        same_product = [match for match in matches if match.startswith(prefix)]
        best = same_product or matches
        return best[0] if best else None

    def role(self, name: str) -> RoleInfo | None:
        """The role of that name, ignoring case and repeated spaces."""
        return self._role_keys.get(_role_key(name))

    def suggest_role(self, name: str) -> str | None:
        """The known role name closest to `name`; None if none is close or it is known."""
        key = _role_key(name)
        if key in self._role_keys:
            return None
        matches = difflib.get_close_matches(key, self._role_keys, n=1, cutoff=_SUGGEST_CUTOFF)
        return self._role_keys[matches[0]].name if matches else None

    def is_sdk_scope(self, name: str) -> bool:
        """True for a known client-side SDK scope, which must be alone on its key."""
        info = self.scopes.get(name)
        return info is not None and info.sdk

    # -- coverage --------------------------------------------------------------------------

    def _broader_by_rule(self, narrow: str) -> list[str]:
        """The names that would cover `narrow` under the rules, most specific first."""
        prefix, _, rest = narrow.partition(":")
        # Umbrellas are the broadest scopes; "message" is no product with a :manage scope.
        if not prefix or not rest or narrow in self._umbrellas:
            return []
        candidates = []
        manage = f"{prefix}:{self._manage_action}"
        if narrow != manage:
            candidates.append(manage)
        if rest in self._umbrellas:
            candidates.append(rest)
        return candidates

    def covers(self, broad: str, narrow: str) -> bool:
        """Whether granting `broad` already grants everything `narrow` does."""
        if broad == narrow or self.is_sdk_scope(broad) or self.is_sdk_scope(narrow):
            return False
        return broad in self._broader_by_rule(narrow)

    def covered_by(self, scope: str) -> list[str]:
        """Known scopes that cover `scope`, sorted."""
        return sorted(
            b for b in self._broader_by_rule(scope) if b in self.scopes and self.covers(b, scope)
        )

    def covering(self, scope: str) -> list[str]:
        """Known scopes that `scope` covers, sorted."""
        return [narrow for narrow in self.scopes if self.covers(scope, narrow)]

    def redundant_in(self, scopes: Iterable[str]) -> dict[str, str]:
        """Each scope of `scopes` made redundant by a broader one also in `scopes`, mapped to
        that broader scope (its own product's `:manage` preferred over an umbrella)."""
        present = set(scopes)
        redundant: dict[str, str] = {}
        for narrow in sorted(present):
            for broad in self._broader_by_rule(narrow):
                if broad in present and self.covers(broad, narrow):
                    redundant[narrow] = broad
                    break
        return redundant

    # -- browsing --------------------------------------------------------------------------

    def roles_granting(self, scope: str) -> list[str]:
        """Names of the roles that imply `scope`, sorted."""
        return [role.name for role in self.roles.values() if scope in role.scopes]

    @property
    def categories(self) -> list[str]:
        return sorted({scope.category for scope in self.scopes.values()})

    @property
    def products(self) -> list[str]:
        return sorted({s.product for s in self.scopes.values() if s.product is not None})

    def search(self, text: str) -> list[ScopeInfo]:
        """Scopes matching every word of `text` (in name, description, category or product),
        best first: exact name, then names containing the text, then the rest by name."""
        words = text.lower().split()
        if not words:
            return []
        phrase = " ".join(words)
        found: list[tuple[int, str, ScopeInfo]] = []
        for scope in self.scopes.values():
            haystack = " ".join(
                (scope.name, scope.description, scope.category, scope.product or "")
            ).lower()
            if not all(word in haystack for word in words):
                continue
            rank = 0 if scope.name == phrase else 1 if phrase in scope.name else 2
            found.append((rank, scope.name, scope))
        return [scope for _, _, scope in sorted(found, key=lambda item: item[:2])]

    # -- loading ---------------------------------------------------------------------------

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Catalog:
        """A catalog from the parsed `catalog.json`; ValueError if its shape is wrong."""
        if document.get("format") != CATALOG_FORMAT:
            raise ValueError(
                f"scope catalog format {document.get('format')!r} is not {CATALOG_FORMAT}"
            )
        try:
            coverage = document["coverage"]
            scopes = [
                ScopeInfo(
                    name=str(entry["name"]),
                    category=str(entry["category"]),
                    product=None if entry["product"] is None else str(entry["product"]),
                    description=str(entry["description"]),
                    sdk=bool(entry["sdk"]),
                )
                for entry in document["scopes"]
            ]
            roles = [
                RoleInfo(name=str(entry["name"]), scopes=frozenset(map(str, entry["scopes"])))
                for entry in document["roles"]
            ]
            return cls(
                scopes=scopes,
                roles=roles,
                umbrella_scopes=[str(name) for name in coverage["umbrella_scopes"]],
                manage_action=str(coverage["product_manage_action"]),
            )
        except (KeyError, TypeError) as broken:
            raise ValueError(f"scope catalog is malformed: {broken!r}") from broken


@cache
def load_catalog() -> Catalog:
    """The catalog shipped with the package (read once per process)."""
    text = resources.files(__package__).joinpath(_CATALOG_FILE).read_text(encoding="utf-8")
    return Catalog.from_document(json.loads(text))

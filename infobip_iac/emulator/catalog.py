"""Infobip's API scopes and the scopes each user role implies, read from the emulator's own
data file (made from the newest scope documentation in the seeds)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["MANAGE_SCOPE", "ScopeCatalog", "load_catalog"]

# The scope Infobip requires of a caller before it lets it read or write API keys.
MANAGE_SCOPE = "account-management:manage"


@dataclass(frozen=True)
class ScopeCatalog:
    scopes: frozenset[str]
    client_side_sdk: frozenset[str]
    roles: dict[str, frozenset[str]]

    def role_scopes(self, role: str) -> frozenset[str]:
        return self.roles.get(role, frozenset())

    def find_role(self, name: str) -> str | None:
        """The role's canonical spelling, matched without regard to case."""
        wanted = name.strip().casefold()
        return next((role for role in self.roles if role.casefold() == wanted), None)


@cache
def load_catalog() -> ScopeCatalog:
    text = resources.files("infobip_iac.emulator").joinpath("data/scopes.json").read_text("utf-8")
    document = json.loads(text)
    scopes = frozenset(s for names in document["categories"].values() for s in names)
    return ScopeCatalog(
        scopes=scopes,
        client_side_sdk=frozenset(document["client_side_sdk"]),
        roles={role: frozenset(names) for role, names in document["roles"].items()},
    )

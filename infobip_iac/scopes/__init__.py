"""The catalog of Infobip API scopes and roles, and the rules of which scope covers which."""

from __future__ import annotations

from infobip_iac.scopes.catalog import CATALOG_FORMAT, Catalog, RoleInfo, ScopeInfo, load_catalog

__all__ = ["CATALOG_FORMAT", "Catalog", "RoleInfo", "ScopeInfo", "load_catalog"]

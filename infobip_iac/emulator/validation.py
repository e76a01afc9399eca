"""Infobip's rules for API-key requests: each broken rule becomes a violation naming the
property (`name`, `validTo`, `allowedIPs[2]`, `scopeGuids[0]`, `permissions`, `platform`)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from infobip_iac.emulator.catalog import ScopeCatalog
from infobip_iac.emulator.clock import parse_instant
from infobip_iac.emulator.failures import OperationError, Violation
from infobip_iac.emulator.model import StoredKey, new_hex_id, new_secret

__all__ = [
    "PERMISSIONS",
    "KeyRequest",
    "apply_update",
    "build_new_key",
    "read_key_request",
]

PERMISSIONS = ("PUBLIC_API", "2FA_CLIENT", "WEB_SDK")
PLATFORM_ACTIONS = ("FILL", "FORCE")
DEFAULT_PERMISSIONS = ("PUBLIC_API",)

# A create may name "now" as its validFrom; the request spends time in flight and clocks tick
# in whole seconds, so "now" as the client saw it must not count as the past.
VALID_FROM_GRACE = timedelta(seconds=5)


@dataclass(frozen=True)
class KeyRequest:
    """The fields a create, update or seed request carried; None = not sent."""

    name: str | None = None
    allowed_ips: tuple[str, ...] | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    enabled: bool | None = None
    permissions: tuple[str, ...] | None = None
    platform: tuple[dict[str, str], ...] | None = None
    scope_guids: tuple[str, ...] | None = None
    account_id: str | None = None
    # only seeding may set these
    id: str | None = None
    secret: str | None = None


_T = TypeVar("_T")


class _Reader:
    def __init__(self, body: Mapping[str, Any], prefix: str) -> None:
        self.body = body
        self.prefix = prefix
        self.violations: list[Violation] = []

    def fail(self, prop: str, violation: str) -> None:
        self.violations.append((self.prefix + prop, violation))

    def _of_type(self, prop: str, kind: type[_T], violation: str) -> _T | None:
        """The value of `prop` if sent and of type `kind`; else None (a violation if sent)."""
        value = self.body.get(prop)
        if value is None:
            return None
        if not isinstance(value, kind):
            self.fail(prop, violation)
            return None
        return value

    def string(self, prop: str) -> str | None:
        return self._of_type(prop, str, "must be a string")

    def boolean(self, prop: str) -> bool | None:
        return self._of_type(prop, bool, "must be true or false")

    def instant(self, prop: str) -> datetime | None:
        text = self.string(prop)
        if text is None:
            return None
        try:
            return parse_instant(text).replace(microsecond=0)
        except ValueError:
            self.fail(prop, "must be a date-time such as 2026-12-01T00:00:00Z")
            return None

    def strings(self, prop: str) -> tuple[str, ...] | None:
        value = self._of_type(prop, list, "must be a list of strings")
        if value is None:
            return None
        good = True
        for index, item in enumerate(value):
            if not isinstance(item, str):
                self.fail(f"{prop}[{index}]", "must be a string")
                good = False
        return tuple(value) if good else None


def read_key_request(
    body: Any, catalog: ScopeCatalog, *, prefix: str = "", seeding: bool = False
) -> KeyRequest:
    """Check each sent field on its own (types, formats, the catalog); rules that relate
    fields to each other or to the stored key are checked after merging."""
    if not isinstance(body, Mapping):
        raise OperationError(
            400,
            "The request body must be a JSON object.",
            [(prefix or "body", "must be an object")],
        )
    reader = _Reader(body, prefix)
    name = reader.string("name")
    if name is not None and not name.strip():
        reader.fail("name", "must not be blank")
    allowed_ips = reader.strings("allowedIPs")
    for index, address in enumerate(allowed_ips or ()):
        if not _is_ip_or_range(address):
            reader.fail(f"allowedIPs[{index}]", f"{address!r} is not an IP address or CIDR range")
    permissions = reader.strings("permissions")
    for index, permission in enumerate(permissions or ()):
        if permission not in PERMISSIONS:
            reader.fail(f"permissions[{index}]", f"must be one of {', '.join(PERMISSIONS)}")
    scopes = reader.strings("scopeGuids")
    if scopes is not None:
        _check_scopes(scopes, catalog, reader)
    request = KeyRequest(
        name=name,
        allowed_ips=allowed_ips,
        valid_from=reader.instant("validFrom"),
        valid_to=reader.instant("validTo"),
        enabled=reader.boolean("enabled"),
        permissions=tuple(dict.fromkeys(permissions)) if permissions is not None else None,
        platform=_read_platform(body.get("platform"), reader),
        scope_guids=scopes,
        account_id=reader.string("accountId"),
        id=reader.string("id") if seeding else None,
        secret=reader.string("apiKeySecret") if seeding else None,
    )
    if request.id is not None and not _is_key_id(request.id):
        reader.fail("id", "must be 32 upper-case hexadecimal digits")
    if reader.violations:
        raise OperationError(400, "", reader.violations)
    return request


def build_new_key(
    request: KeyRequest,
    *,
    account_id: str,
    now: datetime,
    platform_allowed: bool,
    seeding: bool = False,
    prefix: str = "",
) -> StoredKey:
    """A new key from a create (or seed) request, with Infobip's defaults filled in."""
    violations: list[Violation] = []
    if request.name is None:
        violations.append((prefix + "name", "is required"))
    created = now.replace(microsecond=0)
    valid_from = request.valid_from or created
    valid_to = request.valid_to or _one_year_after(created)
    if not seeding and request.valid_from is not None and valid_from < now - VALID_FROM_GRACE:
        violations.append((prefix + "validFrom", "must not be earlier than the creation time"))
    if not seeding and request.valid_to is not None and valid_to < created:
        violations.append((prefix + "validTo", "must not be earlier than the creation time"))
    platform = request.platform or ()
    if platform and not platform_allowed:
        violations.append(
            (prefix + "platform", "can be set only on keys of the caller's own main account")
        )
    if platform and request.permissions:
        violations.append((prefix + "platform", "cannot be combined with permissions"))
    permissions = () if platform else (request.permissions or DEFAULT_PERMISSIONS)
    key = StoredKey(
        id=request.id or new_hex_id(),
        secret=request.secret or new_secret(),
        account_id=account_id,
        name=request.name or "",
        valid_from=valid_from,
        valid_to=valid_to,
        # The create request has no `enabled` (a new key is enabled); only a seed sets it.
        enabled=request.enabled if seeding and request.enabled is not None else True,
        allowed_ips=request.allowed_ips or (),
        permissions=permissions,
        platform=_with_link_keys(platform),
        scope_guids=request.scope_guids or (),
    )
    violations.extend(_whole_key_violations(key, prefix))
    if violations:
        raise OperationError(400, "", violations)
    return key


def apply_update(stored: StoredKey, request: KeyRequest, *, platform_allowed: bool) -> StoredKey:
    """The key after an update: fields not sent stay; an empty `scopeGuids` removes every
    scope, an empty `permissions` resets to PUBLIC_API, an empty `platform` removes every link
    and resets to PUBLIC_API. Every rule then applies to the merged key."""
    violations: list[Violation] = []
    changes: dict[str, Any] = {}
    # The fields an update takes as sent (the request's and the key's names agree).
    for field in ("name", "allowed_ips", "valid_from", "valid_to", "enabled", "scope_guids"):
        sent = getattr(request, field)
        if sent is not None:
            changes[field] = sent
    if request.platform is not None:
        if request.platform and request.permissions:
            violations.append(("platform", "cannot be combined with permissions"))
        if request.platform and not platform_allowed:
            violations.append(
                ("platform", "can be set only on keys of the caller's own main account")
            )
        changes["platform"] = _with_link_keys(request.platform)
        changes["permissions"] = () if request.platform else DEFAULT_PERMISSIONS
    if request.permissions is not None:
        changes["permissions"] = request.permissions or DEFAULT_PERMISSIONS
    merged = replace(stored, **changes)
    if merged.platform and request.permissions and request.platform is None:
        violations.append(("permissions", "cannot be set on a key linked to platform entries"))
    if merged.platform:
        merged = replace(merged, permissions=())
    violations.extend(_whole_key_violations(merged, ""))
    if violations:
        raise OperationError(400, "", violations)
    return merged


def _whole_key_violations(key: StoredKey, prefix: str) -> list[Violation]:
    violations: list[Violation] = []
    if key.valid_to < key.valid_from:
        violations.append((prefix + "validTo", "must not be earlier than validFrom"))
    if "PUBLIC_API" in key.permissions and "WEB_SDK" in key.permissions:
        violations.append((prefix + "permissions", "PUBLIC_API and WEB_SDK cannot be combined"))
    if key.platform and key.scope_guids:
        violations.append((prefix + "platform", "cannot be combined with scopeGuids"))
    return violations


def _check_scopes(scopes: tuple[str, ...], catalog: ScopeCatalog, reader: _Reader) -> None:
    seen: set[str] = set()
    for index, scope in enumerate(scopes):
        if scope not in catalog.scopes:
            reader.fail(f"scopeGuids[{index}]", f"unknown scope {scope!r}")
        elif scope in seen:
            reader.fail(f"scopeGuids[{index}]", f"{scope!r} is listed twice")
        seen.add(scope)
    sdk = seen & catalog.client_side_sdk
    others = (seen & catalog.scopes) - catalog.client_side_sdk
    if sdk and others:
        reader.fail(
            "scopeGuids",
            f"client-side SDK scopes ({', '.join(sorted(sdk))}) cannot be combined with "
            "scopes of other categories",
        )


def _read_platform(value: Any, reader: _Reader) -> tuple[dict[str, str], ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        reader.fail("platform", "must be a list of objects")
        return None
    links: list[dict[str, str]] = []
    for index, item in enumerate(value):
        where = f"platform[{index}]"
        if not isinstance(item, Mapping):
            reader.fail(where, "must be an object")
            continue
        application = item.get("applicationId")
        if not isinstance(application, str) or not application.strip():
            reader.fail(f"{where}.applicationId", "is required")
            continue
        link = {"applicationId": application}
        entity = item.get("entityId")
        if entity is not None:
            if not isinstance(entity, str):
                reader.fail(f"{where}.entityId", "must be a string")
                continue
            link["entityId"] = entity
        action = item.get("action")
        if action is not None:
            if action not in PLATFORM_ACTIONS:
                reader.fail(f"{where}.action", f"must be one of {', '.join(PLATFORM_ACTIONS)}")
                continue
            link["action"] = action
        links.append(link)
    return tuple(links)


def _with_link_keys(links: tuple[dict[str, str], ...]) -> tuple[dict[str, str], ...]:
    return tuple({"key": link.get("key") or new_hex_id(), **link} for link in links)


def _is_ip_or_range(text: str) -> bool:
    try:
        if "/" in text:
            ipaddress.ip_network(text, strict=False)
        else:
            ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_key_id(text: str) -> bool:
    return len(text) == 32 and all(c in "0123456789ABCDEF" for c in text)


def _one_year_after(instant: datetime) -> datetime:
    try:
        return instant.replace(year=instant.year + 1)
    except ValueError:  # 29 February
        return instant.replace(year=instant.year + 1, day=28)

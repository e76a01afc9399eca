"""Infobip's JSON for API keys, to and from the domain's `LiveKey` and `KeyWrite`.

Field names are Infobip's (`allowedIPs`, `scopeGuids`, …); values are normalized through
`domain.normalize` on the way in, so a live key compares with a desired one by `==`.
`apiKeySecret` never enters a LiveKey: only the create path hands it out, wrapped in a
Secret. A malformed answer is a TransportError naming the operation and the field, never a
message quoting the answer (it may hold secrets).
"""

from __future__ import annotations

import functools
import ipaddress
import math
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from infobip_iac.domain.attributes import ATTRIBUTES, AttributeKind
from infobip_iac.domain.keys import KeyWrite, LiveKey, Permission, PlatformLink
from infobip_iac.domain.normalize import (
    canonical_network,
    format_wire_instant,
    parse_instant,
    sorted_networks,
)
from infobip_iac.domain.secret import Secret
from infobip_iac.errors import TransportError

__all__ = [
    "MAX_PAGE_INDEX",
    "PAGE_SIZE",
    "KeyPage",
    "created_key_from_wire",
    "live_key_from_wire",
    "page_from_wire",
    "write_to_wire",
]

PAGE_SIZE = 100  # the largest `size` Infobip allows, and its default
MAX_PAGE_INDEX = 100  # `page` starts at 0 and may be at most 100


class _MalformedError(Exception):
    """A field of the answer is not what the spec says; turned into a TransportError."""


@dataclass(frozen=True)
class KeyPage:
    """One page of a list answer."""

    keys: list[LiveKey]
    total_count: int
    total_pages: int


def _string(item: dict[str, Any], field: str, *, required: bool = False) -> str | None:
    value = item.get(field)
    if value is None:
        if required:
            raise _MalformedError(f"lacks {field}")
        return None
    if not isinstance(value, str):
        raise _MalformedError(f"has a {field} that is not a string")
    if required and not value:
        raise _MalformedError(f"has an empty {field}")
    return value


def _strings(item: dict[str, Any], field: str) -> list[str]:
    value = item.get(field)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _MalformedError(f"has a {field} that is not a list of strings")
    return value


def _instant(item: dict[str, Any], field: str) -> datetime | None:
    text = _string(item, field)
    if text is None:
        return None
    try:
        return _parse_instant(text)
    except ValueError:
        raise _MalformedError(f"has a {field} that is not a date-time") from None


# The same few ranges recur on thousands of keys, and ipaddress parsing is the costliest step
# of reading a page: remember recent answers (bounded, so memory stays flat).
# Live ranges with host bits set (possible through Infobip's portal) are read as the range
# they admit; only manifests are held to the strict form.
_canonical_network = functools.lru_cache(maxsize=4096)(
    functools.partial(canonical_network, strict=False)
)
_parse_instant = functools.lru_cache(maxsize=4096)(parse_instant)


# Tens of thousands of live keys share a few sets of scopes, permissions and ranges: each
# distinct set is made once and shared (bounded caches, so memory stays flat), which keeps a
# 25,000-key account's keys to about half the memory.
@functools.lru_cache(maxsize=4096)
def _network_set(texts: tuple[str, ...]) -> frozenset[str]:
    return frozenset(map(_live_network, texts))


def _live_network(text: str) -> str:
    """A live range, canonical; one the tool cannot read (`10.0.0.1-10.0.0.5`, `10.0.0.*`)
    is kept verbatim: Infobip's answers may gain forms over time, and one such value must
    not fail the account's read. It compares as an opaque string, so a declared range
    still replaces it."""
    try:
        return _canonical_network(text)
    except ValueError:
        return text


@functools.lru_cache(maxsize=4096)
def _scope_set(scopes: tuple[str, ...]) -> frozenset[str]:
    return frozenset(sys.intern(scope) for scope in scopes)


_PERMISSIONS = {permission.value: permission for permission in Permission}


@functools.lru_cache(maxsize=64)
def _permission_set(values: tuple[str, ...]) -> frozenset[Permission | str]:
    # A permission the tool does not know (`ALL`, say) is kept verbatim, as an opaque string.
    return frozenset(_PERMISSIONS.get(value, value) for value in values)


def _networks(item: dict[str, Any]) -> frozenset[str]:
    return _network_set(tuple(_strings(item, "allowedIPs")))


def _permissions(item: dict[str, Any]) -> frozenset[Permission | str]:
    return _permission_set(tuple(_strings(item, "permissions")))


def _platform(item: dict[str, Any]) -> tuple[PlatformLink, ...]:
    raw = item.get("platform")
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(link, dict) for link in raw):
        raise _MalformedError("has a platform that is not a list of objects")
    links = []
    for link in raw:
        application = _string(link, "applicationId", required=True)
        # An action other than FILL or FORCE is kept verbatim, as an opaque string.
        action = _string(link, "action")
        assert application is not None  # required=True
        links.append(
            PlatformLink(
                application_id=application,
                entity_id=_string(link, "entityId"),
                action=action,
            )
        )
    return tuple(links)


def _enabled(item: dict[str, Any]) -> bool:
    value = item.get("enabled")
    if value is None:
        return True  # Infobip's default for a key; the spec does not require the field
    if not isinstance(value, bool):
        raise _MalformedError("has an enabled that is not true or false")
    return value


def _live_key(item: object) -> LiveKey:
    if not isinstance(item, dict):
        raise _MalformedError("is not an object")
    key_id = _string(item, "id", required=True)
    account_id = _string(item, "accountId", required=True)
    name = _string(item, "name", required=True)
    assert key_id is not None and account_id is not None and name is not None
    return LiveKey(
        id=key_id,
        account_id=sys.intern(account_id),
        name=name,
        scopes=_scope_set(tuple(_strings(item, "scopeGuids"))),
        permissions=_permissions(item),
        platform=_platform(item),
        allowed_ips=_networks(item),
        valid_from=_instant(item, "validFrom"),
        valid_to=_instant(item, "validTo"),
        enabled=_enabled(item),
    )


def _where(item: object, position: int | None) -> str:
    key_id = item.get("id") if isinstance(item, dict) else None
    if isinstance(key_id, str) and key_id.isalnum() and len(key_id) <= 64:
        return f"key {key_id}"
    return "the key" if position is None else f"key #{position + 1} of the page"


def live_key_from_wire(item: object, *, operation: str, position: int | None = None) -> LiveKey:
    """A LiveKey from one ApiKey object; the `apiKeySecret` field is ignored."""
    try:
        return _live_key(item)
    except _MalformedError as problem:
        raise TransportError(
            f"malformed answer: {_where(item, position)} {problem}", operation=operation
        ) from None


def created_key_from_wire(item: object, *, operation: str) -> tuple[LiveKey, Secret]:
    """The new key and its secret from a create answer."""
    key = live_key_from_wire(item, operation=operation)
    assert isinstance(item, dict)  # checked by live_key_from_wire
    secret = item.get("apiKeySecret")
    if not isinstance(secret, str) or not secret:
        raise TransportError(
            f"malformed answer: key {key.id} was created but the answer holds no apiKeySecret",
            operation=operation,
        )
    return key, Secret(secret)


def _count(paging: dict[str, Any], field: str, operation: str) -> int | None:
    value = paging.get(field)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TransportError(
            f"malformed answer: paging.{field} is not a non-negative integer",
            operation=operation,
        )
    return value


def page_from_wire(payload: object, *, operation: str) -> KeyPage:
    """One page of `GET /settings/2/api-keys`: `paging` is required by the spec."""
    if not isinstance(payload, dict):
        raise TransportError("malformed answer: not a JSON object", operation=operation)
    paging = payload.get("paging")
    if not isinstance(paging, dict):
        raise TransportError("malformed answer: no paging object", operation=operation)
    total_count = _count(paging, "totalCount", operation)
    total_pages = _count(paging, "totalPages", operation)
    raw_keys = payload.get("apiKeys")
    if raw_keys is None:
        raw_keys = []
    if not isinstance(raw_keys, list):
        raise TransportError("malformed answer: apiKeys is not a list", operation=operation)
    keys = [
        live_key_from_wire(item, operation=operation, position=index)
        for index, item in enumerate(raw_keys)
    ]
    if total_count is None and total_pages is None:
        raise TransportError(
            "malformed answer: paging has neither totalCount nor totalPages", operation=operation
        )
    if total_pages is None:
        assert total_count is not None
        total_pages = math.ceil(total_count / PAGE_SIZE)
    if total_count is None:
        # An upper bound: enough to decide whether one filter can reach every key.
        total_count = total_pages * PAGE_SIZE
    return KeyPage(keys=keys, total_count=total_count, total_pages=total_pages)


def _wire_ip(network: str) -> str:
    # A range of one address goes out as the bare address, as Infobip's own examples write
    # it; the value read back normalizes to the same network either way.
    parsed = ipaddress.ip_network(network)
    if parsed.num_addresses == 1:
        return str(parsed.network_address)
    return parsed.with_prefixlen


def _wire_links(links: Iterable[PlatformLink]) -> list[dict[str, Any]]:
    return [
        {
            "applicationId": link.application_id,
            **({"entityId": link.entity_id} if link.entity_id is not None else {}),
            **({"action": link.action} if link.action is not None else {}),
        }
        for link in sorted(links, key=PlatformLink.sort_key)
    ]


# Each kind of attribute value as Infobip's JSON takes it.
_WIRE_FORMS: dict[AttributeKind, Callable[[Any], Any]] = {
    AttributeKind.TEXT: lambda text: text,
    AttributeKind.FLAG: lambda flag: flag,
    AttributeKind.INSTANT: format_wire_instant,
    AttributeKind.TEXT_SET: lambda values: sorted(map(str, values)),
    AttributeKind.NETWORK_SET: lambda networks: [_wire_ip(n) for n in sorted_networks(networks)],
    AttributeKind.LINK_SET: _wire_links,
}


def write_to_wire(write: KeyWrite, *, account_id: str | None = None) -> dict[str, Any]:
    """The JSON body of a create or update: only the fields `write` sets, under Infobip's
    names (domain/attributes.py).

    `valid_for` must already be resolved into `valid_to` (by the planner, or by apply with
    `KeyWrite.with_valid_to_resolved`): Infobip knows no relative validity.
    """
    if write.valid_for is not None:
        raise ValueError("valid_for must be resolved against the server's clock before sending")
    body: dict[str, Any] = {}
    if account_id is not None:
        body["accountId"] = account_id
    for attribute in ATTRIBUTES:
        value = getattr(write, attribute.name)
        if value is not None:
            body[attribute.wire] = _WIRE_FORMS[attribute.kind](value)
    return body

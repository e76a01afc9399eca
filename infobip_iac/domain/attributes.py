"""The attributes of an API key that a manifest manages: one row each, read by every stage.

A row gives the manifest's name (which plans, diffs and `ignore_changes` speak), Infobip's
field name on the wire, and the kind of value, which decides how the value is compared,
shown as plan JSON and sent. The manifest's `ignore_changes` list (and so its schema), the
diff, the plan's JSON, state's recorded values and the write body are all made from this
table; adding an attribute starts with a row here (the rest is listed in `KeyAttribute`).

The emulator keeps its own notion of a key on purpose: it stands in for Infobip and must
not share the tool's assumptions.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from infobip_iac.domain.normalize import format_instant, sorted_networks

__all__ = [
    "ATTRIBUTES",
    "CREATE_ATTRIBUTES",
    "GRANT_ATTRIBUTES",
    "IGNORABLE_ATTRIBUTES",
    "INSTANT_ATTRIBUTES",
    "MANAGED_ATTRIBUTES",
    "SET_ATTRIBUTES",
    "STRUCTURED_ATTRIBUTES",
    "AttributeKind",
    "KeyAttribute",
    "json_value",
    "json_values",
    "link_order",
    "sorted_texts",
]


class AttributeKind(Enum):
    TEXT = "text"
    FLAG = "flag"
    INSTANT = "instant"  # an aware UTC datetime; RFC 3339 in plans, Infobip's form on the wire
    TEXT_SET = "text set"  # scope names, permissions: compared by set difference
    NETWORK_SET = "network set"  # canonical IP ranges, shown in address order
    LINK_SET = "link set"  # CPaaS X links (objects): compared structurally

    @property
    def is_set(self) -> bool:
        return self in (AttributeKind.TEXT_SET, AttributeKind.NETWORK_SET, AttributeKind.LINK_SET)


@dataclass(frozen=True, slots=True)
class KeyAttribute:
    """One managed attribute. Adding one: a row in `ATTRIBUTES`; a field of the same name
    in `DesiredKey`, `LiveKey` and `KeyWrite` (domain/keys.py); the manifest's field in
    `KeySettings` (manifest/models.py; then regenerate schemas/manifest.schema.json with
    `python -m infobip_iac.manifest.schema`); its value taken into the DesiredKey
    (manifest/resolve.py `KeyDraft.to_desired`); its reading from Infobip's answer
    (infobip/wire.py `_live_key`); and the emulator's own model of a key (emulator/).
    tests/domain/test_attributes.py fails until the key shapes have the field."""

    name: str  # the manifest's name
    wire: str  # Infobip's JSON field
    kind: AttributeKind
    # `lifecycle.ignore_changes` may name it: live changes to it are then left alone.
    ignorable: bool = True
    # Scopes and permissions: a key linked to CPaaS X applications has none of its own.
    grant: bool = False
    # Infobip's create request has the field (it has no `enabled`: a new key is enabled).
    on_create: bool = True


# In the order plans show them.
ATTRIBUTES: tuple[KeyAttribute, ...] = (
    KeyAttribute("name", "name", AttributeKind.TEXT),
    KeyAttribute("scopes", "scopeGuids", AttributeKind.TEXT_SET, grant=True),
    KeyAttribute("permissions", "permissions", AttributeKind.TEXT_SET, grant=True),
    KeyAttribute("platform", "platform", AttributeKind.LINK_SET),
    KeyAttribute("allowed_ips", "allowedIPs", AttributeKind.NETWORK_SET),
    KeyAttribute("valid_from", "validFrom", AttributeKind.INSTANT),
    KeyAttribute("valid_to", "validTo", AttributeKind.INSTANT),
    KeyAttribute("enabled", "enabled", AttributeKind.FLAG, on_create=False),
)

MANAGED_ATTRIBUTES: tuple[str, ...] = tuple(a.name for a in ATTRIBUTES)
IGNORABLE_ATTRIBUTES: tuple[str, ...] = tuple(a.name for a in ATTRIBUTES if a.ignorable)
SET_ATTRIBUTES = frozenset(a.name for a in ATTRIBUTES if a.kind.is_set)
STRUCTURED_ATTRIBUTES = frozenset(a.name for a in ATTRIBUTES if a.kind is AttributeKind.LINK_SET)
INSTANT_ATTRIBUTES = frozenset(a.name for a in ATTRIBUTES if a.kind is AttributeKind.INSTANT)
GRANT_ATTRIBUTES = frozenset(a.name for a in ATTRIBUTES if a.grant)
CREATE_ATTRIBUTES: tuple[str, ...] = tuple(a.name for a in ATTRIBUTES if a.on_create)


# Many keys share a few sets of scopes and permissions (the same frozenset objects, whose
# hash Python keeps): each is sorted once. The cache is bounded, so memory stays flat.
@functools.lru_cache(maxsize=4096)
def sorted_texts(values: frozenset[Any]) -> tuple[str, ...]:
    """A set of text, sorted, as a tuple (cached: share it, never change it)."""
    # map(str): a live permission the tool does not know is a plain string, the rest enums.
    return tuple(sorted(map(str, values)))


def _text_list(values: Iterable[Any]) -> list[str]:
    if isinstance(values, frozenset):
        return list(sorted_texts(values))
    return sorted(map(str, values))


def _link_list(links: Collection[Any]) -> list[dict[str, Any]]:
    # Links are PlatformLinks (domain/keys.py, which reads this table): sorted by their key.
    if not links:
        return []  # most keys link nothing
    return [link.as_json() for link in sorted(links, key=link_order)]


def link_order(link: Any) -> Any:
    """The order links are shown and sent in (`PlatformLink.sort_key`)."""
    return link.sort_key()


def _same(value: Any) -> Any:
    return value


# Plan JSON: sorted lists, RFC 3339 instants; what state files record too. (Infobip's
# forms of the same kinds are infobip/wire.py's.)
_JSON_FORMS: dict[AttributeKind, Callable[[Any], Any]] = {
    AttributeKind.TEXT: _same,
    AttributeKind.FLAG: _same,
    AttributeKind.INSTANT: format_instant,
    AttributeKind.TEXT_SET: _text_list,
    AttributeKind.NETWORK_SET: sorted_networks,
    AttributeKind.LINK_SET: _link_list,
}
_JSON_FORM_OF: dict[str, Callable[[Any], Any]] = {a.name: _JSON_FORMS[a.kind] for a in ATTRIBUTES}


def json_value(attribute: str, value: Any) -> Any:
    """One typed value as plan JSON (None stays None); an attribute outside the table, as
    a hand-edited state file may hold, is kept as it is."""
    if value is None:
        return None
    return _JSON_FORM_OF.get(attribute, _same)(value)


# (name, form) of every attribute, in plan order; form None where the JSON is the value
# itself, which saves a call per value on the many keys of a large account.
_JSON_STEPS = tuple(
    (a.name, None if a.kind in (AttributeKind.TEXT, AttributeKind.FLAG) else _JSON_FORMS[a.kind])
    for a in ATTRIBUTES
)
_READ_ALL = operator.attrgetter(*MANAGED_ATTRIBUTES)


def json_values(values: Any) -> dict[str, Any]:
    """Every attribute of `values` (an object with one field per attribute, such as a
    LiveKey) as plan JSON, in plan order."""
    # Written out as a loop, without a call for the values that need no work (text, flags,
    # None, an empty set): it runs for every live key of a plan.
    result: dict[str, Any] = {}
    for (name, form), value in zip(_JSON_STEPS, _READ_ALL(values), strict=False):
        if form is None or value is None:
            result[name] = value
        else:
            result[name] = form(value) if value else []  # only a set can be empty
    return result

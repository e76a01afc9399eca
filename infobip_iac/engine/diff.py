"""Attribute values compared as typed values, and their differences as `AttributeChange`s.

Declared and live values are already canonical (`domain.normalize`): sets of canonical
networks, scope and permission sets, UTC instants without sub-seconds. Two equal things
therefore compare equal with `==`, and only the attributes that differ are turned into plan
JSON (`json_value`) and handed to deepdiff. deepdiff sees each distinct difference once,
in a single call for the whole plan, and its report is turned into `AttributeChange`s at
once: nothing outside this module sees deepdiff's output.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from deepdiff import DeepDiff

from infobip_iac.domain.keys import (
    MANAGED_ATTRIBUTES,
    DesiredKey,
    LiveKey,
    Permission,
    PlatformLink,
)
from infobip_iac.domain.normalize import format_instant, parse_instant, sorted_networks
from infobip_iac.domain.plan import AttributeChange

__all__ = [
    "SET_ATTRIBUTES",
    "Attributes",
    "attribute_changes",
    "desired_attributes",
    "differing_attributes",
    "json_value",
    "live_values",
    "same_value",
    "wanted_values",
]

Attributes = dict[str, Any]

SET_ATTRIBUTES = frozenset({"scopes", "permissions", "platform", "allowed_ips"})
_DEFAULT_PERMISSIONS = frozenset({Permission.PUBLIC_API})


def wanted_values(desired: DesiredKey, valid_to: datetime | None) -> Attributes:
    """The typed values a declaration asks for; None marks an attribute it leaves alone.

    A key linked to CPaaS X applications (`platform`) has no scopes or permissions of its
    own on Infobip, so those are not managed for it. An empty `permissions` is what Infobip
    turns into PUBLIC_API, so it is asked for as that.
    """
    linked = bool(desired.platform)
    return {
        "name": desired.name,
        "scopes": None if linked else desired.scopes,
        "permissions": None if linked else (desired.permissions or _DEFAULT_PERMISSIONS),
        "platform": frozenset(desired.platform),
        "allowed_ips": desired.allowed_ips,
        "valid_from": desired.valid_from,
        "valid_to": valid_to,
        "enabled": desired.enabled,
    }


def live_values(key: LiveKey) -> Attributes:
    """A live key's typed values, in the same shapes as `wanted_values`."""
    permissions = key.permissions
    if not permissions and not key.platform:
        permissions = _DEFAULT_PERMISSIONS
    return {
        "name": key.name,
        "scopes": key.scopes,
        "permissions": permissions,
        "platform": frozenset(key.platform),
        "allowed_ips": key.allowed_ips,
        "valid_from": key.valid_from,
        "valid_to": key.valid_to,
        "enabled": key.enabled,
    }


def differing_attributes(
    wanted: Mapping[str, Any], live: Mapping[str, Any], ignored: Collection[str] = ()
) -> list[str]:
    """Managed attributes (in plan order) whose wanted value differs from the live one;
    attributes wanted as None, or ignored, are not compared."""
    if wanted == live:
        return []  # the steady state: one comparison in C instead of eight in Python
    return [
        attribute
        for attribute in MANAGED_ATTRIBUTES
        if wanted.get(attribute) is not None
        and attribute not in ignored
        and wanted[attribute] != live.get(attribute)
    ]


def json_value(attribute: str, value: Any) -> Any:
    """One typed value as plan JSON: the form `LiveKey.attributes()` gives."""
    if value is None:
        return None
    if attribute == "allowed_ips":
        return sorted_networks(value)
    if attribute == "platform":
        return [
            link.model_dump(exclude_none=True) for link in sorted(value, key=PlatformLink.sort_key)
        ]
    if attribute == "permissions":
        return sorted(Permission(p).value for p in value)
    if attribute == "scopes":
        return sorted(value)
    if attribute in ("valid_from", "valid_to"):
        return format_instant(value)
    return value


def desired_attributes(desired: DesiredKey, valid_to: datetime | None) -> Attributes:
    """A declaration as plan JSON; None marks an attribute it leaves alone."""
    return {a: json_value(a, v) for a, v in wanted_values(desired, valid_to).items()}


def same_value(attribute: str, recorded: Any, live: Any) -> bool:
    """Equality for a value read back from a state file, which a person may have edited:
    lists compare as sets, instants as instants."""
    if recorded == live:
        return True
    if attribute in SET_ATTRIBUTES and isinstance(recorded, list) and isinstance(live, list):
        return {_member_key(v) for v in recorded} == {_member_key(v) for v in live}
    if attribute in ("valid_from", "valid_to") and recorded and live:
        try:
            return parse_instant(str(recorded)) == parse_instant(str(live))
        except ValueError:
            return False
    return False


def _member_key(member: Any) -> str:
    if isinstance(member, str):
        return member
    return json.dumps(member, sort_keys=True, separators=(",", ":"))


def _members(values: Any) -> dict[str, Any]:
    # deepdiff reports a dictionary's added and removed keys by name, which is what a set
    # attribute's difference is; lists would be diffed by position.
    if not isinstance(values, list | tuple | set | frozenset):
        return {}
    return {_member_key(v): v for v in values}


def _sorted_members(attribute: str, members: list[Any]) -> tuple[Any, ...]:
    if attribute == "allowed_ips":
        return tuple(sorted_networks(members))
    return tuple(sorted(members, key=_member_key))


_Signature = tuple[str, tuple[str, ...], tuple[str, ...]]


def _signature(attribute: str, before: Any, after: Any) -> _Signature:
    return (attribute, tuple(sorted(_members(before))), tuple(sorted(_members(after))))


def _set_differences(
    signatures: set[_Signature], values: dict[_Signature, tuple[Any, Any]]
) -> dict[_Signature, tuple[tuple[Any, ...], tuple[Any, ...]]]:
    """(added, removed) members for every distinct set difference, from one deepdiff.

    Each side is one flat dictionary keyed by "<difference number> NUL <member>": deepdiff
    reports its added and removed keys, and a flat dictionary costs it half the work of
    one nested dictionary per difference (10,000 differences stay well under a second).
    """
    numbered = {str(number): signature for number, signature in enumerate(sorted(signatures))}
    left: dict[str, Any] = {}
    right: dict[str, Any] = {}
    for number, signature in numbered.items():
        before, after = values[signature]
        left.update((f"{number}\0{key}", member) for key, member in _members(before).items())
        right.update((f"{number}\0{key}", member) for key, member in _members(after).items())
    added: dict[str, list[Any]] = {}
    removed: dict[str, list[Any]] = {}
    if numbered:
        # threshold 0: report added and removed members even when none are shared,
        # rather than one "value changed" for the whole dictionary.
        report = DeepDiff(left, right, view="tree", threshold_to_diff_deeper=0)
        for kind, bucket in (
            ("dictionary_item_added", added),
            ("dictionary_item_removed", removed),
        ):
            for level in report.get(kind, ()):
                path = level.path(output_format="list")
                if len(path) == 1:
                    number = str(path[0]).split("\0", 1)[0]
                    value = level.t2 if bucket is added else level.t1
                    bucket.setdefault(number, []).append(value)
    return {
        signature: (
            _sorted_members(signature[0], added.get(number, [])),
            _sorted_members(signature[0], removed.get(number, [])),
        )
        for number, signature in numbered.items()
    }


def attribute_changes(
    pairs: Mapping[str, tuple[Mapping[str, Any], Mapping[str, Any]]],
) -> dict[str, tuple[AttributeChange, ...]]:
    """For each entry (an address, say), the changes from its `before` to its `after`
    JSON values. Both hold the same attributes: only those that differ."""
    signatures: dict[tuple[str, str], _Signature] = {}
    values: dict[_Signature, tuple[Any, Any]] = {}
    for entry, (before, after) in pairs.items():
        for attribute in before:
            if attribute in SET_ATTRIBUTES:
                old, new = before[attribute], after.get(attribute)
                signature = _signature(attribute, old, new)
                signatures[(entry, attribute)] = signature
                values.setdefault(signature, (old, new))
    differences = _set_differences(set(values), values)

    result: dict[str, tuple[AttributeChange, ...]] = {}
    for entry, (before, after) in pairs.items():
        changes = []
        for attribute in _ordered(before):
            old, new = before[attribute], after.get(attribute)
            if attribute in SET_ATTRIBUTES:
                came, gone = differences[signatures[(entry, attribute)]]
                changes.append(
                    AttributeChange(
                        attribute=attribute,
                        before=old,
                        after=new,
                        added=came,
                        removed=gone,
                        unchanged=len(_members(old)) - len(gone),
                    )
                )
            else:
                changes.append(AttributeChange(attribute=attribute, before=old, after=new))
        result[entry] = tuple(changes)
    return result


def _ordered(attributes: Mapping[str, Any]) -> list[str]:
    known = [a for a in MANAGED_ATTRIBUTES if a in attributes]
    return known + sorted(a for a in attributes if a not in MANAGED_ATTRIBUTES)

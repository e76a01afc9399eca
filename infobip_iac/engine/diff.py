"""Attribute values in comparable form, and their differences as typed `AttributeChange`s.

Every value here is JSON in the form `LiveKey.attributes()` gives: sorted lists for the
set attributes, RFC 3339 instants with `Z`. Two equal things therefore compare equal with
`==`; deepdiff is asked only about attributes already known to differ, once for a whole
plan, and its report is turned into `AttributeChange`s at once.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from deepdiff import DeepDiff

from infobip_iac.domain.keys import MANAGED_ATTRIBUTES, DesiredKey, Permission, PlatformLink
from infobip_iac.domain.normalize import format_instant, parse_instant, sorted_networks
from infobip_iac.domain.plan import AttributeChange

__all__ = [
    "SET_ATTRIBUTES",
    "Attributes",
    "attribute_changes",
    "desired_attributes",
    "differing_attributes",
    "same_value",
]

Attributes = dict[str, Any]

SET_ATTRIBUTES = frozenset({"scopes", "permissions", "platform", "allowed_ips"})
_DEFAULT_PERMISSIONS = [Permission.PUBLIC_API.value]


def desired_attributes(desired: DesiredKey, valid_to: datetime | None) -> Attributes:
    """The managed attributes a declaration asks for; None marks one it leaves alone.

    A key linked to CPaaS X applications (`platform`) has no scopes or permissions of its
    own on Infobip, so those are not managed for it. An empty `permissions` is what Infobip
    turns into PUBLIC_API, so it is asked for as that.
    """
    linked = bool(desired.platform)
    permissions = sorted(p.value for p in desired.permissions) or _DEFAULT_PERMISSIONS
    return {
        "name": desired.name,
        "scopes": None if linked else sorted(desired.scopes),
        "permissions": None if linked else permissions,
        "platform": [
            link.model_dump(exclude_none=True)
            for link in sorted(desired.platform, key=PlatformLink.sort_key)
        ],
        "allowed_ips": sorted_networks(desired.allowed_ips),
        "valid_from": format_instant(desired.valid_from) if desired.valid_from else None,
        "valid_to": format_instant(valid_to) if valid_to else None,
        "enabled": desired.enabled,
    }


def differing_attributes(
    wanted: Mapping[str, Any], live: Mapping[str, Any], ignored: Collection[str] = ()
) -> list[str]:
    """Managed attributes (in plan order) whose wanted value differs from the live one;
    attributes wanted as None or ignored are not compared."""
    differing = []
    for attribute in MANAGED_ATTRIBUTES:
        want = wanted.get(attribute)
        if want is None or attribute in ignored:
            continue
        have = live.get(attribute)
        if attribute == "permissions" and not have and not live.get("platform"):
            have = _DEFAULT_PERMISSIONS
        if want != have:
            differing.append(attribute)
    return differing


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


def _as_members(values: Any) -> dict[str, Any]:
    # deepdiff reports a dictionary's added and removed keys by name, which is what a set
    # attribute's difference is; lists would be diffed by position.
    return {_member_key(v): v for v in values or ()}


def _sorted_members(attribute: str, members: list[Any]) -> tuple[Any, ...]:
    if attribute == "allowed_ips":
        return tuple(sorted_networks(members))
    return tuple(sorted(members, key=_member_key))


def attribute_changes(
    pairs: Mapping[str, tuple[Mapping[str, Any], Mapping[str, Any]]],
) -> dict[str, tuple[AttributeChange, ...]]:
    """For each entry (an address, say), the changes from its `before` to its `after`
    values. Both hold the same attributes, only those that differ."""
    left: dict[str, dict[str, Any]] = {}
    right: dict[str, dict[str, Any]] = {}
    for entry, (before, after) in pairs.items():
        left[entry] = {a: _as_members(v) if a in SET_ATTRIBUTES else v for a, v in before.items()}
        right[entry] = {a: _as_members(v) if a in SET_ATTRIBUTES else v for a, v in after.items()}
    added: dict[tuple[str, str], list[Any]] = {}
    removed: dict[tuple[str, str], list[Any]] = {}
    if left:
        report = DeepDiff(left, right, view="tree", verbose_level=2)
        for kind, bucket in (
            ("dictionary_item_added", added),
            ("dictionary_item_removed", removed),
        ):
            for level in report.get(kind, ()):
                path = level.path(output_format="list")
                if len(path) == 3:  # entry, attribute, member
                    value = level.t2 if bucket is added else level.t1
                    bucket.setdefault((path[0], path[1]), []).append(value)

    result: dict[str, tuple[AttributeChange, ...]] = {}
    for entry, (before, after) in pairs.items():
        changes = []
        for attribute in _ordered(before):
            old, new = before[attribute], after.get(attribute)
            if attribute in SET_ATTRIBUTES:
                gone = _sorted_members(attribute, removed.get((entry, attribute), []))
                came = _sorted_members(attribute, added.get((entry, attribute), []))
                changes.append(
                    AttributeChange(
                        attribute=attribute,
                        before=old,
                        after=new,
                        added=came,
                        removed=gone,
                        unchanged=len(old or ()) - len(gone),
                    )
                )
            else:
                changes.append(AttributeChange(attribute=attribute, before=old, after=new))
        result[entry] = tuple(changes)
    return result


def _ordered(attributes: Mapping[str, Any]) -> list[str]:
    known = [a for a in MANAGED_ATTRIBUTES if a in attributes]
    return known + sorted(a for a in attributes if a not in MANAGED_ATTRIBUTES)

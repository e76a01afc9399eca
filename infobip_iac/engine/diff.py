"""Attribute values compared as typed values, and their differences as `AttributeChange`s.

Declared and live values are already canonical (`domain.normalize`): sets of canonical
networks, scope and permission sets, UTC instants without sub-seconds. Two equal things
therefore compare equal with `==`, and only the attributes that differ are turned into plan
JSON (`json_value`) and diffed. Sets of text differ by set difference; sets of objects
(CPaaS X links) go to deepdiff, which sees each distinct difference once, in a single
call for the whole plan. Either way the result is `AttributeChange`s: nothing outside this
module sees deepdiff's output.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from infobip_iac.domain.attributes import (
    ATTRIBUTES,
    GRANT_ATTRIBUTES,
    INSTANT_ATTRIBUTES,
    MANAGED_ATTRIBUTES,
    SET_ATTRIBUTES,
    STRUCTURED_ATTRIBUTES,
    AttributeKind,
    json_value,
)
from infobip_iac.domain.keys import DEFAULT_PERMISSIONS, DesiredKey, LiveKey, PlatformLink
from infobip_iac.domain.normalize import parse_instant, sorted_networks
from infobip_iac.domain.plan import AttributeChange

__all__ = [
    "SET_ATTRIBUTES",
    "STRUCTURED_ATTRIBUTES",
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

_NO_LINKS: frozenset[PlatformLink] = frozenset()
# Every attribute read in one C call (keys are many). The values are already typed and
# canonical, except the CPaaS X links (the one structured attribute), which a key holds in
# order and the diff compares as a set.
_READ_ALL = operator.attrgetter(*MANAGED_ATTRIBUTES)
(_LINKS,) = STRUCTURED_ATTRIBUTES


def wanted_values(desired: DesiredKey, valid_to: datetime | None) -> Attributes:
    """The typed values a declaration asks for; None marks an attribute it leaves alone.

    A key linked to CPaaS X applications (`platform`) has no scopes or permissions of its
    own on Infobip, so those (the grant attributes) are not managed for it. An empty
    `permissions` is what Infobip turns into PUBLIC_API, so it is asked for as that.
    `valid_to` is the planner's: a relative `valid_for` resolved.
    """
    values = dict(zip(MANAGED_ATTRIBUTES, _READ_ALL(desired), strict=False))
    values["valid_to"] = valid_to
    links = values[_LINKS]
    if links:
        values[_LINKS] = frozenset(links)
        values.update(_NO_GRANTS)
    else:
        values[_LINKS] = _NO_LINKS
        if not desired.permissions:
            values["permissions"] = DEFAULT_PERMISSIONS
    return values


_NO_GRANTS = dict.fromkeys(GRANT_ATTRIBUTES)
_NETWORK_SETS = frozenset(a.name for a in ATTRIBUTES if a.kind is AttributeKind.NETWORK_SET)


def live_values(key: LiveKey) -> Attributes:
    """A live key's typed values, in the same shapes as `wanted_values`."""
    values = dict(zip(MANAGED_ATTRIBUTES, _READ_ALL(key), strict=False))
    links = values[_LINKS]
    if links:
        values[_LINKS] = frozenset(links)
    else:
        values[_LINKS] = _NO_LINKS
        if not key.permissions:
            values["permissions"] = DEFAULT_PERMISSIONS
    return values


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
        if (value := wanted.get(attribute)) is not None
        and attribute not in ignored
        and value != live.get(attribute)
    ]


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
    if attribute in INSTANT_ATTRIBUTES and recorded and live:
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
    if attribute in _NETWORK_SETS:
        return tuple(sorted_networks(members))
    return tuple(sorted(members, key=_member_key))


# Members that are objects (CPaaS X links, STRUCTURED_ATTRIBUTES) are compared
# structurally by deepdiff; members that are text (scopes, permissions, ranges) by set
# difference, which is exact for text and costs a hundredth of deepdiff's report on the
# 10,000 changed keys of a large plan.

_Signature = tuple[str, tuple[str, ...], tuple[str, ...]]
# (added, removed, unchanged count) of one set attribute
_Difference = tuple[tuple[Any, ...], tuple[Any, ...], int]


def _signature(attribute: str, before: Any, after: Any) -> _Signature:
    return (attribute, tuple(sorted(_members(before))), tuple(sorted(_members(after))))


def _structured_differences(
    values: dict[_Signature, tuple[Any, Any]],
) -> dict[_Signature, _Difference]:
    """The difference of every distinct pair of object sets, from one deepdiff.

    Each side is one flat dictionary keyed by "<difference number> NUL <member>": deepdiff
    reports its added and removed keys, and a flat dictionary costs it half the work of
    one nested dictionary per difference.
    """
    numbered = {str(number): signature for number, signature in enumerate(sorted(values))}
    left: dict[str, Any] = {}
    right: dict[str, Any] = {}
    for number, signature in numbered.items():
        before, after = values[signature]
        left.update((f"{number}\0{key}", member) for key, member in _members(before).items())
        right.update((f"{number}\0{key}", member) for key, member in _members(after).items())
    added: dict[str, list[Any]] = {}
    removed: dict[str, list[Any]] = {}
    if numbered:
        # Imported here: deepdiff (with its caches) costs a plan's start a fortieth of a
        # second, and most plans have no object set that changed.
        from deepdiff import DeepDiff

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
    differences: dict[_Signature, _Difference] = {}
    for number, signature in numbered.items():
        gone = _sorted_members(signature[0], removed.get(number, []))
        differences[signature] = (
            _sorted_members(signature[0], added.get(number, [])),
            gone,
            len(signature[1]) - len(gone),
        )
    return differences


def _text_difference(attribute: str, before: Any, after: Any) -> _Difference:
    """Added and removed members of two sets of text (members of other types, as a hand-
    edited state file may hold, are compared by their JSON, as deepdiff would)."""
    old, new = _members(before), _members(after)
    came = [new[key] for key in new.keys() - old.keys()]
    gone = [old[key] for key in old.keys() - new.keys()]
    return (
        _sorted_members(attribute, came),
        _sorted_members(attribute, gone),
        len(old) - len(gone),
    )


def attribute_changes(
    pairs: Mapping[str, tuple[Mapping[str, Any], Mapping[str, Any]]],
) -> dict[str, tuple[AttributeChange, ...]]:
    """For each entry (an address, say), the changes from its `before` to its `after`
    JSON values. Both hold the same attributes: only those that differ."""
    structured: dict[_Signature, tuple[Any, Any]] = {}
    for before, after in pairs.values():
        for attribute in STRUCTURED_ATTRIBUTES.intersection(before):
            old, new = before[attribute], after.get(attribute)
            structured.setdefault(_signature(attribute, old, new), (old, new))
    differences = _structured_differences(structured)

    result: dict[str, tuple[AttributeChange, ...]] = {}
    for entry, (before, after) in pairs.items():
        changes = []
        for attribute in _ordered(before):
            old, new = before[attribute], after.get(attribute)
            if attribute in STRUCTURED_ATTRIBUTES:
                difference = differences[_signature(attribute, old, new)]
            elif attribute in SET_ATTRIBUTES:
                difference = _text_difference(attribute, old, new)
            else:
                changes.append(_change(attribute, old, new, (), (), 0))
                continue
            changes.append(_change(attribute, old, new, *difference))
        result[entry] = tuple(changes)
    return result


def _change(
    attribute: str,
    before: Any,
    after: Any,
    added: tuple[Any, ...],
    removed: tuple[Any, ...],
    unchanged: int,
) -> AttributeChange:
    return AttributeChange(
        attribute=attribute,
        before=before,
        after=after,
        added=added,
        removed=removed,
        unchanged=unchanged,
        sensitive=False,
    )


def _ordered(attributes: Mapping[str, Any]) -> list[str]:
    known = [a for a in MANAGED_ATTRIBUTES if a in attributes]
    return known + sorted(a for a in attributes if a not in MANAGED_ATTRIBUTES)

"""Typed comparison of attributes, and their differences as AttributeChanges."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import deepdiff
import pytest
from builders import NOW, desired, live
from deepdiff import DeepDiff
from hypothesis import given, settings
from hypothesis import strategies as st

from infobip_iac.domain.keys import Permission, PlatformLink
from infobip_iac.engine.diff import (
    attribute_changes,
    desired_attributes,
    differing_attributes,
    live_values,
    same_value,
    wanted_values,
)


def test_set_differences_name_added_removed_and_unchanged_members() -> None:
    changes = attribute_changes(
        {
            "a": ({"scopes": ["x", "y", "z"]}, {"scopes": ["w", "x", "y"]}),
            "b": (
                {"allowed_ips": ["203.0.113.0/24"]},
                {"allowed_ips": ["10.0.0.0/8", "2001:db8::/48"]},
            ),
        }
    )

    (scopes,) = changes["a"]
    assert (scopes.added, scopes.removed, scopes.unchanged) == (("w",), ("z",), 2)
    (ips,) = changes["b"]
    assert ips.added == ("10.0.0.0/8", "2001:db8::/48")  # network order, not text order
    assert (ips.removed, ips.unchanged) == (("203.0.113.0/24",), 0)


def test_identical_differences_give_identical_changes() -> None:
    pair = ({"scopes": ["a", "b"]}, {"scopes": ["b", "c"]})

    changes = attribute_changes({f"k{n}": pair for n in range(3)})

    assert changes["k0"] == changes["k1"] == changes["k2"]
    assert changes["k0"][0].added == ("c",)


def test_platform_links_differ_as_a_set_of_objects() -> None:
    one = {"application_id": "app", "entity_id": "e1"}
    two = {"application_id": "app", "entity_id": "e2"}

    (change,) = attribute_changes({"k": ({"platform": [one]}, {"platform": [two, one]})})["k"]

    assert (change.added, change.removed, change.unchanged) == ((two,), (), 1)


def test_scalars_are_before_and_after_in_plan_order() -> None:
    changes = attribute_changes(
        {
            "k": (
                {"enabled": True, "name": "a", "valid_to": None},
                {"enabled": False, "name": "b", "valid_to": "2027-01-01T00:00:00Z"},
            )
        }
    )["k"]

    assert [(c.attribute, c.before, c.after) for c in changes] == [
        ("name", "a", "b"),
        ("valid_to", None, "2027-01-01T00:00:00Z"),
        ("enabled", True, False),
    ]


def test_an_empty_permission_set_means_public_api_on_both_sides() -> None:
    key = desired("k", permissions=frozenset())
    current = live("K1", "k", permissions=frozenset())

    assert differing_attributes(wanted_values(key, None), live_values(current)) == []
    assert desired_attributes(key, None)["permissions"] == ["PUBLIC_API"]


def test_a_platform_key_does_not_manage_scopes_or_permissions() -> None:
    key = desired("k", platform=(PlatformLink(application_id="app"),), scopes=frozenset({"x"}))
    current = live(
        "K1", "k", platform=(PlatformLink(application_id="app"),), permissions=frozenset()
    )

    wanted = wanted_values(key, None)

    assert wanted["scopes"] is None and wanted["permissions"] is None
    assert differing_attributes(wanted, live_values(current)) == []


def test_unmanaged_and_ignored_attributes_are_not_compared() -> None:
    key = desired("k", name="new")
    current = live("K1", "old", valid_from=NOW, valid_to=NOW + timedelta(days=9))

    wanted = wanted_values(key, None)

    assert differing_attributes(wanted, live_values(current)) == ["name"]
    assert differing_attributes(wanted, live_values(current), ignored={"name"}) == []


def test_permission_values_compare_as_enums() -> None:
    key = desired("k", permissions=frozenset({Permission.WEB_SDK}))
    current = live("K1", "k", permissions=frozenset({Permission.WEB_SDK}))

    assert differing_attributes(wanted_values(key, None), live_values(current)) == []


def test_same_value_reads_hand_edited_state_leniently() -> None:
    assert same_value("scopes", ["b", "a"], ["a", "b"])
    assert same_value("valid_to", "2027-01-01T02:00:00+02:00", "2027-01-01T00:00:00Z")
    assert not same_value("valid_to", "not a time", "2027-01-01T00:00:00Z")
    assert not same_value("name", "a", "b")


_MEMBERS = st.sampled_from(["a", "b", "c", "d", 1, None, {"k": 1}, ["x"]])


@settings(max_examples=200, deadline=None)
@given(st.lists(_MEMBERS, max_size=5), st.lists(_MEMBERS, max_size=5))
def test_text_and_object_sets_differ_alike(before: list[Any], after: list[Any]) -> None:
    """A scope list (set difference) and a platform list (deepdiff) with the same members
    give the same difference: a hand-edited state file may hold any JSON in either."""
    as_text = attribute_changes({"k": ({"scopes": before}, {"scopes": after})})["k"][0]
    as_objects = attribute_changes({"k": ({"platform": before}, {"platform": after})})["k"][0]
    spelt = {json.dumps(member): member for member in [*before, *after]}
    came = {json.dumps(m) for m in after} - {json.dumps(m) for m in before}
    assert sorted(map(json.dumps, as_text.added)) == sorted(came)
    assert all(spelt[json.dumps(m)] == m for m in as_text.added)
    assert (as_text.added, as_text.removed, as_text.unchanged) == (
        as_objects.added,
        as_objects.removed,
        as_objects.unchanged,
    )


def test_deepdiff_compares_the_object_sets_once_and_only_those(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []

    def counting(*args: Any, **kwargs: Any) -> DeepDiff:
        calls.append(len(args[0]))
        return DeepDiff(*args, **kwargs)

    # engine.diff imports DeepDiff when it first needs it, so the package's name is patched.
    monkeypatch.setattr(deepdiff, "DeepDiff", counting)
    one, two = {"application_id": "a"}, {"application_id": "b"}
    pairs = {
        f"k{n}": ({"platform": [one], "scopes": ["x"]}, {"platform": [two], "scopes": ["y"]})
        for n in range(50)
    }

    changes = attribute_changes(pairs)

    assert calls == [1]  # one call, one distinct difference of one member a side
    scopes, platform = changes["k7"]  # in plan order
    assert platform.added == (two,) and scopes.added == ("y",)
    calls.clear()
    attribute_changes({"k": ({"scopes": ["x"]}, {"scopes": ["y"]})})
    assert calls == []

"""No spurious diffs (SPEC §2): a manifest and Infobip spelling the same thing differently
plan no change. Both sides are built through `domain.normalize` from raw spellings, as the
manifest loader and the client do; the over-HTTP version of this matrix lives with the e2e
tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from builders import NOW, config, desired, live, live_map, plan, record, state

from infobip_iac.domain.keys import Permission
from infobip_iac.domain.normalize import canonical_networks, parse_instant
from infobip_iac.domain.plan import Action

# attribute -> [(the manifest's spelling, Infobip's spelling)]
EQUAL_FORMS: dict[str, list[tuple[Any, Any]]] = {
    "allowed_ips": [
        (["198.51.100.7"], ["198.51.100.7/32"]),
        (["198.51.100.7/32", "198.51.100.7"], ["198.51.100.7"]),
        (["2001:DB8::/48"], ["2001:db8:0:0::/48"]),
        (["2001:0db8:0000:0000:0000:0000:0000:0001"], ["2001:db8::1/128"]),
        (
            ["10.0.0.0/8", "192.0.2.1", "2001:db8::/32"],
            ["2001:db8::/32", "192.0.2.1/32", "10.0.0.0/8"],
        ),
    ],
    "scopes": [
        (["sms:message:send", "sms:logs:read"], ["sms:logs:read", "sms:message:send"]),
        (["sms:logs:read", "sms:logs:read", "2fa:pin:send"], ["2fa:pin:send", "sms:logs:read"]),
    ],
    "permissions": [
        (["WEB_SDK", "2FA_CLIENT"], ["2FA_CLIENT", "WEB_SDK"]),
        (["2FA_CLIENT", "2FA_CLIENT"], ["2FA_CLIENT"]),
        ([], ["PUBLIC_API"]),
    ],
    "valid_to": [
        ("2027-06-01T00:00:00Z", "2027-06-01T00:00:00+00:00"),
        ("2027-06-01T00:00:00+0000", "2027-06-01T00:00:00Z"),
        ("2027-06-01T00:00:00", "2027-06-01T00:00:00.000Z"),
        ("2027-06-01T00:00:00.123Z", "2027-06-01T00:00:00Z"),
        ("2027-06-01T02:00:00+02:00", "2027-06-01T00:00:00Z"),
        (date(2027, 6, 1), "2027-06-01T00:00:00.999+00:00"),
        ("2027-05-31T19:00:00-05:00", "2027-06-01T00:00:00"),
    ],
    "valid_from": [
        ("2026-12-01T08:30:00Z", "2026-12-01T08:30:00.250+0000"),
        ("2026-12-01", "2026-12-01T00:00:00Z"),
        ("2026-12-01T10:30:00+02:00", "2026-12-01T08:30:00"),
    ],
}
CASES = [(a, m, i) for a, forms in EQUAL_FORMS.items() for m, i in forms]


def _typed(attribute: str, spelling: Any) -> Any:
    """A raw spelling made canonical the way the loader and the client do it."""
    if attribute == "allowed_ips":
        return canonical_networks(spelling)
    if attribute == "scopes":
        return frozenset(spelling)
    if attribute == "permissions":
        return frozenset(Permission(p) for p in spelling)
    return parse_instant(spelling)


def _pair(attribute: str, manifest: Any, infobip: Any) -> tuple[Any, Any]:
    declared = desired("ci", name="CI sender", **{attribute: _typed(attribute, manifest)})
    fields = {
        "scopes": declared.scopes,
        "allowed_ips": declared.allowed_ips,
        "valid_from": NOW - timedelta(days=1),
        "valid_to": NOW + timedelta(days=300),
        attribute: _typed(attribute, infobip),
    }
    return declared, live("K1", "CI sender", **fields)


@pytest.mark.parametrize(("attribute", "manifest", "infobip"), CASES)
def test_equal_forms_plan_no_change(attribute: str, manifest: Any, infobip: Any) -> None:
    declared, key = _pair(attribute, manifest, infobip)

    made = plan(config(declared), state({declared.address: record(key)}), live_map(key))

    assert not made.has_changes, made.changes
    assert made.drift == ()


@pytest.mark.parametrize(("attribute", "manifest", "infobip"), CASES)
def test_equal_forms_are_adopted_without_an_update(
    attribute: str, manifest: Any, infobip: Any
) -> None:
    declared, key = _pair(attribute, manifest, infobip)

    adopted = plan(config(declared), state(), live_map(key)).changes[0]

    assert (adopted.action, adopted.importing_id, adopted.changes) == (Action.NOOP, "K1", ())


def test_all_forms_at_once_plan_no_change() -> None:
    """One key per form, all in one configuration against one account."""
    keys, records = [], {}
    declared_keys = []
    for number, (attribute, manifest, infobip) in enumerate(CASES):
        declared, key = _pair(attribute, manifest, infobip)
        declared = replace(
            declared, address=f"api_keys.k{number}", ident=f"k{number}", name=f"n{number}"
        )
        key = replace(key, id=f"K{number}", name=f"n{number}")
        declared_keys.append(declared)
        keys.append(key)
        records[declared.address] = record(key)

    made = plan(config(*declared_keys), state(records), live_map(*keys))

    assert not made.has_changes
    assert {c.action for c in made.changes} == {Action.NOOP}


def test_omitted_validity_is_not_managed_after_creation() -> None:
    declared = desired("ci")
    key = live("K1", "ci", valid_from=NOW - timedelta(days=200), valid_to=NOW + timedelta(days=165))

    made = plan(config(declared), state({declared.address: record(key)}), live_map(key))

    assert not made.has_changes


def test_valid_for_after_creation_plans_no_change_as_time_passes() -> None:
    declared = desired("ci", valid_for=timedelta(days=90))
    created_at = NOW - timedelta(days=60)
    key = live("K1", "ci", valid_from=created_at, valid_to=created_at + timedelta(days=90))
    current = state({declared.address: record(key, valid_for="90d")})

    for later in (NOW, NOW + timedelta(days=29), NOW + timedelta(days=400)):
        assert not plan(config(declared), current, live_map(key), now=later).has_changes

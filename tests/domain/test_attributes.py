"""The attribute table is the one list every stage reads: these checks fail when a row is
added without the fields it needs, or when a consumer stops reading the table."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

from infobip_iac.domain.attributes import (
    ATTRIBUTES,
    CREATE_ATTRIBUTES,
    IGNORABLE_ATTRIBUTES,
    MANAGED_ATTRIBUTES,
    json_value,
    json_values,
)
from infobip_iac.domain.keys import DesiredKey, KeyWrite, LiveKey, Permission, PlatformLink
from infobip_iac.infobip.wire import write_to_wire
from infobip_iac.manifest.models import KeySpec, LifecycleSpec


def test_every_attribute_is_a_field_of_each_key_shape() -> None:
    for shape in (DesiredKey, LiveKey, KeyWrite):
        names = {f.name for f in fields(shape)}
        missing = [a for a in MANAGED_ATTRIBUTES if a not in names]
        assert missing == [], f"{shape.__name__} lacks {missing}"
    missing = [a for a in MANAGED_ATTRIBUTES if a not in KeySpec.model_fields]
    assert missing == [], f"KeySpec lacks {missing}"


def test_ignore_changes_accepts_exactly_the_ignorable_attributes() -> None:
    schema = LifecycleSpec.model_json_schema()
    assert tuple(schema["properties"]["ignore_changes"]["items"]["enum"]) == IGNORABLE_ATTRIBUTES


def test_a_full_write_is_sent_under_the_wire_names_of_the_table() -> None:
    write = KeyWrite(
        name="k",
        scopes=frozenset({"sms:message:send"}),
        permissions=frozenset({Permission.PUBLIC_API}),
        platform=(PlatformLink(application_id="app"),),
        allowed_ips=frozenset({"10.0.0.0/8"}),
        valid_from=datetime(2027, 1, 1, tzinfo=UTC),
        valid_to=datetime(2027, 6, 1, tzinfo=UTC),
        enabled=True,
    )
    assert set(write_to_wire(write)) == {a.wire for a in ATTRIBUTES}


def test_create_attributes_leave_out_enabled() -> None:
    # Infobip's create request has no `enabled`: a new key is always enabled.
    assert "enabled" not in CREATE_ATTRIBUTES
    assert set(CREATE_ATTRIBUTES) == set(MANAGED_ATTRIBUTES) - {"enabled"}


def test_json_values_by_kind() -> None:
    assert json_value("scopes", frozenset({"b", "a"})) == ["a", "b"]
    assert json_value("permissions", frozenset({Permission.WEB_SDK, "ALL"})) == ["ALL", "WEB_SDK"]
    assert json_value("allowed_ips", frozenset({"::/0", "10.0.0.0/8"})) == ["10.0.0.0/8", "::/0"]
    assert json_value("valid_to", datetime(2027, 6, 1, tzinfo=UTC)) == "2027-06-01T00:00:00Z"
    assert json_value("platform", (PlatformLink(application_id="b"),)) == [{"application_id": "b"}]
    assert json_value("valid_from", None) is None
    assert json_value("not_in_the_table", {"kept": 1}) == {"kept": 1}


def test_live_key_attributes_are_the_tables_json_values() -> None:
    # LiveKey.attributes() spells the table out for speed; it must say the same.
    keys = [
        LiveKey(id="A", account_id="1", name="bare"),
        LiveKey(
            id="B",
            account_id="1",
            name="full",
            scopes=frozenset({"b", "a"}),
            permissions=frozenset({Permission.WEB_SDK, "ALL"}),
            platform=(PlatformLink(application_id="z"), PlatformLink(application_id="y")),
            allowed_ips=frozenset({"::/0", "10.0.0.0/8", "10.*"}),
            valid_from=datetime(2027, 1, 1, tzinfo=UTC),
            valid_to=datetime(2027, 6, 1, tzinfo=UTC),
            enabled=False,
        ),
    ]
    for key in keys:
        assert key.attributes() == json_values(key)
        assert list(key.attributes()) == list(MANAGED_ATTRIBUTES)

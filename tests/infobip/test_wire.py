"""Infobip JSON <-> LiveKey/KeyWrite: field names, normalization, malformed answers."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infobip_iac.domain.keys import KeyWrite, Permission, PlatformLink
from infobip_iac.errors import TransportError
from infobip_iac.infobip.wire import (
    created_key_from_wire,
    live_key_from_wire,
    page_from_wire,
    write_to_wire,
)

SECRET = "zz-wire-secret-zz"


def _wire_key(**overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": "573711510E1C002E29679B12C7CB48AE",
        "apiKeySecret": SECRET,
        "accountId": "8F0792F86035A9F4290821F1EE6BC06A",
        "name": "First ApiKey on my account",
        "allowedIPs": ["127.0.0.1", "2001:0db8:0000::/48", "10.0.0.0/8"],
        "validFrom": "2023-09-01T10:00:00",
        "validTo": "2024-09-01T10:00:00.123+02:00",
        "enabled": True,
        "permissions": ["PUBLIC_API"],
        "scopeGuids": ["2fa:manage", "account-management:manage", "2fa:manage"],
    }
    item.update(overrides)
    return item


def test_live_key_is_normalized_and_holds_no_secret() -> None:
    key = live_key_from_wire(_wire_key(), operation="get API key")
    assert key.id == "573711510E1C002E29679B12C7CB48AE"
    assert key.account_id == "8F0792F86035A9F4290821F1EE6BC06A"
    assert key.allowed_ips == {"127.0.0.1/32", "2001:db8::/48", "10.0.0.0/8"}
    assert key.valid_from == datetime(2023, 9, 1, 10, 0, tzinfo=UTC)
    assert key.valid_to == datetime(2024, 9, 1, 8, 0, tzinfo=UTC)
    assert key.scopes == {"2fa:manage", "account-management:manage"}
    assert key.permissions == {Permission.PUBLIC_API}
    assert key.enabled is True
    assert SECRET not in repr(key)
    assert SECRET not in str(asdict(key))


def test_live_range_with_host_bits_is_read_as_the_range_it_admits() -> None:
    """A range set outside the tool (e.g. in Infobip's portal) with host bits must not make
    the whole read fail; manifests stay strict (see tests/domain)."""
    key = live_key_from_wire(
        _wire_key(allowedIPs=["10.0.0.1/8", "2001:db8::1/48"]), operation="get API key"
    )
    assert key.allowed_ips == {"10.0.0.0/8", "2001:db8::/48"}


def test_optional_fields_default() -> None:
    key = live_key_from_wire(
        {"id": "K1", "accountId": "A1", "name": "n", "validTo": None}, operation="get API key"
    )
    assert key.allowed_ips == frozenset()
    assert key.scopes == frozenset()
    assert key.platform == ()
    assert key.valid_to is None
    assert key.enabled is True


def test_platform_links() -> None:
    key = live_key_from_wire(
        _wire_key(
            permissions=None,
            scopeGuids=None,
            platform=[
                {"key": "301493481C01", "applicationId": "app", "entityId": "ent"},
                {"key": "C365C6D6575A", "applicationId": "default", "action": "FILL"},
            ],
        ),
        operation="list API keys",
    )
    assert key.platform == (
        PlatformLink(application_id="app", entity_id="ent"),
        PlatformLink(application_id="default", action="FILL"),
    )


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"name": None}, "lacks name"),
        ({"id": ""}, "empty id"),
        ({"accountId": 7}, "accountId that is not a string"),
        ({"allowedIPs": "127.0.0.1"}, "allowedIPs that is not a list"),
        ({"validFrom": "yesterday"}, "validFrom that is not a date-time"),
        ({"enabled": "yes"}, "enabled that is not true or false"),
        ({"platform": [{"entityId": "e"}]}, "lacks applicationId"),
        ({"scopeGuids": [1, 2]}, "scopeGuids that is not a list of strings"),
    ],
)
def test_malformed_key_is_a_transport_error(overrides: dict[str, Any], complaint: str) -> None:
    with pytest.raises(TransportError) as caught:
        live_key_from_wire(_wire_key(**overrides), operation="get API key")
    message = str(caught.value)
    assert message.startswith("get API key: malformed answer")
    assert complaint in message
    assert SECRET not in message


def test_values_the_tool_does_not_know_are_kept_verbatim() -> None:
    key = live_key_from_wire(
        _wire_key(
            allowedIPs=["10.0.0.1-10.0.0.5", "10.0.0.*", "10.0.0.1"],
            permissions=["ALL", "PUBLIC_API"],
            scopeGuids=["brand-new:scope"],
            platform=[{"applicationId": "a", "action": "MERGE"}],
            colour="red",
        ),
        operation="list API keys",
    )
    assert key.allowed_ips == {"10.0.0.1-10.0.0.5", "10.0.0.*", "10.0.0.1/32"}
    assert key.permissions == {"ALL", Permission.PUBLIC_API}
    assert key.scopes == {"brand-new:scope"}
    assert key.platform == (PlatformLink(application_id="a", action="MERGE"),)
    attributes = key.attributes()
    assert attributes["allowed_ips"] == ["10.0.0.1/32", "10.0.0.*", "10.0.0.1-10.0.0.5"]
    assert attributes["permissions"] == ["ALL", "PUBLIC_API"]


def test_not_an_object() -> None:
    with pytest.raises(TransportError, match="key #3 of the page is not an object"):
        live_key_from_wire([1, 2], operation="list API keys", position=2)


def test_created_key_hands_out_the_secret_wrapped() -> None:
    key, secret = created_key_from_wire(_wire_key(), operation="create API key")
    assert secret.reveal() == SECRET
    assert SECRET not in repr(secret)
    assert key.name == "First ApiKey on my account"


def test_created_key_without_secret() -> None:
    with pytest.raises(TransportError, match="holds no apiKeySecret"):
        created_key_from_wire(_wire_key(apiKeySecret=None), operation="create API key")


def test_page() -> None:
    page = page_from_wire(
        {
            "apiKeys": [_wire_key(), _wire_key(id="B2")],
            "paging": {"page": 0, "pageSize": 100, "totalCount": 2, "totalPages": 1},
        },
        operation="list API keys",
    )
    assert [k.id for k in page.keys] == ["573711510E1C002E29679B12C7CB48AE", "B2"]
    assert (page.total_count, page.total_pages) == (2, 1)


def test_page_derives_what_paging_leaves_out() -> None:
    only_count = page_from_wire({"apiKeys": [], "paging": {"totalCount": 250}}, operation="x")
    only_pages = page_from_wire({"apiKeys": [], "paging": {"totalPages": 3}}, operation="x")
    assert only_count.total_pages == 3
    assert only_pages.total_count == 300


@pytest.mark.parametrize(
    ("payload", "complaint"),
    [
        ([], "not a JSON object"),
        ({"apiKeys": []}, "no paging object"),
        ({"apiKeys": {}, "paging": {"totalCount": 0, "totalPages": 0}}, "apiKeys is not a list"),
        ({"paging": {"totalCount": "many", "totalPages": 1}}, "paging.totalCount"),
        ({"paging": {"totalCount": 1, "totalPages": True}}, "paging.totalPages"),
        ({"paging": {"totalCount": -1, "totalPages": 1}}, "paging.totalCount"),
        ({"paging": {}}, "neither totalCount nor totalPages"),
    ],
)
def test_malformed_page(payload: object, complaint: str) -> None:
    with pytest.raises(TransportError, match=complaint) as caught:
        page_from_wire(payload, operation="list API keys")
    assert caught.value.operation == "list API keys"


def test_write_sends_only_what_is_set_in_infobip_names() -> None:
    write = KeyWrite(
        name="ci",
        scopes=frozenset({"sms:message:send", "2fa:pin:send"}),
        permissions=frozenset({Permission.PUBLIC_API}),
        allowed_ips=frozenset({"198.51.100.7/32", "2001:db8::/48", "203.0.113.0/24"}),
        valid_from=datetime(2026, 12, 1, tzinfo=UTC),
        valid_to=datetime(2027, 6, 1, tzinfo=UTC),
        enabled=True,
    )
    assert write_to_wire(write, account_id="ACC") == {
        "accountId": "ACC",
        "name": "ci",
        "allowedIPs": ["198.51.100.7", "203.0.113.0/24", "2001:db8::/48"],
        "validFrom": "2026-12-01T00:00:00.000+0000",
        "validTo": "2027-06-01T00:00:00.000+0000",
        "enabled": True,
        "permissions": ["PUBLIC_API"],
        "scopeGuids": ["2fa:pin:send", "sms:message:send"],
    }
    assert write_to_wire(KeyWrite(enabled=False)) == {"enabled": False}
    assert write_to_wire(KeyWrite(scopes=frozenset())) == {"scopeGuids": []}


def test_write_platform() -> None:
    write = KeyWrite(
        platform=(
            PlatformLink(application_id="b", entity_id="e", action="FORCE"),
            PlatformLink(application_id="a"),
        )
    )
    assert write_to_wire(write) == {
        "platform": [
            {"applicationId": "a"},
            {"applicationId": "b", "entityId": "e", "action": "FORCE"},
        ]
    }


def test_unresolved_valid_for_is_refused() -> None:
    with pytest.raises(ValueError, match="valid_for"):
        write_to_wire(KeyWrite(valid_for=timedelta(days=3)))

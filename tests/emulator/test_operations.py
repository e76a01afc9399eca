"""The API-key operations over HTTP: fields, defaults, validation, paging and filters."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from infobip_iac.emulator import EmulatorControl, EmulatorServer

KEYS = "/settings/2/api-keys"


def create(api: httpx.Client, **fields: object) -> httpx.Response:
    return api.post(KEYS, json={"name": "k", **fields})


def violations(response: httpx.Response) -> list[str]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["errorCode"] == "E400"
    return [v["property"] for v in body["violations"]]


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_create_answers_every_apikey_field_with_infobip_shapes(
    api: httpx.Client, emulator: EmulatorServer
) -> None:
    response = create(api, name="ci", scopeGuids=["sms:message:send"], allowedIPs=["1.2.3.4"])
    assert response.status_code == 200
    key = response.json()
    assert re.fullmatch(r"[0-9A-F]{32}", key["id"])
    assert re.fullmatch(
        r"[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
        key["apiKeySecret"],
    )
    assert key["accountId"] == emulator.main_account_id
    assert key["name"] == "ci"
    assert key["allowedIPs"] == ["1.2.3.4"]
    assert key["enabled"] is True
    assert key["permissions"] == ["PUBLIC_API"]
    assert key["scopeGuids"] == ["sms:message:send"]
    assert "platform" not in key
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", key["validFrom"])


def test_create_defaults_validity_to_now_and_one_year(api: httpx.Client) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    key = create(api).json()
    valid_from, valid_to = instant(key["validFrom"]), instant(key["validTo"])
    assert before <= valid_from <= before + timedelta(seconds=5)
    assert valid_to == valid_from.replace(year=valid_from.year + 1)


@pytest.mark.parametrize(
    "text",
    [
        "2030-01-02T03:04:05Z",
        "2030-01-02T03:04:05+00:00",
        "2030-01-02T03:04:05+0000",
        "2030-01-02T03:04:05.123Z",
        "2030-01-02T03:04:05.000+0000",  # what Infobip's own clients (and this tool) send
        "2030-01-02T03:04:05",
        "2030-01-02T05:04:05+02:00",
    ],
)
def test_times_are_accepted_in_every_form_the_spec_writes(api: httpx.Client, text: str) -> None:
    key = create(api, validFrom=text, validTo="2031-01-01T00:00:00Z").json()
    assert instant(key["validFrom"]) == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_get_one_key_and_404_for_an_unknown_id(api: httpx.Client) -> None:
    key = create(api, name="one").json()
    assert api.get(f"{KEYS}/{key['id']}").json() == key
    missing = api.get(f"{KEYS}/{'0' * 32}")
    assert missing.status_code == 404
    assert missing.json()["errorCode"] == "E404"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"name": None}, ["name"]),
        ({"name": "   "}, ["name"]),
        ({"name": 7}, ["name"]),
        ({"validFrom": "2001-01-01T00:00:00Z"}, ["validFrom"]),
        ({"validFrom": "yesterday"}, ["validFrom"]),
        ({"validFrom": "2031-01-01T00:00:00Z", "validTo": "2030-01-01T00:00:00Z"}, ["validTo"]),
        ({"permissions": ["EVERYTHING"]}, ["permissions[0]"]),
        ({"permissions": ["PUBLIC_API", "WEB_SDK"]}, ["permissions"]),
        ({"platform": [{"applicationId": "app"}], "permissions": ["PUBLIC_API"]}, ["platform"]),
        ({"platform": [{"applicationId": "app"}], "scopeGuids": ["sms:manage"]}, ["platform"]),
        ({"platform": [{"entityId": "e"}]}, ["platform[0].applicationId"]),
        ({"scopeGuids": ["sms:message:send", "sms:mesage:send"]}, ["scopeGuids[1]"]),
        ({"scopeGuids": ["sms:manage", "sms:manage"]}, ["scopeGuids[1]"]),
        ({"scopeGuids": ["web:sdk", "sms:manage"]}, ["scopeGuids"]),
        ({"scopeGuids": ["mobile-app-messaging:sdk", "message:send"]}, ["scopeGuids"]),
        ({"allowedIPs": ["10.0.0.1", "::1", "not-an-ip"]}, ["allowedIPs[2]"]),
        ({"allowedIPs": ["10.0.0.0/33"]}, ["allowedIPs[0]"]),
    ],
)
def test_create_refuses_what_infobip_refuses_naming_the_property(
    api: httpx.Client, fields: dict[str, object], expected: list[str]
) -> None:
    body = {"name": "k", **fields}
    body = {k: v for k, v in body.items() if v is not None}
    assert violations(api.post(KEYS, json=body)) == expected


def test_create_accepts_sdk_scopes_together_ranges_and_platform(api: httpx.Client) -> None:
    sdk = create(api, scopeGuids=["web:sdk", "2fa:sdk"], permissions=["WEB_SDK", "2FA_CLIENT"])
    assert sdk.status_code == 200
    ranges = create(api, allowedIPs=["203.0.113.0/24", "2001:db8::/48", "2001:db8::1"])
    assert ranges.json()["allowedIPs"] == ["203.0.113.0/24", "2001:db8::/48", "2001:db8::1"]
    linked = create(api, platform=[{"applicationId": "app", "entityId": "e", "action": "FILL"}])
    key = linked.json()
    assert "permissions" not in key and "scopeGuids" not in key
    assert key["platform"][0]["applicationId"] == "app"
    assert re.fullmatch(r"[0-9A-F]{32}", key["platform"][0]["key"])


def test_create_needs_a_json_object(api: httpx.Client) -> None:
    assert violations(api.post(KEYS, content=b"{not json")) == ["body"]
    assert violations(api.post(KEYS, json=["a"])) == ["body"]


def test_update_changes_only_what_it_is_sent(api: httpx.Client) -> None:
    key = create(api, name="a", scopeGuids=["sms:manage"], allowedIPs=["1.1.1.1"]).json()
    updated = api.put(f"{KEYS}/{key['id']}", json={"name": "b"}).json()
    assert updated == {**key, "name": "b"}


def test_update_empty_lists_behave_as_the_spec_says(api: httpx.Client) -> None:
    key = create(api, scopeGuids=["sms:manage"], permissions=["2FA_CLIENT"]).json()
    path = f"{KEYS}/{key['id']}"
    cleared = api.put(path, json={"scopeGuids": [], "permissions": [], "allowedIPs": []}).json()
    assert cleared["scopeGuids"] == []
    assert cleared["permissions"] == ["PUBLIC_API"]
    linked = api.put(path, json={"platform": [{"applicationId": "app"}]}).json()
    assert "permissions" not in linked
    unlinked = api.put(path, json={"platform": []}).json()
    assert "platform" not in unlinked
    assert unlinked["permissions"] == ["PUBLIC_API"]


def test_update_toggles_revocation_and_keeps_the_key_listed(api: httpx.Client) -> None:
    key = create(api).json()
    path = f"{KEYS}/{key['id']}"
    assert api.put(path, json={"enabled": False}).json()["enabled"] is False
    assert api.get(KEYS, params={"enabled": "false"}).json()["apiKeys"][0]["id"] == key["id"]
    assert api.put(path, json={"enabled": True}).json()["enabled"] is True


def test_update_validates_the_merged_key(api: httpx.Client) -> None:
    key = create(api, validTo="2040-01-01T00:00:00Z", scopeGuids=["sms:manage"]).json()
    path = f"{KEYS}/{key['id']}"
    assert violations(api.put(path, json={"validFrom": "2041-01-01T00:00:00Z"})) == ["validTo"]
    assert violations(api.put(path, json={"permissions": ["WEB_SDK", "PUBLIC_API"]})) == [
        "permissions"
    ]
    assert violations(api.put(path, json={"platform": [{"applicationId": "a"}]})) == ["platform"]
    assert violations(api.put(path, json={"enabled": "no"})) == ["enabled"]
    # a validFrom in the past is refused on create only
    past = api.put(path, json={"validFrom": "2001-01-01T00:00:00Z"})
    assert past.status_code == 200
    assert api.get(path).json()["validFrom"].startswith("2001-01-01T00:00:00")


def test_update_of_an_unknown_key_is_404(api: httpx.Client) -> None:
    missing = api.put(f"{KEYS}/{'A' * 32}", json={"name": "x"})
    assert missing.status_code == 404
    assert missing.json()["errorCode"] == "E404"


def seed_names(control: EmulatorControl, names: list[str], **extra: object) -> list[str]:
    return control.seed([{"name": name, **extra} for name in names])


def test_paging_edges(api: httpx.Client, emulator_control: EmulatorControl) -> None:
    ids = sorted(seed_names(emulator_control, [f"k{i}" for i in range(250)]))
    first = api.get(KEYS).json()
    assert [k["id"] for k in first["apiKeys"]] == ids[:100]
    assert first["paging"] == {
        "page": 0,
        "pageSize": 100,
        "orderDirection": "asc",
        "orderBy": "id",
        "totalCount": 250,
        "totalPages": 3,
    }
    last = api.get(KEYS, params={"page": 2, "size": 100}).json()
    assert [k["id"] for k in last["apiKeys"]] == ids[200:]
    assert api.get(KEYS, params={"page": 100}).json()["apiKeys"] == []
    assert violations(api.get(KEYS, params={"page": 101})) == ["page"]
    assert violations(api.get(KEYS, params={"page": -1})) == ["page"]
    assert violations(api.get(KEYS, params={"size": 101})) == ["size"]
    assert violations(api.get(KEYS, params={"size": 0})) == ["size"]
    assert violations(api.get(KEYS, params={"size": "ten"})) == ["size"]
    small = api.get(KEYS, params={"size": 1, "page": 3}).json()
    assert [k["id"] for k in small["apiKeys"]] == [ids[3]]
    assert small["paging"]["totalPages"] == 250


def test_filters_and_ordering(api: httpx.Client, emulator_control: EmulatorControl) -> None:
    seed_names(emulator_control, ["b", "a", "c", "a"])
    emulator_control.seed([{"name": "off", "enabled": False}])
    named = api.get(KEYS, params={"name": "a"}).json()
    assert [k["name"] for k in named["apiKeys"]] == ["a", "a"]
    assert named["paging"]["totalCount"] == 2
    assert api.get(KEYS, params={"name": "A"}).json()["apiKeys"] == []
    disabled = api.get(KEYS, params={"enabled": "false"}).json()["apiKeys"]
    assert [k["name"] for k in disabled] == ["off"]
    assert api.get(KEYS, params={"enabled": "true"}).json()["paging"]["totalCount"] == 4
    by_name = api.get(KEYS, params={"orderBy": "name", "orderDirection": "desc"}).json()
    assert [k["name"] for k in by_name["apiKeys"]] == ["off", "c", "b", "a", "a"]
    assert by_name["paging"]["orderBy"] == "name"
    ids = [k["id"] for k in api.get(KEYS, params={"orderDirection": "DESC"}).json()["apiKeys"]]
    assert ids == sorted(ids, reverse=True)
    assert violations(api.get(KEYS, params={"orderBy": "colour"})) == ["orderBy"]
    assert violations(api.get(KEYS, params={"orderDirection": "up"})) == ["orderDirection"]
    assert violations(api.get(KEYS, params={"enabled": "maybe"})) == ["enabled"]


def test_list_filters_by_secret(api: httpx.Client) -> None:
    key = create(api, name="s").json()
    create(api, name="other")
    found = api.get(KEYS, params={"apiKeySecret": key["apiKeySecret"]}).json()["apiKeys"]
    assert [k["id"] for k in found] == [key["id"]]


def test_unknown_paths_and_methods_are_404_with_an_api_error(api: httpx.Client) -> None:
    for response in (
        api.get("/settings/3/api-keys"),
        api.delete(f"{KEYS}/{'A' * 32}"),
        api.request("TRACE", KEYS),
        api.request("OPTIONS", KEYS),
        api.request("BREW", KEYS),
    ):
        assert response.status_code == 404
        body = response.json()
        assert body["errorCode"] == "E404"
        assert body["violations"] == [] and body["resources"] == []


def test_create_has_no_enabled_field_so_a_new_key_is_enabled(api: httpx.Client) -> None:
    key = create(api, name="fresh", enabled=False).json()
    assert key["enabled"] is True

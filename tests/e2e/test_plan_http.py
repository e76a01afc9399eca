"""Plan over HTTP (issue 4): a handful of list requests per account, never one per key; and
no spurious diff between a live key and a manifest that spell the same values differently."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from e2e.workspace import LIST, Workspace, writes

VALIDITY = {"validFrom": "2026-01-01T00:00:00Z", "validTo": "2030-01-01T00:00:00Z"}


@pytest.mark.parametrize("count", [1, 100, 101, 250])
def test_a_plan_lists_each_page_of_100_once_and_reads_no_key_alone(
    workspace: Workspace, count: int
) -> None:
    ws = workspace
    ws.seed(
        *(
            {"name": f"key-{n:04d}", "scopeGuids": ["sms:logs:read"], "allowedIPs": [], **VALIDITY}
            for n in range(count)
        )
    )
    lines = ["version: 1", "api_keys:"]
    for n in range(count):
        lines += [
            f"  key-{n:04d}:",
            "    scopes: [sms:logs:read]",
            "    valid_from: 2026-01-01",
            "    valid_to: 2030-01-01",
        ]
    ws.write("\n".join(lines) + "\n")

    with ws.counting() as counts:
        outcome = ws.plan()

    assert outcome.code == 0, outcome
    pages = math.ceil(count / 100)
    # Basic authentication costs no request of its own; every other request is a page.
    assert counts == {LIST: pages}, counts
    keys = "1 key" if count == 1 else f"{count} keys"
    requests = "1 request" if pages == 1 else f"{pages} requests"
    assert f"Reading live keys of the main account … {keys} in {requests}." in outcome.err


def test_oauth2_adds_one_token_request_to_the_pages(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = workspace
    for name in ("INFOBIP_USERNAME", "INFOBIP_PASSWORD"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("INFOBIP_CLIENT_ID", "admin")
    monkeypatch.setenv("INFOBIP_CLIENT_SECRET", "admin")
    ws.seed(*({"name": f"k{n}", "scopeGuids": ["sms:logs:read"]} for n in range(150)))
    ws.write("version: 1\napi_keys:\n  k0:\n    scopes: [sms:logs:read]\n")

    with ws.counting() as counts:
        outcome = ws.plan()

    assert outcome.code == 0, outcome
    token = {op: n for op, n in counts.items() if op != LIST}
    assert counts[LIST] == 2 and list(token.values()) == [1], counts


# Each row: a live key as seeded (Infobip's spelling) and the same key as a manifest spells it.
# The emulator answers every instant as `+00:00`, so the instants vary on the manifest side.
SPELLINGS: list[tuple[str, dict[str, Any], str]] = [
    ("ip-bare", {"allowedIPs": ["198.51.100.7"]}, "allowed_ips: [198.51.100.7/32]"),
    ("ip-slash-32", {"allowedIPs": ["198.51.100.7/32"]}, "allowed_ips: [198.51.100.7]"),
    (
        "ipv6-long",
        {"allowedIPs": ["2001:0db8:0000:0000:0000:0000:0000:0001"]},
        'allowed_ips: ["2001:db8::1"]',
    ),
    ("ipv6-upper", {"allowedIPs": ["2001:DB8::/32"]}, 'allowed_ips: ["2001:db8::/32"]'),
    ("ipv6-slash-128", {"allowedIPs": ["2001:db8::1/128"]}, 'allowed_ips: ["2001:DB8::1"]'),
    (
        "ip-order",
        {"allowedIPs": ["203.0.113.0/24", "198.51.100.7", "198.51.100.7/32"]},
        "allowed_ips: [198.51.100.7, 203.0.113.0/24]",
    ),
    (
        "scope-order",
        {"scopeGuids": ["sms:message:send", "sms:logs:read"]},
        "scopes: [sms:logs:read, sms:message:send, sms:logs:read]",
    ),
    (
        "permission-order",
        {"permissions": ["2FA_CLIENT", "PUBLIC_API"]},
        "permissions: [PUBLIC_API, 2FA_CLIENT, PUBLIC_API]",
    ),
    ("time-z", {"validTo": "2030-01-01T00:00:00Z"}, "valid_to: 2030-01-01T00:00:00+00:00"),
    ("time-plus-0000", {"validTo": "2030-01-01T00:00:00Z"}, 'valid_to: "2030-01-01T00:00:00+0000"'),
    ("time-no-offset", {"validTo": "2030-01-01T00:00:00Z"}, "valid_to: 2030-01-01T00:00:00"),
    (
        "time-millis",
        {"validTo": "2030-01-01T00:00:00.789Z"},
        'valid_to: "2030-01-01T00:00:00.000Z"',
    ),
    ("time-date", {"validTo": "2030-01-01T00:00:00Z"}, "valid_to: 2030-01-01"),
    (
        "time-offset",
        {"validTo": "2030-01-01T02:00:00+02:00"},
        "valid_to: 2029-12-31T21:00:00-03:00",
    ),
    (
        "valid-from",
        {"validFrom": "2026-03-01T12:00:00.250Z"},
        'valid_from: "2026-03-01T13:00:00+01:00"',
    ),
    ("validity-omitted", {}, ""),
]


def test_equal_values_spelled_differently_make_no_changes(workspace: Workspace) -> None:
    ws = workspace
    base: dict[str, Any] = {
        "scopeGuids": ["sms:logs:read"],
        "allowedIPs": ["203.0.113.0/24"],
        "validFrom": "2026-01-01T00:00:00Z",
        "validTo": "2029-01-01T00:00:00Z",
    }
    ws.seed(*({**base, **live, "name": name} for name, live, _ in SPELLINGS))
    lines = ["version: 1", "api_keys:"]
    for name, live, spelled in SPELLINGS:
        declared = {
            "scopes": "scopes: [sms:logs:read]",
            "allowed_ips": "allowed_ips: [203.0.113.0/24]",
        }
        if "validFrom" in live or "validTo" in live:
            declared["valid_to"] = "valid_to: 2029-01-01"
            declared["valid_from"] = "valid_from: 2026-01-01"
        if spelled:
            declared[spelled.split(":", 1)[0]] = spelled
        if "permissions" in live:
            declared.setdefault("permissions", "")
        lines.append(f"  {name}:")
        lines += [f"    {text}" for text in declared.values() if text]
    ws.write("\n".join(lines) + "\n")

    document = ws.plan_json()

    changed = {
        c["address"]: c["change"]
        for c in document["resource_changes"]
        if c["change"]["actions"] != ["no-op"] or c["change"]["before"] != c["change"]["after"]
    }
    assert changed == {}, json.dumps(changed, indent=1)[:3000]
    assert len(document["resource_changes"]) == len(SPELLINGS)
    # Adopting them all (by name) writes nothing, and then there is nothing left to do.
    with ws.counting() as counts:
        assert ws.apply().code == 0
    assert writes(counts) == 0
    ws.assert_converged()


def test_omitted_validity_is_not_managed_after_creation(workspace: Workspace) -> None:
    ws = workspace
    ws.write(
        """
        version: 1
        api_keys:
          open-ended:
            scopes: [sms:logs:read]
            allowed_ips: [203.0.113.0/24]
        """
    )
    assert ws.apply().code == 0
    ws.emulator.control.advance_clock("30d")  # the server's defaults are fixed at creation
    ws.assert_converged()

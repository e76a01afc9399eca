"""A key changed by hand is attributed in the plan: who, from where, when, read from the
audit log once; without the audit-logs:read scope the plan says so and carries on."""

from __future__ import annotations

import json

import pytest

from e2e.workspace import Workspace
from infobip_iac.domain.keys import KeyWrite
from infobip_iac.domain.secret import Secret
from infobip_iac.infobip.client import InfobipClient
from infobip_iac.infobip.settings import UserCredentials

AUDIT = "GET /audit/1/logs"
MANIFEST = """
    version: 1
    api_keys:
      billing:
        name: Billing
        scopes: [sms:logs:read]
        allowed_ips: [203.0.113.0/24]
"""


def _change_by_hand(ws: Workspace, username: str) -> str:
    """`username` widens the key's IP list, as someone in the web interface would; the
    audit entry's timestamp."""
    ws.emulator.control.add_user(username, "pw", roles=["Account Manager"])
    key_id = ws.state().resources["api_keys.billing"].id
    with InfobipClient(
        base_url=ws.emulator.base_url, credentials=UserCredentials(username, Secret("pw"))
    ) as client:
        client.update_key(
            key_id,
            account="_",
            write=KeyWrite(allowed_ips=frozenset({"203.0.113.0/24", "0.0.0.0/0"})),
        )
        (entry, *_) = client.key_audit_log()
    assert entry.username == username and entry.action == "Update"
    return entry.at.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def drifted(workspace: Workspace) -> tuple[Workspace, str]:
    workspace.write(MANIFEST)
    assert workspace.apply().code == 0
    return workspace, _change_by_hand(workspace, "jane.doe")


def test_the_plan_names_who_changed_the_key_in_text_markdown_and_json(
    drifted: tuple[Workspace, str],
) -> None:
    ws, at = drifted
    expected = f"changed outside infobip-iac by jane.doe from 127.0.0.1 at {at}"

    with ws.counting() as counts:
        text = ws.plan()
    assert counts.get(AUDIT) == 1  # one read for the whole plan
    assert f"# api_keys.billing has changed\n  # ({expected})" in text.out, text.out

    markdown = ws.plan("--format", "markdown").out
    assert expected in markdown

    document = json.loads(ws.plan("--format", "json").out)
    (drift,) = document["resource_drift"]
    assert drift["changed_by"] == {
        "username": "jane.doe",
        "ip_address": "127.0.0.1",
        "timestamp": at,
        "action": "Update",
        "description": expected,
    }
    assert document["drift_attribution_unavailable"] is None


def test_without_the_audit_scope_the_plan_says_so_and_carries_on(
    drifted: tuple[Workspace, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, _ = drifted
    # Analyze Manager may manage keys but not read the audit log.
    ws.emulator.control.add_user("analyst", "pw", roles=["Analyze Manager"])
    monkeypatch.setenv("INFOBIP_USERNAME", "analyst")
    monkeypatch.setenv("INFOBIP_PASSWORD", "pw")

    with ws.counting() as counts:
        outcome = ws.plan("--detailed-exitcode")

    assert outcome.code == 2, outcome
    assert counts.get(AUDIT) == 1
    assert (
        "Who made these changes is unavailable: the credentials lack the audit-logs:read "
        "scope (Infobip answered 403)." in outcome.out
    )
    assert "changed outside infobip-iac by" not in outcome.out
    assert "Plan: 0 to add, 1 to change, 0 to revoke." in outcome.out
    document = json.loads(ws.plan("--format", "json").out)
    assert document["drift_attribution_unavailable"].startswith("the credentials lack")
    assert document["resource_drift"][0]["changed_by"] is None
    assert "who changed them is unavailable" in ws.plan("--format", "markdown").out


def test_a_plan_without_drift_does_not_read_the_audit_log(workspace: Workspace) -> None:
    workspace.write(MANIFEST)
    assert workspace.apply().code == 0

    with workspace.counting() as counts:
        workspace.assert_converged()

    assert AUDIT not in counts

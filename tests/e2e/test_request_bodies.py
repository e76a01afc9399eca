"""Every body the tool sends carries only fields of the spec's request schema for that
operation, in Infobip's date-time form: checked on a run that creates, re-links, unlinks and
revokes keys, and skips a key declared disabled."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from e2e.workspace import Workspace
from infobip_iac.emulator import EmulatorServer

Sent = list[tuple[str, str, Any]]

FIRST = """
    version: 1
    defaults:
      allowed_ips: [203.0.113.0/24]
    api_keys:
      dated:
        name: dated
        scopes: [sms:message:send]
        valid_from: 2031-01-01
        valid_to: 2032-06-30
      linked:
        name: linked
        platform:
          - {application_id: billing, entity_id: eu}
      plain:
        name: plain
        scopes: [sms:logs:read]
      parked:
        name: parked
        enabled: false
"""


@pytest.fixture
def sent() -> Sent:
    return []


@pytest.fixture
def recorded(
    tmp_path: Path,
    make_emulator: Callable[..., EmulatorServer],
    sent: Sent,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Workspace:
    def record(method: str, template: str, headers: Mapping[str, str], body: bytes) -> None:
        if method in ("POST", "PUT") and template.startswith("/settings/2/api-keys"):
            sent.append((method, template, json.loads(body)))

    server = make_emulator(on_request=record)
    return Workspace.open(tmp_path, server, capsys, monkeypatch)


def test_request_bodies_follow_the_request_schemas(
    recorded: Workspace, sent: Sent, conformance: Any
) -> None:
    ws = recorded
    ws.write(FIRST)
    planned = ws.plan()
    assert "api_keys.parked is declared with enabled: false" in planned.out + planned.err
    assert "it is not created" in planned.out + planned.err
    assert ws.apply().code == 0
    assert set(ws.live()) == {"dated", "linked", "plain"}
    creates = [body for method, _, body in sent if method == "POST"]
    assert len(creates) == 3
    assert all("enabled" not in body for body in creates)
    dated = next(body for body in creates if body["name"] == "dated")
    assert dated["validFrom"] == "2031-01-01T00:00:00.000+0000"
    assert dated["validTo"] == "2032-06-30T00:00:00.000+0000"

    # The CPaaS X key becomes a permissions key with scopes: unlink first, then grant.
    ws.write(
        FIRST.replace(
            "platform:\n          - {application_id: billing, entity_id: eu}",
            "permissions: [2FA_CLIENT]\n        scopes: [2fa:pin:send]",
        ).replace("      plain:\n        name: plain\n        scopes: [sms:logs:read]\n", "")
    )
    everything = list(sent)
    sent.clear()
    outcome = ws.apply()
    assert outcome.code == 0, outcome
    linked = ws.live()["linked"]
    assert not linked.platform
    assert {p.value for p in linked.permissions} == {"2FA_CLIENT"}
    assert linked.scopes == {"2fa:pin:send"}
    assert [list(body) for _, _, body in sent if "platform" in body] == [["platform"]]
    assert len(sent) == 3  # unlink, grant, and the revoke of `plain`
    assert not ws.live()["plain"].enabled
    ws.assert_converged()
    everything += sent

    # A key with scopes becomes a CPaaS X key: its scopes go first, then the links.
    second = ws.manifests.joinpath("main.yaml").read_text(encoding="utf-8")
    ws.write(second.replace("scopes: [sms:message:send]", "platform: [{application_id: billing}]"))
    sent.clear()
    outcome = ws.apply()
    assert outcome.code == 0, outcome
    assert [list(body) for _, _, body in sent] == [["scopeGuids"], ["platform"]]
    dated = ws.live()["dated"]
    assert not dated.scopes and dated.platform
    ws.assert_converged()
    everything += sent

    problems = [
        problem
        for method, template, body in everything
        for problem in conformance.request_problems(method, template, body)
    ]
    assert problems == []
    assert len(everything) == 8

"""Rotation end to end, on the emulator's clock: a successor before the key lapses, the
predecessor revoked once the overlap ends, within Infobip's daily write budget."""

from __future__ import annotations

import json
from pathlib import Path

from e2e.workspace import Workspace

ROTATED = """
    version: 1
    defaults:
      allowed_ips: [203.0.113.0/24]
      valid_for: 90d
      secret: {sink: file, path: "secrets/{address}.json", format: json}
      rotation: {every: 30d, overlap: 2d}
    api_keys:
      payments:
        scopes: [sms:message:send]
"""


def _secret_file(ws: Workspace) -> dict[str, str]:
    body: dict[str, str] = json.loads(
        (ws.manifests / "secrets" / "api_keys.payments.json").read_text()
    )
    return body


def test_a_key_rotates_keeps_its_predecessor_for_the_overlap_then_revokes_it(
    workspace: Workspace,
) -> None:
    ws = workspace
    ws.write(ROTATED)
    assert ws.apply().code == 0
    first = ws.live()["payments"]
    ws.assert_converged()

    ws.emulator.control.advance_clock("31d")
    plan = ws.plan("--detailed-exitcode")
    assert plan.code == 2, plan
    assert "api_keys.payments will be rotated" in plan.out, plan
    assert "rotation due: 31 days old" in plan.out
    assert "Plan: 1 to add, 0 to change, 0 to revoke. Infobip writes: 1 of 40" in plan.out
    document = ws.plan_json()
    (change,) = [c for c in document["resource_changes"] if c["address"] == "api_keys.payments"]
    assert change["change"]["actions"] == ["create", "delete"]
    assert change["infobip_reason"] == "rotation"
    assert change["rotation"]["predecessor_id"] == first.id
    assert change["rotation"]["overlap"] == "2d"

    assert ws.apply().code == 0
    with ws.client() as client:
        keys = [k for k in client.list_keys("_").keys if k.enabled]
    assert len(keys) == 2
    successor = next(k for k in keys if k.id != first.id)
    assert _secret_file(ws)["id"] == successor.id
    assert _secret_file(ws)["apiKeySecret"] in ws.emulator.control.secrets()
    state = ws.state()
    assert state.resources["api_keys.payments"].id == successor.id
    predecessor = state.resources[f"api_keys.payments#deposed-{first.id}"]
    assert predecessor.revoke_after is not None
    waiting = ws.plan("--detailed-exitcode")
    assert waiting.code == 0, waiting
    assert "revoked after" in waiting.out

    ws.emulator.control.advance_clock("3d")
    plan = ws.plan("--detailed-exitcode")
    assert plan.code == 2, plan
    assert "will be revoked" in plan.out and "overlap has ended" in plan.out, plan
    assert ws.apply().code == 0
    with ws.client() as client:
        enabled = [k.id for k in client.list_keys("_").keys if k.enabled]
    assert enabled == [successor.id]
    ws.assert_converged()
    assert list(ws.state().resources) == ["api_keys.payments"]


def test_the_rotation_block_is_checked_with_its_place(workspace: Workspace, tmp_path: Path) -> None:
    ws = workspace
    ws.write(ROTATED.replace("overlap: 2d", "overlap: 30d"))
    outcome = ws.run("validate", str(ws.manifests))
    assert outcome.code == 1
    assert "main.yaml:6:" in outcome.out + outcome.err
    assert "overlap 30d is not shorter than every 30d" in outcome.out + outcome.err


def test_rotate_now_honours_the_overlap_and_refuses_a_key_without_a_policy(
    workspace: Workspace,
) -> None:
    ws = workspace
    ws.write(
        ROTATED.replace("every: 30d", "every: 60d")
        + "      plain:\n        scopes: [sms:logs:read]\n        rotation: none\n"
    )
    assert ws.apply().code == 0
    first = ws.live()["payments"]

    refused = ws.run("rotate", "api_keys.plain", str(ws.manifests), "--auto-approve")
    assert refused.code == 1
    assert "rotate api_keys.plain: the key has no rotation policy" in refused.err

    rotated = ws.run("rotate", "api_keys.payments", str(ws.manifests), "--auto-approve")
    assert rotated.code == 0, rotated
    assert "rotation due: requested" in rotated.out
    with ws.client() as client:
        enabled = {k.id for k in client.list_keys("_").keys if k.enabled and k.name == "payments"}
    assert len(enabled) == 2 and first.id in enabled
    assert _secret_file(ws)["id"] in enabled - {first.id}
    ws.emulator.control.advance_clock("3d")
    assert ws.apply().code == 0
    with ws.client() as client:
        enabled = {k.id for k in client.list_keys("_").keys if k.enabled and k.name == "payments"}
    assert enabled == {_secret_file(ws)["id"]}

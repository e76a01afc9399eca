"""Saved plans over HTTP: `plan --out F` then `apply F` makes exactly those changes, and a
plan made stale by a live change or a state change is refused with nothing written."""

from __future__ import annotations

import json

from e2e.workspace import Workspace, writes
from infobip_iac.domain.keys import KeyWrite

MANIFEST = """
    version: 1
    defaults:
      allowed_ips: [203.0.113.0/24]
    api_keys:
      reports:
        scopes: [sms:logs:read]
      sender:
        scopes: [sms:message:send]
"""


def test_a_saved_plan_is_applied_exactly_and_shown_again(workspace: Workspace) -> None:
    ws = workspace
    ws.write(MANIFEST)
    planfile = ws.root / "changes.plan"
    made = ws.plan("--out", str(planfile))
    assert made.code == 0, made
    shown = ws.run("show", str(planfile))
    assert shown.out == made.out
    as_json = json.loads(ws.run("show", str(planfile), "--format", "json").out)
    assert [c["change"]["actions"] for c in as_json["resource_changes"]] == [["create"]] * 2

    with ws.counting() as counts:
        applied = ws.run("apply", str(planfile))  # a saved plan needs no `yes`

    assert applied.code == 0, applied
    assert writes(counts) == 2
    assert sorted(ws.live()) == ["reports", "sender"]
    ws.assert_converged()


def test_a_saved_plan_made_stale_by_a_live_change_is_refused(workspace: Workspace) -> None:
    ws = workspace
    ws.write(MANIFEST)
    assert ws.apply().code == 0
    ws.write(MANIFEST.replace("[sms:logs:read]", "[sms:logs:read, sms:message:send]"))
    planfile = ws.root / "changes.plan"
    assert ws.plan("--out", str(planfile)).code == 0
    reports = ws.live()["reports"]
    with ws.client() as client:  # someone changes the key by hand meanwhile
        client.update_key(reports.id, account="_", write=KeyWrite(allowed_ips=frozenset()))
    state_before = ws.state_path.read_bytes()

    with ws.counting() as counts:
        refused = ws.run("apply", str(planfile))

    assert refused.code == 1, refused
    assert "changed since the plan was made" in refused.err
    assert "Traceback" not in refused.err
    assert writes(counts) == 0, counts
    assert ws.state_path.read_bytes() == state_before


def test_a_saved_plan_made_stale_by_another_apply_is_refused(workspace: Workspace) -> None:
    ws = workspace
    ws.write(MANIFEST)
    planfile = ws.root / "changes.plan"
    assert ws.plan("--out", str(planfile)).code == 0
    assert ws.apply().code == 0  # the same changes, applied from the manifests first

    with ws.counting() as counts:
        refused = ws.run("apply", str(planfile))

    assert refused.code == 1, refused
    assert "state serial" in refused.err
    assert writes(counts) == 0
    assert sorted(ws.live()) == ["reports", "sender"]  # nothing created twice

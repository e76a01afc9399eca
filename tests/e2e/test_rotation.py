"""Rotation end to end, on the emulator's clock: a successor before the key lapses, the
predecessor revoked once the overlap ends, within Infobip's daily write budget."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

from leakguard import LeakWatch

from e2e.workspace import Workspace, writes

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
    # The declared attributes, its validity counted afresh from its own creation.
    assert successor.scopes == first.scopes and successor.allowed_ips == first.allowed_ips
    assert successor.valid_from and successor.valid_to and first.valid_to
    # Within the second of the Date header that apply resolved valid_for against.
    validity = successor.valid_to - successor.valid_from
    assert abs(validity - timedelta(days=90)) <= timedelta(seconds=2), validity
    assert successor.valid_to - first.valid_to >= timedelta(days=31)
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


def _budget_manifest(count: int) -> str:
    lines = [
        "version: 1",
        "defaults:",
        "  allowed_ips: [203.0.113.0/24]",
        "  valid_for: 90d",
        "  rotation: {every: 60d, before_expiry: 14d, overlap: 2d}",
        "api_keys:",
    ]
    for n in range(count):
        lines += [f"  k{n:02d}:", "    scopes: [sms:logs:read]"]
    return "\n".join(lines) + "\n"


def test_sixty_keys_due_at_once_rotate_within_forty_writes_a_day_before_they_expire(
    workspace: Workspace,
) -> None:
    """60 keys adopted by name, all due (10 days left, 14 days before expiry): each
    emulated day sees at most 40 writes, the plan lists what it defers, and every key has
    a successor before it expires."""
    ws = workspace
    control = ws.emulator.control
    control.set_clock("2027-03-01T08:00:00Z")
    seeded = ws.seed(
        *(
            {
                "name": f"k{n:02d}",
                "scopeGuids": ["sms:logs:read"],
                "allowedIPs": ["203.0.113.0/24"],
                # Spread a little, so that the soonest expiry first is visible; each
                # valid for 90 days, as declared.
                "validFrom": f"2026-12-{11 + n % 3:02d}T08:00:00Z",
                "validTo": f"2027-03-{11 + n % 3:02d}T08:00:00Z",
            }
            for n in range(60)
        )
    )
    ws.write(_budget_manifest(60))

    first = ws.plan_json()
    rotations = [c for c in first["resource_changes"] if c["infobip_reason"] == "rotation"]
    assert len(rotations) == 40 and first["api_writes"]["count"] == 40
    deferred = first["deferred_rotations"]
    assert len(deferred) == 20
    # Soonest expiry first: every key taken expires no later than every key deferred.
    expiry = {k.name: k.valid_to for k in ws.live().values()}
    taken_latest = max(expiry[c["address"].split(".")[1]] for c in rotations)
    assert all(expiry[d["address"].split(".")[1]] >= taken_latest for d in deferred)
    text = ws.plan()
    assert "Deferred rotations: 20 due, left for a later day by the write budget" in text.out

    writes_per_day = []
    for _day in range(6):
        with ws.counting() as counted:
            outcome = ws.apply()
        assert outcome.code == 0, outcome
        writes_per_day.append(sum(n for op, n in counted.items() if not op.startswith("GET")))
        now = datetime.fromisoformat(control.now().replace("Z", "+00:00"))
        with ws.client() as client:
            live = client.list_keys("_").keys
        assert not [k.id for k in live if k.enabled and k.valid_to and k.valid_to <= now]
        control.advance_clock("1d")

    assert max(writes_per_day) <= 40, writes_per_day
    assert sum(writes_per_day) == 120  # 60 successors and 60 revokes, nothing twice
    with ws.client() as client:
        live = client.list_keys("_").keys
    assert sorted(k.name for k in live if k.enabled) == [f"k{n:02d}" for n in range(60)]
    assert not {k.id for k in live if k.enabled} & set(seeded)
    ws.assert_converged()


def _seed_due(ws: Workspace, names: list[str], valid_to: list[str]) -> None:
    """Keys valid for 90 days, as _budget_manifest declares, ending at `valid_to`."""
    ws.seed(
        *(
            {
                "name": name,
                "scopeGuids": ["sms:logs:read"],
                "allowedIPs": ["203.0.113.0/24"],
                "validFrom": (datetime.fromisoformat(end) - timedelta(days=90)).isoformat(),
                "validTo": end,
            }
            for name, end in zip(names, valid_to, strict=True)
        )
    )


def test_the_budget_left_after_the_plans_other_writes_goes_to_the_most_urgent_rotations(
    workspace: Workspace,
) -> None:
    ws = workspace
    ws.emulator.control.set_clock("2027-03-01T08:00:00Z")
    _seed_due(
        ws,
        ["k00", "k01", "k02"],
        ["2027-03-09T08:00:00+00:00", "2027-03-05T08:00:00+00:00", "2027-03-07T08:00:00+00:00"],
    )
    ws.write(_budget_manifest(3) + "  fresh:\n    scopes: [sms:logs:read]\n")

    document = ws.plan_json("--max-writes", "3")

    by_reason = {c["address"]: c["infobip_reason"] for c in document["resource_changes"]}
    assert by_reason["api_keys.fresh"] == "new"
    assert by_reason["api_keys.k01"] == by_reason["api_keys.k02"] == "rotation"
    assert by_reason["api_keys.k00"] == "none"  # the latest expiry waits
    assert [d["address"] for d in document["deferred_rotations"]] == ["api_keys.k00"]
    assert document["deferred_rotations"][0]["valid_to"] == "2027-03-09T08:00:00Z"
    markdown = ws.plan("--max-writes", "3", "--format", "markdown").out
    assert "Deferred rotations" in markdown
    assert (
        "  - api_keys.k00: rotation due: expires in 8 days (expires 2027-03-09T08:00:00Z)"
        in markdown
    )


def test_the_writes_already_made_today_leave_only_the_rest_of_the_budget_to_rotations(
    workspace: Workspace,
) -> None:
    """30 creates applied today (the state tallies them) leave 10 of the 40 writes: 10 of
    12 due rotations fit, soonest expiry first; the next day the tally is spent no more."""
    ws = workspace
    control = ws.emulator.control
    control.set_clock("2027-03-01T08:00:00Z")
    fresh = "".join(f"  fresh{n:02d}:\n    scopes: [sms:logs:read]\n" for n in range(30))
    ws.write(_budget_manifest(0) + fresh)
    assert ws.apply().code == 0
    assert ws.state().writes_on("_", date(2027, 3, 1)) == 30
    names = [f"k{n:02d}" for n in range(12)]
    _seed_due(ws, names, [f"2027-03-{6 + n % 4:02d}T08:00:00+00:00" for n in range(12)])
    ws.write(_budget_manifest(12) + fresh)

    document = ws.plan_json()

    rotations = [c for c in document["resource_changes"] if c["infobip_reason"] == "rotation"]
    assert len(rotations) == 10 and document["api_writes"]["count"] == 10
    # Of the three expiring last (k03, k07, k11), the first by address still fits.
    assert [d["address"] for d in document["deferred_rotations"]] == [
        "api_keys.k07",
        "api_keys.k11",
    ]
    assert "Deferred rotations: 2 due, left for a later day by the write budget" in ws.plan().out

    control.advance_clock("1d")
    tomorrow = ws.plan_json()
    assert not tomorrow["deferred_rotations"]
    assert sum(c["infobip_reason"] == "rotation" for c in tomorrow["resource_changes"]) == 12


def test_a_key_that_would_expire_before_its_deferred_rotation_is_a_plan_error(
    workspace: Workspace,
) -> None:
    ws = workspace
    ws.emulator.control.set_clock("2027-03-01T08:00:00Z")
    # Both expire this evening, before the next UTC day's budget; one write is allowed.
    _seed_due(ws, ["k00", "k01"], ["2027-03-01T20:00:00+00:00", "2027-03-01T18:00:00+00:00"])
    ws.write(_budget_manifest(2))

    outcome = ws.plan("--max-writes", "1")

    assert outcome.code == 1, outcome
    assert "1 key(s) will expire before their rotation can be made" in outcome.err
    assert "api_keys.k00 expires at 2027-03-01T20:00:00Z" in outcome.err
    assert "api_keys.k01" not in outcome.err  # the sooner one is rotated today
    assert "Traceback" not in outcome.err


def test_a_rotation_asked_for_that_cannot_be_made_is_refused_before_any_write(
    workspace: Workspace,
) -> None:
    ws = workspace
    ws.write(ROTATED)
    assert ws.apply().code == 0
    before = ws.requests()

    typo = ws.plan("--rotate", "payments!")
    refresh = ws.plan("--refresh-only", "--rotate", "api_keys.payments")
    unknown = ws.run("rotate", "api_keys.payment", str(ws.manifests), "--auto-approve")

    assert typo.code == 1 and '--rotate "payments!" is not a key address' in typo.err
    assert refresh.code == 1 and "drop --refresh-only or --rotate" in refresh.err
    assert unknown.code == 1
    assert "rotate api_keys.payment: no key is declared at this address" in unknown.err
    assert "did you mean api_keys.payments?" in unknown.err
    after = ws.requests()
    assert not {
        op: n for op, n in after.items() if not op.startswith("GET") and n != before.get(op)
    }


def test_a_rotation_goes_through_its_sinks_check_before_any_write_and_its_delivery(
    workspace: Workspace, leak_guard: LeakWatch
) -> None:
    """The successor's secret meets the same sink as any create's: an exec program that
    cannot run is a plan warning and an apply refusal before the successor is created (the
    predecessor left alone), and once it can run, the command is told of the rotation."""
    ws = workspace
    store = ws.root / "store.sh"
    received = ws.root / "received"
    leak_guard.allow(received)  # the stand-in secret store
    store.write_text(
        "#!/bin/sh\n"
        f'{{ echo "$INFOBIP_KEY_ROTATION $INFOBIP_PREDECESSOR_KEY_ID"; cat; }} > "{received}"\n',
        encoding="utf-8",
    )
    store.chmod(0o755)
    ws.write(
        ROTATED.replace(
            'secret: {sink: file, path: "secrets/{address}.json", format: json}',
            f'secret: {{sink: exec, command: ["{store}"]}}',
        )
    )
    assert ws.apply().code == 0
    first = ws.live()["payments"]
    assert received.read_text().startswith("false \n")

    store.chmod(0o644)
    ws.emulator.control.advance_clock("31d")
    (warning,) = ws.plan_json()["warnings"]
    assert warning.startswith("api_keys.payments: apply on this machine would refuse to replace")
    assert "is not executable (secret.command)" in warning
    with ws.counting() as counts:
        refused = ws.apply()
    assert refused.code == 1 and "is not executable" in refused.err, refused
    assert "Nothing was written to Infobip" in refused.err
    assert writes(counts) == 0
    assert ws.state().resources["api_keys.payments"].id == first.id

    store.chmod(0o755)
    assert ws.apply().code == 0
    with ws.client() as client:
        enabled = {k.id for k in client.list_keys("_").keys if k.enabled}
    (successor,) = enabled - {first.id}
    assert enabled == {first.id, successor}  # the predecessor in its overlap
    rotation, secret = received.read_text().split("\n", 1)
    assert rotation == f"true {first.id}"
    assert secret in ws.emulator.control.secrets()

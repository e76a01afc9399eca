"""The fault campaign in CI: a bounded number of seeds (see campaign.py for what one run
does and checks), plus the faults it found, each pinned as a test of its own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from e2e.workspace import CREATE, UPDATE, Workspace

from infobip_iac.emulator import EmulatorServer
from reliability.campaign import campaign_environment, run_once, wait_until_answered

FAST = "--timeout", "0.3"


def test_a_create_the_server_commits_after_the_timeout_is_adopted_not_sent_again(
    workspace: Workspace,
) -> None:
    """Protection: after a create times out, the client gives the server as long again to
    finish before apply looks the key up by name, so a create that lands late is adopted
    instead of being sent a second time (found by the campaign, seed 21)."""
    ws = workspace
    ws.write(
        """
        version: 1
        api_keys:
          slow:
            scopes: [sms:logs:read]
            allowed_ips: [203.0.113.0/24]
            secret: {sink: file, path: "secrets/{address}.env"}
        """
    )
    ws.emulator.control.set_faults([{"operation": CREATE, "kind": "delay", "delay_ms": 500}])

    outcome = ws.apply(*FAST)
    wait_until_answered(ws.emulator)  # the create held back by the emulator has landed

    assert ws.requests()[CREATE] == 1, outcome
    live = ws.live()  # fails on two keys of one name
    assert list(live) == ["slow"]
    assert outcome.code == 1 and "SECRET NOT DELIVERED" in outcome.err, outcome
    assert "found by name and adopted" in outcome.err


# Seeds run in CI: about a second each. benchmarks/fault_campaign.py runs a thousand.
CI_SEEDS = range(1000, 1024)


@pytest.mark.slow
@pytest.mark.parametrize("seed", CI_SEEDS)
def test_fault_campaign_run_converges_without_duplicates_leaks_or_lost_secrets(
    seed: int, make_emulator: Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    """One run of the campaign: a changed configuration applied under random faults
    converges within five applies; every declared key exists once as declared, removed keys
    are revoked, state matches live, every new secret is in its sink or reported lost, no
    secret appears elsewhere, and the state stays readable throughout."""
    emulator = make_emulator(read_rate=0)
    with campaign_environment(emulator):
        report = run_once(emulator, seed, tmp_path / "run")
    assert report.problems == [], report.describe()


def test_an_update_retried_after_no_answer_then_refused_is_read_back_not_left_unrecorded(
    workspace: Workspace,
) -> None:
    """Protection: a write whose first attempt went unanswered is ambiguous whatever its
    retry answers; apply reads the key back and records what landed. Found by the campaign
    (seeds 270, 774): the PUT committed, its retry got a 429, apply stopped with the state
    still holding the old scopes."""
    ws = workspace
    manifest = """
        version: 1
        api_keys:
          steady:
            scopes: [%s]
            allowed_ips: [203.0.113.0/24]
        """
    ws.write(manifest % "sms:logs:read")
    assert ws.apply().code == 0
    ws.write(manifest % "sms:message:send")
    ws.emulator.control.set_faults(
        [
            {"operation": UPDATE, "kind": "commit-then-drop", "times": 1},
            {"operation": UPDATE, "kind": "rate-limit", "times": 1, "retry_after_s": 0},
        ]
    )

    outcome = ws.apply(*FAST)

    assert outcome.code == 0, outcome
    assert ws.live()["steady"].scopes == {"sms:message:send"}
    assert ws.state().resources["api_keys.steady"].attributes["scopes"] == ["sms:message:send"]

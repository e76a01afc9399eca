"""`infobip-iac expiry`: every enabled key, managed or not, by expiry on Infobip's clock;
exit 2 when one expires within the window with nothing to replace it."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from e2e.workspace import Workspace

from infobip_iac.emulator import EmulatorServer

KEYS = """
    version: 1
    defaults:
      allowed_ips: [203.0.113.0/24]
    api_keys:
      soon:
        scopes: [sms:logs:read]
        valid_for: 20d
      later:
        scopes: [sms:message:send]
        valid_for: 1y
"""


@pytest.fixture
def ws(
    tmp_path: Path,
    emulator: EmulatorServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Workspace:
    workspace = Workspace.open(tmp_path, emulator, capsys, monkeypatch)
    workspace.write(KEYS)
    assert workspace.apply().code == 0
    now = datetime.fromisoformat(emulator.control.now().replace("Z", "+00:00"))

    def days(n: int) -> str:
        return (now + timedelta(days=n)).strftime("%Y-%m-%dT%H:%M:%SZ")

    workspace.seed(
        {"name": "by hand", "scopeGuids": ["sms:logs:read"], "validTo": days(10)},
        {
            "name": "switched off",
            "scopeGuids": ["sms:logs:read"],
            "validTo": days(1),
            "enabled": False,
        },
    )
    return workspace


def expiry(ws: Workspace, *args: str) -> tuple[int, dict[str, Any]]:
    outcome = ws.run("expiry", str(ws.manifests), "--format", "json", *args)
    assert outcome.code in (0, 2), outcome
    document: dict[str, Any] = json.loads(outcome.out)
    return outcome.code, document


def test_every_enabled_key_managed_or_not_is_listed_soonest_expiry_first(ws: Workspace) -> None:
    code, document = expiry(ws, "--within", "30d")

    keys = document["keys"]
    assert [key["name"] for key in keys] == ["by hand", "soon", "later"]  # not "switched off"
    assert [key["managed"] for key in keys] == [False, True, True]
    assert keys[0]["address"] == f"unmanaged._.{keys[0]['key_id']}"
    assert [key["address"] for key in keys[1:]] == ["api_keys.soon", "api_keys.later"]
    assert [key["at_risk"] for key in keys] == [True, True, False]
    assert [key["rotation"] for key in keys] == [None, None, None]
    assert document["at_risk"] == 2
    assert document["within"] == "30d"
    assert code == 2
    # Measured from Infobip's clock at the read, moments after the seeds were made.
    left = [key["expires_in_seconds"] / 86400 for key in keys]
    assert left[0] == pytest.approx(10, abs=0.01) and left[1] == pytest.approx(20, abs=0.01)


def test_nothing_within_the_window_exits_0(ws: Workspace) -> None:
    code, document = expiry(ws, "--within", "5d")

    assert code == 0
    assert document["at_risk"] == 0
    assert len(document["keys"]) == 3


def test_the_window_is_measured_on_infobips_clock(ws: Workspace) -> None:
    """The emulator's clock moves 8 days; this machine's does not. On Infobip's clock the
    unmanaged key has 2 days left, inside a 5-day window."""
    ws.emulator.control.advance_clock("8d")

    code, document = expiry(ws, "--within", "5d")

    assert code == 2
    assert [key["name"] for key in document["keys"] if key["at_risk"]] == ["by hand"]
    now = datetime.fromisoformat(document["now"].replace("Z", "+00:00"))
    assert now - datetime.now(now.tzinfo) > timedelta(days=7)


def test_text_flags_each_key_at_risk_and_says_how_many(ws: Workspace) -> None:
    outcome = ws.run("expiry", str(ws.manifests), "--within", "30d")

    assert outcome.code == 2, outcome
    lines = outcome.out.splitlines()
    assert lines[0].startswith("Enabled keys by expiry (Infobip's clock ")
    assert lines[1].split() == ["EXPIRES", "IN", "ADDRESS", "ID", "ROTATION"]
    assert "unmanaged._." in lines[2] and lines[2].endswith("NOTHING REPLACES IT")
    assert "api_keys.soon" in lines[3] and lines[3].endswith("NOTHING REPLACES IT")
    assert "api_keys.later" in lines[4] and lines[4].endswith("none")
    assert lines[5].startswith("2 key(s) expire within 30d with nothing to replace them")


def test_a_bad_window_is_a_usage_error_naming_the_option(ws: Workspace) -> None:
    outcome = ws.run("expiry", str(ws.manifests), "--within", "soon")

    assert outcome.code != 0
    assert "--within" in outcome.err and "not a duration" in outcome.err


def test_a_key_whose_rotation_comes_before_its_expiry_is_not_at_risk(ws: Workspace) -> None:
    ws.write(
        KEYS.replace(
            "valid_for: 20d", "valid_for: 20d\n        rotation: {before_expiry: 14d, overlap: 1d}"
        )
    )

    code, document = expiry(ws, "--within", "30d")

    soon = next(key for key in document["keys"] if key["address"] == "api_keys.soon")
    assert soon["rotation"].startswith("from ") and soon["at_risk"] is False
    assert [key["name"] for key in document["keys"] if key["at_risk"]] == ["by hand"]
    assert code == 2

    ws.emulator.control.advance_clock("7d")
    assert ws.apply().code == 0  # the rotation is due: a successor, the predecessor waits
    code, document = expiry(ws, "--within", "30d")
    waiting = [key for key in document["keys"] if "#deposed-" in key["address"]]
    assert len(waiting) == 1 and waiting[0]["rotation"].startswith("predecessor, revoked after")
    assert waiting[0]["at_risk"] is False

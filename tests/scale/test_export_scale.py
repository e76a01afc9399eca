"""`export` of a busy account (benchmarks/export_25k.py runs 25,000 keys): every key read in
the fewest pages, the manifest validates, the plan imports each key and nothing else, and
the apply of it writes nothing."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import pytest
from e2e.workspace import LIST, Workspace, writes

from infobip_iac.emulator import EmulatorServer
from scale.conftest import MakeServer, busy_keys, seed_keys

COUNT = 3_000


@pytest.mark.slow
def test_export_of_3000_keys_plans_only_imports_and_applies_without_writes(
    make_server: MakeServer, project: Callable[[EmulatorServer], Workspace]
) -> None:
    server = make_server(read_rate=0)  # paging, not pacing, is what is counted here
    seed_keys(server, busy_keys(COUNT), None)
    ws = project(server)

    with ws.counting() as counts:
        exported = ws.run("export", "--out", str(ws.manifests))
    assert exported.code == 0, exported
    assert counts[LIST] == math.ceil(COUNT / 100)
    text = (ws.manifests / "exported-keys.yaml").read_text(encoding="utf-8")
    assert text.count("\n  - to: api_keys.") == COUNT

    plan = json.loads(ws.plan("--format", "json").out)
    assert len(plan["resource_changes"]) == COUNT
    assert {tuple(c["change"]["actions"]) for c in plan["resource_changes"]} == {("no-op",)}
    assert all(c["change"].get("importing") for c in plan["resource_changes"])
    assert plan["unmanaged_keys"] == []

    with ws.counting() as counts:
        assert ws.apply().code == 0
    assert writes(counts) == 0
    assert len(ws.state().resources) == COUNT
    ws.assert_converged()

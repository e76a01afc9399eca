"""Benchmark: plan and render 10,000 declared keys against 10,000 live keys, half differing.

Run: `.venv/bin/python benchmarks/plan_10k.py [--keys N] [--unlike]`. Prints the CPU time of
`make_plan`, the text render and the JSON render (one core: the work is single-threaded),
and the peak memory of doing all three. Pure data: no emulator, no HTTP.
"""

from __future__ import annotations

import argparse
import gc
import resource
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from infobip_iac.collector import tune_collector
from infobip_iac.domain.keys import DesiredConfig, DesiredKey, LiveKey, Permission
from infobip_iac.domain.normalize import canonical_networks
from infobip_iac.domain.plan import Action
from infobip_iac.engine.plan import make_plan
from infobip_iac.infobip.api import AccountKeys
from infobip_iac.render.json import render_json
from infobip_iac.render.text import render_text
from infobip_iac.state.model import ResourceState, StateDocument

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SCOPES = ["sms:message:send", "sms:logs:read", "2fa:pin:send", "email:message:send"]


def build(
    count: int, *, unlike: bool = False
) -> tuple[DesiredConfig, StateDocument, dict[str, AccountKeys]]:
    """`count` declared keys, each with a live key and a state entry; every other key
    differs in one attribute (scopes, allowed IPs, name or validity, in turn). With
    `unlike`, every other key differs in an IP range of its own instead, so that no two
    set differences are alike (the planner's worst case)."""
    desired: dict[str, DesiredKey] = {}
    live: list[LiveKey] = []
    records: dict[str, ResourceState] = {}
    for i in range(count):
        address = f"api_keys.key-{i:05d}"
        valid_to = NOW + timedelta(days=180 + i % 7)
        want = DesiredKey(
            address=address,
            ident=f"key-{i:05d}",
            name=f"Key {i}",
            scopes=frozenset(SCOPES[: 2 + i % 3]),
            allowed_ips=canonical_networks([f"10.{i % 250}.{i // 250 % 250}.0/24", "192.0.2.7"]),
            valid_to=valid_to,
        )
        have = LiveKey(
            id=f"{i:032X}",
            account_id="100",
            name=want.name,
            scopes=want.scopes,
            permissions=frozenset({Permission.PUBLIC_API}),
            allowed_ips=want.allowed_ips,
            valid_from=NOW - timedelta(days=1),
            valid_to=valid_to,
        )
        if i % 2 and unlike:
            own = canonical_networks([f"172.16.{i // 250 % 250}.{i % 250}"])
            have = replace(have, allowed_ips=own)
        elif i % 2:
            variant = i // 2 % 4
            changed: dict[str, Any] = [
                {"scopes": frozenset(SCOPES[:1])},
                {"allowed_ips": canonical_networks(["198.51.100.0/24"])},
                {"name": f"Old key {i}"},
                {"valid_to": valid_to + timedelta(days=30)},
            ][variant]
            have = replace(have, **changed)
        desired[address] = want
        live.append(have)
        records[address] = ResourceState(
            id=have.id, account="_", account_id="100", name=have.name, attributes=have.attributes()
        )
    config = DesiredConfig(keys=desired)
    state = StateDocument(resources=records)
    return config, state, {"_": AccountKeys(account="_", keys=live, requests=count // 100 + 1)}


def cpu(step: Callable[[], Any]) -> tuple[Any, float]:
    gc.collect()
    start = time.process_time()
    result = step()
    return result, time.process_time() - start


def main() -> None:
    tune_collector()  # as the CLI does for every command (infobip_iac.collector)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument(
        "--unlike", action="store_true", help="no two differences alike (the worst case)"
    )
    arguments = parser.parse_args()
    keys = arguments.keys
    config, state, live = build(keys, unlike=arguments.unlike)
    inputs_rss_mb = _max_rss_mb()

    plan, plan_s = cpu(lambda: make_plan(config, state, live, now=NOW))
    text, text_s = cpu(lambda: render_text(plan))
    document, json_s = cpu(lambda: render_json(plan))
    run_rss_mb = _max_rss_mb()

    # tracemalloc slows everything down and costs memory of its own: a separate run.
    tracemalloc.start()
    traced = make_plan(config, state, live, now=NOW)
    render_text(traced)
    render_json(traced)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print(f"keys declared / live:       {keys} / {keys}")
    print(f"changes planned:            {traced.count(Action.UPDATE)} updates")
    print(f"make_plan CPU:              {plan_s:.3f} s")
    print(f"render text CPU:            {text_s:.3f} s ({len(text) / 1e6:.1f} MB of text)")
    print(f"render JSON CPU:            {json_s:.3f} s ({len(document) / 1e6:.1f} MB of JSON)")
    print(f"plan + renders CPU:         {plan_s + text_s + json_s:.3f} s")
    print(f"peak memory of plan+render: {peak / 1e6:.0f} MB (tracemalloc)")
    print(f"max RSS: inputs / all:      {inputs_rss_mb:.0f} MB / {run_rss_mb:.0f} MB")


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()

"""Benchmark: what a rotation policy adds to planning 10,000 keys (issue 13: at most 10 %).

Run: `.venv/bin/python benchmarks/plan_10k_rotation.py [--keys N] [--rounds R]`. Plans the
data of plan_10k.py (half the keys differing) with no rotation, then with a rotation policy
on every key (none due), then with 100 keys due (all deferred: the 5,000 updates take the
day's budget); alternating, R rounds, the median CPU time of `make_plan` of each. Pure
data, one core.
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import replace
from datetime import timedelta

from plan_10k import NOW, build, cpu

from infobip_iac.collector import tune_collector
from infobip_iac.domain.keys import DesiredConfig
from infobip_iac.domain.rotation import RotationPolicy
from infobip_iac.engine.plan import make_plan

POLICY = RotationPolicy(
    every=timedelta(days=90), before_expiry=timedelta(days=14), overlap=timedelta(days=7)
)


def with_policy(config: DesiredConfig, *, due: int = 0) -> DesiredConfig:
    """Every key under POLICY; the first `due` keys under a policy that makes them due."""
    due_now = RotationPolicy(every=timedelta(hours=1), before_expiry=None, overlap=POLICY.overlap)
    keys = {
        address: replace(key, rotation=due_now if index < due else POLICY)
        for index, (address, key) in enumerate(config.keys.items())
    }
    return replace(config, keys=keys)


def main() -> None:
    tune_collector()  # as the CLI does for every command (infobip_iac.collector)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    arguments = parser.parse_args()
    config, state, live = build(arguments.keys)
    variants = {
        "no rotation": config,
        "rotation policy, none due": with_policy(config),
        "rotation policy, 100 due": with_policy(config, due=100),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    plans = {}
    for _ in range(arguments.rounds):
        for name, variant in variants.items():
            plans[name], seconds = cpu(lambda v=variant: make_plan(v, state, live, now=NOW))
            times[name].append(seconds)
    base = statistics.median(times["no rotation"])
    print(f"keys: {arguments.keys}; rounds: {arguments.rounds}; median make_plan CPU:")
    for name, measured in times.items():
        median = statistics.median(measured)
        print(f"  {name:28} {median:.3f} s  ({median / base - 1:+.1%})")
    due = plans["rotation policy, 100 due"]
    print(f"  (100 due: {len(due.deferred_rotations)} deferred by the budget of 40 writes)")
    extra = statistics.median(times["rotation policy, none due"]) / base - 1
    print(f"policy overhead {extra:+.1%}: {'within' if extra <= 0.10 else 'OVER'} the 10 % target")


if __name__ == "__main__":
    main()

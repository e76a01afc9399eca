"""Benchmark: one account of 10,000 keys at Infobip's read floor, and against the per-key
refresh of a typical Terraform provider.

Run: `.venv/bin/python benchmarks/scale_one_account.py [--keys N]`.

The emulator runs in a child process with its default limits (10 reads/s per account).
N keys (default 10,000) are seeded, declared as they are, and adopted into state, so the
plan runs in the steady state of a pull request (manifest = live). Printed, each next to
the floor ceil(N/100) requests and ceil(N/100)/10 s:

1. the whole `plan` command as a user runs it (its own process): list requests, wall time,
   429 answers, the process's CPU time and peak memory;
2. the live reads alone (in this process, the client's default pacing);
3. the baseline: list the ids, then one GET per key, on the same data. At 10 reads/s that
   would take N/10 s, so it runs against an emulator with its read limit lifted; both its
   measured wall time there and its floor at 10 reads/s are printed, and our ratios.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _support import (
    adopt_all,
    declare,
    emulator_process,
    floor_seconds,
    header,
    list_floor,
    per_key_refresh,
    ratio,
    realistic_keys,
    run_plan,
    seed,
    timed_read,
)

from infobip_iac.collector import tune_collector
from infobip_iac.logs import configure_logging


def main() -> None:
    tune_collector()  # as the CLI does for every command (infobip_iac.collector)
    configure_logging("warning")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10_000)
    count = parser.parse_args().keys
    label = f"{count // 1000}k one account" if count % 1000 == 0 else f"{count} keys"
    pages = list_floor(count)
    floor = floor_seconds(pages)
    keys = realistic_keys(count)
    header(f"{count:,} keys in one account, emulator at 10 reads/s")
    with tempfile.TemporaryDirectory() as scratch:
        folder, state = Path(scratch) / "manifests", Path(scratch) / "state.json"
        folder.mkdir()
        declare(folder / "keys.yaml", "_", keys)
        with emulator_process() as (base_url, control):
            seed(control, keys, account_id=None)
            adopt_all(base_url, folder, state)
            plan = run_plan(base_url, control, [str(folder), "--state", str(state)])
            if plan.exit_code != 0 or not plan.summary().startswith("No changes"):
                raise SystemExit(f"the plan was not empty: {plan.summary()!r} {plan.stderr}")
            read = timed_read(base_url, control, folder, state)
        print(
            f"{label}: plan {plan.lists} requests (floor {pages}), wall {plan.wall:.1f} s, "
            f"floor {floor:.1f} s ({ratio(plan.wall, floor)}), {plan.throttled} x 429, "
            f"CPU {plan.cpu:.1f} s, peak memory {plan.peak_mb:.0f} MB"
        )
        print(
            f"{label}: reads alone {read.lists} requests, wall {read.wall:.2f} s, floor "
            f"{floor:.1f} s ({ratio(read.wall, floor)}), {read.throttled} x 429, "
            f"CPU {read.cpu:.2f} s"
        )
        with emulator_process(read_rate=0) as (base_url, control):
            seed(control, keys, account_id=None)
            baseline = per_key_refresh(base_url, control, ["_"])
        print(
            f"{label}: per-key refresh {baseline.requests:,} requests, wall "
            f"{baseline.wall:.1f} s with the read limit lifted, floor at 10 reads/s "
            f"{baseline.floor:,.0f} s ({baseline.floor / 60:.0f} min)"
        )
        print(
            f"{label}: ours {plan.lists} requests vs {baseline.requests:,}: "
            f"{baseline.requests / plan.lists:.0f}x fewer; at 10 reads/s "
            f"{plan.wall:.1f} s vs {baseline.floor:,.0f} s: "
            f"{baseline.floor / plan.wall:.0f}x faster"
        )


if __name__ == "__main__":
    main()

"""Benchmark: one account of 25,000 keys, past what one filter can page through (10,100 keys
from one end, 20,200 from both), at Infobip's read limit; and the plan's peak memory.

Run: `.venv/bin/python benchmarks/scale_past_paging.py [--keys N]`.

N keys (default 25,000), all enabled (the hardest case: splitting by `enabled` does not
help), are seeded into the main account of an emulator in a child process with its default
limits, and declared exactly as they are, with no state: the plan must find every declared
key by name and adopt it (`N to import, 0 to add`), never offer to create one. Printed:
list requests against ceil(N/100), the wall time against ceil(N/100)/10 s, 429 answers,
the plan's notes on how it read the account, and the plan process's peak memory (target
under 300 MB). Then every key is adopted into state and the plan runs again, in the steady
state of a pull request (`No changes.`): the state's 25,000 entries make that the larger
footprint, so its peak memory is held to the same target.
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
    ratio,
    realistic_keys,
    run_plan,
    seed,
)

from infobip_iac.collector import tune_collector
from infobip_iac.logs import configure_logging

MEMORY_TARGET_MB = 300


def main() -> None:
    tune_collector()  # as the CLI does for every command (infobip_iac.collector)
    configure_logging("warning")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=25_000)
    count = parser.parse_args().keys
    label = f"{count // 1000}k one account" if count % 1000 == 0 else f"{count} keys"
    keys = realistic_keys(count)
    pages = list_floor(count)
    floor = floor_seconds(pages)
    header(f"{count:,} keys in one account, all enabled, emulator at 10 reads/s")
    with tempfile.TemporaryDirectory() as scratch:
        folder, state = Path(scratch) / "manifests", Path(scratch) / "state.json"
        folder.mkdir()
        declare(folder / "keys.yaml", "_", keys)
        with emulator_process() as (base_url, control):
            seed(control, keys, account_id=None)
            plan = run_plan(base_url, control, [str(folder), "--state", str(state)])
            adopt_all(base_url, folder, state)
            steady = run_plan(base_url, control, [str(folder), "--state", str(state)])
    expected = f"Plan: {count} to import, 0 to add, 0 to change, 0 to revoke."
    found = plan.exit_code == 0 and plan.summary().startswith(expected)
    print(
        f"{label}: every declared key found and adopted, none created: "
        f"{'yes' if found else 'NO'} ({plan.summary()})"
    )
    print(
        f"{label}: {plan.lists} requests (ceil(N/100) = {pages}; {plan.lists / pages:.1f}x, "
        f"the paging limit's price), wall {plan.wall:.1f} s, floor {floor:.1f} s "
        f"({ratio(plan.wall, floor)}), at 10/s its requests alone take "
        f"{floor_seconds(plan.lists):.1f} s ({ratio(plan.wall, floor_seconds(plan.lists))}), "
        f"{plan.throttled} x 429, CPU {plan.cpu:.1f} s"
    )
    print(
        f"{label}: peak memory {plan.peak_mb:.0f} MB (target < {MEMORY_TARGET_MB} MB): "
        f"{'met' if plan.peak_mb < MEMORY_TARGET_MB else 'MISSED'}"
    )
    settled = steady.exit_code == 0 and steady.summary().startswith("No changes")
    print(
        f"{label}, steady state ({count:,} keys in state): {steady.summary()!r}, "
        f"{steady.lists} requests, wall {steady.wall:.1f} s, CPU {steady.cpu:.1f} s, "
        f"{steady.throttled} x 429, peak memory {steady.peak_mb:.0f} MB "
        f"(target < {MEMORY_TARGET_MB} MB): "
        f"{'met' if steady.peak_mb < MEMORY_TARGET_MB else 'MISSED'}"
    )
    for line in plan.stderr.splitlines():
        if line.lstrip().startswith("note:"):
            print(f"{label}: {line.strip()}")
    if not found:
        raise SystemExit(f"the plan did not adopt every key: {plan.stderr[-2000:]}")
    if not settled:
        raise SystemExit(f"the steady-state plan was not empty: {steady.stderr[-2000:]}")


if __name__ == "__main__":
    main()

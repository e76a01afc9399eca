"""Benchmark: many accounts in one configuration (default 100 sub-accounts × 200 keys),
under Infobip's read limit counted per account and counted per caller.

Run: `.venv/bin/python benchmarks/scale_many_accounts.py [--accounts A] [--keys K]`.

Each sub-account is made through the emulator's control API, seeded with K keys, and
declared in a manifest of its own (`account: <id>`); every key is adopted into state first,
so the plans run in the steady state of a pull request. Printed, each with its floor:

1. `--limit-scope account` (the emulator's default): every account may read 10/s, so the
   rate floor is one account's ceil(K/100) requests at 10/s, about 0.2 s, with the accounts
   in parallel. That is below what this machine needs to move A × K keys at all, so the
   same reads against an emulator with its read limit lifted (and the client unpaced) are
   timed too, and the whole plan against it: the local floors. The plan's reads and the
   whole plan are each compared with the higher of the rate floor and their local floor
   (each the best of three runs: runs this short swing with the machine's load).
2. `--limit-scope caller`: one budget for all accounts, so the floor is the total list
   requests at 10/s (200 requests: 20 s). The client starts per account and must slow to
   the shared pace from the first 429 without failing.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from _support import (
    EmulatorControl,
    PlanRun,
    ReadRun,
    SeededKey,
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
    timed_read,
)

from infobip_iac.collector import tune_collector
from infobip_iac.logs import configure_logging


def populate(control: EmulatorControl, folder: Path, accounts: list[list[SeededKey]]) -> None:
    """A sub-account per key list, seeded and declared in `folder/<n>.yaml`."""
    for number, keys in enumerate(accounts):
        account_id = control.add_account(f"team-{number:03d}")
        seed(control, keys, account_id=account_id)
        declare(folder / f"team-{number:03d}.yaml", account_id, keys)


Timed = TypeVar("Timed", ReadRun, PlanRun)


def best(run: Callable[[], Timed], times: int = 3) -> Timed:
    """The fastest of `times` runs."""
    return min((run() for _ in range(times)), key=lambda done: done.wall)


def measure(
    base_url: str, control: EmulatorControl, folder: Path, state: Path, runs: int
) -> tuple[PlanRun, ReadRun]:
    """The best of `runs` whole plans (which must find nothing to do) and reads."""
    plan = best(lambda: run_plan(base_url, control, [str(folder), "--state", str(state)]), runs)
    if plan.exit_code != 0 or not plan.summary().startswith("No changes"):
        raise SystemExit(f"the plan was not empty: {plan.summary()!r} {plan.stderr}")
    return plan, best(lambda: timed_read(base_url, control, folder, state), runs)


def main() -> None:
    tune_collector()  # as the CLI does for every command (infobip_iac.collector)
    configure_logging("warning")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--keys", type=int, default=200)
    args = parser.parse_args()
    label = f"{args.accounts}x{args.keys}"
    accounts = [
        realistic_keys(args.keys, seed=n, prefix=f"t{n:03d}-") for n in range(args.accounts)
    ]
    requests = args.accounts * list_floor(args.keys)
    header(f"{args.accounts} accounts x {args.keys} keys, emulator at 10 reads/s")

    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "lifted"
        folder.mkdir()
        with emulator_process(read_rate=0) as (base_url, control):
            populate(control, folder, accounts)
            state = Path(scratch) / "lifted.json"
            adopt_all(base_url, folder, state)
            local = best(lambda: timed_read(base_url, control, folder, state, lifted=True))
            local_plan = best(
                lambda: run_plan(base_url, control, [str(folder), "--state", str(state)])
            )
        print(
            f"{label} read limit lifted: reads (client unpaced) {local.lists} requests, wall "
            f"{local.wall:.2f} s, CPU {local.cpu:.2f} s; whole plan wall {local_plan.wall:.1f} s, "
            f"CPU {local_plan.cpu:.1f} s: the local floors"
        )

        for scope in ("account", "caller"):
            folder, state = Path(scratch) / scope, Path(scratch) / f"{scope}.json"
            folder.mkdir()
            with emulator_process(limit_scope=scope) as (base_url, control):
                populate(control, folder, accounts)
                adopt_all(base_url, folder, state)
                # Runs of a second or two swing with the machine's load: under account
                # scope, each figure and its local floor is the best of three runs.
                plan, read = measure(
                    base_url, control, folder, state, 3 if scope == "account" else 1
                )
            if scope == "account":
                rate_floor = floor_seconds(list_floor(args.keys))
                floor = max(rate_floor, local.wall)
                plan_floor = max(rate_floor, local_plan.wall)
                what = f"floor {floor:.2f} s (rate {rate_floor:.1f} s, local {local.wall:.2f} s)"
                # Issue 7 states its 1.2x target against the rate floor alone: printed
                # too, so that nobody has to work out how far this machine is from it.
                plan_what = (
                    f"floor {plan_floor:.1f} s (rate {rate_floor:.1f} s, local "
                    f"{local_plan.wall:.1f} s), {ratio(plan.wall, plan_floor)}; against the "
                    f"rate floor alone {ratio(plan.wall, rate_floor)} (target 1.2x)"
                )
            else:
                floor = plan_floor = floor_seconds(requests)
                what = f"shared floor {floor:.1f} s ({requests} requests at 10/s)"
                plan_what = f"shared floor {floor:.1f} s, {ratio(plan.wall, plan_floor)}"
            print(
                f"{label} {scope} scope: reads {read.lists} requests, wall {read.wall:.2f} s, "
                f"{what}, {ratio(read.wall, floor)}, {read.throttled} x 429, "
                f"CPU {read.cpu:.2f} s"
            )
            print(
                f"{label} {scope} scope: plan {plan.lists} requests, wall {plan.wall:.1f} s, "
                f"{plan_what}, {plan.throttled} x 429, "
                f"CPU {plan.cpu:.1f} s, peak memory {plan.peak_mb:.0f} MB"
            )


if __name__ == "__main__":
    main()

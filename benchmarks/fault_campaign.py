"""Fault campaign: many runs of a random configuration change applied under random faults.

Run: `.venv/bin/python benchmarks/fault_campaign.py [--runs 1000] [--workers 2] [--first-seed 0]`.

Each run (tests/reliability/campaign.py) applies a random baseline configuration, changes
it, and applies the change under 1-3 random fault rules of the emulator (5xx, 429 with
Retry-After, delays beyond the client's timeout, dropped connections, writes that commit and
lose their answer; in a quarter of the runs also an answer whose headers trickle or whose
body is a decompression bomb) up to five times, then compares the emulator's keys, the state
and the sink files with the configuration. One run in five first meets a process fault
(tests/reliability/process_faults.py): an apply killed with SIGKILL mid-apply (`kill-9`), or
the lock files deleted under a running apply while a second one starts (`lock-deletion`);
both are counted under "faults fired". Runs are spread over worker processes, each with its own
emulator. Printed: the counts the acceptance of issue 6 names, the other checks, and the
seeds of any run that found a problem (rerun one with `--first-seed S --runs 1 -v`).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from reliability.campaign import (
    FAULT_SETS,
    CampaignTotals,
    RunReport,
    campaign_environment,
    run_once,
)

from infobip_iac.emulator import EmulatorServer


def run_seeds(seeds: list[int], faults: str = "random") -> list[RunReport]:
    """The runs of `seeds` in this process, against one emulator of its own."""
    reports = []
    with (
        tempfile.TemporaryDirectory(prefix="infobip-iac-campaign-") as folder,
        EmulatorServer(read_rate=0) as emulator,
        campaign_environment(emulator),
    ):
        for seed in seeds:
            reports.append(run_once(emulator, seed, Path(folder) / "run", faults=faults))
    return reports


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--chunk", type=int, default=25, help="runs per task")
    parser.add_argument("-v", "--verbose", action="store_true", help="describe every run")
    parser.add_argument(
        "--faults",
        choices=FAULT_SETS,
        default="random",
        help="random rules per seed, or 35 %% 500s and 35 %% 429s on every create",
    )
    args = parser.parse_args()

    seeds = list(range(args.first_seed, args.first_seed + args.runs))
    chunks = [seeds[i : i + args.chunk] for i in range(0, len(seeds), args.chunk)]
    totals = CampaignTotals()
    failed: list[RunReport] = []
    started = time.monotonic()
    with ProcessPoolExecutor(max_workers=max(1, args.workers)) as pool:
        for done in as_completed([pool.submit(run_seeds, chunk, args.faults) for chunk in chunks]):
            for report in done.result():
                totals.add(report)
                if report.problems:
                    failed.append(report)
                if args.verbose:
                    print(report.describe(), flush=True)
            print(
                f"  {totals.runs}/{len(seeds)} runs, {time.monotonic() - started:.0f}s",
                file=sys.stderr,
                flush=True,
            )
    wall = time.monotonic() - started

    print(f"fault campaign: {totals.runs} runs (seeds {seeds[0]}-{seeds[-1]})")
    print(f"  duplicate keys:                               {totals.duplicates}")
    print(
        f"  undeclared keys left enabled that were in state: {totals.undeclared_enabled_in_state}"
    )
    print(f"  unreported lost secrets:                      {totals.unreported_lost_secrets}")
    print(f"  unreadable state files:                       {totals.unreadable_states}")
    print(f"  runs not converged within 5 applies:          {totals.not_converged}")
    print(f"  declared keys missing or not as declared:     {totals.missing_or_wrong}")
    print(f"  state entries that disagree with live:        {totals.state_mismatches}")
    print(f"  secrets found outside their sinks:            {totals.leaks}")
    print(f"  crashes (tracebacks, unexpected exit codes):  {totals.crashes}")
    print(f"  lost secrets, reported as such:               {totals.reported_lost_secrets}")
    fired = ", ".join(f"{kind} {count}" for kind, count in sorted(totals.fired.items()))
    print(f"  faults fired: {fired or 'none'}")
    runs = max(totals.runs, 1)
    print(
        f"  applies: {totals.applies} ({totals.applies / runs:.2f} a run); wall {wall:.0f}s "
        f"with {args.workers} worker(s), {totals.seconds / runs:.2f}s a run"
    )
    for report in failed[:20]:
        print(report.describe())
    if failed:
        print(f"seeds with problems: {sorted(r.seed for r in failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

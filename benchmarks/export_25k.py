"""Benchmark: `infobip-iac export` of an account of 25,000 keys, and what follows it.

Run: `.venv/bin/python benchmarks/export_25k.py [--keys N]`.

The emulator runs in a child process with Infobip's read limit (10 reads/s per account), so
the export's read floor is ceil(N/100) list requests, ceil(N/100)/10 s. N keys are seeded;
then, each as its own process, with wall time, CPU time and peak memory:

1. `export --out DIR` (the read, the manifest written);
2. `validate DIR` (the exported manifest is valid);
3. `plan DIR --detailed-exitcode` (every key an import, nothing to create, change or revoke).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from _support import (
    PlanRun,
    emulator_process,
    floor_seconds,
    header,
    list_floor,
    realistic_keys,
    run_command,
    seed,
)

from infobip_iac.logs import configure_logging


def _line(label: str, run: PlanRun) -> str:
    return (
        f"{label:<9} exit {run.exit_code}  wall {run.wall:6.1f} s  cpu {run.cpu:6.1f} s  "
        f"peak {run.peak_mb:6.0f} MB  lists {run.lists}"
    )


def main() -> None:
    configure_logging("warning")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=25_000)
    count = parser.parse_args().keys
    header(f"export of {count:,} keys in one account, emulator at 10 reads/s")
    pages = list_floor(count)
    print(f"read floor: {pages} list requests, {floor_seconds(pages):.1f} s")
    with tempfile.TemporaryDirectory() as scratch:
        folder, state = Path(scratch) / "exported", Path(scratch) / "state.json"
        with emulator_process() as (base_url, control):
            seed(control, realistic_keys(count), account_id=None)
            time.sleep(1.5)  # the read buckets fill again: the timed export starts fresh
            export = run_command(
                base_url, control, ["export", "--out", str(folder), "--state", str(state)]
            )
            print(_line("export", export))
            if export.exit_code:
                raise SystemExit(export.stderr[-2000:])
            size = (folder / "exported-keys.yaml").stat().st_size
            print(f"          manifest {size / 1e6:.1f} MB: {export.stdout.strip()[:120]}")
            validate = run_command(base_url, control, ["validate", str(folder)])
            print(_line("validate", validate))
            time.sleep(1.5)
            plan = run_command(
                base_url,
                control,
                ["plan", "--no-color", str(folder), "--state", str(state), "--detailed-exitcode"],
            )
            print(_line("plan", plan))
            print(f"          {plan.summary()}")


if __name__ == "__main__":
    main()

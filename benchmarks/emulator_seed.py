"""Benchmark of the emulator at Infobip's scale: seeding 20,000 keys through the control API
(target under 10 s) and the median time of a 100-key page read from a 20,000-key account
(target under 50 ms). Run: `.venv/bin/python benchmarks/emulator_seed.py [--data]`."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from infobip_iac.emulator import EmulatorServer

KEYS = 20_000
PAGE_READS = 50
SEED_TARGET_S = 10.0
PAGE_TARGET_MS = 50.0


def measure(data_path: Path | None) -> tuple[float, float]:
    keys = [
        {"name": f"key-{i:05d}", "scopeGuids": ["sms:message:send"], "allowedIPs": ["10.0.0.0/8"]}
        for i in range(KEYS)
    ]
    with (
        EmulatorServer(data_path=data_path, read_rate=0, write_limit=0) as server,
        httpx.Client(base_url=server.base_url, auth=("admin", "admin"), timeout=120) as api,
    ):
        started = time.perf_counter()
        ids = server.control.seed(keys)
        seed_s = time.perf_counter() - started
        assert len(ids) == KEYS
        timings = []
        for read in range(PAGE_READS):
            # Spread over the account (pages 0..100 reach 10,100 keys, the most one filter can).
            page = (read * 7) % 101
            started = time.perf_counter()
            answer = api.get("/settings/2/api-keys", params={"page": page, "size": 100})
            timings.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200
            assert len(answer.json()["apiKeys"]) == 100
            assert answer.json()["paging"]["totalCount"] == KEYS
        return seed_s, statistics.median(timings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--data", action="store_true", help="also persist to a data file (as --emulator does)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data_path = Path(folder) / "emulator.json" if args.data else None
        seed_s, page_ms = measure(data_path)
    where = "with a data file" if args.data else "in memory"
    print(f"seed {KEYS} keys ({where}): {seed_s:.2f} s (target < {SEED_TARGET_S:.0f} s)")
    print(
        f"100-key page from a {KEYS}-key account, median of {PAGE_READS}: "
        f"{page_ms:.1f} ms (target < {PAGE_TARGET_MS:.0f} ms)"
    )
    return 0 if seed_s < SEED_TARGET_S and page_ms < PAGE_TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: the Infobip client reading one large account from the emulator over HTTP.

Run: `.venv/bin/python benchmarks/client_listing.py [--keys N] [--paced-keys M]`.

1. N keys (default 10,000) with the emulator's read limit lifted: list requests made (from
   `GET /_emulator/stats`), wall time, the client's CPU time (the emulator runs in this
   process too, so this counts both sides' Python), and the peak memory of the listing.
2. The client's own CPU share: decoding N keys' worth of list answers, without HTTP.
3. M keys (default 1,500) under the default 10 reads/s: wall time against the floor
   ceil(M/100)/10 s, and the number of 429 answers (should be 0).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import time
import tracemalloc

from infobip_iac.domain.secret import Secret
from infobip_iac.emulator import EmulatorServer
from infobip_iac.infobip.client import InfobipClient
from infobip_iac.infobip.pacing import ReadBudget
from infobip_iac.infobip.settings import UserCredentials
from infobip_iac.infobip.wire import page_from_wire
from infobip_iac.logs import configure_logging

ADMIN = UserCredentials("admin", Secret("admin"))
LIST = "GET /settings/2/api-keys"


def _seed(server: EmulatorServer, count: int) -> None:
    batch = 5_000
    for start in range(0, count, batch):
        server.control.seed(
            [
                {
                    "name": f"key-{i}",
                    "allowedIPs": ["198.51.100.7", "203.0.113.0/24"],
                    "scopeGuids": ["sms:message:send", "sms:logs:read"],
                }
                for i in range(start, min(start + batch, count))
            ]
        )


def unlimited(count: int) -> None:
    with EmulatorServer(read_rate=0) as server:
        _seed(server, count)
        with InfobipClient(
            base_url=server.base_url, credentials=ADMIN, budget=ReadBudget(10_000.0)
        ) as client:
            gc.collect()
            wall, cpu = time.perf_counter(), time.process_time()
            result = client.list_keys("_")
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            requests = server.control.stats()["requests"].get(LIST, 0)
            # Memory in a second run: tracing allocations would slow the timed one.
            del result
            gc.collect()
            tracemalloc.start()
            result = client.list_keys("_")
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    print(f"[unlimited] {count:,} keys: {len(result.keys):,} read")
    print(f"  list requests : {requests} (expected ceil(N/100) = {math.ceil(count / 100)})")
    print(f"  wall time     : {wall:.2f} s")
    print(f"  CPU time      : {cpu:.2f} s (client and in-process emulator together)")
    print(f"  peak memory   : {peak / 1e6:.1f} MB (Python allocations during a second listing)")


def decoding(count: int) -> None:
    """The client's own share: turning list answers into LiveKeys, without HTTP."""
    pages = [
        {
            "apiKeys": [
                {
                    "id": f"{i:032X}",
                    "apiKeySecret": "not-a-real-secret",
                    "accountId": "8F0792F86035A9F4290821F1EE6BC06A",
                    "name": f"key-{i}",
                    "allowedIPs": ["198.51.100.7", "203.0.113.0/24"],
                    "validFrom": "2026-11-25T08:00:00Z",
                    "validTo": "2027-11-25T08:00:00Z",
                    "enabled": True,
                    "permissions": ["PUBLIC_API"],
                    "scopeGuids": ["sms:message:send", "sms:logs:read"],
                }
                for i in range(start, min(start + 100, count))
            ],
            "paging": {"totalCount": count, "totalPages": math.ceil(count / 100)},
        }
        for start in range(0, count, 100)
    ]
    bodies = [json.dumps(page).encode() for page in pages]
    cpu = time.process_time()
    keys = sum(
        len(page_from_wire(json.loads(body), operation="list API keys").keys) for body in bodies
    )
    cpu = time.process_time() - cpu
    print(f"[decoding] {keys:,} keys from {len(bodies)} JSON pages: {cpu:.3f} s CPU")


def paced(count: int) -> None:
    with EmulatorServer() as server:
        _seed(server, count)
        with InfobipClient(base_url=server.base_url, credentials=ADMIN) as client:
            wall = time.perf_counter()
            result = client.list_keys("_")
            wall = time.perf_counter() - wall
        stats = server.control.stats()
    pages = math.ceil(count / 100)
    print(f"[10 reads/s] {count:,} keys: {len(result.keys):,} read in {pages} requests")
    print(f"  wall time     : {wall:.2f} s (floor ceil(N/100)/10 = {pages / 10:.2f} s)")
    print(f"  429 answers   : {stats['statuses'].get('429', 0)}")


def main() -> None:
    configure_logging("warning")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--paced-keys", type=int, default=1_500)
    args = parser.parse_args()
    unlimited(args.keys)
    decoding(args.keys)
    paced(args.paced_keys)


if __name__ == "__main__":
    main()

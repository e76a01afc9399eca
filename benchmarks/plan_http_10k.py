"""Benchmark: `infobip-iac plan` of 10,000 declared keys in one account, over HTTP.

Run: `.venv/bin/python benchmarks/plan_http_10k.py [--keys N] [--runs R]`.

The emulator runs in a child process with its read limit lifted, so this process holds only
the tool. 10,000 keys are seeded and adopted into state (no writes). Printed:

1. the whole `plan` command as a user runs it (in-process `main`): list requests made
   (from `GET /_emulator/stats`), wall time, and the floor that the client's own pacing
   under Infobip's 10 reads/s puts under it;
2. for a steady state (manifest = live) and for half the keys changed: the local CPU time
   of validate, plan and render (text), alone and summed (target < 1.0 s), and the read
   with the client's pacing lifted. Each case runs R times (default 3); the median is
   judged, the best shown beside it (CPU time still moves with what else the machine does);
3. the process's peak memory (target < 250 MB).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from _support import adopt_all

from infobip_iac.cli.main import main
from infobip_iac.collector import tune_collector
from infobip_iac.domain.secret import Secret
from infobip_iac.emulator import EmulatorControl
from infobip_iac.engine.plan import make_plan
from infobip_iac.engine.refresh import read_live_keys
from infobip_iac.infobip.client import InfobipClient
from infobip_iac.infobip.pacing import ReadBudget
from infobip_iac.infobip.settings import UserCredentials
from infobip_iac.logs import configure_logging
from infobip_iac.manifest import load_or_raise
from infobip_iac.render.text import render_text
from infobip_iac.state.store import StateStore

LIST = "GET /settings/2/api-keys"
SCOPES = ["sms:message:send", "sms:logs:read", "2fa:pin:send"]


@contextlib.contextmanager
def emulator_process() -> Iterator[str]:
    """An emulator in a child process, reads unthrottled; yields its base URL."""
    child = subprocess.Popen(
        [sys.executable, "-m", "infobip_iac", "emulator", "--port", "0", "--read-rate", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline().strip()
        if not line.startswith("listening on "):
            raise RuntimeError(f"the emulator did not start: {line!r}")
        yield line.removeprefix("listening on ")
    finally:
        child.terminate()
        child.wait(timeout=30)


def _live_fields(i: int) -> tuple[list[str], list[str]]:
    return SCOPES[: 1 + i % 3], [f"10.{i % 250}.{i // 250 % 250}.0/24"]


def seed(control: EmulatorControl, count: int) -> None:
    batch = 5_000
    for start in range(0, count, batch):
        keys = []
        for i in range(start, min(start + batch, count)):
            scopes, ips = _live_fields(i)
            keys.append(
                {
                    "name": f"key-{i:05d}",
                    "scopeGuids": scopes,
                    "allowedIPs": ips,
                    "validFrom": "2026-01-01T00:00:00Z",
                    "validTo": "2030-01-01T00:00:00Z",
                }
            )
        control.seed(keys)


def declare(folder: Path, count: int, *, differing: bool) -> None:
    """The manifest of every live key; with `differing`, every other key differs from live
    in one attribute (an extra scope, an extra IP range, or its name)."""
    lines = ["version: 1", "api_keys:"]
    for i in range(count):
        scopes, ips = _live_fields(i)
        lines.append(f"  key-{i:05d}:")
        if differing and i % 2:
            match i // 2 % 3:
                case 0:
                    scopes = [*scopes, "email:message:send"]
                case 1:
                    ips = [*ips, "192.0.2.7"]
                case _:
                    lines.append(f"    name: key-{i:05d}-v2")
        lines += [
            f"    scopes: [{', '.join(scopes)}]",
            f"    allowed_ips: [{', '.join(ips)}]",
            "    valid_from: 2026-01-01",
            "    valid_to: 2030-01-01",
        ]
    (folder / "keys.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _client(base_url: str, *, paced: bool) -> InfobipClient:
    return InfobipClient(
        base_url=base_url,
        credentials=UserCredentials("admin", Secret("admin")),
        budget=None if paced else ReadBudget(rate=1_000_000.0),
    )


def whole_command(base_url: str, control: EmulatorControl, folder: Path) -> tuple[int, float]:
    os.environ.update(INFOBIP_BASE_URL=base_url, INFOBIP_USERNAME="admin", INFOBIP_PASSWORD="admin")
    before = control.stats()["requests"]
    started = time.perf_counter()
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        code = main(["plan", str(folder), "--state", str(folder / "state.json")])
    wall = time.perf_counter() - started
    if code != 0:
        raise RuntimeError(f"plan exited {code}")
    after = control.stats()["requests"]
    made = {op: n - before.get(op, 0) for op, n in after.items() if n - before.get(op, 0)}
    if set(made) != {LIST}:
        raise RuntimeError(f"plan made other requests than listings: {made}")
    return made[LIST], wall


def local_cpu(base_url: str, folder: Path) -> dict[str, float]:
    """Validate, read (HTTP, client pacing lifted), plan and render, each timed alone.
    Each phase starts after a full collection, so that none pays for an earlier one's."""
    figures: dict[str, float] = {}
    gc.collect()
    cpu = time.process_time()
    config, _ = load_or_raise([folder])
    figures["validate"] = time.process_time() - cpu
    state = StateStore(folder / "state.json").read()
    with _client(base_url, paced=False) as client:
        wall = time.perf_counter()
        cpu = time.process_time()
        live = read_live_keys(client, config, state)
        figures["read CPU"] = time.process_time() - cpu
        figures["read wall"] = time.perf_counter() - wall
        now = client.server_time()
    gc.collect()
    cpu = time.process_time()
    plan = make_plan(config, state, live, now=now)
    figures["plan"] = time.process_time() - cpu
    gc.collect()
    cpu = time.process_time()
    text = render_text(plan)
    figures["render (text)"] = time.process_time() - cpu
    figures["changes"] = sum(1 for c in plan.changes if c.action.value != "no-op")
    figures["text bytes"] = len(text)
    return figures


LOCAL_PHASES = ("validate", "plan", "render (text)")
TARGET_CPU = 1.0


def report(title: str, runs: list[dict[str, float]]) -> float:
    """Print one case (median and best of its runs); returns the median local CPU."""
    for figures in runs:
        figures["local"] = sum(figures[name] for name in LOCAL_PHASES)
    first = runs[0]
    print(
        f"\n{title}: {int(first['changes']):,} changes, "
        f"{int(first['text bytes']):,} bytes of text; {len(runs)} runs, median (best)"
    )
    for name in LOCAL_PHASES:
        values = [figures[name] for figures in runs]
        print(f"   {name:<21} {statistics.median(values):>7.3f} s CPU ({min(values):.3f})")
    local = [figures["local"] for figures in runs]
    median = statistics.median(local)
    verdict = "ok" if median < TARGET_CPU else f"over the target by {median - TARGET_CPU:.3f} s"
    print(
        f"   validate+plan+render  {median:>7.3f} s CPU ({min(local):.3f}) "
        f"(target < {TARGET_CPU} s: {verdict})"
    )
    print(
        f"   read, pacing lifted   {statistics.median(f['read wall'] for f in runs):>7.2f} s "
        f"wall, {statistics.median(f['read CPU'] for f in runs):.2f} s CPU"
    )
    return median


def run(count: int, runs: int) -> None:
    configure_logging("warning")
    with tempfile.TemporaryDirectory() as tmp, emulator_process() as base_url:
        folder = Path(tmp)
        control = EmulatorControl(base_url)
        seed(control, count)
        declare(folder, count, differing=False)
        adopt_all(base_url, folder, folder / "state.json", lifted=True)
        print(f"{count:,} declared keys, all in state; {count:,} live keys in one account")
        print("(emulator in a child process, its read limit lifted; CPU times on one core)")

        requests, wall = whole_command(base_url, control, folder)
        pages = math.ceil(count / 100)
        floor = pages / (10 * 0.95)
        print("\n`infobip-iac plan`, as run by a user (default client pacing, 10 reads/s)")
        print(
            f"   list requests         {requests:>7}   "
            f"(ceil({count}/100) = {pages}; no other request)"
        )
        print(
            f"   wall time             {wall:>7.2f} s (pacing floor at 9.5 reads/s: {floor:.1f} s)"
        )

        steady = report(
            "Steady state (manifest = live)",
            [local_cpu(base_url, folder) for _ in range(runs)],
        )
        declare(folder, count, differing=True)
        changed = report(
            "Half the keys changed", [local_cpu(base_url, folder) for _ in range(runs)]
        )

        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        verdict = "ok" if peak_mb < 250 else "over the target"
        print(f"\npeak memory (RSS of this process): {peak_mb:.1f} MB (target < 250 MB: {verdict})")
        print(
            f"local CPU of validate+plan+render, median: {steady:.3f} s steady, "
            f"{changed:.3f} s with half the keys changed (target < {TARGET_CPU} s each)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3, help="runs of each case (median judged)")
    arguments = parser.parse_args()
    tune_collector()  # as the CLI does for every command (infobip_iac.collector)
    run(arguments.keys, max(1, arguments.runs))

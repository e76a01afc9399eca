"""Benchmark: `infobip-iac plan` of 10,000 declared keys in one account, over HTTP.

Run: `.venv/bin/python benchmarks/plan_http_10k.py [--keys N] [--runs R]`.

The emulator runs in a child process with its read limit lifted, so this process holds only
the tool. 10,000 keys are seeded and adopted into state (no writes). Printed:

1. the whole `plan` command as a user runs it: the console script beside this interpreter
   in a process of its own, R times. Its CPU time (user + sys, from `os.wait4`, so
   interpreter start and imports included; target <= 1.2 s), its wall time against the read
   floor (ceil(keys/100) list requests at 10 reads/s; target <= 1.15x), its peak RSS
   (`ru_maxrss`) and the list requests it made (from `GET /_emulator/stats`). On Linux a
   child's `ru_maxrss` is at least its parent's size when it was started, so the keys are
   adopted into state by a child process too and this process stays small until then;
   its own peak is printed beside the figure;
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
from dataclasses import dataclass
from pathlib import Path

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


def cli() -> Path:
    """The installed console script, as a user runs it."""
    return Path(sys.executable).parent / "infobip-iac"


def adopt_in_child(base_url: str, folder: Path) -> None:
    """`adopt_all` in a process of its own, so that this one stays smaller than the plan
    processes it measures (see the docstring on `ru_maxrss`)."""
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from _support import adopt_all; "
            "from infobip_iac.logs import configure_logging; configure_logging('warning'); "
            "adopt_all(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[2]) / 'state.json', "
            "lifted=True)",
            base_url,
            str(folder),
        ],
        cwd=Path(__file__).parent,
        check=True,
        timeout=3600,
    )


@dataclass(frozen=True)
class WholeRun:
    """One `infobip-iac plan` in a process of its own."""

    lists: int
    wall: float
    cpu: float  # user + sys of that process alone, interpreter start and imports included
    peak_mb: float  # its ru_maxrss


def whole_command(base_url: str, control: EmulatorControl, folder: Path) -> WholeRun:
    env = {
        **os.environ,
        "INFOBIP_BASE_URL": base_url,
        "INFOBIP_USERNAME": "admin",
        "INFOBIP_PASSWORD": "admin",
    }
    before = control.stats()["requests"]
    command = [str(cli()), "plan", str(folder), "--state", str(folder / "state.json")]
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as errors:
        child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        # wait4 gives this child's own rusage, not the sum over every child (the emulator's
        # included once it exits) that RUSAGE_CHILDREN would give.
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            errors.seek(0)
            raise RuntimeError(f"plan exited {child.returncode}: {errors.read()[-2000:]}")
    after = control.stats()["requests"]
    made = {op: n - before.get(op, 0) for op, n in after.items() if n - before.get(op, 0)}
    if set(made) != {LIST}:
        raise RuntimeError(f"plan made other requests than listings: {made}")
    return WholeRun(made[LIST], wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


TARGET_PROCESS_CPU = 1.2
TARGET_WALL_RATIO = 1.15


def report_whole(runs: list[WholeRun], count: int) -> None:
    pages = math.ceil(count / 100)
    floor = pages / 10
    cpu = [r.cpu for r in runs]
    wall = [r.wall for r in runs]
    peak = [r.peak_mb for r in runs]
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu_verdict = "ok" if statistics.median(cpu) <= TARGET_PROCESS_CPU else "over"
    wall_ratio = statistics.median(wall) / floor
    wall_verdict = "ok" if wall_ratio <= TARGET_WALL_RATIO else "over"
    print(
        f"\n`infobip-iac plan`, the console script in a process of its own (default client "
        f"pacing, 10 reads/s); {len(runs)} runs, median (best)"
    )
    print(
        f"   list requests         {runs[0].lists:>7}   "
        f"(ceil({count}/100) = {pages}; no other request)"
    )
    print(
        f"   process CPU           {statistics.median(cpu):>7.3f} s ({min(cpu):.3f}) "
        f"(target <= {TARGET_PROCESS_CPU} s: {cpu_verdict})"
    )
    print(
        f"   wall time             {statistics.median(wall):>7.2f} s ({min(wall):.2f}) "
        f"= {wall_ratio:.3f}x the read floor of {floor:.1f} s "
        f"(target <= {TARGET_WALL_RATIO}x: {wall_verdict})"
    )
    print(
        f"   peak RSS              {statistics.median(peak):>7.1f} MB ({min(peak):.1f}) "
        f"(this process: {own:.1f} MB, a floor under the figure)"
    )


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
        adopt_in_child(base_url, folder)
        print(f"{count:,} declared keys, all in state; {count:,} live keys in one account")
        print("(emulator in a child process, its read limit lifted; CPU times on one core)")

        report_whole([whole_command(base_url, control, folder) for _ in range(runs)], count)

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

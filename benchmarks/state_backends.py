"""Benchmark: the state backends, the file and PostgreSQL, side by side.

Run: `.venv/bin/python benchmarks/state_backends.py [--pg URL] [--parts rw,creates,plan]
[--with-before]`
(URL defaults to INFOBIP_IAC_TEST_PG, else postgresql://postgres@127.0.0.1:5432/test; the
benchmark works in a schema of its own and drops it). Prints:

1. a full write and a read of a state of 25,000 keys, per backend;
2. 40 creates applied with 10,000 and with 25,000 keys in state, per backend: wall and
   CPU time of the apply (the emulator in a child process, write limit lifted), next to the
   way every version before this one saved the state (the whole state written after each
   step, twice per create);
3. `plan` of 10,000 keys as a user runs it (its own process, the emulator at 10 reads/s),
   with the state in a file and in PostgreSQL, alternately, five times each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from _support import (
    adopt_all,
    client,
    declare,
    emulator_process,
    header,
    realistic_keys,
    run_plan,
    seed,
)

from infobip_iac.collector import tune_collector
from infobip_iac.domain.keys import DesiredConfig, DesiredKey
from infobip_iac.engine.apply import ApplyOptions, apply_plan
from infobip_iac.engine.plan import make_plan
from infobip_iac.infobip.api import AccountKeys
from infobip_iac.logs import configure_logging
from infobip_iac.state.backend import Store, open_backend
from infobip_iac.state.model import ResourceState, StateDocument
from infobip_iac.state.store import StateStore

CREATES = 40
SCOPES = ["sms:message:send", "sms:logs:read", "2fa:pin:send"]


def big_state(count: int) -> StateDocument:
    """`count` managed keys as apply records them (attributes of a live key, a file sink)."""
    now = datetime(2026, 12, 1, tzinfo=UTC)
    resources = {}
    for i in range(count):
        name = f"team-{i % 8}-key-{i:05d}"
        resources[f"api_keys.{name}"] = ResourceState.model_validate(
            {
                "id": f"{i:032X}",
                "account": "_",
                "account_id": "8F0792F86035A9F4290821F1EE6BC06A",
                "name": name,
                "attributes": {
                    "name": name,
                    "scopes": SCOPES[: 1 + i % 3],
                    "permissions": ["PUBLIC_API"],
                    "allowed_ips": [f"10.{i % 250}.{i // 250 % 250}.0/24", "198.51.100.7/32"],
                    "valid_from": (now - timedelta(days=i % 700)).isoformat(),
                    "valid_to": (now + timedelta(days=900)).isoformat(),
                    "enabled": True,
                },
                "secret": {
                    "sink": "file",
                    "status": "delivered",
                    "location": f"secrets/api_keys.{name}.env",
                    "files_written": [f"secrets/api_keys.{name}.env"],
                },
            }
        )
    return StateDocument(resources=resources)


class _WholeStateEachStep(StateStore):
    """How the state was saved before: every step rewrote (and fsynced) the whole file."""

    def record(self, doc: StateDocument, addresses: Iterable[str]) -> StateDocument:
        return self.write(doc)


def timed(step: Callable[[], Any]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    step()
    return time.perf_counter() - wall, time.process_time() - cpu


@contextmanager
def pg_schema(admin: str) -> Iterator[Callable[[str], str]]:
    """URLs of states in a schema of this run's own, dropped at the end."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    joiner = "&" if "?" in admin else "?"
    try:
        yield lambda name: f"{admin}{joiner}name={name}&schema={schema}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')  # type: ignore[arg-type]


def read_and_write(scratch: Path, url: Callable[[str], str]) -> None:
    doc = big_state(25_000)
    print("\n## state of 25,000 keys: one full write, one read")
    for label, where in (("file", str(scratch / "rw.json")), ("postgresql", url("rw"))):
        with open_backend(where) as backend:
            wall_w, cpu_w = timed(lambda b=backend: b.store.write(doc))
            wall_r, cpu_r = timed(lambda b=backend: b.store.read())
        print(
            f"{label:<11} write {wall_w:6.2f} s wall {cpu_w:6.2f} s CPU   "
            f"read {wall_r:6.2f} s wall {cpu_r:6.2f} s CPU"
        )


def creates(scratch: Path, url: Callable[[str], str], base_url: str, *, with_before: bool) -> None:
    print(f"\n## {CREATES} creates applied, per backend (wall / CPU of the whole apply)")
    desired = {
        f"api_keys.new-{i:02d}": DesiredKey(
            address=f"api_keys.new-{i:02d}",
            ident=f"new-{i:02d}",
            name=f"bench new {uuid.uuid4().hex[:8]} {i:02d}",
            scopes=frozenset(SCOPES[:1]),
        )
        for i in range(CREATES)
    }
    for count in (10_000, 25_000):
        state = big_state(count)
        if with_before:
            old = _WholeStateEachStep(scratch / f"old{count}.json")
            _apply_creates(
                "file, before (whole state each step)", count, old, state, desired, base_url
            )
        new = StateStore(scratch / f"new{count}.json")
        _apply_creates("file", count, new, state, desired, base_url)
        with open_backend(url(f"creates{count}")) as backend:
            _apply_creates("postgresql", count, backend.store, state, desired, base_url)


def _apply_creates(
    label: str,
    count: int,
    store: Store,
    state: StateDocument,
    desired: dict[str, DesiredKey],
    base_url: str,
) -> None:
    stored = store.write(state)
    # Names unique per run, so each apply creates all of them.
    config = DesiredConfig(
        keys={a: replace(k, name=f"{k.name} {uuid.uuid4().hex[:6]}") for a, k in desired.items()}
    )
    with client(base_url) as service:
        plan = make_plan(
            config,
            StateDocument(),
            {"_": AccountKeys(account="_", keys=[], requests=0)},
            now=service.server_time(),
        )
        result: list[Any] = []
        wall, cpu = timed(
            lambda: result.append(
                apply_plan(
                    plan,
                    service=service,
                    store=store,
                    state=stored,
                    options=ApplyOptions(),
                    events=lambda event: None,
                )
            )
        )
    if result[0].created != CREATES:
        raise RuntimeError(f"the apply did not create {CREATES} keys: {result[0]}")
    after = store.read()
    assert len(after.resources) == count + CREATES
    print(
        f"{count:>6} keys in state  {label:<38} {wall:7.2f} s wall {cpu:7.2f} s CPU "
        f"({cpu / CREATES:.3f} s CPU per create)"
    )


def plan_side_by_side(scratch: Path, url: Callable[[str], str], runs: int) -> None:
    print(f"\n## plan of 10,000 keys (own process, emulator at 10 reads/s), {runs} runs each")
    keys = realistic_keys(10_000)
    folder = scratch / "manifests"
    folder.mkdir()
    declare(folder / "keys.yaml", "_", keys)
    file_state = scratch / "plan-state.json"
    database = url("plan")
    with emulator_process() as (base_url, control):
        seed(control, keys, account_id=None)
        adopt_all(base_url, folder, file_state)
        with open_backend(database) as backend:
            backend.store.push(StateStore(file_state).read())
        walls: dict[str, list[float]] = {"file": [], "postgresql": []}
        both = [("file", str(file_state)), ("postgresql", database)]
        for round_number in range(runs):
            # ABBA order: load that grows or falls during the runs hits both alike.
            for label, where in both if round_number % 2 == 0 else both[::-1]:
                run = run_plan(base_url, control, [str(folder), "--state", where])
                if run.exit_code != 0 or "No changes." not in run.stdout:
                    raise RuntimeError(f"the plan failed: {run.stderr[-2000:]}")
                walls[label].append(run.wall)
                time.sleep(1.5)  # the read buckets fill again: each run starts fresh
    for label, values in walls.items():
        print(
            f"{label:<11} "
            + "  ".join(f"{v:6.2f} s" for v in values)
            + f"   median {statistics.median(values):6.2f} s, best {min(values):6.2f} s"
        )
    ratio = statistics.median(walls["postgresql"]) / statistics.median(walls["file"])
    best = min(walls["postgresql"]) / min(walls["file"])
    print(f"postgresql / file: {ratio:.3f}x of the medians, {best:.3f}x of the best runs")
    print(
        "(target: at most 1.05x; the runs alternate in ABBA order: load from elsewhere hits both)"
    )


def main() -> None:
    tune_collector()  # as the CLI does for every command (infobip_iac.collector)
    configure_logging("warning")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("INFOBIP_IAC_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--pg", default=default, help="a database to work in (own schema)")
    parser.add_argument(
        "--parts",
        default="rw,creates,plan",
        help="which of rw (read/write), creates, plan to run (comma-separated)",
    )
    parser.add_argument(
        "--with-before",
        action="store_true",
        help="also apply the creates the way versions before this one saved the state "
        "(minutes: the whole state twice per create)",
    )
    parser.add_argument("--plan-runs", type=int, default=5, help="plans per backend")
    arguments = parser.parse_args()
    parts = set(arguments.parts.split(","))
    header("state backends: file and PostgreSQL")
    with tempfile.TemporaryDirectory() as folder, pg_schema(arguments.pg) as url:
        scratch = Path(folder)
        if "rw" in parts:
            read_and_write(scratch, url)
        if "creates" in parts:
            with emulator_process(write_limit=0) as (base_url, _):
                creates(scratch, url, base_url, with_before=arguments.with_before)
        if "plan" in parts:
            plan_side_by_side(scratch, url, arguments.plan_runs)


if __name__ == "__main__":
    main()

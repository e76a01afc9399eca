"""How long `validate` takes on a 10,000-key manifest (target: under 2 s on one core).

Writes a realistic configuration to a temporary folder (a shared file with defaults, scope
sets and policy, and 10,000 keys in block style with scopes, scope sets, allowed IPs,
validity, secrets and lifecycle), then times the whole manifest pipeline: read, parse,
validate, resolve, rules, policy and lint. Pinned to one core where the OS allows it.

    .venv/bin/python benchmarks/validate_10k.py [--keys N] [--runs R]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from infobip_iac.collector import tune_collector
from infobip_iac.manifest import load_configuration

SHARED = """\
version: 1
defaults:
  allowed_ips: [203.0.113.0/24, "2001:db8::/48"]
  valid_for: 180d
  secret: {sink: file, path: "secrets/{address}.env"}
scope_sets:
  sms-sender: [sms:message:send, sms:logs:read]
  email-sender: [email:message:send, email:logs:read]
policy:
  max_validity: 365d
  require_allowed_ips: true
  forbid_any_ip: true
  forbidden_scopes: [account-management:manage]
"""

_SCOPES = ("2fa:pin:send", "whatsapp:message:send", "number-lookup:send", "viber-bm:logs:read")


def key_block(index: int) -> str:
    lines = [
        f"  team-key-{index:05d}:",
        f"    name: Team key {index:05d}",
        f"    scopes: [{_SCOPES[index % len(_SCOPES)]}, {_SCOPES[(index + 1) % len(_SCOPES)]}]",
        f"    scope_sets: [{'sms-sender' if index % 2 else 'email-sender'}]",
    ]
    if index % 3 == 0:
        lines.append(f"    allowed_ips: [198.51.{index % 250}.{index % 200}, 192.0.2.0/24]")
    if index % 5 == 0:
        lines.append("    valid_for: 90d")
    if index % 7 == 0:
        lines += ["    lifecycle:", "      prevent_revoke: true"]
    return "\n".join(lines)


def write_configuration(folder: Path, keys: int) -> None:
    (folder / "platform.yaml").write_text(SHARED, encoding="utf-8")
    body = "\n".join(key_block(i) for i in range(keys))
    (folder / "keys.yaml").write_text(f"version: 1\napi_keys:\n{body}\n", encoding="utf-8")


def main() -> int:
    tune_collector()  # as the CLI does for every command (infobip_iac.collector)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    now = datetime(2026, 6, 1, tzinfo=UTC)
    with tempfile.TemporaryDirectory(prefix="validate-bench-") as temp:
        folder = Path(temp)
        write_configuration(folder, args.keys)
        size = sum(p.stat().st_size for p in folder.iterdir())
        load_configuration([folder], now=now)  # warm imports and the scope catalog
        wall: list[float] = []
        cpu: list[float] = []
        for _ in range(args.runs):
            gc.collect()
            started, started_cpu = time.perf_counter(), time.process_time()
            result = load_configuration([folder], now=now)
            # The pipeline pauses the cyclic collector; count the collection it defers.
            gc.collect()
            wall.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
        if result.config is None or len(result.config.keys) != args.keys:
            for diagnostic in result.errors[:5]:
                print(diagnostic.render(), file=sys.stderr)
            print("the generated configuration did not validate", file=sys.stderr)
            return 1
    # CPU time is what the code costs; wall time also shows what else the machine was doing.
    print(
        f"validate {args.keys} keys ({size / 1e6:.1f} MB, {len(result.warnings)} warnings), "
        f"{args.runs} runs on one core: CPU best {min(cpu):.2f} s, median "
        f"{statistics.median(cpu):.2f} s; wall best {min(wall):.2f} s, median "
        f"{statistics.median(wall):.2f} s (target < 2 s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

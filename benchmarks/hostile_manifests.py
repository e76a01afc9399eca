"""Peak memory and time of `validate` on the hostile manifests of issue 11 (item 9).

Each manifest is under the 10 MB file cap and was measured far above the documented 256 MB
before the loader bounded what it builds. Each case runs `validate` in a fresh child
process, which reads its own peak resident memory (VmHWM in /proc/self/status) after the
command, so the figure is the whole command's and nothing else's.

    .venv/bin/python benchmarks/hostile_manifests.py [--case NAME]

Prints one line per case: size, exit code, the first diagnostic, peak memory and wall time.
The target is under 256 MB each, or a refusal early with a diagnostic naming file:line:col.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

_HEAD = "version: 1\ndefaults:\n  allowed_ips: [203.0.113.0/24]\napi_keys:\n"
_TARGET_MB = 256


def big_scalar() -> str:
    """One 4 MB scalar, where a scope name goes."""
    return _HEAD + f"  k:\n    scopes: [sms:logs:read, {'x' * (4 * 1024 * 1024)}]\n"


def flow_scopes() -> str:
    """A 10.2 MB one-line flow list of 600,000 scopes."""
    scopes = ", ".join(f"sms:log:r{i:06d}" for i in range(600_000))
    return _HEAD + f"  k:\n    scopes: [{scopes}]\n"


def many_keys() -> str:
    """8 MB holding 150,000 keys."""
    body = "".join(
        f"  k{i:06d}:\n    name: key {i:06d}\n    scopes: [sms:logs:read]\n" for i in range(150_000)
    )
    return _HEAD + body


def long_name() -> str:
    """A key whose `name` is 1 MB long."""
    return _HEAD + f"  k:\n    name: {'n' * (1024 * 1024)}\n    scopes: [sms:logs:read]\n"


def duplicate_scopes() -> str:
    """One key listing the same scope 100,000 times."""
    return _HEAD + f"  k:\n    scopes: [{', '.join(['sms:logs:read'] * 100_000)}]\n"


CASES: dict[str, Callable[[], str]] = {
    "4 MB scalar": big_scalar,
    "600,000 scopes in a flow list": flow_scopes,
    "150,000 keys": many_keys,
    "1 MB name": long_name,
    "100,000 duplicate scopes": duplicate_scopes,
}

# Run in the child: the command, then its own peak memory on stderr's last line.
_CHILD = """
import sys
from infobip_iac.cli.main import main
code = main(["validate", "--no-color", sys.argv[1]])
peak = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(f"PEAK_KB {peak.split()[1]} EXIT {code}", file=sys.stderr)
"""


def measure(name: str, folder: Path) -> str:
    path = folder / "hostile.yaml"
    path.write_text(CASES[name](), encoding="utf-8")
    size = path.stat().st_size
    started = time.perf_counter()
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    wall = time.perf_counter() - started
    last = child.stderr.strip().splitlines()[-1] if child.stderr.strip() else ""
    if not last.startswith("PEAK_KB"):
        return f"{name}: the child failed (exit {child.returncode}): {child.stderr[-500:]}"
    fields = last.split()
    peak_mb = int(fields[1]) / 1024
    first = next((line for line in child.stdout.splitlines() if ": error " in line), "")
    first = first.replace(str(path), "hostile.yaml")
    verdict = "ok" if peak_mb < _TARGET_MB else "OVER"
    return (
        f"{name}: {size / 1e6:.1f} MB file, exit {fields[3]}, peak {peak_mb:.0f} MB "
        f"({verdict}), {wall:.1f} s wall; {first[:150] or 'no error'}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES), action="append")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hostile-manifests-") as temp:
        for name in args.case or list(CASES):
            print(measure(name, Path(temp)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

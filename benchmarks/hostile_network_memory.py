"""Peak memory of `plan` against each hostile network input (docs/RELIABILITY.md).

Run: `.venv/bin/python benchmarks/hostile_network_memory.py [--timeout 5] [--bomb-gb 3]`.

For each behaviour of the hostile loopback server (tests/reliability/hostile_server.py),
`python -m infobip_iac plan` runs in a child process against it; printed are the child's
exit code, wall time and peak resident memory (the kernel's maxrss, which counts what
Python's allocator does not), and the error it printed. The decompression bomb expands to
`--bomb-gb` gigabytes (3 GB is the issue's case: about 3 MB of gzip).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from reliability.hostile_server import gzip_bomb, hostile_server

MANIFEST = """\
version: 1
api_keys:
  one:
    scopes: [sms:logs:read]
    allowed_ips: [203.0.113.0/24]
"""
BEHAVIOURS = (
    "gzip-bomb",
    "trickles-status",
    "trickles-headers",
    "trickles",
    "never-answers",
    "endless-paging",
    "huge-account",
    "huge-declared",
    "huge-chunked",
    "echoes-headers",
)


def measure(behaviour: str, folder: Path, timeout: float, bomb_bytes: int) -> str:
    with hostile_server(behaviour) as server:
        server.bomb_bytes = bomb_bytes
        env = {
            **os.environ,
            "INFOBIP_BASE_URL": server.base_url,
            "INFOBIP_USERNAME": "someone",
            "INFOBIP_PASSWORD": "not-a-secret-but-long",
        }
        started = time.monotonic()
        child = subprocess.Popen(
            [sys.executable, "-m", "infobip_iac", "plan", "keys.yaml", "--timeout", str(timeout)],
            cwd=folder,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert child.stderr is not None
        err = child.stderr.read()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        elapsed = time.monotonic() - started
    error = next((line for line in err.splitlines() if line.startswith("Error:")), err[-120:])
    return (
        f"{behaviour:17} exit {child.returncode}  {elapsed:6.1f} s  "
        f"{usage.ru_maxrss / 1024:6.0f} MB peak RSS  "
        f"{server.requests:4d} requests  {error[:110]}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--bomb-gb", type=float, default=3.0)
    parser.add_argument("behaviours", nargs="*", default=list(BEHAVIOURS))
    args = parser.parse_args()
    bomb_bytes = int(args.bomb_gb * 1024**3) // (1024 * 1024) * (1024 * 1024)
    if "gzip-bomb" in args.behaviours:
        print(f"gzip bomb: {len(gzip_bomb(bomb_bytes)):,} bytes expanding to {bomb_bytes:,}")
    with tempfile.TemporaryDirectory(prefix="infobip-iac-hostile-") as folder:
        (Path(folder) / "keys.yaml").write_text(MANIFEST)
        for behaviour in args.behaviours:
            print(measure(behaviour, Path(folder), args.timeout, bomb_bytes), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

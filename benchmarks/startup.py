"""How long the CLI takes to start: `--help`, `validate` and `plan` of a one-key manifest.

Each command runs N times in a process of its own, as a user runs it (the console script
beside this interpreter), and the median, fastest and slowest wall times are printed, with
the bare interpreter's start (`python -c pass`) as the floor and the load average before and
after (`uptime`): on a shared 2-core machine the load moves these figures more than
anything else, so read them against it.

Bytecode is written and used, as in an installed copy: PYTHONDONTWRITEBYTECODE is dropped
from the children's environment, and each command runs once untimed first. Without
bytecode every module of the tool is compiled from source on each run, which adds about
0.1 s to `plan`.

`plan` runs in the steady state (the key already applied, so `No changes.`) two ways:
against a standalone emulator in a child process (`infobip-iac emulator`, reached through
INFOBIP_BASE_URL as Infobip would be), and with `--emulator`, which starts the embedded one
in the plan's own process and so also pays for importing and loading it.

    .venv/bin/python benchmarks/startup.py [--runs N]

Targets (issue 15): `--help` and `validate` <= 0.25 s, a one-key `plan` <= 0.35 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

MANIFEST = """\
version: 1
api_keys:
  ci-sms:
    name: CI SMS sender
    scopes: [sms:message:send, sms:logs:read]
    allowed_ips: [198.51.100.0/24]
    valid_for: 90d
    secret: {sink: none}
"""


def cli() -> list[str]:
    """The installed console script, as a user runs it; else `python -m infobip_iac`."""
    script = Path(sys.executable).with_name("infobip-iac")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "infobip_iac"]


def uptime() -> str:
    try:
        return subprocess.run(
            ["uptime"], capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "load average: " + ", ".join(f"{load:.2f}" for load in os.getloadavg())


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(
    argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], runs: int, expect: int = 0
) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of each of `runs` runs of `argv` after one untimed run, each
    checked to exit with `expect`. CPU time (user + system) moves less with the load than
    wall time does."""
    times = []
    for _ in range(runs + 1):
        cpu = _children_cpu()
        start = time.perf_counter()
        done = subprocess.run(
            argv, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=120
        )
        times.append((time.perf_counter() - start, _children_cpu() - cpu))
        if done.returncode != expect:
            raise RuntimeError(
                f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout}{done.stderr}"
            )
    return times[1:]


@contextmanager
def standalone_emulator(cwd: Path) -> Iterator[str]:
    """`infobip-iac emulator` in a child process (data in memory); yields its base URL."""
    child = subprocess.Popen(
        [*cli(), "emulator", "--port", "0"],
        cwd=cwd,
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


def report(label: str, times: Sequence[tuple[float, float]]) -> None:
    wall = [run[0] for run in times]
    cpu = [run[1] for run in times]
    print(
        f"{label:<38} wall median {statistics.median(wall):.3f} s"
        f" (min {min(wall):.3f}, max {max(wall):.3f}),"
        f" CPU median {statistics.median(cpu):.3f} s, {len(times)} runs"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    command = cli()
    # No credentials of the caller's leak into the runs, and none is needed but the
    # emulator's own; bytecode is written and used, as in an installed copy.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("INFOBIP_", "NO_COLOR", "PYTHONDONTWRITEBYTECODE"))
    }
    print(f"# startup, {len(os.sched_getaffinity(0))} cores, Python {sys.version.split()[0]}")
    print(f"# before: {uptime()}")
    with tempfile.TemporaryDirectory(prefix="infobip-iac-startup-") as tmp:
        work = Path(tmp)
        (work / "keys").mkdir()
        (work / "keys" / "team.yaml").write_text(MANIFEST, encoding="utf-8")
        report(
            "python -c pass (the floor)",
            timed([sys.executable, "-c", "pass"], cwd=work, env=env, runs=runs),
        )
        report("infobip-iac --help", timed([*command, "--help"], cwd=work, env=env, runs=runs))
        report(
            "infobip-iac validate (1 key)",
            timed([*command, "validate", "keys"], cwd=work, env=env, runs=runs),
        )

        with standalone_emulator(work) as base_url:
            remote = {
                **env,
                "INFOBIP_BASE_URL": base_url,
                "INFOBIP_USERNAME": "admin",
                "INFOBIP_PASSWORD": "admin",
            }
            state = ["--state", "remote-state.json"]
            timed(
                [*command, "apply", "--auto-approve", *state, "keys"], cwd=work, env=remote, runs=0
            )
            report(
                "infobip-iac plan (1 key, standalone)",
                timed(
                    [*command, "plan", "--detailed-exitcode", *state, "keys"],
                    cwd=work,
                    env=remote,
                    runs=runs,
                ),
            )

        timed(
            [*command, "apply", "--emulator", "--auto-approve", "keys"], cwd=work, env=env, runs=0
        )
        report(
            "infobip-iac plan --emulator (1 key)",
            timed(
                [*command, "plan", "--emulator", "--detailed-exitcode", "keys"],
                cwd=work,
                env=env,
                runs=runs,
            ),
        )
    print(f"# after: {uptime()}")


if __name__ == "__main__":
    main()

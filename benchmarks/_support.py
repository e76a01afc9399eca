"""What the scale benchmarks share: an emulator in a child process, realistic seeded keys,
manifests and state for them, and a timed `plan` run as a user runs it.

The emulator runs in its own process so that the figures of this process (CPU time, memory)
are the tool's alone, and so the two do not share one interpreter lock on a 2-core machine.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import random
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from infobip_iac.domain.secret import Secret
from infobip_iac.emulator import EmulatorControl
from infobip_iac.engine.apply import ApplyOptions, apply_plan
from infobip_iac.engine.plan import make_plan
from infobip_iac.engine.refresh import read_live_keys
from infobip_iac.infobip.client import InfobipClient
from infobip_iac.infobip.pacing import ReadBudget
from infobip_iac.infobip.settings import UserCredentials
from infobip_iac.manifest import load_or_raise
from infobip_iac.state.store import StateStore

LIST = "GET /settings/2/api-keys"
GET_ONE = "GET /settings/2/api-keys/{apiKeyId}"
ADMIN = UserCredentials("admin", Secret("admin"))
READ_RATE = 10.0  # Infobip's documented reads per second per account
PAGE = 100

_SCOPES = [
    "sms:message:send",
    "sms:logs:read",
    "2fa:pin:send",
    "email:message:send",
    "whatsapp:message:send",
    "viber-bm:message:send",
]
_TEAMS = ["billing", "growth", "ops", "support", "risk", "data", "mobile", "web"]
_PURPOSES = ["ci", "sender", "reports", "otp", "alerts", "sync", "batch", "webhook"]


def floor_seconds(requests: int) -> float:
    """The least time `requests` reads take at Infobip's 10 reads per second."""
    return requests / READ_RATE


def list_floor(keys: int) -> int:
    """ceil(N/100): the fewest list requests that can return N keys (at least one)."""
    return max(1, math.ceil(keys / PAGE))


@contextlib.contextmanager
def emulator_process(
    *, read_rate: float = READ_RATE, limit_scope: str = "account", write_limit: int = 0
) -> Iterator[tuple[str, EmulatorControl]]:
    """An emulator in a child process (data in memory); yields its base URL and control."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infobip_iac",
            "emulator",
            "--port",
            "0",
            "--read-rate",
            str(read_rate),
            "--limit-scope",
            limit_scope,
            "--write-limit",
            str(write_limit),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline().strip()
        if not line.startswith("listening on "):
            raise RuntimeError(f"the emulator did not start: {line!r}")
        base_url = line.removeprefix("listening on ")
        yield base_url, EmulatorControl(base_url, timeout=300)
    finally:
        child.terminate()
        child.wait(timeout=30)


@dataclass(frozen=True)
class SeededKey:
    """One live key as seeded, with what a manifest needs to declare it unchanged."""

    name: str
    scopes: tuple[str, ...]
    allowed_ips: tuple[str, ...]
    valid_from: str
    valid_to: str
    enabled: bool = True


def realistic_keys(count: int, *, seed: int = 7, prefix: str = "") -> list[SeededKey]:
    """`count` keys as a busy account holds them: names by team and purpose, in no relation
    to creation time (validFrom spread over two years) or to the server's random ids."""
    draw = random.Random(seed)
    # Created over the last two years (to the minute, as a creation time is), valid for
    # three to five years: every key valid today, so plans carry no expiry warnings.
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=2 * 365)
    order = list(range(count))
    draw.shuffle(order)
    keys = []
    for i in range(count):
        created = start + timedelta(minutes=order[i] * 37 % (2 * 365 * 24 * 60))
        lifetime = timedelta(days=draw.choice([3 * 365, 4 * 365, 5 * 365]))
        team, purpose = draw.choice(_TEAMS), draw.choice(_PURPOSES)
        keys.append(
            SeededKey(
                name=f"{prefix}{team}-{purpose}-{i:05d}",
                scopes=tuple(sorted(draw.sample(_SCOPES, draw.randint(1, 3)))),
                allowed_ips=(f"10.{i % 250}.{i // 250 % 250}.0/24", "198.51.100.7/32"),
                valid_from=created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                valid_to=(created + lifetime).strftime("%Y-%m-%dT%H:%M:%SZ"),
            )
        )
    return keys


def seed(control: EmulatorControl, keys: Sequence[SeededKey], *, account_id: str | None) -> None:
    batch = 5_000
    for start in range(0, len(keys), batch):
        control.seed(
            [
                {
                    "name": key.name,
                    "scopeGuids": list(key.scopes),
                    "allowedIPs": list(key.allowed_ips),
                    "validFrom": key.valid_from,
                    "validTo": key.valid_to,
                    "enabled": key.enabled,
                }
                for key in keys[start : start + batch]
            ],
            account_id=account_id,
        )


def declare(path: Path, account: str, keys: Sequence[SeededKey]) -> None:
    """A manifest declaring `keys` in `account` exactly as they are live."""
    lines = ["version: 1", f"account: {account!r}", "api_keys:"]
    for key in keys:
        lines += [
            f"  {key.name}:",
            f"    scopes: [{', '.join(key.scopes)}]",
            f"    allowed_ips: [{', '.join(key.allowed_ips)}]",
            f"    valid_from: {key.valid_from}",
            f"    valid_to: {key.valid_to}",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def client(base_url: str) -> InfobipClient:
    return InfobipClient(base_url=base_url, credentials=ADMIN)


def adopt_all(base_url: str, folder: Path, state: Path, *, lifted: bool = False) -> None:
    """Record every declared key in state by adopting the live key of its name: an apply
    that writes nothing, so that later plans run in the steady state of a pull request.
    `lifted`: the emulator's read limit is lifted, so read unpaced and do not wait after."""
    config, _ = load_or_raise([folder])
    store = StateStore(state)
    with lifted_client(base_url) if lifted else client(base_url) as service:
        live = read_live_keys(service, config, store.read())
        plan = make_plan(config, store.read(), live, now=service.server_time())
        result = apply_plan(
            plan,
            service=service,
            store=store,
            state=store.read(),
            options=ApplyOptions(),
            events=lambda event: None,
        )
    if result.exit_code or result.writes:
        raise RuntimeError(f"adopting the seeded keys failed: {result}")
    if not lifted:
        # The server's read buckets fill again within a second: the timed run starts fresh.
        time.sleep(1.5)


@dataclass(frozen=True)
class PlanRun:
    """One `infobip-iac plan` as a user runs it: a process of its own."""

    exit_code: int
    wall: float  # from starting the process to its exit
    cpu: float  # the process's CPU time, imports included
    peak_mb: float  # its peak resident memory
    requests: dict[str, int]  # Infobip operations the emulator served meanwhile
    statuses: dict[str, int]
    stdout: str
    stderr: str

    @property
    def lists(self) -> int:
        return self.requests.get(LIST, 0)

    @property
    def throttled(self) -> int:
        return self.statuses.get("429", 0)

    def summary(self) -> str:
        """The plan's last line (`Plan: …` or `No changes. …`)."""
        lines = self.stdout.strip().splitlines()
        return lines[-1] if lines else ""


def _delta(after: Mapping[str, int], before: Mapping[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


# Runs in the child: the CLI's own entry point, then its CPU time and peak memory (kB) on
# the last line of stderr. The peak is the kernel's high-water mark of this process image
# (VmHWM): Linux carries `ru_maxrss` over from the parent through fork and exec, so it
# reported the benchmark's own footprint (hundreds of MB with 25,000 seeded keys) whenever
# that was larger than the plan's. Elsewhere ru_maxrss is all there is.
_CHILD = (
    "import resource, sys\n"
    "from infobip_iac.cli.main import main\n"
    "code = main(sys.argv[1:])\n"
    "usage = resource.getrusage(resource.RUSAGE_SELF)\n"
    "peak = usage.ru_maxrss\n"
    "try:\n"
    "    with open('/proc/self/status', encoding='ascii') as status:\n"
    "        peak = next(int(line.split()[1]) for line in status if line.startswith('VmHWM:'))\n"
    "except (OSError, StopIteration):\n"
    "    pass\n"
    "print(f'\\n{code} {usage.ru_utime + usage.ru_stime} {peak}', file=sys.stderr)\n"
)


def run_plan(base_url: str, control: EmulatorControl, args: Sequence[str]) -> PlanRun:
    """`infobip-iac plan ARGS` in a process of its own against `base_url`: exit code, wall
    and CPU time, peak memory, and the requests the emulator counted meanwhile."""
    return run_command(base_url, control, ["plan", "--no-color", *args])


def run_command(base_url: str, control: EmulatorControl, args: Sequence[str]) -> PlanRun:
    """`infobip-iac ARGS` (any command) measured as run_plan measures a plan."""
    env = {
        **os.environ,
        "INFOBIP_BASE_URL": base_url,
        "INFOBIP_USERNAME": "admin",
        "INFOBIP_PASSWORD": "admin",
    }
    before = control.stats()
    wall = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=3600,
    )
    wall = time.perf_counter() - wall
    after = control.stats()
    *stderr, last = done.stderr.rstrip("\n").rsplit("\n", 1) or [""]
    fields = last.split()
    if len(fields) != 3:
        raise RuntimeError(f"the plan process failed: {done.stderr[-2000:]}")
    return PlanRun(
        exit_code=int(fields[0]),
        wall=wall,
        cpu=float(fields[1]),
        peak_mb=int(fields[2]) / 1024,
        requests=_delta(after["requests"], before["requests"]),
        statuses=_delta(after["statuses"], before["statuses"]),
        stdout=done.stdout,
        stderr="".join(stderr),
    )


def ratio(measured: float, floor: float) -> str:
    return f"{measured / floor:.2f}x" if floor > 0 else "n/a"


@dataclass(frozen=True)
class ReadRun:
    """The live reads of one plan, timed alone in this process."""

    wall: float
    cpu: float
    lists: int
    throttled: int
    keys: int


def timed_read(
    base_url: str, control: EmulatorControl, folder: Path, state: Path, *, lifted: bool = False
) -> ReadRun:
    """`read_live_keys` for the configuration in `folder`, as plan makes it (a fresh client,
    its default pacing unless `lifted`), after the server's read buckets had time to fill."""
    config, _ = load_or_raise([folder])
    current = StateStore(state).read()
    time.sleep(1.5)
    before = control.stats()
    with lifted_client(base_url) if lifted else client(base_url) as service:
        wall, cpu = time.perf_counter(), time.process_time()
        live = read_live_keys(service, config, current)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after = control.stats()
    requests = _delta(after["requests"], before["requests"])
    statuses = _delta(after["statuses"], before["statuses"])
    return ReadRun(
        wall=wall,
        cpu=cpu,
        lists=requests.get(LIST, 0),
        throttled=statuses.get("429", 0),
        keys=sum(len(read.keys) for read in live.values()),
    )


def lifted_client(base_url: str) -> InfobipClient:
    """A client that does not pace its reads (for an emulator with its read limit lifted)."""
    return InfobipClient(base_url=base_url, credentials=ADMIN, budget=ReadBudget(1_000_000.0))


@dataclass(frozen=True)
class BaselineRun:
    requests: int
    wall: float

    @property
    def floor(self) -> float:
        """What its requests take at Infobip's 10 reads per second."""
        return floor_seconds(self.requests)


def per_key_refresh(
    base_url: str, control: EmulatorControl, accounts: Sequence[str]
) -> BaselineRun:
    """What a typical Terraform provider does on refresh: list the ids, then read each key
    with its own GET. Run unpaced, against an emulator with its read limit lifted."""
    before = control.stats()["requests"]
    with lifted_client(base_url) as service:
        wall = time.perf_counter()
        for account in accounts:
            for key in service.list_keys(account).keys:
                if service.get_key(key.id, account=account) is None:
                    raise RuntimeError(f"key {key.id} vanished during the baseline")
        wall = time.perf_counter() - wall
    after = control.stats()["requests"]
    made = _delta(after, before)
    return BaselineRun(requests=made.get(LIST, 0) + made.get(GET_ONE, 0), wall=wall)


def machine() -> str:
    """`2 cores, Linux 6.1, Python 3.11.7` for the header of the figures."""
    return (
        f"{os.cpu_count()} cores, {platform.system()} {platform.release().split('-')[0]}, "
        f"Python {platform.python_version()}"
    )


def header(title: str) -> None:
    print(f"# {title}")
    print(f"# {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {machine()}, load {os.getloadavg()[0]:.1f}")

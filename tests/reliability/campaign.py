"""One run of the fault campaign: a random change of a random configuration, applied under
random emulator faults, then checked against what the emulator really holds.

A run, all from one seed:
1. a baseline manifest (1-4 keys, some adopting keys seeded beforehand) is applied with no
   faults;
2. a changed manifest (keys added, changed, disabled, removed) is applied under 1-3 fault
   rules (5xx, 429 with Retry-After, delays beyond the client's timeout, dropped
   connections, writes that commit and lose their answer) on any operation, in a quarter
   of the runs plus one hostile answer (headers trickled a line at a time, or a
   decompression bomb; see `network_faults`), up to five times, until an apply succeeds
   and a plan finds nothing to do;
3. the faults are cleared and the emulator's keys, the state and the sink files are
   compared with the manifest.

One run in five also meets a process fault before step 2's applies (`process_faults`): its
first apply of the changed manifest runs in a child process that is killed with SIGKILL
mid-apply, or whose lock files are deleted while a second apply starts.

The commands run in-process through `infobip_iac.cli.main.main`, as a user would run them,
against an `EmulatorServer` in this process; the checks read the emulator over raw HTTP (not
through the tool's client, so a misreading shared by the tool and its checks cannot hide).
Shared by `tests/reliability/test_fault_campaign.py` (a few seeds in CI) and
`benchmarks/fault_campaign.py` (1,000 runs and their counts).
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import json
import os
import random
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from infobip_iac.cli.main import main
from infobip_iac.emulator import EmulatorServer
from infobip_iac.errors import StateError
from infobip_iac.state.store import StateStore
from reliability.process_faults import ChildOutcome, process_fault, run_with_process_fault

__all__ = [
    "CampaignTotals",
    "KeyDecl",
    "RunReport",
    "campaign_environment",
    "network_faults",
    "random_faults",
    "run_once",
    "wait_until_answered",
]

KEYS_PATH = "/settings/2/api-keys"
CREATE = f"POST {KEYS_PATH}"
UPDATE = f"PUT {KEYS_PATH}/{{apiKeyId}}"
LIST = f"GET {KEYS_PATH}"
READ_ONE = f"GET {KEYS_PATH}/{{apiKeyId}}"
OPERATIONS = (CREATE, UPDATE, LIST, READ_ONE, "*")

SCOPES = (
    "sms:message:send",
    "sms:logs:read",
    "2fa:pin:send",
    "email:message:send",
    "whatsapp:message:send",
    "mms:message:send",
)
NETWORKS = ("203.0.113.0/24", "198.51.100.7", "192.0.2.0/28", "2001:db8::/48", "10.1.2.3")
MAX_APPLIES = 5
# The client's timeout in the campaign: short, so that delays beyond it cost little.
TIMEOUT_SECONDS = 0.3
_ID_IN_TEXT = re.compile(r"\b[0-9A-F]{32}\b")
# The exit a process fault's SIGKILL leaves (128 + 9), which is no crash of the tool.
KILLED = 137


@dataclass(frozen=True)
class KeyDecl:
    """One declared key, as the campaign writes it into a manifest."""

    ident: str
    name: str
    scopes: tuple[str, ...]
    allowed_ips: tuple[str, ...]
    enabled: bool = True
    sink: str = "file"  # file | none

    def manifest_lines(self) -> list[str]:
        lines = [
            f"  {self.ident}:",
            f"    name: {json.dumps(self.name)}",
            f"    scopes: {json.dumps(list(self.scopes))}",
            f"    allowed_ips: {json.dumps(list(self.allowed_ips))}",
        ]
        if not self.enabled:
            lines.append("    enabled: false")
        if self.sink == "none":
            lines.append("    secret: {sink: none}")
        return lines


def manifest_text(keys: Sequence[KeyDecl]) -> str:
    lines = [
        "version: 1",
        "defaults:",
        '  secret: {sink: file, path: "secrets/{address}.env"}',
        "api_keys:" if keys else "api_keys: {}",
    ]
    for key in keys:
        lines.extend(key.manifest_lines())
    return "\n".join(lines) + "\n"


def _random_key(rng: random.Random, ident: str, name: str) -> KeyDecl:
    return KeyDecl(
        ident=ident,
        name=name,
        scopes=tuple(sorted(rng.sample(SCOPES, rng.randint(1, 3)))),
        allowed_ips=tuple(rng.sample(NETWORKS, rng.randint(1, 2))),
        sink=rng.choice(("file", "file", "file", "none")),
    )


def _changed(rng: random.Random, key: KeyDecl) -> KeyDecl:
    what = rng.choice(("scopes", "ips", "disable", "name", "both"))
    scopes, ips, enabled, name = key.scopes, key.allowed_ips, key.enabled, key.name
    if what in ("scopes", "both"):
        scopes = tuple(sorted(rng.sample(SCOPES, rng.randint(1, 3))))
    if what in ("ips", "both"):
        ips = tuple(rng.sample(NETWORKS, rng.randint(1, 3)))
    if what == "disable":
        enabled = False
    if what == "name":
        name = f"{key.name} v2"
    return KeyDecl(key.ident, name, scopes, ips, enabled, key.sink)


@dataclass(frozen=True)
class Scenario:
    seeded: list[dict[str, Any]]  # keys in the account before the first apply
    baseline: list[KeyDecl]
    changed: list[KeyDecl]
    faults: list[dict[str, Any]]
    fault_seed: int


# Faults that can each stop one apply (a 429 on a write, a create refused or lost twice):
# a correct tool converges within five applies if at most four fire.
FAULT_BUDGET = 4


def random_faults(rng: random.Random, *, timeout: float = TIMEOUT_SECONDS) -> list[dict[str, Any]]:
    """1-3 fault rules, each on one operation (or all), firing at most FAULT_BUDGET times in
    all. At most one rule delays: delays of several rules add up, and one delay stays
    within twice the client's timeout (the bound the tool promises; see RELIABILITY.md)."""
    rules: list[dict[str, Any]] = []
    budget = FAULT_BUDGET
    for _ in range(rng.randint(1, 3)):
        if budget == 0:
            break
        kinds = ["status", "rate-limit", "drop", "commit-then-drop"]
        if not any(rule["kind"] == "delay" for rule in rules):
            kinds.append("delay")
        kind = rng.choice(kinds)
        times = rng.randint(1, min(3, budget))
        budget -= times
        rule: dict[str, Any] = {
            "operation": rng.choice(OPERATIONS),
            "kind": kind,
            "times": times,
            "probability": rng.choice((1.0, 1.0, 0.5, 0.3)),
        }
        if kind == "status":
            rule["status"] = rng.choice((500, 502, 503))
        elif kind == "rate-limit":
            rule["retry_after_s"] = rng.choice((0, 0, 1))
        elif kind == "delay":
            rule["delay_ms"] = int(timeout * 1000) + rng.randint(50, int(timeout * 900))
        rules.append(rule)
    return rules


# The share of runs with a hostile answer on top of their other faults.
NETWORK_FAULT_SHARE = 0.25
NETWORK_FAULT_KINDS = ("trickle-headers", "gzip-bomb")


def network_faults(seed: int, faults: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """In NETWORK_FAULT_SHARE of the runs, one rule whose operation commits and then answers
    with its headers a line at a time or with a decompression bomb, within what is left of
    FAULT_BUDGET. Drawn from a generator of its own, so that the other draws of a seed,
    and so the runs without such a rule, stay as they were."""
    rng = random.Random(f"network {seed}")
    if rng.random() >= NETWORK_FAULT_SHARE:
        return []
    left = FAULT_BUDGET - sum(int(rule["times"]) for rule in faults)
    if left <= 0:
        return []
    return [
        {
            "operation": rng.choice(OPERATIONS),
            "kind": rng.choice(NETWORK_FAULT_KINDS),
            "times": 1,
            "probability": rng.choice((1.0, 0.5)),
        }
    ]


def scenario(seed: int) -> Scenario:
    rng = random.Random(seed)
    count = rng.randint(1, 4)
    baseline = [_random_key(rng, f"k{i}", f"campaign {seed} k{i}") for i in range(count)]
    changed: list[KeyDecl] = []
    for key in baseline:
        fate = rng.choice(("keep", "change", "change", "remove"))
        if fate == "keep":
            changed.append(key)
        elif fate == "change":
            changed.append(_changed(rng, key))
    for i in range(rng.randint(0, 3)):
        changed.append(_random_key(rng, f"n{i}", f"campaign {seed} n{i}"))
    seeded = []
    # A key that already exists under a declared name is adopted instead of created.
    if rng.random() < 0.3:
        fresh = [key for key in changed if key.ident.startswith("n")]
        target = rng.choice(fresh or baseline)
        seeded.append(
            {"name": target.name, "allowedIPs": ["203.0.113.0/24"], "scopeGuids": ["sms:logs:read"]}
        )
    if rng.random() < 0.3:
        seeded.append({"name": f"campaign {seed} someone else's", "scopeGuids": ["sms:logs:read"]})
    faults = random_faults(rng)
    faults += network_faults(seed, faults)
    return Scenario(seeded, baseline, changed, faults, rng.randint(0, 2**31))


# -- running commands -----------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


def run_command(*args: str) -> Outcome:
    """`infobip-iac ARGS` in this process, its output captured."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return Outcome(code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def campaign_environment(emulator: EmulatorServer) -> Iterator[None]:
    """Connection settings pointing at `emulator`; the previous environment afterwards."""
    wanted = {
        "INFOBIP_BASE_URL": emulator.base_url,
        "INFOBIP_USERNAME": "admin",
        "INFOBIP_PASSWORD": "admin",
        "NO_COLOR": "1",
    }
    dropped = ("INFOBIP_CLIENT_ID", "INFOBIP_CLIENT_SECRET", "INFOBIP_IBSSO_TOKEN")
    saved = {name: os.environ.get(name) for name in (*wanted, *dropped)}
    os.environ.update(wanted)
    for name in dropped:
        os.environ.pop(name, None)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# -- what the emulator holds ------------------------------------------------------------------


@dataclass(frozen=True)
class LiveRecord:
    id: str
    name: str
    secret: str
    enabled: bool
    scopes: frozenset[str]
    networks: frozenset[str]
    raw: dict[str, Any]


def _network(text: str) -> str:
    return str(ipaddress.ip_network(text, strict=False))


def read_emulator(emulator: EmulatorServer) -> dict[str, LiveRecord]:
    """Every key of the main account, read over raw HTTP with the faults cleared."""
    found: dict[str, LiveRecord] = {}
    with httpx.Client(base_url=emulator.base_url, auth=("admin", "admin"), timeout=10) as http:
        page = 0
        while True:
            answer = http.get(KEYS_PATH, params={"page": page, "size": 100})
            answer.raise_for_status()
            body = answer.json()
            for item in body["apiKeys"]:
                found[item["id"]] = LiveRecord(
                    id=item["id"],
                    name=item["name"],
                    secret=item["apiKeySecret"],
                    enabled=bool(item["enabled"]),
                    scopes=frozenset(item.get("scopeGuids") or ()),
                    networks=frozenset(_network(ip) for ip in item.get("allowedIPs") or ()),
                    raw=item,
                )
            page += 1
            if page >= body["paging"]["totalPages"]:
                return found


# -- one run ----------------------------------------------------------------------------------


@dataclass
class RunReport:
    seed: int
    faults: list[dict[str, Any]] = field(default_factory=list)
    applies: int = 0
    exit_codes: list[int] = field(default_factory=list)
    converged: bool = False
    duplicates: list[str] = field(default_factory=list)
    missing_or_wrong: list[str] = field(default_factory=list)
    undeclared_enabled: list[str] = field(default_factory=list)
    unreported_lost_secrets: list[str] = field(default_factory=list)
    reported_lost_secrets: int = 0
    unreadable_states: list[str] = field(default_factory=list)
    state_mismatches: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    fired: dict[str, int] = field(default_factory=dict)  # fault kind -> times it fired
    seconds: float = 0.0

    @property
    def problems(self) -> list[str]:
        found = []
        for name in (
            "duplicates",
            "missing_or_wrong",
            "undeclared_enabled",
            "unreported_lost_secrets",
            "unreadable_states",
            "state_mismatches",
            "leaks",
            "crashes",
        ):
            found.extend(f"{name}: {item}" for item in getattr(self, name))
        if not self.converged:
            found.append(f"not converged within {MAX_APPLIES} applies: exits {self.exit_codes}")
        return found

    def describe(self) -> str:
        return (
            f"seed {self.seed}: faults {json.dumps(self.faults)}; exits {self.exit_codes}\n  "
            + "\n  ".join(self.problems or ["ok"])
        )


@dataclass
class _Journal:
    """What the applies of a run said and left behind, for the checks."""

    outputs: list[tuple[str, str, bool]] = field(default_factory=list)
    ever_managed: set[str] = field(default_factory=set)  # key ids any state held
    unkept: set[str] = field(default_factory=set)  # key ids whose sink is `none`
    reported_lost: set[str] = field(default_factory=set)  # key ids said to have lost secrets

    def note(self, label: str, outcome: Outcome, store: StateStore, report: RunReport) -> None:
        self.outputs.append((f"{label} stdout", outcome.out, True))
        self.outputs.append((f"{label} stderr", outcome.err, False))
        if outcome.code not in (0, 1, 2, 3, KILLED) or "Traceback" in outcome.err:
            report.crashes.append(f"{label} exit {outcome.code}: {outcome.err[-400:]}")
        for line in outcome.err.splitlines():
            # Recovery reports a key an interrupted create made (a kill-9) as one whose
            # secret "nobody holds", before revoking it.
            said = ("NOT DELIVERED", "NOT delivered", "nobody holds its secret")
            if any(words in line for words in said):
                self.reported_lost.update(_ID_IN_TEXT.findall(line))
        try:
            state = store.read()
        except StateError as error:
            report.unreadable_states.append(f"{label}: {error}")
            return
        for resource in state.resources.values():
            self.ever_managed.add(resource.id)
            if resource.secret is not None and resource.secret.sink == "none":
                self.unkept.add(resource.id)
            if resource.secret is not None and resource.secret.status == "lost":
                self.reported_lost.add(resource.id)


# `--faults throttled-creates` of the benchmark: instead of the random rules, every create
# is answered 500 with probability 35 % and 429 (`Retry-After: 1`) with 35 % (0.35 / 0.65
# of the rest), without end: issue 11's case of short write 429s that must be waited out.
THROTTLED_CREATES: list[dict[str, Any]] = [
    {"operation": CREATE, "kind": "status", "status": 500, "probability": 0.35},
    {"operation": CREATE, "kind": "rate-limit", "retry_after_s": 1, "probability": 0.35 / 0.65},
]
FAULT_SETS = ("random", "throttled-creates")


def run_once(
    emulator: EmulatorServer, seed: int, workdir: Path, *, faults: str = "random"
) -> RunReport:
    """One campaign run in `workdir` (emptied first) against `emulator` (reset first)."""
    started = time.monotonic()
    plan = scenario(seed)
    if faults == "throttled-creates":
        plan = replace(plan, faults=[dict(rule) for rule in THROTTLED_CREATES])
    report = RunReport(seed=seed, faults=plan.faults)
    control = emulator.control
    control.reset()
    if workdir.exists():
        shutil.rmtree(workdir)
    manifests = workdir / "keys"
    manifests.mkdir(parents=True)
    state_path = workdir / ".infobip-iac" / "state.json"
    store = StateStore(state_path)
    journal = _Journal()
    seeded_ids = set(control.seed(plan.seeded)) if plan.seeded else set()
    common = ("--state", str(state_path), "--timeout", str(TIMEOUT_SECONDS))
    apply_args = ("apply", str(manifests), "--auto-approve", "--allow-revokes", *common)

    (manifests / "main.yaml").write_text(manifest_text(plan.baseline), encoding="utf-8")
    first = run_command(*apply_args)
    journal.note("baseline apply", first, store, report)
    if first.code != 0:
        report.crashes.append(f"the baseline apply without faults failed: {first.err[-400:]}")
        report.seconds = time.monotonic() - started
        return report

    (manifests / "main.yaml").write_text(manifest_text(plan.changed), encoding="utf-8")
    control.set_faults(plan.faults, seed=plan.fault_seed)
    fault = process_fault(seed)
    if fault is not None:
        report.faults = [*plan.faults, {"kind": fault}]

        def second_apply() -> ChildOutcome:
            done = run_command(*apply_args)
            return ChildOutcome(
                "apply after the lock files went", done.code, done.out, done.err, True
            )

        ran = run_with_process_fault(fault, seed, emulator, state_path, apply_args, second_apply)
        for child in ran:
            journal.note(child.label, Outcome(child.code, child.out, child.err), store, report)
        if any(child.fired for child in ran):
            report.fired[fault] = report.fired.get(fault, 0) + 1
    for attempt in range(1, MAX_APPLIES + 1):
        outcome = run_command(*apply_args, "--log-level", "debug")
        report.applies = attempt
        report.exit_codes.append(outcome.code)
        journal.note(f"apply {attempt}", outcome, store, report)
        if outcome.code != 0:
            continue
        check = run_command("plan", str(manifests), "--detailed-exitcode", *common)
        journal.note(f"plan after apply {attempt}", check, store, report)
        if check.code == 0:
            report.converged = True
            break
    _let_delayed_requests_land(emulator, report)
    _check(report, plan, emulator, store, journal, seeded_ids, workdir)
    report.seconds = time.monotonic() - started
    return report


def _let_delayed_requests_land(emulator: EmulatorServer, report: RunReport) -> None:
    """Clear the faults, then wait out any request the emulator still holds back: a delayed
    write lands after the client gave up on it, and what it leaves is part of the outcome.
    How often each kind of fault fired goes into the report."""
    rules = httpx.get(f"{emulator.base_url}/_emulator/faults", timeout=10).json()["rules"]
    for rule in rules:
        report.fired[rule["kind"]] = report.fired.get(rule["kind"], 0) + rule["fired"]
    emulator.control.clear_faults()
    wait_until_answered(emulator)


def wait_until_answered(emulator: EmulatorServer, within: float = 120) -> None:
    """Wait until the emulator has answered (or dropped) every Infobip request it received,
    those it holds back under a delay included, however slowly a loaded machine runs them."""
    deadline = time.monotonic() + within
    while True:
        stats = emulator.control.stats()
        answered = sum(stats["statuses"].values()) + stats["dropped"]
        if answered >= sum(stats["requests"].values()):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the emulator still holds requests after {within:g} s: {stats}")
        time.sleep(0.01)


def _check(
    report: RunReport,
    plan: Scenario,
    emulator: EmulatorServer,
    store: StateStore,
    journal: _Journal,
    seeded_ids: set[str],
    workdir: Path,
) -> None:
    live = read_emulator(emulator)
    declared = {f"api_keys.{key.ident}": key for key in plan.changed}
    try:
        state = store.read()
    except StateError:
        return  # already counted as unreadable

    # Every declared key exists exactly once, as declared.
    for address, key in declared.items():
        same_name = [
            k for k in live.values() if k.name == key.name and k.enabled and k.id not in seeded_ids
        ]
        if len(same_name) > 1:
            report.duplicates.append(f"{address}: {len(same_name)} enabled keys named {key.name!r}")
        entry = state.resources.get(address)
        if entry is None or entry.id not in live:
            report.missing_or_wrong.append(f"{address}: no live key in state")
            continue
        got = live[entry.id]
        wanted = (
            key.name,
            key.enabled,
            frozenset(key.scopes),
            frozenset(_network(ip) for ip in key.allowed_ips),
        )
        if (got.name, got.enabled, got.scopes, got.networks) != wanted:
            report.missing_or_wrong.append(
                f"{address}: live {got.name!r} enabled={got.enabled} {sorted(got.scopes)} "
                f"{sorted(got.networks)}, declared {key.name!r} enabled={key.enabled} "
                f"{sorted(key.scopes)} {sorted(key.allowed_ips)}"
            )

    # State holds the declared addresses and agrees with live.
    extra = sorted(set(state.resources) - set(declared))
    if extra:
        report.state_mismatches.append(f"state holds undeclared addresses {extra}")
    for address, entry in state.resources.items():
        got = live.get(entry.id)
        if got is None:
            report.state_mismatches.append(f"{address}: state id {entry.id} is not live")
            continue
        remembered = entry.attributes
        if remembered.get("name") != got.name or remembered.get("enabled") != got.enabled:
            report.state_mismatches.append(
                f"{address}: state says {remembered.get('name')!r}/"
                f"enabled={remembered.get('enabled')}, live {got.name!r}/enabled={got.enabled}"
            )
        if set(remembered.get("scopes") or ()) != set(got.scopes):
            report.state_mismatches.append(f"{address}: state scopes differ from live")

    # Keys the tool ever managed that are no longer declared are revoked.
    managed_now = {entry.id for entry in state.resources.values()}
    for key_id in sorted(journal.ever_managed - managed_now):
        if key_id in live and live[key_id].enabled:
            report.undeclared_enabled.append(f"{key_id} ({live[key_id].name!r})")

    # Every key the tool created has its secret in its sink, or was reported as lost.
    secrets_dir = workdir / "keys" / "secrets"
    files = sorted(secrets_dir.glob("*")) if secrets_dir.is_dir() else []
    sink_text = "\n".join(path.read_text(errors="replace") for path in files if path.is_file())
    for key_id, key in sorted(live.items()):
        if key_id in seeded_ids or key_id in journal.unkept or key.secret in sink_text:
            continue
        if key_id in journal.reported_lost:
            report.reported_lost_secrets += 1
            continue
        report.unreported_lost_secrets.append(f"{key_id} ({key.name!r}, enabled={key.enabled})")

    # No secret anywhere but its sink: outputs (debug logs included), state, backups.
    report.leaks.extend(_leaks(journal, live, workdir))


def _leaks(journal: _Journal, live: Mapping[str, LiveRecord], workdir: Path) -> list[str]:
    from leakguard import find_leaks

    secrets_dir = workdir / "keys" / "secrets"
    files = [
        path for path in workdir.rglob("*") if path.is_file() and secrets_dir not in path.parents
    ]
    return find_leaks([k.secret for k in live.values()], journal.outputs, files)


@dataclass
class CampaignTotals:
    """The campaign's counts over many runs (the figures of docs/RELIABILITY.md)."""

    runs: int = 0
    duplicates: int = 0
    undeclared_enabled_in_state: int = 0
    unreported_lost_secrets: int = 0
    reported_lost_secrets: int = 0
    unreadable_states: int = 0
    not_converged: int = 0
    missing_or_wrong: int = 0
    state_mismatches: int = 0
    leaks: int = 0
    crashes: int = 0
    applies: int = 0
    seconds: float = 0.0
    failed_seeds: list[int] = field(default_factory=list)
    fired: dict[str, int] = field(default_factory=dict)

    def add(self, report: RunReport) -> None:
        self.runs += 1
        self.duplicates += len(report.duplicates)
        self.undeclared_enabled_in_state += len(report.undeclared_enabled)
        self.unreported_lost_secrets += len(report.unreported_lost_secrets)
        self.reported_lost_secrets += report.reported_lost_secrets
        self.unreadable_states += len(report.unreadable_states)
        self.not_converged += 0 if report.converged else 1
        self.missing_or_wrong += len(report.missing_or_wrong)
        self.state_mismatches += len(report.state_mismatches)
        self.leaks += len(report.leaks)
        self.crashes += len(report.crashes)
        self.applies += report.applies
        self.seconds += report.seconds
        for kind, count in report.fired.items():
            self.fired[kind] = self.fired.get(kind, 0) + count
        if report.problems:
            self.failed_seeds.append(report.seed)


def fresh_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="infobip-iac-campaign-"))

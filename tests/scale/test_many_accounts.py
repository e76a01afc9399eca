"""Many accounts in one configuration, over HTTP, with sub-accounts made through the
emulator's control API: each account read at once within its own read limit, a caller-wide
limit learned from the first 429 without failing."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from e2e.workspace import LIST, Workspace

from infobip_iac.domain.secret import Secret
from infobip_iac.emulator import EmulatorServer
from infobip_iac.engine.refresh import read_live_keys
from infobip_iac.infobip.client import InfobipClient
from infobip_iac.infobip.pacing import ReadBudget
from infobip_iac.infobip.settings import UserCredentials
from infobip_iac.manifest import load_or_raise
from infobip_iac.state.model import StateDocument
from scale.conftest import MakeServer, busy_keys, declare, seed_keys

ADMIN = UserCredentials("admin", Secret("admin"))


def _teams(server: EmulatorServer, folder: Path, accounts: int, keys: int) -> list[str]:
    """`accounts` sub-accounts of `keys` keys each, every one declared in its own file."""
    folder.mkdir(exist_ok=True)
    ids = []
    for number in range(accounts):
        account_id = server.control.add_account(f"team-{number:02d}")
        team_keys: list[dict[str, Any]] = busy_keys(keys, prefix=f"t{number:02d}", seed=number)
        seed_keys(server, team_keys, account_id)
        declare(folder / f"team-{number:02d}.yaml", account_id, team_keys)
        ids.append(account_id)
    return ids


def _read(server: EmulatorServer, folder: Path, budget: ReadBudget | None = None) -> float:
    config, _ = load_or_raise([folder])
    with InfobipClient(base_url=server.base_url, credentials=ADMIN, budget=budget) as client:
        started = time.monotonic()
        live = read_live_keys(client, config, StateDocument())
        elapsed = time.monotonic() - started
    # Every declared key is live, and nothing else is.
    assert sum(len(read.keys) for read in live.values()) == len(config.keys)
    return elapsed


def test_20_accounts_are_read_at_once_each_within_its_own_limit(
    make_server: MakeServer, project: Callable[[EmulatorServer], Workspace]
) -> None:
    server = make_server()  # 10 reads/s per account
    ws = project(server)
    accounts = _teams(server, ws.manifests, 20, 200)
    adopted = ws.apply()
    assert adopted.code == 0, adopted
    time.sleep(1.0)  # the server's read buckets fill again

    with ws.counting() as made:
        outcome = ws.plan("--detailed-exitcode")
    assert outcome.code == 0 and "No changes." in outcome.out, outcome
    # ceil(200/100) list requests per account, nothing else, and no 429.
    assert made == {LIST: 2 * len(accounts)}
    assert "429" not in server.control.stats()["statuses"]
    for account_id in accounts:
        assert f"Reading live keys of account {account_id} … 200 keys in 2 requests." in outcome.err

    time.sleep(1.0)
    # Paced at one read a second per account, 20 accounts of two requests each take over
    # 20 s one after another and about 1 s all at once: a bound of 10 s tells the two apart
    # however loaded the machine is.
    elapsed = _read(server, ws.manifests, ReadBudget(1.0))
    assert 0.9 <= elapsed < 10  # paced: each account's second read waited its second
    assert "429" not in server.control.stats()["statuses"]


def test_a_caller_wide_limit_slows_to_the_shared_floor_without_failing(
    make_server: MakeServer, tmp_path: Path
) -> None:
    server = make_server(limit_scope="caller")  # one 10 reads/s for all accounts
    _teams(server, tmp_path, 5, 1_000)
    budget = ReadBudget()
    elapsed = _read(server, tmp_path, budget)
    shared_floor = 5 * 10 / 10  # 50 list requests at 10/s
    assert budget.shared
    assert 0 < budget.throttles == server.control.stats()["statuses"]["429"] <= 10
    # Near the floor, not slowed down step by step (a backoff that kept halving the rate
    # would take many times longer); the margin is for a loaded machine.
    assert 0.8 * shared_floor <= elapsed <= 2.5 * shared_floor


def _declare_new(ws: Workspace, account: str, prefix: str, count: int) -> None:
    keys = "\n".join(
        f"  {prefix}-{i}:\n    scopes: [sms:message:send]\n    allowed_ips: [10.0.0.0/8]"
        for i in range(count)
    )
    ws.write(f"version: 1\naccount: {account!r}\napi_keys:\n{keys}\n", f"{prefix}.yaml")


def test_plan_text_is_grouped_by_account_with_each_accounts_writes(
    emulator: EmulatorServer, project: Callable[[EmulatorServer], Workspace]
) -> None:
    workspace = project(emulator)
    first = emulator.control.add_account("team-a")
    second = emulator.control.add_account("team-b")
    _declare_new(workspace, second, "bee", 1)
    _declare_new(workspace, first, "ant", 2)
    _declare_new(workspace, "_", "own", 3)
    outcome = workspace.plan()
    assert outcome.code == 0, outcome
    headings = [line for line in outcome.out.splitlines() if line.startswith("Account ")]
    expected = {first: 2, second: 1, "_": 3}
    assert headings == [
        f"Account {account}: {expected[account]} Infobip "
        f"{'write' if expected[account] == 1 else 'writes'} of 40 allowed per day"
        for account in sorted(expected)
    ]
    for account in sorted(expected):
        prefix = {first: "ant", second: "bee", "_": "own"}[account]
        section = outcome.out.split(f"Account {account}:")[1].split("Account ")[0]
        assert section.count("will be created") == expected[account]
        assert f"api_keys.{prefix}-0 will be created" in section
    assert "Infobip writes: 6 in 3 accounts, at most 3 of 40 allowed per day in one." in (
        outcome.out
    )


def test_one_account_plan_has_no_account_heading(
    emulator: EmulatorServer, project: Callable[[EmulatorServer], Workspace]
) -> None:
    workspace = project(emulator)
    _declare_new(workspace, "_", "own", 2)
    outcome = workspace.plan()
    assert not any(line.startswith("Account ") for line in outcome.out.splitlines())
    assert "Infobip writes: 2 of 40 allowed per day." in outcome.out


def test_apply_writes_each_account_within_its_own_daily_limit(
    make_server: MakeServer, project: Callable[[EmulatorServer], Workspace]
) -> None:
    server = make_server(write_limit=2)  # Infobip's 40 a day per account, made small
    ws = project(server)
    first = server.control.add_account("team-a")
    second = server.control.add_account("team-b")
    _declare_new(ws, first, "ant", 3)
    _declare_new(ws, second, "bee", 3)

    refused = ws.apply("--max-writes", "2")
    assert refused.code == 1
    assert "needs 3 Infobip writes in account" in refused.err
    assert ws.requests().get("POST /settings/2/api-keys", 0) == 0

    # Six writes in all, but three per account: --max-writes counts per account.
    stopped = ws.apply("--max-writes", "3")
    assert stopped.code == 3, stopped
    # The limit reached in the first account did not stop the second's writes.
    assert len(ws.live(first)) == len(ws.live(second)) == 2
    assert "Left to do: create api_keys.ant-2, create api_keys.bee-2." in stopped.err

    server.control.advance_clock("1d")
    resumed = ws.apply()
    assert resumed.code == 0, resumed
    assert len(ws.live(first)) == len(ws.live(second)) == 3
    ws.assert_converged()

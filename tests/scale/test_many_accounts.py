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
    elapsed = _read(server, ws.manifests)
    # One after another, 20 accounts of two paced requests take over 2 s.
    assert elapsed < 1.5
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
    assert elapsed <= 1.5 * shared_floor

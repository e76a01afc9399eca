"""Rate limits: 10 reads per second and 40 writes per UTC day by default, per account or per
caller, with Retry-After on every 429."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest

from infobip_iac.emulator import EmulatorServer
from infobip_iac.emulator.limits import seconds_to_midnight

KEYS = "/settings/2/api-keys"

MakeEmulator = Callable[..., EmulatorServer]


@pytest.fixture
def clients() -> Iterator[Callable[[EmulatorServer, str, str], httpx.Client]]:
    opened: list[httpx.Client] = []

    def client(
        server: EmulatorServer, user: str = "admin", password: str = "admin"
    ) -> httpx.Client:
        opened.append(httpx.Client(base_url=server.base_url, auth=(user, password), timeout=10))
        return opened[-1]

    yield client
    for each in opened:
        each.close()


def test_reads_over_ten_per_second_get_429_with_retry_after_1(
    make_emulator: MakeEmulator, clients: Callable[..., httpx.Client]
) -> None:
    api = clients(make_emulator())
    key = api.post(KEYS, json={"name": "k"}).json()
    # 40 reads at 10 per second (bursts of 10) meet the limit unless they take over 3 s.
    answers = [api.get(KEYS if i % 2 else f"{KEYS}/{key['id']}") for i in range(40)]
    assert [a.status_code for a in answers[:10]] == [200] * 10
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.headers["Retry-After"] == "1"
    assert refused.json()["errorCode"] == "E429"


def test_read_budget_refills_with_real_time(
    make_emulator: MakeEmulator, clients: Callable[..., httpx.Client]
) -> None:
    api = clients(make_emulator(read_rate=5))
    statuses = [api.get(KEYS).status_code for _ in range(40)]
    assert 429 in statuses
    time.sleep(0.5)  # 5 per second: two and a half reads' worth
    assert api.get(KEYS).status_code == 200


def test_writes_over_the_daily_limit_get_429_until_utc_midnight(
    make_emulator: MakeEmulator, clients: Callable[..., httpx.Client]
) -> None:
    server = make_emulator(write_limit=3, read_rate=0)
    api = clients(server)
    server.control.set_clock("2030-06-01T23:00:00Z")
    ids = [api.post(KEYS, json={"name": f"k{i}"}).json()["id"] for i in range(2)]
    assert api.put(f"{KEYS}/{ids[0]}", json={"enabled": False}).status_code == 200
    refused = api.post(KEYS, json={"name": "one too many"})
    assert refused.status_code == 429
    assert refused.json()["errorCode"] == "E429"
    assert 3500 <= int(refused.headers["Retry-After"]) <= 3600
    assert api.put(f"{KEYS}/{ids[1]}", json={"name": "x"}).status_code == 429
    assert api.get(KEYS).status_code == 200  # reads have their own budget
    server.control.advance_clock("1h")
    assert api.post(KEYS, json={"name": "next day"}).status_code == 200


def test_refused_writes_use_the_budget_too(
    make_emulator: MakeEmulator, clients: Callable[..., httpx.Client]
) -> None:
    api = clients(make_emulator(write_limit=3, read_rate=0))
    assert api.post(KEYS, json={"name": ""}).status_code == 400
    assert api.put(f"{KEYS}/{'A' * 32}", json={"name": "x"}).status_code == 404
    assert api.post(KEYS, json={"name": "ok"}).status_code == 200
    assert api.post(KEYS, json={"name": "over"}).status_code == 429


def test_only_successful_writes_count_when_told_so(
    make_emulator: MakeEmulator, clients: Callable[..., httpx.Client]
) -> None:
    api = clients(make_emulator(write_limit=1, read_rate=0, count_refused_writes=False))
    for _ in range(3):
        assert api.post(KEYS, json={"name": ""}).status_code == 400
    assert api.put(f"{KEYS}/{'A' * 32}", json={"name": "x"}).status_code == 404
    assert api.post(KEYS, json={"name": "ok"}).status_code == 200
    assert api.post(KEYS, json={"name": "over"}).status_code == 429


def test_limits_are_per_account_by_default(
    make_emulator: MakeEmulator, clients: Callable[..., httpx.Client]
) -> None:
    server = make_emulator(write_limit=1, read_rate=0)
    sub = server.control.add_account("B")
    server.control.add_user("second", "pw")
    admin, second = clients(server), clients(server, "second", "pw")
    assert admin.post(KEYS, json={"name": "a"}).status_code == 200
    assert second.post(KEYS, json={"name": "b"}).status_code == 429  # same account
    assert second.post(KEYS, json={"name": "b", "accountId": sub}).status_code == 200


def test_limits_per_caller(
    make_emulator: MakeEmulator, clients: Callable[..., httpx.Client]
) -> None:
    server = make_emulator(write_limit=1, read_rate=0, limit_scope="caller")
    server.control.add_user("second", "pw")
    admin, second = clients(server), clients(server, "second", "pw")
    assert admin.post(KEYS, json={"name": "a"}).status_code == 200
    assert admin.post(KEYS, json={"name": "a2"}).status_code == 429
    assert second.post(KEYS, json={"name": "b"}).status_code == 200


def test_zero_means_unlimited(
    make_emulator: MakeEmulator, clients: Callable[..., httpx.Client]
) -> None:
    api = clients(make_emulator(write_limit=0, read_rate=0))
    assert all(api.post(KEYS, json={"name": f"k{i}"}).status_code == 200 for i in range(45))
    assert all(api.get(KEYS, params={"size": 1}).status_code == 200 for _ in range(30))


def test_seconds_to_midnight_is_whole_and_positive() -> None:
    assert seconds_to_midnight(datetime(2030, 1, 1, 23, 59, 59, 500000, tzinfo=UTC)) == 1
    assert seconds_to_midnight(datetime(2030, 1, 1, 0, 0, 0, tzinfo=UTC)) == 86400

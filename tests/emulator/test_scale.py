"""Infobip-sized accounts: seeding 20,000 keys with a data file, and reading 100-key pages of
them (ordered and filtered), within the issue's targets."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from infobip_iac.emulator import EmulatorServer

KEYS = "/settings/2/api-keys"


def test_twenty_thousand_keys_seed_and_page_fast(
    make_emulator: Callable[..., EmulatorServer], tmp_path: Path
) -> None:
    server = make_emulator(data_path=tmp_path / "emulator.json", read_rate=0)
    started = time.perf_counter()
    ids = server.control.seed(
        [{"name": f"key-{i:05d}", "enabled": i % 4 != 0} for i in range(20_000)]
    )
    assert time.perf_counter() - started < 10
    timings = []
    with httpx.Client(base_url=server.base_url, auth=("admin", "admin"), timeout=30) as api:
        for page in range(0, 100, 5):
            started = time.perf_counter()
            answer = api.get(KEYS, params={"page": page, "size": 100})
            timings.append(time.perf_counter() - started)
            assert [k["id"] for k in answer.json()["apiKeys"]] == sorted(ids)[
                page * 100 : page * 100 + 100
            ]
        assert statistics.median(timings) < 0.05
        enabled = api.get(KEYS, params={"enabled": "true", "page": 100}).json()
        assert enabled["paging"]["totalCount"] == 15_000
        assert len(enabled["apiKeys"]) == 100
        named = api.get(KEYS, params={"name": "key-12345"}).json()["apiKeys"]
        assert [k["name"] for k in named] == ["key-12345"]

"""Reads at Infobip's floor: ceil(N/100) list requests, paced to use 10 reads a second
without a 429, and far fewer requests than a refresh that reads each key on its own."""

from __future__ import annotations

import math
import time

from infobip_iac.domain.secret import Secret
from infobip_iac.infobip.client import InfobipClient
from infobip_iac.infobip.pacing import ReadBudget
from infobip_iac.infobip.settings import UserCredentials
from scale.conftest import MakeServer, busy_keys, seed_keys

ADMIN = UserCredentials("admin", Secret("admin"))
LIST = "GET /settings/2/api-keys"
GET_ONE = "GET /settings/2/api-keys/{apiKeyId}"


def test_2000_keys_are_read_within_a_fifth_over_the_floor_without_a_429(
    make_server: MakeServer,
) -> None:
    server = make_server()  # Infobip's 10 reads per second
    seed_keys(server, busy_keys(2_000), None)
    with InfobipClient(base_url=server.base_url, credentials=ADMIN) as client:
        started = time.monotonic()
        result = client.list_keys("_")
        elapsed = time.monotonic() - started
    floor = math.ceil(2_000 / 100) / 10
    assert len(result.keys) == 2_000 and result.complete
    assert result.requests == server.control.stats()["requests"][LIST] == 20
    assert "429" not in server.control.stats()["statuses"]
    # Paced, not a burst: twenty requests at 10/s cannot take less than 19 gaps.
    assert 1.9 <= elapsed <= 1.2 * floor


def test_a_listing_takes_over_50_times_fewer_requests_than_a_refresh_per_key(
    make_server: MakeServer,
) -> None:
    server = make_server(read_rate=0)
    seed_keys(server, busy_keys(1_000), None)

    def requests() -> int:
        counts = server.control.stats()["requests"]
        return int(counts.get(LIST, 0) + counts.get(GET_ONE, 0))

    budget = ReadBudget(1_000_000.0)
    with InfobipClient(base_url=server.base_url, credentials=ADMIN, budget=budget) as client:
        before = requests()
        ours = client.list_keys("_")
        listing = requests() - before
        # What a typical Terraform provider does on refresh: the ids, then each key alone.
        before = requests()
        for key in client.list_keys("_").keys:
            assert client.get_key(key.id, account="_") == key
        per_key = requests() - before
    assert len(ours.keys) == 1_000
    assert listing == 10
    assert per_key == 10 + 1_000
    assert per_key / listing >= 50

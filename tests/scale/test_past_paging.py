"""An account of more keys than one filter pages through from both its ends: every declared
key is found, so the plan adopts each and creates none.

21,000 keys: 800 in the middle, past the 20,200 both ends of the id order reach, which the
client finds by a sweep in name order and then look-ups by name, at well under half the
cost of 25,000 (the size benchmarks/scale_past_paging.py measures, where a sweep by
validFrom joins in; tests/infobip/test_listing.py covers each way on its own)."""

from __future__ import annotations

import math

import pytest

from infobip_iac.domain.keys import DesiredConfig, DesiredKey, key_address
from infobip_iac.domain.plan import Action
from infobip_iac.domain.secret import Secret
from infobip_iac.engine.plan import make_plan
from infobip_iac.infobip.client import InfobipClient
from infobip_iac.infobip.listing import BOTH_ENDS
from infobip_iac.infobip.pacing import ReadBudget
from infobip_iac.infobip.settings import UserCredentials
from infobip_iac.state.model import StateDocument
from scale.conftest import MakeServer, busy_keys, seed_keys

LIST = "GET /settings/2/api-keys"
KEYS = 21_000


@pytest.mark.slow
def test_keys_past_both_ends_every_declared_key_found_and_none_created(
    make_server: MakeServer,
) -> None:
    server = make_server(read_rate=0)  # the limit lifted: this is about finding, not pace
    keys = busy_keys(KEYS)
    seed_keys(server, keys, None)
    names = [key["name"] for key in keys]
    budget = ReadBudget(1_000_000.0)
    credentials = UserCredentials("admin", Secret("admin"))
    with InfobipClient(base_url=server.base_url, credentials=credentials, budget=budget) as client:
        read = client.list_keys("_", names=names)
        now = client.server_time()
    assert {key.name for key in read.keys} == set(names)
    assert KEYS > BOTH_ENDS
    assert len(read.keys) == KEYS and read.complete
    assert any(f"more than the {BOTH_ENDS:,}" in note for note in read.notes)
    # The middle was reached the two ways: a sweep in name order, then look-ups by name.
    assert any("then by name;" in note and "looked up one by one" in note for note in read.notes)
    requests = server.control.stats()["requests"][LIST]
    assert requests == read.requests
    # More than ceil(N/100) (the paging limit's price), far less than a request per key.
    assert math.ceil(KEYS / 100) < requests < KEYS / 20

    declared = DesiredConfig(
        keys={
            key_address(name): DesiredKey(address=key_address(name), ident=name, name=name)
            for name in names
        }
    )
    plan = make_plan(declared, StateDocument(), {"_": read}, now=now)
    assert plan.count(Action.CREATE) == 0
    assert sum(1 for change in plan.changes if change.adopted_by_name) == KEYS

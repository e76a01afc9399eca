"""25,000 keys in one account, past what one filter pages through: every declared key is
found, so the plan adopts each and creates none."""

from __future__ import annotations

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


@pytest.mark.slow
def test_25000_keys_every_declared_key_found_and_none_created(make_server: MakeServer) -> None:
    server = make_server(read_rate=0)  # the limit lifted: this is about finding, not pace
    keys = busy_keys(25_000)
    seed_keys(server, keys, None)
    names = [key["name"] for key in keys]
    budget = ReadBudget(1_000_000.0)
    credentials = UserCredentials("admin", Secret("admin"))
    with InfobipClient(base_url=server.base_url, credentials=credentials, budget=budget) as client:
        read = client.list_keys("_", names=names)
        now = client.server_time()
    assert {key.name for key in read.keys} == set(names)
    assert len(read.keys) == 25_000 and read.complete
    assert any(f"more than the {BOTH_ENDS:,}" in note for note in read.notes)
    requests = server.control.stats()["requests"][LIST]
    assert requests == read.requests
    # More than ceil(N/100) (the paging limit's price), far less than a request per key.
    assert 250 < requests < 1_250

    declared = DesiredConfig(
        keys={
            key_address(name): DesiredKey(address=key_address(name), ident=name, name=name)
            for name in names
        }
    )
    plan = make_plan(declared, StateDocument(), {"_": read}, now=now)
    assert plan.count(Action.CREATE) == 0
    assert sum(1 for change in plan.changes if change.adopted_by_name) == 25_000

"""ResourceState: what the state records of a live key."""

from __future__ import annotations

from infobip_iac.domain.keys import LiveKey
from infobip_iac.state.model import ResourceState, SecretRecord

ACCOUNT_ID = "8F0792F86035A9F4290821F1EE6BC06A"


def test_an_entry_of_a_live_key_records_what_infobip_showed() -> None:
    key = LiveKey(id="K1", account_id=ACCOUNT_ID, name="billing", scopes=frozenset({"sms:send"}))
    entry = ResourceState.of_live_key(key, account="_", valid_for="90d", prevent_revoke=True)
    assert (entry.id, entry.account, entry.account_id, entry.name) == (
        "K1",
        "_",
        ACCOUNT_ID,
        "billing",
    )
    assert entry.attributes == key.attributes()
    assert entry.valid_for == "90d" and entry.prevent_revoke and entry.secret is None


def test_an_entry_keeps_the_secret_record_it_is_given() -> None:
    key = LiveKey(id="K2", account_id=ACCOUNT_ID, name="ci")
    record = SecretRecord(sink="none", status="not-requested")
    entry = ResourceState.of_live_key(key, account=ACCOUNT_ID, secret=record)
    assert entry.secret == record
    assert entry.valid_for is None and not entry.prevent_revoke

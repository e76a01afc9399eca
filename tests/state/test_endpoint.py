"""A state belongs to one endpoint: it records where its keys live, a run against another
endpoint is refused naming both, and a version-1 state (which does not say) takes the
endpoint of the next run that writes it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infobip_iac.errors import StateError
from infobip_iac.state.model import EMULATOR_ENDPOINT, STATE_VERSION
from infobip_iac.state.store import StateStore

from .conftest import DATA, make_document

HERE = "https://aaaaa.api.infobip.com"
THERE = "https://bbbbb.api.infobip.com"


def test_a_write_records_the_endpoint_and_the_accounts_of_its_keys(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state.json", endpoint=HERE)
    store.write(make_document("a", "b"))

    on_disk = json.loads(store.path.read_text())
    assert on_disk["endpoint"] == HERE
    assert on_disk["accounts"] == ["8F0792F86035A9F4290821F1EE6BC06A"]
    assert StateStore(store.path, endpoint=HERE).read().endpoint == HERE


@pytest.mark.parametrize("other", [THERE, EMULATOR_ENDPOINT])
def test_a_run_against_another_endpoint_is_refused_naming_both(tmp_path: Path, other: str) -> None:
    StateStore(tmp_path / "state.json", endpoint=HERE).write(make_document("a"))
    before = (tmp_path / "state.json").read_bytes()

    with pytest.raises(StateError) as refused:
        StateStore(tmp_path / "state.json", endpoint=other).read()

    message = str(refused.value)
    assert HERE in message and "8F0792F86035A9F4290821F1EE6BC06A" in message
    assert (other if other != EMULATOR_ENDPOINT else "embedded emulator (--emulator)") in message
    assert "--state FILE" in message
    assert ("state set-endpoint" in message) is (other != EMULATOR_ENDPOINT)
    assert (tmp_path / "state.json").read_bytes() == before


def test_the_state_commands_reach_no_endpoint_and_keep_the_recorded_one(tmp_path: Path) -> None:
    StateStore(tmp_path / "state.json", endpoint=HERE).write(make_document("a", "b"))
    anywhere = StateStore(tmp_path / "state.json")

    doc = anywhere.read()
    del doc.resources["api_keys.b"]
    anywhere.write(doc)

    assert StateStore(tmp_path / "state.json").read().endpoint == HERE


def test_a_state_without_keys_is_taken_over_by_another_endpoint(tmp_path: Path) -> None:
    StateStore(tmp_path / "state.json", endpoint=HERE).write(make_document())
    there = StateStore(tmp_path / "state.json", endpoint=THERE)

    there.write(there.read())

    assert there.read().endpoint == THERE


def test_a_version_1_state_keeps_working_and_adopts_the_endpoint_of_the_next_write(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.json"
    path.write_text((DATA / "state_v1.json").read_text())
    store = StateStore(path, endpoint=THERE)

    doc = store.read()
    assert doc.endpoint is None and len(doc.resources) == 3
    assert doc.accounts == ["8F0792F86035A9F4290821F1EE6BC06A"]
    store.write(doc)

    on_disk = json.loads(path.read_text())
    assert on_disk["version"] == STATE_VERSION == 3
    assert on_disk["endpoint"] == THERE
    assert list(on_disk)[-1] == "resources"  # the documented field order is kept
    with pytest.raises(StateError, match=THERE):
        StateStore(path, endpoint=HERE).read()

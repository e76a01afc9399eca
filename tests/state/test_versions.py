"""Version dispatch: old formats are upgraded step by step, newer ones refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infobip_iac.errors import StateError
from infobip_iac.state import versions
from infobip_iac.state.model import STATE_VERSION
from infobip_iac.state.store import StateStore
from infobip_iac.state.versions import upgrade_document

from .conftest import DATA

# A made-up version 0: keys under "keys", each with "key_id" and "display_name".
SYNTHETIC_V0: dict[str, Any] = {
    "version": 0,
    "lineage": "0b5e0f0e-8a3b-4f3f-9e58-9a1e0f0c0d0e",
    "serial": 4,
    "keys": {"api_keys.ci": {"key_id": "ABC", "display_name": "CI", "account": "_"}},
}


def v0_to_v1(raw: dict[str, Any]) -> dict[str, Any]:
    keys = raw.pop("keys")
    raw["resources"] = {
        address: {"id": key["key_id"], "name": key["display_name"], "account": key["account"]}
        for address, key in keys.items()
    }
    return raw


def v1_to_v2(raw: dict[str, Any]) -> dict[str, Any]:
    raw["upgraded_twice"] = True
    return raw


def test_a_v0_document_is_upgraded_to_v1() -> None:
    upgraded = upgrade_document(dict(SYNTHETIC_V0), where="test", steps={0: v0_to_v1}, target=1)

    assert upgraded["version"] == 1
    assert upgraded["resources"]["api_keys.ci"] == {"id": "ABC", "name": "CI", "account": "_"}
    assert upgraded["serial"] == 4


def test_upgrades_run_one_step_at_a_time_in_order() -> None:
    calls: list[int] = []

    def record(version: int, step: versions.Upgrade) -> versions.Upgrade:
        def run(raw: dict[str, Any]) -> dict[str, Any]:
            calls.append(version)
            assert raw["version"] == version  # each step sees the version it upgrades
            return step(raw)

        return run

    steps = {0: record(0, v0_to_v1), 1: record(1, v1_to_v2)}
    upgraded = upgrade_document(dict(SYNTHETIC_V0), where="test", steps=steps, target=2)

    assert calls == [0, 1]
    assert upgraded["version"] == 2
    assert upgraded["upgraded_twice"] is True


def test_a_missing_upgrade_step_is_a_state_error() -> None:
    with pytest.raises(StateError, match="cannot upgrade"):
        upgrade_document(dict(SYNTHETIC_V0), where="test", steps={}, target=1)


def test_a_version_from_the_future_is_refused_clearly() -> None:
    newer = {"version": 9, "lineage": "b1", "serial": 3, "resources": {}}
    with pytest.raises(StateError, match=r"version 9, but this infobip-iac reads versions up to 1"):
        upgrade_document(newer, where="test", target=1)


def test_a_state_holding_a_predecessor_to_revoke_is_refused_by_a_version_2_reader() -> None:
    """A version-2 infobip-iac would call the file malformed; it is told to upgrade."""
    written = json.loads((DATA / "state_v3.json").read_text())
    assert STATE_VERSION == written["version"] == 3

    with pytest.raises(StateError, match="written by a newer infobip-iac"):
        upgrade_document(written, where="test", target=2)


TERRAFORM_STATE = {
    "version": 4,
    "terraform_version": "1.5.0",
    "serial": 3,
    "lineage": "abc",
    "outputs": {},
    "resources": [],
}


@pytest.mark.parametrize(
    ("document", "found"),
    [
        (TERRAFORM_STATE, "Terraform 1.5.0 wrote it"),
        ({**TERRAFORM_STATE, "version": 1}, "Terraform 1.5.0 wrote it"),
        ({"version": 99, "name": "x"}, "it has format version 99 but not the lineage"),
        ({"version": 99, "lineage": "a", "serial": 1, "resources": []}, "it has format version 99"),
        ({"name": "x"}, 'it has no valid "version" field (found None)'),
    ],
)
def test_a_document_of_another_tool_is_not_blamed_on_a_newer_infobip_iac(
    document: dict[str, Any], found: str
) -> None:
    with pytest.raises(StateError) as caught:
        upgrade_document(dict(document), where="the state file tf.json")

    message = str(caught.value)
    assert message.startswith(f"the state file tf.json is not an infobip-iac state: {found}")
    assert "--state" in message
    assert "newer" not in message


@pytest.mark.parametrize("version", [None, "1", True, -1, 1.5])
def test_a_missing_or_malformed_version_is_a_state_error(version: object) -> None:
    with pytest.raises(StateError, match='no valid "version"'):
        upgrade_document({"version": version}, where="test")


def test_the_store_reads_a_v0_file_through_the_registry_and_writes_the_current_version(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(versions.UPGRADES, 0, v0_to_v1)
    store.path.parent.mkdir(parents=True)
    store.path.write_text(json.dumps(SYNTHETIC_V0))

    doc = store.read()
    stored = store.write(doc)

    assert doc.resources["api_keys.ci"].id == "ABC"
    assert (stored.version, stored.serial) == (STATE_VERSION, 5)
    assert json.loads(store.path.read_text())["version"] == STATE_VERSION
    assert json.loads(store.backup_path.read_text())["version"] == 0  # the original is kept

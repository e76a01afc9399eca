"""The domain's values are plain frozen dataclasses: pydantic stays at the edges (the
manifest's models, the state file, the plan file), so the core neither pays for it nor
depends on it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import infobip_iac.domain
from infobip_iac.domain import keys, plan

DOMAIN = Path(infobip_iac.domain.__file__).parent


def test_no_domain_module_mentions_pydantic() -> None:
    sources = sorted(DOMAIN.glob("*.py"))
    assert sources
    for source in sources:
        assert "pydantic" not in source.read_text(encoding="utf-8"), source.name


def _value_types() -> list[type]:
    return [
        value
        for module in (keys, plan)
        for value in vars(module).values()
        if isinstance(value, type)
        and value.__module__ == module.__name__
        and dataclasses.is_dataclass(value)
    ]


@pytest.mark.parametrize("value_type", _value_types(), ids=lambda t: t.__name__)
def test_every_value_is_frozen_and_slotted(value_type: type) -> None:
    params = value_type.__dataclass_params__  # type: ignore[attr-defined]
    assert params.frozen
    assert "__slots__" in vars(value_type)
    assert "__dict__" not in vars(value_type)


def test_the_expected_values_are_dataclasses() -> None:
    names = {value.__name__ for value in _value_types()}
    assert names >= {
        "SourceRef",
        "PlatformLink",
        "SecretSinkSpec",
        "Lifecycle",
        "DesiredKey",
        "LiveKey",
        "KeyWrite",
        "MovedBlock",
        "ImportBlock",
        "Policy",
        "DesiredConfig",
        "AttributeChange",
        "RotationNote",
        "DeferredRotation",
        "WaitingPredecessor",
        "ResourceChange",
        "ChangeAuthor",
        "DriftItem",
        "UnmanagedKey",
        "AccountRead",
        "Plan",
    }


def test_a_value_cannot_be_changed_and_hashes_by_its_fields() -> None:
    link = keys.PlatformLink(application_id="app", entity_id="shop")
    with pytest.raises(dataclasses.FrozenInstanceError):
        link.action = "FILL"  # type: ignore[misc]
    same = keys.PlatformLink(application_id="app", entity_id="shop")
    assert link == same and hash(link) == hash(same)
    assert link != dataclasses.replace(link, action="FILL")


def test_mutable_defaults_are_not_shared() -> None:
    first = plan.Plan(created_at=datetime(2026, 1, 1, tzinfo=UTC))
    second = plan.Plan(created_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert first.writes_left is not second.writes_left
    assert keys.DesiredConfig().keys is not keys.DesiredConfig().keys


def test_a_write_sends_its_set_fields_but_never_valid_for() -> None:
    write = keys.KeyWrite(name="n", enabled=False, valid_for=None)
    assert write.sent() == {"name": "n", "enabled": False}
    relative = dataclasses.replace(write, valid_for=timedelta(days=1))
    assert relative.sent() == write.sent()


def test_a_link_as_json_leaves_out_what_it_does_not_set() -> None:
    assert keys.PlatformLink(application_id="a").as_json() == {"application_id": "a"}
    full = keys.PlatformLink(application_id="a", entity_id="e", action="FORCE")
    assert list(full.as_json()) == ["application_id", "entity_id", "action"]

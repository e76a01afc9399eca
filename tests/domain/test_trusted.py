"""Models built by `trusted` behave as validated ones: equal, hashable, dumpable, copyable."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from infobip_iac.domain.keys import DesiredKey, Lifecycle, SecretSinkSpec, SourceRef
from infobip_iac.domain.plan import Action, AttributeChange, Reason, ResourceChange
from infobip_iac.domain.rotation import RotationPolicy
from infobip_iac.domain.trusted import trusted


def _desired_fields() -> dict[str, Any]:
    return {
        "address": "api_keys.ci",
        "ident": "ci",
        "account": "_",
        "name": "CI",
        "scopes": frozenset({"sms:message:send"}),
        "permissions": frozenset(),
        "platform": (),
        "allowed_ips": frozenset({"10.0.0.0/8"}),
        "valid_from": datetime(2027, 1, 1, tzinfo=UTC),
        "valid_to": None,
        "valid_for": timedelta(days=90),
        "enabled": True,
        "secret": SecretSinkSpec(sink="file", path="s/{address}.env"),
        "lifecycle": Lifecycle(prevent_revoke=True),
        "rotation": RotationPolicy(
            every=timedelta(days=30), before_expiry=None, overlap=timedelta(days=2)
        ),
        "source": SourceRef(file="keys.yaml", line=3, column=3),
        "valid_from_source": SourceRef(file="keys.yaml", line=4, column=17),
        "valid_to_source": SourceRef(file="keys.yaml", line=5, column=16),
    }


def _change_fields() -> dict[str, Any]:
    return {
        "address": "api_keys.ci",
        "account": "_",
        "name": "CI",
        "action": Action.UPDATE,
        "reason": Reason.CHANGED,
        "key_id": "AB" * 16,
        "before": {"name": "old"},
        "after": {"name": "CI"},
        "after_unknown": (),
        "changes": (AttributeChange(attribute="name", before="old", after="CI"),),
        "write": None,
        "writes": 1,
        "secret_sink": None,
        "importing_id": None,
        "adopted_by_name": False,
        "previous_address": None,
        "ignored": (),
        "forget": False,
        "prevent_revoke": False,
        "rotation": None,
    }


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        (DesiredKey, _desired_fields()),
        (ResourceChange, _change_fields()),
        (SourceRef, {"file": "a.yaml", "line": 1, "column": 2}),
    ],
)
def test_a_trusted_model_is_the_validated_one(
    model: type[BaseModel], fields: dict[str, Any]
) -> None:
    assert model.__pydantic_post_init__ is None  # nothing that `trusted` would skip
    built = trusted(model, dict(fields))
    validated = model(**fields)
    assert built == validated
    assert _hash(built) == _hash(validated)
    assert built.model_dump() == validated.model_dump()
    assert built.model_dump_json() == validated.model_dump_json()
    assert built.model_fields_set == set(model.model_fields)
    assert pickle.loads(pickle.dumps(built)) == validated
    first = next(iter(model.model_fields))
    copied = built.model_copy(update={first: fields[first]})
    assert copied == validated
    # the fields set trusted instances share is never changed through one of them
    other = trusted(model, dict(fields))
    assert other.model_fields_set is built.model_fields_set
    assert copied.model_fields_set is not built.model_fields_set
    assert built.model_copy(deep=True).model_fields_set == set(model.model_fields)
    with pytest.raises(ValueError, match="frozen"):
        setattr(built, first, fields[first])


def _hash(model: BaseModel) -> int | str:
    try:
        return hash(model)
    except TypeError as unhashable:  # a model with a dict field, either way
        return str(unhashable)


def test_every_field_must_be_named() -> None:
    fields = _desired_fields()
    del fields["source"]
    with pytest.raises(TypeError, match=r"missing fields \['source'\]"):
        trusted(DesiredKey, fields)
    with pytest.raises(TypeError, match=r"unknown fields \['colour'\]"):
        trusted(SourceRef, {"file": "a.yaml", "line": 1, "column": 2, "colour": "red"})

"""Build domain models from values that are already of their field types, without validating.

The manifest pipeline and the planner build tens of thousands of frozen models (a
DesiredKey per declared key, a ResourceChange per planned key) from values they have just
checked or computed themselves. Validation would only copy them again, and pydantic's own
`model_construct` spends longer filling defaults than validation does; `trusted` does what
`model_construct` does for a caller that passes every field, at a quarter of the cost.

tests/domain/test_trusted.py pins that a model built here equals, dumps and hashes like
one that pydantic validated, so a pydantic upgrade that changes the model layout fails
there rather than in a plan.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

__all__ = ["trusted"]

_M = TypeVar("_M", bound=BaseModel)

# Per model: its field names, and the one `model_fields_set` its trusted instances share.
# Sharing is safe: every trusted instance sets every field, pydantic copies the set before
# it changes one (model_copy), and these models are frozen. One set less per instance is
# also one object less for the cyclic collector to walk in a 10,000-key plan.
_FIELDS: dict[type[BaseModel], tuple[frozenset[str], set[str]]] = {}
_set = object.__setattr__


def trusted(model: type[_M], values: dict[str, Any]) -> _M:
    """An instance of `model` holding `values` (taken over, not copied).

    `values` must name every field of `model` (in declaration order, for a readable repr)
    and hold values of the field types: nothing is converted or checked except the names.
    """
    known = _FIELDS.get(model)
    if known is None:
        known = _FIELDS[model] = (frozenset(model.model_fields), set(model.model_fields))
    names, fields_set = known
    if values.keys() != names:
        missing, unknown = sorted(names - values.keys()), sorted(values.keys() - names)
        raise TypeError(f"{model.__name__}: missing fields {missing}, unknown fields {unknown}")
    instance = model.__new__(model)
    _set(instance, "__dict__", values)
    _set(instance, "__pydantic_fields_set__", fields_set)
    _set(instance, "__pydantic_extra__", None)
    _set(instance, "__pydantic_private__", None)
    return instance

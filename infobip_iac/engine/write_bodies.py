"""The bodies of the writes a plan asks for: the full key of a create, the changed fields
of an update. Apply sends them as they are (`ResourceChange.write`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from infobip_iac.domain.attributes import CREATE_ATTRIBUTES, STRUCTURED_ATTRIBUTES, link_order
from infobip_iac.domain.keys import DesiredKey, KeyWrite
from infobip_iac.engine.diff import Attributes, wanted_values

__all__ = ["create_body", "update_body"]


def create_body(desired: DesiredKey, valid_to: datetime | None) -> KeyWrite:
    """The full key: every attribute the create request has and the declaration sets (no
    links for a key without any), with the planner's `valid_to`. A declared `valid_for`
    goes along, as what state records; it is never sent (see KeyWrite)."""
    wanted = wanted_values(desired, valid_to)
    sent = [
        attribute
        for attribute in CREATE_ATTRIBUTES
        if wanted[attribute] is not None
        and (wanted[attribute] or attribute not in STRUCTURED_ATTRIBUTES)
    ]
    write = update_body(wanted, sent)
    if desired.valid_for is not None and desired.valid_to is None:
        write = replace(write, valid_for=desired.valid_for)
    return write


def update_body(wanted: Attributes, differing: list[str]) -> KeyWrite:
    """Only the fields that change: Infobip leaves the others as they are. The values are
    the declaration's, already of the write's field types."""
    fields = {attribute: wanted[attribute] for attribute in differing}
    for attribute in STRUCTURED_ATTRIBUTES.intersection(differing):
        # A write holds its links in the order they are sent; the diff compares them as a set.
        fields[attribute] = tuple(sorted(fields[attribute], key=link_order))
    # Keyed by the attribute table's names, which are KeyWrite's fields
    # (tests/domain/test_attributes.py): a row added there reaches the body unchanged.
    return KeyWrite(**fields)

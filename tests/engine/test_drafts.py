"""The parts a planned change is built from: Subject, Decision and the diff's changes make
every field of a ResourceChange, each once; a Draft finishes with what the diff found."""

from __future__ import annotations

from dataclasses import fields

import pytest
from builders import NOW

from infobip_iac.domain.keys import KeyWrite, SecretSinkSpec
from infobip_iac.domain.plan import Action, AttributeChange, Reason, ResourceChange, RotationNote
from infobip_iac.engine.drafts import Decision, Draft, Subject, change_of, revoke

SUBJECT = Subject(
    address="api_keys.a",
    account="_",
    name="a",
    key_id="K1",
    before={"name": "a", "enabled": True},
    importing_id="K0",
    adopted_by_name=True,
    previous_address="api_keys.old",
    prevent_revoke=False,
)
DECISION = Decision(
    action=Action.REPLACE,
    reason=Reason.ROTATION,
    after={"name": "a"},
    after_unknown=("id",),
    write=KeyWrite(name="a"),
    writes=1,
    secret_sink=SecretSinkSpec(sink="stdout"),
    ignored=("allowed_ips",),
    forget=False,
    rotation=RotationNote(
        due="requested", predecessor_id="K1", overlap="7d", revoke_predecessor_after=NOW
    ),
)
MOVED = (AttributeChange(attribute="account", before="_", after="42"),)
FOUND = (AttributeChange(attribute="name", before="b", after="a"),)


def test_subject_decision_and_changes_are_the_fields_of_a_change_each_once() -> None:
    parts = [*Subject._fields, *Decision._fields, "changes"]
    assert sorted(parts) == sorted(f.name for f in fields(ResourceChange))


# Each flag set in one case and clear in the other two, so that no two are mixed up unseen.
@pytest.mark.parametrize(
    ("adopted", "prevent", "forget"),
    [(True, False, False), (False, True, False), (False, False, True)],
)
def test_every_field_of_the_change_is_taken_from_its_part(
    adopted: bool, prevent: bool, forget: bool
) -> None:
    subject = SUBJECT._replace(adopted_by_name=adopted, prevent_revoke=prevent)
    decision = DECISION._replace(forget=forget)
    change = subject.change(decision, FOUND)
    for name in Subject._fields:
        assert getattr(change, name) == getattr(subject, name), name
    for name in Decision._fields:
        assert getattr(change, name) == getattr(decision, name), name
    assert change.changes == FOUND


def test_a_draft_finishes_with_the_changes_it_knew_then_those_the_diff_found() -> None:
    draft = Draft(SUBJECT, DECISION, old={"name": "b"}, new={"name": "a"}, known=MOVED)
    assert draft.finish(FOUND).changes == MOVED + FOUND
    assert draft.finish(FOUND) == SUBJECT.change(DECISION, MOVED + FOUND)
    assert change_of(draft).changes == MOVED
    assert (draft.address, draft.account, draft.writes) == ("api_keys.a", "_", 1)


def test_a_finished_change_is_its_own_change() -> None:
    change = SUBJECT.change(DECISION)
    assert change_of(change) is change


def test_a_revoke_disables_the_live_key_and_diffs_only_enabled() -> None:
    draft = revoke(SUBJECT, Reason.REMOVED_FROM_CONFIG, forget=True)
    change = draft.finish()
    assert change.action is Action.REVOKE
    assert change.reason is Reason.REMOVED_FROM_CONFIG
    assert change.after == {"name": "a", "enabled": False}
    assert change.write == KeyWrite(enabled=False)
    assert (change.writes, change.forget) == (1, True)
    assert (draft.old, draft.new) == ({"enabled": True}, {"enabled": False})


def test_the_parts_cannot_be_changed_once_made() -> None:
    with pytest.raises(AttributeError):
        SUBJECT.address = "api_keys.b"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        DECISION.writes = 2  # type: ignore[misc]

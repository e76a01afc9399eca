"""Recovery of keys that journaled creates made but no state recorded, and its read-only
preview for plan: the same state, the same plan, nothing changed."""

from __future__ import annotations

import json
from pathlib import Path

from builders import NOW, config, declared

from engine.test_apply import Harness, harness, plan_for
from infobip_iac.domain.keys import deposed_address
from infobip_iac.domain.plan import Action
from infobip_iac.engine.apply import ApplyEvent, EventKind
from infobip_iac.engine.recovery import preview_interrupted_creates, recover_interrupted_creates
from infobip_iac.state.journal import CreateJournal, journal_path_for
from infobip_iac.state.model import StateDocument

__all__ = ["harness"]  # the fixture, shared with test_apply

SENT_AT = "2026-11-25T11:59:58+00:00"


def _journal(path: Path, **fields: object) -> None:
    entry = {
        "address": "api_keys.a",
        "account": "_",
        "name": "a",
        "sink": "file",
        "sent_at": SENT_AT,
        "valid_from_given": False,
        **fields,
    }
    body = {"version": 1, "creates": [entry]}
    journal_path_for(path).write_text(json.dumps(body), encoding="utf-8")


def _files(harness: Harness) -> dict[str, bytes]:
    folder = harness.store.path.parent
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_the_preview_is_the_state_recovery_writes_and_changes_nothing(harness: Harness) -> None:
    """An apply died after its create landed and before it wrote any state: plan must see
    the key apply will depose and revoke, with the serial and lineage recovery will write,
    so that a plan saved from it is not stale to that apply."""
    infobip = harness.infobip
    orphan = infobip.seed("a", valid_from=None)
    _journal(harness.store.path, lineage="3d1c4a55-2b8e-4f0e-9a53-5d8f1f4a6c01")
    before = _files(harness)
    notes: list[ApplyEvent] = []

    previewed = preview_interrupted_creates(
        infobip, harness.store, harness.state(), events=notes.append
    )

    assert _files(harness) == before and infobip.writes() == []
    assert not harness.store.exists()
    deposed = deposed_address("api_keys.a", orphan.id)
    assert set(previewed.resources) == {deposed}
    (note,) = notes
    assert "nobody holds its secret" in note.message and "apply will record it" in note.message

    recovered = recover_interrupted_creates(infobip, harness.store, harness.state(), events=_drop)

    assert recovered == previewed == harness.state()
    assert (recovered.lineage, recovered.serial) == ("3d1c4a55-2b8e-4f0e-9a53-5d8f1f4a6c01", 1)
    assert CreateJournal(harness.store.path).pending() == []
    plan = plan_for(infobip, config(declared("a")), previewed)
    actions = {change.address: change.action for change in plan.changes}
    assert actions == {"api_keys.a": Action.CREATE, deposed: Action.REVOKE}


def test_a_preview_of_an_existing_state_carries_the_next_serial(harness: Harness) -> None:
    infobip = harness.infobip
    harness.apply(config(declared("b")))
    state = harness.state()
    orphan = infobip.seed("a", valid_from=None)
    _journal(harness.store.path)

    previewed = preview_interrupted_creates(infobip, harness.store, state, events=_drop)

    assert (previewed.lineage, previewed.serial) == (state.lineage, state.serial + 1)
    assert harness.state() == state
    recovered = recover_interrupted_creates(infobip, harness.store, state, events=_drop)
    assert recovered == previewed
    assert deposed_address("api_keys.a", orphan.id) in recovered.resources


def test_a_journal_whose_create_never_landed_previews_the_state_as_it_is(
    harness: Harness,
) -> None:
    _journal(harness.store.path)
    state = StateDocument()

    previewed = preview_interrupted_creates(harness.infobip, harness.store, state, events=_drop)

    assert previewed is state
    assert len(CreateJournal(harness.store.path).pending()) == 1


def test_the_next_apply_revokes_the_key_of_a_create_that_landed_after_the_apply(
    harness: Harness,
) -> None:
    """The first create got no answer, was sent again, and landed only after the apply
    ended (which said so and exited 1): the journal kept it, so the next apply's recovery
    finds the second key and its plan revokes it."""
    infobip = harness.infobip
    infobip.faults["create"] = ["late"]
    infobip.hold_late = True
    cfg = config(declared("a"))
    first = harness.apply(cfg)
    assert first.exit_code == 1 and first.unsettled_creates == ["api_keys.a"]
    infobip.keys.update(infobip.landing)  # the first create commits, late
    (late_id,) = infobip.landing
    notes: list[ApplyEvent] = []

    state = recover_interrupted_creates(
        infobip, harness.store, harness.state(), events=notes.append
    )

    deposed = deposed_address("api_keys.a", late_id)
    assert deposed in state.resources
    record = state.resources[deposed].secret
    assert record is not None and record.status == "lost"
    assert "answer was lost" in notes[0].message
    plan = plan_for(infobip, cfg, state)
    assert [(c.address, c.action) for c in plan.changes if c.action is not Action.NOOP] == [
        (deposed, Action.REVOKE)
    ]


def _drop(event: ApplyEvent) -> None:
    """Events these tests do not look at."""


# --- a dead holder's create that lands later than recovery looked ---------------------------


def test_a_dead_holders_create_not_seen_yet_stays_in_the_journal_for_the_apply(
    harness: Harness,
) -> None:
    """Infobip may commit a killed apply's create after the client's timeout: recovery
    after a lock takeover keeps the entry it has not seen land (marked so that the apply's
    own create of the address leaves it); a plain recovery settles it by its one look."""
    _journal(harness.store.path)
    # Sent 2 s before Infobip's clock: no time is left to wait for it.
    recover_interrupted_creates(
        harness.infobip, harness.store, harness.state(), events=_drop, in_flight_for=1.0
    )
    (kept,) = CreateJournal(harness.store.path).pending()
    assert (kept.address, kept.unanswered) == ("api_keys.a", True)

    recover_interrupted_creates(harness.infobip, harness.store, harness.state(), events=_drop)
    assert CreateJournal(harness.store.path).pending() == []


def test_a_key_adopted_by_name_that_a_dead_holders_create_made_has_its_secret_lost(
    harness: Harness,
) -> None:
    """The key landed between recovery's look and the plan's read: the plan adopts it by
    name, and apply must record and say that nobody holds its secret."""
    infobip = harness.infobip
    _journal(harness.store.path, unanswered=True)
    late = infobip.seed("a", valid_from=NOW)

    result = harness.apply(config(declared("a")))

    record = harness.state().resources["api_keys.a"]
    assert record.id == late.id
    assert record.secret is not None and record.secret.status == "lost"
    assert result.secrets_lost == ["api_keys.a"] and result.exit_code == 1
    warnings = harness.messages(EventKind.WARNING)
    assert any(f"SECRET NOT DELIVERED [id={late.id}]" in w for w in warnings)
    assert CreateJournal(harness.store.path).pending() == []
    assert infobip.writes() == []


def test_a_dead_holders_create_landing_during_the_next_apply_is_revoked_when_it_ends(
    harness: Harness,
) -> None:
    """The plan read no such key, so apply creates the address anew; the killed apply's
    create lands meanwhile (here: as the new create is sent). Apply looks once more when
    it ends, finds the second key, and revokes it, saying nobody holds its secret."""
    infobip = harness.infobip
    _journal(harness.store.path, unanswered=True)
    late = infobip.seed("a", valid_from=NOW)
    infobip.landing[late.id] = infobip.keys.pop(late.id)

    result = harness.apply(config(declared("a")))

    assert result.exit_code == 0, result
    assert infobip.keys[late.id].enabled is False
    state = harness.state()
    assert state.resources["api_keys.a"].id != late.id
    assert late.id not in state.by_key_id()
    warnings = harness.messages(EventKind.WARNING)
    assert any(late.id in w and "nobody holds the secret" in w for w in warnings)
    assert CreateJournal(harness.store.path).pending() == []

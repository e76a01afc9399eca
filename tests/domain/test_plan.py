"""The plan's own counts, which the guard rails and every renderer read."""

from __future__ import annotations

from datetime import UTC, datetime

from infobip_iac.domain.plan import Action, Plan, ResourceChange

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _change(ident: str, action: Action, **fields: object) -> ResourceChange:
    return ResourceChange(
        address=f"api_keys.{ident}",
        account="_",
        name=ident,
        action=action,
        **fields,
    )


def test_revokes_include_the_old_key_of_a_replace() -> None:
    made = Plan(
        created_at=NOW,
        changes=(
            _change("created", Action.CREATE),
            _change("replaced", Action.REPLACE, key_id="R1"),
            _change("revoked", Action.REVOKE, key_id="V1"),
            _change("updated", Action.UPDATE, key_id="U1"),
            _change("kept", Action.NOOP, key_id="K1"),
        ),
    )

    assert [c.address for c in made.revokes()] == ["api_keys.replaced", "api_keys.revoked"]


def test_has_effect_covers_writes_and_state_only_changes() -> None:
    assert _change("a", Action.UPDATE, key_id="A1").has_effect
    assert _change("b", Action.NOOP, key_id="B1", importing_id="B1").has_effect
    assert not _change("c", Action.NOOP, key_id="C1").has_effect

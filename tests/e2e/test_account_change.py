"""A key whose declared account changes is replaced: the new key is created in the new
account first, then the old one is revoked in the account it lives in."""

from __future__ import annotations

from e2e.workspace import CREATE, UPDATE, Workspace

IN_MAIN = """
    version: 1
    api_keys:
      reports:
        name: Reports reader
        scopes: [sms:logs:read]
        allowed_ips: [203.0.113.0/24]
"""

IN_SUB = """
    version: 1
    account: {account}
    api_keys:
      reports:
        name: Reports reader
        scopes: [sms:logs:read]
        allowed_ips: [203.0.113.0/24]
"""


def test_account_change_creates_in_the_new_account_then_revokes_in_the_old(
    workspace: Workspace,
) -> None:
    sub_account = workspace.emulator.control.add_account("Team reports")
    workspace.write(IN_MAIN)
    assert workspace.apply().code == 0
    old = workspace.live()["Reports reader"]

    workspace.write(IN_SUB.format(account=sub_account))
    plan = workspace.plan_json()
    (change,) = [c for c in plan["resource_changes"] if c["address"] == "api_keys.reports"]
    assert change["change"]["actions"] == ["create", "delete"]

    with workspace.counting() as delta:
        outcome = workspace.apply()
    assert outcome.code == 0, outcome
    assert delta.get(CREATE) == 1 and delta.get(UPDATE) == 1

    assert workspace.live()["Reports reader"].enabled is False
    assert workspace.live()["Reports reader"].id == old.id
    moved = workspace.live(sub_account)["Reports reader"]
    assert moved.enabled and moved.account_id == sub_account
    assert workspace.state().resources["api_keys.reports"].id == moved.id
    workspace.assert_converged()


def test_an_unknown_account_id_is_named_at_the_account_line_of_its_manifest(
    workspace: Workspace,
) -> None:
    unknown = "5A1B2C3D4E5F60718293A4B5C6D7E8F9"
    path = workspace.write(IN_SUB.format(account=f'"{unknown}"'))
    with workspace.counting() as delta:
        planned = workspace.plan()
        applied = workspace.apply()
    for outcome in (planned, applied):
        assert outcome.code == 1, outcome
        assert f"account {unknown} does not exist, or these credentials cannot manage it" in (
            outcome.err
        )
        assert f"the id is written at {path}:2:10 (field account), the account of " in (outcome.err)
        assert f"correct the account id in {path}," in outcome.err
        assert "Traceback" not in outcome.err
    assert delta.get(CREATE, 0) == 0 and delta.get(UPDATE, 0) == 0
    assert not workspace.state_path.exists()

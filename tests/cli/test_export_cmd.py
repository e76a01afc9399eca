"""`infobip-iac export`: manifests for the live keys of an account that validate, plan as
imports only, apply without a write and then converge."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest
from e2e.workspace import Workspace, writes

from infobip_iac.emulator import EmulatorServer
from infobip_iac.manifest.load import load_or_raise
from infobip_iac.scopes.catalog import load_catalog

# The smallest role whose scopes a key can hold exactly.
ROLE = min(
    (role for role in load_catalog().roles.values() if len(role.scopes) >= 2),
    key=lambda role: (len(role.scopes), role.name),
)


@pytest.fixture
def ws(
    tmp_path: Path,
    emulator: EmulatorServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Workspace:
    return Workspace.open(tmp_path, emulator, capsys, monkeypatch)


def _seed_variety(ws: Workspace) -> list[str]:
    return ws.seed(
        {
            "name": "Payments OTP sender",
            "scopeGuids": ["sms:message:send", "2fa:pin:send"],
            "allowedIPs": ["198.51.100.10/32", "2001:db8::/48"],
            "validTo": "2030-01-15T00:00:00.000+0000",
        },
        {"name": "Reports", "scopeGuids": sorted(ROLE.scopes), "allowedIPs": []},
        {"name": "Billing", "scopeGuids": ["sms:logs:read"], "allowedIPs": []},
        {"name": "Billing", "scopeGuids": ["email:logs:read"], "allowedIPs": [], "enabled": False},
        {
            "name": 'Ünïcode "quoted": key #1',
            "scopeGuids": [],
            "permissions": ["2FA_CLIENT"],
            "allowedIPs": ["203.0.113.0/24"],
        },
        {"name": "true", "scopeGuids": ["sms:logs:read"], "allowedIPs": []},
        {"name": "CPaaS X link", "platform": [{"applicationId": "billing", "entityId": "eu"}]},
    )


def _exported(ws: Workspace, *args: str) -> str:
    outcome = ws.run("export", "--out", str(ws.manifests), *args)
    assert outcome.code == 0, outcome
    return (ws.manifests / "exported-keys.yaml").read_text(encoding="utf-8")


def test_export_plans_as_imports_only_applies_without_writes_and_converges(
    ws: Workspace,
) -> None:
    ids = _seed_variety(ws)

    text = _exported(ws)

    assert text.startswith("# Written by `infobip-iac export`")
    assert "Secrets cannot be exported" in text
    assert f"roles: [{ROLE.name}]" in text
    assert "platform:\n      - {application_id: billing, entity_id: eu}" in text
    assert "valid_to: 2030-01-15T00:00:00Z" in text
    # Of the two keys named Billing, the enabled one is declared; the other is listed.
    billing, disabled_billing = ids[2], ids[3]
    assert f'#   {disabled_billing} "Billing" (disabled)' in text
    assert "\n  billing-2:" not in text
    assert "\n  unicode-quoted-key-1:\n" in text
    config, _ = load_or_raise([ws.manifests], allow_unknown_scopes=False)
    declared_ids = [i for i in ids if i != disabled_billing]
    assert sorted(block.key_id for block in config.imports) == sorted(declared_ids)
    assert config.keys["api_keys.billing"].name == "Billing"
    assert billing in {block.key_id for block in config.imports}
    with ws.client() as client:
        live = {key.id: key for key in client.list_keys("_").keys}
    for block in config.imports:
        declared = config.keys[block.to_address]
        assert declared.name == live[block.key_id].name
        assert declared.enabled == live[block.key_id].enabled

    plan = ws.plan_json()
    actions = {
        c["address"]: (c["change"]["actions"], c["change"].get("importing"))
        for c in plan["resource_changes"]
    }
    assert len(actions) == len(declared_ids)
    assert all(act == ["no-op"] and imp is not None for act, imp in actions.values()), actions
    assert plan["unmanaged_keys"] == []

    with ws.counting() as counts:
        applied = ws.apply()
    assert applied.code == 0, applied
    assert writes(counts) == 0
    assert sorted(r.id for r in ws.state().resources.values()) == sorted(declared_ids)
    ws.assert_converged()


def test_export_is_deterministic_and_a_new_key_only_adds_lines(ws: Workspace) -> None:
    _seed_variety(ws)
    first = _exported(ws)
    assert _exported(ws) == first

    ws.seed({"name": "Zeta newcomer", "scopeGuids": ["sms:logs:read"], "allowedIPs": []})
    second = _exported(ws)

    diff = list(difflib.unified_diff(first.splitlines(), second.splitlines(), lineterm="", n=0))
    removed = [line for line in diff if line.startswith("-") and not line.startswith("---")]
    added = [line for line in diff if line.startswith("+") and not line.startswith("+++")]
    assert removed == []
    assert "+  zeta-newcomer:" in added


def test_unmanaged_only_leaves_out_the_keys_in_state_and_avoids_their_ids(
    ws: Workspace,
) -> None:
    ws.write(
        """
        version: 1
        api_keys:
          billing:
            name: Billing
            scopes: [sms:logs:read]
        """
    )
    assert ws.apply().code == 0
    (stranger,) = ws.seed({"name": "Billing!", "scopeGuids": ["sms:logs:read"], "allowedIPs": []})

    text = _exported(ws, "--unmanaged-only")

    assert text.count("\n  - to: ") == 1
    assert f"  - to: api_keys.billing-2\n    id: {stranger}\n" in text
    with ws.counting() as counts:
        assert ws.apply().code == 0
    assert writes(counts) == 0
    assert ws.state().resources["api_keys.billing-2"].id == stranger
    ws.assert_converged()


def test_a_sub_account_is_exported_under_its_id(ws: Workspace) -> None:
    sub = ws.emulator.control.add_account("Team")
    (key_id,) = ws.seed(
        {"name": "Team sender", "scopeGuids": ["sms:message:send"], "allowedIPs": []},
        account_id=sub,
    )

    outcome = ws.run("export", "--account", sub, "--out", str(ws.manifests))

    assert outcome.code == 0, outcome
    path = ws.manifests / f"exported-keys-{sub.lower()}.yaml"
    config, _ = load_or_raise([path], allow_unknown_scopes=False)
    assert config.keys["api_keys.team-sender"].account == sub
    assert [block.key_id for block in config.imports] == [key_id]
    plan = ws.plan_json()
    assert [c["change"]["importing"]["id"] for c in plan["resource_changes"]] == [key_id]


def test_no_secret_is_exported(ws: Workspace) -> None:
    _seed_variety(ws)

    text = _exported(ws)

    secrets = ws.emulator.control.secrets()
    assert secrets and not any(secret in text for secret in secrets)


def test_bad_arguments_are_clear_errors_that_write_nothing(ws: Workspace) -> None:
    _seed_variety(ws)
    not_a_folder = ws.root / "file.txt"
    not_a_folder.write_text("x", encoding="utf-8")

    outcome = ws.run("export", "--out", str(not_a_folder))
    assert outcome.code != 0
    assert "Traceback" not in outcome.err
    assert not_a_folder.read_text(encoding="utf-8") == "x"

    outcome = ws.run("export", "--account", "0" * 32, "--out", str(ws.manifests))
    assert outcome.code == 1, outcome
    assert f"account {'0' * 32} does not exist" in outcome.err
    assert "Traceback" not in outcome.err
    assert not list(ws.manifests.iterdir())

"""A key's whole life over HTTP against the emulator: create, change every attribute, remove,
rename through `moved`, import. After each apply the live keys match the manifest, a second
plan has nothing to do, and the emulator counted one write per changed key and none for the
keys that did not change."""

from __future__ import annotations

from datetime import UTC, datetime

from e2e.workspace import CREATE, LIST, READ_ONE, UPDATE, Workspace, writes
from infobip_iac.domain.keys import KeyWrite, Permission

FIRST = """
    version: 1
    defaults:
      allowed_ips: [203.0.113.0/24]
      valid_to: 2030-01-01T00:00:00Z
    api_keys:
      ci-sms:
        name: CI SMS sender
        scopes: [sms:message:send, sms:logs:read]
      billing:
        scopes: [sms:logs:read]
      batch:
        scopes: [sms:message:send]
        allowed_ips: ["2001:db8::/48"]
      cpaas:
        platform: [{application_id: app-1}]
"""

# Every attribute of ci-sms changes, and cpaas's platform link; billing is revoked in the
# manifest; batch stays.
CHANGED = """
    version: 1
    defaults:
      allowed_ips: [203.0.113.0/24]
      valid_to: 2030-01-01T00:00:00Z
    api_keys:
      ci-sms:
        name: CI SMS sender v2
        scopes: [sms:message:send, 2fa:pin:send]
        permissions: [PUBLIC_API, 2FA_CLIENT]
        allowed_ips: [198.51.100.7, 198.51.100.8/32]
        valid_from: 2029-01-01
        valid_to: 2031-06-01T12:00:00+02:00
      billing:
        scopes: [sms:logs:read]
        enabled: false
      batch:
        scopes: [sms:message:send]
        allowed_ips: ["2001:db8::/48"]
      cpaas:
        platform: [{application_id: app-2, entity_id: entity-9}]
"""

# billing's declaration is gone: a key in state but not declared is revoked and forgotten.
REMOVED = """
    version: 1
    defaults:
      allowed_ips: [203.0.113.0/24]
      valid_to: 2030-01-01T00:00:00Z
    api_keys:
      ci-sms:
        name: CI SMS sender v2
        scopes: [sms:message:send, 2fa:pin:send]
        permissions: [PUBLIC_API, 2FA_CLIENT]
        allowed_ips: [198.51.100.7, 198.51.100.8/32]
        valid_from: 2029-01-01
        valid_to: 2031-06-01T12:00:00+02:00
      batch:
        scopes: [sms:message:send]
        allowed_ips: ["2001:db8::/48"]
      cpaas:
        platform: [{application_id: app-2, entity_id: entity-9}]
"""

MOVED = """
    version: 1
    defaults:
      allowed_ips: [203.0.113.0/24]
      valid_to: 2030-01-01T00:00:00Z
    api_keys:
      sms-sender:
        name: CI SMS sender v2
        scopes: [sms:message:send, 2fa:pin:send]
        permissions: [PUBLIC_API, 2FA_CLIENT]
        allowed_ips: [198.51.100.7, 198.51.100.8/32]
        valid_from: 2029-01-01
        valid_to: 2031-06-01T12:00:00+02:00
      batch:
        scopes: [sms:message:send]
        allowed_ips: ["2001:db8::/48"]
      cpaas:
        platform: [{application_id: app-2, entity_id: entity-9}]
    moved:
      - {from: api_keys.ci-sms, to: api_keys.sms-sender}
"""


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_create_change_every_attribute_disable_forget_and_move(workspace: Workspace) -> None:
    ws = workspace

    # 1. Three new keys.
    ws.write(FIRST)
    with ws.counting() as counts:
        outcome = ws.apply()
    assert outcome.code == 0, outcome
    assert counts.get(CREATE) == 4 and UPDATE not in counts
    live = ws.live()
    assert sorted(live) == ["CI SMS sender", "batch", "billing", "cpaas"]
    assert live["CI SMS sender"].scopes == {"sms:message:send", "sms:logs:read"}
    assert live["batch"].allowed_ips == {"2001:db8::/48"}
    assert live["billing"].valid_to == _instant("2030-01-01T00:00:00+00:00")
    ids = {name: key.id for name, key in live.items()}
    ws.assert_converged()

    # 2. Every attribute of one key changes, another is disabled, the third stays.
    ws.write(CHANGED)
    with ws.counting() as counts:
        outcome = ws.apply()
    assert outcome.code == 0, outcome
    assert counts.get(UPDATE) == 3 and CREATE not in counts, counts
    assert READ_ONE not in counts and counts.get(LIST) == 1, counts
    live = ws.live()
    sender = live["CI SMS sender v2"]
    assert sender.id == ids["CI SMS sender"]
    assert sender.scopes == {"sms:message:send", "2fa:pin:send"}
    assert sender.permissions == {Permission.PUBLIC_API, Permission.TWO_FA_CLIENT}
    assert sender.allowed_ips == {"198.51.100.7/32", "198.51.100.8/32"}
    assert sender.valid_from == _instant("2029-01-01T00:00:00+00:00")
    assert sender.valid_to == _instant("2031-06-01T10:00:00+00:00")
    assert live["billing"].enabled is False
    (link,) = live["cpaas"].platform
    assert (link.application_id, link.entity_id) == ("app-2", "entity-9")
    assert live["batch"] == ws.live()["batch"]  # untouched
    ws.assert_converged()

    # 3. A removed declaration revokes nothing more (billing is already disabled) and is
    #    forgotten; removing an enabled one revokes it.
    ws.write(REMOVED)
    with ws.counting() as counts:
        outcome = ws.apply()
    assert outcome.code == 0, outcome
    assert writes(counts) == 0, counts
    assert "api_keys.billing" not in ws.state().resources
    ws.assert_converged()

    # 4. Renaming through `moved` keeps the live key and writes nothing.
    ws.write(MOVED)
    with ws.counting() as counts:
        outcome = ws.apply()
    assert outcome.code == 0, outcome
    assert writes(counts) == 0, counts
    resources = ws.state().resources
    assert resources["api_keys.sms-sender"].id == ids["CI SMS sender"]
    assert "api_keys.ci-sms" not in resources
    ws.assert_converged()


def test_removing_an_enabled_key_revokes_it_with_one_write(workspace: Workspace) -> None:
    ws = workspace
    ws.write(FIRST)
    assert ws.apply().code == 0
    ws.write(FIRST.replace("      billing:\n        scopes: [sms:logs:read]\n", ""))

    plan = ws.plan()
    assert "api_keys.billing will be revoked" in plan.out, plan
    with ws.counting() as counts:
        outcome = ws.apply()

    assert outcome.code == 0, outcome
    assert counts.get(UPDATE) == 1 and CREATE not in counts, counts
    assert ws.live()["billing"].enabled is False
    assert "api_keys.billing" not in ws.state().resources
    ws.assert_converged()


def test_imports_block_and_import_command_adopt_existing_keys(workspace: Workspace) -> None:
    ws = workspace
    legacy_id, other_id = ws.seed(
        {
            "name": "legacy billing",
            "scopeGuids": ["sms:logs:read"],
            "allowedIPs": ["203.0.113.0/24"],
            "validTo": "2030-01-01T00:00:00Z",
        },
        {
            "name": "old reports",
            "scopeGuids": ["sms:logs:read"],
            "allowedIPs": ["198.51.100.0/24"],
            "validTo": "2030-01-01T00:00:00Z",
        },
    )
    ws.write(
        f"""
        version: 1
        api_keys:
          legacy:
            name: legacy billing
            scopes: [sms:logs:read]
            allowed_ips: [203.0.113.0/24]
            valid_to: 2030-01-01T00:00:00Z
          reports:
            name: reports
            scopes: [sms:logs:read]
            allowed_ips: [198.51.100.0/24]
            valid_to: 2030-01-01T00:00:00Z
        imports:
          - {{to: api_keys.legacy, id: {legacy_id}}}
        """
    )

    # The import command: reads the key by id, records it, writes nothing to Infobip.
    with ws.counting() as counts:
        imported = ws.run("import", "api_keys.reports", other_id, str(ws.manifests))
    assert imported.code == 0, imported
    assert writes(counts) == 0
    assert ws.state().resources["api_keys.reports"].id == other_id

    # The imports block takes effect on apply; the imported key's name is then updated.
    plan = ws.plan()
    assert "api_keys.legacy" in plan.out and "import" in plan.out.lower(), plan
    with ws.counting() as counts:
        outcome = ws.apply()
    assert outcome.code == 0, outcome
    assert counts.get(UPDATE) == 1 and CREATE not in counts, counts
    state = ws.state().resources
    assert state["api_keys.legacy"].id == legacy_id
    assert ws.live()["reports"].id == other_id
    ws.assert_converged()


GUARDED = """
    version: 1
    api_keys:
      vault:
        scopes: [sms:logs:read]
        allowed_ips: [203.0.113.0/24]
        lifecycle: {prevent_revoke: true}
"""


def test_prevent_revoke_added_later_is_remembered_when_the_declaration_goes(
    workspace: Workspace,
) -> None:
    ws = workspace
    ws.write(GUARDED.replace("        lifecycle: {prevent_revoke: true}\n", ""))
    assert ws.apply().code == 0
    ws.write(GUARDED)  # no change to the key itself: nothing to approve
    with ws.counting() as counts:
        assert ws.apply().code == 0
    assert writes(counts) == 0
    assert ws.state().resources["api_keys.vault"].prevent_revoke is True

    ws.write("version: 1\napi_keys: {}\n")
    refused = ws.plan()
    assert refused.code == 1 and "prevent_revoke" in refused.err
    assert ws.live()["vault"].enabled is True


def test_refresh_only_apply_records_live_changes_without_writing(workspace: Workspace) -> None:
    ws = workspace
    ws.write(FIRST)
    assert ws.apply().code == 0
    batch = ws.live()["batch"]
    with ws.client() as client:  # changed outside the tool
        client.update_key(
            batch.id, account="_", write=KeyWrite(allowed_ips=frozenset({"192.0.2.0/24"}))
        )
    assert ws.plan("--refresh-only", "--detailed-exitcode").code == 2

    with ws.counting() as counts:
        outcome = ws.apply("--refresh-only")

    assert outcome.code == 0, outcome
    assert writes(counts) == 0
    assert ws.state().resources["api_keys.batch"].attributes["allowed_ips"] == ["192.0.2.0/24"]
    assert ws.plan("--refresh-only", "--detailed-exitcode").code == 0
    # The configuration still wants the old range back: a normal plan would restore it.
    assert "api_keys.batch will be updated in-place" in ws.plan().out

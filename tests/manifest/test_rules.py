"""Rules across fields, keys and files (the single-problem cases are in the bad corpus)."""

from __future__ import annotations

from infobip_iac.domain.keys import LiveKey, Permission
from infobip_iac.engine.plan import make_plan
from infobip_iac.infobip.api import AccountKeys
from infobip_iac.manifest import load_configuration
from infobip_iac.state.model import StateDocument
from manifest.conftest import NOW, LoadText, WriteManifest, found


def test_every_problem_of_a_file_is_reported_at_once(load_text: LoadText) -> None:
    result = load_text(
        """
        version: 1
        api_keys:
          web:
            scopes: [web:sdk, sms:message:send]
            permissions: [PUBLIC_API, WEB_SDK]
            valid_from: 2027-02-01
            valid_to: 2027-01-01
          billing:
            platform: [{application_id: b}]
            roles: [Answers Supervisor]
          dup:
            name: web
        moved:
          - {from: api_keys.web, to: api_keys.nowhere}
        """
    )
    assert {code for code, _, _ in found(result, "error")} == {
        "E403",
        "E405",
        "E602",
        "E406",
        "E301",
        "E302",
        "E303",
    }


def test_a_problem_in_defaults_is_reported_once(load_text: LoadText) -> None:
    result = load_text(
        """
        version: 1
        defaults:
          valid_to: 2027-01-01
          valid_for: 30d
          scopes: [sms:nope]
          roles: [Nobody]
          scope_sets: [missing]
        api_keys:
          a: {}
          b: {}
          c: {}
        """
    )
    assert found(result, "error") == {
        ("E603", 4, 3),
        ("E400", 5, 12),
        ("E401", 6, 11),
        ("E402", 7, 16),
    }


def test_an_inherited_conflict_points_at_the_keys_own_value(load_text: LoadText) -> None:
    result = load_text(
        """
        version: 1
        defaults: {valid_to: 2027-01-01}
        api_keys:
          ok: {valid_from: 2026-12-01}
          late: {valid_from: 2027-02-01}
        """
    )
    assert found(result, "error") == {("E602", 5, 22)}


def test_names_are_unique_per_account_only(write_manifest: WriteManifest) -> None:
    a = write_manifest("version: 1\napi_keys:\n  one: {name: Shared}\n", name="a.yaml")
    b = write_manifest(
        "version: 1\naccount: ABCDEF\napi_keys:\n  two: {name: Shared}\n", name="b.yaml"
    )
    assert load_configuration([a, b], now=NOW).errors == []


def test_a_duplicate_id_is_not_also_a_duplicate_name(write_manifest: WriteManifest) -> None:
    a = write_manifest("version: 1\napi_keys:\n  same: {}\n", name="a.yaml")
    b = write_manifest("version: 1\napi_keys:\n  same: {}\n", name="b.yaml")
    result = load_configuration([a, b], now=NOW)
    assert [d.code for d in result.errors] == ["E300"]
    assert "a.yaml:3:3" in result.errors[0].message


def test_an_unreadable_first_declaration_still_holds_its_id(write_manifest: WriteManifest) -> None:
    # The keys are judged one at a time in file order: the first declaration counts for
    # its id even when it could not be read, and the readable second one is the duplicate.
    a = write_manifest("version: 1\napi_keys:\n  same: {enabled: 1}\n", name="a.yaml")
    b = write_manifest("version: 1\napi_keys:\n  same: {name: Other}\n", name="b.yaml")
    result = load_configuration([a, b], now=NOW)
    assert [(d.code, d.file) for d in result.errors] == [("E203", str(a)), ("E300", str(b))]
    assert "a.yaml:3:3" in result.errors[1].message


def test_moved_and_imports_may_name_keys_of_other_files(write_manifest: WriteManifest) -> None:
    keys = write_manifest("version: 1\napi_keys:\n  new: {}\n  adopted: {}\n", name="a.yaml")
    blocks = write_manifest(
        "version: 1\nmoved: [{from: api_keys.old, to: api_keys.new}]\n"
        "imports: [{to: api_keys.adopted, id: 573711510e1c002e29679b12c7cb48ae}]\n",
        name="b.yaml",
    )
    result = load_configuration([keys, blocks], now=NOW)
    assert result.config is not None
    (move,) = result.config.moved
    (block,) = result.config.imports
    assert (move.from_address, move.to_address) == ("api_keys.old", "api_keys.new")
    assert block.key_id == "573711510E1C002E29679B12C7CB48AE"  # as Infobip writes it
    assert move.source is not None and move.source.file.endswith("b.yaml")


def test_a_move_onto_itself_is_refused(load_text: LoadText) -> None:
    result = load_text(
        "version: 1\napi_keys:\n  a: {}\nmoved: [{from: api_keys.a, to: api_keys.a}]\n"
    )
    assert {code for code, _, _ in found(result, "error")} == {"E307"}


def test_an_import_id_in_lower_case_finds_the_live_key(load_text: LoadText) -> None:
    result = load_text(
        """
        version: 1
        api_keys:
          legacy: {scopes: [sms:message:send], allowed_ips: [198.51.100.7]}
        imports:
          - {to: api_keys.legacy, id: 14e8cd464c26816d812d9fe8e9c4cf01}
        """
    )
    assert result.config is not None
    live = LiveKey(
        id="14E8CD464C26816D812D9FE8E9C4CF01",
        account_id="8F0792F86035A9F4290821F1EE6BC06A",
        name="an older name",
        scopes=frozenset({"sms:message:send"}),
        permissions=frozenset({Permission.PUBLIC_API}),
        allowed_ips=frozenset({"198.51.100.7/32"}),
    )
    plan = make_plan(
        result.config,
        StateDocument(),
        {"_": AccountKeys(account="_", keys=[live], requests=1)},
        now=NOW,
    )
    (change,) = plan.changes
    assert change.address == "api_keys.legacy" and change.key_id == live.id


def test_one_key_imported_in_two_spellings_is_imported_twice(load_text: LoadText) -> None:
    result = load_text(
        """
        version: 1
        api_keys:
          a: {}
          b: {}
        imports:
          - {to: api_keys.a, id: 14E8CD464C26816D812D9FE8E9C4CF01}
          - {to: api_keys.b, id: 14e8cd464c26816d812d9fe8e9c4cf01}
        """
    )
    assert found(result, "error") == {("E307", 7, 26)}

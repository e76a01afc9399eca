"""Resolution: defaults, the valid_to/valid_for pair, scope sets, roles, platform, sinks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import TypeAdapter

from infobip_iac.domain.keys import DesiredKey, Permission, PlatformLink
from infobip_iac.manifest import load_configuration
from infobip_iac.scopes import load_catalog
from manifest.conftest import NOW, LoadText, WriteManifest


def _keys(load_text: LoadText, text: str) -> dict[str, DesiredKey]:
    result = load_text(text)
    assert result.config is not None, [d.render() for d in result.errors]
    return {key.ident: key for key in result.config.keys.values()}


def test_a_key_inherits_what_it_does_not_set(load_text: LoadText) -> None:
    keys = _keys(
        load_text,
        """
        version: 1
        defaults:
          allowed_ips: [203.0.113.0/24]
          scopes: [sms:logs:read]
          valid_for: 30d
          permissions: [2FA_CLIENT]
        api_keys:
          plain: {}
          own:
            scopes: [email:logs:read]
            allowed_ips: [198.51.100.1]
            valid_to: 2027-01-01
        """,
    )
    plain, own = keys["plain"], keys["own"]
    assert plain.name == "plain" and plain.address == "api_keys.plain"
    assert plain.scopes == {"sms:logs:read"} and plain.allowed_ips == {"203.0.113.0/24"}
    assert plain.valid_for == timedelta(days=30) and plain.valid_to is None
    assert plain.permissions == {Permission.TWO_FA_CLIENT}
    assert own.scopes == {"email:logs:read"} and own.allowed_ips == {"198.51.100.1/32"}
    # valid_to replaces the default valid_for: the pair is one setting.
    assert own.valid_to == datetime(2027, 1, 1, tzinfo=UTC) and own.valid_for is None


def test_an_explicit_null_stops_inheritance(load_text: LoadText) -> None:
    keys = _keys(
        load_text,
        """
        version: 1
        defaults: {valid_for: 30d, secret: {sink: file, path: s.env}}
        api_keys:
          k: {valid_for: null, secret: null}
        """,
    )
    assert keys["k"].valid_for is None and keys["k"].secret.sink == "none"


def test_permissions_default_to_public_api(load_text: LoadText) -> None:
    keys = _keys(
        load_text,
        """
        version: 1
        api_keys:
          a: {}
          b: {permissions: []}
          c: {permissions: [WEB_SDK, 2FA_CLIENT]}
        """,
    )
    assert keys["a"].permissions == {Permission.PUBLIC_API}
    assert keys["b"].permissions == {Permission.PUBLIC_API}
    assert keys["c"].permissions == {Permission.WEB_SDK, Permission.TWO_FA_CLIENT}


def test_effective_scopes_join_scopes_sets_and_roles(load_text: LoadText) -> None:
    keys = _keys(
        load_text,
        """
        version: 1
        scope_sets:
          senders: [sms:message:send, email:message:send]
        api_keys:
          k:
            scopes: [2fa:pin:send]
            scope_sets: [senders]
            roles: [knowledge base manager]
        """,
    )
    role = load_catalog().role("Knowledge Base Manager")
    assert role is not None
    expected = {"2fa:pin:send", "sms:message:send", "email:message:send", *role.scopes}
    assert keys["k"].scopes == expected


def test_a_role_contributes_no_sdk_scope(load_text: LoadText) -> None:
    keys = _keys(load_text, "version: 1\napi_keys:\n  admin: {roles: [Account Manager]}\n")
    catalog = load_catalog()
    scopes = keys["admin"].scopes
    assert scopes and not any(catalog.is_sdk_scope(s) for s in scopes)


def test_a_platform_key_has_no_permissions_and_inherits_no_scopes(load_text: LoadText) -> None:
    keys = _keys(
        load_text,
        """
        version: 1
        defaults: {scopes: [sms:logs:read], permissions: [PUBLIC_API]}
        api_keys:
          billing:
            platform:
              - {application_id: z-app}
              - {application_id: a-app, entity_id: eu, action: FORCE}
        """,
    )
    billing = keys["billing"]
    assert billing.scopes == set() and billing.permissions == set()
    assert billing.platform == (
        PlatformLink(application_id="a-app", entity_id="eu", action="FORCE"),
        PlatformLink(application_id="z-app"),
    )


def test_sinks_resolve_against_the_declaring_file(write_manifest: WriteManifest) -> None:
    shared = write_manifest(
        "version: 1\ndefaults:\n  secret: {sink: file, path: 's/{address}.env', format: raw}\n",
        name="platform/shared.yaml",
    )
    team = write_manifest(
        "version: 1\napi_keys:\n  a: {}\n  b: {secret: {sink: exec, command: [cat]}}\n",
        name="teams/keys.yaml",
    )
    result = load_configuration([shared, team], now=NOW)
    assert result.config is not None
    a, b = result.config.keys["api_keys.a"], result.config.keys["api_keys.b"]
    assert (a.secret.sink, a.secret.path, a.secret.format) == ("file", "s/{address}.env", "raw")
    assert Path(a.secret.base_dir) == shared.parent
    assert b.secret.command == ("cat",) and Path(b.secret.base_dir) == team.parent


def test_every_key_knows_where_it_was_declared(load_text: LoadText) -> None:
    result = load_text("version: 1\napi_keys:\n\n  later:\n    enabled: false\n")
    assert result.config is not None
    key = result.config.keys["api_keys.later"]
    assert key.source is not None and (key.source.line, key.source.column) == (4, 3)
    assert key.enabled is False
    assert key.lifecycle.prevent_revoke is False


def test_lifecycle_and_account_carry_over(load_text: LoadText) -> None:
    keys = _keys(
        load_text,
        """
        version: 1
        account: 8F0792F86035A9F4290821F1EE6BC06A
        api_keys:
          k:
            lifecycle: {prevent_revoke: true, ignore_changes: [valid_to, name]}
        """,
    )
    assert keys["k"].account == "8F0792F86035A9F4290821F1EE6BC06A"
    assert keys["k"].lifecycle.prevent_revoke is True
    assert keys["k"].lifecycle.ignore_changes == {"valid_to", "name"}


def test_resolved_keys_equal_validated_ones(load_text: LoadText) -> None:
    # Keys are built by plain constructors, which check nothing: they must hold exactly
    # what validation against the fields' types makes.
    keys = _keys(
        load_text,
        """
        version: 1
        api_keys:
          k:
            scopes: [sms:logs:read]
            allowed_ips: [198.51.100.0/24]
            valid_from: 2027-01-01
            valid_for: 1w
            secret: {sink: file, path: k.env}
            lifecycle: {prevent_revoke: true}
        """,
    )
    key = keys["k"]
    shape = TypeAdapter(DesiredKey)
    assert shape.validate_python(shape.dump_python(key)) == key

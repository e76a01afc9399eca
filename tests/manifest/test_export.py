"""The exported manifest reads back as the live keys it was written from."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infobip_iac.domain.keys import DesiredConfig, LiveKey, Permission
from infobip_iac.manifest.export import export_manifest
from infobip_iac.manifest.load import load_or_raise
from infobip_iac.scopes.catalog import load_catalog

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CATALOG = load_catalog()


def _key(index: int, name: str, **fields: object) -> LiveKey:
    fields.setdefault("permissions", frozenset({Permission.PUBLIC_API}))
    fields.setdefault("allowed_ips", frozenset({"203.0.113.0/24"}))
    fields.setdefault("valid_to", NOW + timedelta(days=30))
    return LiveKey(id=f"{index:032X}", account_id="A" * 32, name=name, **fields)


def _load(text: str) -> DesiredConfig:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "exported-keys.yaml"
        path.write_text(text, encoding="utf-8")
        config, _ = load_or_raise([path], allow_unknown_scopes=False, now=NOW)
    return config


# Names as Infobip may hold them: any printable text, quotes, colons, YAML words, numbers.
_NAMES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=40
).filter(lambda name: name.strip() == name and name.strip())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names=st.lists(_NAMES, min_size=1, max_size=8, unique=True))
def test_any_names_read_back_exactly(names: list[str]) -> None:
    keys = [
        _key(index, name, scopes=frozenset({"sms:logs:read"})) for index, name in enumerate(names)
    ]

    exported = export_manifest("_", keys, managed={}, now=NOW, catalog=CATALOG)

    config = _load(exported.text)
    by_id = {block.key_id: block.to_address for block in config.imports}
    assert {config.keys[by_id[key.id]].name for key in keys} == set(names)


def test_an_expired_key_and_unknown_scopes_still_validate() -> None:
    keys = [
        _key(1, "old", scopes=frozenset({"sms:logs:read"}), valid_to=NOW - timedelta(days=1)),
        _key(2, "newer", scopes=frozenset({"future:scope:read"})),
    ]

    exported = export_manifest("_", keys, managed={}, now=NOW, catalog=CATALOG)

    assert exported.expired == 1
    assert "# valid_to not declared: the key expired at 2026-11-24T12:00:00Z" in exported.text
    assert "unknown_scopes: warn" in exported.text
    config = _load(exported.text)
    assert config.keys["api_keys.old"].valid_to is None
    assert config.keys["api_keys.newer"].scopes == {"future:scope:read"}


def test_keys_already_in_state_keep_their_address_and_need_no_import() -> None:
    keys = [_key(1, "billing"), _key(2, "Billing reports")]

    exported = export_manifest(
        "_", keys, managed={f"{1:032X}": "api_keys.legacy"}, now=NOW, catalog=CATALOG
    )

    config = _load(exported.text)
    assert set(config.keys) == {"api_keys.legacy", "api_keys.billing-reports"}
    assert [block.to_address for block in config.imports] == ["api_keys.billing-reports"]


def test_keys_out_of_pagings_reach_are_noted_in_the_header() -> None:
    exported = export_manifest(
        "_",
        [_key(1, "billing")],
        managed={},
        now=NOW,
        catalog=CATALOG,
        unreached="the account holds 25,000 keys; up to 120 enabled keys could not be listed",
    )

    assert "#   up to 120 enabled keys could not be listed\n" in exported.text
    assert _load(exported.text).keys.keys() == {"api_keys.billing"}

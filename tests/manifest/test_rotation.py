"""The manifest's `rotation` block: defaults and per key, `rotation: none`, and its rules
with the file, line and column of what to mend."""

from __future__ import annotations

from datetime import timedelta

from infobip_iac.domain.rotation import RotationPolicy

from .conftest import LoadText, found

HEAD = """
version: 1
defaults:
  allowed_ips: [203.0.113.0/24]
  valid_for: 180d
  rotation:
    every: 90d
    before_expiry: 14d
    overlap: 7d
api_keys:
"""


def test_keys_inherit_the_default_rotation_and_none_turns_it_off(load_text: LoadText) -> None:
    result = load_text(
        HEAD
        + """
  inherits:
    scopes: [sms:logs:read]
  opts-out:
    scopes: [sms:logs:read]
    rotation: none
  own:
    scopes: [sms:logs:read]
    rotation: {before_expiry: 30d}
"""
    )

    assert found(result) == set()
    assert result.config is not None
    keys = result.config.keys
    assert keys["api_keys.inherits"].rotation == RotationPolicy(
        every=timedelta(days=90), before_expiry=timedelta(days=14), overlap=timedelta(days=7)
    )
    assert keys["api_keys.opts-out"].rotation is None
    # Its own block replaces the default's whole; overlap takes its default, 7d.
    assert keys["api_keys.own"].rotation == RotationPolicy(
        every=None, before_expiry=timedelta(days=30), overlap=timedelta(days=7)
    )


def test_each_rule_is_reported_where_it_was_broken(load_text: LoadText) -> None:
    result = load_text(
        HEAD
        + """
  short-validity:
    scopes: [sms:logs:read]
    valid_for: 60d
  overlap-too-long:
    scopes: [sms:logs:read]
    rotation: {every: 10d, overlap: 10d}
  no-period:
    scopes: [sms:logs:read]
    rotation: {overlap: 2d}
  fixed-end:
    scopes: [sms:logs:read]
    valid_to: 2030-01-01
  too-often:
    scopes: [sms:logs:read]
    rotation: {every: 2h}
  due-at-once:
    scopes: [sms:logs:read]
    rotation: {before_expiry: 200d}
  not-a-word:
    scopes: [sms:logs:read]
    rotation: weekly
  fixed-start:
    scopes: [sms:logs:read]
    valid_from: 2030-01-01
"""
    )

    assert found(result) == {
        ("E608", 13, 16),  # the key's own valid_for, against the defaults' every
        ("E607", 16, 15),
        ("E607", 19, 15),
        ("E608", 22, 15),  # valid_to with a rotation
        ("E607", 25, 15),
        ("E608", 28, 31),  # before_expiry not shorter than the validity
        ("E607", 31, 15),
        ("E608", 34, 17),  # valid_from with a rotation
    }
    messages = {d.line: d.message for d in result.diagnostics}
    assert "not shorter than the key's validity (valid_for 60d)" in messages[13]
    assert "overlap 10d is not shorter than every 10d" in messages[16]
    assert "needs every, before_expiry or both" in messages[19]
    assert "shorter than a day" in messages[25]
    assert messages[31] == 'rotation "weekly" is neither none nor a block'
    assert "cannot have a fixed valid_from" in messages[34]

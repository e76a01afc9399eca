"""The policy guard rails against resolved keys."""

from __future__ import annotations

from manifest.conftest import LoadText, found


def test_max_validity_allows_exactly_the_limit(load_text: LoadText) -> None:
    result = load_text(
        """
        version: 1
        policy: {max_validity: 90d}
        api_keys:
          relative: {valid_for: 90d}
          absolute: {valid_from: 2027-01-01, valid_to: 2027-04-01}
          from-now: {valid_to: 2026-08-30}
        """
    )
    assert result.errors == []


def test_max_validity_measures_from_now_without_valid_from(load_text: LoadText) -> None:
    result = load_text(
        "version: 1\npolicy: {max_validity: 90d}\napi_keys:\n  k: {valid_to: 2026-08-31}\n"
    )
    assert found(result, "error") == {("E700", 4, 17)}
    assert "91 days after now" in result.errors[0].message


def test_a_long_default_counts_once_for_all_keys(load_text: LoadText) -> None:
    result = load_text(
        """
        version: 1
        policy: {max_validity: 30d}
        defaults: {valid_for: 1y}
        api_keys:
          a: {}
          b: {}
          c: {valid_for: 7d}
        """
    )
    assert found(result, "error") == {("E700", 3, 23)}


def test_an_infobip_default_of_one_year_fits_a_one_year_limit(load_text: LoadText) -> None:
    result = load_text("version: 1\npolicy: {max_validity: 365d}\napi_keys:\n  k: {}\n")
    assert result.errors == []


def test_a_disabled_key_needs_no_allowed_ips(load_text: LoadText) -> None:
    result = load_text(
        """
        version: 1
        policy: {require_allowed_ips: true}
        api_keys:
          old: {enabled: false}
          new: {}
        """
    )
    assert found(result, "error") == {("E701", 5, 3)}


def test_allowed_ips_from_defaults_satisfy_the_policy(load_text: LoadText) -> None:
    result = load_text(
        """
        version: 1
        policy: {require_allowed_ips: true, forbid_any_ip: true}
        defaults: {allowed_ips: [203.0.113.0/24]}
        api_keys:
          a: {}
          b: {allowed_ips: ["::/0"]}
        """
    )
    assert found(result, "error") == {("E702", 6, 21)}


def test_forbidden_scopes_reach_through_sets_and_coverage(load_text: LoadText) -> None:
    result = load_text(
        """
        version: 1
        policy: {forbidden_scopes: [sms:message:send]}
        scope_sets:
          senders: [sms:message:send]
        api_keys:
          by-set: {scope_sets: [senders]}
          by-umbrella: {scopes: [message:send]}
          narrow: {scopes: [sms:logs:read]}
        """
    )
    assert found(result, "error") == {("E703", 6, 25), ("E703", 7, 26)}
    messages = sorted(d.message for d in result.errors)
    assert 'scope set "senders"' in messages[0] + messages[1]


def test_policy_settings_reach_the_configuration(load_text: LoadText) -> None:
    result = load_text(
        """
        version: 1
        policy:
          unmanaged_keys: revoke
          max_revokes: 3
          forbidden_scopes: [account-management:manage]
        """
    )
    assert result.config is not None
    policy = result.config.policy
    assert policy.unmanaged_keys == "revoke" and policy.max_revokes == 3
    assert policy.forbidden_scopes == {"account-management:manage"}

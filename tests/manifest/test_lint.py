"""Warnings: shown, never fatal."""

from __future__ import annotations

from manifest.conftest import LoadText, found


def test_redundant_and_broad_scopes_are_warned(load_text: LoadText) -> None:
    result = load_text(
        """
        version: 1
        api_keys:
          k:
            allowed_ips: [198.51.100.1]
            scopes: [sms:manage, sms:message:send, message:send, whatsapp:message:send]
        """
    )
    assert result.config is not None
    assert found(result, "warning") == {
        ("W103", 5, 14),  # sms:manage beside narrow SMS scopes
        ("W100", 5, 26),  # sms:message:send under sms:manage
        ("W100", 5, 58),  # whatsapp:message:send under message:send
    }


def test_scopes_a_role_brings_are_not_warned(load_text: LoadText) -> None:
    result = load_text(
        "version: 1\napi_keys:\n  k: {allowed_ips: [192.0.2.1], roles: [Communication Manager]}\n"
    )
    assert result.config is not None and result.warnings == []


def test_a_scope_from_a_set_under_a_written_broad_one_is_warned(load_text: LoadText) -> None:
    result = load_text(
        """
        version: 1
        scope_sets: {senders: [sms:message:send]}
        api_keys:
          k: {allowed_ips: [192.0.2.1], scopes: [message:send], scope_sets: [senders]}
        """
    )
    assert found(result, "warning") == {("W100", 4, 70)}
    assert 'from scope set "senders"' in result.warnings[0].message


def test_validity_ending_soon_is_warned(load_text: LoadText) -> None:
    result = load_text(
        """
        version: 1
        defaults: {allowed_ips: [192.0.2.1]}
        api_keys:
          soon: {valid_to: 2026-06-20}
          gone: {valid_to: 2026-05-01}
          later: {valid_to: 2026-08-01}
          relative: {valid_from: 2026-05-01, valid_for: 40d}
          off: {valid_to: 2026-06-02, enabled: false}
        """
    )
    assert found(result, "warning") == {("W101", 4, 20), ("W101", 7, 49)}
    by_line = {d.line: d.message for d in result.warnings}
    assert "in 19 days" in by_line[4]
    # ended already: an error, since Infobip refuses such a key (the disabled one is fine)
    assert result.config is None
    assert found(result, "error") == {("E605", 5, 20)}
    assert "stopped being valid" in result.errors[0].message
    assert "enabled: false" in result.errors[0].hint


def test_an_ended_validity_inherited_from_defaults_is_an_error_at_the_key(
    load_text: LoadText,
) -> None:
    result = load_text(
        """
        version: 1
        defaults: {allowed_ips: [192.0.2.1], valid_from: 2026-01-01, valid_for: 30d}
        api_keys:
          old: {}
          fresh: {valid_from: 2026-06-01}
        """
    )
    assert found(result, "error") == {("E605", 4, 3)}


def test_keys_open_to_every_address_are_warned(load_text: LoadText) -> None:
    result = load_text(
        """
        version: 1
        api_keys:
          none: {}
          any: {allowed_ips: [192.0.2.1, 0.0.0.0/0]}
          off: {enabled: false}
        """
    )
    assert result.config is not None
    assert found(result, "warning") == {("W102", 3, 3), ("W102", 4, 34)}


def test_unknown_scopes_may_be_let_through(load_text: LoadText) -> None:
    text = "version: 1\napi_keys:\n  k: {allowed_ips: [192.0.2.1], scopes: [sms:brand-new]}\n"
    strict = load_text(text)
    assert found(strict, "error") == {("E400", 3, 42)} and strict.config is None
    relaxed = load_text(text, allow_unknown_scopes=True)
    assert found(relaxed) == {("W104", 3, 42)}
    assert relaxed.config is not None
    assert relaxed.config.keys["api_keys.k"].scopes == {"sms:brand-new"}
    by_policy = load_text("version: 1\npolicy: {unknown_scopes: warn}\n" + text.split("\n", 1)[1])
    assert {code for code, _, _ in found(by_policy)} == {"W104"}


def test_blank_names_and_application_ids_are_errors(load_text: LoadText) -> None:
    result = load_text(
        """
        version: 1
        defaults: {allowed_ips: [192.0.2.1]}
        api_keys:
          k: {name: "  "}
          p: {platform: [{application_id: " "}]}
        """
    )
    assert found(result, "error") == {("E205", 4, 13), ("E205", 5, 35)}
    assert all("must not be blank" in d.message for d in result.errors)

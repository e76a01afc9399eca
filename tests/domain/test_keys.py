"""KeyWrite: a relative validity becomes an instant when the key is written; and the one
rule for what a key address is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from infobip_iac.domain.keys import KeyWrite, Permission, PlatformLink, is_key_address
from infobip_iac.domain.normalize import LATEST_INSTANT

SERVER_NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _server_clock() -> datetime:
    return SERVER_NOW


def test_valid_for_counts_from_the_server_clock_without_valid_from() -> None:
    write = KeyWrite(name="ci", valid_for=timedelta(days=90))
    resolved = write.with_valid_to_resolved(_server_clock)
    assert resolved.valid_to == SERVER_NOW + timedelta(days=90)
    assert resolved.valid_for is None
    assert resolved.name == "ci"


def test_valid_for_counts_from_valid_from_when_set() -> None:
    start = datetime(2026, 6, 1, tzinfo=UTC)

    def unused_clock() -> datetime:
        raise AssertionError("the server clock is not needed when valid_from is set")

    resolved = KeyWrite(valid_from=start, valid_for=timedelta(days=30)).with_valid_to_resolved(
        unused_clock
    )
    assert resolved.valid_to == start + timedelta(days=30)
    assert resolved.valid_for is None


def test_an_explicit_valid_to_wins_over_valid_for() -> None:
    end = datetime(2026, 12, 31, tzinfo=UTC)
    resolved = KeyWrite(valid_to=end, valid_for=timedelta(days=5)).with_valid_to_resolved(
        _server_clock
    )
    assert resolved.valid_to == end
    assert resolved.valid_for is None


def test_a_write_without_valid_for_is_unchanged() -> None:
    write = KeyWrite(name="ci", valid_to=SERVER_NOW)
    assert write.with_valid_to_resolved(_server_clock) == write


def test_a_clock_near_the_year_9999_ends_the_validity_at_the_last_rfc3339_instant() -> None:
    # Only a broken server clock gets here (a manifest's own valid_from is checked at
    # validation); the write must still not overflow halfway through an apply.
    def far_clock() -> datetime:
        return datetime(9950, 1, 1, tzinfo=UTC)

    for start in (None, datetime(9999, 12, 1, tzinfo=UTC)):
        write = KeyWrite(valid_from=start, valid_for=timedelta(days=36500))
        assert write.with_valid_to_resolved(far_clock).valid_to == LATEST_INSTANT
    exact = KeyWrite(valid_from=LATEST_INSTANT - timedelta(days=1), valid_for=timedelta(days=1))
    assert exact.with_valid_to_resolved(far_clock).valid_to == LATEST_INSTANT


@pytest.mark.parametrize(
    ("text", "is_address"),
    [
        ("api_keys.ci-sms", True),
        ("api_keys.a_1", True),
        ("ci-sms", False),
        ("api_keys.CI-SMS", False),
        ("api_keys.ci-sms\n", False),  # `$` alone would let a trailing newline through
        ("api_keys.", False),
        ("unmanaged._.ABC", False),
    ],
)
def test_one_rule_says_what_a_key_address_is(text: str, is_address: bool) -> None:
    assert is_key_address(text) is is_address


def test_update_steps_never_send_platform_with_permissions_or_scopes() -> None:
    plain = KeyWrite(name="n", scopes=frozenset({"sms:message:send"}))
    assert plain.update_steps() == (plain,)
    unlink_only = KeyWrite(
        platform=(), permissions=frozenset({Permission.PUBLIC_API}), scopes=frozenset()
    )
    assert unlink_only.update_steps() == (KeyWrite(platform=()),)
    unlink = KeyWrite(
        name="n",
        platform=(),
        permissions=frozenset({Permission.TWO_FA_CLIENT}),
        scopes=frozenset({"2fa:pin:send"}),
    )
    assert unlink.update_steps() == (
        KeyWrite(name="n", platform=()),
        KeyWrite(
            permissions=frozenset({Permission.TWO_FA_CLIENT}), scopes=frozenset({"2fa:pin:send"})
        ),
    )
    links = (PlatformLink(application_id="billing"),)
    link = KeyWrite(platform=links, scopes=frozenset())
    assert link.update_steps() == (KeyWrite(scopes=frozenset()), KeyWrite(platform=links))

"""The file-format models: strict types, formatted values, and the secret sink's rules."""

from __future__ import annotations

import typing
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from infobip_iac.domain.keys import MANAGED_ATTRIBUTES
from infobip_iac.manifest.models import (
    KeySpec,
    LifecycleSpec,
    ManifestSpec,
    MovedSpec,
    SecretSpec,
    is_key_id,
)


def _error_types(model: type, value: object) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(value)  # type: ignore[attr-defined]
    return [e["type"] for e in caught.value.errors()]


def test_ignore_changes_names_exactly_the_managed_attributes() -> None:
    annotation = LifecycleSpec.model_fields["ignore_changes"].annotation
    (literal,) = typing.get_args(annotation)
    assert set(typing.get_args(literal)) == set(MANAGED_ATTRIBUTES)


def test_values_are_parsed_and_normalized() -> None:
    spec = KeySpec.model_validate(
        {
            "allowed_ips": ["198.51.100.7", "2001:DB8:0::/48"],
            "valid_from": "2027-01-01",
            "valid_to": "2027-06-01T02:00:00+02:00",
            "valid_for": None,
        }
    )
    assert spec.allowed_ips == ["198.51.100.7/32", "2001:db8::/48"]
    assert spec.valid_from == datetime(2027, 1, 1, tzinfo=UTC)
    assert spec.valid_to == datetime(2027, 6, 1, tzinfo=UTC)
    assert KeySpec.model_validate({"valid_for": "12w"}).valid_for == timedelta(weeks=12)


def test_types_are_strict() -> None:
    assert _error_types(KeySpec, {"enabled": "yes"}) == ["bool_type"]
    assert _error_types(KeySpec, {"name": 7}) == ["string_type"]
    assert _error_types(KeySpec, {"scopes": "sms:manage"}) == ["list_type"]


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("valid_for", "90", "E601"),
        ("valid_for", "99999999y", "E601"),
        ("valid_for", "10000y", "E601"),
        ("valid_for", "9999999d", "E601"),
        ("valid_from", "yesterday", "E600"),
        ("valid_to", "9999-12-31T23:00:00-05:00", "E600"),
        ("valid_from", "0999-01-01", "E600"),
        ("valid_from", "1969-12-31T23:59:59Z", "E600"),
        ("valid_to", "1970-01-01T00:30:00+01:00", "E600"),
        ("valid_to", "0001-01-01T00:00:00+01:00", "E600"),
        ("allowed_ips", ["10.0.0.1/8"], "E501"),
        ("allowed_ips", ["example.com"], "E500"),
    ],
)
def test_formatted_values_fail_with_their_code(field: str, value: object, code: str) -> None:
    assert _error_types(KeySpec, {field: value}) == [code]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("valid_for", "100y"),
        ("valid_for", "36500d"),
        ("valid_from", "1970-01-01"),
        ("valid_to", "9999-12-31T23:59:59Z"),
        ("valid_to", "9999-12-31T23:59:59.999+00:00"),
    ],
)
def test_values_at_the_edges_of_the_range_are_accepted(field: str, value: str) -> None:
    assert getattr(KeySpec.model_validate({field: value}), field) is not None


def test_only_written_fields_count_as_set() -> None:
    spec = KeySpec.model_validate({"scopes": [], "valid_for": None})
    assert spec.model_fields_set == {"scopes", "valid_for"}


@pytest.mark.parametrize(
    "value",
    [
        {"sink": "file"},
        {"sink": "exec"},
        {"sink": "none", "path": "x"},
        {"sink": "file", "path": "x", "command": ["cat"]},
        {"sink": "file", "path": "secrets/{secret}.env"},
        {"sink": "file", "path": "secrets/{.env"},
    ],
)
def test_a_secret_sink_needs_matching_settings(value: dict[str, object]) -> None:
    assert _error_types(SecretSpec, value) == ["E209"]


def test_a_good_secret_sink_is_accepted() -> None:
    spec = SecretSpec.model_validate({"sink": "file", "path": "secrets/{address}-{name}.env"})
    assert spec.format == "dotenv"
    assert SecretSpec.model_validate({"sink": "exec", "command": ["vault"]}).command == ["vault"]


def test_moved_blocks_use_the_manifest_words() -> None:
    move = MovedSpec.model_validate({"from": "api_keys.a", "to": "api_keys.b"})
    assert (move.from_address, move.to_address) == ("api_keys.a", "api_keys.b")
    assert _error_types(MovedSpec, {"from": "a", "to": "api_keys.b"}) == ["E306"]


def test_key_ids() -> None:
    assert is_key_id("ci-sms") and is_key_id("a") and is_key_id("0_x")
    assert not is_key_id("CI") and not is_key_id("-x") and not is_key_id("a" * 64)


def test_version_is_required_and_must_be_one() -> None:
    assert _error_types(ManifestSpec, {}) == ["missing"]
    assert _error_types(ManifestSpec, {"version": 2}) == ["literal_error"]

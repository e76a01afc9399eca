"""Diagnostic codes, suggestions, ordering, and pydantic errors placed by node marks."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from infobip_iac.errors import Diagnostic
from infobip_iac.manifest import diagnostics
from infobip_iac.manifest.diagnostics import (
    Code,
    did_you_mean,
    from_validation_errors,
    sort_diagnostics,
)
from infobip_iac.manifest.models import KeySpec, ManifestSpec
from infobip_iac.manifest.yamlload import parse_text


def test_codes_are_unique_documented_and_sorted_by_severity() -> None:
    values = [code.value for code in Code]
    assert len(values) == len(set(values))
    documented = set(re.findall(r"^    ([EW]\d{3})  ", diagnostics.__doc__ or "", re.M))
    assert documented == set(values)
    assert {code.severity for code in Code if code.value.startswith("W")} == {"warning"}
    assert {code.severity for code in Code if code.value.startswith("E")} == {"error"}


def test_did_you_mean_offers_only_close_words() -> None:
    assert did_you_mean("scope", ["scopes", "roles"]) == "scopes"
    assert did_you_mean("SCOPES", ["scopes"]) == "scopes"
    assert did_you_mean("zzz", ["scopes", "roles"]) is None


def test_sort_orders_by_place_and_drops_repeats() -> None:
    def make(file: str, line: int, code: str = "E400") -> Diagnostic:
        return Diagnostic(file=file, line=line, column=1, code=code, message="m")

    ordered = sort_diagnostics([make("b", 1), make("a", 9), make("a", 2), make("a", 2)])
    assert [(d.file, d.line) for d in ordered] == [("a", 2), ("a", 9), ("b", 1)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("api_keys:\n  k:\n    scope: []\n", ("E202", 3, 5, 'did you mean "scopes"')),
        ("api_keys:\n  k:\n    enabled: 1\n", ("E203", 3, 14, "must be true or false")),
        ("api_keys:\n  k:\n    permissions: [ROOT]\n", ("E404", 3, 19, "'ROOT'")),
        ("api_keys:\n  k:\n    valid_for: 3 days\n", ("E601", 3, 16, "not a duration")),
        ("api_keys:\n  k:\n    platform: [{}]\n", ("E204", 3, 16, "application_id")),
    ],
)
def test_validation_errors_become_diagnostics_at_their_node(
    text: str, expected: tuple[str, int, int, str]
) -> None:
    document, _ = parse_text(text, "m.yaml")
    assert document is not None
    body = document.data["api_keys"]["k"]
    with pytest.raises(ValidationError) as caught:
        KeySpec.model_validate(body)
    [found] = from_validation_errors(
        caught.value.errors(),
        model=ManifestSpec,
        file="m.yaml",
        prefix=("api_keys", "k"),
        key_mark=document.marks.key,
        value_mark=document.marks.value,
    )
    code, line, column, fragment = expected
    assert (found.code, found.line, found.column) == (code, line, column)
    assert fragment in found.message
    assert found.hint

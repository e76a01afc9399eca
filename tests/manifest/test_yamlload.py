"""YAML reading: values by YAML 1.2's core schema, marks, and the limits on hostile input."""

from __future__ import annotations

from pathlib import Path

import pytest

from infobip_iac.manifest.yamlload import (
    MAX_FILE_BYTES,
    Mark,
    parse_file,
    parse_text,
)


def _data(text: str) -> object:
    document, problems = parse_text(text, "m.yaml")
    assert document is not None and not problems, problems
    return document.data


def test_marks_point_at_every_key_and_value() -> None:
    document, _ = parse_text("version: 1\napi_keys:\n  ci-sms:\n    scopes: [a, b]\n", "m.yaml")
    assert document is not None
    marks = document.marks
    assert marks.key(("api_keys", "ci-sms")) == Mark(3, 3)
    assert marks.value(("api_keys", "ci-sms", "scopes")) == Mark(4, 13)
    assert marks.value(("api_keys", "ci-sms", "scopes", 1)) == Mark(4, 17)
    # An unknown location falls back to its nearest recorded ancestor.
    assert marks.value(("api_keys", "ci-sms", "scopes", 7)) == Mark(4, 13)


def test_plain_scalars_follow_the_core_schema() -> None:
    data = _data(
        "a: yes\nb: on\nc: 12:30\nd: 2027-01-01\ne: true\nf: 1\ng: 0x1f\nh: 1.5\ni: ~\nj:\n"
        'k: "1"\nl: 0o17\nm: -.inf\nn: FALSE\n'
    )
    assert data == {
        "a": "yes",
        "b": "on",
        "c": "12:30",
        "d": "2027-01-01",
        "e": True,
        "f": 1,
        "g": 31,
        "h": 1.5,
        "i": None,
        "j": None,
        "k": "1",
        "l": 15,
        "m": float("-inf"),
        "n": False,
    }


def test_mapping_keys_are_their_text() -> None:
    assert _data("2024: x\ntrue: y\n") == {"2024": "x", "true": "y"}


def test_an_explicit_str_tag_keeps_text() -> None:
    assert _data("name: !!str 123\n") == {"name": "123"}


def test_a_duplicate_key_is_reported_and_the_first_kept() -> None:
    document, problems = parse_text("a: 1\nb: 2\na: 3\n", "m.yaml")
    assert document is not None and document.data == {"a": 1, "b": 2}
    assert [(p.code, p.line, p.column) for p in problems] == [("E105", 3, 1)]
    assert "line 1" in problems[0].message


def test_merge_keys_merge_and_explicit_keys_win() -> None:
    text = "base: &base {a: 1, b: 2}\nkey:\n  <<: *base\n  b: 3\n"
    document, problems = parse_text(text, "m.yaml")
    assert document is not None and not problems
    assert document.data["key"] == {"a": 1, "b": 3}
    assert document.marks.key(("key", "b")) == Mark(4, 3)
    assert document.marks.key(("key", "a")) == Mark(1, 14)
    assert document.marks.value(("key",)) == Mark(3, 3)


def test_a_merge_of_a_scalar_is_refused() -> None:
    _, problems = parse_text("key:\n  <<: 5\n", "m.yaml")
    assert [p.code for p in problems] == ["E108"]


def test_an_alias_bomb_stops_early() -> None:
    lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [" + ", ".join([f"*{previous}"] * 10) + "]")
    document, problems = parse_text("\n".join(lines) + "\n", "m.yaml")
    assert document is None
    assert [p.code for p in problems] == ["E106"]


def test_a_recursive_alias_is_refused_by_depth() -> None:
    document, problems = parse_text("a: &a [*a]\n", "m.yaml")
    assert document is None
    assert [p.code for p in problems] == ["E107"]


def test_deep_nesting_is_refused() -> None:
    document, problems = parse_text("a: " + "[" * 80 + "]" * 80 + "\n", "m.yaml")
    assert document is None and [p.code for p in problems] == ["E107"]


def test_unsupported_tags_are_reported_where_written() -> None:
    _, problems = parse_text("a: !!binary aGVsbG8=\nb: !!int nope\n", "m.yaml")
    assert [(p.code, p.line, p.column) for p in problems] == [("E108", 1, 4), ("E108", 2, 4)]


def test_syntax_errors_name_line_and_column() -> None:
    document, problems = parse_text("a: [1, 2\nb: 3\n", "m.yaml")
    assert document is None
    assert problems[0].code == "E104" and problems[0].line == 2


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("version: 1\n\tapi_keys: {}\n", 2, 1),
        ("api_keys:\n  a:\n\t  b: 1\n", 3, 1),
        ("a:\n  - x\n  \t- y\n", 3, 3),
        ("a:\r\n  b: 1\r\n \tc: 2\r\n", 3, 2),
    ],
)
def test_a_tab_in_the_indentation_is_named_with_its_place(
    text: str, line: int, column: int
) -> None:
    document, problems = parse_text(text, "m.yaml")
    assert document is None
    assert [(p.code, p.line, p.column) for p in problems] == [("E104", line, column)]
    assert problems[0].message == "YAML syntax: this line is indented with a tab"
    assert problems[0].hint == "YAML does not allow tabs for indentation; use spaces"


def test_a_tab_is_not_blamed_for_another_syntax_error_on_its_line() -> None:
    # A tab may continue a quoted scalar; the trouble here is the missing closing quote.
    _, problems = parse_text("a: 'x\n\ty", "m.yaml")
    assert [p.code for p in problems] == ["E104"]
    assert "tab" not in problems[0].message + problems[0].hint


def test_control_characters_are_a_syntax_error() -> None:
    document, problems = parse_text("a: 1\nb: \x07\n", "m.yaml")
    assert document is None and problems[0].code == "E104"
    assert (problems[0].line, problems[0].column) == (2, 4)


def test_two_documents_are_refused() -> None:
    _, problems = parse_text("a: 1\n---\nb: 2\n", "m.yaml")
    assert problems[0].code == "E104" and "more than one" in problems[0].message


def test_an_empty_file_has_no_data() -> None:
    document, problems = parse_text("# only a comment\n", "m.yaml")
    assert document is not None and document.data is None and not problems


def test_files_must_be_utf8_and_may_start_with_a_bom(tmp_path: Path) -> None:
    bom = tmp_path / "bom.yaml"
    bom.write_bytes(b"\xef\xbb\xbfversion: 1\n")
    document, problems = parse_file(bom, "bom.yaml")
    assert document is not None and document.data == {"version": 1} and not problems
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"version: 1\nname: caf\xe9\n")
    document, problems = parse_file(latin, "latin.yaml")
    assert document is None
    assert [(p.code, p.line, p.column) for p in problems] == [("E103", 2, 10)]


def test_large_and_unreadable_files_are_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    assert [p.code for p in parse_file(big, "big.yaml")[1]] == ["E102"]
    assert [p.code for p in parse_file(tmp_path, "folder")[1]] == ["E110"]

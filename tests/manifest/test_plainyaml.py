"""The plain-style reader gives what the full YAML pipeline gives, or steps aside.

The property checked on every generated document: when `read_plain` reads a text, libyaml
and our builder read it too, without a problem, to the same values, value marks and key
marks. The generator writes documents in the plain block style with random indentation,
spacing, comments and list styles, and mixes in values and lines just outside that style
(and small mutations), so that both sides of the boundary are exercised.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infobip_iac.manifest.plainyaml import MAX_KEY_LENGTH, read_plain
from infobip_iac.manifest.yamlload import parse_text, plain_scalar

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").rglob("*.yaml"))

KEYS = ["version", "api_keys", "ci-sms", "a", "b2", "x.y", "2024", "true", "null", "_k", "K"]
PLAIN = [
    "1", "0", "12", "007", "1.5", "1.", "1e3", "0x1F", "0o17", "true", "False", "TRUE", "null",
    "Null", "yes", "on", "2027-01-01", "2027-01-01T00:00:00Z", "12:30", "sms:message:send",
    "10.0.0.0/24", "198.51.100.7", "Team key 1", "a-b", "a_b", "f(x)", "v1.2", "a+b", "a/b",
    "90d", "PUBLIC_API", "x",
]  # fmt: skip
QUOTED_TEXT = ["", " ", "a b", "1", "true", "2001:db8::/48", "a: b", "[x]", "{y}", "-", "~", "#x"]
# Quoted, these are still outside the plain style: libyaml refuses control characters and
# counts \x85 and \u2028 as line breaks.
QUOTED_OUTSIDE = ["\u00e9", "a\tb", "a\x01b", "a\x85b", "a\u2028b", "a\x7fb"]
NEAR = [
    "a: b", "a #b", "a:", "a  b", "-1", "+1", ".5", "~", "<<", "&x a", "*x", "!!str 1", "|",
    ">", "{a: 1}", "[a, ]", "[a b]", "[a, [b]]", "[2001:db8::/48]", "\u00e9", "a\tb",
    '"a\\"b"', "'it''s'", "? a", "- a", "%x", "@x", "`x", "a,b", "[a,b]", "[ ]", "[]",
    '"#x"', "'a: b'", "a]", "[a", "(x)", '"a', "a\rb", "a\u0001", "...", "---",
]  # fmt: skip


def _full(text: str) -> tuple[Any, Any, Any, list[Any]]:
    document, problems = parse_text(text, "m.yaml", plain_style=False)
    assert document is not None
    assert document.marks.rest is None  # libyaml's reading records every mark at once
    return document.data, document.marks.values, document.marks.keys, problems


def _agree(text: str) -> bool:
    """True when the plain reader read `text` (and then agreed with the full pipeline)."""
    plain = read_plain(text, plain_scalar)
    if plain is None:
        return False
    data, values, keys, problems = _full(text)
    assert problems == []
    assert plain[0] == data
    assert plain[1] == values
    assert plain[2] == keys
    # parse_text serves the plain reading, with the shallow marks first (down to a key's
    # fields), the rest on demand
    document, found = parse_text(text, "m.yaml")
    assert document is not None and found == []
    shallow = read_plain(text, plain_scalar, marks_depth=3)
    assert shallow is not None and shallow[0] == data
    for recorded, every in ((shallow[1], values), (shallow[2], keys)):
        assert recorded.items() <= every.items()
        assert {at for at in every if len(at) <= 3} <= recorded.keys()
    marks = document.marks
    assert (document.data, marks.values, marks.keys) == shallow
    assert (document.data, marks.complete().values, marks.keys) == plain
    return True


@st.composite
def _scalar(draw: st.DrawFn, *, near: bool) -> str:
    kind = draw(
        st.sampled_from(
            ["plain", "double", "single", "near"] if near else ["plain"] * 2 + ["double", "single"]
        )
    )
    if kind == "plain":
        return draw(st.sampled_from(PLAIN))
    if kind == "near":
        return draw(st.sampled_from(NEAR))
    quote = '"' if kind == "double" else "'"
    return quote + draw(st.sampled_from(QUOTED_TEXT + (QUOTED_OUTSIDE if near else []))) + quote


@st.composite
def _flow(draw: st.DrawFn, *, near: bool) -> str:
    items = draw(st.lists(_scalar(near=near), max_size=4))
    space = draw(st.sampled_from(["", " ", "  "]))
    comma = draw(st.sampled_from([",", ", ", " , ", ",  "]))
    return "[" + space + comma.join(items) + space + "]"


Tree = dict[str, Any]


@st.composite
def _tree(draw: st.DrawFn, depth: int, *, near: bool) -> Tree:
    tree: Tree = {}
    for _ in range(draw(st.integers(1, 4))):
        key = draw(
            st.sampled_from(
                KEYS + (["a b", "k" * (MAX_KEY_LENGTH + 1), "k" * 1100] if near else [])
            )
        )
        if key in tree and not (near and draw(st.booleans())):
            continue  # a duplicate key now and then, when near
        shapes = ["scalar", "flow", "block"] + (["map"] if depth < 3 else [])
        shape = draw(st.sampled_from(shapes + (["empty"] if near else [])))
        if shape == "empty":
            tree[key] = ("empty", None)
        elif shape == "scalar":
            tree[key] = ("scalar", draw(_scalar(near=near)))
        elif shape == "flow":
            tree[key] = ("flow", draw(_flow(near=near)))
        elif shape == "block":
            tree[key] = ("block", draw(st.lists(_scalar(near=near), min_size=1, max_size=3)))
        else:
            tree[key] = ("map", draw(_tree(depth + 1, near=near)))
        if key in tree and near and draw(st.integers(0, 9)) == 0:
            tree[key + " "] = tree[key]  # renders as a duplicate of `key`
    return tree


@st.composite
def documents(draw: st.DrawFn, *, near: bool) -> str:
    lines: list[str] = []

    def extra(indent: int) -> None:
        """Blank and comment lines, which may stand anywhere."""
        for _ in range(draw(st.integers(0, 1))):
            lines.append(draw(st.sampled_from(["", "   ", " " * indent + "# note", "#x: [y"])))

    def write(tree: Tree, indent: int) -> None:
        for key, (shape, value) in tree.items():
            extra(indent)
            head = " " * indent + key.rstrip(" ") + ":"
            gap = " " * draw(st.integers(1, 3))
            tail = " " * draw(st.integers(0, 2))
            if shape in ("scalar", "flow"):
                lines.append(head + gap + value + tail)
            elif shape == "empty":
                lines.append(head + tail)
            elif shape == "block":
                lines.append(head + tail)
                at = max(0, indent + draw(st.integers(-2 if near else 0, 3)))
                for item in value:
                    extra(at)
                    lines.append(" " * at + "-" + " " * draw(st.integers(1, 2)) + item + tail)
            else:
                lines.append(head + tail)
                write(value, max(0, indent + draw(st.integers(-1 if near else 1, 4))))

    write(draw(_tree(0, near=near)), 0)
    if near:
        for _ in range(draw(st.integers(0, 2))):
            index = draw(st.integers(0, len(lines) - 1))
            line = lines[index]
            lines[index] = draw(
                st.sampled_from([" " + line, line[1:], line + ":", line + " #c", line + "\\"])
            )
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n"]))


GENERATED = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@GENERATED
@given(documents(near=False))
def test_documents_in_the_plain_style_are_read_as_libyaml_reads_them(text: str) -> None:
    assert _agree(text), text


@GENERATED
@given(documents(near=True))
def test_documents_near_the_plain_style_are_read_alike_or_left_to_libyaml(text: str) -> None:
    _agree(text)


def test_the_manifests_of_the_benchmarks_are_plain() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import validate_10k
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    keys = "version: 1\napi_keys:\n" + "\n".join(validate_10k.key_block(i) for i in range(40))
    assert _agree(keys)
    assert not _agree(validate_10k.SHARED)  # a flow mapping: libyaml reads it


# Examples written partly in the flow style (`{...}` mappings), which the plain reader leaves
# to libyaml; every other example is plain.
LEFT_TO_LIBYAML = {
    "examples/advanced/manifest.yaml",
    "examples/platform.yaml",
    "examples/single-team/manifest.yaml",
}


def test_the_examples_left_to_libyaml_exist() -> None:
    assert {p.relative_to(ROOT).as_posix() for p in EXAMPLES} >= LEFT_TO_LIBYAML


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_examples_are_read_alike(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    if path.relative_to(ROOT).as_posix() not in LEFT_TO_LIBYAML:
        assert _agree(text)
        return
    assert read_plain(text, plain_scalar) is None
    data, values, keys, problems = _full(text)
    assert problems == [] and isinstance(data, dict) and data.get("version") == 1
    document, found = parse_text(text, "m.yaml")
    assert document is not None and found == []
    assert (document.data, document.marks.values, document.marks.keys) == (data, values, keys)


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\na: 2\n",  # a duplicate key: the full pipeline reports it
        "a:\n",  # an empty value
        "a:\n  b: 1\n c: 2\n",  # indentation that matches no open mapping
        "a: b\n  c\n",  # a multi-line plain scalar
        "- a\n",  # a top-level list
        "  a: 1\n",  # an indented root
        "a: [x, y]\n  - z\n",
        "a:\n  b:\n- x\n",  # a list shallower than its key
        "a:\nb: 1\n",  # `a:` holds nothing: b is no child of it
        "a: 1\n- x\n",
        "a:\n  - x\n   - y\n",  # "x - y", one multi-line scalar
        "a: b\t\n",
        "",
        "# only a comment\n",
    ],
)
def test_texts_outside_the_plain_style_are_left_to_libyaml(text: str) -> None:
    assert read_plain(text, plain_scalar) is None


@pytest.mark.parametrize(
    "text",
    [*PLAIN, "", "~", "-1", "+1", "-.5", ".inf", "-.Inf", ".NaN", "0o9", "0x", "1_000", "<<x"],
)
def test_plain_scalar_is_what_the_resolver_and_builder_make(text: str) -> None:
    data, *_ = _full(f"a: {text}\n")
    value = plain_scalar(text)
    assert value == data["a"] or (value != value and data["a"] != data["a"])  # nan
    assert type(value) is type(data["a"])


@pytest.mark.parametrize("text", QUOTED_OUTSIDE)
def test_quoted_text_outside_printable_ascii_is_left_to_libyaml(text: str) -> None:
    for document in (f'a: "{text}"\n', f"a: ['{text}']\n", f"a:\n- '{text}'\n"):
        assert read_plain(document, plain_scalar) is None


def test_every_plain_value_takes_the_core_schema() -> None:
    text = "".join(f"k{i}: {value}\n" for i, value in enumerate(PLAIN))
    assert _agree(text)
    data, *_ = _full(text)
    read = {PLAIN[int(key[1:])]: value for key, value in data.items()}
    assert read["1"] == 1 and read["0x1F"] == 31 and read["1e3"] == 1000.0
    assert read["yes"] == "yes" and read["Null"] is None and read["False"] is False
    assert read["12:30"] == "12:30" and read["2027-01-01"] == "2027-01-01"


def test_a_mark_not_recorded_yet_is_found_by_reading_the_rest() -> None:
    document, _ = parse_text("version: 1\napi_keys:\n  ci:\n    scopes: [a, b]\n", "m.yaml")
    assert document is not None
    marks = document.marks
    assert marks.key(("api_keys", "ci")) == (3, 3) and marks.rest is not None
    assert marks.value(("api_keys", "ci", "scopes", 1)) == (4, 17)
    assert marks.rest is None
    assert marks.key(("api_keys", "ci", "scopes")) == (4, 5)

"""A fast reader for the plain block style most manifests are written in, or None.

Reading a 10,000-key manifest through libyaml costs a node object, two marks and a Python
resolver call per scalar, and then our own walk over the nodes. Most manifests, and
nearly every large generated one, use a small part of YAML: one `key: value` per line,
nested by indentation, values that are plain words, quoted text without escapes, or
one-line `[a, b]` lists, and `- item` lists of such values. This module reads exactly that
part, line by line, and gives the same values and the same marks as `yamlload`'s full
pipeline would. Anything outside it, valid or not (anchors, tags, flow mappings, comments
after a value, a duplicate key, a tab, a multi-line scalar, non-ASCII text), makes
`read_plain` answer None, and the file is read by the full pipeline, which also owns every
diagnostic: this reader never reports anything.

tests/manifest/test_plainyaml.py checks it against the full pipeline on generated
documents, including many that are just outside this subset.

It stays because the targets fail without it, measured (2026-12-04, 2-core machine under
load 3, interleaved runs): the whole `plan` of 10,000 keys (benchmarks/plan_http_10k.py's
manifest) took 2.9 s of process CPU and 147 MB with this reader, 3.9 s and 183 MB with the
full pipeline only; loading that manifest alone, 0.9 s against 1.7 s.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = ["MAX_KEY_LENGTH", "MAX_NESTING", "PlainRead", "read_plain"]

# libyaml refuses a simple key longer than 1024 characters; ids are at most 63.
MAX_KEY_LENGTH = 256
# Manifests nest five levels; deeper documents are left to the full pipeline's limits.
MAX_NESTING = 16
# Python's regex engine keeps state for every character a repeated group matches: a 1 MB
# line costs hundreds of megabytes, and each line a tuple of its parts. Longer lines, or
# more of them than a configuration of the largest size needs, are left to the full
# pipeline, which refuses what is too large before building anything.
MAX_LINE_CHARS = 16 * 1024
MAX_LINES = 200_000
_LONG_LINE = re.compile(rf"[^\n]{{{MAX_LINE_CHARS + 1}}}")

Location = tuple[str | int, ...]
# (data, marks of values, marks of mapping keys), as yamlload's builder records them.
PlainRead = tuple[Any, dict[Location, tuple[int, int]], dict[Location, tuple[int, int]]]

# Printable ASCII and newlines only: no tabs, carriage returns or control characters,
# and columns count characters exactly as libyaml counts them.
_OUTSIDE = re.compile(r"[^\x20-\x7e\n]")
# A plain scalar in block context: a word character first; a colon or a space only when a
# safe character follows (so never `: `, ` #`, a trailing colon or a double space).
_SAFE = r"[A-Za-z0-9_./+()-]"
_PLAIN = rf"[A-Za-z0-9_](?:{_SAFE}|:(?={_SAFE})| (?={_SAFE}))*"
# An item of a one-line flow list: the same plain scalars (none holds a flow indicator).
_FLOW_ITEM = re.compile(rf" *(?:\"([^\"\\]*)\"|'([^']*)'|({_PLAIN})) *([,\]])")
_EMPTY_FLOW = re.compile(r"\[ *\]")
_PLAIN_LIST = rf"\[ *{_PLAIN}(?: *, *{_PLAIN})* *\]"
_PLAIN_FLOW = re.compile(_PLAIN_LIST)


class _NotPlainError(Exception):
    """The text leaves the subset this reader knows: the full pipeline reads it."""


def read_plain(
    text: str, plain_scalar: Callable[[str], Any], *, marks_depth: int | None = None
) -> PlainRead | None:
    """The document in `text` as yamlload's builder would make it, or None when `text` is
    not written in the plain block style. `plain_scalar` gives the value of an unquoted
    scalar (the core schema); it raises ValueError for text it cannot read.

    `marks_depth` limits the marks recorded to the locations at most that deep (a key's
    id is at depth 2); None records all of them.
    """
    if _OUTSIDE.search(text) is not None:
        return None
    if text.count("\n") >= MAX_LINES or _LONG_LINE.search(text) is not None:
        return None
    try:
        return _PlainReader(plain_scalar, marks_depth).read(text)
    except (_NotPlainError, ValueError):
        return None


# One line of the plain style, whatever it holds, without its trailing spaces:
# `key: value` | `key:` | `- item` | a comment | a blank line | (anything else). A value is
# told apart here already: a plain scalar, a quoted one, a one-line flow list of plain
# scalars, or any other one-line flow list (checked item by item later).
_QUOTED_TEXT = r"\"[^\"\\\n]*\"|'[^'\n]*'"
_LINE = re.compile(
    rf"^( *)(?:([A-Za-z0-9_][A-Za-z0-9_.-]*):"
    rf"(?:( +)(?:({_PLAIN})|({_QUOTED_TEXT})|({_PLAIN_LIST})|(\[[^\n]*\])))?"
    rf"|-( +)(?:({_PLAIN})|({_QUOTED_TEXT}))|(#[^\n]*)|([^\n]*?)) *$",
    re.MULTILINE,
)

# An open block collection: (indentation, the dict or list, its location, is a list).
_Frame = tuple[int, Any, Location, bool]


class _PlainReader:
    def __init__(self, plain_scalar: Callable[[str], Any], marks_depth: int | None) -> None:
        self.plain_scalar = plain_scalar
        self.marks_depth = MAX_NESTING + 1 if marks_depth is None else marks_depth
        self.values: dict[Location, tuple[int, int]] = {}
        self.keys: dict[Location, tuple[int, int]] = {}
        # A manifest repeats its scalars (scopes, dates, true): each text is resolved once.
        self.resolved: dict[str, Any] = {}

    def scalar(self, text: str) -> Any:
        """The value of a plain scalar."""
        try:
            return self.resolved[text]
        except KeyError:
            value = self.resolved[text] = self.plain_scalar(text)
            return value

    def read(self, text: str) -> PlainRead:
        # One regex pass over the whole text splits every line into its parts; the loop
        # below only places them. It is the hot path of a 10,000-key manifest.
        lines = _LINE.findall(text)
        if len(lines) != text.count("\n") + 1:  # pragma: no cover - one match per line
            raise _NotPlainError
        plain_scalar = self.scalar
        root: dict[str, Any] = {}
        stack: list[_Frame] = []
        values, keys = self.values, self.keys
        # Locations at least this deep get no marks (and, for plain values, no tuple).
        unmarked = self.marks_depth
        # `key:` with nothing after it: (its mapping, key, location, indentation) until the
        # next line opens the mapping or list it holds.
        opening: tuple[dict[str, Any], str, Location, int] | None = None
        # A line deeper than the open collections (after a value, a continuation of it, or
        # an error) finds none at its indentation below, and is left to libyaml.
        number = 0
        for (
            spaces,
            key,
            gap,
            plain,
            quoted,
            plain_list,
            flow,
            dash_gap,
            item_plain,
            item_quoted,
            _,
            other,
        ) in lines:
            number += 1
            if not key and not dash_gap:
                if other:
                    raise _NotPlainError
                continue  # blank, or a comment on a line of its own
            indent = len(spaces)
            if not stack:  # the first line: an indented one finds no mapping at its indent
                values[()] = (number, 1)
                stack.append((0, root, (), False))
            if dash_gap:
                if opening is not None:
                    mapping, name, location, key_indent = opening
                    if indent < key_indent or len(stack) >= MAX_NESTING:
                        raise _NotPlainError
                    sequence: list[Any] = []
                    mapping[name] = sequence
                    values[location] = (number, indent + 1)
                    stack.append((indent, sequence, location, True))
                    opening = None
                else:
                    while stack[-1][0] > indent:
                        stack.pop()
                    if stack[-1][0] != indent:
                        raise _NotPlainError
                _, items, location, is_list = stack[-1]
                if not is_list:  # `- item` in a mapping
                    raise _NotPlainError
                if len(location) < unmarked:
                    values[(*location, len(items))] = (number, indent + len(dash_gap) + 2)
                items.append(plain_scalar(item_plain) if item_plain else item_quoted[1:-1])
                continue
            if len(key) > MAX_KEY_LENGTH:
                raise _NotPlainError
            if opening is not None:
                mapping, name, location, key_indent = opening
                if indent <= key_indent or len(stack) >= MAX_NESTING:
                    raise _NotPlainError  # `key:` with an empty value, or too deep
                child: dict[str, Any] = {}
                mapping[name] = child
                values[location] = (number, indent + 1)
                stack.append((indent, child, location, False))
                opening = None
            else:
                # A list written at its key's own indentation ends at the next key there.
                while stack[-1][0] > indent or (stack[-1][0] == indent and stack[-1][3]):
                    stack.pop()
                if stack[-1][0] != indent:
                    raise _NotPlainError
            _, mapping, parent, _ = stack[-1]
            if key in mapping:
                raise _NotPlainError  # a duplicate: the full pipeline reports it
            if not gap:
                location = (*parent, key)
                if len(parent) < unmarked:
                    keys[location] = (number, indent + 1)
                opening = (mapping, key, location, indent)
                continue
            if len(parent) >= unmarked:  # most lines of a large manifest: a key's field
                if plain:
                    mapping[key] = plain_scalar(plain)
                elif plain_list:
                    mapping[key] = [
                        plain_scalar(part.strip(" ")) for part in plain_list[1:-1].split(",")
                    ]
                elif quoted:
                    mapping[key] = quoted[1:-1]
                else:
                    mapping[key] = self.flow_list(flow, number, 0, None)
                continue
            location = (*parent, key)
            keys[location] = (number, indent + 1)
            column = indent + len(key) + len(gap) + 2
            values[location] = (number, column)
            if plain:
                mapping[key] = plain_scalar(plain)
            elif quoted:
                mapping[key] = quoted[1:-1]
            else:
                mapping[key] = self.flow_list(
                    plain_list or flow,
                    number,
                    column,
                    location if len(location) < unmarked else None,
                )
        if opening is not None or not stack:
            raise _NotPlainError  # ends in `key:` (an empty value), or holds no content at all
        return root, values, self.keys

    def flow_list(
        self, written: str, number: int, column: int, location: Location | None
    ) -> list[Any]:
        """`[a, "b", c]` on one line; each item's mark is where the item starts (recorded
        when a `location` is given)."""
        if _EMPTY_FLOW.fullmatch(written):
            return []
        if _PLAIN_FLOW.fullmatch(written):
            return self.plain_flow_list(written, number, column, location)
        items: list[Any] = []
        position = 1
        while True:
            item = _FLOW_ITEM.match(written, position)
            if item is None:
                raise _NotPlainError
            if item[3] is not None:
                start, value = item.start(3), self.scalar(item[3])
            else:
                start = item.start(1) - 1 if item[1] is not None else item.start(2) - 1
                value = item[1] if item[1] is not None else item[2]
            if location is not None:
                self.values[(*location, len(items))] = (number, column + start)
            items.append(value)
            if item[4] == "]":
                if item.end() != len(written):
                    raise _NotPlainError
                return items
            position = item.end()

    def plain_flow_list(
        self, written: str, number: int, column: int, location: Location | None
    ) -> list[Any]:
        """`[a, b, c]` without quotes, already checked whole: split at the commas."""
        plain_scalar = self.scalar
        if location is None:
            return [plain_scalar(part.strip(" ")) for part in written[1:-1].split(",")]
        items: list[Any] = []
        values = self.values
        start = column + 1  # of the text after `[`
        for part in written[1:-1].split(","):
            item = part.strip(" ")
            values[(*location, len(items))] = (number, start + len(part) - len(part.lstrip(" ")))
            items.append(plain_scalar(item))
            start += len(part) + 1
        return items

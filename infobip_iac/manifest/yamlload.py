"""Read one manifest file into plain values, keeping the line and column of every node.

PyYAML composes the node graph (with libyaml when it is there); we then build the values
ourselves instead of using a constructor, so that we can:

- remember where each mapping key and each value starts (`NodeMarks`), for diagnostics;
- refuse duplicate mapping keys, which a constructor silently lets the last one win;
- bound alias expansion and nesting depth, so a small hostile file cannot eat memory;
- bound the size of what is built: before composing, one pass over libyaml's events refuses
  a scalar, a list or a mapping larger than any manifest needs (`MAX_TEXT_CHARS`,
  `MAX_LIST_ITEMS`, `MAX_MAPPING_ENTRIES`), since composing a 10 MB file of tiny nodes
  takes half a gigabyte; `manifest.bounds` then holds the built values to Infobip's own;
- resolve plain scalars by YAML 1.2's core schema: `yes`, `on`, `12:30`, `2027-01-01` stay
  strings instead of becoming booleans, sexagesimal integers or dates behind the writer's
  back (dates are parsed later, by `domain.normalize`, as the field says).

Mapping keys are always taken as their text: `2024: {...}` under `api_keys` is the id "2024".

A file written in the plain block style is read without libyaml by `plainyaml`, which
gives the same values and marks in a fraction of the time; anything else comes here.
"""

from __future__ import annotations

import math
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from yaml.composer import Composer
from yaml.events import (
    CollectionEndEvent,
    CollectionStartEvent,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from infobip_iac.errors import Diagnostic
from infobip_iac.manifest.diagnostics import Code, Location, diagnostic
from infobip_iac.manifest.plainyaml import read_plain

__all__ = [
    "MAX_ALIAS_EXPANSION",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_LIST_ITEMS",
    "MAX_MAPPING_ENTRIES",
    "MAX_TEXT_CHARS",
    "Location",
    "Mark",
    "MarkTable",
    "NodeMarks",
    "YamlDocument",
    "parse_file",
    "parse_text",
    "plain_scalar",
]

MAX_FILE_BYTES = 10 * 1024 * 1024
# A manifest is six levels deep at most (api_keys > id > platform > item > field); 64 leaves
# room for anchors and odd layouts while stopping recursion bombs long before Python would.
MAX_DEPTH = 64
# Nodes reached a second time through an alias or merge. Anchors for shared blocks in a large
# manifest stay far below this; a "billion laughs" file hits it after a few levels.
MAX_ALIAS_EXPANSION = 200_000
# No field of a manifest needs more text than this (a path, a command argument, a name).
MAX_TEXT_CHARS = 4096
# Lists of IP ranges are the longest a manifest has; scope lists are bounded tighter later.
MAX_LIST_ITEMS = 10_000
# `api_keys` is the largest mapping: the most keys a configuration may have, the largest
# measured (docs/PERFORMANCE.md).
MAX_MAPPING_ENTRIES = 25_000

_TAG = "tag:yaml.org,2002:"
_STR, _NULL, _BOOL, _INT, _FLOAT, _MERGE, _SEQ, _MAP = (
    _TAG + name for name in ("str", "null", "bool", "int", "float", "merge", "seq", "map")
)


# Location -> (line, column), 1-based.
MarkTable = dict[Location, tuple[int, int]]


class Mark(NamedTuple):
    """A 1-based line and column, as editors show them."""

    line: int
    column: int


@dataclass(slots=True)
class NodeMarks:
    """Where each value (`values`) and each mapping key (`keys`) of a document starts.

    Both are indexed by the location of the value: `("api_keys", "ci-sms", "scopes", 0)`.
    """

    # Plain (line, column) tuples: a Mark is made only when someone asks.
    values: MarkTable = field(default_factory=dict)
    keys: MarkTable = field(default_factory=dict)
    # Gives every mark of the document, when only some were recorded so far: a valid file
    # needs only the shallow ones (sections, key ids, key fields); a diagnostic may need any other.
    rest: Callable[[], tuple[MarkTable, MarkTable]] | None = field(
        default=None, repr=False, compare=False
    )

    def complete(self) -> NodeMarks:
        """Record every mark (once); `values` and `keys` then hold all of them."""
        if self.rest is not None:
            values, keys = self.rest()
            self.values.update(values)
            self.keys.update(keys)
            self.rest = None
        return self

    def value(self, location: Location) -> Mark:
        """The mark of the value at `location`, or of its nearest recorded ancestor."""
        if self.rest is not None and location not in self.values:
            self.complete()
        for end in range(len(location), -1, -1):
            found = self.values.get(location[:end])
            if found is not None:
                return Mark(*found)
        return Mark(1, 1)

    def key(self, location: Location) -> Mark:
        """The mark of the mapping key naming `location`, else that of its value."""
        found = self.keys.get(location)
        if found is None and self.rest is not None:
            self.complete()
            found = self.keys.get(location)
        return Mark(*found) if found is not None else self.value(location)


@dataclass(slots=True)
class YamlDocument:
    """One file's content: plain values (dict, list, str, int, float, bool, None)."""

    data: Any
    marks: NodeMarks


_IMPLICIT: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
for _tag, _pattern, _first in (
    (_BOOL, r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    (_NULL, r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    (_INT, r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        _FLOAT,
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
    (_MERGE, r"^<<$", "<"),
):
    for _char in _first:
        _IMPLICIT.setdefault(_char, []).append((_tag, re.compile(_pattern)))


class _CoreResolver(BaseResolver):
    """YAML 1.2 core schema for plain scalars, plus `<<` merge keys.

    Replaces PyYAML's general resolver (path resolvers, per-class tables) with one table
    lookup: it runs once per scalar, and a large manifest has a few hundred thousand.
    """

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            if implicit[0]:
                for tag, pattern in _IMPLICIT.get(value[:1], ()):
                    if pattern.match(value):
                        return tag
            return _STR
        return _SEQ if kind is SequenceNode else _MAP


class _PureLoader(Reader, Scanner, Parser, Composer, _CoreResolver):
    """The pure-Python pipeline, used only when PyYAML was built without libyaml."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        _CoreResolver.__init__(self)


_Loader: type[Any] = _PureLoader
try:
    from yaml._yaml import CParser
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    pass
else:

    class _LibyamlLoader(CParser, _CoreResolver):
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _CoreResolver.__init__(self)

    _Loader = _LibyamlLoader


class _StopBuildingError(Exception):
    """Building must stop: the document is too deep or expands too far."""

    def __init__(self, found: Diagnostic) -> None:
        super().__init__(found.message)
        self.diagnostic = found


def _mark_of(node: Node) -> Mark:
    return Mark(*_where(node))


def _where(node: Node) -> tuple[int, int]:
    mark = node.start_mark
    return (mark.line + 1, mark.column + 1)


class _Builder:
    def __init__(self, file: str) -> None:
        self.file = file
        self.marks = NodeMarks()
        self.problems: list[Diagnostic] = []
        self.seen: set[int] = set()
        self.visits = 0

    def report(self, code: Code, where: Mark, message: str, hint: str = "") -> None:
        self.problems.append(diagnostic(self.file, where, code, message, hint))

    def build(self, node: Node, location: Location, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise _StopBuildingError(
                diagnostic(
                    self.file,
                    _mark_of(node),
                    Code.TOO_DEEP,
                    f"the document nests deeper than {MAX_DEPTH} levels",
                    "a manifest needs only a few levels; check for a runaway anchor or indentation",
                )
            )
        self.visits += 1
        self.seen.add(id(node))
        if self.visits - len(self.seen) > MAX_ALIAS_EXPANSION:
            raise _StopBuildingError(
                diagnostic(
                    self.file,
                    _mark_of(node),
                    Code.ALIAS_EXPANSION,
                    f"aliases expand to more than {MAX_ALIAS_EXPANSION} nodes",
                    "write the repeated parts out, or use fewer nested anchors",
                )
            )
        self.marks.values[location] = _where(node)
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if isinstance(node, SequenceNode):
            return [
                self.build(item, (*location, index), depth + 1)
                for index, item in enumerate(node.value)
            ]
        if isinstance(node, MappingNode):
            return self.mapping(node, location, depth)
        raise TypeError(f"unexpected YAML node {type(node).__name__}")  # pragma: no cover

    def scalar(self, node: ScalarNode) -> Any:
        tag, text = node.tag, node.value
        if tag == _STR:
            return text
        try:
            if tag in _CONSTRUCTORS:
                return _CONSTRUCTORS[tag](text)
        except ValueError:
            self.report(
                Code.UNSUPPORTED_TAG,
                _mark_of(node),
                f"{text!r} cannot be read as {tag.removeprefix(_TAG)}",
                "remove the tag or write a value of that type",
            )
            return text
        self.report(
            Code.UNSUPPORTED_TAG,
            _mark_of(node),
            f"the YAML tag {tag!r} is not supported in a manifest",
            "remove the tag; manifests use plain strings, numbers, booleans, lists and mappings",
        )
        return text

    def mapping(self, node: MappingNode, location: Location, depth: int) -> dict[str, Any]:
        # Merged keys first, so that explicit keys (and their marks) replace them.
        merges = [v for k, v in node.value if isinstance(k, ScalarNode) and k.tag == _MERGE]
        merged: dict[str, Any] = {}
        for source in reversed(merges):
            self.merge(source, location, depth, merged)
        if merges:
            self.marks.values[location] = _where(node)
        explicit: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag == _MERGE:
                continue
            if not isinstance(key_node, ScalarNode):
                self.report(
                    Code.BAD_MAPPING_KEY,
                    _mark_of(key_node),
                    "a mapping key must be plain text, not a list or mapping",
                    "write the key as a word, e.g. `name:`",
                )
                continue
            key = key_node.value
            child = (*location, key)
            if key in explicit:
                first = Mark(*self.marks.keys[child])
                self.report(
                    Code.DUPLICATE_KEY,
                    _mark_of(key_node),
                    f'duplicate key "{key}" (first written at line {first.line})',
                    "keep one of them; YAML would silently use only one",
                )
                continue
            self.marks.keys[child] = _where(key_node)
            explicit[key] = self.build(value_node, child, depth + 1)
        if not merged:
            return explicit
        merged.update(explicit)
        return merged

    def merge(self, source: Node, location: Location, depth: int, into: dict[str, Any]) -> None:
        """`<<: *base` or `<<: [*a, *b]`: earlier sources win, explicit keys win over all.
        The merged mapping is built at `location`, so its keys' marks land there too."""
        sources = source.value if isinstance(source, SequenceNode) else [source]
        for item in reversed(sources):
            if not isinstance(item, MappingNode):
                self.report(
                    Code.UNSUPPORTED_TAG,
                    _mark_of(item),
                    "a merge key (<<) must name a mapping or a list of mappings",
                    "merge an anchored mapping, e.g. `<<: *team-defaults`",
                )
                continue
            into.update(self.build(item, location, depth + 1))


def _parse_null(text: str) -> None:
    if text not in ("", "~", "null", "Null", "NULL"):
        raise ValueError(text)


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered not in ("true", "false"):
        raise ValueError(text)
    return lowered == "true"


def _parse_int(text: str) -> int:
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text)


def _parse_float(text: str) -> float:
    lowered = text.lower()
    if lowered.endswith(".inf"):
        return -math.inf if lowered.startswith("-") else math.inf
    if lowered == ".nan":
        return math.nan
    return float(text)


_CONSTRUCTORS: dict[str, Callable[[str], Any]] = {
    _NULL: _parse_null,
    _BOOL: _parse_bool,
    _INT: _parse_int,
    _FLOAT: _parse_float,
}


# The resolver's patterns for each first character, as one alternation in table order:
# the first alternative that matches is the first pattern that would (one regex call).
_IMPLICIT_AT_ONCE = {
    first: (
        re.compile("|".join(f"({pattern.pattern})" for _, pattern in candidates)),
        [tag for tag, _ in candidates],
    )
    for first, candidates in _IMPLICIT.items()
}


def plain_scalar(text: str) -> Any:
    """The value of an untagged, unquoted scalar: what the resolver and the builder make
    of it together (for the plain-style reader, which has no nodes)."""
    candidates = _IMPLICIT_AT_ONCE.get(text[:1])
    if candidates is None:
        return text
    found = candidates[0].match(text)
    if found is None:
        return text
    tag = candidates[1][found.lastindex - 1 if found.lastindex else 0]
    if tag == _MERGE:
        raise ValueError(text)  # a merge key is no value
    return _CONSTRUCTORS[tag](text)


# The depth of a key's fields (`api_keys` > id > field). A valid file needs marks down to
# them: every DesiredKey carries the place of its own `valid_from` and `valid_to`. Recording
# them in the first read costs 0.1 s for 10,000 keys; reading the file again for them, as
# when only the ids were marked, cost 0.3 s and more memory (all marks, list items too).
_SHALLOW = 3


def _all_marks(text: str) -> tuple[MarkTable, MarkTable]:
    """Every mark of a plain-style text, read again (only when a diagnostic needs one)."""
    read = read_plain(text, plain_scalar)
    if read is None:  # pragma: no cover - the same text was read before
        raise AssertionError("a plain-style text could not be read again")
    return read[1], read[2]


def _position_of(text: str, index: int) -> Mark:
    before = text[:index]
    return Mark(before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1)


# What libyaml says when it meets a tab where indentation belongs (other problems on such a
# line, say an unclosed quote, may have nothing to do with the tab).
_TAB_PROBLEM = re.compile(r"\btab\b|cannot start any token")
# The line breaks of YAML 1.1, which libyaml counts its lines by.
_LINE_BREAK = re.compile(r"\r\n|[\n\r\x85\u2028\u2029]")


def _indenting_tab(text: str, line: int) -> Mark | None:
    """Where the first tab in the indentation of `line` (1-based) stands, if it has one."""
    lines = _LINE_BREAK.split(text, maxsplit=line)
    if line > len(lines):
        return None
    content = lines[line - 1]
    indentation = content[: len(content) - len(content.lstrip(" \t"))]
    column = indentation.find("\t")
    return Mark(line, column + 1) if column >= 0 else None


def _syntax_problem(file: str, text: str, error: yaml.YAMLError) -> Diagnostic:
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        where = Mark(mark.line + 1, mark.column + 1) if mark is not None else Mark(1, 1)
        problem = error.problem or "invalid YAML"
        if error.context and "single document" in error.context:
            return diagnostic(
                file,
                where,
                Code.YAML_SYNTAX,
                "the file holds more than one YAML document",
                "put one manifest in each file; remove the `---` separator",
            )
        tab = _indenting_tab(text, where.line) if _TAB_PROBLEM.search(problem) else None
        if tab is not None:
            # libyaml's words for this ("cannot start any token", "violates indentation")
            # do not say that the tab is the trouble, which editors make hard to see.
            return diagnostic(
                file,
                tab,
                Code.YAML_SYNTAX,
                "YAML syntax: this line is indented with a tab",
                "YAML does not allow tabs for indentation; use spaces",
            )
        context = f" ({error.context})" if error.context else ""
        return diagnostic(
            file,
            where,
            Code.YAML_SYNTAX,
            f"YAML syntax: {problem}{context}",
            "check indentation, quoting and brackets near this point",
        )
    if isinstance(error, yaml.reader.ReaderError):
        return diagnostic(
            file,
            _position_of(text, error.position),
            Code.YAML_SYNTAX,
            f"YAML syntax: character {chr(error.character)!r} is not allowed",
            "remove control characters from the file",
        )
    return diagnostic(
        file, Mark(1, 1), Code.YAML_SYNTAX, f"YAML syntax: {error}", "fix the YAML syntax"
    )


def _too_large(file: str, event: Any, message: str, hint: str) -> Diagnostic:
    mark = event.start_mark
    return diagnostic(file, Mark(mark.line + 1, mark.column + 1), Code.TOO_LARGE, message, hint)


def _scan_sizes(text: str, file: str) -> Diagnostic | None:
    """Walk libyaml's events (nothing is composed) and refuse the first scalar, list or
    mapping past the bounds; None when there is none. A syntax error is left to the
    composing pass, which reports it."""
    loader = _Loader(text)
    # For each open collection: [its start event, nodes in it so far, is a mapping].
    open_collections: list[list[Any]] = []
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, CollectionEndEvent):
                open_collections.pop()
                continue
            if not isinstance(event, NodeEvent):
                continue
            if open_collections:
                parent = open_collections[-1]
                parent[1] += 1
                entries = parent[1] // 2 if parent[2] else parent[1]
                limit = MAX_MAPPING_ENTRIES if parent[2] else MAX_LIST_ITEMS
                if entries > limit:
                    return _too_large(
                        file,
                        parent[0],
                        *(
                            (
                                f"this mapping has more than {limit:,} entries; a "
                                f"configuration may have at most {limit:,} keys",
                                "split the keys into several configurations, each with its "
                                "own state",
                            )
                            if parent[2]
                            else (
                                f"this list has more than {limit:,} entries; no list of a "
                                "manifest needs that many (a scope list holds each scope once)",
                                "shorten the list",
                            )
                        ),
                    )
            if isinstance(event, ScalarEvent) and len(event.value) > MAX_TEXT_CHARS:
                return _too_large(
                    file,
                    event,
                    f"this value is {len(event.value):,} characters long; a value may have at "
                    f"most {MAX_TEXT_CHARS:,}",
                    "no field of a manifest needs that much text",
                )
            if isinstance(event, CollectionStartEvent):
                open_collections.append([event, 0, isinstance(event, MappingStartEvent)])
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()
    return None


def parse_text(
    text: str, file: str, *, plain_style: bool = True
) -> tuple[YamlDocument | None, list[Diagnostic]]:
    """Parse `text` (named `file` in diagnostics). None when nothing usable could be built.

    A text in the plain block style (`plainyaml`) is read by that faster reader, with the
    same result; `plain_style=False` always takes the full pipeline (tests compare them).
    """
    text = text.removeprefix("\ufeff")
    plain = read_plain(text, plain_scalar, marks_depth=_SHALLOW) if plain_style else None
    if plain is not None:
        data, values, keys = plain
        return YamlDocument(data, NodeMarks(values, keys, partial(_all_marks, text))), []
    too_large = _scan_sizes(text, file)
    if too_large is not None:
        return None, [too_large]
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as error:
        return None, [_syntax_problem(file, text, error)]
    except RecursionError:  # pragma: no cover - only without libyaml's own depth limit
        return None, [
            diagnostic(
                file,
                Mark(1, 1),
                Code.TOO_DEEP,
                "the document nests too deeply to read",
                "a manifest needs only a few levels",
            )
        ]
    finally:
        loader.dispose()
    if root is None:
        return YamlDocument(None, NodeMarks()), []
    builder = _Builder(file)
    try:
        data = builder.build(root, (), 0)
    except _StopBuildingError as stop:
        return None, [*builder.problems, stop.diagnostic]
    return YamlDocument(data, builder.marks), builder.problems


def parse_file(path: Path, file: str) -> tuple[YamlDocument | None, list[Diagnostic]]:
    """Read and parse one manifest: a regular file, at most `MAX_FILE_BYTES`, UTF-8 (a BOM
    is allowed)."""
    not_regular = diagnostic(
        file,
        Mark(0, 0),
        Code.UNREADABLE,
        "not a regular file (a pipe, socket or device is never read)",
        "name a manifest file, or a folder of them",
    )
    try:
        # A pipe or device is refused before it is opened: even a brief open of a named pipe
        # is a reader its writer can see. The check after the open covers a file swapped
        # for one in between; O_NONBLOCK keeps that open from waiting for a writer.
        if not stat.S_ISREG(path.stat().st_mode):
            return None, [not_regular]
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                return None, [not_regular]
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        return None, [
            diagnostic(
                file,
                Mark(0, 0),
                Code.UNREADABLE,
                f"cannot read the file: {reason}",
                "check that it exists and that you may read it (a link must lead to a file)",
            )
        ]
    if len(raw) > MAX_FILE_BYTES:
        return None, [
            diagnostic(
                file,
                Mark(0, 0),
                Code.FILE_TOO_LARGE,
                f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB",
                "split the keys into several files in one folder",
            )
        ]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        return None, [
            diagnostic(
                file,
                Mark(line, column),
                Code.NOT_UTF8,
                f"the file is not UTF-8 (byte 0x{raw[error.start]:02x} at offset {error.start})",
                "save the file as UTF-8",
            )
        ]
    return parse_text(text, file)

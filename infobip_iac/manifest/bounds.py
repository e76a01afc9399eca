"""Bounds on a parsed manifest, checked before anything is built from it.

A file under the 10 MB cap can still hold a 4 MB scalar, a 600,000-item scope list or
150,000 keys; validating such a file built models, grants and "did you mean" suggestions
for every item and took gigabytes of memory. Infobip itself bounds what a manifest can
mean, so anything past these bounds is refused here, at its file, line and column, before
the models are built:

- a key's `name`: at most `MAX_NAME_CHARS` characters (Infobip's API documents no maximum;
  this is the common database limit, and a name is shown in lists and plans);
- any other text: at most `yamlload.MAX_TEXT_CHARS` (a path, a command argument, a date);
- a scope list: at most `MAX_SCOPE_ITEMS` entries, twice the scopes Infobip has (the
  catalog's count), leaving room for scopes newer than the catalog; a scope written twice
  in one list is a warning, since it grants nothing more;
- any other list: at most `yamlload.MAX_LIST_ITEMS` entries; any mapping, `api_keys`
  included: at most `MAX_KEYS` entries, the largest configuration the tool is measured with (see
  docs/PERFORMANCE.md), which `load` also holds the whole configuration to.

Marks of a large, lazily marked document (`plainyaml` records the shallow ones only) are
not completed for a refusal: it points at the nearest recorded place (the field's line)
rather than read a huge file again to find a deeper one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from infobip_iac.errors import Diagnostic
from infobip_iac.manifest.diagnostics import Code, Location, diagnostic
from infobip_iac.manifest.yamlload import (
    MAX_LIST_ITEMS,
    MAX_MAPPING_ENTRIES,
    MAX_TEXT_CHARS,
    Mark,
    NodeMarks,
)
from infobip_iac.scopes import load_catalog

__all__ = [
    "MAX_KEYS",
    "MAX_LIST_ITEMS",
    "MAX_NAME_CHARS",
    "MAX_SCOPE_ITEMS",
    "MAX_TEXT_CHARS",
    "check_bounds",
]

MAX_NAME_CHARS = 255
MAX_KEYS = MAX_MAPPING_ENTRIES
MAX_SCOPE_ITEMS = 2 * len(load_catalog().scopes)


# A document with at most this many shallow marks (sections, key ids, key fields: about
# 1,000 keys) is small enough to have all its marks made for a refusal's exact place.
_EXACT_MARKS_UP_TO = 5_000


def _nearest_mark(marks: NodeMarks, location: Location) -> Mark:
    if marks.rest is None or len(marks.values) <= _EXACT_MARKS_UP_TO:
        return marks.value(location)
    for end in range(len(location), -1, -1):
        found = marks.values.get(location[:end])
        if found is not None:
            return Mark(*found)
    return Mark(1, 1)


def _is_scope_list(location: Location) -> bool:
    """`scopes:` of a key or the defaults, `policy.forbidden_scopes`, a scope set."""
    if not location:
        return False
    if location[-1] in ("scopes", "forbidden_scopes"):
        return True
    return len(location) == 2 and location[0] == "scope_sets"


def _where(location: Location) -> str:
    return ".".join(str(part) for part in location) or "the document"


class _Checker:
    def __init__(self, file: str, marks: NodeMarks) -> None:
        self.file = file
        self.marks = marks
        self.problems: list[Diagnostic] = []

    def report(self, location: Location, code: Code, message: str, hint: str) -> None:
        mark = _nearest_mark(self.marks, location)
        self.problems.append(diagnostic(self.file, mark, code, message, hint))

    def walk(self, data: Any) -> None:
        # Iterative: a document is at most yamlload.MAX_DEPTH deep, but a stack of
        # generators costs nothing per level.
        pending: list[tuple[Location, Any]] = [((), data)]
        while pending:
            location, value = pending.pop()
            if isinstance(value, str):
                self.text(location, value)
            elif isinstance(value, dict):
                pending.extend(self.mapping(location, value))
            elif isinstance(value, list):
                pending.extend(self.sequence(location, value))

    def text(self, location: Location, value: str) -> None:
        is_name = len(location) == 3 and location[0] == "api_keys" and location[2] == "name"
        limit = MAX_NAME_CHARS if is_name else MAX_TEXT_CHARS
        if len(value) <= limit:
            return
        what = "a key name" if is_name else "a value"
        self.report(
            location,
            Code.BAD_VALUE if is_name else Code.TOO_LARGE,
            f"{_where(location)} is {len(value):,} characters long; {what} may have at "
            f"most {limit:,}",
            "shorten it" if is_name else "no field of a manifest needs that much text",
        )

    def mapping(self, location: Location, value: dict[Any, Any]) -> Iterator[tuple[Location, Any]]:
        if len(value) > MAX_KEYS:
            what = "keys" if location == ("api_keys",) else "entries"
            self.report(
                location,
                Code.TOO_LARGE,
                f"{_where(location)} has {len(value):,} {what}; a configuration may have at "
                f"most {MAX_KEYS:,}",
                "split the configuration into several, each with its own state",
            )
            return
        for name, item in value.items():
            if isinstance(name, str) and len(name) > MAX_TEXT_CHARS:
                self.text((*location, "…"), name)
                continue
            yield (*location, name), item

    def sequence(self, location: Location, value: list[Any]) -> Iterator[tuple[Location, Any]]:
        scopes = _is_scope_list(location)
        limit = MAX_SCOPE_ITEMS if scopes else MAX_LIST_ITEMS
        if len(value) > limit:
            why = (
                f"twice the {MAX_SCOPE_ITEMS // 2} scopes Infobip has"
                if scopes
                else "more than any manifest needs"
            )
            self.report(
                location,
                Code.TOO_LARGE,
                f"{_where(location)} lists {len(value):,} entries; at most {limit:,} "
                f"are allowed ({why})",
                "list each scope once" if scopes else "shorten the list",
            )
            return
        if scopes:
            self.duplicates(location, value)
        for index, item in enumerate(value):
            yield (*location, index), item

    def duplicates(self, location: Location, value: list[Any]) -> None:
        first: dict[str, int] = {}
        for index, item in enumerate(value):
            if not isinstance(item, str):
                continue
            if item not in first:
                first[item] = index
                continue
            self.report(
                (*location, index),
                Code.DUPLICATE_SCOPE,
                f'scope "{item[:MAX_NAME_CHARS]}" is listed twice in {_where(location)} '
                f"(first as entry {first[item] + 1})",
                "remove the second entry; it grants nothing more",
            )


def check_bounds(data: Any, marks: NodeMarks, file: str) -> list[Diagnostic]:
    """The refusals (errors) and duplicate scopes (warnings) of a parsed document."""
    checker = _Checker(file, marks)
    checker.walk(data)
    return checker.problems

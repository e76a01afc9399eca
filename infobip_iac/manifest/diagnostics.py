"""Diagnostic codes of the manifest checks, and turning validation errors into Diagnostics.

The codes are stable: scripts and CI filters may match on them. Errors start with `E`,
warnings (shown, exit 0) with `W`. Never renumber; retire a code by leaving it unused.

Files and YAML
    E100  a path given on the command line does not exist
    E101  a folder holds no `*.yaml` / `*.yml` file
    E102  a file is larger than 10 MB
    E103  a file is not UTF-8
    E104  YAML syntax error (also: more than one document in a file)
    E105  a mapping key written twice
    E106  aliases expand too far
    E107  nesting too deep
    E108  an unsupported YAML tag, or a tagged value that cannot be read as its tag
    E109  the file is empty or its top level is not a mapping
    E110  a file cannot be read
    E111  a mapping key that is a list or mapping
    E112  a value, list or mapping larger than any manifest needs (`manifest.bounds`)
Structure
    E200  `version` missing
    E201  `version` not supported
    E202  unknown field (with "did you mean")
    E203  a value of the wrong type
    E204  a required field missing
    E205  a value not allowed here (a choice, a length, a number out of range)
    E206  a bad key id
    E207  a bad account reference
    E208  `defaults`, `policy` or a scope set declared a second time
    E209  a secret sink with missing or contradictory settings
Identity and references
    E300  a key id declared twice in the configuration
    E301  two keys of one account with the same name
    E302  `moved.to` names no declared key
    E303  `moved.from` names a key that is still declared
    E304  `imports.to` names no declared key
    E305  an import id that is not an Infobip key id (32 hex digits)
    E306  an address that is not `api_keys.<id>`
    E307  two `moved` or `imports` entries for one address or key
Scopes and permissions
    E400  unknown scope (with "did you mean")
    E401  unknown role
    E402  unknown scope set
    E403  a client-side SDK scope together with other scopes
    E404  a permission outside PUBLIC_API, 2FA_CLIENT, WEB_SDK
    E405  PUBLIC_API together with WEB_SDK
    E406  `platform` together with scopes or permissions
IP ranges
    E500  not an IP address or CIDR range
    E501  a CIDR range with host bits set
Time
    E600  not a date or date-time, or one outside the years 1970 to 9999
    E601  not a duration, or one longer than 100y
    E602  `valid_to` not later than `valid_from`
    E603  `valid_to` together with `valid_for`
    E604  `valid_from` + `valid_for` ends after 9999-12-31T23:59:59Z
    E605  an enabled key whose validity has ended (`valid_to` in the past): Infobip refuses it
    E606  (plan) a date Infobip refuses for this write: `valid_from` before now for a new
          key, `valid_to` before now for a new key, or before the key's `valid_from`
    E607  a `rotation` block without every or before_expiry, out of range, or with an overlap
          not shorter than every
    E608  a `rotation` period not shorter than the validity, or a rotated key with `valid_to`
          or `valid_from`
Policy
    E700  validity longer than `policy.max_validity`
    E701  an enabled key without `allowed_ips` under `policy.require_allowed_ips`
    E702  `0.0.0.0/0` or `::/0` under `policy.forbid_any_ip`
    E703  a scope in `policy.forbidden_scopes` (or one covering it)
Warnings
    W100  a scope already granted by a broader one on the same key
    W101  a key whose validity ends within 30 days
    W102  an enabled key usable from every IP address
    W103  a broad `<product>:manage` beside narrow scopes of the same product
    W104  an unknown scope let through by `unknown_scopes: warn` / `--allow-unknown-scopes`
    W105  a scope written twice in one list
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from typing import Any, NamedTuple, Protocol

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from infobip_iac.errors import Diagnostic, Severity

__all__ = [
    "NOT_BLANK",
    "Code",
    "Position",
    "diagnostic",
    "did_you_mean",
    "from_validation_errors",
    "sort_diagnostics",
]


Location = tuple[str | int, ...]

# The pattern of a value with a non-space character: Infobip refuses a blank name or
# CPaaS X application id (the models use it, the messages recognize it).
NOT_BLANK = r"\S"


class Code(StrEnum):
    PATH_NOT_FOUND = "E100"
    NO_MANIFESTS = "E101"
    FILE_TOO_LARGE = "E102"
    NOT_UTF8 = "E103"
    YAML_SYNTAX = "E104"
    DUPLICATE_KEY = "E105"
    ALIAS_EXPANSION = "E106"
    TOO_DEEP = "E107"
    UNSUPPORTED_TAG = "E108"
    NOT_A_MAPPING = "E109"
    UNREADABLE = "E110"
    BAD_MAPPING_KEY = "E111"
    TOO_LARGE = "E112"

    MISSING_VERSION = "E200"
    UNSUPPORTED_VERSION = "E201"
    UNKNOWN_FIELD = "E202"
    WRONG_TYPE = "E203"
    MISSING_FIELD = "E204"
    BAD_VALUE = "E205"
    BAD_ID = "E206"
    BAD_ACCOUNT = "E207"
    DECLARED_TWICE = "E208"
    BAD_SECRET_SINK = "E209"  # noqa: S105 - a code, not a password

    DUPLICATE_ID = "E300"
    DUPLICATE_NAME = "E301"
    MOVED_TO_UNDECLARED = "E302"
    MOVED_FROM_DECLARED = "E303"
    IMPORT_TO_UNDECLARED = "E304"
    BAD_IMPORT_ID = "E305"
    BAD_ADDRESS = "E306"
    CONFLICTING_BLOCKS = "E307"

    UNKNOWN_SCOPE = "E400"
    UNKNOWN_ROLE = "E401"
    UNKNOWN_SCOPE_SET = "E402"
    SDK_SCOPE_MIXED = "E403"
    BAD_PERMISSION = "E404"
    PUBLIC_API_WITH_WEB_SDK = "E405"
    PLATFORM_EXCLUSIVE = "E406"

    BAD_IP = "E500"
    HOST_BITS_SET = "E501"

    BAD_INSTANT = "E600"
    BAD_DURATION = "E601"
    VALID_TO_NOT_AFTER_FROM = "E602"
    VALID_TO_WITH_VALID_FOR = "E603"
    VALIDITY_PAST_LAST_YEAR = "E604"
    VALIDITY_ENDED = "E605"
    REFUSED_DATE = "E606"
    BAD_ROTATION = "E607"
    ROTATION_LONGER_THAN_VALIDITY = "E608"

    POLICY_MAX_VALIDITY = "E700"
    POLICY_REQUIRE_ALLOWED_IPS = "E701"
    POLICY_FORBID_ANY_IP = "E702"
    POLICY_FORBIDDEN_SCOPE = "E703"

    REDUNDANT_SCOPE = "W100"
    EXPIRES_SOON = "W101"
    OPEN_TO_ANY_IP = "W102"
    BROAD_MANAGE = "W103"
    UNKNOWN_SCOPE_ALLOWED = "W104"
    DUPLICATE_SCOPE = "W105"

    @property
    def severity(self) -> Severity:
        return "warning" if self.value.startswith("W") else "error"


class Position(Protocol):
    """Anything with a 1-based line and column (a yamlload.Mark, a SourceRef)."""

    @property
    def line(self) -> int: ...

    @property
    def column(self) -> int: ...


def diagnostic(file: str, where: Position, code: Code, message: str, hint: str = "") -> Diagnostic:
    return Diagnostic(
        file=file,
        line=where.line,
        column=where.column,
        code=code.value,
        message=message,
        hint=hint,
        severity=code.severity,
    )


def sort_diagnostics(found: Iterable[Diagnostic]) -> list[Diagnostic]:
    """By file, line, column, code; the same finding reached twice is shown once."""
    unique = {(d.file, d.line, d.column, d.code, d.message): d for d in found}
    return sorted(unique.values(), key=lambda d: (d.file, d.line, d.column, d.code, d.message))


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """The closest of `choices` to `word`, if any is close enough to be a likely typo."""
    pool = list(choices)
    exact = {choice.lower(): choice for choice in pool}
    if word.lower() in exact:
        return exact[word.lower()]
    found = difflib.get_close_matches(word, pool, n=1, cutoff=0.6)
    return found[0] if found else None


def suggestion(word: str, choices: Iterable[str]) -> str:
    """` — did you mean "x"?` or nothing."""
    close = did_you_mean(word, choices)
    return f' — did you mean "{close}"?' if close else ""


# --- pydantic errors -------------------------------------------------------------------

_TYPE_NAMES = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "float_type": "a number",
}


def _describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f'the text "{value}"'
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _type_hint(expected: str, value: Any) -> str:
    if value is None and expected == "a mapping":
        return "write its fields below it, or {} for none"
    if value is None:
        return "write a value after the colon, or remove the line to use the default"
    if expected == "text" and isinstance(value, int | float | bool):
        return "put the value in quotes to make it text"
    if expected == "a list":
        return "write a list, e.g. [a, b] or one `- item` per line"
    if expected == "true or false":
        return "write true or false"
    return f"write {expected} here"


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated, Optional and SkipJsonSchema wrappers down to the structural type."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            structural = [m for m in members if typing.get_origin(m) is not typing.Annotated]
            annotation = (structural or members)[0]
            continue
        return annotation


def _fields_at(model: type[BaseModel], location: Sequence[str | int]) -> Sequence[str]:
    """The field names allowed in the mapping at `location` below `model` (for suggestions)."""
    current: Any = model
    for part in location:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(part))
            if info is None:
                return ()
            current = info.annotation
            continue
        origin = typing.get_origin(current)
        args = typing.get_args(current)
        if origin in (list, tuple) and args:
            current = args[0]
        elif origin is dict and len(args) == 2:
            current = args[1]
        else:
            return ()
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [info.alias or name for name, info in current.model_fields.items()]
    return ()


# Codes whose messages (from models' value checks) show the value but not its field.
_NAMES_NO_FIELD = frozenset({Code.BAD_INSTANT, Code.BAD_DURATION})


class _Converted(NamedTuple):
    code: Code
    message: str
    hint: str
    at_key: bool


def _convert(error: ErrorDetails, location: Location, model: type[BaseModel]) -> _Converted:
    kind = error["type"]
    loc = location
    value = error.get("input")
    field_name = next((str(p) for p in reversed(loc) if isinstance(p, str)), "value")
    if kind == "extra_forbidden":
        unknown = str(loc[-1])
        allowed = _fields_at(model, location[:-1])
        close = did_you_mean(unknown, allowed)
        message = f'unknown field "{unknown}"' + (f' — did you mean "{close}"?' if close else "")
        listing = ", ".join(sorted(allowed))
        hint = f"fields allowed here: {listing}" if listing else "remove the field"
        return _Converted(Code.UNKNOWN_FIELD, message, hint, True)
    if kind == "missing":
        return _Converted(
            Code.MISSING_FIELD,
            f'required field "{loc[-1]}" is missing',
            f"add `{loc[-1]}:`",
            False,
        )
    if kind in _TYPE_NAMES:
        expected = _TYPE_NAMES[kind]
        return _Converted(
            Code.WRONG_TYPE,
            f"{field_name} must be {expected}, not {_describe(value)}",
            _type_hint(expected, value),
            False,
        )
    if kind[:1] in ("E", "W") and kind[1:].isdigit():
        context = error.get("ctx") or {}
        code, message = Code(kind), error["msg"]
        if code in _NAMES_NO_FIELD:
            # The same instant or duration may stand in several fields; say which one.
            message = f"{field_name}: {message}"
        return _Converted(code, message, str(context.get("hint", "")), False)
    if kind == "literal_error":
        expected_values = str((error.get("ctx") or {}).get("expected", ""))
        if "permissions" in loc:
            return _Converted(
                Code.BAD_PERMISSION,
                f"unknown permission {value!r}"
                if isinstance(value, str)
                else f"a permission must be text, not {_describe(value)}",
                f"use {expected_values}",
                False,
            )
        return _Converted(
            Code.BAD_VALUE,
            f"{field_name} cannot be {_describe(value)}",
            f"use {expected_values}",
            False,
        )
    context = error.get("ctx") or {}
    if kind in ("string_too_short", "too_short"):
        return _Converted(
            Code.BAD_VALUE,
            f"{field_name} must not be empty",
            "write a value, or remove the line to use the default",
            False,
        )
    if kind == "string_pattern_mismatch" and context.get("pattern") == NOT_BLANK:
        return _Converted(
            Code.BAD_VALUE,
            f"{field_name} must not be blank",
            "write a value with more than spaces in it (Infobip refuses a blank one)",
            False,
        )
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = next(iter(context.values()), "")
        relation = {
            "greater_than_equal": "at least",
            "greater_than": "more than",
            "less_than_equal": "at most",
            "less_than": "less than",
        }[kind]
        return _Converted(
            Code.BAD_VALUE,
            f"{field_name} must be {relation} {bound}, not {value!r}",
            f"write a number {relation} {bound}",
            False,
        )
    return _Converted(
        Code.BAD_VALUE,
        f"{field_name}: {error['msg']}",
        "check the value against the manifest format (schemas/manifest.schema.json)",
        False,
    )


def from_validation_errors(
    errors: Iterable[ErrorDetails],
    *,
    model: type[BaseModel],
    file: str,
    prefix: Location,
    key_mark: Callable[[Location], Position],
    value_mark: Callable[[Location], Position],
) -> list[Diagnostic]:
    """One Diagnostic per pydantic error, placed by the node marks of the document.

    `prefix` is where the validated value stands in the document; `model` is the model of
    the whole document (used to suggest field names).
    """
    found: list[Diagnostic] = []
    for error in errors:
        # pydantic marks a dict key's own error with "[key]"; that is not a path step.
        path = tuple(p for p in error["loc"] if not (isinstance(p, str) and p == "[key]"))
        location = (*prefix, *path)
        converted = _convert(error, location, model)
        where = key_mark(location) if converted.at_key else value_mark(location)
        found.append(diagnostic(file, where, converted.code, converted.message, converted.hint))
    return found

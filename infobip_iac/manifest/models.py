"""The manifest file format (SPEC §1) as pydantic models: which fields exist and their types.

The models refuse unknown fields and take values as YAML wrote them (`strict`): a number is
not silently turned into text, nor `"yes"` into true. Values with a format of their own
(durations, instants, IP ranges, addresses) are parsed here by `domain.normalize` and fail
with the diagnostic code of what is wrong, so that `diagnostics` can report them directly.

Rules that involve several fields or several keys (defaults, scope sets, policy) are not
here: they need the whole configuration and live in `resolve`, `rules` and `policy`.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.config import JsonDict
from pydantic_core import PydanticCustomError

from infobip_iac.domain.attributes import IGNORABLE_ATTRIBUTES
from infobip_iac.domain.keys import (
    KEY_ADDRESS_PATTERN,
    KEY_ID_PATTERN,
    Permission,
    SinkKind,
    is_key_address,
)
from infobip_iac.domain.normalize import (
    EARLIEST_INSTANT,
    LATEST_INSTANT,
    DurationTooLongError,
    HostBitsError,
    canonical_network,
    format_duration,
    format_instant,
    parse_duration,
    parse_instant,
)
from infobip_iac.manifest.diagnostics import NOT_BLANK, Code

__all__ = [
    "ACCOUNT_PATTERN",
    "CATALOG_MARKER",
    "DURATION_PATTERN",
    "INFOBIP_KEY_ID_PATTERN",
    "INSTANT_PATTERN",
    "KEY_ID_PATTERN",
    "ROLE_REF",
    "SCOPE_REF",
    "DefaultsSpec",
    "ImportSpec",
    "KeySettings",
    "KeySpec",
    "LifecycleSpec",
    "ManifestSpec",
    "MovedSpec",
    "PlatformSpec",
    "PolicySpec",
    "RotationSpec",
    "SecretSpec",
    "fail",
    "is_key_id",
]

INFOBIP_KEY_ID_PATTERN = r"^[0-9A-Fa-f]{32}$"
ACCOUNT_PATTERN = r"^(?:_|[A-Za-z0-9][A-Za-z0-9_-]{0,63})$"
DURATION_PATTERN = r"^\s*[0-9]{1,7}\s*[mhdwy]\s*$"
# Editors get a hint of the shape; the real check is `normalize.parse_instant`.
INSTANT_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?)?$"
)

# Placeholders that schema.py replaces by an enum from the scope catalog, with a description
# per scope (pydantic cannot emit a $ref to a definition it does not know).
CATALOG_MARKER = "x-infobip-catalog"
SCOPE_REF = "#/$defs/ScopeName"
ROLE_REF = "#/$defs/RoleName"

_KEY_ID = re.compile(KEY_ID_PATTERN)
_INFOBIP_KEY_ID = re.compile(INFOBIP_KEY_ID_PATTERN)
_ACCOUNT = re.compile(ACCOUNT_PATTERN)
_SECRET_FIELDS = frozenset({"address", "id", "name", "account"})


def fail(code: Code, message: str, hint: str = "") -> PydanticCustomError:
    """A validation error that `diagnostics` reports under `code` with this message and hint."""
    return PydanticCustomError(code.value, "{message}", {"message": message, "hint": hint})


# Manifests repeat their dates and ranges from key to key: each distinct text is read once.
_parse_instant = functools.lru_cache(maxsize=4096)(parse_instant)
_canonical_network = functools.lru_cache(maxsize=4096)(canonical_network)


# What the hints of a value that is not text at all suggest.
_DURATION_EXAMPLE = "a whole number and a unit, one of m h d w y (e.g. 90d, 12w, 1y)"
_INSTANT_EXAMPLE = "e.g. 2027-06-01 or 2027-06-01T00:00:00Z"
_NETWORK_EXAMPLE = 'e.g. 203.0.113.7, 203.0.113.0/24 or "2001:db8::/48" (text)'


def _text(value: Any, code: Code, kind: str, hint: str) -> str:
    """`value` if it is text; else it fails as not being `kind`."""
    if isinstance(value, str):
        return value
    raise fail(code, f"{value!r} is not {kind}", hint)


def _as_duration(value: Any) -> timedelta:
    value = _text(value, Code.BAD_DURATION, "a duration", "write " + _DURATION_EXAMPLE)
    try:
        return parse_duration(value)
    except DurationTooLongError as error:
        raise fail(Code.BAD_DURATION, str(error), "use at most 100y (36500d)") from None
    except ValueError as error:
        raise fail(
            Code.BAD_DURATION, str(error), "units: m minutes, h hours, d days, w weeks, y 365 days"
        ) from None


def _as_instant(value: Any) -> datetime:
    value = _text(value, Code.BAD_INSTANT, "a date or date-time", "write " + _INSTANT_EXAMPLE)
    try:
        instant: datetime | None = _parse_instant(value)
    except OverflowError:
        instant = None  # before the year 1 or after 9999 once its offset is taken off
    except ValueError as error:
        raise fail(
            Code.BAD_INSTANT,
            str(error),
            "write e.g. 2027-06-01 (midnight UTC) or 2027-06-01T12:00:00Z",
        ) from None
    if instant is None or not EARLIEST_INSTANT <= instant <= LATEST_INSTANT:
        raise fail(
            Code.BAD_INSTANT,
            f"{value!r} is outside the years 1970 to 9999",
            f"write an instant from {format_instant(EARLIEST_INSTANT)} to "
            f"{format_instant(LATEST_INSTANT)}; check the year for a typo",
        )
    return instant


def _as_network(value: Any) -> str:
    value = _text(value, Code.BAD_IP, "an IP address or CIDR range", "write " + _NETWORK_EXAMPLE)
    try:
        return _canonical_network(value)
    except HostBitsError as error:
        raise fail(
            Code.HOST_BITS_SET,
            str(error),
            "write the network address of the range, or a single address without /",
        ) from None
    except ValueError as error:
        raise fail(
            Code.BAD_IP, str(error), "write e.g. 203.0.113.7, 203.0.113.0/24 or 2001:db8::/48"
        ) from None


def _text_check(
    kind: str,
    code: Code,
    hint: str,
    accepts: Callable[[str], object],
    convert: Callable[[str], str] = str,
) -> Callable[[Any], str]:
    """A validator of text that `accepts` takes (as `convert` makes it); any other value
    fails as not being `kind`."""

    def check(value: Any) -> str:
        if accepts(_text(value, code, kind, hint)):
            return convert(value)
        raise fail(code, f"{value!r} is not {kind}", hint)

    return check


_as_address = _text_check(
    "a key address",
    Code.BAD_ADDRESS,
    "write api_keys.<id>, e.g. api_keys.ci-sms",
    is_key_address,
)
# Infobip writes its ids in upper case and the planner matches them exactly: a hand-typed
# lower-case id is made the same id here, once, for every later comparison.
_as_infobip_key_id = _text_check(
    "an Infobip API key id",
    Code.BAD_IMPORT_ID,
    "Infobip key ids are 32 hexadecimal digits, e.g. 573711510E1C002E29679B12C7CB48AE",
    _INFOBIP_KEY_ID.match,
    str.upper,
)
_as_account = _text_check(
    "an account reference",
    Code.BAD_ACCOUNT,
    "write _ for the account of the credentials, or an Infobip account id (in quotes if "
    "it is all digits)",
    _ACCOUNT.match,
)


def is_key_id(text: str) -> bool:
    return _KEY_ID.match(text) is not None


Duration = Annotated[
    timedelta,
    BeforeValidator(_as_duration),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "A whole number and a unit: m, h, d, w or y (365 days), e.g. 90d.",
        }
    ),
]
Instant = Annotated[
    datetime,
    BeforeValidator(_as_instant),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": INSTANT_PATTERN,
            "description": "A date (midnight UTC) or a date-time; no offset means UTC.",
        }
    ),
]
Network = Annotated[
    str,
    BeforeValidator(_as_network),
    WithJsonSchema(
        {
            "type": "string",
            "description": "An IPv4/IPv6 address or CIDR range (no host bits set).",
        }
    ),
]
Address = Annotated[
    str,
    BeforeValidator(_as_address),
    WithJsonSchema({"type": "string", "pattern": KEY_ADDRESS_PATTERN}),
]
InfobipKeyId = Annotated[
    str,
    BeforeValidator(_as_infobip_key_id),
    WithJsonSchema({"type": "string", "pattern": INFOBIP_KEY_ID_PATTERN}),
]
AccountRef = Annotated[
    str,
    BeforeValidator(_as_account),
    WithJsonSchema({"type": "string", "pattern": ACCOUNT_PATTERN}),
]
ScopeName = Annotated[str, WithJsonSchema({"type": "string", CATALOG_MARKER: SCOPE_REF})]
RoleName = Annotated[str, WithJsonSchema({"type": "string", CATALOG_MARKER: ROLE_REF})]
# Literals made from the domain's lists, so that a name is spelled once: pydantic checks
# them and writes them into the schema as enums; mypy, which cannot read a Literal built at
# run time, sees text.
if TYPE_CHECKING:
    PermissionName = str
    ManagedAttribute = str
else:
    PermissionName = Literal[tuple(permission.value for permission in Permission)]
    ManagedAttribute = Literal[IGNORABLE_ATTRIBUTES]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class PlatformSpec(_Model):
    """A CPaaS X application (and optionally entity) the key is limited to."""

    application_id: str = Field(
        min_length=1, pattern=NOT_BLANK, description="CPaaS X application id."
    )
    entity_id: str | None = Field(default=None, min_length=1, description="CPaaS X entity id.")
    action: Literal["FILL", "FORCE"] | None = None


def _only_with(field_name: str, sink: str) -> JsonDict:
    """Schema: `field_name` is required with this sink and refused with any other."""
    return {
        "if": {"properties": {"sink": {"const": sink}}},
        "then": {"required": [field_name]},
        "else": {"not": {"required": [field_name]}},
    }


class SecretSpec(_Model):
    """Where a new key's secret goes (it exists only at creation)."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        json_schema_extra={"allOf": [_only_with("path", "file"), _only_with("command", "exec")]},
    )

    sink: SinkKind = Field(
        description="file: write it to `path`; exec: pipe it to `command`; stdout: print it "
        "(only with --show-secrets); none: discard it."
    )
    path: str | None = Field(
        default=None,
        min_length=1,
        description="For sink file: relative to this manifest's folder; may use {address}, "
        "{id}, {name}, {account}.",
    )
    format: Literal["dotenv", "raw", "json"] = "dotenv"
    command: list[str] | None = Field(
        default=None, min_length=1, description="For sink exec: the program and its arguments."
    )

    @field_validator("path")
    @classmethod
    def _path_has_no_nul(cls, path: str | None) -> str | None:
        # No file system takes a NUL in a path; found here, it is an error at its line
        # instead of a crash ("embedded null byte") when plan or apply first touches it.
        if path is not None and "\0" in path:
            raise fail(
                Code.BAD_SECRET_SINK,
                "the secret path holds a NUL character (\\0), which no file path can hold",
                "remove the \\0 escape from the path",
            )
        return path

    @field_validator("command")
    @classmethod
    def _command_has_no_nul(cls, command: list[str] | None) -> list[str] | None:
        if command is not None and any("\0" in part for part in command):
            raise fail(
                Code.BAD_SECRET_SINK,
                "the command holds a NUL character (\\0), which no program argument can hold",
                "remove the \\0 escape from the command",
            )
        return command

    @model_validator(mode="after")
    def _settings_match_sink(self) -> SecretSpec:
        if self.sink == "file" and not self.path:
            raise fail(
                Code.BAD_SECRET_SINK,
                "a file sink needs a path",
                'add path: "secrets/{address}.env"',
            )
        if self.sink == "exec" and not self.command:
            raise fail(
                Code.BAD_SECRET_SINK,
                "an exec sink needs a command",
                'add command: ["program", "arg"]; it receives the secret on stdin',
            )
        if self.path is not None and self.sink != "file":
            raise fail(
                Code.BAD_SECRET_SINK,
                f"path has no use with sink {self.sink}",
                "remove path, or use sink: file",
            )
        if self.command is not None and self.sink != "exec":
            raise fail(
                Code.BAD_SECRET_SINK,
                f"command has no use with sink {self.sink}",
                "remove command, or use sink: exec",
            )
        if self.path is not None:
            unknown = _template_fields(self.path) - _SECRET_FIELDS
            if unknown:
                raise fail(
                    Code.BAD_SECRET_SINK,
                    f"unknown placeholder {{{sorted(unknown)[0]}}} in the secret path",
                    "placeholders are {address}, {id}, {name} and {account}",
                )
        return self


def _template_fields(text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        return {text}


class LifecycleSpec(_Model):
    prevent_revoke: bool = Field(
        default=False, description="Plan fails rather than revoke this key."
    )
    ignore_changes: list[ManagedAttribute] = Field(
        default_factory=list, description="Live changes to these attributes are not undone."
    )


_ROTATION_FLOOR = timedelta(days=1)
_OVERLAP_FLOOR = timedelta(hours=1)


class RotationSpec(_Model):
    """When the key gets a successor, and how long its predecessor stays enabled."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        json_schema_extra={"anyOf": [{"required": ["every"]}, {"required": ["before_expiry"]}]},
    )

    every: Duration | None = Field(
        default=None, description="A successor once the current key is this old (at least 1d)."
    )
    before_expiry: Duration | None = Field(
        default=None,
        description="... or once it expires within this (at least 1d), whichever is first.",
    )
    overlap: Duration = Field(
        default=timedelta(days=7),
        description="The predecessor stays enabled this long, then is revoked (at least 1h; "
        "shorter than every). Default 7d.",
        json_schema_extra={"default": "7d"},
    )

    @model_validator(mode="after")
    def _coherent(self) -> RotationSpec:
        if self.every is None and self.before_expiry is None:
            raise fail(
                Code.BAD_ROTATION,
                "a rotation needs every, before_expiry or both",
                "e.g. every: 90d and before_expiry: 14d; or rotation: none",
            )
        for name in ("every", "before_expiry"):
            value = getattr(self, name)
            if value is not None and value < _ROTATION_FLOOR:
                raise fail(
                    Code.BAD_ROTATION,
                    f"rotation {name} {format_duration(value)} is shorter than a day",
                    "Infobip allows 40 writes a day; rotate at most daily (1d or more)",
                )
        if self.overlap < _OVERLAP_FLOOR:
            raise fail(
                Code.BAD_ROTATION,
                f"rotation overlap {format_duration(self.overlap)} is shorter than an hour",
                "give users of the key time to switch: 1h or more (e.g. 7d)",
            )
        if self.every is not None and self.overlap >= self.every:
            raise fail(
                Code.BAD_ROTATION,
                f"rotation overlap {format_duration(self.overlap)} is not shorter than every "
                f"{format_duration(self.every)}",
                "the predecessor must be revoked before the next rotation: shorten overlap",
            )
        return self


def _rotation_kind(value: Any) -> str:
    return "none" if isinstance(value, str) else "policy"


def _rotation_word(value: Any) -> Any:
    if isinstance(value, str) and value != "none":
        raise fail(
            Code.BAD_ROTATION,
            f'rotation "{value}" is neither none nor a block',
            "write rotation: none, or a block of every, before_expiry and overlap "
            "(e.g. {every: 90d, overlap: 7d})",
        )
    return value


# `none` or a block. Told apart before validation, so that a mistake in a block is reported
# once, not again as "is not 'none'".
RotationSetting = Annotated[
    Annotated[RotationSpec, Tag("policy")] | Annotated[Literal["none"], Tag("none")],
    Discriminator(_rotation_kind),
    BeforeValidator(_rotation_word),
]


_ONE_VALIDITY: JsonDict = {"not": {"required": ["valid_to", "valid_for"]}}
_PERMISSIONS_APART: JsonDict = {
    "not": {
        "allOf": [
            {"contains": {"const": Permission.PUBLIC_API.value}},
            {"contains": {"const": Permission.WEB_SDK.value}},
        ]
    }
}
_PLATFORM_ALONE: JsonDict = {
    "if": {"required": ["platform"], "properties": {"platform": {"minItems": 1}}},
    "then": {
        "properties": {
            name: {"maxItems": 0} for name in ("scopes", "scope_sets", "roles", "permissions")
        }
    },
}


class KeySettings(_Model):
    """What a key may set and `defaults` may set for every key."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        json_schema_extra={"allOf": [_ONE_VALIDITY]},
    )

    scopes: list[ScopeName] = Field(default_factory=list, description="Infobip API scopes.")
    scope_sets: list[str] = Field(
        default_factory=list, description="Names of `scope_sets` whose scopes the key gets."
    )
    roles: list[RoleName] = Field(
        default_factory=list, description="Infobip roles whose implied scopes the key gets."
    )
    allowed_ips: list[Network] = Field(
        default_factory=list, description="IP addresses or CIDR ranges; empty = any address."
    )
    valid_from: Instant | None = None
    valid_to: Instant | None = None
    valid_for: Duration | None = Field(
        default=None,
        description="Validity relative to valid_from (or to creation); excludes valid_to.",
    )
    enabled: bool = Field(default=True, description="false = revoked but still declared.")
    permissions: list[PermissionName] = Field(
        default_factory=list,
        description="Default PUBLIC_API; PUBLIC_API excludes WEB_SDK.",
        json_schema_extra=_PERMISSIONS_APART,
    )
    secret: SecretSpec | None = None
    lifecycle: LifecycleSpec | None = None
    rotation: RotationSetting | None = Field(
        default=None,
        description='Automatic successors before the key lapses; "none" turns off a default.',
    )


class DefaultsSpec(KeySettings):
    """Settings every key of the configuration inherits unless it sets its own."""


class KeySpec(KeySettings):
    """One API key. Its id is its mapping key under `api_keys`."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        frozen=True,
        json_schema_extra={"allOf": [_ONE_VALIDITY, _PLATFORM_ALONE]},
    )

    # Not blank (a non-space character somewhere): Infobip refuses a blank name.
    name: str | None = Field(
        default=None,
        min_length=1,
        pattern=NOT_BLANK,
        description="Infobip name; default = the id.",
    )
    platform: list[PlatformSpec] = Field(
        default_factory=list,
        description="CPaaS X applications/entities; excludes scopes and permissions.",
    )


class PolicySpec(_Model):
    """Guard rails, checked at validate and plan time."""

    max_validity: Duration | None = Field(
        default=None, description="valid_to - valid_from may not exceed this."
    )
    require_allowed_ips: bool = Field(
        default=False, description="Every enabled key needs a non-empty allowed_ips."
    )
    forbid_any_ip: bool = Field(default=False, description="0.0.0.0/0 and ::/0 are refused.")
    forbidden_scopes: list[ScopeName] = Field(default_factory=list)
    unmanaged_keys: Literal["ignore", "report", "revoke"] = Field(
        default="report", description="Enabled live keys nobody declared."
    )
    max_revokes: int | None = Field(
        default=None, ge=0, description="Apply refuses to revoke more unless --allow-revokes."
    )
    unknown_scopes: Literal["error", "warn"] = Field(
        default="error", description="warn: accept scopes newer than the catalog."
    )


class MovedSpec(_Model):
    """Rename a key's id without touching the live key."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)

    from_address: Address = Field(alias="from")
    to_address: Address = Field(alias="to")


class ImportSpec(_Model):
    """Adopt an existing live key by its Infobip id."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)

    to_address: Address = Field(alias="to")
    key_id: InfobipKeyId = Field(alias="id")


class ManifestSpec(_Model):
    """One manifest file. All files given together form one configuration."""

    version: Literal[1] = Field(description="Manifest format version.")
    account: AccountRef = Field(
        default="_", description='"_" = the account of the credentials, or an account id.'
    )
    defaults: DefaultsSpec | None = None
    scope_sets: dict[str, list[ScopeName]] = Field(
        default_factory=dict, description="Named bundles of scopes."
    )
    policy: PolicySpec | None = None
    api_keys: dict[str, KeySpec] = Field(
        default_factory=dict,
        description="Keys by id.",
        json_schema_extra={"propertyNames": {"pattern": KEY_ID_PATTERN}},
    )
    moved: list[MovedSpec] = Field(default_factory=list)
    imports: list[ImportSpec] = Field(default_factory=list)

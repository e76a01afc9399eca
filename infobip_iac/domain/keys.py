"""The vocabulary shared by every stage: a desired key, a live key, and a write to Infobip.

All values here are already normalized (see `normalize`): IP ranges are canonical network
strings, instants are aware UTC datetimes without sub-seconds, scopes and permissions are
sets. Comparing two of these values is therefore a plain `==`. Each is a frozen, slotted
dataclass whose constructor checks nothing: the manifest loader and the HTTP client check
what they read before they build one.

Account references are kept as the manifest writes them: `_` is "the account of the
credentials", anything else an Infobip account id. The client resolves them on the wire.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from infobip_iac.domain.attributes import MANAGED_ATTRIBUTES, json_value, sorted_texts
from infobip_iac.domain.normalize import LATEST_INSTANT, format_instant, sorted_networks
from infobip_iac.domain.rotation import RotationPolicy

__all__ = [
    "CALLER_ACCOUNT",
    "DEFAULT_PERMISSIONS",
    "KEY_ADDRESS_PATTERN",
    "KEY_ID_MAX_LENGTH",
    "KEY_ID_PATTERN",
    "MANAGED_ATTRIBUTES",
    "DesiredConfig",
    "DesiredKey",
    "ImportBlock",
    "KeyWrite",
    "Lifecycle",
    "LiveKey",
    "MovedBlock",
    "Permission",
    "PlatformLink",
    "Policy",
    "SecretSinkSpec",
    "SinkKind",
    "SourceRef",
    "deposed_address",
    "describe_account",
    "is_key_address",
    "key_address",
]

CALLER_ACCOUNT = "_"


def describe_account(reference: str) -> str:
    """An account reference as a person reads it: `the main account` for the account of
    the credentials (`_`), else `account <id>`."""
    return "the main account" if reference == CALLER_ACCOUNT else f"account {reference}"


# Where a new key's secret can go: the manifest's `secret.sink`, also recorded in state.
SinkKind = Literal["file", "exec", "stdout", "none"]


# A key's id as manifests write it under `api_keys`, in lower case; its address is
# `api_keys.<id>`. The one rule for the manifest's schema, `state mv` and the planner's
# --target/--replace checks.
KEY_ID_MAX_LENGTH = 63
_KEY_ID_BODY = rf"[a-z0-9][a-z0-9_-]{{0,{KEY_ID_MAX_LENGTH - 1}}}"
KEY_ID_PATTERN = rf"^{_KEY_ID_BODY}$"
KEY_ADDRESS_PATTERN = rf"^api_keys\.{_KEY_ID_BODY}$"
_KEY_ADDRESS = re.compile(KEY_ADDRESS_PATTERN)


def key_address(ident: str) -> str:
    """`ci-sms` -> `api_keys.ci-sms`."""
    return f"api_keys.{ident}"


def is_key_address(text: str) -> bool:
    """Whether `text` is a key address (`api_keys.<id>`)."""
    return _KEY_ADDRESS.fullmatch(text) is not None


def deposed_address(address: str, key_id: str) -> str:
    """Where a replaced key waits in state until it is revoked.

    An address no manifest declares, so an interrupted replace leaves the old key to be
    revoked by the next plan instead of forgetting it while it is still enabled. The
    planner and recovery read it; apply writes it.
    """
    return f"{address}#deposed-{key_id}"


class Permission(StrEnum):
    """Infobip's key permissions; the manifest's schema lists these values."""

    PUBLIC_API = "PUBLIC_API"
    TWO_FA_CLIENT = "2FA_CLIENT"
    WEB_SDK = "WEB_SDK"


# What a key has when it names no permissions: Infobip turns an empty list into this.
DEFAULT_PERMISSIONS = frozenset({Permission.PUBLIC_API})


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceRef:
    """Where a declaration stands in the manifests (1-based line and column)."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True, kw_only=True)
class PlatformLink:
    """A CPaaS X application/entity link; `key` is server-assigned and never compared."""

    application_id: str
    entity_id: str | None = None
    # FILL or FORCE in a manifest (its schema says so); a live link may hold an action the
    # tool does not know, kept verbatim.
    action: str | None = None

    def sort_key(self) -> tuple[str, str, str]:
        return (self.application_id, self.entity_id or "", self.action or "")

    def as_json(self) -> dict[str, str]:
        """The link as plan JSON and state write it: its fields in order, unset ones left out."""
        shown = {"application_id": self.application_id}
        if self.entity_id is not None:
            shown["entity_id"] = self.entity_id
        if self.action is not None:
            shown["action"] = self.action
        return shown


@dataclass(frozen=True, slots=True, kw_only=True)
class SecretSinkSpec:
    """Where a new key's secret goes. Never holds the secret itself.

    `base_dir` is the folder of the manifest that declared the sink: relative `path`s
    resolve against it, not against the working folder. `{address}`, `{id}`, `{name}` and
    `{account}` in `path` are filled in at delivery.
    """

    sink: SinkKind = "none"
    path: str | None = None
    format: Literal["dotenv", "raw", "json"] = "dotenv"
    command: tuple[str, ...] | None = None
    base_dir: str = "."


@dataclass(frozen=True, slots=True, kw_only=True)
class Lifecycle:
    prevent_revoke: bool = False
    ignore_changes: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True, kw_only=True)
class DesiredKey:
    """One key as the configuration wants it, with defaults, scope sets and roles resolved.

    `valid_from`/`valid_to` of None mean "the server's default at creation, not managed
    after". `valid_for` is relative to `valid_from` when that is set, else to the moment of
    creation; it excludes `valid_to`.
    """

    address: str
    ident: str
    account: str = CALLER_ACCOUNT
    name: str
    scopes: frozenset[str] = frozenset()
    permissions: frozenset[Permission] = DEFAULT_PERMISSIONS
    platform: tuple[PlatformLink, ...] = ()
    allowed_ips: frozenset[str] = frozenset()
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    valid_for: timedelta | None = None
    enabled: bool = True
    secret: SecretSinkSpec = SecretSinkSpec()
    lifecycle: Lifecycle = Lifecycle()
    rotation: RotationPolicy | None = None  # None: the key is never rotated
    source: SourceRef | None = None
    # Where `valid_from`, and `valid_to` or `valid_for`, are written: a date Infobip would
    # refuse, found only when planning, is reported at its own line.
    valid_from_source: SourceRef | None = None
    valid_to_source: SourceRef | None = None


# One encoder for every fingerprint: `json.dumps` with options builds a new one per call.
_FINGERPRINT_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveKey:
    """One key as Infobip reports it. The client never puts `apiKeySecret` here.

    A value the tool does not know (a permission such as `ALL`, an IP range such as
    `10.0.0.*`, a platform action) is kept verbatim as a string: it is shown, compared as an
    opaque string, and replaced by the declared value when a plan updates the key."""

    id: str
    account_id: str
    name: str
    scopes: frozenset[str] = frozenset()
    permissions: frozenset[Permission | str] = frozenset()
    platform: tuple[PlatformLink, ...] = ()
    allowed_ips: frozenset[str] = frozenset()
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    enabled: bool = True

    def attributes(self) -> dict[str, Any]:
        """The managed attributes as plain JSON values (sorted lists, RFC 3339 instants).

        `attributes.json_values(self)`, spelled out: it runs for every live key of a plan,
        and the table's loop costs a 10,000-key plan a twentieth more. A test holds the two
        equal (tests/domain/test_attributes.py)."""
        return {
            "name": self.name,
            "scopes": sorted(self.scopes),
            "permissions": list(sorted_texts(self.permissions)),
            "platform": json_value("platform", self.platform) if self.platform else [],
            "allowed_ips": sorted_networks(self.allowed_ips),
            "valid_from": format_instant(self.valid_from) if self.valid_from else None,
            "valid_to": format_instant(self.valid_to) if self.valid_to else None,
            "enabled": self.enabled,
        }

    def fingerprint(self, attributes: dict[str, Any] | None = None) -> str:
        """A digest of everything we manage, so a saved plan can tell a key has changed.
        `attributes` is `self.attributes()` when the caller has it already."""
        if attributes is None:
            attributes = self.attributes()
        body = {"id": self.id, "account_id": self.account_id, **attributes}
        return hashlib.sha256(_FINGERPRINT_JSON.encode(body).encode()).hexdigest()


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyWrite:
    """The body of one create (POST) or update (PUT). A field left None is not sent.

    `valid_for` is the declared relative validity of a create, kept for state to record;
    it is never sent. The planner sets `valid_to` beside it when the key's start is known
    (its `valid_from`); otherwise apply resolves it against Infobip's clock at the moment
    of writing (`with_valid_to_resolved`). The client sends `valid_to` as it is given.
    """

    name: str | None = None
    scopes: frozenset[str] | None = None
    permissions: frozenset[Permission] | None = None
    platform: tuple[PlatformLink, ...] | None = None
    allowed_ips: frozenset[str] | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    valid_for: timedelta | None = None
    enabled: bool | None = None

    def with_valid_to_resolved(self, now: Callable[[], datetime]) -> KeyWrite:
        """This write with `valid_for` turned into an absolute `valid_to`: counted from
        `valid_from` when set, else from `now()` (Infobip's clock: a key without validFrom
        starts when Infobip creates it). A `valid_to` already present is the planner's and
        is kept."""
        if self.valid_for is None:
            return self
        if self.valid_to is not None:
            return replace(self, valid_for=None)
        start = self.valid_from or now()
        # A validated manifest keeps valid_from + valid_for within RFC 3339's years, and
        # valid_for within 100y; only a clock past 9899 could carry the sum further. Such an
        # end is written as the last instant RFC 3339 has, not left to overflow mid-apply.
        end = start + self.valid_for if self.valid_for <= LATEST_INSTANT - start else LATEST_INSTANT
        return replace(self, valid_to=end, valid_for=None)

    def sent(self) -> dict[str, Any]:
        """What the request carries, by attribute name: every field this write sets but
        `valid_for`, which is never sent."""
        return {
            name: value for name in MANAGED_ATTRIBUTES if (value := getattr(self, name)) is not None
        }

    def update_steps(self) -> tuple[KeyWrite, ...]:
        """The PUTs that make this update, in order: Infobip's spec forbids one body to
        carry `platform` together with `permissions` or `scopeGuids`, so such an update is
        sent in two steps. Unlinking (`platform: []`) goes first, which leaves the key at
        PUBLIC_API and no scopes; the permissions and scopes follow only when they are
        something else. Linking sends the permissions and scopes first, then the links."""
        if self.platform is None or (self.permissions is None and self.scopes is None):
            return (self,)
        grants = KeyWrite(permissions=self.permissions, scopes=self.scopes)
        rest = replace(self, permissions=None, scopes=None)
        if self.platform:
            return (grants, rest)
        if not self.scopes and (self.permissions or DEFAULT_PERMISSIONS) == DEFAULT_PERMISSIONS:
            return (rest,)  # unlinking alone leaves the key as wanted
        return (rest, grants)


@dataclass(frozen=True, slots=True, kw_only=True)
class MovedBlock:
    """A `moved` block: the key at `from_address` is now declared at `to_address`."""

    from_address: str
    to_address: str
    source: SourceRef | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportBlock:
    """An `imports` block: the live key `key_id` is adopted at `to_address`."""

    to_address: str
    key_id: str
    source: SourceRef | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """Guard rails of one configuration (SPEC §1 `policy`)."""

    max_validity: timedelta | None = None
    require_allowed_ips: bool = False
    forbid_any_ip: bool = False
    forbidden_scopes: frozenset[str] = frozenset()
    unmanaged_keys: Literal["ignore", "report", "revoke"] = "report"
    max_revokes: int | None = None
    unknown_scopes: Literal["error", "warn"] = "error"


@dataclass(frozen=True, slots=True, kw_only=True)
class DesiredConfig:
    """A whole validated configuration: every key by address, plus the blocks around them."""

    keys: dict[str, DesiredKey] = field(default_factory=dict)
    policy: Policy = Policy()
    moved: tuple[MovedBlock, ...] = ()
    imports: tuple[ImportBlock, ...] = ()
    files: tuple[str, ...] = ()
    # Where the manifests write `account:`, by account reference, in file order: an
    # account Infobip refuses is an error of that line (a file without one writes none).
    account_sources: dict[str, tuple[SourceRef, ...]] = field(default_factory=dict)
    # What validation warned of, one line each (Diagnostic.one_line): a plan made from this
    # configuration carries them to every output (text, JSON, markdown, saved plan).
    warnings: tuple[str, ...] = ()

    @property
    def accounts(self) -> frozenset[str]:
        """Every account reference the keys name."""
        return frozenset(key.account for key in self.keys.values())

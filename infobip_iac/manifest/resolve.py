"""Resolve validated files into keys: shared blocks, defaults, scope sets, roles, then DesiredKey.

The configuration-wide blocks (`defaults`, `policy`, each scope set) may stand in any one
file; `Shared` gathers them and reports a second declaration. A `KeyDraft` is one key with
every setting resolved against the defaults, each remembering where it was written, so the
checks that follow can point at the line that needs mending (the key's own line, or the
defaults' when the value was inherited).

Inheritance: a key's own setting replaces the default of the same name; `valid_to` and
`valid_for` replace each other as a pair. A key with `platform` inherits no scopes or
permissions (Infobip refuses them together). Roles that imply client-side SDK scopes
(e.g. Account Manager) contribute only their other scopes: Infobip refuses an SDK scope
beside any other, so a key can never hold a role's full set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from infobip_iac.domain.keys import (
    DEFAULT_PERMISSIONS,
    DesiredKey,
    Lifecycle,
    Permission,
    PlatformLink,
    Policy,
    SecretSinkSpec,
    SourceRef,
    key_address,
)
from infobip_iac.domain.normalize import is_any_network
from infobip_iac.domain.rotation import RotationPolicy
from infobip_iac.errors import Diagnostic
from infobip_iac.manifest.diagnostics import Code, Location, diagnostic
from infobip_iac.manifest.models import DefaultsSpec, KeySpec, PolicySpec, RotationSpec
from infobip_iac.manifest.sources import ManifestFile
from infobip_iac.manifest.yamlload import Mark
from infobip_iac.scopes import Catalog

__all__ = [
    "Grant",
    "KeyDraft",
    "Resolver",
    "Setting",
    "Shared",
    "gather_shared",
]


# Setting and Grant are named tuples: a large configuration makes several of each per key.
class Setting(NamedTuple):
    """A value as the key sees it, and where it was written."""

    value: Any
    file: ManifestFile
    location: Location
    inherited: bool

    @property
    def mark(self) -> Mark:
        return self.file.mark(self.location)

    def item_mark(self, index: int) -> Mark:
        return self.file.mark((*self.location, index))


class Grant(NamedTuple):
    """One scope of a key's effective set, and how it got there."""

    scope: str
    file: ManifestFile
    location: Location  # of the list item that brought it: a scope, a scope set, a role
    via: str = ""  # "" when written in `scopes`; else 'scope set "x"' or 'role "Y"'
    from_role: bool = False

    @property
    def mark(self) -> Mark:
        return self.file.mark(self.location)

    @property
    def described(self) -> str:
        return f'"{self.scope}" (from {self.via})' if self.via else f'"{self.scope}"'


@dataclass
class Shared:
    """The configuration-wide blocks, taken from whichever file declared them."""

    defaults: DefaultsSpec | None = None
    defaults_file: ManifestFile | None = None
    defaults_broken: bool = False
    policy_spec: PolicySpec | None = None
    policy_file: ManifestFile | None = None
    policy_broken: bool = False
    scope_sets: dict[str, tuple[list[str] | None, ManifestFile]] = field(default_factory=dict)
    scope_sets_broken: bool = False

    @property
    def policy(self) -> Policy:
        spec = self.policy_spec
        if spec is None:
            return Policy()
        # The same fields (Policy has no other), already validated: the list becomes a set.
        return Policy(**{**dict(spec), "forbidden_scopes": frozenset(spec.forbidden_scopes)})


def _twice(block: str, again: ManifestFile, location: Location, first: ManifestFile) -> Diagnostic:
    where = first.key_mark(location)
    return diagnostic(
        again.name,
        again.key_mark(location),
        Code.DECLARED_TWICE,
        f"{block} is declared a second time; the first is at {first.name}:{where.line}:"
        f"{where.column}",
        f"a configuration has one {block}; merge the two into one place",
    )


def _first(
    block: str, manifest: ManifestFile, first: ManifestFile | None, problems: list[Diagnostic]
) -> bool:
    """Whether `manifest` declares `block` first; a second declaration is reported."""
    if first is None:
        return True
    problems.append(_twice(block, manifest, (block,), first))
    return False


def gather_shared(files: list[ManifestFile]) -> tuple[Shared, list[Diagnostic]]:
    shared = Shared()
    problems: list[Diagnostic] = []
    for manifest in files:
        # A shared section that could not be read (or was misspelt) in any file leaves every
        # key's inherited settings unknown.
        shared.defaults_broken |= ("defaults",) in manifest.partial
        shared.policy_broken |= ("policy",) in manifest.partial
        shared.scope_sets_broken |= ("scope_sets",) in manifest.partial
        if manifest.declares_defaults and _first(
            "defaults", manifest, shared.defaults_file, problems
        ):
            shared.defaults_file = manifest
            shared.defaults = manifest.defaults
            shared.defaults_broken |= manifest.defaults is None
        if manifest.declares_policy and _first("policy", manifest, shared.policy_file, problems):
            shared.policy_file = manifest
            shared.policy_spec = manifest.policy
            shared.policy_broken |= manifest.policy is None
        for set_name, members in manifest.scope_sets.items():
            earlier = shared.scope_sets.get(set_name)
            if earlier is not None:
                problems.append(
                    _twice(
                        f'scope set "{set_name}"',
                        manifest,
                        ("scope_sets", set_name),
                        earlier[1],
                    )
                )
            else:
                shared.scope_sets[set_name] = (members, manifest)
    return shared, problems


@dataclass
class KeyDraft:
    """One declared key with its settings resolved against the defaults."""

    ident: str
    file: ManifestFile
    spec: KeySpec
    defaults: DefaultsSpec | None
    defaults_file: ManifestFile | None
    grants: list[Grant] = field(default_factory=list)
    # Asked for by every check of every key: computed once.
    address: str = field(init=False)
    location: Location = field(init=False)
    id_mark: Mark = field(init=False)
    # The names the key writes itself, and those it takes from the defaults.
    _own: frozenset[str] | set[str] = field(init=False, repr=False)
    _inherited: frozenset[str] = field(init=False, repr=False)
    # Settings made so far: most checks need only values, so a Setting (with its place in
    # the file) is made when one is asked for.
    _settings: dict[str, Setting | None] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.address = key_address(self.ident)
        self.location = ("api_keys", self.ident)
        self.id_mark = self.file.key_mark(self.location)
        spec, defaults = self.spec, self.defaults
        self._own = own = spec.model_fields_set
        self._settings = {}
        if defaults is None:
            self._inherited = frozenset()
            return
        assert self.defaults_file is not None
        # valid_to and valid_for replace each other as a pair; a CPaaS X key inherits
        # nothing Infobip refuses beside `platform`.
        withheld = _VALIDITY if not own.isdisjoint(_VALIDITY) else frozenset()
        if spec.platform:
            withheld |= _NOT_WITH_PLATFORM
        self._inherited = frozenset(defaults.model_fields_set - own - withheld)

    @property
    def partial(self) -> bool:
        """Read with some fields dropped (they had errors): only its names are checked."""
        return self.location in self.file.partial

    @property
    def account(self) -> str:
        return self.file.account

    @property
    def name(self) -> str:
        return self.spec.name if self.spec.name is not None else self.ident

    @property
    def has_platform(self) -> bool:
        return bool(self.spec.platform)

    def own(self, name: str) -> Setting | None:
        return self.setting(name) if name in self._own else None

    def setting(self, name: str) -> Setting | None:
        """The key's own value of `name`, else the default's, else None (not set)."""
        settings = self._settings
        if name in settings:
            return settings[name]
        found = None
        if name in self._own:
            found = Setting(getattr(self.spec, name), self.file, (*self.location, name), False)
        elif name in self._inherited:
            assert self.defaults_file is not None
            found = Setting(
                getattr(self.defaults, name), self.defaults_file, ("defaults", name), True
            )
        settings[name] = found
        return found

    def value(self, name: str) -> Any:
        """The effective value of `name`; the model's default when nothing sets it."""
        # A field the key did not write holds the model's default.
        if name in self._inherited:
            return getattr(self.defaults, name)
        return getattr(self.spec, name)

    @property
    def enabled(self) -> bool:
        return bool(self.value("enabled"))

    @property
    def permissions(self) -> frozenset[Permission]:
        if self.spec.platform:
            return frozenset()
        chosen = self.value("permissions")
        return _permission_set(tuple(chosen)) if chosen else DEFAULT_PERMISSIONS

    @property
    def allowed_ips(self) -> list[str]:
        return list(self.value("allowed_ips"))

    def open_networks(self) -> list[tuple[int, str]]:
        """(index, network) of the allowed_ips entries that admit every address."""
        # Canonical networks always carry their prefix, so only a "/0" needs a closer look.
        return [
            (index, network)
            for index, network in enumerate(self.value("allowed_ips"))
            if network.endswith("/0") and is_any_network(network)
        ]

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(grant.scope for grant in self.grants)

    def valid_window(self) -> tuple[datetime | None, datetime | None, timedelta | None]:
        return self.value("valid_from"), self.value("valid_to"), self.value("valid_for")

    def to_desired(self, sinks: dict[Location, SecretSinkSpec] | None = None) -> DesiredKey:
        """The key as the engine sees it. Every value here is already validated and
        normalized, so the models are built without validating again (10,000 keys add up).
        `sinks` shares one SecretSinkSpec between the keys that inherit the same one."""
        value = self.value
        valid_from, valid_to, valid_for = value("valid_from"), value("valid_to"), value("valid_for")
        secret = self.setting("secret")
        lifecycle = value("lifecycle")
        if secret is None or secret.value is None:
            sink = _NO_SINK
        elif sinks is not None:
            sink = sinks.get(secret.location) or sinks.setdefault(secret.location, _sink(secret))
        else:
            sink = _sink(secret)
        platform = self.spec.platform
        mark = self.id_mark
        return DesiredKey(
            address=self.address,
            ident=self.ident,
            account=self.account,
            name=self.name,
            source=SourceRef(file=self.file.name, line=mark.line, column=mark.column),
            scopes=self.scopes,
            permissions=self.permissions,
            platform=tuple(
                sorted(
                    (
                        PlatformLink(
                            application_id=p.application_id,
                            entity_id=p.entity_id,
                            action=p.action,
                        )
                        for p in platform
                    ),
                    key=PlatformLink.sort_key,
                )
            )
            if platform
            else (),
            allowed_ips=frozenset(value("allowed_ips")),
            valid_from=valid_from,
            valid_to=valid_to,
            valid_for=valid_for,
            enabled=bool(value("enabled")),
            secret=sink,
            lifecycle=Lifecycle(
                prevent_revoke=lifecycle.prevent_revoke,
                ignore_changes=frozenset(lifecycle.ignore_changes),
            )
            if lifecycle is not None
            else _NO_LIFECYCLE,
            rotation=_rotation_policy(value("rotation")),
            valid_from_source=self._source_of("valid_from"),
            valid_to_source=self._source_of("valid_to") or self._source_of("valid_for"),
        )

    def _source_of(self, name: str) -> SourceRef | None:
        setting = self.setting(name)
        if setting is None or setting.value is None:
            return None
        mark = setting.mark
        return SourceRef(file=setting.file.name, line=mark.line, column=mark.column)


def _rotation_policy(spec: RotationSpec | str | None) -> RotationPolicy | None:
    if spec is None or isinstance(spec, str):  # "none"
        return None
    return RotationPolicy(every=spec.every, before_expiry=spec.before_expiry, overlap=spec.overlap)


_NO_SINK = SecretSinkSpec()
_NO_LIFECYCLE = Lifecycle()
_VALIDITY = frozenset({"valid_to", "valid_for"})
_NOT_WITH_PLATFORM = frozenset({"scopes", "scope_sets", "roles", "permissions"})
_PERMISSION_SETS: dict[tuple[str, ...], frozenset[Permission]] = {}


def _permission_set(chosen: tuple[str, ...]) -> frozenset[Permission]:
    """The permissions a key asks for (PUBLIC_API when it names none), one set per choice."""
    found = _PERMISSION_SETS.get(chosen)
    if found is None:
        found = frozenset(Permission(p) for p in chosen) or DEFAULT_PERMISSIONS
        _PERMISSION_SETS[chosen] = found
    return found


def _sink(secret: Setting) -> SecretSinkSpec:
    spec = secret.value
    return SecretSinkSpec(
        sink=spec.sink,
        path=spec.path,
        format=spec.format,
        command=tuple(spec.command) if spec.command is not None else None,
        base_dir=_folder_text(secret.file.folder),
    )


def _folder_text(folder: Path) -> str:
    text = folder.as_posix()
    return text or "."


class Resolver:
    """Makes each key's draft with its effective scopes, one key at a time, so that the
    checks of a key run while it is at hand (`load` walks the keys once)."""

    def __init__(self, shared: Shared, catalog: Catalog) -> None:
        self.shared = shared
        self.catalog = catalog
        # Keys share a few roles: each is looked up once.
        self.role_scopes: dict[str, tuple[str, list[str]] | None] = {}

    def draft(self, manifest: ManifestFile, ident: str, spec: KeySpec) -> KeyDraft:
        """The key `ident` of `manifest`, whose declaration validated."""
        draft = KeyDraft(
            ident=ident,
            file=manifest,
            spec=spec,
            defaults=self.shared.defaults,
            defaults_file=self.shared.defaults_file,
        )
        draft.grants = self.grants(draft)
        return draft

    def grants(self, draft: KeyDraft) -> list[Grant]:
        """The draft's effective scopes: `scopes` ∪ scope set members ∪ role scopes.

        Names that do not resolve (an unknown role or scope set) grant nothing here;
        `rules` reports them once, where they are written. A scope reached twice keeps its
        first grant, and written scopes come before scope sets, scope sets before roles.
        """
        grants: dict[str, Grant] = {}
        written = draft.setting("scopes")
        if written is not None:
            for index, scope in enumerate(written.value):
                if scope not in grants:
                    grants[scope] = Grant(scope, written.file, (*written.location, index))
        sets = draft.setting("scope_sets")
        if sets is not None:
            scope_sets = self.shared.scope_sets
            for index, set_name in enumerate(sets.value):
                members = scope_sets.get(set_name, (None, None))[0] or []
                where = (*sets.location, index)
                via = f'scope set "{set_name}"'
                for scope in members:
                    grants.setdefault(scope, Grant(scope, sets.file, where, via))
        roles = draft.setting("roles")
        if roles is not None:
            role_scopes = self.role_scopes
            for index, role_name in enumerate(roles.value):
                if role_name not in role_scopes:
                    role_scopes[role_name] = _role_grants(role_name, self.catalog)
                resolved = role_scopes[role_name]
                if resolved is None:
                    continue
                where = (*roles.location, index)
                via = f'role "{resolved[0]}"'
                for scope in resolved[1]:
                    grants.setdefault(scope, Grant(scope, roles.file, where, via, from_role=True))
        return list(grants.values())


def _role_grants(role_name: str, catalog: Catalog) -> tuple[str, list[str]] | None:
    role = catalog.role(role_name)
    if role is None:
        return None
    server_side = sorted(s for s in role.scopes if not catalog.is_sdk_scope(s))
    return role.name, server_side or sorted(role.scopes)

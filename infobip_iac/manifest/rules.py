"""Checks that need more than one field: names against the catalog, a key's fields together,
ids and names across files, and the `moved`/`imports` blocks against the declared keys.

Names (scopes, roles, scope sets) are checked once where they are written, so a bad scope in
`defaults` is one error, not one per key. Checks of a key's combined settings point at the
key's own line when it wrote one of the values involved, else at the defaults.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from infobip_iac.domain.keys import Permission, key_address
from infobip_iac.domain.normalize import LATEST_INSTANT, format_duration, format_instant
from infobip_iac.domain.rotation import INFOBIP_DEFAULT_VALIDITY
from infobip_iac.errors import Diagnostic
from infobip_iac.manifest.diagnostics import Code, Location, diagnostic, did_you_mean, suggestion
from infobip_iac.manifest.models import KeySettings, RotationSpec
from infobip_iac.manifest.resolve import KeyDraft, Setting, Shared
from infobip_iac.manifest.sources import ManifestFile
from infobip_iac.manifest.yamlload import Mark
from infobip_iac.scopes import Catalog

__all__ = ["Declarations", "Identity", "check_blocks", "check_key"]

_SCOPE_HELP = "`infobip-iac scopes search WORD` lists the known scopes"
_UNKNOWN_HATCH = (
    "if Infobip added it after this catalog, set policy.unknown_scopes: warn or pass "
    "--allow-unknown-scopes"
)


class Declarations:
    """Every scope, role and scope-set name where it is written, and each declaration's
    valid_to/valid_for pair (a clash in `defaults` is one error, not one per key).

    `shared_blocks` judges the configuration-wide blocks; `key` one key's own declaration,
    partial ones included (their names were read), as `load` walks the keys.
    """

    def __init__(self, shared: Shared, catalog: Catalog, *, warn_unknown: bool) -> None:
        self.shared = shared
        self.catalog = catalog
        self.warn_unknown = warn_unknown
        self.known_sets = list(shared.scope_sets)

    def shared_blocks(self) -> list[Diagnostic]:
        shared = self.shared
        problems: list[Diagnostic] = []
        for set_name, (members, manifest) in shared.scope_sets.items():
            if members is not None:
                self._scopes(problems, manifest, ("scope_sets", set_name), members)
        if shared.policy_spec is not None and shared.policy_file is not None:
            self._scopes(
                problems,
                shared.policy_file,
                ("policy", "forbidden_scopes"),
                shared.policy_spec.forbidden_scopes,
            )
        if shared.defaults is not None and shared.defaults_file is not None:
            problems.extend(self.key(shared.defaults_file, ("defaults",), shared.defaults))
        return problems

    def key(
        self, manifest: ManifestFile, location: Location, settings: KeySettings
    ) -> list[Diagnostic]:
        """The names and the validity pair written at `location` (a key, or `defaults`)."""
        problems: list[Diagnostic] = []
        if "scopes" in settings.model_fields_set:
            self._scopes(problems, manifest, (*location, "scopes"), settings.scopes)
        catalog = self.catalog
        for index, role_name in enumerate(settings.roles):
            if catalog.role(role_name) is None:
                close = catalog.suggest_role(role_name)
                problems.append(
                    diagnostic(
                        manifest.name,
                        manifest.mark((*location, "roles", index)),
                        Code.UNKNOWN_ROLE,
                        f'unknown role "{role_name}"'
                        + (f' — did you mean "{close}"?' if close else ""),
                        "roles are Infobip's user roles; `infobip-iac scopes role NAME` shows "
                        "the scopes of one",
                    )
                )
        shared, known_sets = self.shared, self.known_sets
        for index, set_name in enumerate(settings.scope_sets):
            if set_name not in shared.scope_sets and not shared.scope_sets_broken:
                problems.append(
                    diagnostic(
                        manifest.name,
                        manifest.mark((*location, "scope_sets", index)),
                        Code.UNKNOWN_SCOPE_SET,
                        f'unknown scope set "{set_name}"' + suggestion(set_name, known_sets),
                        "declare it under scope_sets in any file of the configuration"
                        + (f" (declared: {', '.join(sorted(known_sets))})" if known_sets else ""),
                    )
                )
        if settings.valid_to is not None and settings.valid_for is not None:
            problems.append(
                diagnostic(
                    manifest.name,
                    manifest.key_mark((*location, "valid_for")),
                    Code.VALID_TO_WITH_VALID_FOR,
                    "valid_to and valid_for are both set; they say the same thing two ways",
                    "keep valid_to (an instant) or valid_for (a duration), not both",
                )
            )
        return problems

    def _scopes(
        self,
        problems: list[Diagnostic],
        manifest: ManifestFile,
        location: Location,
        names: Iterable[str],
    ) -> None:
        catalog = self.catalog
        for index, scope in enumerate(names):
            if catalog.has_scope(scope):
                continue
            close = catalog.suggest_scope(scope)
            mark = manifest.mark((*location, index))
            if self.warn_unknown:
                problems.append(
                    diagnostic(
                        manifest.name,
                        mark,
                        Code.UNKNOWN_SCOPE_ALLOWED,
                        f'"{scope}" is not in the scope catalog; accepted as unknown_scopes '
                        "allows" + (f' (did you mean "{close}"?)' if close else ""),
                        "check the spelling; Infobip refuses scopes it does not know",
                    )
                )
            else:
                problems.append(
                    diagnostic(
                        manifest.name,
                        mark,
                        Code.UNKNOWN_SCOPE,
                        f'unknown scope "{scope}"'
                        + (f' — did you mean "{close}"?' if close else ""),
                        f"{_SCOPE_HELP}; {_UNKNOWN_HATCH}",
                    )
                )


def _prefer_own(*settings: Setting | None) -> Setting:
    present = [s for s in settings if s is not None]
    return next((s for s in present if not s.inherited), present[0])


# Why a rotated key cannot have a fixed end of its validity, and what to write instead.
_FIXED_VALIDITY = {
    # Every successor is created after that instant, and Infobip refuses a new key valid
    # from the past (E606): the first rotation would fail its plan.
    "valid_from": (
        "a rotated key cannot have a fixed valid_from: every successor is created after it, "
        "and Infobip refuses a new key valid from the past",
        "leave valid_from out (each successor is valid from its creation), or rotation: none",
    ),
    "valid_to": (
        "a rotated key cannot have a fixed valid_to: every successor would expire at the same "
        "instant",
        "use valid_for (a validity counted from each successor's creation), or rotation: none",
    ),
}


def _rotation_against_validity(draft: KeyDraft) -> list[Diagnostic]:
    """A rotation must fall due while the key is still valid, and not at once: its period
    (`every`, `before_expiry`) has to be shorter than the validity each successor gets."""
    rotation = draft.setting("rotation")
    if rotation is None or not isinstance(rotation.value, RotationSpec) or not draft.enabled:
        return []
    spec: RotationSpec = rotation.value
    starts, ends, length = draft.valid_window()
    fixed = "valid_from" if starts is not None else "valid_to" if ends is not None else None
    if fixed is not None:
        at = _prefer_own(draft.setting(fixed), rotation)
        message, hint = _FIXED_VALIDITY[fixed]
        return [
            diagnostic(at.file.name, at.mark, Code.ROTATION_LONGER_THAN_VALIDITY, message, hint)
        ]
    validity = length if length is not None else INFOBIP_DEFAULT_VALIDITY
    said = (
        f"valid_for {format_duration(validity)}"
        if length is not None
        else ("Infobip's default validity of a year")
    )
    own_validity = draft.own("valid_for")
    problems = []
    for name, period, why in (
        ("every", spec.every, "it expires before it is that old"),
        ("before_expiry", spec.before_expiry, "every successor would be due the moment it is made"),
    ):
        if period is not None and period >= validity:
            # At what this key wrote itself: its valid_for against the defaults' rotation.
            file, mark = rotation.file, rotation.file.mark((*rotation.location, name))
            if rotation.inherited and own_validity is not None:
                file, mark = own_validity.file, own_validity.mark
            problems.append(
                diagnostic(
                    file.name,
                    mark,
                    Code.ROTATION_LONGER_THAN_VALIDITY,
                    f"rotation {name} {format_duration(period)} is not shorter than the key's "
                    f"validity ({said}): {why}",
                    f"shorten {name}, or lengthen valid_for",
                )
            )
    return problems


def check_key(draft: KeyDraft, catalog: Catalog) -> list[Diagnostic]:
    """The rules between one key's resolved settings."""
    problems: list[Diagnostic] = []

    def report(
        setting_or_mark: Setting | tuple[ManifestFile, Mark], code: Code, message: str, hint: str
    ) -> None:
        if isinstance(setting_or_mark, Setting):
            file, mark = setting_or_mark.file, setting_or_mark.mark
        else:
            file, mark = setting_or_mark
        problems.append(diagnostic(file.name, mark, code, message, hint))

    starts, ends, length = draft.valid_window()
    # Compared as a difference: the sum itself may not exist as a datetime.
    if starts is not None and length is not None and length > LATEST_INSTANT - starts:
        valid_from, valid_for = draft.setting("valid_from"), draft.setting("valid_for")
        assert valid_from is not None and valid_for is not None  # their values are set
        report(
            _prefer_own(valid_for, valid_from),
            Code.VALIDITY_PAST_LAST_YEAR,
            f"valid_for {format_duration(length)} from valid_from {format_instant(starts)} "
            f"ends after {format_instant(LATEST_INSTANT)}, the last instant RFC 3339 can write",
            "shorten valid_for, or move valid_from earlier",
        )
    if starts is not None and ends is not None and ends <= starts:
        valid_from, valid_to = draft.setting("valid_from"), draft.setting("valid_to")
        assert valid_from is not None and valid_to is not None  # their values are set
        at = _prefer_own(valid_to, valid_from)
        report(
            at,
            Code.VALID_TO_NOT_AFTER_FROM,
            f"valid_to ({valid_to.value:%Y-%m-%dT%H:%M:%SZ}) is not later than valid_from "
            f"({valid_from.value:%Y-%m-%dT%H:%M:%SZ})",
            "move valid_to after valid_from, or use valid_for for a length of time",
        )

    problems.extend(_rotation_against_validity(draft))

    if draft.has_platform:
        clashing = [
            name
            for name in ("scopes", "scope_sets", "roles", "permissions")
            if getattr(draft.spec, name)
        ]
        if clashing:
            platform = draft.own("platform")
            assert platform is not None
            report(
                (draft.file, draft.file.key_mark(platform.location)),
                Code.PLATFORM_EXCLUSIVE,
                f"platform cannot be combined with {' or '.join(clashing)}",
                "a CPaaS X key is limited by its applications: remove "
                + " and ".join(clashing)
                + ", or remove platform",
            )
    else:
        permissions = None
        if {Permission.PUBLIC_API, Permission.WEB_SDK} <= draft.permissions:
            permissions = draft.setting("permissions")
        if permissions is not None:
            report(
                permissions,
                Code.PUBLIC_API_WITH_WEB_SDK,
                "PUBLIC_API and WEB_SDK cannot be combined on one key",
                "use two keys: one for server-side API calls, one for the web SDK",
            )

    sdk = [g for g in draft.grants if catalog.is_sdk_scope(g.scope)]
    # Most keys hold no SDK scope: the others are listed only for a message.
    others = [g for g in draft.grants if not catalog.is_sdk_scope(g.scope)] if sdk else []
    if sdk and others:
        first = sdk[0]
        shown = ", ".join(f'"{g.scope}"' for g in others[:3]) + (" …" if len(others) > 3 else "")
        problems.append(
            diagnostic(
                first.file.name,
                first.mark,
                Code.SDK_SCOPE_MIXED,
                f"{first.described} is a client-side SDK scope; Infobip allows no other scope "
                f"beside it (here also {shown})",
                "put the SDK scope on a key of its own",
            )
        )
    return problems


class Identity:
    """Ids unique across the configuration; names unique within an account. Told of each
    declared key in file order, as `load` walks them."""

    def __init__(self) -> None:
        self.first_id: dict[str, tuple[ManifestFile, Mark]] = {}
        self.first_name: dict[tuple[str, str], KeyDraft] = {}

    def key(self, manifest: ManifestFile, ident: str, draft: KeyDraft | None) -> list[Diagnostic]:
        """The key `ident` of `manifest`; `draft` is None when its declaration was unreadable
        (its id still counts)."""
        if ident in self.first_id:
            other, where = self.first_id[ident]
            # A duplicate id: its name would only repeat this.
            return [
                diagnostic(
                    manifest.name,
                    manifest.key_mark(("api_keys", ident)),
                    Code.DUPLICATE_ID,
                    f'key id "{ident}" is already declared at {other.name}:{where.line}:'
                    f"{where.column}",
                    "ids are unique across all files of a configuration; rename one",
                )
            ]
        if draft is None:
            self.first_id[ident] = (manifest, manifest.key_mark(("api_keys", ident)))
            return []
        self.first_id[ident] = (manifest, draft.id_mark)
        slot = (draft.account, draft.name)
        holder = self.first_name.get(slot)
        if holder is None:
            self.first_name[slot] = draft
            return []
        name = draft.own("name")
        held = holder.id_mark
        return [
            diagnostic(
                draft.file.name,
                name.mark if name is not None else draft.id_mark,
                Code.DUPLICATE_NAME,
                f'name "{draft.name}" is already used by {holder.address} ({holder.file.name}:'
                f"{held.line}:{held.column}) in account {draft.account}",
                "Infobip matches keys by name within an account; give each key its own name",
            )
        ]

    @property
    def declared(self) -> set[str]:
        """The address of every declared key."""
        return {key_address(ident) for ident in self.first_id}


def check_blocks(files: list[ManifestFile], declared: set[str]) -> list[Diagnostic]:
    """`moved` and `imports` against the `declared` addresses, and against each other."""
    problems: list[Diagnostic] = []

    def report(
        manifest: ManifestFile, location: Location, code: Code, message: str, hint: str
    ) -> None:
        problems.append(diagnostic(manifest.name, manifest.mark(location), code, message, hint))

    def once(
        manifest: ManifestFile,
        here: Location,
        where: str,
        hint: str,
        *entries: tuple[dict[str, str], str, str, str],
    ) -> None:
        """Each (seen, value, field, said): `value` of `field` is first seen `where`; a
        second sighting conflicts with the first."""
        for seen, value, end, said in entries:
            if value in seen:
                message = f"{said} twice (first at {seen[value]})"
                report(manifest, (*here, end), Code.CONFLICTING_BLOCKS, message, hint)
            else:
                seen[value] = where

    moved_from: dict[str, str] = {}
    moved_to: dict[str, str] = {}
    for manifest, move, here, where in _entries(files, "moved"):
        if move.from_address == move.to_address:
            report(
                manifest,
                here,
                Code.CONFLICTING_BLOCKS,
                "moved.from and moved.to are the same address",
                "remove this entry",
            )
            continue
        if move.to_address not in declared:
            report(
                manifest,
                (*here, "to"),
                Code.MOVED_TO_UNDECLARED,
                f'moved.to "{move.to_address}" names no declared key'
                + _address_suggestion(move.to_address, declared),
                "moved.to is the key's new address: declare it under api_keys",
            )
        if move.from_address in declared:
            report(
                manifest,
                (*here, "from"),
                Code.MOVED_FROM_DECLARED,
                f'moved.from "{move.from_address}" is still declared',
                "moved.from is the old address; remove its declaration, or this entry",
            )
        once(
            manifest,
            here,
            where,
            "one address can move only once; keep one entry",
            (
                moved_from,
                move.from_address,
                "from",
                f'"{move.from_address}" appears in moved.from',
            ),
            (moved_to, move.to_address, "to", f'"{move.to_address}" appears in moved.to'),
        )
    imported_to: dict[str, str] = {}
    imported_id: dict[str, str] = {}
    for manifest, block, here, where in _entries(files, "imports"):
        if block.to_address not in declared:
            report(
                manifest,
                (*here, "to"),
                Code.IMPORT_TO_UNDECLARED,
                f'imports.to "{block.to_address}" names no declared key'
                + _address_suggestion(block.to_address, declared),
                "declare the key under api_keys, then import the live key into it",
            )
        once(
            manifest,
            here,
            where,
            "a key can be imported once, into one address",
            (imported_to, block.to_address, "to", f"imports.to {block.to_address} appears"),
            (imported_id, block.key_id, "id", f"imports.id {block.key_id} appears"),
        )
    return problems


def _entries(
    files: list[ManifestFile], section: str
) -> Iterator[tuple[ManifestFile, Any, Location, str]]:
    """Each entry of the `moved` or `imports` blocks: its file, itself, its location and
    where it is written (file:line)."""
    for manifest in files:
        for index, entry in getattr(manifest, section):
            here = (section, index)
            yield manifest, entry, here, f"{manifest.name}:{manifest.mark(here).line}"


def _address_suggestion(address: str, declared: set[str]) -> str:
    # Compare the ids: every address shares "api_keys.", which would make anything look close.
    prefix = "api_keys."
    close = did_you_mean(address.removeprefix(prefix), [a.removeprefix(prefix) for a in declared])
    return f' — did you mean "{prefix}{close}"?' if close else ""

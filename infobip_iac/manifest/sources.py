"""Find the manifest files of a configuration and read each into validated sections.

A file is validated section by section, and `api_keys` key by key, so that one bad key does
not hide the errors (or the valid keys) around it: every problem is reported in one run.
A section with errors is kept *partially* (its bad fields dropped) so that the names in its
other fields are still checked; partial sections never reach a DesiredConfig, and the checks
that would misjudge a missing field skip them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from infobip_iac.errors import Diagnostic
from infobip_iac.manifest.bounds import check_bounds
from infobip_iac.manifest.diagnostics import (
    Code,
    Location,
    diagnostic,
    did_you_mean,
    from_validation_errors,
    suggestion,
)
from infobip_iac.manifest.models import (
    AccountRef,
    DefaultsSpec,
    ImportSpec,
    KeySpec,
    ManifestSpec,
    MovedSpec,
    PolicySpec,
    ScopeName,
    is_key_id,
)
from infobip_iac.manifest.yamlload import Mark, NodeMarks, YamlDocument, parse_file

__all__ = ["ManifestFile", "expand_paths", "read_document", "read_manifest"]

SUPPORTED_VERSIONS = (1,)
# Sections that hold for the whole configuration: one broken hides what every key inherits.
_SHARED_SECTIONS = ("defaults", "policy", "scope_sets")
_FILE_START = Mark(1, 1)
_WHOLE_FILE = Mark(0, 0)

_M = TypeVar("_M", bound=BaseModel)
_B = TypeVar("_B", bound=BaseModel)

_ACCOUNT = TypeAdapter(AccountRef)
_SCOPE_LIST = TypeAdapter(list[ScopeName])
_KEYS = TypeAdapter(dict[str, KeySpec])
_MOVED = TypeAdapter(MovedSpec)
_IMPORT = TypeAdapter(ImportSpec)


@dataclass
class ManifestFile:
    """One file's validated sections. An entry that could not be read at all is None; one
    read only partially is listed in `partial` (by location); its diagnostics are reported."""

    name: str  # as diagnostics show it
    folder: Path
    marks: NodeMarks
    account: str = "_"
    declares_account: bool = False
    defaults: DefaultsSpec | None = None
    declares_defaults: bool = False
    policy: PolicySpec | None = None
    declares_policy: bool = False
    scope_sets: dict[str, list[str] | None] = field(default_factory=dict)
    keys: dict[str, KeySpec | None] = field(default_factory=dict)
    moved: list[tuple[int, MovedSpec]] = field(default_factory=list)
    imports: list[tuple[int, ImportSpec]] = field(default_factory=list)
    partial: set[Location] = field(default_factory=set)

    def mark(self, location: Location) -> Mark:
        return self.marks.value(location)

    def key_mark(self, location: Location) -> Mark:
        return self.marks.key(location)


def expand_paths(paths: Sequence[Path]) -> tuple[list[Path], list[Diagnostic]]:
    """Files as given; a folder means every `*.yaml`/`*.yml` directly inside it, sorted.
    The same file named twice is read once."""
    found: list[Path] = []
    problems: list[Diagnostic] = []
    seen: set[Path] = set()
    for given in paths:
        if given.is_dir():
            # Every entry named like a manifest but a folder: a link that loops or leads
            # nowhere, or a pipe, is reported by the read rather than skipped, since its keys
            # would otherwise be planned for revocation without a word.
            inside = sorted(
                p for p in given.iterdir() if p.suffix in (".yaml", ".yml") and not p.is_dir()
            )
            if not inside:
                problems.append(
                    diagnostic(
                        str(given),
                        _WHOLE_FILE,
                        Code.NO_MANIFESTS,
                        "the folder holds no *.yaml or *.yml file",
                        "name a folder with manifests, or the manifest files themselves",
                    )
                )
        elif given.exists() or given.is_symlink():
            inside = [given]
        else:
            problems.append(
                diagnostic(
                    str(given),
                    _WHOLE_FILE,
                    Code.PATH_NOT_FOUND,
                    "no such file or folder",
                    "check the path; with no path, validate reads the current folder",
                )
            )
            continue
        for path in inside:
            resolved = Path(os.path.realpath(path))  # Path.resolve raises on a link loop
            if resolved not in seen:
                seen.add(resolved)
                found.append(path)
    return found, problems


def read_manifest(path: Path) -> tuple[ManifestFile | None, list[Diagnostic]]:
    name = str(path)
    document, problems = parse_file(path, name)
    if document is None:
        return None, problems
    # Before any model is built from it: past Infobip's bounds a file is refused whole.
    bounded = check_bounds(document.data, document.marks, name)
    problems += bounded
    if any(found.severity == "error" for found in bounded):
        return None, problems
    manifest, more = read_document(document, name, path.parent)
    # A value YAML could not read as tagged is reported once, not again as a wrong type.
    seen = {(d.line, d.column) for d in problems}
    return manifest, problems + [d for d in more if (d.line, d.column) not in seen]


def read_document(
    document: YamlDocument, name: str, folder: Path
) -> tuple[ManifestFile | None, list[Diagnostic]]:
    """Validate a parsed file's sections. None when it cannot be read as a manifest at all."""
    reader = _SectionReader(ManifestFile(name=name, folder=folder, marks=document.marks))
    return reader.read(document.data), reader.problems


class _SectionReader:
    def __init__(self, manifest: ManifestFile) -> None:
        self.manifest = manifest
        self.problems: list[Diagnostic] = []

    def report(self, where: Mark, code: Code, message: str, hint: str = "") -> None:
        self.problems.append(diagnostic(self.manifest.name, where, code, message, hint))

    def wrong_type(self, location: Location, message: str, hint: str) -> None:
        self.report(self.manifest.mark(location), Code.WRONG_TYPE, message, hint)

    def errors(self, error: ValidationError, prefix: Location) -> None:
        self.problems.extend(
            from_validation_errors(
                error.errors(),
                model=ManifestSpec,
                file=self.manifest.name,
                prefix=prefix,
                key_mark=self.manifest.key_mark,
                value_mark=self.manifest.mark,
            )
        )

    def read(self, data: Any) -> ManifestFile | None:
        if not isinstance(data, dict):
            self.report(
                _FILE_START,
                Code.NOT_A_MAPPING,
                "the file is empty" if data is None else "the top level must be a mapping",
                "start the manifest with `version: 1`, then `api_keys:`",
            )
            return None
        if not self.version(data):
            return None
        allowed = list(ManifestSpec.model_fields)
        for key in data:
            if key not in ManifestSpec.model_fields:
                self.report(
                    self.manifest.key_mark((key,)),
                    Code.UNKNOWN_FIELD,
                    f'unknown field "{key}"' + suggestion(key, allowed),
                    "fields allowed at the top level: " + ", ".join(allowed),
                )
                # `default:` was surely meant as defaults: judge no key without them.
                meant = did_you_mean(key, _SHARED_SECTIONS)
                if meant is not None:
                    self.manifest.partial.add((meant,))
        if "account" in data:
            self.account(data["account"])
        if "defaults" in data:
            self.manifest.declares_defaults = True
            self.manifest.defaults = self.model(DefaultsSpec, data["defaults"], ("defaults",))
        if "policy" in data:
            self.manifest.declares_policy = True
            self.manifest.policy = self.model(PolicySpec, data["policy"], ("policy",))
        if "scope_sets" in data:
            self.scope_sets(data["scope_sets"])
        if "api_keys" in data:
            self.api_keys(data["api_keys"])
        if "moved" in data:
            self.blocks(data["moved"], "moved", _MOVED, self.manifest.moved)
        if "imports" in data:
            self.blocks(data["imports"], "imports", _IMPORT, self.manifest.imports)
        return self.manifest

    def version(self, data: dict[str, Any]) -> bool:
        """False when the file is of a version we cannot read (then nothing else is checked)."""
        if "version" not in data:
            self.report(
                _FILE_START,
                Code.MISSING_VERSION,
                "the manifest has no version",
                "add `version: 1` as the first line",
            )
            return True
        version = data["version"]
        if type(version) is int and version in SUPPORTED_VERSIONS:
            return True
        shown = f'the text "{version}"' if isinstance(version, str) else repr(version)
        self.report(
            self.manifest.mark(("version",)),
            Code.UNSUPPORTED_VERSION,
            f"manifest version {shown} is not supported",
            "this infobip-iac reads version 1: write `version: 1` (a number)",
        )
        return False

    def account(self, value: Any) -> None:
        try:
            self.manifest.account = _ACCOUNT.validate_python(value)
            self.manifest.declares_account = True
        except ValidationError as error:
            self.errors(error, ("account",))

    def model(self, model: type[_M], value: Any, prefix: Location) -> _M | None:
        if value is None:
            # `defaults:` with nothing after it declares nothing; say so rather than ignore.
            self.wrong_type(
                prefix,
                f"{prefix[-1]} is empty",
                f"write the {prefix[-1]} settings below it, or remove the line",
            )
            return None
        try:
            return model.model_validate(value)
        except ValidationError as error:
            self.errors(error, prefix)
            return self.salvage(model, value, error, prefix)

    def salvage(
        self, model: type[_M], value: Any, error: ValidationError, prefix: Location
    ) -> _M | None:
        """The section without its bad fields, marked partial; None if even that fails."""
        if not isinstance(value, dict):
            return None
        bad = {e["loc"][0] for e in error.errors() if e["loc"]}
        try:
            kept = model.model_validate({k: v for k, v in value.items() if k not in bad})
        except ValidationError:
            return None
        self.manifest.partial.add(prefix)
        return kept

    def mapping(self, value: Any, prefix: Location) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        self.wrong_type(
            prefix,
            f"{prefix[-1]} must be a mapping",
            f"write one entry per line under `{prefix[-1]}:`, each `<name>: ...`",
        )
        return None

    def scope_sets(self, value: Any) -> None:
        sets = self.mapping(value, ("scope_sets",))
        if sets is None:
            self.manifest.partial.add(("scope_sets",))
        for set_name, members in (sets or {}).items():
            try:
                self.manifest.scope_sets[set_name] = _SCOPE_LIST.validate_python(members)
            except ValidationError as error:
                self.manifest.scope_sets[set_name] = None
                self.errors(error, ("scope_sets", set_name))

    def api_keys(self, value: Any) -> None:
        keys = self.mapping(value, ("api_keys",))
        if not keys:
            return
        for ident in keys:
            if not is_key_id(ident):
                self.report(
                    self.manifest.key_mark(("api_keys", ident)),
                    Code.BAD_ID,
                    f'"{ident}" is not a valid key id',
                    "ids are 1-63 lowercase letters, digits, - and _, starting with a letter or "
                    f'digit, e.g. "{_slug(ident)}"',
                )
        # One call for the common case of a valid file; key by key only when some fail.
        try:
            self.manifest.keys = dict(_KEYS.validate_python(keys))
            return
        except ValidationError as error:
            self.errors(error, ("api_keys",))
            by_key: dict[Any, list[Any]] = {}
            for found in error.errors():
                by_key.setdefault(found["loc"][0], []).append(found)
        valid = {ident: spec for ident, spec in keys.items() if ident not in by_key}
        parsed = _KEYS.validate_python(valid) if valid else {}
        for ident, raw in keys.items():
            if ident in parsed:
                self.manifest.keys[ident] = parsed[ident]
                continue
            try:
                KeySpec.model_validate(raw)
            except ValidationError as own_error:
                self.manifest.keys[ident] = self.salvage(
                    KeySpec, raw, own_error, ("api_keys", ident)
                )

    def blocks(
        self,
        value: Any,
        section: str,
        adapter: TypeAdapter[_B],
        into: list[tuple[int, _B]],
    ) -> None:
        if not isinstance(value, list):
            self.wrong_type(
                (section,), f"{section} must be a list", "write one `- {...}` entry per line"
            )
            return
        for index, item in enumerate(value):
            try:
                into.append((index, adapter.validate_python(item)))
            except ValidationError as error:
                self.errors(error, (section, index))


def _slug(text: str) -> str:
    cleaned = "".join(
        c if (c.isascii() and c.isalnum()) or c in "-_" else "-" for c in text.lower()
    ).strip("-_")
    return (cleaned or "my-key")[:63]

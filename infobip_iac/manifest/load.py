"""The manifest pipeline from paths to a DesiredConfig: read, resolve, check, lint."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infobip_iac.domain.keys import (
    DesiredConfig,
    ImportBlock,
    MovedBlock,
    Policy,
    SecretSinkSpec,
    SourceRef,
)
from infobip_iac.errors import ConfigurationError, Diagnostic
from infobip_iac.manifest.bounds import MAX_KEYS
from infobip_iac.manifest.diagnostics import Code, Location, diagnostic, sort_diagnostics
from infobip_iac.manifest.lint import lint_key
from infobip_iac.manifest.policy import check_policy
from infobip_iac.manifest.resolve import KeyDraft, Resolver, Shared, gather_shared
from infobip_iac.manifest.rules import Declarations, Identity, check_blocks, check_key
from infobip_iac.manifest.sources import ManifestFile, expand_paths, read_manifest
from infobip_iac.scopes import load_catalog

__all__ = ["LoadResult", "load_configuration", "load_or_raise"]


@dataclass(frozen=True)
class LoadResult:
    """`config` is None when any diagnostic is an error; `diagnostics` holds errors and
    warnings, sorted by file, line and column."""

    config: DesiredConfig | None
    diagnostics: list[Diagnostic]
    files: tuple[str, ...] = ()

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]


def load_configuration(
    paths: Sequence[Path],
    *,
    allow_unknown_scopes: bool = False,
    now: datetime | None = None,
) -> LoadResult:
    """Read the manifests at `paths` (files, or folders of `*.yaml`/`*.yml`; none means the
    current folder) as one configuration. Never raises for bad input: every problem found
    is a Diagnostic. `now` fixes the clock for the checks that depend on it."""
    return _load(list(paths), allow_unknown_scopes=allow_unknown_scopes, now=_utc(now))


def _load(paths: list[Path], *, allow_unknown_scopes: bool, now: datetime) -> LoadResult:
    files, problems = expand_paths(paths or [Path()])
    manifests: list[ManifestFile] = []
    keys = 0
    for path in files:
        manifest, found = read_manifest(path)
        problems.extend(found)
        if manifest is None:
            continue
        manifests.append(manifest)
        keys += len(manifest.keys)
        if keys > MAX_KEYS:
            # Each file is bounded on its own (manifest.bounds); so is their sum, before
            # more files are read and anything is built from them all.
            problems.append(_too_many_keys(manifest, keys))
            return LoadResult(None, sort_diagnostics(problems), (manifest.name,))

    shared, found = gather_shared(manifests)
    problems.extend(found)
    policy = shared.policy
    warn_unknown = allow_unknown_scopes or policy.unknown_scopes == "warn"
    drafts = _resolve_and_check(manifests, shared, policy, problems, warn_unknown, now)

    diagnostics = sort_diagnostics(problems)
    names = tuple(manifest.name for manifest in manifests)
    if any(d.severity == "error" for d in diagnostics):
        return LoadResult(None, diagnostics, names)
    sinks: dict[Location, SecretSinkSpec] = {}
    config = DesiredConfig(
        keys={draft.address: draft.to_desired(sinks) for draft in drafts},
        policy=policy,
        moved=tuple(
            MovedBlock(from_address=move.from_address, to_address=move.to_address, source=at)
            for move, at in _blocks(manifests, "moved")
        ),
        imports=tuple(
            ImportBlock(to_address=block.to_address, key_id=block.key_id, source=at)
            for block, at in _blocks(manifests, "imports")
        ),
        files=names,
        account_sources=_account_sources(manifests),
    )
    return LoadResult(config, diagnostics, names)


def _resolve_and_check(
    manifests: list[ManifestFile],
    shared: Shared,
    policy: Policy,
    problems: list[Diagnostic],
    warn_unknown: bool,
    now: datetime,
) -> list[KeyDraft]:
    """Every declared key resolved and judged in one walk over the keys: its names, its
    identity, its draft and scopes, its rules, the policy and the warnings, each while the
    key is at hand. What spans keys (shared blocks, `moved` and `imports`) is judged whole.
    Problems go to `problems`; the drafts of the keys whose declaration validated return."""
    catalog = load_catalog()
    declarations = Declarations(shared, catalog, warn_unknown=warn_unknown)
    problems.extend(declarations.shared_blocks())
    resolver = Resolver(shared, catalog)
    identity = Identity()
    # With broken defaults or policy every key would be judged on missing values: the
    # errors already reported are the ones to fix first.
    judge = not (shared.defaults_broken or shared.policy_broken)
    drafts: list[KeyDraft] = []
    for manifest in manifests:
        for ident, spec in manifest.keys.items():
            if spec is None:
                problems.extend(identity.key(manifest, ident, None))
                continue
            problems.extend(declarations.key(manifest, ("api_keys", ident), spec))
            draft = resolver.draft(manifest, ident, spec)
            drafts.append(draft)
            problems.extend(identity.key(manifest, ident, draft))
            if draft.partial:
                continue
            problems.extend(check_key(draft, catalog))
            if judge:
                problems.extend(check_policy(draft, policy, catalog, now=now))
                problems.extend(lint_key(draft, policy, catalog, now=now))
    if any(manifest.moved or manifest.imports for manifest in manifests):
        problems.extend(check_blocks(manifests, identity.declared))
    return drafts


def load_or_raise(
    paths: Sequence[Path],
    *,
    allow_unknown_scopes: bool = False,
    now: datetime | None = None,
) -> tuple[DesiredConfig, list[Diagnostic]]:
    """The configuration and its warnings; ConfigurationError (with every diagnostic) when
    it has errors."""
    result = load_configuration(paths, allow_unknown_scopes=allow_unknown_scopes, now=now)
    if result.config is None:
        raise ConfigurationError(result.diagnostics)
    return result.config, result.diagnostics


def _too_many_keys(manifest: ManifestFile, keys: int) -> Diagnostic:
    return diagnostic(
        manifest.name,
        manifest.key_mark(("api_keys",)),
        Code.TOO_LARGE,
        f"with this file the configuration declares {keys:,} keys or more; a configuration "
        f"may have at most {MAX_KEYS:,}",
        "split it into several configurations, each with its own state",
    )


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC).replace(microsecond=0)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _account_sources(manifests: list[ManifestFile]) -> dict[str, tuple[SourceRef, ...]]:
    found: dict[str, list[SourceRef]] = {}
    for manifest in manifests:
        if manifest.declares_account:
            found.setdefault(manifest.account, []).append(_source(manifest, ("account",)))
    return {account: tuple(sources) for account, sources in found.items()}


def _blocks(manifests: list[ManifestFile], section: str) -> Iterator[tuple[Any, SourceRef]]:
    """Each entry of the `moved` or `imports` blocks, with where it is written."""
    for manifest in manifests:
        for index, block in getattr(manifest, section):
            yield block, _source(manifest, (section, index))


def _source(manifest: ManifestFile, location: tuple[str | int, ...]) -> SourceRef:
    mark = manifest.mark(location)
    return SourceRef(file=manifest.name, line=mark.line, column=mark.column)

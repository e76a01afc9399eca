"""Manifests for live keys: what `infobip-iac export` writes to adopt an existing account.

Each key becomes a declaration that matches it exactly (so the first plan has nothing to
change) and an `imports` entry with its id (so that plan only records it in state). Scopes
that are exactly one role's are written as that role. Validity is written as an absolute
`valid_to`; `valid_from` is left to the key (an undeclared `valid_from` is not managed).

The YAML is written here rather than by PyYAML's emitter: the file needs comments (the
header, an expired key's note), a fixed layout that stays put between exports so that a
re-export diffs line by line, and flow lists that keep a key's IPs on one line. Every
string that is not a plain token is written as a JSON string, which YAML reads as the same
double-quoted scalar.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from infobip_iac.domain.keys import (
    CALLER_ACCOUNT,
    DEFAULT_PERMISSIONS,
    KEY_ID_MAX_LENGTH,
    LiveKey,
    key_address,
)
from infobip_iac.domain.normalize import format_instant, sorted_networks
from infobip_iac.manifest.yamlload import plain_scalar
from infobip_iac.scopes.catalog import Catalog

__all__ = ["Export", "export_file_name", "export_manifest"]

_IDENT_CHARS = re.compile(r"[^a-z0-9]+")
# Text that can stay unquoted: safe characters, a single space or colon only between them
# (never `: ` or ` #`), and a letter or digit first. It is written plain only when the
# manifest reader's own resolver reads it back as the same string (not a number, a date or
# a boolean).
_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./+()-]*(?:[ :][A-Za-z0-9_./+()-]+)*")


@dataclass(frozen=True)
class Export:
    """One exported manifest: its text and what it holds."""

    text: str
    keys: int
    imports: int
    expired: int
    left_out: int  # keys whose name another key already has


def export_file_name(account: str) -> str:
    """`exported-keys.yaml` for the caller's own account, else `exported-keys-<ID>.yaml`."""
    if account == CALLER_ACCOUNT:
        return "exported-keys.yaml"
    return f"exported-keys-{_IDENT_CHARS.sub('-', account.lower()).strip('-')}.yaml"


@cache
def _reads_back(text: str) -> bool:
    try:
        return bool(plain_scalar(text) == text)
    except ValueError:
        return False


def _scalar(text: str) -> str:
    if _PLAIN.fullmatch(text) and _reads_back(text):
        return text
    quoted = json.dumps(text, ensure_ascii=False)
    # JSON leaves some characters YAML does not allow raw in a double-quoted scalar (line
    # and paragraph separators, other non-printables): escape those as YAML reads them.
    return "".join(
        ch
        if ch.isprintable() or ch in "\t"
        else f"\\u{ord(ch):04x}"
        if ord(ch) <= 0xFFFF
        else f"\\U{ord(ch):08x}"
        for ch in quoted
    )


def _flow(values: Iterable[str]) -> str:
    return "[" + ", ".join(_scalar(value) for value in values) + "]"


def _ident_from_name(name: str) -> str:
    # Accents are dropped rather than the letters: "Ünïcode" -> "unicode".
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = _IDENT_CHARS.sub("-", ascii_name.lower()).strip("-")
    return slug[: KEY_ID_MAX_LENGTH - 8].rstrip("-") or "key"


def _one_per_name(keys: Sequence[LiveKey]) -> tuple[list[LiveKey], list[LiveKey]]:
    """(the keys to declare, the keys left out). A configuration gives each key of an
    account its own name (Infobip matches keys by name), so of keys sharing a name only
    one is declared: an enabled one before a disabled one, then the lowest id."""
    chosen: dict[str, LiveKey] = {}
    for key in sorted(keys, key=lambda key: (not key.enabled, key.id)):
        chosen.setdefault(key.name, key)
    kept = set(map(id, chosen.values()))
    return list(chosen.values()), [key for key in keys if id(key) not in kept]


def _idents(keys: Sequence[LiveKey], taken: Iterable[str]) -> dict[str, str]:
    """Key id -> a unique declaration id made from the key's name; names that make the
    same id get `-2`, `-3`, … in order of name and key id, so that the choice does not
    depend on the order Infobip lists them in."""
    used = set(taken)
    chosen: dict[str, str] = {}
    for key in sorted(keys, key=lambda key: (key.name, key.id)):
        base = _ident_from_name(key.name)
        ident, number = base, 1
        while ident in used:
            number += 1
            ident = f"{base}-{number}"
        used.add(ident)
        chosen[key.id] = ident
    return chosen


def _exact_role(scopes: frozenset[str], catalog: Catalog) -> str | None:
    """The first role (by name) whose scopes are exactly `scopes`. A single scope is
    written as itself: a one-scope role would only hide it."""
    if len(scopes) < 2:
        return None
    for name in sorted(catalog.roles):
        if catalog.roles[name].scopes == scopes:
            return name
    return None


def _key_lines(
    ident: str, key: LiveKey, *, now: datetime, catalog: Catalog
) -> tuple[list[str], bool]:
    """The declaration of `key`, and whether its validity has ended."""
    lines = [f"  {ident}:", f"    name: {_scalar(key.name)}"]
    if key.platform:
        lines.append("    platform:")
        for link in sorted(key.platform, key=lambda link: link.sort_key()):
            fields = [f"application_id: {_scalar(link.application_id)}"]
            if link.entity_id is not None:
                fields.append(f"entity_id: {_scalar(link.entity_id)}")
            if link.action is not None:
                fields.append(f"action: {link.action}")
            lines.append("      - {" + ", ".join(fields) + "}")
    else:
        role = _exact_role(key.scopes, catalog)
        if role is not None:
            lines.append(f"    roles: {_flow([role])}")
        elif key.scopes:
            lines.append(f"    scopes: {_flow(sorted(key.scopes))}")
        if key.permissions != DEFAULT_PERMISSIONS:
            # The default alone is left out; anything else (none included) is written.
            permissions = sorted(map(str, key.permissions))  # unknown live ones are strings
            lines.append(f"    permissions: {_flow(permissions)}")
    if key.allowed_ips:
        lines.append(f"    allowed_ips: {_flow(sorted_networks(key.allowed_ips))}")
    expired = key.valid_to is not None and key.valid_to <= now
    if key.valid_to is not None:
        if expired:
            # A date in the past is refused in a manifest; the key stays as it is, since
            # an undeclared valid_to is not managed.
            lines.append(
                f"    # valid_to not declared: the key expired at {format_instant(key.valid_to)}"
            )
        else:
            lines.append(f"    valid_to: {format_instant(key.valid_to)}")
    if not key.enabled:
        lines.append("    enabled: false")
    return lines, expired


def export_manifest(
    account: str,
    keys: Sequence[LiveKey],
    *,
    managed: Mapping[str, str],
    now: datetime,
    catalog: Catalog,
    unreached: str | None = None,
) -> Export:
    """The manifest of `keys` (the live keys of `account`). `managed` maps the ids of keys
    already in state to their addresses: those keep their address and need no import.
    `unreached` is the listing's note when it could not reach every key."""
    keys, duplicates = _one_per_name(keys)
    taken = {address.split(".", 1)[1] for address in managed.values()}
    fresh = [key for key in keys if key.id not in managed]
    idents = _idents(fresh, taken)
    for key in keys:
        if key.id in managed:
            idents[key.id] = managed[key.id].split(".", 1)[1]
    unknown = sorted({scope for key in keys for scope in key.scopes} - set(catalog.scopes))
    where = "your own account" if account == CALLER_ACCOUNT else f"account {account}"
    lines = [
        f"# Written by `infobip-iac export` from the live API keys of {where}.",
        "#",
        "# Secrets cannot be exported: Infobip shows a key's secret only when the key is",
        "# created. Adopting a key does not need it, and the key goes on working as it is.",
        "# Each key below is adopted by its `imports` entry: the first apply writes nothing",
        "# to Infobip, it records the keys in state. Review, rename, commit.",
    ]
    if unreached:
        # The listing's own note, one comment line per sentence part.
        lines += [
            "#",
            "# Not every key could be listed (Infobip pages at most 10,100 keys a filter):",
        ]
        lines += [f"#   {part.strip()}" for part in unreached.split(";") if part.strip()]
    lines += ["version: 1", f"account: {_scalar(account)}"]
    if unknown:
        lines += [
            "",
            "policy:",
            "  # Scopes the catalog does not know yet: "
            + ", ".join(_scalar(scope) for scope in unknown[:5])
            + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""),
            "  unknown_scopes: warn",
        ]
    if duplicates:
        lines += [
            "",
            "# Left out, since another key of the account has the same name (rename them in",
            "# Infobip and export again to declare them too):",
        ]
        lines += [
            f"#   {key.id} {json.dumps(key.name)}" + ("" if key.enabled else " (disabled)")
            for key in sorted(duplicates, key=lambda key: (key.name, key.id))
        ]
    lines += ["", "api_keys:" if keys else "api_keys: {}"]
    expired = 0
    ordered = sorted(keys, key=lambda key: idents[key.id])
    for key in ordered:
        block, ended = _key_lines(idents[key.id], key, now=now, catalog=catalog)
        lines += block
        expired += ended
    imports = [key for key in ordered if key.id not in managed]
    if imports:
        lines += ["", "imports:"]
        for key in imports:
            # Block style, which the manifest reader's fast path reads (not flow `{...}`).
            lines += [f"  - to: {key_address(idents[key.id])}", f"    id: {_scalar(key.id)}"]
    return Export(
        text="\n".join(lines) + "\n",
        keys=len(keys),
        imports=len(imports),
        expired=expired,
        left_out=len(duplicates),
    )

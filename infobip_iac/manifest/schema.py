"""JSON Schema of the manifest, generated from the models and the scope catalog.

Editors with yaml-language-server read it through the first line of a manifest
(`# yaml-language-server: $schema=...`) to complete and explain fields, scopes and roles.
Regenerate the committed copy after changing the models or the catalog:

    python -m infobip_iac.manifest.schema > schemas/manifest.schema.json
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from infobip_iac.manifest.models import CATALOG_MARKER, ROLE_REF, SCOPE_REF, ManifestSpec
from infobip_iac.scopes import Catalog, load_catalog

__all__ = ["main", "manifest_schema", "render_schema"]

# No `$id`: editors find the file by the relative path in each manifest's first line, and
# an `$id` would make them resolve `#/$defs/...` against a URL that does not exist.
_DRAFT = "https://json-schema.org/draft/2020-12/schema"


def manifest_schema(catalog: Catalog | None = None) -> dict[str, Any]:
    """The schema as a JSON-ready dict (deterministic for a given catalog)."""
    chosen = catalog if catalog is not None else load_catalog()
    generated = _tidy(ManifestSpec.model_json_schema(ref_template="#/$defs/{model}"))
    definitions = generated.pop("$defs", {})
    definitions[SCOPE_REF.rsplit("/", 1)[1]] = _scope_enum(chosen)
    definitions[ROLE_REF.rsplit("/", 1)[1]] = _role_enum(chosen)
    return {
        "$schema": _DRAFT,
        "title": "infobip-iac manifest",
        "description": "Infobip API keys declared as code (manifest format version 1). "
        "All files given together form one configuration.",
        **{k: v for k, v in generated.items() if k not in ("title", "description")},
        "$defs": dict(sorted(definitions.items())),
    }


def _scope_enum(catalog: Catalog) -> dict[str, Any]:
    scopes = sorted(catalog.scopes.values(), key=lambda s: s.name)
    plain = []
    markdown = []
    for scope in scopes:
        where = scope.category + (f" · {scope.product}" if scope.product else "")
        sdk = " Client-side SDK scope: must be alone on its key." if scope.sdk else ""
        plain.append(f"{scope.description} ({where}){sdk}")
        markdown.append(f"**{where}** — {scope.description}{sdk}")
    return {
        "type": "string",
        "description": "An Infobip API scope (`infobip-iac scopes list`).",
        "enum": [scope.name for scope in scopes],
        "enumDescriptions": plain,
        "markdownEnumDescriptions": markdown,
    }


def _role_enum(catalog: Catalog) -> dict[str, Any]:
    roles = sorted(catalog.roles.values(), key=lambda r: r.name)
    return {
        "type": "string",
        "description": "An Infobip user role; the key gets every scope it implies.",
        "enum": [role.name for role in roles],
        "enumDescriptions": [f"Implies {len(role.scopes)} scopes." for role in roles],
    }


def _tidy(node: Any) -> Any:
    """Drop what only clutters an editor: generated titles, null defaults, and the `null`
    branch of optional fields (null is accepted, but never what a writer means to type)."""
    if isinstance(node, list):
        return [_tidy(item) for item in node]
    if not isinstance(node, dict):
        return node
    if CATALOG_MARKER in node:
        return {"$ref": node[CATALOG_MARKER]}
    tidy: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "default" and value is None:
            continue
        if key == "properties" and isinstance(value, dict):
            tidy[key] = {name: _tidy(prop) for name, prop in value.items()}
            continue
        tidy[key] = _tidy(value)
    options = tidy.get("anyOf")
    if isinstance(options, list):
        kept = [o for o in options if o != {"type": "null"}]
        if len(kept) == 1 and len(kept) < len(options):
            del tidy["anyOf"]
            tidy = {**kept[0], **tidy}
    return tidy


def render_schema(catalog: Catalog | None = None) -> str:
    """The schema as the committed file holds it."""
    return json.dumps(manifest_schema(catalog), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args:
        sys.stderr.write("usage: python -m infobip_iac.manifest.schema > FILE\n")
        return 2
    sys.stdout.write(render_schema())
    return 0


if __name__ == "__main__":
    sys.exit(main())

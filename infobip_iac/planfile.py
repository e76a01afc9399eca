"""Saved plan files: `plan --out` writes one, `apply PLANFILE` and `show` read it back.

A saved plan is the machine plan of `render/json` with the whole `Plan` embedded under
`infobip_iac`, and a digest of it, so that `apply PLANFILE` executes exactly what was
reviewed. Reading one refuses a file whose embedded plan and Terraform-shaped part disagree:
a policy check must never pass on one thing while apply does another.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import ConfigDict, TypeAdapter, ValidationError, with_config

from infobip_iac.domain.plan import PLAN_FORMAT_VERSION, Plan, value_types
from infobip_iac.errors import UsageError
from infobip_iac.render.json import plan_document
from infobip_iac.state.files import sweep_temp_files, write_atomically

__all__ = ["holds_a_saved_plan", "read_plan_file", "write_plan_file"]

_EMBEDDED = "infobip_iac"
# Top-level fields of a saved plan: Terraform's `format_version` and the embedded plan
# under `infobip_iac`. No manifest has either.
_SAVED_PLAN_FIELDS = ("format_version", _EMBEDDED)


@cache
def _plan_adapter() -> TypeAdapter[Plan]:
    """The plan file's reader and writer of the embedded `Plan`, built on first use.

    The plan stays a plain dataclass (domain/plan.py): pydantic validates and dumps stdlib
    dataclasses from their annotations, so this edge needs no copy of the plan's fields,
    and a saved file keeps the keys and values it had when `Plan` was a pydantic model.
    Building the validator costs a command that never saves or reads a plan nothing.
    Every value type in a plan refuses a field it does not have, as the file format always
    did: said here, at the edge, rather than in the domain."""
    for value_type in value_types(Plan):
        with_config(ConfigDict(extra="forbid"))(value_type)
    return TypeAdapter(Plan)


def _digest(embedded: Any) -> str:
    text = json.dumps(embedded, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def write_plan_file(plan: Plan, path: str | os.PathLike[str]) -> None:
    """Save `plan` for `apply PLANFILE`, mode 0600: written whole or not at all, and
    durable once this returns (state/files.write_atomically)."""
    target = Path(path)
    embedded = _plan_adapter().dump_python(plan, mode="json")
    document = plan_document(plan)
    document[_EMBEDDED] = {
        "plan_format": PLAN_FORMAT_VERSION,
        "digest": _digest(embedded),
        "plan": embedded,
    }
    data = (json.dumps(document, ensure_ascii=False) + "\n").encode()
    try:
        write_atomically(target, data)
    except OSError as error:
        raise UsageError(f"cannot write the plan file {target}: {error.strerror}") from error
    sweep_temp_files(target)


def read_plan_file(path: str | os.PathLike[str]) -> Plan:
    """A plan saved by `write_plan_file`. Raises UsageError for anything else: a missing,
    unreadable or edited file, or one saved by another plan format."""
    source = Path(path)
    remake = f"make a new one with `infobip-iac plan --out {source}`"
    try:
        text = source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        why = error.strerror if isinstance(error, OSError) else "it is not UTF-8 text"
        raise UsageError(f"cannot read the plan file {source}: {why}") from error
    try:
        document = json.loads(text)
    except ValueError as error:
        raise UsageError(
            f"{source} is not a saved plan: it is not JSON (line {getattr(error, 'lineno', '?')})"
            f"; {remake}"
        ) from error
    section = document.get(_EMBEDDED) if isinstance(document, dict) else None
    if not isinstance(section, dict) or "plan" not in section:
        raise UsageError(
            f"{source} is not a saved plan of infobip-iac (it has no {_EMBEDDED!r} section); "
            f"{remake}"
        )
    if section.get("plan_format") != PLAN_FORMAT_VERSION:
        raise UsageError(
            f"{source} was saved in plan format {section.get('plan_format')!r}, and this "
            f"infobip-iac reads format {PLAN_FORMAT_VERSION}; {remake}"
        )
    if section.get("digest") != _digest(section["plan"]):
        raise UsageError(f"{source} is corrupt or was edited (its digest does not match); {remake}")
    try:
        plan = _plan_adapter().validate_python(section["plan"])
    except ValidationError as error:
        raise UsageError(
            f"{source} holds a plan this infobip-iac cannot read "
            f"({error.error_count()} problem(s), first at "
            f"{'.'.join(str(p) for p in error.errors()[0]['loc'])}); {remake}"
        ) from error
    shown = {key: value for key, value in document.items() if key != _EMBEDDED}
    if shown != json.loads(json.dumps(plan_document(plan))):
        raise UsageError(
            f"{source} was edited: its resource_changes no longer describe the plan it "
            f"holds; {remake}"
        )
    return plan


def holds_a_saved_plan(path: Path) -> bool:
    """Whether the file at `path` is a saved plan by its content, whatever its name."""
    try:
        data = path.read_bytes()
    except OSError:
        return False  # the manifest loader says what is wrong with it
    # A YAML manifest never reaches the JSON parser; one written as a JSON object is
    # parsed, and its fields are not a plan's.
    if not data.lstrip().startswith(b"{"):
        return False
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return False
    return isinstance(document, dict) and any(field in document for field in _SAVED_PLAN_FIELDS)

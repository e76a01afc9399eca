"""State format versions: every older on-disk format is upgraded one step at a time.

A document of version N is passed through `UPGRADES[N]`, then `UPGRADES[N + 1]`, … until it
reaches `STATE_VERSION`. A format change therefore adds one small function here and never
touches the reader; old files keep working forever.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from infobip_iac.errors import StateError
from infobip_iac.state.model import STATE_VERSION

__all__ = ["UPGRADES", "Upgrade", "document_version", "upgrade_document"]

RawDocument = dict[str, Any]
Upgrade = Callable[[RawDocument], RawDocument]


def _v1_to_v2(raw: RawDocument) -> RawDocument:
    """Version 2 records where the state's keys live (`endpoint`, and `accounts`, which is
    derived from the keys) and which manifests applied it (`configuration`). A version-1
    state does not say: both stay unknown until the next write records those of its run."""
    return {**raw, "endpoint": None, "configuration": []}


def _v2_to_v3(raw: RawDocument) -> RawDocument:
    """Version 3 may hold what a version-2 reader does not know: a rotated key's
    predecessor waiting at its deposed address with `revoke_after`, and the day's write
    tally (`writes`). Such a reader would call the file malformed and point to its backup,
    which may not hold the predecessor still to be revoked; seeing version 3, it says a
    newer infobip-iac wrote the state instead. A version-2 state holds neither: unchanged."""
    return raw


# version N -> a function turning a version-N document into a version-(N+1) one.
UPGRADES: dict[int, Upgrade] = {1: _v1_to_v2, 2: _v2_to_v3}


def _not_ours(where: str, found: str) -> StateError:
    return StateError(
        f"{where} is not an infobip-iac state: {found}. Check that --state names "
        "infobip-iac's state (by default .infobip-iac/state.json in the working folder)"
    )


def _ours_in_shape(raw: RawDocument) -> bool:
    """Whether `raw` has the fields every infobip-iac state was written with (SPEC §5), so
    that an unknown version in it can only come from another infobip-iac."""
    return (
        isinstance(raw.get("lineage"), str)
        and isinstance(raw.get("serial"), int)
        and isinstance(raw.get("resources"), dict)
    )


def document_version(raw: RawDocument, *, where: str) -> int:
    """The `version` of a decoded state document, checked to be a whole number."""
    if "terraform_version" in raw:
        raise _not_ours(where, f"Terraform {raw['terraform_version']} wrote it")
    version = raw.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        if not _ours_in_shape(raw):
            raise _not_ours(where, f'it has no valid "version" field (found {version!r})')
        raise StateError(
            f'{where} has no valid "version" field (found {version!r}). Repair the field, or '
            "restore the file from its backup"
        )
    return version


def upgrade_document(
    raw: RawDocument,
    *,
    where: str,
    target: int = STATE_VERSION,
    steps: Mapping[int, Upgrade] = UPGRADES,
) -> RawDocument:
    """Bring `raw` up to version `target`, step by step; refuse a version from the future,
    and a document that is not an infobip-iac state."""
    version = document_version(raw, where=where)
    if version > target:
        if not _ours_in_shape(raw):
            raise _not_ours(
                where,
                f"it has format version {version} but not the lineage, serial and resources of one",
            )
        raise StateError(
            f"{where} has state format version {version}, but this infobip-iac reads "
            f"versions up to {target}: it was written by a newer infobip-iac. "
            "Upgrade infobip-iac to use it (do not edit the file by hand)."
        )
    while version < target:
        step = steps.get(version)
        if step is None:
            raise StateError(
                f"{where} has state format version {version}, which this infobip-iac "
                f"cannot upgrade (it knows upgrades from versions {sorted(steps) or 'none'})."
            )
        raw = step(dict(raw))
        version += 1
        raw["version"] = version
    return raw

"""Reading and writing the state file: version upgrades, atomic writes, and the backup.

Every write keeps the previous file as `<state>.backup` and replaces the state in one
rename, so a crash at any moment leaves a readable state: the old one or the new one.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticSerializationError

from infobip_iac.errors import StateError
from infobip_iac.state.files import (
    ensure_private_dir,
    sweep_temp_files,
    write_atomically,
)
from infobip_iac.state.lock import check_still_held
from infobip_iac.state.model import EMULATOR_ENDPOINT, StateDocument, describe_endpoint
from infobip_iac.state.versions import upgrade_document

__all__ = ["MAX_STATE_BYTES", "StateStore", "backup_path_for", "render_state"]

# Far above any real state (a key is ~1 KB); a bigger file is not ours, so we do not
# let it exhaust memory.
MAX_STATE_BYTES = 64 * 1024 * 1024

# Field names that would mean a secret value reached the state. Compared case- and
# separator-insensitively, so `api_key_secret` is caught as well as `apiKeySecret`.
_SECRET_FIELD_NAMES = frozenset({"apikeysecret", "secretvalue", "clientsecret", "password"})


def backup_path_for(state_path: Path) -> Path:
    return state_path.with_name(state_path.name + ".backup")


class _UnreadableError(Exception):
    """Why a state file's bytes are not a state document (internal; becomes StateError)."""


def _refuse_secrets(value: Any, where: str) -> None:
    if isinstance(value, dict):
        for name, item in value.items():
            squashed = str(name).lower().replace("_", "").replace("-", "")
            if squashed in _SECRET_FIELD_NAMES:
                raise StateError(
                    f'refusing to write {where}: it would contain a field "{name}", and the '
                    "state never holds a secret (this is a bug in infobip-iac; please report it)"
                )
            _refuse_secrets(item, where)
    elif isinstance(value, list):
        for item in value:
            _refuse_secrets(item, where)


def render_state(doc: StateDocument, *, where: str = "the state") -> bytes:
    """The on-disk form of `doc`: indented JSON, resources sorted by address."""
    try:
        payload = doc.model_dump(mode="json")
    except PydanticSerializationError:
        # A value of a type JSON cannot hold, a Secret above all: never written.
        raise StateError(
            f"refusing to write {where}: it holds a value that cannot be stored as JSON "
            "(this is a bug in infobip-iac; please report it)"
        ) from None
    # Written only once a write was tallied, so a state without one reads as it always did.
    writes = payload.pop("writes")
    if writes:
        payload["writes"] = dict(sorted(writes.items()))
    # Resources last (after the derived `accounts`), sorted by address.
    payload["resources"] = dict(sorted(payload.pop("resources").items()))
    for entry in payload["resources"].values():
        # Only a rotated key's predecessor has one: other entries keep their form.
        if entry.get("revoke_after", 0) is None:
            del entry["revoke_after"]
    _refuse_secrets(payload, where)
    return (json.dumps(payload, indent=2, ensure_ascii=False) + "\n").encode()


def _decode(data: bytes, *, where: str) -> StateDocument:
    """Bytes -> document, raising _UnreadableError with a short reason; upgrades old versions
    (a version it cannot read, or a file of another tool, raise StateError about `where`)."""
    if not data.strip():
        raise _UnreadableError("the file is empty")
    try:
        raw = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise _UnreadableError("the file is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise _UnreadableError(
            f"not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    except RecursionError:
        raise _UnreadableError("the JSON is nested too deeply") from None
    if not isinstance(raw, dict):
        raise _UnreadableError("the JSON is not an object")
    raw = upgrade_document(raw, where=where)
    try:
        return StateDocument.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or '(top)'}: {item['msg']}"
            for item in error.errors()[:5]
        )
        raise _UnreadableError(f"it does not match the state format ({problems})") from None


class StateStore:
    """The state file at `path` (SPEC §5). Not locked by itself: commands that change the
    state hold `state.lock.locked(...)` around their read and writes.

    `endpoint` is where the run using it reaches Infobip (a normalised base URL, or
    EMULATOR_ENDPOINT). Given, a state that records another endpoint is refused on read,
    and every write records it; None (the `state` commands, which reach nothing) leaves
    the recorded endpoint as it is."""

    def __init__(self, path: Path, *, endpoint: str | None = None) -> None:
        self.path = path
        self.endpoint = endpoint

    @property
    def backup_path(self) -> Path:
        return backup_path_for(self.path)

    def exists(self) -> bool:
        return self.path.exists()

    def read(self) -> StateDocument:
        """The current state; a new empty document (fresh lineage, serial 0) when there is
        no file yet. An unreadable file raises StateError saying how to restore the backup."""
        data = self._read_bytes(self.path)
        if data is None:
            return StateDocument()
        doc = self._decode_or_explain(data)
        self._check_endpoint(doc)
        return doc

    def _check_endpoint(self, doc: StateDocument) -> None:
        # A state without keys holds nothing another endpoint could orphan: it is taken
        # over by the next write, as a state of version 1 (no endpoint recorded) is.
        if self.endpoint is None or doc.endpoint in (None, self.endpoint) or not doc.resources:
            return
        assert doc.endpoint is not None
        accounts = doc.accounts
        of = (
            f" (account{'s' if len(accounts) > 1 else ''} {', '.join(accounts)})"
            if accounts
            else ""
        )
        raise StateError(
            f"the state file {self.path} holds {len(doc.resources)} key(s) at "
            f"{describe_endpoint(doc.endpoint)}{of}, but this run is against "
            f"{describe_endpoint(self.endpoint)}. A state belongs to one endpoint; nothing "
            "was read or written. Run against the state's endpoint, or give this endpoint "
            f"a state of its own with --state FILE{self._rebind_hint(doc.endpoint)}"
        )

    def _rebind_hint(self, recorded: str) -> str:
        if EMULATOR_ENDPOINT in (recorded, self.endpoint):
            return "."
        # The same account can be reached under a new base URL: then the state is right
        # and only its record of the endpoint is old.
        return (
            ". If it is the same Infobip account under a new base URL, record that with "
            f"`infobip-iac state set-endpoint --state {shlex.quote(str(self.path))}`."
        )

    def write(self, doc: StateDocument) -> StateDocument:
        """Store `doc` with serial + 1 and return what was stored.

        The previous file is first copied to `<state>.backup`. Refused when the file on disk
        belongs to another lineage or has moved past `doc.serial` (someone wrote in between),
        so always pass the document the previous write returned. Refused too when this
        process held the state's lock and its files were removed or replaced since
        (StateLockLostError): another run may be writing.
        """
        check_still_held(self.path)
        current = self._read_bytes(self.path)
        if current is not None:
            on_disk = self._decode_or_explain(current)
            if on_disk.lineage != doc.lineage:
                raise StateError(
                    f"refusing to overwrite {self.path}: it holds a different state "
                    f"(lineage {on_disk.lineage}, not {doc.lineage}). Use another --state "
                    "path, or move the existing file away if it is truly obsolete."
                )
            if on_disk.serial > doc.serial:
                raise StateError(
                    f"refusing to overwrite {self.path}: it was changed by another run since "
                    f"it was read (serial {on_disk.serial} on disk, {doc.serial} read). "
                    "Run the command again."
                )
        stored = doc.model_copy(
            update={"serial": doc.serial + 1, "endpoint": self.endpoint or doc.endpoint}
        )
        data = render_state(stored, where=str(self.path))
        try:
            ensure_private_dir(self.path.parent)
            if current is not None:
                write_atomically(self.backup_path, current)
            write_atomically(self.path, data)
        except OSError as error:
            raise StateError(f"cannot write the state file {self.path}: {error.strerror}") from None
        sweep_temp_files(self.path)
        sweep_temp_files(self.backup_path)
        return stored

    def _read_bytes(self, path: Path) -> bytes | None:
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_STATE_BYTES + 1)
        except FileNotFoundError:
            return None
        except IsADirectoryError:
            raise StateError(f"the state path {path} is a folder; pass a file to --state") from None
        except OSError as error:
            raise StateError(f"cannot read the state file {path}: {error.strerror}") from None
        if len(data) > MAX_STATE_BYTES:
            raise StateError(
                f"the state file {path} is larger than {MAX_STATE_BYTES // (1024 * 1024)} MB, "
                "far beyond any real state; check that --state points at the right file"
            )
        return data

    def _decode_or_explain(self, data: bytes) -> StateDocument:
        try:
            return _decode(data, where=f"the state file {self.path}")
        except _UnreadableError as reason:
            raise StateError(self._unreadable_message(str(reason))) from None

    def _unreadable_message(self, reason: str) -> str:
        state, backup = shlex.quote(str(self.path)), shlex.quote(str(self.backup_path))
        message = f"the state file {self.path} is unreadable: {reason}."
        try:
            backup_data = self._read_bytes(self.backup_path)
            backup_doc = (
                _decode(backup_data, where=str(self.backup_path))
                if backup_data is not None
                else None
            )
        except (StateError, _UnreadableError):
            backup_data, backup_doc = b"", None
        if backup_doc is not None:
            return (
                f"{message}\nThe copy from before the last write (serial {backup_doc.serial}) is "
                f"in {self.backup_path}. To restore it, run:\n    cp {backup} {state}\n"
                "then run plan: keys created by the last write are found again by name."
            )
        missing = "does not exist" if backup_data is None else "is unreadable too"
        return (
            f"{message}\nIts backup {self.backup_path} {missing}. Repair the file, or move it "
            f"aside (mv {state} {state}.broken) to start from an empty state: the next plan "
            "then adopts the existing keys by name."
        )

"""Reading and writing the state file: version upgrades, atomic writes, and the backup.

Every write keeps the previous file as `<state>.backup` and replaces the state in one
rename, so a crash at any moment leaves a readable state: the old one or the new one.

A change between full writes (apply's step after each create) is appended to
`<state>.changes` instead, one fsynced JSON line per changed entry, so that its cost does
not grow with the state. Each line names the version it applies to (lineage and serial);
a read replays the lines of the current version, and the next full write folds them in
and removes the file. A line of an older version (a crash between the rename and the
removal) is ignored: the version after it holds it already.
"""

from __future__ import annotations

import contextlib
import json
import shlex
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticSerializationError

from infobip_iac.errors import StateError
from infobip_iac.state.files import (
    append_durably,
    ensure_private_dir,
    sweep_temp_files,
    write_atomically,
)
from infobip_iac.state.journal import CreateJournal
from infobip_iac.state.lock import check_still_held
from infobip_iac.state.model import (
    EMULATOR_ENDPOINT,
    ResourceState,
    StateDocument,
    VersionInfo,
    describe_endpoint,
)
from infobip_iac.state.versions import upgrade_document

__all__ = [
    "MAX_STATE_BYTES",
    "StateStore",
    "apply_changes",
    "backup_path_for",
    "changes_path_for",
    "check_endpoint",
    "check_push",
    "decode_state",
    "document_fields",
    "render_entry",
    "render_state",
]

# Far above any real state (a key is ~1 KB); a bigger file is not ours, so we do not
# let it exhaust memory.
MAX_STATE_BYTES = 64 * 1024 * 1024

# Field names that would mean a secret value reached the state. Compared case- and
# separator-insensitively, so `api_key_secret` is caught as well as `apiKeySecret`.
_SECRET_FIELD_NAMES = frozenset({"apikeysecret", "secretvalue", "clientsecret", "password"})


def backup_path_for(state_path: Path) -> Path:
    return state_path.with_name(state_path.name + ".backup")


def changes_path_for(state_path: Path) -> Path:
    return state_path.with_name(state_path.name + ".changes")


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


def render_entry(entry: ResourceState | None, *, where: str = "the state") -> Any:
    """One entry's stored JSON form (None for a removed one), checked like a whole state."""
    if entry is None:
        return None
    try:
        payload = entry.model_dump(mode="json")
    except PydanticSerializationError:
        raise StateError(
            f"refusing to write {where}: it holds a value that cannot be stored as JSON "
            "(this is a bug in infobip-iac; please report it)"
        ) from None
    _refuse_secrets(payload, where)
    return payload


# What a recorded change carries besides entries: the document's own fields (the endpoint,
# the configuration, the day's write tally), small whatever the size of the state.
_NOT_RECORDED = frozenset({"version", "lineage", "serial", "resources", "accounts"})


def document_fields(doc: StateDocument, *, endpoint: str | None = None) -> dict[str, Any]:
    """The fields of `doc` a recorded change carries (JSON), with `endpoint` when given."""
    fields = doc.model_dump(mode="json", exclude=set(_NOT_RECORDED))
    fields.pop("accounts", None)  # derived, and dumped by pydantic whatever exclude says
    if endpoint is not None:
        fields["endpoint"] = endpoint
    _refuse_secrets(fields, "the state")
    return fields


def apply_changes(doc: StateDocument, changes: Iterable[tuple[str | None, Any]]) -> StateDocument:
    """`doc` with recorded changes replayed, in order: (address, entry JSON or None for a
    removed one), or (None, the document's fields). The serial is the one the next full
    write folds them into."""
    replayed = False
    for address, entry in changes:
        replayed = True
        if address is None:
            fields = StateDocument.model_validate({"lineage": doc.lineage, **entry})
            for name in entry:
                if name not in _NOT_RECORDED and name in StateDocument.model_fields:
                    setattr(doc, name, getattr(fields, name))
        elif entry is None:
            doc.resources.pop(address, None)
        else:
            doc.resources[address] = ResourceState.model_validate(entry)
    if replayed:
        doc.serial += 1
    return doc


def check_endpoint(doc: StateDocument, endpoint: str | None, *, where: str, hint: str) -> None:
    """Refuse a state that records another endpoint than the run's (`endpoint`; None for
    the `state` commands, which reach nothing). `hint` names how to re-point a state."""
    # A state without keys holds nothing another endpoint could orphan: it is taken
    # over by the next write, as a state of version 1 (no endpoint recorded) is.
    if endpoint is None or doc.endpoint in (None, endpoint) or not doc.resources:
        return
    assert doc.endpoint is not None
    accounts = doc.accounts
    of = f" (account{'s' if len(accounts) > 1 else ''} {', '.join(accounts)})" if accounts else ""
    rebind = (
        "."
        if EMULATOR_ENDPOINT in (doc.endpoint, endpoint)
        # The same account can be reached under a new base URL: then the state is right
        # and only its record of the endpoint is old.
        else (
            ". If it is the same Infobip account under a new base URL, record that with "
            f"`infobip-iac state set-endpoint --state {hint}`."
        )
    )
    raise StateError(
        f"the state {where} holds {len(doc.resources)} key(s) at "
        f"{describe_endpoint(doc.endpoint)}{of}, but this run is against "
        f"{describe_endpoint(endpoint)}. A state belongs to one endpoint; nothing "
        "was read or written. Run against the state's endpoint, or give this endpoint "
        f"a state of its own with --state FILE{rebind}"
    )


def check_push(doc: StateDocument, *, lineage: str, serial: int, where: str) -> None:
    """Refuse to push `doc` over a state at `lineage` and `serial` (its serial counting
    changes not yet folded in): a push replaces only an older version of the same state."""
    if lineage != doc.lineage:
        raise StateError(
            f"refusing to push to {where}: it holds another state (lineage "
            f"{lineage}, not {doc.lineage})"
        )
    if serial >= doc.serial:
        raise StateError(
            f"refusing to push serial {doc.serial} to {where}: it is at serial "
            f"{serial} already; pull it, and push a version with a higher serial"
        )


def decode_state(data: bytes, *, where: str) -> StateDocument:
    """A stored state's bytes as a document; StateError names `where` and why not."""
    try:
        return _decode(data, where=where)
    except _UnreadableError as reason:
        raise StateError(f"{where} is unreadable: {reason}") from None


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
    state hold the lock of its backend around their read and writes.

    `endpoint` is where the run using it reaches Infobip (a normalised base URL, or
    EMULATOR_ENDPOINT). Given, a state that records another endpoint is refused on read,
    and every write records it; None (the `state` commands, which reach nothing) leaves
    the recorded endpoint as it is."""

    def __init__(self, path: Path, *, endpoint: str | None = None) -> None:
        self.path = path
        self.endpoint = endpoint
        # (lineage, serial) of the file on disk, by its identity (inode, size, mtime): a
        # recorded change checks the version it applies to without reading the whole file.
        self._seen: tuple[tuple[int, int, int], str, int] | None = None

    @property
    def where(self) -> str:
        return str(self.path)

    @property
    def journal(self) -> CreateJournal:
        return CreateJournal(self.path)

    @property
    def backup_path(self) -> Path:
        return backup_path_for(self.path)

    @property
    def changes_path(self) -> Path:
        return changes_path_for(self.path)

    def exists(self) -> bool:
        return self.path.exists() or self.changes_path.exists()

    def read(self) -> StateDocument:
        """The current state; a new empty document (fresh lineage, serial 0) when there is
        no file yet. An unreadable file raises StateError saying how to restore the backup."""
        data = self._read_bytes(self.path)
        base = StateDocument() if data is None else self._decode_or_explain(data)
        if data is not None:
            self._remember(base)
        changes = self._changes_of(base if data is not None else None)
        if data is None and changes:
            base.lineage = changes[0][0]
        doc = apply_changes(base, ((address, entry) for _, address, entry in changes))
        check_endpoint(doc, self.endpoint, where=str(self.path), hint=shlex.quote(str(self.path)))
        return doc

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
        on_disk = None if current is None else self._decode_or_explain(current)
        changes = self._changes_of(on_disk)
        if on_disk is not None:
            self._check_follows(doc, on_disk.lineage, on_disk.serial + (1 if changes else 0))
        elif changes:
            self._check_follows(doc, changes[0][0], 1)
        stored = doc.model_copy(
            update={"serial": doc.serial + 1, "endpoint": self.endpoint or doc.endpoint}
        )
        self._store_full(stored, current)
        return stored

    def check_lock(self) -> None:
        check_still_held(self.path)

    def record(self, doc: StateDocument, addresses: Iterable[str]) -> StateDocument:
        """Append the entries of `addresses` as `doc` has them, and the document's own
        fields (see the module docstring); returns `doc` with the serial a read now shows."""
        check_still_held(self.path)
        lineage, serial = self._version_on_disk(doc)
        fields = document_fields(doc, endpoint=self.endpoint or doc.endpoint)
        lines = [
            json.dumps(
                {"lineage": lineage, "serial": serial, "address": None, "entry": fields},
                ensure_ascii=False,
                separators=(",", ":"),
            )
            + "\n"
        ]
        for address in dict.fromkeys(addresses):
            entry = render_entry(doc.resources.get(address), where=str(self.path))
            body = {"lineage": lineage, "serial": serial, "address": address, "entry": entry}
            lines.append(json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n")
        try:
            ensure_private_dir(self.path.parent)
            append_durably(self.changes_path, "".join(lines).encode())
        except OSError as error:
            raise StateError(
                f"cannot write the state's change log {self.changes_path}: {error.strerror}"
            ) from None
        return doc.model_copy(
            update={
                "serial": serial + 1,
                "lineage": lineage,
                "endpoint": self.endpoint or doc.endpoint,
            }
        )

    def history(self) -> list[VersionInfo]:
        """The versions a state file keeps: its backup and itself (a file keeps no more;
        the database backend keeps every one)."""
        versions = []
        for path in (self.backup_path, self.path):
            data = self._read_bytes(path)
            if data is None:
                continue
            try:
                doc = _decode(data, where=str(path))
            except _UnreadableError:
                continue
            created = datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(microsecond=0)
            versions.append(
                VersionInfo(
                    serial=doc.serial,
                    lineage=doc.lineage,
                    created=created,
                    who="(not recorded in a state file)",
                    summary=f"{len(doc.resources)} resources ({path.name})",
                )
            )
        return versions

    def version(self, serial: int) -> StateDocument:
        current = self.read()
        if current.serial == serial:
            return current
        data = self._read_bytes(self.backup_path)
        if data is not None:
            with contextlib.suppress(_UnreadableError):
                backup = _decode(data, where=str(self.backup_path))
                if backup.serial == serial:
                    return backup
        raise StateError(
            f"the state {self.path} does not keep version {serial}: a state file keeps only "
            f"the current version ({current.serial}) and the one before it, in its backup"
        )

    def push(self, doc: StateDocument) -> StateDocument:
        check_still_held(self.path)
        current = self._read_bytes(self.path)
        on_disk = None if current is None else self._decode_or_explain(current)
        changes = self._changes_of(on_disk)
        if on_disk is not None or changes:
            lineage = on_disk.lineage if on_disk is not None else changes[0][0]
            serial = (on_disk.serial if on_disk is not None else 0) + (1 if changes else 0)
            check_push(doc, lineage=lineage, serial=serial, where=str(self.path))
        self._store_full(doc, current)
        return doc

    # -- internals -----------------------------------------------------------------------

    def _check_follows(self, doc: StateDocument, lineage: str, serial: int) -> None:
        if lineage != doc.lineage:
            raise StateError(
                f"refusing to overwrite {self.path}: it holds a different state "
                f"(lineage {lineage}, not {doc.lineage}). Use another --state "
                "path, or move the existing file away if it is truly obsolete."
            )
        if serial > doc.serial:
            raise StateError(
                f"refusing to overwrite {self.path}: it was changed by another run since "
                f"it was read (serial {serial} on disk, {doc.serial} read). "
                "Run the command again."
            )

    def _store_full(self, stored: StateDocument, current: bytes | None) -> None:
        data = render_state(stored, where=str(self.path))
        try:
            ensure_private_dir(self.path.parent)
            if current is not None:
                write_atomically(self.backup_path, current)
            write_atomically(self.path, data)
            # After the rename: the lines left name the version before, and are ignored.
            self.changes_path.unlink(missing_ok=True)
        except OSError as error:
            raise StateError(f"cannot write the state file {self.path}: {error.strerror}") from None
        self._remember(stored)
        sweep_temp_files(self.path)
        sweep_temp_files(self.backup_path)

    def _identity(self) -> tuple[int, int, int] | None:
        try:
            found = self.path.stat()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise StateError(f"cannot read the state file {self.path}: {error.strerror}") from None
        return (found.st_ino, found.st_size, found.st_mtime_ns)

    def _remember(self, doc: StateDocument) -> None:
        identity = self._identity()
        self._seen = None if identity is None else (identity, doc.lineage, doc.serial)

    def _version_on_disk(self, doc: StateDocument) -> tuple[str, int]:
        """(lineage, serial) of the file a change is recorded against, checked against
        `doc` as a full write would check it."""
        identity = self._identity()
        if identity is None:
            lineage, serial = doc.lineage, 0
            changes = self._changes_of(None)
            if changes:
                lineage = changes[0][0]
        else:
            if self._seen is None or self._seen[0] != identity:
                data = self._read_bytes(self.path)
                if data is not None:
                    self._remember(self._decode_or_explain(data))
            assert self._seen is not None  # _remember just set it
            _, lineage, serial = self._seen
            changes = self._changes_of_version(lineage, serial)
        self._check_follows(doc, lineage, serial + (1 if changes else 0))
        return lineage, serial

    def _changes_of(self, base: StateDocument | None) -> list[tuple[str, str | None, Any]]:
        if base is None:
            return self._changes_of_version(None, 0)
        return self._changes_of_version(base.lineage, base.serial)

    def _changes_of_version(
        self, lineage: str | None, serial: int
    ) -> list[tuple[str, str | None, Any]]:
        """(lineage, address, entry) of the recorded changes to version `serial` (of
        `lineage`, or of any when no state file exists yet)."""
        data = self._read_bytes(self.changes_path)
        if not data:
            return []
        lines = data.split(b"\n")
        found: list[tuple[str, str | None, Any]] = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                body = json.loads(line)
                version = (str(body["lineage"]), int(body["serial"]))
                address = None if body["address"] is None else str(body["address"])
                change = (version[0], address, body["entry"])
            except (ValueError, KeyError, TypeError):
                if number == len(lines):
                    break  # the last line of a writer killed while appending it
                raise StateError(
                    f"the state's change log {self.changes_path} is unreadable at line "
                    f"{number}. Move it aside to read the state as last written in full: "
                    f"mv {shlex.quote(str(self.changes_path))} "
                    f"{shlex.quote(str(self.changes_path) + '.broken')}"
                ) from None
            if version[1] == serial and (lineage is None or version[0] == lineage):
                found.append(change)
        return found

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

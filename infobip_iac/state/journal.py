"""The create journal: creates sent to Infobip that the state may not hold yet.

Infobip's create has no idempotency key. A create that lands while the process dies (a
SIGKILL, a lost CI runner) before the state is written leaves an enabled key that no state
knows and whose secret nobody holds; the next plan would adopt it by name (and its secret
would be lost silently) or, for a replace, leave it beside the key that replaced it.

So apply writes an entry to `<state>.creating` before it sends a create, and removes it
once the state records the new key. An entry found by a later run marks a create that may
have landed unrecorded (see `engine.recovery`). The journal lives beside the state rather
than in it so that the state's format stays as it is; the order of the writes (entry, then
create, then state, then removal) keeps the two consistent whenever the process stops.

A create that got no answer, was not found by name, and was therefore sent again, keeps its
own entry (`unanswered`) after the second one lands: the server may still commit it, and
only a later read settles whether it made a second key.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast, get_args

from infobip_iac.domain.keys import LiveKey, SinkKind
from infobip_iac.errors import StateError
from infobip_iac.state.files import ensure_private_dir, write_atomically
from infobip_iac.state.lock import check_still_held
from infobip_iac.state.model import ResourceState, SecretRecord

__all__ = ["CreateJournal", "Journal", "PendingCreate", "journal_path_for"]

_FORMAT_VERSION = 1
_MAX_BYTES = 4 * 1024 * 1024

# Infobip's clock as the client knows it has one-second resolution (the Date header).
_CLOCK_SLACK = timedelta(seconds=2)


def journal_path_for(state_path: Path) -> Path:
    return state_path.with_name(state_path.name + ".creating")


@dataclass(frozen=True)
class PendingCreate:
    """One create about to be sent. `sent_at` is Infobip's clock just before it; a key the
    create made has a `validFrom` no earlier, unless the create set `validFrom` itself
    (`valid_from_given`).

    `unanswered`: the create got no answer and was sent once more; the state holds the key
    of the later attempt, not of this one. `lineage`: the state the create was made for,
    so that a state first written by recovery (when the apply died before writing any)
    gets the lineage a plan previewing that recovery shows."""

    address: str
    account: str
    name: str
    sink: str
    sent_at: datetime
    valid_from_given: bool
    unanswered: bool = False
    lineage: str | None = None

    def may_have_made(self, key: LiveKey) -> bool:
        """Whether `key` (of this create's name) can be this create's: a disabled one is
        no threat, and one valid from before the create was sent existed already (someone
        else's key, or an older one of ours)."""
        return self.may_have_made_one(enabled=key.enabled, valid_from=key.valid_from)

    def may_have_made_one(self, *, enabled: bool, valid_from: datetime | None) -> bool:
        """`may_have_made` of a key known by these attributes only (a plan's)."""
        if not enabled:
            return False
        if self.valid_from_given or valid_from is None:
            return True
        return valid_from >= self.sent_at - _CLOCK_SLACK

    def lost_secret(self) -> SecretRecord:
        """The secret record of a key this create made that no state recorded: the secret
        is lost, since nobody holds it."""
        sink = cast(SinkKind, self.sink) if self.sink in get_args(SinkKind) else "none"
        cause = (
            "created by a create whose answer was lost, and which was sent again"
            if self.unanswered
            else "created by an apply that was interrupted before it recorded the key"
        )
        return SecretRecord(sink=sink, status="lost", detail=cause)

    def orphan_entry(self, key: LiveKey) -> ResourceState:
        """The state entry of `key`, a key this create made that no state recorded."""
        return ResourceState.of_live_key(key, account=self.account, secret=self.lost_secret())

    def to_json(self) -> dict[str, object]:
        body = asdict(self)
        body["sent_at"] = self.sent_at.isoformat()
        return body

    @classmethod
    def from_json(cls, body: object) -> PendingCreate:
        if not isinstance(body, dict):
            raise ValueError("an entry is not a JSON object")
        try:
            return cls(
                address=str(body["address"]),
                account=str(body["account"]),
                name=str(body["name"]),
                sink=str(body["sink"]),
                sent_at=datetime.fromisoformat(str(body["sent_at"])),
                valid_from_given=bool(body["valid_from_given"]),
                # Absent from journals written before these fields existed.
                unanswered=bool(body.get("unanswered", False)),
                lineage=None if body.get("lineage") is None else str(body["lineage"]),
            )
        except KeyError as missing:
            raise ValueError(f"an entry has no {missing}") from None


class Journal:
    """The journal of one state: what it does with its entries. Where they are kept is the
    backend's (`_load`, `_store`): a file beside the state, or a database row. Used under
    the state lock only."""

    def pending(self) -> list[PendingCreate]:
        """The creates begun and not ended, oldest first; [] when there is no journal."""
        return self._load()

    def begin(self, entry: PendingCreate) -> None:
        """Record a create about to be sent (durably, before it is sent)."""
        entries = [e for e in self.pending() if not _current(e, entry.address)]
        self._store([*entries, entry])

    def mark_unanswered(self, entry: PendingCreate) -> PendingCreate:
        """`entry` got no answer and is about to be sent again: keep it, marked, beside the
        entry of the next attempt. Returns the entry as now stored."""
        marked = replace(entry, unanswered=True)
        entries = [e for e in self.pending() if e != entry]
        self._store([*entries, marked])
        return marked

    def end(self, address: str) -> None:
        """The state now holds the outcome of the create of `address`. Earlier attempts
        that went unanswered stay until a read settles them (`settle`)."""
        entries = self.pending()
        kept = [e for e in entries if not _current(e, address)]
        if len(kept) != len(entries):
            self._store(kept)

    def settle(self, entry: PendingCreate) -> None:
        """A read showed what became of `entry` (and the state records it, if anything)."""
        entries = self.pending()
        kept = [e for e in entries if e != entry]
        if len(kept) != len(entries):
            self._store(kept)

    def clear(self) -> None:
        self._store([])

    def keep_unsettled(self, entries: list[PendingCreate]) -> list[PendingCreate]:
        """Only `entries` stay, each marked `unanswered`: creates a read has not settled
        yet, which may still land beside whatever this run records at their address.
        Returns the entries as now stored."""
        kept = [replace(entry, unanswered=True) for entry in entries]
        self._store(kept)
        return kept

    def _load(self) -> list[PendingCreate]:
        raise NotImplementedError

    def _store(self, entries: list[PendingCreate]) -> None:
        raise NotImplementedError


def encode_entries(entries: list[PendingCreate]) -> str:
    """The journal's stored form (the same in a file and in a database)."""
    body = {"version": _FORMAT_VERSION, "creates": [e.to_json() for e in entries]}
    return json.dumps(body, indent=2) + "\n"


def decode_entries(data: bytes) -> list[PendingCreate]:
    """The entries of a stored journal; ValueError (or UnicodeDecodeError) says why not."""
    if len(data) > _MAX_BYTES:
        raise ValueError("it is far too large")
    document = json.loads(data.decode("utf-8"))
    if not isinstance(document, dict) or document.get("version") != _FORMAT_VERSION:
        raise ValueError("it is not a create journal of this version")
    entries = document.get("creates")
    if not isinstance(entries, list):
        raise ValueError('it has no "creates" list')
    return [PendingCreate.from_json(entry) for entry in entries]


class CreateJournal(Journal):
    """The journal of the state file at `state_path`: `<state>.creating` beside it."""

    def __init__(self, state_path: Path) -> None:
        self.path = journal_path_for(state_path)
        self._state_path = state_path

    def _load(self) -> list[PendingCreate]:
        try:
            with self.path.open("rb") as handle:
                data = handle.read(_MAX_BYTES + 1)
        except FileNotFoundError:
            return []
        except OSError as error:
            raise StateError(f"cannot read {self.path}: {error.strerror}") from None
        try:
            return decode_entries(data)
        except (ValueError, UnicodeDecodeError) as error:
            raise StateError(
                f"the create journal {self.path} is unreadable ({error}). It lists creates an "
                "interrupted apply may have made; look for enabled keys no state manages "
                f"(plan reports them), then remove it: rm {shlex.quote(str(self.path))}"
            ) from None

    def _store(self, entries: list[PendingCreate]) -> None:
        # Written under the state lock only, and never once that lock was lost.
        check_still_held(self._state_path)
        try:
            if not entries:
                self.path.unlink(missing_ok=True)
                return
            ensure_private_dir(self.path.parent)
            write_atomically(self.path, encode_entries(entries).encode())
        except OSError as error:
            raise StateError(f"cannot write {self.path}: {error.strerror}") from None


def _current(entry: PendingCreate, address: str) -> bool:
    """The entry of the create of `address` now under way (not an earlier unanswered one)."""
    return entry.address == address and not entry.unanswered

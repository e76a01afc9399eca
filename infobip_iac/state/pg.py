"""The PostgreSQL backend: a state that CI runners on different machines share.

`--state postgresql://USER@HOST:PORT/DB?name=NAME&schema=SCHEMA`: `name` (default `default`)
picks the state, so one database serves many repositories; `schema` (default
`infobip_iac`) holds the tables. Both are the tool's own parameters and are taken out of
the URL; the rest goes to libpq as it is, so PGPASSWORD, .pgpass, sslmode= and the like work
as usual. A password is never shown: messages name the state by `shown_location`.

Tables, created on first use under a transaction-level advisory lock (two runners starting
at once on an empty database would otherwise race on CREATE):

- `states`: the current pointer, (name, lineage, serial);
- `versions`: every full version ever written, with when, who and a one-line summary;
- `changes`: the small writes between two full versions (apply's step after each create),
  replayed by a read and folded into the next version (see `state.store`);
- `locks`: who holds the lock of a state, for messages and force-unlock;
- `journals`: the create journal of each state.

A write is one transaction: compare-and-swap on the current serial (the pointer row is
locked FOR UPDATE), then the new version and the pointer. The lock is a session advisory
lock on a dedicated connection, its key a hash of schema and name (Terraform's pg backend
once used one constant for every schema: hashicorp/terraform#33217). It lives exactly as
long as the holder's connection: a holder killed with SIGKILL loses it when its
connection drops, and the next runner goes ahead (and recovers the journal). For the same
reason it must never go through a transaction-mode pooler. Every write made under the
lock checks, in its own transaction, that the lock's session still holds it; one whose
session was terminated stops before writing anything more.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from infobip_iac.errors import StateError, StateLockedError, StateLockLostError, UsageError
from infobip_iac.logs import get_logger
from infobip_iac.state.journal import Journal, PendingCreate, decode_entries, encode_entries
from infobip_iac.state.lock import LockInfo
from infobip_iac.state.model import StateDocument, VersionInfo
from infobip_iac.state.store import (
    apply_changes,
    check_endpoint,
    check_push,
    decode_state,
    document_fields,
    render_entry,
    render_state,
)

__all__ = ["DEFAULT_NAME", "DEFAULT_SCHEMA", "PostgresBackend", "PostgresLocation"]

DEFAULT_NAME = "default"
DEFAULT_SCHEMA = "infobip_iac"
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_MAX_NAME = 200

_log = get_logger(__name__)


def _int64(text: str) -> int:
    """A signed 64-bit advisory lock key from `text`."""
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresLocation:
    """A `--state` URL taken apart: what libpq gets, and what the tool keeps."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        own = {key: value for key, value in query if key in ("name", "schema")}
        self.name = own.get("name", DEFAULT_NAME)
        self.schema = own.get("schema", DEFAULT_SCHEMA)
        self._passwords = [p for p in (parts.password, os.environ.get("PGPASSWORD")) if p]
        self._passwords += [value for key, value in query if key == "password" and value]
        host = parts.hostname or ""
        user = f"{quote(parts.username or '', safe='')}@" if parts.username else ""
        port = f":{parts.port}" if parts.port else ""
        shown_query = urlencode(
            [("name", self.name)]
            + ([("schema", self.schema)] if self.schema != DEFAULT_SCHEMA else [])
        )
        host_shown = f"[{host}]" if ":" in host else host
        netloc = f"{user}{host_shown}{port}"
        self.shown = urlunsplit((parts.scheme, netloc, parts.path, shown_query, ""))
        if not self.name or len(self.name) > _MAX_NAME:
            raise UsageError(
                f"the state URL {self.shown} has an empty or too long name= (at most "
                f"{_MAX_NAME} characters); name the state, e.g. ?name=payments"
            )
        if not _SCHEMA_NAME.fullmatch(self.schema):
            raise UsageError(
                f"the state URL {self.shown} has schema={self.schema!r}; a schema is "
                "lowercase letters, digits and _ (at most 63), not starting with a digit"
            )
        rest = [(key, value) for key, value in query if key not in ("name", "schema")]
        self.dsn = urlunsplit(
            (parts.scheme, parts.netloc, parts.path, urlencode(rest), parts.fragment)
        )
        self.lock_key = _int64(f"infobip-iac state lock\0{self.schema}\0{self.name}")
        self.ddl_key = _int64(f"infobip-iac tables\0{self.schema}")

    def hide_passwords(self, text: str) -> str:
        for password in self._passwords:
            text = text.replace(password, "***")
        return text

    def error(self, doing: str, error: psycopg.Error) -> StateError:
        reason = self.hide_passwords(str(error).strip().splitlines()[0] if str(error) else "")
        why = reason or type(error).__name__
        return StateError(f"cannot {doing} the state {self.shown}: {why}")


class _Database:
    """The data connection of one backend, and the tables (created on first use)."""

    def __init__(self, location: PostgresLocation) -> None:
        self.location = location
        self._conn: psycopg.Connection[Any] | None = None

    def connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(
                self.location.dsn, autocommit=True, application_name="infobip-iac"
            )
        except psycopg.Error as error:
            raise self.location.error("connect to", error) from None

    @property
    def conn(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = self.connect()
            self._create_tables(self._conn)
        return self._conn

    def q(self, text: str) -> sql.Composed:
        """`text` with {s} as the schema's quoted name."""
        return sql.SQL(text).format(s=sql.Identifier(self.location.schema))

    def _create_tables(self, conn: psycopg.Connection[Any]) -> None:
        statements = [
            "CREATE SCHEMA IF NOT EXISTS {s}",
            "CREATE TABLE IF NOT EXISTS {s}.states (name text PRIMARY KEY, "
            "lineage text NOT NULL, serial bigint NOT NULL)",
            "CREATE TABLE IF NOT EXISTS {s}.versions (name text NOT NULL, serial bigint NOT "
            "NULL, lineage text NOT NULL, created timestamptz NOT NULL DEFAULT now(), who "
            "text NOT NULL, summary text NOT NULL, document text NOT NULL, "
            "PRIMARY KEY (name, serial))",
            # address NULL: the document's own fields (endpoint, configuration, tally).
            "CREATE TABLE IF NOT EXISTS {s}.changes (name text NOT NULL, seq bigserial, "
            "lineage text NOT NULL, serial bigint NOT NULL, address text, entry jsonb, "
            "PRIMARY KEY (name, seq))",
            "CREATE TABLE IF NOT EXISTS {s}.locks (name text PRIMARY KEY, id text NOT NULL, "
            "who text NOT NULL, operation text NOT NULL, created timestamptz NOT NULL, pid "
            "integer NOT NULL, host text NOT NULL, backend_pid integer NOT NULL)",
            "CREATE TABLE IF NOT EXISTS {s}.journals (name text PRIMARY KEY, body text NOT NULL)",
        ]
        try:
            exists = conn.execute(
                "SELECT to_regclass(%s) IS NOT NULL",
                (f'"{self.location.schema}".journals',),
            ).fetchone()
            if exists and exists[0]:
                return
            with conn.transaction():
                # Two runners on a new database: the second waits here, then finds them.
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (self.location.ddl_key,))
                for statement in statements:
                    conn.execute(self.q(statement))
        except psycopg.Error as error:
            raise self.location.error("create the tables of", error) from None

    @contextmanager
    def transaction(self, doing: str) -> Iterator[psycopg.Connection[Any]]:
        conn = self.conn
        try:
            with conn.transaction():
                yield conn
        except psycopg.errors.UniqueViolation:
            raise StateError(
                f"refusing to write the state {self.location.shown}: another run wrote it "
                "at the same moment. Run the command again."
            ) from None
        except psycopg.Error as error:
            raise self.location.error(doing, error) from None

    def close(self) -> None:
        if self._conn is not None:
            with suppress(psycopg.Error):
                self._conn.close()
            self._conn = None


class PostgresLock:
    """The session advisory lock of one state, and its row in `locks`."""

    def __init__(self, db: _Database) -> None:
        self.db = db
        self.location = db.location
        self._conn: psycopg.Connection[Any] | None = None
        self.held: LockInfo | None = None
        # The holder whose lock this run took (its session had ended), for recovery.
        self._taken_over: LockInfo | None = None

    @property
    def backend_pid(self) -> int | None:
        return None if self._conn is None else self._conn.info.backend_pid

    def _key_filter(self) -> tuple[int, int]:
        unsigned = self.location.lock_key & 0xFFFF_FFFF_FFFF_FFFF
        return unsigned >> 32, unsigned & 0xFFFF_FFFF

    def acquire(self, info: LockInfo, *, timeout: float) -> str:
        if self.held is not None:
            raise StateError(f"the lock of {self.location.shown} is already held by this run")
        conn = self.db.connect()
        try:
            if timeout <= 0:
                row = conn.execute(
                    "SELECT pg_try_advisory_lock(%s)", (self.location.lock_key,)
                ).fetchone()
                taken = bool(row and row[0])
            else:
                # lock_timeout bounds the wait; the server wakes us the moment it is free.
                conn.execute(
                    sql.SQL("SET lock_timeout = {}").format(sql.Literal(f"{int(timeout * 1000)}ms"))
                )
                try:
                    conn.execute("SELECT pg_advisory_lock(%s)", (self.location.lock_key,))
                    taken = True
                except psycopg.errors.LockNotAvailable:
                    taken = False
                conn.execute("SET lock_timeout = 0")
        except psycopg.Error as error:
            conn.close()
            raise self.location.error("lock", error) from None
        if not taken:
            conn.close()
            raise self._locked_error(waited=timeout)
        try:
            previous = self._row()
            self.db.conn.execute(
                self.db.q(
                    "INSERT INTO {s}.locks (name, id, who, operation, created, pid, host, "
                    "backend_pid) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (name) "
                    "DO UPDATE SET id = EXCLUDED.id, who = EXCLUDED.who, operation = "
                    "EXCLUDED.operation, created = EXCLUDED.created, pid = EXCLUDED.pid, "
                    "host = EXCLUDED.host, backend_pid = EXCLUDED.backend_pid"
                ),
                (
                    self.location.name,
                    info.id,
                    info.who,
                    info.operation,
                    info.created,
                    info.pid,
                    info.host,
                    conn.info.backend_pid,
                ),
            )
        except (psycopg.Error, StateError) as error:
            conn.close()
            if isinstance(error, StateError):
                raise
            raise self.location.error("lock", error) from None
        if previous is not None:
            # We hold the advisory lock, so that holder's session has ended: it died.
            _log.warning(
                "took over the lock of a run whose database session ended without releasing "
                "it; its unanswered creates are recovered from the journal",
                state=self.location.shown,
                previous=previous.describe(),
            )
        self._conn = conn
        self.held = info
        self._taken_over = previous
        return info.id

    def taken_over_from(self) -> LockInfo | None:
        return self._taken_over

    def release(self, lock_id: str) -> None:
        if self.held is None or self.held.id != lock_id:
            raise StateError(
                f"lock {lock_id} on {self.location.shown} is not held by this run; a lock "
                "left by another run is broken with force-unlock"
            )
        conn, self._conn, self.held = self._conn, None, None
        with suppress(psycopg.Error, StateError):
            self.db.conn.execute(
                self.db.q("DELETE FROM {s}.locks WHERE name = %s AND id = %s"),
                (self.location.name, lock_id),
            )
        if conn is not None:
            with suppress(psycopg.Error):
                conn.execute("SELECT pg_advisory_unlock(%s)", (self.location.lock_key,))
            with suppress(psycopg.Error):
                conn.close()

    def still_held(self, conn: psycopg.Connection[Any]) -> None:
        """Inside a write's transaction: refuse it when this run took the lock and its
        session no longer holds it (terminated by an administrator, or the connection
        dropped): another run may hold the lock now."""
        if self.held is None:
            return
        pid = self.backend_pid
        classid, objid = self._key_filter()
        row = conn.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND pid = %s AND classid = %s::bigint::oid AND objid = %s::bigint::oid "
            "AND objsubid = 1)",
            (pid, classid, objid),
        ).fetchone()
        if not (row and row[0]):
            raise StateLockLostError(
                f"the lock on the state {self.location.shown} was lost: its database "
                f"session (backend pid {pid}) ended, terminated by an administrator or by a "
                "dropped connection, so another run may hold the lock now. Stopped before "
                "the next write to the state or to Infobip. What was done so far is in the "
                "state and its journal; run the command again, it recovers from both."
            )

    def holder(self) -> LockInfo | None:
        """Who holds the lock: the row, while a live session holds the advisory lock."""
        info = self._row()
        if info is None or not self._someone_holds():
            return None
        return info

    def force_unlock(self, lock_id: str) -> None:
        info = self._row()
        if info is None or not self._someone_holds():
            raise StateError(
                f"the state {self.location.shown} is not locked; there is nothing to unlock "
                "(a lock whose holder died is released with its database session)"
            )
        if info.id != lock_id:
            raise StateError(
                f"{lock_id} is not the id of the lock on {self.location.shown}; it is held by "
                f"{info.describe()}. Pass the id shown in the lock message."
            )
        pid = self._holder_backend_pid()
        raise StateLockedError(
            f"the lock on {self.location.shown} is held by a live database session: "
            f"{info.describe()}. Wait for it to finish or stop it; if that run is gone but "
            f"its connection hangs, end the session in the database with "
            f"SELECT pg_terminate_backend({pid}); its lock goes with it.",
            lock_id=info.id,
            holder=info.describe(),
        )

    def _someone_holds(self) -> bool:
        classid, objid = self._key_filter()
        try:
            row = self.db.conn.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND "
                "granted AND classid = %s::bigint::oid AND objid = %s::bigint::oid AND "
                "objsubid = 1)",
                (classid, objid),
            ).fetchone()
        except psycopg.Error as error:
            raise self.location.error("read the lock of", error) from None
        return bool(row and row[0])

    def _holder_backend_pid(self) -> int | None:
        classid, objid = self._key_filter()
        row = self.db.conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
            "classid = %s::bigint::oid AND objid = %s::bigint::oid AND objsubid = 1",
            (classid, objid),
        ).fetchone()
        return None if row is None else int(row[0])

    def _row(self) -> LockInfo | None:
        try:
            row = self.db.conn.execute(
                self.db.q(
                    "SELECT id, who, operation, created, pid, host FROM {s}.locks WHERE name = %s"
                ),
                (self.location.name,),
            ).fetchone()
        except psycopg.Error as error:
            raise self.location.error("read the lock of", error) from None
        if row is None:
            return None
        ident, who, operation, created, pid, host = row
        # timestamptz comes back in the session's time zone; messages say UTC.
        return LockInfo(
            id=ident,
            who=who,
            operation=operation,
            created=created.astimezone(UTC),
            pid=pid,
            host=host,
        )

    def _locked_error(self, *, waited: float) -> StateLockedError:
        holder = self.holder()
        state = self.location.shown
        if holder is None:
            return StateLockedError(
                f"the state {state} is locked by another infobip-iac run"
                + (f" (waited {waited:g}s)" if waited else "")
                + ". Try again when it has finished, or pass a longer --lock-timeout."
            )
        wait = (
            f"Waited {waited:g}s for it; pass a longer --lock-timeout to wait more."
            if waited
            else "It is running now: pass --lock-timeout SECONDS to wait for it."
        )
        return StateLockedError(
            f"the state {state} is locked by {holder.describe()}.\n{wait}\n"
            "A run that dies loses the lock with its database session: no force-unlock is "
            "needed.",
            lock_id=holder.id,
            holder=holder.describe(),
        )


class PostgresJournal(Journal):
    """The create journal of one state, a row in `journals`."""

    def __init__(self, db: _Database, lock: PostgresLock) -> None:
        self.db = db
        self.lock = lock

    def _load(self) -> list[PendingCreate]:
        with self.db.transaction("read the journal of") as conn:
            row = conn.execute(
                self.db.q("SELECT body FROM {s}.journals WHERE name = %s"),
                (self.db.location.name,),
            ).fetchone()
        if row is None:
            return []
        try:
            return decode_entries(str(row[0]).encode())
        except (ValueError, UnicodeDecodeError) as error:
            raise StateError(
                f"the create journal of {self.db.location.shown} is unreadable ({error}). It "
                "lists creates an interrupted apply may have made; look for enabled keys no "
                "state manages (plan reports them), then delete the row of this state's name "
                f"in the table {self.db.location.schema}.journals"
            ) from None

    def _store(self, entries: list[PendingCreate]) -> None:
        name = self.db.location.name
        with self.db.transaction("write the journal of") as conn:
            self.lock.still_held(conn)
            if not entries:
                conn.execute(self.db.q("DELETE FROM {s}.journals WHERE name = %s"), (name,))
                return
            conn.execute(
                self.db.q(
                    "INSERT INTO {s}.journals (name, body) VALUES (%s, %s) ON CONFLICT "
                    "(name) DO UPDATE SET body = EXCLUDED.body"
                ),
                (name, encode_entries(entries)),
            )


class PostgresStore:
    """The versions of one state in the database (see the module docstring)."""

    def __init__(self, db: _Database, lock: PostgresLock, *, endpoint: str | None) -> None:
        self.db = db
        self.lock = lock
        self.location = db.location
        # Where the run reaches Infobip (as StateStore's `endpoint`).
        self.endpoint = endpoint
        # Addresses of the version last read or written, and those recorded since: the
        # one-line summary of the next version.
        self._known: set[str] | None = None
        self._recorded: set[str] = set()

    @property
    def where(self) -> str:
        return self.location.shown

    @property
    def journal(self) -> PostgresJournal:
        return PostgresJournal(self.db, self.lock)

    def exists(self) -> bool:
        with self.db.transaction("read") as conn:
            row = conn.execute(
                self.db.q(
                    "SELECT EXISTS (SELECT 1 FROM {s}.states WHERE name = %s) OR EXISTS "
                    "(SELECT 1 FROM {s}.changes WHERE name = %s)"
                ),
                (self.location.name, self.location.name),
            ).fetchone()
        return bool(row and row[0])

    def read(self) -> StateDocument:
        name = self.location.name
        with self.db.transaction("read") as conn:
            # One snapshot for the pointer, the version and its changes.
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            row = conn.execute(
                self.db.q(
                    "SELECT v.document FROM {s}.states AS c JOIN {s}.versions AS v ON "
                    "v.name = c.name AND v.serial = c.serial WHERE c.name = %s"
                ),
                (name,),
            ).fetchone()
            doc = StateDocument() if row is None else self._decode(str(row[0]), "the state")
            changes = conn.execute(
                self.db.q(
                    "SELECT lineage, address, entry FROM {s}.changes WHERE name = %s AND "
                    "serial = %s AND (lineage = %s OR %s) ORDER BY seq"
                ),
                (name, doc.serial, doc.lineage, row is None),
            ).fetchall()
        if row is None and changes:
            doc.lineage = str(changes[0][0])
        self._known = set(doc.resources)
        self._recorded = set()
        doc = apply_changes(doc, ((None if a is None else str(a), e) for _, a, e in changes))
        check_endpoint(doc, self.endpoint, where=self.where, hint=f"'{self.where}'")
        return doc

    def write(self, doc: StateDocument) -> StateDocument:
        stored = doc.model_copy(
            update={"serial": doc.serial + 1, "endpoint": self.endpoint or doc.endpoint}
        )
        document = render_state(stored, where=self.where).decode()
        with self.db.transaction("write") as conn:
            self.lock.still_held(conn)
            lineage, _, shown = self._current_for_update(conn, doc)
            self._check_follows(doc, lineage, shown)
            self._store_version(conn, stored, document, self._summary(stored))
        self._known, self._recorded = set(stored.resources), set()
        return stored

    def check_lock(self) -> None:
        with self.db.transaction("check the lock of") as conn:
            self.lock.still_held(conn)

    def record(self, doc: StateDocument, addresses: Iterable[str]) -> StateDocument:
        addresses = list(dict.fromkeys(addresses))
        endpoint = self.endpoint or doc.endpoint
        # The document's own fields first (address NULL), then the entries.
        rows: list[tuple[str | None, str]] = [
            (None, json.dumps(document_fields(doc, endpoint=endpoint)))
        ]
        rows += [
            (a, json.dumps(render_entry(doc.resources.get(a), where=self.where))) for a in addresses
        ]
        with self.db.transaction("write") as conn:
            self.lock.still_held(conn)
            lineage, base, shown = self._current_for_update(conn, doc)
            self._check_follows(doc, lineage, shown)
            with conn.cursor() as cursor:
                cursor.executemany(
                    self.db.q(
                        "INSERT INTO {s}.changes (name, lineage, serial, address, entry) "
                        "VALUES (%s, %s, %s, %s, %s::jsonb)"
                    ),
                    [(self.location.name, lineage, base, a, e) for a, e in rows],
                )
        self._recorded.update(addresses)
        return doc.model_copy(update={"serial": base + 1, "lineage": lineage, "endpoint": endpoint})

    def history(self) -> list[VersionInfo]:
        with self.db.transaction("read the history of") as conn:
            rows = conn.execute(
                self.db.q(
                    "SELECT serial, lineage, created, who, summary FROM {s}.versions "
                    "WHERE name = %s ORDER BY serial"
                ),
                (self.location.name,),
            ).fetchall()
        return [
            VersionInfo(serial=int(s), lineage=str(lin), created=c, who=str(w), summary=str(m))
            for s, lin, c, w, m in rows
        ]

    def version(self, serial: int) -> StateDocument:
        with self.db.transaction("read") as conn:
            row = conn.execute(
                self.db.q("SELECT document FROM {s}.versions WHERE name = %s AND serial = %s"),
                (self.location.name, serial),
            ).fetchone()
        if row is None:
            raise StateError(
                f"the state {self.where} has no version {serial}; `infobip-iac state history` "
                "lists the versions it keeps"
            )
        return self._decode(str(row[0]), f"version {serial}")

    def push(self, doc: StateDocument) -> StateDocument:
        document = render_state(doc, where=self.where).decode()
        with self.db.transaction("write") as conn:
            self.lock.still_held(conn)
            row = self._pointer(conn)
            if row is not None:
                lineage, serial = row
                if self._has_changes(conn, lineage, serial):
                    serial += 1
                check_push(doc, lineage=lineage, serial=serial, where=self.where)
            self._store_version(conn, doc, document, f"pushed: {len(doc.resources)} resources")
        self._known, self._recorded = set(doc.resources), set()
        return doc

    # -- internals -----------------------------------------------------------------------

    def _decode(self, text: str, what: str) -> StateDocument:
        return decode_state(text.encode(), where=f"{what} in {self.where}")

    def _pointer(self, conn: psycopg.Connection[Any]) -> tuple[str, int] | None:
        row = conn.execute(
            self.db.q("SELECT lineage, serial FROM {s}.states WHERE name = %s FOR UPDATE"),
            (self.location.name,),
        ).fetchone()
        return None if row is None else (str(row[0]), int(row[1]))

    def _has_changes(self, conn: psycopg.Connection[Any], lineage: str, serial: int) -> bool:
        row = conn.execute(
            self.db.q(
                "SELECT EXISTS (SELECT 1 FROM {s}.changes WHERE name = %s AND lineage = %s "
                "AND serial = %s)"
            ),
            (self.location.name, lineage, serial),
        ).fetchone()
        return bool(row and row[0])

    def _current_for_update(
        self, conn: psycopg.Connection[Any], doc: StateDocument
    ) -> tuple[str, int, int]:
        """(lineage, serial of the stored version, serial a read shows now: one more when
        changes are recorded), with the pointer row locked until commit."""
        row = self._pointer(conn)
        if row is None:
            first = conn.execute(
                self.db.q(
                    "SELECT lineage FROM {s}.changes WHERE name = %s AND serial = 0 "
                    "ORDER BY seq LIMIT 1"
                ),
                (self.location.name,),
            ).fetchone()
            return (str(first[0]), 0, 1) if first else (doc.lineage, 0, 0)
        lineage, serial = row
        return lineage, serial, serial + (1 if self._has_changes(conn, lineage, serial) else 0)

    def _check_follows(self, doc: StateDocument, lineage: str, serial: int) -> None:
        if lineage != doc.lineage:
            raise StateError(
                f"refusing to overwrite the state {self.where}: it holds a different state "
                f"(lineage {lineage}, not {doc.lineage}). Use another name= for this one."
            )
        if serial > doc.serial:
            raise StateError(
                f"refusing to overwrite the state {self.where}: it was changed by another "
                f"run since it was read (serial {serial} stored, {doc.serial} read). Run the "
                "command again."
            )

    def _summary(self, doc: StateDocument) -> str:
        what = self.lock.held.operation if self.lock.held is not None else "write"
        now = set(doc.resources)
        if self._known is None:
            return f"{what}: {len(now)} resources"
        added, removed = len(now - self._known), len(self._known - now)
        changed = len(self._recorded & now & self._known)
        return f"{what}: {len(now)} resources (+{added} -{removed} ~{changed})"

    def _store_version(
        self, conn: psycopg.Connection[Any], doc: StateDocument, document: str, summary: str
    ) -> None:
        name = self.location.name
        # A write made without the lock (none of the commands does) names this process.
        who = (self.lock.held or LockInfo.new("write")).who
        conn.execute(
            self.db.q(
                "INSERT INTO {s}.versions (name, serial, lineage, who, summary, document) "
                "VALUES (%s, %s, %s, %s, %s, %s)"
            ),
            (name, doc.serial, doc.lineage, who, summary, document),
        )
        conn.execute(
            self.db.q(
                "INSERT INTO {s}.states (name, lineage, serial) VALUES (%s, %s, %s) ON "
                "CONFLICT (name) DO UPDATE SET lineage = EXCLUDED.lineage, serial = "
                "EXCLUDED.serial"
            ),
            (name, doc.lineage, doc.serial),
        )
        conn.execute(self.db.q("DELETE FROM {s}.changes WHERE name = %s"), (name,))


class PostgresBackend:
    """A state in PostgreSQL: its store and its lock over two connections."""

    def __init__(self, location: PostgresLocation, *, endpoint: str | None = None) -> None:
        self.location = location
        self._db = _Database(location)
        self._lock = PostgresLock(self._db)
        self._store = PostgresStore(self._db, self._lock, endpoint=endpoint)

    @classmethod
    def open(cls, url: str, *, endpoint: str | None = None) -> PostgresBackend:
        return cls(PostgresLocation(url), endpoint=endpoint)

    @property
    def store(self) -> PostgresStore:
        return self._store

    @property
    def lock(self) -> PostgresLock:
        return self._lock

    def close(self) -> None:
        held = self._lock.held
        if held is not None:
            self._lock.release(held.id)
        self._db.close()

"""Read the live keys a plan needs: every account the configuration or the state names.

One listing per account (the client pages it with the fewest requests), never one request
per key. The names declared for an account go along, so the client can narrow its filter
when an account holds more keys than one filter can page through.

Reads are paced to Infobip's limit, so a large account keeps the plan waiting for seconds
with the processor idle. `ReadAhead` starts reading the accounts the state names before the
manifests are parsed, so that the two overlap; in the steady state of a pull request the
state names every account in play, and the plan then takes about as long as the reads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from infobip_iac.domain.keys import (
    CALLER_ACCOUNT,
    DesiredConfig,
    DesiredKey,
    SourceRef,
    describe_account,
)
from infobip_iac.errors import PermissionDeniedError
from infobip_iac.infobip.api import (
    MAX_READERS,
    AccountKeys,
    KeyLister,
    KeyService,
    ProgressCallback,
    list_accounts_concurrently,
)
from infobip_iac.state.model import StateDocument

__all__ = ["ReadAhead", "accounts_to_read", "describe_read", "read_live_keys"]

# How long closing a ReadAhead that was not used waits for its reads to stop (each stops
# at its next page).
_STOP_WAIT = 5.0


class _ReadCancelledError(Exception):
    """Raised into an abandoned read-ahead from its progress callback, to end it."""


@dataclass(eq=False)
class _AccountRefusedError(PermissionDeniedError):
    """A refused read with the account it was for, so that the plan, which knows the
    configuration, can say where that account is named (reads run in other threads, and
    those of the read-ahead before the configuration is loaded)."""

    account: str = ""


class _Reader:
    """`service`'s listings, with a refusal marked with its account."""

    def __init__(self, service: KeyLister) -> None:
        self._service = service

    def list_keys(
        self,
        account: str,
        *,
        names: Collection[str] = (),
        progress: ProgressCallback | None = None,
    ) -> AccountKeys:
        try:
            return self._service.list_keys(account, names=names, progress=progress)
        except PermissionDeniedError as error:
            raise _AccountRefusedError(
                error.message,
                status=error.status,
                error_code=error.error_code,
                operation=error.operation,
                violations=error.violations,
                account=account,
            ) from None


class ReadAhead:
    """Live reads of the accounts `state` names, running in the background from creation.

    Use as a context manager around loading the configuration; `read_live_keys(...,
    ahead=)` then takes the reads it made. Leaving the context stops reads nobody took.
    """

    def __init__(self, service: KeyService, state: StateDocument) -> None:
        self._requests = accounts_to_read(None, state)
        self._reader = _Reader(service)
        self._cancelled = threading.Event()
        self._listener: ProgressCallback | None = None
        self._results: dict[str, AccountKeys] = {}
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if self._requests:
            self._thread = threading.Thread(target=self._read, name="infobip-read-ahead")
            self._thread.daemon = True
            self._thread.start()

    def _progress(self, account: str, pages: int, expected: int) -> None:
        if self._cancelled.is_set():
            raise _ReadCancelledError
        listener = self._listener
        if listener is not None:
            listener(account, pages, expected)

    def _read(self) -> None:
        try:
            self._results = list_accounts_concurrently(
                self._reader,
                {account: sorted(names) for account, names in self._requests.items()},
                progress=self._progress,
            )
        except BaseException as error:  # handed to the taker, in its own thread
            self._error = error

    def take(
        self, requests: Mapping[str, Collection[str]], *, progress: ProgressCallback | None
    ) -> dict[str, AccountKeys]:
        """Wait for the reads; those that serve `requests` (account -> names the plan
        needs). An account whose read was incomplete is served only when it was read for
        every name needed; a failed read raises its error here."""
        self._listener = progress
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error
        return {
            account: read
            for account, read in self._results.items()
            if account in requests
            and (read.complete or set(requests[account]) <= self._requests[account])
        }

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self._cancelled.set()
        if self._thread is not None:
            self._thread.join(timeout=_STOP_WAIT)


def accounts_to_read(
    config: DesiredConfig | None, state: StateDocument
) -> dict[str, frozenset[str]]:
    """Account reference -> the key names known for it (declared or in state), sorted by
    account so that reads and messages come in a stable order. Without a configuration
    (the read-ahead, before the manifests are parsed), the state's alone."""
    names: dict[str, set[str]] = {}
    for key in config.keys.values() if config is not None else ():
        names.setdefault(key.account, set()).add(key.name)
    for resource in state.resources.values():
        names.setdefault(resource.account, set()).add(resource.name)
    return {account: frozenset(names[account]) for account in sorted(names)}


def read_live_keys(
    service: KeyService,
    config: DesiredConfig,
    state: StateDocument,
    *,
    on_account: Callable[[AccountKeys], None] | None = None,
    progress: ProgressCallback | None = None,
    max_workers: int = MAX_READERS,
    ahead: ReadAhead | None = None,
) -> Mapping[str, AccountKeys]:
    """Every live key of every account in play, by account reference; several accounts
    are read at once, each within its own read budget. `on_account` hears of each account
    (in account order) when all are read, `progress` of each page as it arrives. Reads
    `ahead` made are taken as they are; only the other accounts are read here."""
    requests = accounts_to_read(config, state)
    try:
        taken = ahead.take(requests, progress=progress) if ahead is not None else {}
        rest = list_accounts_concurrently(
            _Reader(service),
            {account: sorted(names) for account, names in requests.items() if account not in taken},
            max_workers=max_workers,
            progress=progress,
        )
    except _AccountRefusedError as refused:
        raise _located(refused, config, state) from None
    live = {account: taken[account] if account in taken else rest[account] for account in requests}
    if on_account is not None:
        for account in requests:
            on_account(live[account])
    return live


def _located(
    refused: _AccountRefusedError, config: DesiredConfig, state: StateDocument
) -> PermissionDeniedError:
    """The refusal of an account id, with where that id is written and how to mend it.
    The caller's own account (`_`) is named by no one line, and refused for the
    credentials alone: its message already says what to do."""
    account = refused.account
    message = refused.message
    if account != CALLER_ACCOUNT:
        declared = sorted(
            (key for key in config.keys.values() if key.account == account),
            key=lambda key: key.address,
        )
        recorded = sorted(
            address for address, record in state.resources.items() if record.account == account
        )
        if declared:
            first = declared[0]
            others = _more(len(declared) - 1, "key")
            writers = config.account_sources.get(account, ())
            written = _account_line(writers, first)
            if written is not None:
                field = "field account"
                if len(writers) > 1:
                    field += (
                        "; 1 more file writes it too"
                        if len(writers) == 2
                        else f"; {len(writers) - 1} more files write it too"
                    )
                message += (
                    f"; the id is written at {written} ({field}), the account of "
                    f"{first.address}{others}: "
                    f"correct the account id in {written.file}, or use the credentials of a "
                    "user who may manage that account"
                )
            else:
                at = f" at {first.source}" if first.source is not None else ""
                where = f" in {first.source.file}" if first.source is not None else ""
                message += (
                    f"; it is the account of {first.address}{at}{others}: correct the account "
                    f"id{where}, or use the credentials of a user who may manage that account"
                )
        elif recorded:
            message += (
                f"; only the state names this account, for {recorded[0]}"
                f"{_more(len(recorded) - 1, 'key')}: use the credentials of a user who may "
                "manage it, or, if the account is gone, forget its keys with "
                "`infobip-iac state rm`"
            )
    return PermissionDeniedError(
        message,
        status=refused.status,
        error_code=refused.error_code,
        operation=refused.operation,
        violations=refused.violations,
    )


def _account_line(written: Sequence[SourceRef], key: DesiredKey) -> SourceRef | None:
    """The `account:` that gives `key` its account (that of the key's own file), else the
    first that writes the same id; None when no manifest line writes it."""
    for source in written:
        if key.source is not None and source.file == key.source.file:
            return source
    return written[0] if written else None


def _more(count: int, noun: str) -> str:
    return f" (and {count} more {noun}{'' if count == 1 else 's'})" if count else ""


def describe_read(read: AccountKeys) -> str:
    """`Reading live keys of the main account … 3 keys in 1 request.` (the line plan prints on
    stderr), plus any note the client made about an incomplete or split read."""
    keys = f"{len(read.keys)} key" + ("" if len(read.keys) == 1 else "s")
    requests = f"{read.requests} request" + ("" if read.requests == 1 else "s")
    line = f"Reading live keys of {describe_account(read.account)} … {keys} in {requests}."
    notes = list(read.notes)
    if not read.complete:
        notes.append("the read is incomplete; keys beyond it are not in the plan")
    return "\n".join([line, *(f"  note: {note}" for note in notes)])

"""Live reads for a plan: every account in play read once, and the read-ahead that overlaps
the reads of the accounts in state with parsing the manifests."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Collection
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from builders import config, desired, live, record, state

from infobip_iac.domain.keys import KeyWrite, LiveKey, SourceRef
from infobip_iac.engine.refresh import ReadAhead, accounts_to_read, read_live_keys
from infobip_iac.errors import AuthenticationError, PermissionDeniedError
from infobip_iac.infobip.api import AccountKeys, CreatedKey, ProgressCallback
from infobip_iac.state.model import StateDocument

SUB = "5A1B2C3D4E5F60718293A4B5C6D7E8F9"


class _Reads:
    """A KeyService that only lists: records each listing (account, names), can hold its
    reads until released, and reports `pages` pages per account through `progress`."""

    def __init__(self, *, pages: int = 1, complete: bool = True, pause: float = 0.0) -> None:
        self.calls: list[tuple[str, frozenset[str]]] = []
        self.pages = pages
        self.pause = pause
        self.pages_done = 0
        self.complete = complete
        self.release = threading.Event()
        self.release.set()
        self.failure: Exception | None = None
        self.refused: set[str] = set()  # accounts answered 403, as Infobip does unknown ones
        self._lock = threading.Lock()

    def list_keys(
        self, account: str, *, names: Collection[str] = (), progress: ProgressCallback | None = None
    ) -> AccountKeys:
        with self._lock:
            self.calls.append((account, frozenset(names)))
        if account in self.refused:
            raise PermissionDeniedError(
                "HTTP 403 E403: Insufficient permissions to access the requested resource.",
                status=403,
                operation="list API keys",
            )
        for page in range(1, self.pages + 1):
            assert self.release.wait(timeout=10)
            if self.failure is not None:
                raise self.failure
            time.sleep(self.pause)
            with self._lock:
                self.pages_done += 1
            if progress is not None:
                progress(account, page, self.pages)
        keys = [live(f"{account}-K", name=f"{account}-key")]
        return AccountKeys(account, keys, requests=self.pages, complete=self.complete)

    def get_key(self, key_id: str, *, account: str) -> LiveKey | None:
        raise AssertionError("a plan reads no key by id")

    def find_by_name(self, account: str, name: str) -> list[LiveKey]:
        raise AssertionError("a plan looks no name up outside listings")

    def create_key(self, account: str, write: KeyWrite) -> CreatedKey:
        raise AssertionError("a plan writes nothing")

    def update_key(self, key_id: str, *, account: str, write: KeyWrite) -> LiveKey:
        raise AssertionError("a plan writes nothing")

    def server_time(self) -> datetime:
        return datetime(2026, 11, 25, tzinfo=UTC)


def _state_of(*accounts: str) -> StateDocument:
    return state(
        {
            f"api_keys.k-{n}": record(live(f"ID{n}", name=f"k-{n}"), account=account)
            for n, account in enumerate(accounts)
        }
    )


def test_accounts_to_read_joins_declared_and_state_names() -> None:
    declared = config(desired("a"), desired("b", account=SUB))
    current = state({"api_keys.c": record(live("ID1", name="c"))})
    assert accounts_to_read(declared, current) == {
        SUB: frozenset({"b"}),
        "_": frozenset({"a", "c"}),
    }


def test_accounts_in_state_are_read_ahead_and_only_the_rest_later() -> None:
    service = _Reads()
    current = _state_of("_")
    with ReadAhead(service, current) as ahead:
        declared = config(desired("k-0"), desired("new", account=SUB))
        live_keys = read_live_keys(service, declared, current, ahead=ahead)
    assert list(live_keys) == [SUB, "_"]
    # `_` once, ahead, for the name in state; SUB afterwards, for its declared name.
    assert sorted(service.calls) == [(SUB, frozenset({"new"})), ("_", frozenset({"k-0"}))]


def test_an_incomplete_read_ahead_lacking_a_declared_name_is_read_again() -> None:
    service = _Reads(complete=False)
    current = _state_of("_")
    with ReadAhead(service, current) as ahead:
        declared = config(desired("k-0"), desired("added"))
        read_live_keys(service, declared, current, ahead=ahead)
    # Beyond what paging reaches, the new name must be looked for: the account is read again.
    assert service.calls == [("_", frozenset({"k-0"})), ("_", frozenset({"added", "k-0"}))]


def test_an_incomplete_read_ahead_with_every_name_needed_is_taken() -> None:
    service = _Reads(complete=False)
    current = _state_of("_")
    with ReadAhead(service, current) as ahead:
        read_live_keys(service, config(desired("k-0")), current, ahead=ahead)
    assert service.calls == [("_", frozenset({"k-0"}))]


def test_pages_read_after_the_take_reach_the_progress_callback() -> None:
    service = _Reads(pages=3)
    service.release.clear()
    seen: list[tuple[str, int, int]] = []
    current = _state_of("_")
    with ReadAhead(service, current) as ahead:
        threading.Timer(0.05, service.release.set).start()
        read_live_keys(
            service,
            config(desired("k-0")),
            current,
            ahead=ahead,
            progress=lambda *call: seen.append(call),
        )
    assert seen == [("_", 1, 3), ("_", 2, 3), ("_", 3, 3)]


def test_a_failed_read_ahead_raises_its_error_where_the_reads_are_taken() -> None:
    service = _Reads()
    service.failure = AuthenticationError("wrong password", operation="list API keys")
    current = _state_of("_")
    with (
        ReadAhead(service, current) as ahead,
        pytest.raises(AuthenticationError, match="wrong password"),
    ):
        read_live_keys(service, config(desired("k-0")), current, ahead=ahead)


def test_leaving_without_taking_stops_the_reads_at_their_next_page() -> None:
    service = _Reads(pages=1_000, pause=0.002)
    # The manifests failed to load: nobody takes the reads, which stop within a page.
    with ReadAhead(service, _state_of("_", SUB)):
        deadline = time.monotonic() + 30
        while service.pages_done < 2:  # the reads are under way
            assert time.monotonic() < deadline, "the reads ahead did not start"
            time.sleep(0.001)
    stopped_at = service.pages_done
    # The readers are gone (so no page comes after), having read far from the 2,000 pages
    # of the two accounts (a page takes 2 ms: only seconds of standstill could reach 1,000).
    assert not any(thread.name == "infobip-read-ahead" for thread in threading.enumerate())
    assert stopped_at < 1_000


def test_an_empty_state_reads_nothing_ahead() -> None:
    service = _Reads()
    with ReadAhead(service, state()) as ahead:
        read_live_keys(service, config(desired("a")), state(), ahead=ahead)
    assert service.calls == [("_", frozenset({"a"}))]


def test_the_read_ahead_reads_the_names_accounts_to_read_gives_for_the_state() -> None:
    reads = _Reads()
    current = _state_of("_", SUB, SUB)
    with ReadAhead(reads, current) as ahead:
        ahead.take({}, progress=None)
    expected = accounts_to_read(None, current)
    assert sorted(reads.calls) == sorted(expected.items())


@pytest.mark.parametrize("module", ["infobip_iac.engine.plan", "infobip_iac.engine.refresh"])
def test_the_engine_does_not_load_the_http_client(module: str) -> None:
    # Planning works over the KeyService protocol; httpx is the client's business alone.
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.startswith('httpx')))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_a_refused_account_is_named_with_the_manifest_line_that_declares_it() -> None:
    service = _Reads()
    service.refused = {SUB}
    declared = config(
        desired("a"),
        desired("b", account=SUB, source=SourceRef(file="teams/m.yaml", line=9, column=3)),
        desired("c", account=SUB, source=SourceRef(file="teams/m.yaml", line=14, column=3)),
    )
    with pytest.raises(PermissionDeniedError) as caught:
        read_live_keys(service, declared, state())
    message = str(caught.value)
    assert message.startswith("list API keys: HTTP 403 E403: Insufficient permissions")
    assert "api_keys.b at teams/m.yaml:9:3 (and 1 more key)" in message
    assert "correct the account id in teams/m.yaml" in message
    assert type(caught.value) is PermissionDeniedError
    assert caught.value.status == 403


def test_a_refused_account_is_named_with_the_account_line_of_the_key_file() -> None:
    service = _Reads()
    service.refused = {SUB}
    declared = replace(
        config(
            desired("b", account=SUB, source=SourceRef(file="teams/b.yaml", line=9, column=3)),
            desired("c", account=SUB, source=SourceRef(file="teams/c.yaml", line=5, column=3)),
        ),
        account_sources={
            SUB: (
                SourceRef(file="teams/a.yaml", line=2, column=10),
                SourceRef(file="teams/b.yaml", line=3, column=10),
                SourceRef(file="teams/c.yaml", line=2, column=10),
            )
        },
    )
    with pytest.raises(PermissionDeniedError) as caught:
        read_live_keys(service, declared, state())
    message = str(caught.value)
    # The account: of api_keys.b's own file, not the first file that writes the same id.
    assert (
        "; the id is written at teams/b.yaml:3:10 (field account; 2 more files write it too), "
        "the account of api_keys.b (and 1 more key): correct the account id in teams/b.yaml, "
        "or use the credentials of a user who may manage that account"
    ) in message
    assert message.startswith("list API keys: HTTP 403 E403: Insufficient permissions")


def test_a_refused_account_only_the_state_names_points_to_state_rm() -> None:
    service = _Reads()
    service.refused = {SUB}
    current = _state_of("_", SUB)
    with ReadAhead(service, current) as ahead, pytest.raises(PermissionDeniedError) as caught:
        read_live_keys(service, config(desired("k-0")), current, ahead=ahead)
    message = str(caught.value)
    assert "only the state names this account, for api_keys.k-1" in message
    assert "infobip-iac state rm" in message


def test_a_refused_caller_account_keeps_its_message() -> None:
    service = _Reads()
    service.refused = {"_"}
    with pytest.raises(PermissionDeniedError) as caught:
        read_live_keys(service, config(desired("a")), state())
    assert str(caught.value) == (
        "list API keys: HTTP 403 E403: Insufficient permissions to access the requested resource."
    )

"""InfobipClient over real HTTP against the emulator: paging, pacing, retries, writes, errors."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from infobip_iac.domain.keys import KeyWrite
from infobip_iac.domain.secret import Secret
from infobip_iac.emulator import EmulatorServer
from infobip_iac.errors import (
    AmbiguousWriteError,
    BadRequestError,
    CredentialsError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from infobip_iac.infobip.api import AccountKeys
from infobip_iac.infobip.client import InfobipClient, list_accounts_concurrently
from infobip_iac.infobip.listing import REACH
from infobip_iac.infobip.pacing import ReadBudget
from infobip_iac.infobip.settings import UserCredentials
from infobip_iac.logs import configure_logging

from .conftest import ADMIN, LIST_OPERATION

Connect = Callable[..., InfobipClient]
Seed = Callable[..., list[str]]
RequestsOf = Callable[[EmulatorServer, str], int]

CREATE = "POST /settings/2/api-keys"
UPDATE = "PUT /settings/2/api-keys/{apiKeyId}"
GET_ONE = "GET /settings/2/api-keys/{apiKeyId}"


# -- listing --------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 100, 101, 250])
def test_listing_takes_one_request_per_hundred_keys(
    emulator: EmulatorServer,
    connect: Connect,
    seed: Seed,
    requests_of: RequestsOf,
    count: int,
) -> None:
    ids = seed(emulator, count)
    result = connect(emulator).list_keys("_")
    assert sorted(k.id for k in result.keys) == sorted(ids)
    assert result.requests == math.ceil(count / 100)
    assert requests_of(emulator, LIST_OPERATION) == math.ceil(count / 100)
    assert requests_of(emulator, GET_ONE) == 0
    assert result.complete


def test_listing_a_sub_account(
    emulator: EmulatorServer, connect: Connect, seed: Seed, requests_of: RequestsOf
) -> None:
    sub = emulator.control.add_account("Team B")
    seed(emulator, 3, prefix="main")
    seed(emulator, 5, prefix="sub", account_id=sub)
    result = connect(emulator).list_keys(sub)
    assert len(result.keys) == 5
    assert {k.account_id for k in result.keys} == {sub}
    assert result.account == sub


def test_account_beyond_one_end_is_read_from_both_in_the_fewest_requests(
    unlimited_emulator: EmulatorServer,
    connect: Connect,
    seed: Seed,
    fast_budget: Callable[[], ReadBudget],
    requests_of: RequestsOf,
) -> None:
    enabled = seed(unlimited_emulator, 5_100, prefix="on")
    disabled = seed(unlimited_emulator, 5_100, prefix="off", enabled=False)
    client = connect(unlimited_emulator, budget=fast_budget())
    result = client.list_keys("_")
    assert {k.id for k in result.keys} == set(enabled) | set(disabled)
    assert result.complete and result.notes == []
    assert result.requests == requests_of(unlimited_emulator, LIST_OPERATION) == 102


def test_highest_ids_beyond_page_100_come_from_the_far_end(
    unlimited_emulator: EmulatorServer,
    connect: Connect,
    seed: Seed,
    fast_budget: Callable[[], ReadBudget],
    requests_of: RequestsOf,
) -> None:
    enabled = seed(unlimited_emulator, REACH + 40, prefix="on")
    disabled = seed(unlimited_emulator, 20, prefix="off", enabled=False)
    client = connect(unlimited_emulator, budget=fast_budget())
    result = client.list_keys("_", names=["on-0"])
    assert {k.id for k in result.keys} == set(enabled) | set(disabled)
    assert result.complete
    # 101 pages by id ascending, then one descending page holds the 60 highest ids.
    assert requests_of(unlimited_emulator, LIST_OPERATION) == 102


def test_pacing_keeps_a_long_listing_under_the_read_limit(
    emulator: EmulatorServer, connect: Connect, seed: Seed
) -> None:
    pages = 12
    seed(emulator, pages * 100)
    client = connect(emulator)
    started = time.monotonic()
    result = client.list_keys("_")
    elapsed = time.monotonic() - started
    assert len(result.keys) == pages * 100
    assert elapsed >= (pages - 1) / 10
    # Not much over the floor: pacing absorbs the work between requests; the margin is for
    # a loaded machine.
    assert elapsed < pages / 10 + 3.0
    assert "429" not in emulator.control.stats()["statuses"]


def test_concurrent_accounts_each_within_their_budget(
    emulator: EmulatorServer, connect: Connect, seed: Seed
) -> None:
    subs = [emulator.control.add_account(f"Team {i}") for i in range(3)]
    for sub in subs:
        seed(emulator, 450, prefix=sub, account_id=sub)
    seed(emulator, 2, prefix="main")
    progress: list[tuple[str, int, int]] = []
    # Four reads a second per account: an account of 5 pages takes 1 s, three one after
    # another 3 s, which a loaded machine cannot be mistaken for.
    client = connect(emulator, budget=ReadBudget(4.0))
    started = time.monotonic()
    results = client.list_accounts_concurrently(
        {"_": ["main-0"], **{sub: [] for sub in subs}},
        progress=lambda *call: progress.append(call),
    )
    elapsed = time.monotonic() - started
    assert list(results) == ["_", *subs]
    assert len(results["_"].keys) == 2
    assert all(len(results[sub].keys) == 450 for sub in subs)
    # Three accounts of 5 pages each in parallel: about one account's time, not three.
    assert 4 * 0.25 * 0.9 <= elapsed < 2.5
    assert "429" not in emulator.control.stats()["statuses"]
    assert {call[0] for call in progress} == {"_", *subs}
    assert (subs[0], 5, 5) in progress


def test_caller_wide_limit_is_learned_from_repeated_429s(
    make_emulator: Callable[..., EmulatorServer], connect: Connect, seed: Seed
) -> None:
    server = make_emulator(limit_scope="caller")
    subs = [server.control.add_account(f"Team {i}") for i in range(3)]
    for sub in subs:
        seed(server, 1_000, prefix=sub, account_id=sub)
    budget = ReadBudget()
    client = connect(server, budget=budget)
    started = time.monotonic()
    results = client.list_accounts_concurrently({sub: [] for sub in subs})
    elapsed = time.monotonic() - started
    assert all(len(results[sub].keys) == 1_000 for sub in subs)
    assert budget.shared
    # A few 429s teach the client; then 30 pages go at one shared 10/s, near the floor.
    assert server.control.stats()["statuses"].get("429", 0) <= 4
    # Paced at the shared rate (each account at its own 10/s would take 1 s), and not far
    # over it; the margin is for a loaded machine.
    assert 0.8 * 30 / 10 <= elapsed < 2.5 * 30 / 10


# -- retries ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 503])
def test_reads_are_retried_after_server_errors(
    emulator: EmulatorServer, connect: Connect, seed: Seed, requests_of: RequestsOf, status: int
) -> None:
    seed(emulator, 3)
    emulator.control.set_faults(
        [{"operation": LIST_OPERATION, "kind": "status", "status": status, "times": 2}]
    )
    result = connect(emulator).list_keys("_")
    assert len(result.keys) == 3
    assert requests_of(emulator, LIST_OPERATION) == 3


def test_reads_give_up_after_bounded_attempts(
    emulator: EmulatorServer, connect: Connect, requests_of: RequestsOf
) -> None:
    emulator.control.set_faults([{"operation": LIST_OPERATION, "kind": "status", "status": 502}])
    with pytest.raises(ServerError) as caught:
        connect(emulator, max_attempts=3).list_keys("_")
    assert caught.value.status == 502
    assert caught.value.operation == "list API keys"
    assert requests_of(emulator, LIST_OPERATION) == 3


def test_reads_wait_as_a_429_asks(
    emulator: EmulatorServer, connect: Connect, seed: Seed, requests_of: RequestsOf
) -> None:
    seed(emulator, 2)
    emulator.control.set_faults(
        [{"operation": LIST_OPERATION, "kind": "rate-limit", "retry_after_s": 1, "times": 1}]
    )
    started = time.monotonic()
    result = connect(emulator).list_keys("_")
    assert len(result.keys) == 2
    assert time.monotonic() - started >= 0.95
    assert requests_of(emulator, LIST_OPERATION) == 2


def test_a_429_longer_than_the_client_waits_is_raised(
    emulator: EmulatorServer, connect: Connect, requests_of: RequestsOf
) -> None:
    emulator.control.set_faults(
        [{"operation": LIST_OPERATION, "kind": "rate-limit", "retry_after_s": 120}]
    )
    with pytest.raises(RateLimitedError) as caught:
        connect(emulator, max_retry_wait=5).list_keys("_")
    assert caught.value.retry_after == pytest.approx(120, abs=1)
    assert requests_of(emulator, LIST_OPERATION) == 1


def test_dropped_read_connection_is_retried(
    emulator: EmulatorServer, connect: Connect, seed: Seed, requests_of: RequestsOf
) -> None:
    seed(emulator, 1)
    emulator.control.set_faults([{"operation": LIST_OPERATION, "kind": "drop", "times": 1}])
    assert len(connect(emulator).list_keys("_").keys) == 1


def test_read_timeout_becomes_a_transport_error(emulator: EmulatorServer, connect: Connect) -> None:
    emulator.control.set_faults([{"operation": LIST_OPERATION, "kind": "delay", "delay_ms": 6000}])
    client = connect(emulator, timeout=0.3, max_attempts=2)
    started = time.monotonic()
    with pytest.raises(TransportError, match=r"list API keys: no answer .*after 2 attempt"):
        client.list_keys("_")
    # Two attempts of 0.3 s; waiting for the answers would take 12 s.
    assert time.monotonic() - started < 6


# -- writes ------------------------------------------------------------------------------------


def test_create_sends_the_validity_it_is_given(emulator: EmulatorServer, connect: Connect) -> None:
    # The planner or apply resolves `valid_for`; the client sends valid_from/valid_to as
    # they are, whatever the server's clock says.
    emulator.control.set_clock("2030-03-01T12:00:00Z")
    client = connect(emulator)
    client.list_keys("_")  # an answer carries the server's Date
    start = datetime(2030, 3, 11, 12, tzinfo=UTC)
    created = client.create_key(
        "_",
        KeyWrite(
            name="ci",
            scopes=frozenset({"sms:message:send"}),
            allowed_ips=frozenset({"198.51.100.7/32"}),
            valid_from=start,
            valid_to=start + timedelta(days=30),
        ),
    )
    key = created.key
    assert key.name == "ci"
    assert key.allowed_ips == {"198.51.100.7/32"}
    assert key.valid_from == start
    assert key.valid_to == start + timedelta(days=30)
    assert created.secret.reveal() in emulator.control.secrets()


def test_an_unresolved_valid_for_is_never_sent(emulator: EmulatorServer, connect: Connect) -> None:
    client = connect(emulator)
    with pytest.raises(ValueError, match="valid_for"):
        client.create_key("_", KeyWrite(name="rel", valid_for=timedelta(days=30)))
    assert client.list_keys("_").keys == []


def test_create_in_a_sub_account(emulator: EmulatorServer, connect: Connect) -> None:
    sub = emulator.control.add_account("Team B")
    created = connect(emulator).create_key(sub, KeyWrite(name="sub-key"))
    assert created.key.account_id == sub


def test_update_and_get(emulator: EmulatorServer, connect: Connect, seed: Seed) -> None:
    [key_id] = seed(emulator, 1, scopeGuids=["sms:message:send"])
    client = connect(emulator)
    updated = client.update_key(
        key_id,
        account="_",
        write=KeyWrite(enabled=False, allowed_ips=frozenset({"10.0.0.0/8"})),
    )
    assert updated.enabled is False
    assert updated.allowed_ips == {"10.0.0.0/8"}
    assert updated.scopes == {"sms:message:send"}
    assert client.get_key(key_id, account="_") == updated


def test_get_unknown_key_is_none_and_update_is_not_found(
    emulator: EmulatorServer, connect: Connect
) -> None:
    client = connect(emulator)
    assert client.get_key("0000000000000000000000000000DEAD", account="_") is None
    with pytest.raises(NotFoundError):
        client.update_key("0000000000000000000000000000DEAD", account="_", write=KeyWrite())


def test_find_by_name(emulator: EmulatorServer, connect: Connect, seed: Seed) -> None:
    seed(emulator, 3, prefix="dup")
    emulator.control.seed([{"name": "dup-1"}, {"name": "dup-10"}])
    found = connect(emulator).find_by_name("_", "dup-1")
    assert len(found) == 2
    assert {k.name for k in found} == {"dup-1"}


def test_bad_request_carries_violations(emulator: EmulatorServer, connect: Connect) -> None:
    start = datetime.now(UTC) + timedelta(days=10)
    with pytest.raises(BadRequestError) as caught:
        connect(emulator).create_key(
            "_", KeyWrite(name="bad", valid_from=start, valid_to=start - timedelta(days=1))
        )
    assert caught.value.status == 400
    assert caught.value.operation == "create API key"
    assert any("validTo" in v.property for v in caught.value.violations)


@pytest.mark.parametrize("kind", ["drop", "commit-then-drop"])
def test_create_without_an_answer_is_ambiguous_and_not_retried(
    emulator: EmulatorServer, connect: Connect, requests_of: RequestsOf, kind: str
) -> None:
    emulator.control.set_faults([{"operation": CREATE, "kind": kind, "times": 1}])
    client = connect(emulator)
    with pytest.raises(AmbiguousWriteError, match=r"create API key: .*may or may not exist"):
        client.create_key("_", KeyWrite(name="maybe"))
    assert requests_of(emulator, CREATE) == 1
    committed = client.find_by_name("_", "maybe")
    assert len(committed) == (1 if kind == "commit-then-drop" else 0)


def test_create_timeout_is_ambiguous(emulator: EmulatorServer, connect: Connect) -> None:
    emulator.control.set_faults([{"operation": CREATE, "kind": "delay", "delay_ms": 1500}])
    with pytest.raises(AmbiguousWriteError):
        connect(emulator, timeout=0.3).create_key("_", KeyWrite(name="slow"))


def test_create_server_error_is_not_retried(
    emulator: EmulatorServer, connect: Connect, requests_of: RequestsOf
) -> None:
    emulator.control.set_faults([{"operation": CREATE, "kind": "status", "status": 503}])
    with pytest.raises(ServerError):
        connect(emulator).create_key("_", KeyWrite(name="x"))
    assert requests_of(emulator, CREATE) == 1


def test_update_is_retried_because_repeating_it_is_harmless(
    emulator: EmulatorServer, connect: Connect, seed: Seed, requests_of: RequestsOf
) -> None:
    [key_id] = seed(emulator, 1)
    emulator.control.set_faults([{"operation": UPDATE, "kind": "commit-then-drop", "times": 1}])
    updated = connect(emulator).update_key(key_id, account="_", write=KeyWrite(enabled=False))
    assert updated.enabled is False
    assert requests_of(emulator, UPDATE) == 2


def test_a_write_429_longer_than_a_minute_is_raised_at_once(
    emulator: EmulatorServer, connect: Connect, seed: Seed, requests_of: RequestsOf
) -> None:
    [key_id] = seed(emulator, 1)
    emulator.control.set_faults(
        [{"operation": UPDATE, "kind": "rate-limit", "retry_after_s": 3600}]
    )
    with pytest.raises(RateLimitedError) as caught:
        connect(emulator).update_key(key_id, account="_", write=KeyWrite(enabled=False))
    assert caught.value.retry_after == pytest.approx(3600, abs=2)
    assert requests_of(emulator, UPDATE) == 1


class _Sleeps:
    """A sleep that records its waits instead of waiting."""

    def __init__(self) -> None:
        self.total = 0.0

    def __call__(self, seconds: float) -> None:
        self.total += seconds


@pytest.mark.parametrize("retry_after", [0, 1, 60])
def test_a_write_429_with_a_short_retry_after_is_waited_out_and_sent_again(
    emulator: EmulatorServer, connect: Connect, requests_of: RequestsOf, retry_after: int
) -> None:
    """Protection: a 429 means the write was not made, so after a short Retry-After it is
    sent again (client._wait_out_throttle); before, every write 429 ended the apply."""
    emulator.control.set_faults(
        [{"operation": CREATE, "kind": "rate-limit", "retry_after_s": retry_after, "times": 3}]
    )
    sleeps = _Sleeps()
    client = connect(emulator, sleep=sleeps)

    created = client.create_key("_", KeyWrite(name="throttled"))

    assert created.key.name == "throttled"
    assert requests_of(emulator, CREATE) == 4  # three 429s, then the create
    assert sleeps.total == pytest.approx(3 * retry_after, abs=0.01)
    assert [k.name for k in client.list_keys("_").keys] == ["throttled"]


def test_write_429s_stop_being_waited_out_past_the_total_allowed(
    emulator: EmulatorServer, connect: Connect, requests_of: RequestsOf
) -> None:
    """Protection: the waits of one run add up to at most max_throttle_wait
    (--max-throttle-wait); a server that keeps answering 429 ends the write."""
    emulator.control.set_faults([{"operation": CREATE, "kind": "rate-limit", "retry_after_s": 10}])
    sleeps = _Sleeps()
    client = connect(emulator, sleep=sleeps, max_throttle_wait=25)

    with pytest.raises(RateLimitedError) as caught:
        client.create_key("_", KeyWrite(name="never"))

    assert caught.value.retry_after == pytest.approx(10, abs=1)
    assert sleeps.total == pytest.approx(20, abs=0.01)  # two waits fit, a third would not
    assert requests_of(emulator, CREATE) == 3


def test_daily_write_limit(make_emulator: Callable[..., EmulatorServer], connect: Connect) -> None:
    server = make_emulator(write_limit=1)
    client = connect(server)
    client.create_key("_", KeyWrite(name="one"))
    with pytest.raises(RateLimitedError):
        client.create_key("_", KeyWrite(name="two"))


# -- the server's clock -----------------------------------------------------------------------


def test_server_time_follows_the_emulator_clock(emulator: EmulatorServer, connect: Connect) -> None:
    client = connect(emulator)
    before = client.server_time()
    assert abs(before - datetime.now(UTC)) < timedelta(seconds=5)
    emulator.control.set_clock("2031-07-01T08:30:00Z")
    client.get_key("0000000000000000000000000000BEEF", account="_")
    assert abs(client.server_time() - datetime(2031, 7, 1, 8, 30, tzinfo=UTC)) < timedelta(
        seconds=3
    )
    emulator.control.advance_clock("36h")
    client.list_keys("_")
    assert abs(client.server_time() - datetime(2031, 7, 2, 20, 30, tzinfo=UTC)) < timedelta(
        seconds=3
    )


def test_closed_server_is_a_transport_error(
    make_emulator: Callable[..., EmulatorServer], connect: Connect
) -> None:
    server = make_emulator()
    client = connect(server, max_attempts=2)
    server.stop()
    with pytest.raises(TransportError, match="could not be made"):
        client.list_keys("_")


# -- answers the emulator cannot give: a scripted transport -------------------------------------


def _scripted(
    answer: Callable[[httpx.Request], httpx.Response], **options: Any
) -> tuple[InfobipClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    options.setdefault("budget", ReadBudget(10_000.0))
    client = InfobipClient(
        base_url="http://127.0.0.1:9",
        credentials=ADMIN,
        transport=httpx.MockTransport(handler),
        backoff=0.001,
        **options,
    )
    return client, seen


def _page(keys: list[dict[str, Any]], total_count: int, total_pages: int) -> dict[str, Any]:
    return {
        "apiKeys": keys,
        "paging": {
            "page": 0,
            "pageSize": 100,
            "totalCount": total_count,
            "totalPages": total_pages,
        },
    }


def _wire_key(key_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": key_id,
        "accountId": "ACC",
        "name": f"name-{key_id}",
        "apiKeySecret": f"zz-{key_id}-secret",
        **fields,
    }


def test_body_that_is_not_json() -> None:
    client, seen = _scripted(lambda r: httpx.Response(200, content=b'{"apiKeys": [ {"id": '))
    with pytest.raises(TransportError, match=r"list API keys: .*not JSON"):
        client.list_keys("_")
    assert len(seen) == 1


def test_wrong_types_in_a_page() -> None:
    client, _ = _scripted(
        lambda r: httpx.Response(200, json=_page([_wire_key("K1", enabled="yes")], 1, 1))
    )
    with pytest.raises(TransportError) as caught:
        client.list_keys("_")
    assert "enabled that is not true or false" in str(caught.value)
    assert "zz-K1-secret" not in str(caught.value)


def test_missing_paging() -> None:
    client, _ = _scripted(lambda r: httpx.Response(200, json={"apiKeys": []}))
    with pytest.raises(TransportError, match="no paging object"):
        client.list_keys("_")


def test_endless_total_pages_is_stopped_at_the_spec_limit() -> None:
    def endless(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        keys = [_wire_key(f"P{page}K{i}") for i in range(100)]
        return httpx.Response(200, json=_page(keys, 900, page + 5))

    client, seen = _scripted(endless)
    with pytest.raises(TransportError, match="claims more than 101 pages"):
        client.list_keys("_")
    assert len(seen) == 101
    assert max(int(r.url.params["page"]) for r in seen) == 100


def test_huge_body_is_refused_without_reading_it_all() -> None:
    def huge(request: httpx.Request) -> httpx.Response:
        chunks = (b" " * 65_536 for _ in range(10_000))  # 640 MB if read in full
        return httpx.Response(200, content=chunks)

    client, seen = _scripted(huge, max_body=1_000_000)
    with pytest.raises(TransportError, match="larger than 1000000 bytes"):
        client.list_keys("_")
    assert len(seen) == 1  # a huge answer is not asked for again


def test_created_key_with_unreadable_answer_is_ambiguous() -> None:
    client, _ = _scripted(lambda r: httpx.Response(200, json={"name": "x"}))
    with pytest.raises(AmbiguousWriteError, match="answer was unreadable"):
        client.create_key("_", KeyWrite(name="x"))


@pytest.mark.parametrize(
    "content", [b"<html><body>OK</body></html>", b'{"id": "K1", "name": ', b""]
)
def test_created_key_answered_with_a_body_that_is_not_json_is_ambiguous(content: bytes) -> None:
    # A success means the key exists: an unreadable body must not read as "not created".
    client, seen = _scripted(lambda r: httpx.Response(200, content=content))
    with pytest.raises(AmbiguousWriteError, match=r"may have been created.*answer was unreadable"):
        client.create_key("_", KeyWrite(name="x"))
    assert len(seen) == 1  # never sent again


def test_one_unexpected_live_value_does_not_fail_the_account_s_read() -> None:
    odd = _wire_key(
        "K2",
        allowedIPs=["10.0.0.1-10.0.0.5", "10.0.0.*"],
        permissions=["ALL"],
        scopeGuids=["brand-new:scope"],
        rotation={"every": "90d"},
    )
    page = {"apiKeys": [_wire_key("K1"), odd], "paging": {"totalCount": 2, "totalPages": 1}}
    client, _ = _scripted(lambda r: httpx.Response(200, json=page))
    keys = {key.id: key for key in client.list_keys("_").keys}
    assert set(keys) == {"K1", "K2"}
    assert keys["K2"].allowed_ips == {"10.0.0.1-10.0.0.5", "10.0.0.*"}
    assert keys["K2"].permissions == {"ALL"}
    assert keys["K2"].scopes == {"brand-new:scope"}


def test_redirects_are_not_followed() -> None:
    client, seen = _scripted(
        lambda r: httpx.Response(302, headers={"Location": "https://elsewhere.example/"})
    )
    with pytest.raises(TransportError, match="unexpected answer HTTP 302"):
        client.get_key("K1", account="_")
    assert len(seen) == 1


def test_requests_name_no_account_for_the_caller_and_quote_ids() -> None:
    client, seen = _scripted(lambda r: httpx.Response(200, json=_wire_key("K1")))
    client.get_key("a/b?c", account="_")
    assert seen[0].url.raw_path == b"/settings/2/api-keys/a%2Fb%3Fc"
    client.update_key("K1", account="SUB", write=KeyWrite(enabled=False))
    assert json.loads(seen[1].content) == {"accountId": "SUB", "enabled": False}


# -- secrets ----------------------------------------------------------------------------------


def test_secrets_never_reach_keys_reprs_or_logs(
    emulator: EmulatorServer,
    connect: Connect,
    seed: Seed,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("debug", "json")
    try:
        seed(emulator, 120)
        client = connect(emulator, UserCredentials("admin", Secret("admin"), use_session=True))
        listed = client.list_keys("_")
        created = client.create_key("_", KeyWrite(name="fresh"))
        fetched = client.get_key(created.key.id, account="_")
        client.update_key(created.key.id, account="_", write=KeyWrite(enabled=False))
        client.close()
    finally:
        configure_logging("warning")
    secrets = emulator.control.secrets()
    assert len(secrets) == 121
    captured = capsys.readouterr()
    texts = [
        captured.out,
        captured.err,
        repr(listed),
        repr(created),
        repr(fetched),
        repr(client),
        *(str(asdict(key)) for key in listed.keys),
    ]
    assert '"infobip request"' in captured.err  # the debug lines were there to look at
    for secret in secrets:
        assert all(secret not in text for text in texts)


def test_unusable_base_url_is_refused_at_once() -> None:
    with pytest.raises(CredentialsError, match="INFOBIP_BASE_URL"):
        InfobipClient(base_url="http://[::1", credentials=ADMIN)


def test_invalid_url_while_sending_is_a_transport_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.InvalidURL("bad")

    client, _ = _scripted(refuse)
    with pytest.raises(TransportError, match="check INFOBIP_BASE_URL"):
        client.list_keys("_")


# -- reading several accounts through any KeyService -------------------------------------------


class _Accounts:
    """A KeyService stand-in whose accounts answer from a table, or fail."""

    def __init__(self, failing: str | None = None, together: int = 0) -> None:
        self.failing = failing
        self.threads: set[str] = set()
        # `together` reads must be under way at once before any goes on: proof of parallel
        # reads that does not depend on how fast threads start.
        self.together = threading.Barrier(together) if together else None

    def list_keys(self, account: str, *, names: Any = (), progress: Any = None) -> AccountKeys:
        self.threads.add(threading.current_thread().name)
        if self.together is not None:
            self.together.wait(timeout=30)  # BrokenBarrierError unless all run at once
        if account == self.failing:
            raise ServerError("HTTP 500", status=500, operation="list API keys")
        return AccountKeys(account=account, keys=[], requests=1, notes=[f"names={list(names)}"])


def test_accounts_read_in_parallel_in_request_order() -> None:
    service = _Accounts(together=3)
    results = list_accounts_concurrently(
        service,
        {"b": ["x"], "a": [], "c": ["y", "z"]},
        max_workers=3,
    )
    assert list(results) == ["b", "a", "c"]
    assert results["c"].notes == ["names=['y', 'z']"]
    assert len(service.threads) == 3


def test_first_failing_account_is_raised() -> None:
    with pytest.raises(ServerError):
        list_accounts_concurrently(
            _Accounts(failing="a"),
            {"a": [], "b": []},
        )

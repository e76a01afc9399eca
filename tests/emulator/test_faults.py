"""Injected faults: statuses, 429s, delays, dropped connections (zero bytes sent) and writes
that commit but lose their answer; `times`, `probability` with a seed, and clearing."""

from __future__ import annotations

import socket
import time
import zlib

import httpx
import pytest

from infobip_iac.emulator import ControlRequestError, EmulatorControl, EmulatorServer

from .conftest import RawExchange

KEYS = "/settings/2/api-keys"
CREATE = "POST /settings/2/api-keys"


def basic_request(method: str, path: str, body: bytes = b"") -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic YWRtaW46YWRtaW4=\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def test_status_fault_answers_the_status_with_a_matching_body(
    api: httpx.Client, emulator_control: EmulatorControl
) -> None:
    emulator_control.set_faults(
        [{"operation": CREATE, "kind": "status", "status": 503, "times": 1}]
    )
    failed = api.post(KEYS, json={"name": "k"})
    assert failed.status_code == 503
    assert failed.json()["errorCode"] == "E500"
    assert api.get(KEYS).json()["apiKeys"] == []  # nothing was written
    assert api.post(KEYS, json={"name": "k"}).status_code == 200  # `times` used up


def test_status_fault_on_sessions_uses_their_body_shape(
    anonymous: httpx.Client, emulator_control: EmulatorControl
) -> None:
    emulator_control.set_faults([{"operation": "*", "kind": "status", "status": 500}])
    failed = anonymous.post("/auth/1/session", json={"username": "admin", "password": "admin"})
    assert failed.status_code == 500
    assert failed.json()["requestError"]["serviceException"]["messageId"] == "GENERAL_ERROR"


def test_rate_limit_fault_names_retry_after(
    api: httpx.Client, emulator_control: EmulatorControl
) -> None:
    emulator_control.set_faults(
        [{"operation": "GET /settings/2/api-keys", "kind": "rate-limit", "retry_after_s": 7}]
    )
    limited = api.get(KEYS)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "7"
    assert limited.json()["errorCode"] == "E429"


def test_delay_fault_delays_then_answers(
    api: httpx.Client, emulator_control: EmulatorControl
) -> None:
    emulator_control.set_faults([{"operation": "*", "kind": "delay", "delay_ms": 300}])
    started = time.monotonic()
    assert api.get(KEYS).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_drop_closes_having_sent_zero_bytes_and_does_nothing(
    emulator: EmulatorServer,
    api: httpx.Client,
    emulator_control: EmulatorControl,
    raw_exchange: RawExchange,
) -> None:
    emulator_control.set_faults([{"operation": CREATE, "kind": "drop", "times": 1}])
    assert raw_exchange(emulator, basic_request("POST", KEYS, b'{"name":"k"}')) == b""
    assert api.get(KEYS).json()["apiKeys"] == []
    assert emulator_control.stats()["dropped"] == 1


def test_commit_then_drop_writes_and_never_answers(
    emulator: EmulatorServer, api: httpx.Client, emulator_control: EmulatorControl
) -> None:
    emulator_control.set_faults([{"operation": CREATE, "kind": "commit-then-drop", "times": 1}])
    with pytest.raises(httpx.RemoteProtocolError):
        api.post(KEYS, json={"name": "lost answer"})
    keys = api.get(KEYS).json()["apiKeys"]
    assert [k["name"] for k in keys] == ["lost answer"]


def test_commit_then_drop_on_update(
    emulator: EmulatorServer,
    api: httpx.Client,
    emulator_control: EmulatorControl,
    raw_exchange: RawExchange,
) -> None:
    key = api.post(KEYS, json={"name": "k"}).json()
    emulator_control.set_faults(
        [{"operation": "PUT /settings/2/api-keys/{apiKeyId}", "kind": "commit-then-drop"}]
    )
    body = b'{"enabled": false}'
    assert raw_exchange(emulator, basic_request("PUT", f"{KEYS}/{key['id']}", body)) == b""
    emulator_control.clear_faults()
    assert api.get(f"{KEYS}/{key['id']}").json()["enabled"] is False


def test_probability_with_a_seed_is_reproducible(
    api: httpx.Client, emulator_control: EmulatorControl
) -> None:
    rule = {"operation": "GET /settings/2/api-keys", "kind": "status", "status": 500}

    def run() -> list[int]:
        emulator_control.set_faults([{**rule, "probability": 0.5}], seed=42)
        return [api.get(KEYS).status_code for _ in range(30)]

    first, second = run(), run()
    assert first == second
    assert 0 < first.count(500) < 30


def test_rules_match_their_operation_only_and_clear(
    api: httpx.Client, emulator_control: EmulatorControl
) -> None:
    emulator_control.set_faults([{"operation": CREATE, "kind": "status", "status": 500}])
    assert api.get(KEYS).status_code == 200
    assert api.post(KEYS, json={"name": "k"}).status_code == 500
    emulator_control.clear_faults()
    assert api.post(KEYS, json={"name": "k"}).status_code == 200


@pytest.mark.parametrize(
    "rule",
    [
        {"operation": "GET /nowhere", "kind": "status"},
        {"operation": "*", "kind": "explode"},
        {"operation": "*", "kind": "status", "status": 200},
        {"operation": "*", "kind": "delay", "probability": 2},
        {"operation": "*", "kind": "status", "times": "once"},
    ],
)
def test_bad_rules_are_refused_by_name(
    emulator_control: EmulatorControl, rule: dict[str, object]
) -> None:
    with pytest.raises(ControlRequestError) as refused:
        emulator_control.set_faults([rule])
    assert refused.value.status == 400
    assert "rules[0]" in str(refused.value)


def test_gzip_bomb_commits_then_answers_a_gzip_body_that_expands_past_any_cap(
    emulator: EmulatorServer,
    api: httpx.Client,
    emulator_control: EmulatorControl,
    raw_exchange: RawExchange,
) -> None:
    """The fault campaign's decompression bomb: the create is made, and its answer is a
    small gzip body that expands to 64 MB, sent whatever the client accepts."""
    emulator_control.set_faults([{"operation": CREATE, "kind": "gzip-bomb", "times": 1}])
    raw = raw_exchange(emulator, basic_request("POST", KEYS, b'{"name": "k"}'))

    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"Content-Encoding: gzip" in head, head
    assert len(body) < 200_000
    expanded = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(body, 65 * 1024 * 1024)
    assert len(expanded) == 64 * 1024 * 1024 and not expanded.strip()
    assert [k["name"] for k in api.get(KEYS).json()["apiKeys"]] == ["k"]  # it was made


def test_trickle_headers_commits_then_sends_header_lines_slowly_without_end(
    emulator: EmulatorServer, api: httpx.Client, emulator_control: EmulatorControl
) -> None:
    """The fault campaign's header trickle: each header line comes quickly enough for a
    per-read timeout, and no blank line ever ends the headers."""
    emulator_control.set_faults([{"operation": CREATE, "kind": "trickle-headers", "times": 1}])
    with socket.create_connection(("127.0.0.1", emulator.port), timeout=5) as sock:
        sock.sendall(basic_request("POST", KEYS, b'{"name": "k"}'))
        reader = sock.makefile("rb")
        lines = [reader.readline() for _ in range(4)]
    assert lines[0] == b"HTTP/1.1 200 OK\r\n"
    assert all(line.startswith(b"X-Trickle-") for line in lines[1:]), lines
    assert [k["name"] for k in api.get(KEYS).json()["apiKeys"]] == ["k"]  # it was made

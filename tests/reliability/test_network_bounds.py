"""Every network call is bounded: a server that never answers, trickles, answers malformed
JSON or wrong types, pages without end, or sends a huge body makes `plan` exit 1 with a
clear error, no traceback, within a bounded time and memory. End to end through the CLI;
the client's own tests (tests/infobip) cover each bound at its source."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from infobip_iac.cli.main import main
from reliability.hostile_server import hostile_server

MANIFEST = """\
version: 1
api_keys:
  one:
    scopes: [sms:logs:read]
    allowed_ips: [203.0.113.0/24]
"""
TIMEOUT = "0.5"
MEMORY_BOUND = 64 * 1024 * 1024

# behaviour -> (what the error says, seconds it may take, protection it checks)
CASES = {
    "never-answers": (
        "no answer (ReadTimeout) after 5 attempt(s)",
        20,
        "--timeout bounds each request, and reads are tried a bounded number of times",
    ),
    "trickles": (
        "answer took longer than the timeout",
        5,
        "the transport's deadline on a whole answer (a byte at a time never ends it)",
    ),
    "malformed-json": (
        "a body that is not JSON",
        5,
        "answers are decoded into a typed error, never a JSON exception",
    ),
    "wrong-types": (
        "malformed answer: paging.totalPages is not a non-negative integer",
        5,
        "every field of a page is checked before use",
    ),
    "endless-paging": (
        "claims more than 101 pages",
        40,
        "listing stops at the spec's last page (100) however many pages are promised",
    ),
    "huge-declared": (
        "answer declares 536870912 bytes, more than 4194304",
        5,
        "a declared length over the cap is refused before the body is read",
    ),
    "huge-chunked": (
        "answer larger than 4194304 bytes",
        5,
        "an answer without a length is cut off at the size cap while it streams",
    ),
}


@pytest.mark.parametrize("behaviour", sorted(CASES))
def test_a_hostile_server_ends_plan_with_a_clear_error_in_bounded_time_and_memory(
    behaviour: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Protection: see CASES[behaviour][2] (each case fails without its bound: it hangs,
    exhausts memory, or ends in a traceback)."""
    says, seconds, _protection = CASES[behaviour]
    (tmp_path / "keys.yaml").write_text(MANIFEST)
    monkeypatch.chdir(tmp_path)
    with hostile_server(behaviour) as server:
        monkeypatch.setenv("INFOBIP_BASE_URL", server.base_url)
        monkeypatch.setenv("INFOBIP_USERNAME", "someone")
        monkeypatch.setenv("INFOBIP_PASSWORD", "not-a-secret")
        tracemalloc.start()
        started = time.monotonic()
        try:
            code = main(["plan", "keys.yaml", "--timeout", TIMEOUT])
        finally:
            elapsed = time.monotonic() - started
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    err = capsys.readouterr().err

    assert code == 1, err
    assert "Error: list API keys: " in err and says in err, err
    assert "Traceback" not in err and "crashed" not in err
    assert elapsed < seconds, f"{behaviour} took {elapsed:.1f}s"
    assert peak < MEMORY_BOUND, f"{behaviour} peaked at {peak / 1e6:.0f} MB"
    assert server.requests <= 101


def test_a_server_that_refuses_connections_is_a_clear_error_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Protection: a connection that cannot be made is a TransportError, retried briefly."""
    with hostile_server("never-answers") as server:
        closed = server.base_url  # nothing listens there once the block ends
    (tmp_path / "keys.yaml").write_text(MANIFEST)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("INFOBIP_BASE_URL", closed)
    monkeypatch.setenv("INFOBIP_USERNAME", "someone")
    monkeypatch.setenv("INFOBIP_PASSWORD", "not-a-secret")
    started = time.monotonic()

    code = main(["plan", "keys.yaml", "--timeout", TIMEOUT])

    err = capsys.readouterr().err
    assert code == 1 and "the connection could not be made" in err, err
    assert "Traceback" not in err
    assert time.monotonic() - started < 10

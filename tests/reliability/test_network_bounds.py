"""Every network call is bounded: a server that never answers, trickles (body, status line
or headers), answers malformed JSON or wrong types, pages without end, sends a huge body or
a decompression bomb makes `plan` exit 1 with a clear error, no traceback, within a bounded
time and memory. A server that claims more keys of a declared name than paging reaches
fails the plan instead of planning a create; one that echoes the request's credentials has
them redacted; a stop signal during a create that hangs abandons it at once. End to end
through the CLI; the client's own tests (tests/infobip) cover each bound at its source."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from infobip_iac.cli.main import main
from infobip_iac.infobip import client as client_module
from infobip_iac.infobip.pacing import ReadBudget
from infobip_iac.state.journal import CreateJournal
from reliability.hostile_server import gzip_bomb, hostile_server

MANIFEST = """\
version: 1
api_keys:
  one:
    scopes: [sms:logs:read]
    allowed_ips: [203.0.113.0/24]
"""
TIMEOUT = "0.5"
MEMORY_BOUND = 64 * 1024 * 1024

# behaviour -> (what the error says, seconds it may take, protection it checks). Each
# bound is several times what the case takes on a loaded machine (under a second for the
# 15 s ones) and far from the hang or the endless reading it would be without the protection.
CASES = {
    "never-answers": (
        "no answer (ReadTimeout) after 5 attempt(s)",
        20,
        "--timeout bounds each request, and reads are tried a bounded number of times",
    ),
    "trickles": (
        "answer took longer than the timeout",
        15,
        "the transport's deadline on a whole answer (a byte at a time never ends it)",
    ),
    "malformed-json": (
        "a body that is not JSON",
        15,
        "answers are decoded into a typed error, never a JSON exception",
    ),
    "wrong-types": (
        "malformed answer: paging.totalPages is not a non-negative integer",
        15,
        "every field of a page is checked before use",
    ),
    "endless-paging": (
        "claims more than 101 pages",
        40,
        "listing stops at the spec's last page (100) however many pages are promised",
    ),
    "huge-declared": (
        "answer declares 536870912 bytes, more than 4194304",
        15,
        "a declared length over the cap is refused before the body is read",
    ),
    "huge-chunked": (
        "answer larger than 4194304 bytes",
        15,
        "an answer without a length is cut off at the size cap while it streams",
    ),
    "trickles-status": (
        "answer took longer than the timeout",
        15,
        "one deadline for the whole call: a status line a byte at a time never ends it",
    ),
    "trickles-headers": (
        "answer took longer than the timeout",
        15,
        "one deadline for the whole call: headers a line at a time never end it",
    ),
    "gzip-bomb": (
        "answer is gzip-encoded though an unencoded one was asked for",
        15,
        "answers are asked for unencoded and an encoded one is refused, never expanded",
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
    gzip_bomb()  # made before memory is measured: the server's, not the tool's
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


def _hostile_env(monkeypatch: pytest.MonkeyPatch, base_url: str, password: str) -> None:
    monkeypatch.setenv("INFOBIP_BASE_URL", base_url)
    monkeypatch.setenv("INFOBIP_USERNAME", "someone")
    monkeypatch.setenv("INFOBIP_PASSWORD", password)


def test_a_declared_name_with_more_keys_than_paging_reaches_fails_the_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Protection: a name whose keys cannot all be read fails the read (listing.by_names);
    before, the plan went on and planned a create for the name it said it had not read
    completely (a server claiming 10^11 keys in 10^9 pages, every page full)."""
    (tmp_path / "keys.yaml").write_text(MANIFEST)
    monkeypatch.chdir(tmp_path)
    # Not paced at Infobip's 10 reads a second: the pacing is not what is tested here.
    monkeypatch.setattr(client_module, "ReadBudget", lambda **kw: ReadBudget(10_000.0, **kw))
    with hostile_server("huge-account") as server:
        _hostile_env(monkeypatch, server.base_url, "not-a-secret")
        code = main(["plan", "keys.yaml", "--timeout", "5"])
    captured = capsys.readouterr()

    assert code == 1, captured
    assert "keys named 'one', more than the 10,100 paging can read" in captured.err, captured
    assert "nothing was planned" in captured.err
    assert "+ create" not in captured.out and "will be created" not in captured.out
    assert server.posts == 0


def test_credentials_a_server_echoes_back_are_redacted_from_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Protection: server text is redacted before it is printed or logged (redaction.py);
    before, a 400 that echoed the request headers printed the Basic Authorization value."""
    password = "correct-horse-battery-staple"
    basic = base64.b64encode(f"someone:{password}".encode()).decode()
    (tmp_path / "keys.yaml").write_text(MANIFEST)
    monkeypatch.chdir(tmp_path)
    with hostile_server("echoes-headers") as server:
        _hostile_env(monkeypatch, server.base_url, password)
        code = main(["plan", "keys.yaml", "--timeout", "5", "--log-level", "debug"])
    captured = capsys.readouterr()

    assert code == 1, captured
    assert "Headers received:" in captured.err, captured.err  # the echo itself is shown
    assert "[redacted]" in captured.err
    for leaked in (basic, password):
        assert leaked not in captured.err and leaked not in captured.out


def test_credentials_echoed_to_a_create_are_redacted_from_apply_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Protection: server text is redacted before apply prints it, in its progress lines
    and its closing summary alike (answers._text, and apply_cmd's printer behind it); the
    create's 400 echoes the Basic Authorization value. Before, it was printed verbatim."""
    password = "correct-horse-battery-staple"
    basic = base64.b64encode(f"someone:{password}".encode()).decode()
    (tmp_path / "keys.yaml").write_text(MANIFEST)
    monkeypatch.chdir(tmp_path)
    with hostile_server("empty-account", create_behaviour="echoes-headers") as server:
        _hostile_env(monkeypatch, server.base_url, password)
        code = main(["apply", "keys.yaml", "--auto-approve", "--timeout", "5"])
    captured = capsys.readouterr()

    assert code == 1 and server.posts == 1, captured
    assert "Headers received:" in captured.err and "[redacted]" in captured.err, captured.err
    for leaked in (basic, password):
        assert leaked not in captured.err and leaked not in captured.out


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_stop_signal_during_a_hung_create_abandons_it_and_sends_no_other_write(
    signum: int, code: int, tmp_path: Path
) -> None:
    """Protection: a stop signal held back by the create's critical block still ends the
    wait for its answer (the transport looks for it between slices of a wait and gives a
    write 1.5 s), and no request starts after it (client._call); the journal keeps the
    create for the next run.
    Before, apply waited out the create's --timeout, then looked the key up, sent a second
    POST, and exited long after the signal."""
    (tmp_path / "keys.yaml").write_text(MANIFEST)
    with hostile_server("empty-account", create_hangs=True) as server:
        env = {
            **os.environ,
            "INFOBIP_BASE_URL": server.base_url,
            "INFOBIP_USERNAME": "someone",
            "INFOBIP_PASSWORD": "not-a-secret",
        }
        apply = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "infobip_iac",
                "apply",
                "keys.yaml",
                "--auto-approve",
                "--timeout",
                "60",
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.posted.wait(30), "the create never arrived"
            signalled = time.monotonic()
            apply.send_signal(signum)
            _out, err = apply.communicate(timeout=20)
            stopped_in = time.monotonic() - signalled
        finally:
            if apply.poll() is None:
                apply.kill()
                apply.wait()
        posts, requests = server.posts, server.requests

    assert apply.returncode == code, err
    # The 1.5 s a write is given, then the exit; far from the create's 60 s --timeout, with
    # a margin for a loaded machine.
    assert stopped_in < 10, f"stopped {stopped_in:.1f}s after the signal"
    assert posts == 1 and requests == posts + 1, (posts, requests)  # one list, one create
    assert "Traceback" not in err
    pending = CreateJournal(tmp_path / ".infobip-iac" / "state.json").pending()
    assert [entry.name for entry in pending] == ["one"]

"""`infobip-iac emulator` as a user runs it: first line names the URL, serves until SIGINT or
SIGTERM, exits 0; bad options are clear errors."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from infobip_iac.cli.emulator_cmd import parse_user


@contextmanager
def running(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "infobip_iac", "emulator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        assert first.startswith("listening on http://127.0.0.1:"), first
        yield process, first.removeprefix("listening on ")
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serves_until_signalled_then_exits_0(tmp_path: Path, sig: signal.Signals) -> None:
    data = tmp_path / "emulator.json"
    with running(
        "--port",
        "0",
        "--data",
        str(data),
        "--user",
        "ops:pw:integrations manager",
        "--write-limit",
        "1",
        "--read-rate",
        "0",
        "--limit-scope",
        "caller",
    ) as (process, url):
        keys = f"{url}/settings/2/api-keys"
        assert httpx.post(keys, auth=("ops", "pw"), json={"name": "a"}).status_code == 200
        assert httpx.post(keys, auth=("ops", "pw"), json={"name": "b"}).status_code == 429
        process.send_signal(sig)
        assert process.wait(timeout=10) == 0
    assert data.is_file()


def test_bad_options_are_clear_errors() -> None:
    for args in (["--user", "nocolon"], ["--user", "a:b:Overlord"], ["--limit-scope", "x"]):
        done = subprocess.run(
            [sys.executable, "-m", "infobip_iac", "emulator", *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 1, args
        assert "Traceback" not in done.stderr
        assert "--user" in done.stderr or "--limit-scope" in done.stderr


def test_a_broken_data_file_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "emulator.json"
    broken.write_text("{oops")
    done = subprocess.run(
        [sys.executable, "-m", "infobip_iac", "emulator", "--data", str(broken)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert "not valid JSON" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ann:secret", ("ann", "secret", ("Account Manager",))),
        ("bob:pw:analyze manager", ("bob", "pw", ("Analyze Manager",))),
        ("bob:p:w:Analyze Manager", ("bob", "p:w", ("Analyze Manager",))),
        ("eve:with:colons", ("eve", "with:colons", ("Account Manager",))),
        ("empty:", ("empty", "", ("Account Manager",))),
    ],
)
def test_parse_user(text: str, expected: tuple[str, str, tuple[str, ...]]) -> None:
    user = parse_user(text)
    assert (user.username, user.password, tuple(user.roles)) == expected

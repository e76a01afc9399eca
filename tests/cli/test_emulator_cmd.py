"""`infobip-iac emulator` option checks (the server itself is tested in tests/emulator)."""

from __future__ import annotations

import signal

import pytest

from infobip_iac.cli import emulator_cmd
from infobip_iac.cli.main import main


class _MustNotStart:
    def __init__(self, **settings: object) -> None:
        raise AssertionError(f"the emulator was started with {settings}")


@pytest.mark.parametrize(
    ("option", "value"), [("--write-limit", "-3"), ("--read-rate", "-1"), ("--read-rate", "-0.5")]
)
def test_a_negative_limit_is_refused_before_the_emulator_starts(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, option: str, value: str
) -> None:
    monkeypatch.setattr(emulator_cmd, "EmulatorServer", _MustNotStart)
    assert main(["emulator", option, value]) == 1

    captured = capsys.readouterr()
    assert f"Invalid value for '{option}'" in captured.err and ">=0" in captured.err
    assert "listening on" not in captured.out


class _StopsAtOnce:
    """Stands in for the server: starts nothing, and asks the command to stop as soon as it
    has printed its start lines (the handler for SIGTERM is in place by then)."""

    base_url = "http://192.0.2.1:1"

    def __init__(self, **settings: object) -> None:
        self.stopped = False

    def start(self) -> None:
        pass

    @property
    def main_account_id(self) -> str:
        signal.raise_signal(signal.SIGTERM)
        return "MAIN"

    def stop(self) -> None:
        self.stopped = True


@pytest.mark.parametrize(
    ("host", "warned"),
    [
        ("127.0.0.1", False),
        ("::1", False),
        ("localhost", False),
        ("0.0.0.0", True),
        ("192.0.2.7", True),
        ("emulator.example", True),
    ],
)
def test_listening_beyond_loopback_warns_that_the_control_api_is_open(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, host: str, warned: bool
) -> None:
    monkeypatch.setattr(emulator_cmd, "EmulatorServer", _StopsAtOnce)
    assert main(["emulator", "--host", host]) == 0

    captured = capsys.readouterr()
    assert "listening on" in captured.out
    assert ("asks for no credentials" in captured.err) is warned, captured.err

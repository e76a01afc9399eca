"""`infobip-iac emulator` option checks (the server itself is tested in tests/emulator)."""

from __future__ import annotations

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

"""Logging: lines at the configured level and above reach stderr in the chosen format;
lines below it are dropped before structlog is even asked (see tests/cli/test_startup.py
for structlog staying unloaded when no line is written)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from infobip_iac.logs import configure_logging, get_logger


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    yield
    configure_logging("warning", "console")


def _json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_lines_below_the_level_are_dropped(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("warning", "json")
    log = get_logger("tests.logs")
    log.debug("too fine", n=1)
    log.info("still too fine", n=2)
    log.warning("worth saying", n=3)
    log.error("worse", n=4)
    captured = capsys.readouterr()
    assert captured.out == ""  # results only on stdout
    lines = _json_lines(captured.err)
    assert [(line["event"], line["level"], line["n"]) for line in lines] == [
        ("worth saying", "warning", 3),
        ("worse", "error", 4),
    ]
    assert all(isinstance(line["timestamp"], str) for line in lines)


def test_a_new_configuration_applies_to_loggers_made_before_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = get_logger("tests.logs")
    configure_logging("error", "json")
    log.warning("dropped")
    assert capsys.readouterr().err == ""
    configure_logging("debug", "console")
    log.debug("now shown", attempt=2)
    err = capsys.readouterr().err
    assert "now shown" in err and "attempt=2" in err
    assert not err.lstrip().startswith("{")  # console, not JSON


def test_an_unknown_level_name_means_warning(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("chatty", "json")
    log = get_logger("tests.logs")
    log.info("dropped")
    log.warning("kept")
    assert [line["event"] for line in _json_lines(capsys.readouterr().err)] == ["kept"]

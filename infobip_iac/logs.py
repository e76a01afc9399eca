"""Logging set-up: structlog to stderr, console or JSON lines; results go to stdout."""

from __future__ import annotations

import logging
import sys
from typing import Literal

import structlog

from infobip_iac.redaction import redact

__all__ = ["configure_logging", "get_logger"]

LogFormat = Literal["console", "json"]


class _CurrentStderr:
    """Whatever `sys.stderr` is when a line is written, not when logging was configured:
    a command run in-process (tests, embedding) may swap stderr between runs, and a logger
    holding an old, closed stream would fail on its next line."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _redact_credentials(
    logger: object, method: str, event: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """No credential reaches a log line, whoever put it in the event (see redaction.py)."""
    return {key: redact(value) if isinstance(value, str) else value for key, value in event.items()}


def configure_logging(level: str = "warning", fmt: LogFormat = "console") -> None:
    """Route every log line to stderr at `level`; stdout stays for results only."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.WARNING
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            _redact_credentials,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger(name)
    return logger

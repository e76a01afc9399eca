"""Logging set-up: structlog to stderr, console or JSON lines; results go to stdout.

structlog is imported only when a line is written: importing it loads its console renderer,
which loads rich's pretty-printer and traceback modules, about a tenth of a second of a
command's start. Most runs write no line at their default level (warning), so they never
pay for it.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, Literal

from infobip_iac.redaction import redact

if TYPE_CHECKING:
    from types import ModuleType

    from structlog.typing import EventDict

__all__ = ["Logger", "configure_logging", "get_logger"]

LogFormat = Literal["console", "json"]

# The numbers of the standard library's levels, which structlog's filtering loggers take.
_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
_WARNING = _LEVELS["warning"]

# The least level written. Until configure_logging is called (the package used as a
# library), every line goes to structlog, configured as its user left it.
_threshold = 0
# What configure_logging asked for and structlog has not been told yet.
_pending: tuple[int, LogFormat] | None = None


class _CurrentStderr:
    """Whatever `sys.stderr` is when a line is written, not when logging was configured:
    a command run in-process (tests, embedding) may swap stderr between runs, and a logger
    holding an old, closed stream would fail on its next line."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _redact_credentials(logger: object, method: str, event: EventDict) -> EventDict:
    """No credential reaches a log line, whoever put it in the event (see redaction.py)."""
    return {key: redact(value) if isinstance(value, str) else value for key, value in event.items()}


def configure_logging(level: str = "warning", fmt: LogFormat = "console") -> None:
    """Route every log line to stderr at `level`; stdout stays for results only."""
    global _threshold, _pending
    _threshold = _LEVELS.get(level.lower(), _WARNING)
    _pending = (_threshold, fmt)


def _configured_structlog() -> ModuleType:
    """structlog, configured as configure_logging last asked."""
    global _pending
    import structlog

    if _pending is not None:
        level, fmt = _pending
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
            wrapper_class=structlog.make_filtering_bound_logger(level),
            logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
            cache_logger_on_first_use=False,
        )
        _pending = None
    return structlog


class Logger:
    """A named structlog logger that loads structlog for the first line it writes."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def _write(self, level: str, event: str, fields: dict[str, Any]) -> None:
        if _LEVELS[level] < _threshold:
            return
        logger = _configured_structlog().get_logger(self._name)
        getattr(logger, level)(event, **fields)

    def debug(self, event: str, **fields: Any) -> None:
        self._write("debug", event, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._write("info", event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._write("warning", event, fields)

    def error(self, event: str, **fields: Any) -> None:
        self._write("error", event, fields)


def get_logger(name: str) -> Logger:
    return Logger(name)

"""Logging of the ``wallboard`` commands: one handler on stderr, plain lines or JSON lines (``[log]``).

``configure(settings.log)`` runs at the start of every command, before
anything logs, and gives uvicorn's loggers the same handler (the CLI passes
uvicorn ``log_config=None``, so that uvicorn does not install its own)::

    2026-11-29T10:15:00.123+08:00 INFO wallboard.web.app: wallboard web started: push every 1 s, source kafka
    {"time": "2026-11-29T10:15:00.123+08:00", "level": "INFO", "logger": "wallboard.web.app", "message": "..."}

Fields passed as ``log.info(..., extra={"actor": ..., "client": ..., "action": ...})``
are keys of their own in the JSON lines and ``key=value`` pairs after the
message in the plain ones.  ``wallboard.audit`` ("who did what from where")
is always at INFO, whatever ``[log] level`` says.  Log lines never carry a
secret (settings marked secret, tokens) nor a message's text (a broadcast's
length is logged, not its words).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import IO

import orjson

from wallboard.settings import LogSettings

AUDIT = "wallboard.audit"
"""The logger of "who did what from where" lines (always at INFO)."""
OURS = ("wallboard", "uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
"""The loggers ``[log] level`` sets; every other library's stay at WARNING."""
PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# What every LogRecord has; any other attribute came from ``extra=`` (uvicorn's ``color_message`` is the
# message again, with terminal colours).
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}
_HANDLER_NAME = "wallboard"


def _time(record: logging.LogRecord) -> str:
    """The record's time, ISO 8601 with milliseconds and the machine's UTC offset."""
    return datetime.fromtimestamp(record.created, UTC).astimezone().isoformat(timespec="milliseconds")


def extra_fields(record: logging.LogRecord) -> dict[str, object]:
    """The fields given as ``extra=`` (uvicorn's own records have none)."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD and not k.startswith("_")}


class PlainFormatter(logging.Formatter):
    """``TIME LEVEL LOGGER: MESSAGE key=value...``; a traceback follows on the next lines."""

    def __init__(self) -> None:
        super().__init__(PLAIN)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _time(record)

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        extra = extra_fields(record)
        if extra:
            line += " " + " ".join(f"{k}={_plain_value(v)}" for k, v in extra.items())
        return line


def _plain_value(value: object) -> str:
    text = str(value)
    return text if text and not any(c.isspace() or c in '"=' for c in text) else orjson.dumps(text).decode()


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, the ``extra=`` fields, and ``exc_info`` text."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in extra_fields(record).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        try:
            return orjson.dumps(entry, default=str).decode()
        except TypeError:  # what orjson refuses even with default= (an int over 64 bits, a non-str key)
            return json.dumps(entry, default=str, ensure_ascii=False)


def configure(settings: LogSettings, stream: IO[str] | None = None) -> None:
    """Send every log record to ``stream`` (stderr) in ``settings.format``, at ``settings.level``.

    Idempotent: a second call replaces the handler the first one installed.
    """
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(JsonFormatter() if settings.format == "json" else PlainFormatter())
    level = logging.getLevelNamesMapping()[settings.level.upper()]
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(max(level, logging.WARNING))  # other libraries (aiokafka...) only from WARNING
    for name in OURS:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        # uvicorn's own configuration (when something applied it) gives its loggers handlers of their own.
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger(AUDIT).setLevel(logging.INFO)

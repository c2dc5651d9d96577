"""wallboard/logs.py: the line formats, the extra fields, the levels of wallboard's, uvicorn's and the audit loggers."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from wallboard import logs
from wallboard.settings import LogSettings

TIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d"


@pytest.fixture
def stream() -> io.StringIO:
    """Where logs.configure() writes in these tests (conftest's restore_logging undoes it afterwards)."""
    return io.StringIO()


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_plain_lines_have_time_level_logger_and_the_extra_fields(stream: io.StringIO) -> None:
    logs.configure(LogSettings(format="plain", level="info"), stream)
    logging.getLogger("wallboard.web.app").info("wallboard web started: push every %g s", 1.0)
    logging.getLogger(logs.AUDIT).info(
        "broadcast set", extra={"actor": "li.lei", "client": "10.0.0.5", "action": "broadcast.set", "note": "a b"}
    )
    started, audit = lines(stream)
    assert re.fullmatch(TIME + r" INFO wallboard\.web\.app: wallboard web started: push every 1 s", started)
    assert re.fullmatch(
        TIME
        + r' INFO wallboard\.audit: broadcast set actor=li\.lei client=10\.0\.0\.5 action=broadcast\.set note="a b"',
        audit,
    )


def test_json_lines_carry_the_extra_fields_and_the_traceback(stream: io.StringIO) -> None:
    logs.configure(LogSettings(format="json", level="info"), stream)
    logging.getLogger(logs.AUDIT).info("broadcast set", extra={"actor": "li.lei", "client": "10.0.0.5", "n": 3})
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("wallboard.web.live").exception("tick failed")
    audit, failed = (json.loads(line) for line in lines(stream))
    assert re.fullmatch(TIME, audit.pop("time"))
    assert audit == {
        "level": "INFO",
        "logger": "wallboard.audit",
        "message": "broadcast set",
        "actor": "li.lei",
        "client": "10.0.0.5",
        "n": 3,
    }
    assert failed["level"] == "ERROR" and failed["message"] == "tick failed"
    assert failed["exc_info"].startswith("Traceback") and "ValueError: boom" in failed["exc_info"]


def test_json_lines_take_any_extra_value(stream: io.StringIO) -> None:
    logs.configure(LogSettings(format="json", level="info"), stream)
    log = logging.getLogger("wallboard.x")
    log.info("odd", extra={"big": 2**70, "where": ("10.0.0.5", 80), "keys": {1: "a"}})
    log.info("line\nbreak", extra={"who": "a\nb"})
    odd, multiline = (json.loads(line) for line in lines(stream))  # one line each
    assert (odd["big"], odd["where"], odd["keys"]) == (2**70, ["10.0.0.5", 80], {"1": "a"})
    assert multiline["message"] == "line\nbreak" and multiline["who"] == "a\nb"


def test_an_extra_field_never_replaces_the_lines_own(stream: io.StringIO) -> None:
    logs.configure(LogSettings(format="json", level="info"), stream)
    logging.getLogger("wallboard.x").warning("hello", extra={"level": "forged", "logger": "forged"})
    entry = json.loads(lines(stream)[0])
    assert entry["level"] == "WARNING" and entry["logger"] == "wallboard.x"


def test_levels_ours_at_the_setting_others_from_warning_audit_always_at_info(stream: io.StringIO) -> None:
    logs.configure(LogSettings(format="plain", level="error"), stream)
    logging.getLogger("wallboard.web.routes").warning("not shown")
    logging.getLogger("uvicorn.error").warning("not shown")
    logging.getLogger(logs.AUDIT).info("audit shown")
    logs.configure(LogSettings(format="plain", level="debug"), stream)  # replaces the handler, no duplicates
    logging.getLogger("wallboard.web.routes").debug("debug shown")
    logging.getLogger("aiokafka").info("not shown")
    logging.getLogger("aiokafka").warning("library warning shown")
    assert [line.split(": ", 1)[1] for line in lines(stream)] == ["audit shown", "debug shown", "library warning shown"]


def test_uvicorns_loggers_lose_their_own_handlers_and_use_ours(stream: io.StringIO) -> None:
    access = logging.getLogger("uvicorn.access")
    access.addHandler(logging.StreamHandler(io.StringIO()))  # as uvicorn's default LOGGING_CONFIG leaves it
    access.propagate = False
    logs.configure(LogSettings(format="plain", level="info"), stream)
    access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/tv", "1.1", 200)
    assert re.fullmatch(TIME + r' INFO uvicorn\.access: 127\.0\.0\.1:5000 - "GET /tv HTTP/1\.1" 200', lines(stream)[0])

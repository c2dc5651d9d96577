"""`wallboard demo` as an operator runs it: a process of its own, real uvicorn, the WebSocket protocol it passes.

The routes are tested in-process (test_routes.py); this checks the command's own wiring (click -> settings ->
simulator -> create_app -> uvicorn with ``ws_protocol()``) once, from the outside.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.servers import AppProcess


def test_wallboard_demo_serves_the_board_and_stops_on_sigterm(tmp_path: Path) -> None:
    server = AppProcess.wallboard("demo", "--scenario", "small-centre", log=tmp_path / "demo.log")
    with server:
        assert server.get("/healthz") == {"status": "ok"}
        assert server.get("/api/snapshot")["source"]["kind"] == "simulator"
        with connect(f"ws://{server.address.netloc}/ws?views=summary") as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "hello"
            assert json.loads(ws.recv(timeout=10))["type"] == "summary"
        status = server.stop()
    # uvicorn shuts down cleanly (the lifespan's end ran), then re-raises the signal it caught.
    assert status == -signal.SIGTERM
    log = (tmp_path / "demo.log").read_text()
    assert "wallboard demo (small-centre)" in log
    assert "Application shutdown complete." in log
    assert "Traceback" not in log


def test_no_authentication_on_a_public_address_refuses_to_start(tmp_path: Path) -> None:
    """`--host 0.0.0.0` with auth.mode none: the process says why and exits before it listens."""
    done = subprocess.run(
        [sys.executable, "-m", "wallboard", "demo", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert done.returncode == 1
    assert "auth.mode is 'none'" in done.stderr and "docs/security.md" in done.stderr


PLAIN_LINE = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: "
)


def _broadcast(server: AppProcess, text: str) -> None:
    request = urllib.request.Request(
        server.url + "/api/broadcast",
        data=json.dumps({"text": text}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 200


def test_the_demo_logs_plain_lines_with_time_level_and_logger(tmp_path: Path) -> None:
    server = AppProcess.wallboard("demo", "--scenario", "small-centre", log=tmp_path / "demo.log")
    with server:
        _broadcast(server, "Fire drill at 15:00")
    lines = (tmp_path / "demo.log").read_text().splitlines()
    assert lines and all(PLAIN_LINE.match(line) for line in lines), lines
    assert any(" INFO wallboard.web.app: wallboard web started: push every 1 s" in line for line in lines)
    assert any(" INFO wallboard.audit: broadcast set by local from 127.0.0.1 (19 characters)" in line for line in lines)
    assert any(" INFO uvicorn.error: Application shutdown complete." in line for line in lines)
    assert not any("Fire drill" in line for line in lines)  # a message's text is never logged
    assert not any("color_message" in line for line in lines)  # uvicorn's coloured copy of its messages


def test_the_demo_logs_json_lines_when_asked(tmp_path: Path) -> None:
    env = {"WALLBOARD_LOG__FORMAT": "json"}
    server = AppProcess.wallboard("demo", "--scenario", "small-centre", log=tmp_path / "demo.log", env=env)
    with server:
        _broadcast(server, "Fire drill at 15:00")
    entries = [json.loads(line) for line in (tmp_path / "demo.log").read_text().splitlines()]  # every line is JSON
    started = next(e for e in entries if e["message"].startswith("wallboard web started"))
    assert started["level"] == "INFO" and started["logger"] == "wallboard.web.app"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d", started["time"])
    assert any(e["logger"] == "uvicorn.access" and "/api/broadcast" in e["message"] for e in entries)


def test_a_bad_log_setting_is_refused_at_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLBOARD_")}
    env |= {"WALLBOARD_LOG__FORMAT": "xml", "WALLBOARD_LOG__LEVEL": "verbose"}
    done = subprocess.run(
        [sys.executable, "-m", "wallboard", "demo"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    assert "log.format: must be one of plain, json, got 'xml'" in done.stderr
    assert "log.level: must be one of debug, info, warning, error, got 'verbose'" in done.stderr


def test_the_server_neither_names_itself_nor_believes_forwarded_headers(tmp_path: Path) -> None:
    """uvicorn's defaults send ``server: uvicorn`` and take X-Forwarded-For from 127.0.0.1 as the client."""
    server = AppProcess.wallboard("demo", "--scenario", "small-centre", log=tmp_path / "demo.log")
    with server:
        request = urllib.request.Request(
            server.url + "/healthz", headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
        )
        # auth.mode none (the demo's) refuses what came through a proxy (docs/security.md): a 403, logged
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 403 and refused.value.headers.get("server") is None
        refused.value.close()
        with urllib.request.urlopen(server.url + "/healthz", timeout=10) as resp:
            assert resp.status == 200 and resp.headers.get("server") is None
    access = [line for line in (tmp_path / "demo.log").read_text().splitlines() if "uvicorn.access" in line]
    forwarded = [line for line in access if "GET /healthz" in line][-1]
    assert "203.0.113.7" not in forwarded and "127.0.0.1:" in forwarded

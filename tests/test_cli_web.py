"""`wallboard demo` as an operator runs it: a process of its own, real uvicorn, the WebSocket protocol it passes.

The routes are tested in-process (test_routes.py); this checks the command's own wiring (click -> settings ->
simulator -> create_app -> uvicorn with ``ws_protocol()``) once, from the outside.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

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

"""systemd's watchdog (wallboard.web.watchdog): READY at start, pings while healthy, none once the source failed.

A real AF_UNIX datagram socket stands where systemd's NOTIFY_SOCKET would be.
"""

from __future__ import annotations

import socket
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from tests.conftest import make_settings
from wallboard.errors import SourceError
from wallboard.sources.memory import ListSource
from wallboard.web import create_app
from wallboard.web.watchdog import Watchdog

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.setblocking(False)
    try:
        yield sock
    finally:
        sock.close()


def received(sock: socket.socket) -> list[str]:
    out = []
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except BlockingIOError:
            return out


def test_nothing_outside_systemd() -> None:
    assert Watchdog.from_environ({}) is None


def test_pings_at_half_the_watchdog_interval(notify_socket: socket.socket) -> None:
    dog = Watchdog.from_environ({"NOTIFY_SOCKET": notify_socket.getsockname(), "WATCHDOG_USEC": "4000000"})
    assert dog is not None and dog.interval_s == 2.0
    dog.ready()
    for t in (0.0, 0.5, 1.9, 2.0, 3.9, 4.0):
        dog.alive(t)
    assert received(notify_socket) == ["READY=1", "WATCHDOG=1", "WATCHDOG=1", "WATCHDOG=1"]


def test_without_watchdog_usec_only_ready_is_sent(notify_socket: socket.socket) -> None:
    dog = Watchdog.from_environ({"NOTIFY_SOCKET": notify_socket.getsockname()})
    assert dog is not None
    dog.ready()
    dog.alive(100.0)
    assert received(notify_socket) == ["READY=1"]


def test_a_socket_gone_is_logged_not_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    Watchdog(str(tmp_path / "nobody-listens"), 1.0).ready()
    assert "sd_notify READY failed" in caplog.text


def test_the_app_stops_pinging_once_its_source_failed_for_good(notify_socket: socket.socket) -> None:
    source = ListSource([])
    dog = Watchdog(notify_socket.getsockname(), 0.0)  # a ping every tick
    app = create_app(make_settings(web={"push_interval": 60}), source, watchdog=dog)
    with TestClient(app, base_url="http://localhost") as client:
        portal = client.portal
        assert portal is not None
        live = app.state.live
        portal.call(live.tick)
        assert received(notify_socket) == ["READY=1", "WATCHDOG=1", "WATCHDOG=1"]  # the lifespan's tick, then ours
        portal.call(source.fail, SourceError("kafka: refused by broker:9092"))
        for _ in range(100):
            if client.get("/healthz").status_code == 503:
                break
            portal.call(live.tick)
        assert client.get("/healthz").json()["reason"] == "source_failed"
        received(notify_socket)
        portal.call(live.tick)
        portal.call(live.tick)
        assert received(notify_socket) == []
    assert received(notify_socket) == ["STOPPING=1"]

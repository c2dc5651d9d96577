"""The limits of docs/deployment.md "Limits", each through a real uvicorn server and real sockets.

The app runs under uvicorn as ``wallboard serve`` runs it (tests/servers.py ``in_thread``: the options
of ``wallboard.web.serving.uvicorn_options`` for the app's settings); the clients are bare sockets
(tests/rawws.py), so that they can misbehave the way the security review's did.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests import rawws
from tests.conftest import make_settings
from tests.servers import Address, in_thread
from wallboard.settings import Settings
from wallboard.sources.memory import ListSource
from wallboard.web import create_app
from wallboard.web.live import Live


def limited(**limits: Any) -> Settings:
    return make_settings(limits=limits)


@contextmanager
def serving(settings: Settings | None = None) -> Iterator[tuple[Address, Live]]:
    app = create_app(settings or make_settings(), ListSource([]), clock=time.time)
    with in_thread(app) as address:
        yield address, app.state.live


def test_a_client_frame_over_the_limit_closes_the_socket_before_it_is_buffered() -> None:
    """uvicorn's own default buffers 16 MiB of a client's frame before the app can refuse it."""
    with serving(limited(max_client_message_bytes=4096)) as (address, _), rawws.connect(address) as sock:
        sock.sendall(rawws.frame_header(1 << 20) + b"x" * 1024)  # announces 1 MiB, sends 1 KiB of it
        _, code, reason = rawws.read_until_close(sock)
        assert code == 1009, reason


def test_a_message_at_the_limit_is_read() -> None:
    with serving(limited(max_client_message_bytes=4096)) as (address, _), rawws.connect(address) as sock:
        rawws.send_frame(sock, b'{"type": "ping", "pad": "' + b"x" * (4096 - 27) + b'"}')
        while True:
            opcode, payload = rawws.read_frame(sock)
            assert opcode == 0x1
            if b'"type":"heartbeat"' in payload:
                break


def _metric(live: Live, line: str) -> bool:
    from prometheus_client import generate_latest

    return line in generate_latest(live.metrics.registry).decode()


def _wait_held(live: Live, n: int) -> None:
    deadline = time.monotonic() + 10
    while live.admission.held != n:
        assert time.monotonic() < deadline, f"{live.admission.held} connections held, expected {n}"
        time.sleep(0.01)


def test_connections_over_the_total_are_refused_with_1013_and_the_reason() -> None:
    with serving(limited(max_ws_connections=3, max_ws_connections_per_client=0)) as (address, live):
        socks = [rawws.connect(address, source=f"127.0.0.{n}") for n in (1, 2, 3)]
        for sock in socks:
            code, first = rawws.first_message_or_close(sock)
            assert code == 0 and '"type":"hello"' in first
        with rawws.connect(address, source="127.0.0.4") as extra:
            assert rawws.first_message_or_close(extra) == (1013, "server full: 3 connections; try again later")
        assert _metric(live, 'wallboard_ws_refused_total{reason="server_full"} 1.0')
        socks.pop().close()
        _wait_held(live, 2)
        with rawws.connect(address, source="127.0.0.4") as again:  # a place is free again
            assert rawws.first_message_or_close(again)[0] == 0
        for sock in socks:
            sock.close()
        _wait_held(live, 0)


def test_connections_over_the_limit_of_one_address_are_refused_and_others_still_admitted() -> None:
    with serving(limited(max_ws_connections_per_client=2)) as (address, live):
        socks = [rawws.connect(address) for _ in range(2)]
        for sock in socks:
            assert rawws.first_message_or_close(sock)[0] == 0
        # A forged X-Forwarded-For does not make it another client (uvicorn's proxy headers are off).
        with rawws.connect(address, headers={"X-Forwarded-For": "203.0.113.9"}) as third:
            assert rawws.first_message_or_close(third) == (
                1013,
                "too many connections from this address: 2; try again later",
            )
        with rawws.connect(address, source="127.0.0.2") as other:
            assert rawws.first_message_or_close(other)[0] == 0
        assert _metric(live, 'wallboard_ws_refused_total{reason="client_full"} 1.0')
        assert live.admission.count("127.0.0.1") == 2
        for sock in socks:
            sock.close()
        _wait_held(live, 0)


def _types_within(sock: Any, seconds: float) -> list[str]:
    """The types of the text messages the server sends within ``seconds``."""
    import json

    types: list[str] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            opcode, payload = rawws.read_frame(sock)
        except TimeoutError:
            break
        if opcode == 0x1:
            types.append(json.loads(payload)["type"])
    return types


def test_a_flood_of_resyncs_gets_one_full_state_per_resync_interval() -> None:
    """The review's client made the server push 70-150 MB/s with resyncs; each is a full state of every view."""
    with serving(limited(resync_interval=1.0)) as (address, _), rawws.connect(address) as sock:
        initial = _types_within(sock, 0.5)
        assert initial[:3] == ["hello", "snapshot", "broadcast"]
        answered = 0
        end = time.monotonic() + 2.5
        while time.monotonic() < end:  # a resync every 20 ms, each in a frame (and a read) of its own
            rawws.send_frame(sock, b'{"type": "resync"}')
            answered += _types_within(sock, 0.02).count("snapshot")
        assert 2 <= answered <= 4, answered  # the first at once, then one a second

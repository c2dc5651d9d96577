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

import pytest

from tests import rawws
from tests.conftest import make_settings
from tests.servers import Address, in_thread
from wallboard.settings import Settings
from wallboard.sources.memory import ListSource
from wallboard.web import create_app
from wallboard.web.auth import token_hash
from wallboard.web.live import Live


def limited(**limits: Any) -> Settings:
    return make_settings(server=limits)


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
    # With authentication (auth.mode none refuses any forwarded request outright): a display's token.
    token = "t" * 43
    auth = {
        "mode": "required",
        "session_secret": "s" * 40,
        "tokens": {"tv": {"role": "display", "sha256": token_hash(token)}},
    }
    bearer = {"Authorization": f"Bearer {token}"}
    with serving(make_settings(server={"max_ws_connections_per_client": 2}, auth=auth)) as (address, live):
        socks = [rawws.connect(address, headers=bearer) for _ in range(2)]
        for sock in socks:
            assert rawws.first_message_or_close(sock)[0] == 0
        # A forged X-Forwarded-For does not make it another client (believed only from auth.trusted_proxies).
        with rawws.connect(address, headers={**bearer, "X-Forwarded-For": "203.0.113.9"}) as third:
            assert rawws.first_message_or_close(third) == (
                1013,
                "too many connections from this address: 2; try again later",
            )
        with rawws.connect(address, source="127.0.0.2", headers=bearer) as other:
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


# ------------------------------------------------------------------ HTTP: slow or huge requests


def _http(address: Address) -> Any:
    import socket

    sock = socket.create_connection((address.host, address.port), timeout=10)
    return sock


def _response(sock: Any, timeout: float = 10) -> tuple[bytes, bytes]:
    """(head, body) of one response with a content-length; asserts it came within ``timeout``."""
    sock.settimeout(timeout)
    head = rawws.read_head(sock)
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    return head, rawws.read_exact(sock, length)


def _closed_within(sock: Any, seconds: float) -> float:
    """Seconds until the server closed the connection (asserts it did within ``seconds``; reads and drops data)."""
    t0 = time.monotonic()
    sock.settimeout(seconds)
    while sock.recv(65536):
        pass
    return time.monotonic() - t0


GET = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
TIMEOUTS = limited(header_timeout=1, body_timeout=1)


def test_an_idle_connection_is_closed_after_the_header_timeout() -> None:
    with serving(TIMEOUTS) as (address, _), _http(address) as sock:
        assert 0.8 < _closed_within(sock, 5) < 3


def test_a_request_head_dripped_slowly_gets_408_at_the_header_timeout() -> None:
    with serving(TIMEOUTS) as (address, _), _http(address) as sock:
        import select

        t0 = time.monotonic()
        for byte in GET[:20]:  # a byte every 0.2 s (the head would take 4 s), until the server answers
            sock.sendall(bytes([byte]))
            if select.select([sock], [], [], 0.2)[0]:
                break
        head, body = _response(sock, timeout=3)
        assert 0.8 < time.monotonic() - t0 < 2
        assert head.startswith(b"HTTP/1.1 408 ")
        assert b"connection: close" in head.lower()
        assert body == b'{"error":"timeout","detail":"the request head did not arrive within 1 s"}'
        _closed_within(sock, 3)


def test_keep_alive_works_and_the_next_head_has_its_own_deadline() -> None:
    with serving(TIMEOUTS) as (address, _), _http(address) as sock:
        for _ in range(2):  # two requests on one connection, the second after a pause shorter than the timeout
            sock.sendall(GET)
            head, body = _response(sock)
            assert head.startswith(b"HTTP/1.1 200 ") and body == b'{"status":"ok"}'
            time.sleep(0.6)
        sock.sendall(GET[:10])  # then a head that never ends
        head, _ = _response(sock, timeout=3)
        assert head.startswith(b"HTTP/1.1 408 ")


def test_a_request_head_over_the_limit_gets_431() -> None:
    import select

    with serving(limited(max_header_bytes=16384)) as (address, _), _http(address) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ")
        sent = 0
        while not select.select([sock], [], [], 0.01)[0]:  # a header line that never ends, until the server answers
            sock.sendall(b"a" * 4096)
            sent += 4096
            assert sent < 1 << 20, "no answer after 1 MiB of header"
        head, body = _response(sock)
        assert head.startswith(b"HTTP/1.1 431 ")
        assert b'"error":"header_too_large"' in body
        assert sent < 64 * 1024
        _closed_within(sock, 3)


def test_a_head_under_the_limit_is_served() -> None:
    with serving(limited(max_header_bytes=16384)) as (address, _), _http(address) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * 15000 + b"\r\n\r\n")
        head, _ = _response(sock)
        assert head.startswith(b"HTTP/1.1 200 ")


def test_a_post_body_never_sent_gets_408_at_the_body_timeout() -> None:
    import logging

    errors: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            errors.append(record)

    logging.getLogger("uvicorn.error").addHandler(Collect(logging.WARNING))  # conftest's restore_logging removes it
    with serving(TIMEOUTS) as (address, live), _http(address) as sock:
        sock.sendall(
            b"POST /api/broadcast HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n" + b'{"text": '
        )
        t0 = time.monotonic()
        head, body = _response(sock, timeout=5)
        assert 0.8 < time.monotonic() - t0 < 3
        assert head.startswith(b"HTTP/1.1 408 ")
        assert body == b'{"error":"timeout","detail":"the request body did not arrive within 1 s"}'
        _closed_within(sock, 3)
        assert live.broadcast_text == ""
        # A body that comes in time is read as before.
        with _http(address) as ok:
            payload = b'{"text": "Fire drill at 15:00"}'
            ok.sendall(
                b"POST /api/broadcast HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % len(payload)
            )
            time.sleep(0.3)
            ok.sendall(payload)
            head, _ = _response(ok)
            assert head.startswith(b"HTTP/1.1 200 ") and live.broadcast_text == "Fire drill at 15:00"
    assert errors == []  # no "Exception in ASGI application" for the request that timed out


def test_without_httptools_h11_still_limits_the_head(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback (no httptools, or a uvicorn whose class moved): h11's own limit, no timeouts (one warning)."""
    import select

    monkeypatch.setattr("wallboard.web.http_limits._httptools_protocol", lambda: None)
    with serving(limited(max_header_bytes=16384)) as (address, _), _http(address) as sock:
        sock.sendall(GET)
        head, _ = _response(sock)
        assert head.startswith(b"HTTP/1.1 200 ")
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ")
        sent = 0
        while not select.select([sock], [], [], 0.01)[0]:
            sock.sendall(b"a" * 4096)
            sent += 4096
            assert sent < 1 << 20, "no answer after 1 MiB of header"
        head = rawws.read_head(sock)  # h11's answer has no content-length: it ends with the connection
        assert head.startswith(b"HTTP/1.1 400 ") and sent < 64 * 1024

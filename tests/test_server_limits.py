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

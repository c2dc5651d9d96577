"""How uvicorn serves the app: the options ``wallboard serve`` and ``demo`` pass it, from the settings.

One function, so that the command, the tests' servers and the benchmarks
(tests/servers.py) run the app the same way:

* ``ws``: uvicorn's sans-I/O WebSocket protocol plus direct frame writes
  (wallboard/web/frames.py); no per-message deflate (it compresses each
  message once per client, where the hub serialises once for all: measured
  with bench/fanout.py it made p99 six times worse at 1,000 clients).
* ``ws_max_size``: ``[server] max_client_message_bytes``.  uvicorn's default
  is 16 MiB, and a client's frame is buffered whole before the app sees it:
  32 clients each sending most of a 16 MiB frame took the server from 150 MB
  to 1 GB, though clients only ever send ``{"type": "resync"}`` and ping.
* ``proxy_headers=False``: uvicorn would otherwise take the client's address
  from ``X-Forwarded-For`` of any connection from 127.0.0.1 (its default
  ``forwarded_allow_ips``), so anything on the host could forge it; the real
  address is resolved by the app from the proxies configured as trusted.
* ``server_header=False``: no ``server: uvicorn`` in every answer.
* ``http``: uvicorn's httptools protocol with a deadline and a size limit on
  each request head, which uvicorn lacks (wallboard/web/http_limits.py).
"""

from __future__ import annotations

from typing import Any

from wallboard.settings import Settings
from wallboard.web.frames import ws_protocol
from wallboard.web.http_limits import http_protocol


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for the app under ``settings`` (host, port and logging are the caller's)."""
    http, http_options = http_protocol(settings.server)
    return {
        "http": http,
        **http_options,
        "ws": ws_protocol(),
        "ws_per_message_deflate": False,
        "ws_max_size": settings.server.max_client_message_bytes,
        "proxy_headers": False,
        "server_header": False,
    }

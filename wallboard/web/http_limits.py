"""Limits uvicorn does not enforce on HTTP requests: the size and time of a request's head, the time of its body.

What uvicorn does by itself (read from uvicorn 0.54's source):

* ``httptools`` (its choice whenever httptools is installed, as
  ``uvicorn[standard]`` does) has no limit on the size of a request head: the
  parser joins a header's pieces until the header ends, so a 100 MB header
  line is taken whole.  ``h11`` stops at ``h11_max_incomplete_event_size``
  (16 KiB by default).
* Neither arms a timer before the first request of a connection, nor while a
  head arrives: ``timeout_keep_alive`` (5 s) runs only between a response and
  the next request's first byte.  An idle socket, or a request line dripped a
  byte at a time, stays open for ever.
* Nothing limits how long a request takes to send its body: the app waits in
  ``receive()`` for as long as the client likes.

So:

* ``http_protocol(limits)`` is uvicorn's httptools protocol plus a deadline
  for each request head (``header_timeout``, from the connection or from the
  end of the previous response: 408 if the head had begun, else a plain
  close) and a limit on its size (``max_header_bytes``: 431), counted on the
  bytes received while a head is awaited, before httptools joins them.  The
  CLI passes it to uvicorn as ``http=`` (wallboard/web/serving.py).  Like
  wallboard/web/frames.py it leans on another package's internals
  (``on_headers_complete``, ``on_message_complete``, ``on_response_complete``,
  ``cycle``, ``transport``, ``loop``): where httptools or that class is
  missing it falls back, with one warning, to uvicorn's h11 protocol with
  ``h11_max_incomplete_event_size`` (the size limit, no timeouts).
* ``BodyTimeout`` is ASGI middleware: a request's body must arrive within
  ``body_timeout`` of its head, or the client gets a 408 and the app an
  ``http.disconnect``.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any, ClassVar

import anyio
import orjson

if TYPE_CHECKING:
    import asyncio

    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from wallboard.settings import ServerSettings

log = logging.getLogger(__name__)

UVICORN_PROTOCOL = "uvicorn.protocols.http.httptools_impl"
"""The module of the uvicorn class ``http_protocol`` extends."""


def _answer(status: int, phrase: str, code: str, detail: str) -> bytes:
    """A whole HTTP/1.1 response that closes the connection, with the app's JSON error shape."""
    body = orjson.dumps({"error": code, "detail": detail})
    head = (
        f"HTTP/1.1 {status} {phrase}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


@functools.cache
def _httptools_protocol() -> type[asyncio.Protocol] | None:
    """uvicorn's httptools protocol with the head's limits (class attributes set by ``http_protocol``)."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError as exc:  # no httptools, or a uvicorn that moved the class
        log.warning(
            "HTTP head timeouts are off: %s is not available (%r); uvicorn's h11 is used", UVICORN_PROTOCOL, exc
        )
        return None
    needed = ("on_headers_complete", "on_message_complete", "on_response_complete", "data_received")
    if not all(callable(getattr(HttpToolsProtocol, name, None)) for name in needed):
        log.warning("HTTP head timeouts are off: uvicorn's HttpToolsProtocol lacks one of %s", ", ".join(needed))
        return None

    class HeadLimitedProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol; a request head must come within ``head_timeout`` and ``max_head`` bytes."""

        max_head: ClassVar[int] = 16384
        head_timeout: ClassVar[float] = 10.0

        # Per connection: whether a head is awaited (from the connection, and from the end of each request's
        # message, until the next head is complete), its bytes so far, and the head's deadline.
        _awaiting_head = True
        _head_bytes = 0
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_head_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_head_timer()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            counted = self._awaiting_head
            if counted:
                self._head_bytes += len(data)
            super().data_received(data)
            # Still in the head after these bytes: all of them were head (a finished head stops the count).
            if counted and self._awaiting_head and self._head_bytes > self.max_head:
                self._refuse(
                    431,
                    "Request Header Fields Too Large",
                    "header_too_large",
                    f"the request line and headers are over {self.max_head} bytes",
                )

        def on_headers_complete(self) -> None:
            self._awaiting_head = False
            self._cancel_head_timer()
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._awaiting_head = True  # what comes next is the next request's head
            self._head_bytes = 0

        def on_response_complete(self) -> None:
            super().on_response_complete()
            # The connection stays open and nothing is in flight (no pipelined request started): the next head
            # is due within head_timeout (uvicorn closes it sooner if no byte comes: timeout_keep_alive).
            cycle = self.cycle
            if not self.transport.is_closing() and (cycle is None or cycle.response_complete):
                self._arm_head_timer()

        def _arm_head_timer(self) -> None:
            self._cancel_head_timer()
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

        def _cancel_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if self.transport.is_closing():
                return
            if self._head_bytes:
                self._refuse(
                    408, "Request Timeout", "timeout", f"the request head did not arrive within {self.head_timeout:g} s"
                )
            else:
                self.transport.close()  # an idle connection: nothing to answer

        def _refuse(self, status: int, phrase: str, code: str, detail: str) -> None:
            self._awaiting_head = False
            self._cancel_head_timer()
            if not self.transport.is_closing():
                self.transport.write(_answer(status, phrase, code, detail))
                self.transport.close()

    return HeadLimitedProtocol


def http_protocol(limits: ServerSettings) -> tuple[type[asyncio.Protocol] | str, dict[str, Any]]:
    """What to pass uvicorn: ``http=`` and the options that go with it (see the module docstring)."""
    base = _httptools_protocol()
    if base is None:
        return "h11", {"h11_max_incomplete_event_size": limits.max_header_bytes}
    attrs = {"max_head": limits.max_header_bytes, "head_timeout": limits.header_timeout}
    return type(base.__name__, (base,), attrs), {}


class BodyTimeout:
    """ASGI middleware: an HTTP request's body must arrive within ``seconds`` of its head, else 408.

    The deadline starts when the app is called (uvicorn calls it once the head
    is in) and covers every ``receive()`` until the body's last part, not the
    ones after it (a streaming response listening for a disconnect).  When it
    passes, the client gets ``408`` (if no answer was started) and the
    connection is closed; the app gets ``http.disconnect``, and what it then
    raises (Starlette: ``ClientDisconnect``) or sends is dropped here.
    """

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = anyio.current_time() + self.seconds
        body_done = False
        started = False
        timed_out = False

        async def timed_receive() -> Message:
            nonlocal body_done, timed_out
            if body_done or timed_out:
                return await receive() if not timed_out else {"type": "http.disconnect"}
            with anyio.move_on_after(max(0.0, deadline - anyio.current_time())):
                message = await receive()
                if message["type"] != "http.request" or not message.get("more_body", False):
                    body_done = True
                return message
            timed_out = True
            if not started:
                detail = f"the request body did not arrive within {self.seconds:g} s"
                body = orjson.dumps({"error": "timeout", "detail": detail})
                await send_through(
                    {
                        "type": "http.response.start",
                        "status": 408,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"),
                        ],
                    }
                )
                await send_through({"type": "http.response.body", "body": body})
            return {"type": "http.disconnect"}

        async def send_through(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        async def guarded_send(message: Message) -> None:
            if not timed_out:  # after a 408 the app's own answer (if any) has nowhere to go
                await send_through(message)

        try:
            await self.app(scope, timed_receive, guarded_send)
        except Exception:
            if not timed_out:  # the app's own failure: Starlette's error handling and uvicorn take it from here
                raise
            log.debug("request body timed out; the app's exception after http.disconnect was dropped", exc_info=True)

"""Pre-built WebSocket frames, written once per tick to every idle socket.

A server's frames are not masked, so the bytes of one text frame are the same
for every client.  The hub builds them once per message and, for a client that
is idle (nothing queued, no send in progress) and whose socket buffer is small,
hands them straight to the socket: no per-client coroutine, no ASGI round trip.
At 5,000 clients that per-client path was ~28 of the ~36 µs each client cost a
tick (docs/performance.md).  Anything else (a busy or slow client, a connection
with an extension such as per-message deflate, a server without this
protocol) takes the ordinary path through the hub's conflating slots.

The writer reaches the app as an ASGI extension, ``scope["extensions"]
["wallboard.frames"]["write"]``, set by the protocol class ``ws_protocol()``
gives: uvicorn's sans-I/O WebSocket protocol (uvicorn 0.35 and later) plus the
writer, which the CLI passes to uvicorn (``ws=``).  This is the only module that
knows uvicorn's protocol class, and it treats it as what it is, another
package's internals.  Where this uvicorn has no such class (ImportError), or
the class or its connections lack what the writer reads (``handle_connect``,
``scope``, ``transport``, ``conn.extensions``, ``writable``,
``handshake_complete``, ...: AttributeError), the fast path turns itself off
with one logged warning and every message takes the ordinary path.  Nothing is
lost: a refused direct write leaves the message in the client's slot, which
the client's writer loop sends (Hub.publish).
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:
    import asyncio

    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

log = logging.getLogger(__name__)

EXTENSION = "wallboard.frames"
WRITE_LIMIT = 64 * 1024
"""A direct write is refused while more than this many bytes wait in the socket's buffer."""
UVICORN_PROTOCOL = "uvicorn.protocols.websockets.websockets_sansio_impl"
"""The module of the uvicorn class the writer extends."""


def text_frame(text: str) -> bytes:
    """One unmasked, unfragmented WebSocket text frame (RFC 6455 section 5.2) holding ``text``."""
    payload = text.encode()
    n = len(payload)
    if n < 126:
        header = bytes((0x81, n))
    elif n < 65536:
        header = bytes((0x81, 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + n.to_bytes(8, "big")
    return header + payload


class FastPath:
    """Whether a protocol class still offers direct writes: on until its first shape error, then off for good."""

    __slots__ = ("on",)

    def __init__(self) -> None:
        self.on = True

    def fail(self, where: str, exc: BaseException) -> None:
        """Turn the fast path off, with one warning (the first failure only)."""
        if self.on:
            self.on = False
            log.warning(
                "direct WebSocket frame writes are off: uvicorn's protocol is not the shape this wallboard "
                "knows (%s: %r); every message takes the ordinary path",
                where,
                exc,
            )


@functools.cache
def frame_writing_protocol() -> type[WebSocketsSansIOProtocol] | None:
    """uvicorn's sans-I/O WebSocket protocol offering the app a direct frame writer; None (one warning) without it."""
    try:
        from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    except ImportError as exc:  # uvicorn < 0.35, or one that moved the class
        log.warning(
            "direct WebSocket frame writes are off: this uvicorn has no %s (%r); every message takes the ordinary path",
            UVICORN_PROTOCOL,
            exc,
        )
        return None
    if not callable(getattr(WebSocketsSansIOProtocol, "handle_connect", None)):
        log.warning(
            "direct WebSocket frame writes are off: uvicorn's WebSocketsSansIOProtocol has no "
            "handle_connect; every message takes the ordinary path"
        )
        return None

    class FrameWritingProtocol(WebSocketsSansIOProtocol):
        """uvicorn's sans-I/O WebSocket protocol plus ``write_frame`` (see the module docstring)."""

        fast_path: ClassVar[FastPath] = FastPath()

        def handle_connect(self, event: Any) -> None:
            super().handle_connect(event)
            fast_path = self.fast_path
            # No scope: uvicorn refused the handshake itself, and no app runs for this connection.
            scope: Any = getattr(self, "scope", None)
            if scope is None or not fast_path.on:
                return
            try:
                scope["extensions"][EXTENSION] = {"write": self.write_frame}
            except (KeyError, TypeError) as exc:
                fast_path.fail("handle_connect", exc)

        def write_frame(self, frame: bytes) -> bool:
            """Write a pre-built frame now if the connection is open, plain and not backed up; else say no."""
            fast_path = self.fast_path
            if not fast_path.on:
                return False
            try:
                transport = self.transport
                ready = (
                    self.handshake_complete
                    and not self.close_sent
                    and self.initial_response is None
                    and self.writable.is_set()
                    and not self.conn.extensions
                )
            except AttributeError as exc:  # renamed by a later uvicorn or websockets: the caller queues instead
                fast_path.fail("write_frame", exc)
                return False
            if not ready or transport.is_closing() or transport.get_write_buffer_size() > WRITE_LIMIT:
                return False
            transport.write(frame)
            return True

    return FrameWritingProtocol


def ws_protocol() -> type[asyncio.Protocol] | Literal["auto"]:
    """What to pass uvicorn as ``ws=``: the frame-writing protocol, or uvicorn's own choice where there is none."""
    protocol = frame_writing_protocol()
    return "auto" if protocol is None else protocol

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
["wallboard.frames"]["write"]``, set by ``FrameWritingProtocol``: uvicorn's
sans-I/O WebSocket protocol, which the CLI passes to uvicorn (``ws=``).  This is
the only module that knows uvicorn's protocol class.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

EXTENSION = "wallboard.frames"
WRITE_LIMIT = 64 * 1024
"""A direct write is refused while more than this many bytes wait in the socket's buffer."""


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


class FrameWritingProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol, offering the app a direct frame writer (see the module docstring)."""

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"][EXTENSION] = {"write": self.write_frame}

    def write_frame(self, frame: bytes) -> bool:
        """Write a pre-built frame now if the connection is open, plain and not backed up; else say no."""
        transport = self.transport
        if (not self.handshake_complete or self.close_sent or self.initial_response is not None
                or transport.is_closing() or not self.writable.is_set() or self.conn.extensions
                or transport.get_write_buffer_size() > WRITE_LIMIT):
            return False
        transport.write(frame)
        return True

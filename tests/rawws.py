"""A WebSocket client on a bare socket, for tests that must send what no well-behaved library would.

``connect(address)`` does the opening handshake and returns the socket; ``send_frame`` sends one masked
client frame (or only its header, announcing a length); ``read_frame`` and ``read_until_close`` read
the server's frames (never masked).
"""

from __future__ import annotations

import base64
import os
import socket
import struct

from tests.servers import Address


def read_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        assert chunk, "connection closed without a close frame"
        buf += chunk
    return buf


def read_head(sock: socket.socket) -> bytes:
    """An HTTP response head, through its blank line (read a byte at a time: nothing after it is taken)."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        assert byte, f"connection closed in the response head: {head!r}"
        head += byte
    return head


def connect(
    address: Address,
    path: str = "/ws",
    *,
    timeout: float = 10,
    rcvbuf: int | None = None,
    source: str | None = None,
    headers: dict[str, str] | None = None,
) -> socket.socket:
    """A socket past the opening handshake of ``path`` (asserts the server's 101).

    ``source``: the local address to connect from (any of 127.0.0.0/8 is this host on Linux: a second
    client address); ``headers``: more request headers.
    """
    sock = socket.socket()
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if source is not None:
        sock.bind((source, 0))
    sock.settimeout(timeout)
    sock.connect((address.host, address.port))
    key = base64.b64encode(os.urandom(16)).decode()
    more = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: {address.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{more}\r\n".encode()
    )
    head = read_head(sock)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def frame_header(length: int, opcode: int = 0x1, mask: bytes = b"\0\0\0\0") -> bytes:
    """The header of one final, masked client frame of ``length`` bytes."""
    if length < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
    elif length < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
    return head + mask


def send_frame(sock: socket.socket, payload: bytes, opcode: int = 0x1) -> None:
    """One final client frame holding ``payload`` (masked with a zero key: the bytes go as they are)."""
    sock.sendall(frame_header(len(payload), opcode) + payload)


def read_frame(sock: socket.socket) -> tuple[int, bytes]:
    """(opcode, payload) of the server's next frame."""
    b0, b1 = read_exact(sock, 2)
    length = b1 & 0x7F
    if length == 126:
        length = int.from_bytes(read_exact(sock, 2), "big")
    elif length == 127:
        length = int.from_bytes(read_exact(sock, 8), "big")
    return b0 & 0x0F, read_exact(sock, length)


def first_message_or_close(sock: socket.socket) -> tuple[int, str]:
    """(0, the first text message) of an accepted socket, or (code, reason) of a socket closed straight away."""
    opcode, payload = read_frame(sock)
    if opcode == 0x8:
        return int.from_bytes(payload[:2], "big"), payload[2:].decode()
    return 0, payload.decode()


def read_until_close(sock: socket.socket) -> tuple[list[bytes], int, str]:
    """The server's data frames until its close frame, and that frame's code and reason."""
    frames: list[bytes] = []
    while True:
        opcode, payload = read_frame(sock)
        if opcode == 0x8:
            return frames, int.from_bytes(payload[:2], "big"), payload[2:].decode()
        if opcode in (0x1, 0x2):
            frames.append(payload)

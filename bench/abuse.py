"""The security review's attacks on the server's resources, against a real ``wallboard demo``.

    python bench/abuse.py                         # every attack, against this checkout
    python bench/abuse.py frames resync           # some of them
    python bench/abuse.py --root /tmp/wb-before   # another checkout (e.g. `git archive` of an older commit)

Each attack gets a fresh ``wallboard demo`` (bank-hotline at real speed, default settings, ready on
``/readyz``) in a subprocess, and real sockets on 127.0.0.1 (docs/deployment.md "Limits" has the
figures before and after the limits):

* ``frames``: 32 WebSocket clients each announce a 16 MiB text frame and send 15 MiB of it; the
  server's RSS before and after (uvicorn buffers a frame whole before the app sees it).
* ``sockets``: 1,000 WebSockets from one address: how many get their ``hello``, how many are closed.
* ``slow``: an idle TCP socket, a request line sent a byte a second, a POST whose body never comes:
  when (if within 20 s) the server answers or closes each.
* ``header``: one header line of up to 100 MiB: the answer, and the server's peak RSS.
* ``resync``: a client sending ``{"type":"resync"}`` every 0.5 ms: the bytes a second pushed to it.
"""

from __future__ import annotations

import argparse
import base64
import os
import select
import socket
import struct
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import AppProcess, answers, free_port  # noqa: E402

DATA = ROOT / "bench" / ".data"
ATTACKS = ("frames", "sockets", "slow", "header", "resync")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return 0.0


def ws(port: int) -> socket.socket:
    """A WebSocket past its handshake (as tests/rawws.py, which asserts where this measures)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /ws HTTP/1.1\r\nHost: board\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        if not byte:
            raise ConnectionError(f"closed in the handshake: {head!r}")
        head += byte
    return sock


def read_frame(sock: socket.socket) -> tuple[int, bytes]:
    def exact(n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf

    b0, b1 = exact(2)
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(exact(2), "big")
    elif n == 127:
        n = int.from_bytes(exact(8), "big")
    return b0 & 0xF, exact(n)


def frame(payload: bytes, announced: int | None = None) -> bytes:
    """A masked (zero key) client text frame of ``payload``, or only the header announcing ``announced`` bytes."""
    n = len(payload) if announced is None else announced
    if n < 126:
        head = struct.pack("!BB", 0x81, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
    return head + b"\0\0\0\0" + payload


def frames(server: AppProcess) -> str:
    before = rss_mb(server.pid)
    held: list[socket.socket] = []
    finished = 0
    for _ in range(32):
        sock = ws(server.port)
        held.append(sock)
        try:
            sock.sendall(frame(b"", announced=16 * 1024 * 1024 - 1))
            for _ in range(15):
                sock.sendall(b"x" * (1 << 20))
            finished += 1
        except OSError:
            pass  # refused on the frame's header
    time.sleep(2)
    after = rss_mb(server.pid)
    for sock in held:
        sock.close()
    return f"32 clients x 15 MiB of a 16 MiB frame: RSS {before:.0f} -> {after:.0f} MB; {finished} sent it all"


def sockets(server: AppProcess) -> str:
    accepted, closed = 0, []
    held: list[socket.socket] = []
    for _ in range(1000):
        sock = ws(server.port)
        held.append(sock)
        opcode, payload = read_frame(sock)
        if opcode == 0x8:
            closed.append((int.from_bytes(payload[:2], "big"), payload[2:].decode()))
        else:
            accepted += 1
    for sock in held:
        sock.close()
    return f"1,000 from one address: {accepted} accepted, {len(closed)} closed" + (
        f" ({closed[0][0]} {closed[0][1]!r})" if closed else ""
    )


def slow(server: AppProcess) -> str:
    socks = {name: socket.create_connection(("127.0.0.1", server.port)) for name in ("idle", "drip", "post")}
    socks["post"].sendall(b"POST /api/broadcast HTTP/1.1\r\nHost: board\r\nContent-Length: 100\r\n\r\n")
    line = b"GET /healthz HTTP/1.1\r\n"
    t0 = time.monotonic()
    ended: dict[str, str] = {}
    dripped = 0
    while time.monotonic() - t0 < 20 and len(ended) < len(socks):
        if "drip" not in ended and dripped < len(line) and time.monotonic() - t0 >= dripped:  # a byte a second
            try:
                socks["drip"].sendall(line[dripped : dripped + 1])
            except OSError:
                pass
            dripped += 1
        readable, _, _ = select.select([s for n, s in socks.items() if n not in ended], [], [], 0.05)
        for sock in readable:
            name = next(n for n, s in socks.items() if s is sock)
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            status = data.split(b"\r\n")[0].decode()
            ended[name] = (f"answered {status!r}" if data else "closed") + f" at {time.monotonic() - t0:.1f} s"
    for sock in socks.values():
        sock.close()
    return "; ".join(f"{name}: {ended.get(name, 'still open after 20 s')}" for name in socks)


def header(server: AppProcess) -> str:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=60)
    before = peak = rss_mb(server.pid)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: board\r\nX-Big: ")
    sent = 0
    try:
        while sent < 100 << 20 and not select.select([sock], [], [], 0)[0]:
            sock.sendall(b"a" * (1 << 20))
            sent += 1 << 20
            peak = max(peak, rss_mb(server.pid))
        if sent >= 100 << 20:
            sock.sendall(b"\r\n\r\n")
        answer = repr(sock.recv(200).split(b"\r\n")[0].decode())
    except OSError as exc:
        answer = type(exc).__name__
    peak = max(peak, rss_mb(server.pid))
    sock.close()
    return f"{sent >> 20} MiB of one header line sent: answer {answer}; RSS {before:.0f} -> peak {peak:.0f} MB"


def resync(server: AppProcess) -> str:
    sock = ws(server.port)
    stop = time.monotonic() + 6

    def flood() -> None:
        message = frame(b'{"type":"resync"}')
        while time.monotonic() < stop:
            try:
                sock.sendall(message)
            except OSError:
                return
            time.sleep(0.0005)

    sender = threading.Thread(target=flood, daemon=True)
    sender.start()
    time.sleep(1)
    sock.settimeout(1)
    got = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < 5:
        try:
            data = sock.recv(1 << 20)
        except TimeoutError:
            continue
        if not data:
            break
        got += len(data)
    sock.close()
    sender.join()
    return f"a resync every 0.5 ms: {got / 5 / 1e6:.2f} MB/s pushed to that client"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("attacks", nargs="*", help=f"some of {', '.join(ATTACKS)} (default: all)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose wallboard to run")
    args = parser.parse_args()
    unknown = set(args.attacks) - set(ATTACKS)
    if unknown:
        parser.error(f"unknown attacks: {', '.join(sorted(unknown))}")
    print(f"abuse: wallboard demo of {args.root}")
    for attack in args.attacks or ATTACKS:
        port = free_port()
        # -P: not this checkout (the working directory) first on sys.path, but PYTHONPATH's.
        argv = [sys.executable, "-P", "-m", "wallboard", "demo", "--host", "127.0.0.1", "--port", str(port)]
        env = {"PYTHONPATH": str(args.root.resolve())}
        DATA.mkdir(parents=True, exist_ok=True)
        log = DATA / "abuse-server.log"
        server = AppProcess(argv, port, ready=answers("/readyz"), timeout_s=120, env=env, log=log)
        with server:
            print(f"  {attack}: {globals()[attack](server)}", flush=True)


if __name__ == "__main__":
    main()

"""Soak: the real ``wallboard serve`` for a fixed time under live traffic, churning boards, a hostile producer and
two broker restarts, on 127.0.0.1 only; then its state compared with an offline replay of the same messages.

    python bench/soak.py                              # 10 minutes, 1,000 boards, own broker in bench/.data/soak-kafka
    python bench/soak.py --minutes 2 --clients 200 --json /tmp/soak.json
    python bench/soak.py --auth-header "Authorization: Bearer TOKEN" --env WALLBOARD_AUTH__MODE=required ...

What runs, all on this machine:

1. **The broker**: the project's own (tests/broker.py), started fresh in bench/.data/soak-kafka, and restarted
   twice during the soak: at a third of it with SIGTERM (a clean shutdown), at two thirds with SIGKILL (a crash),
   each time back on the same ports with its data (``start --keep``).
2. **The day**: the centre's time zone is chosen (``Etc/GMT-N``) so that it is now ``--local-hour`` (default 9,
   the morning peak) there.  The simulator's bank-hotline day at ``--rate`` times the bank's size (default 10:
   ten times the calls, the SMS and the staff) is produced up to now at once (the day so far, record timestamps
   = the events' ts, bench/kafka_ingest.send_events), and from then on each event when its ts comes (about 110
   messages a second at 09:30), keyed and partitioned as a Java producer would.
3. **The board**: ``wallboard serve`` as a subprocess, configured by environment variables only (as in
   bench/catchup.py), plus any ``--env NAME=VALUE``.  The soak starts once it has caught up (``/readyz`` 200).
4. **The boards**: ``--clients`` WebSocket clients (default 1,000) in ``--client-procs`` processes (the
   websockets library's sans-I/O protocol on non-blocking sockets, as bench/fanout.py): ``--supervisors`` of them
   (a share) subscribe to ``snapshot,agents,intraday`` as the supervisor page does, the others to ``snapshot``
   as the displays.  Each lives for a random time (exponential, mean ``--mean-life`` s) and then goes: half
   with a close handshake, half by dropping the connection (RST); a new one takes its place.  ``--stalled``
   of them stop reading for their whole life (a hung browser), which the server must drop (slow_client_timeout).
5. **A hostile producer**: every ``--hostile-every`` s one of the limit cases, in turn, into the board's topics:
   an agent.state serving 6,500 queues, a 60,000-character queue name and agent name, names with zero-width
   and bidi-control characters, malformed JSON (truncated, not UTF-8, not an object), a 900 KB message, and a
   2 MB one (over the broker's own 1 MiB limit: the broker refuses it).  The soak reports what the board did
   with them (its rejections by reason, and whether a case made it into the snapshot).
6. **Measured**: the server's RSS and CPU every second; every 5 s its /metrics (tick duration and push latency
   histograms, clients, drops by reason, rejections, lag); the clients' connects, handshake failures, messages,
   closes by the server (by close code) and lost connections; the server log's warnings and errors.  RSS must
   flatten: the report gives the slope over the first and the last quarter and the ratio of their means.
7. **Checked at the end**: the producers stop, the board catches up (lag 0), and its /api/snapshot, /api/agents
   and /api/intraday are compared with an offline replay (``wallboard.replay``, as ``wallboard replay --at``
   runs it) of every message read back from the topics, each at the view's ``as_of`` (as bench/catchup.py does,
   minus the volatile ``source`` and ``status`` blocks): they must be equal.

Auth: with the default settings the board serves 127.0.0.1 with auth.mode 'none'.  For a board that requires
authentication, ``--auth-header`` adds a header (a bearer token, a session cookie) to every socket and every
request the soak makes, and ``--env`` sets the board's [auth] settings; ``auth_headers()`` is the one place
that builds them.

Nothing is asserted: it prints figures (and writes them as JSON with ``--json``).  Everything it started is
stopped at the end, also on errors and Ctrl+C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import os
import random
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from catchup import _cpu_s, _differences, _proc_kb, read_back, recreate_topics  # noqa: E402
from kafka_ingest import send_events  # noqa: E402

from tests import broker  # noqa: E402
from tests.servers import HOST, free_port, free_ports  # noqa: E402

DATA = ROOT / "bench" / ".data"
BROKER_DIR = DATA / "soak-kafka"
SIM_TOPICS = ("cc.calls", "cc.sms", "cc.agents")
TOPICS = ("soak.cc.calls", "soak.cc.sms", "soak.cc.agents")
SAMPLE_EVERY_S = 1.0
SCRAPE_EVERY_S = 5.0
SOURCE_GAUGES = (
    "wallboard_consumer_lag",
    "wallboard_source_ready",
    "wallboard_source_connected",
    "wallboard_source_stale",
    "wallboard_pump_up",
    "wallboard_last_event_age_seconds",
)
HANDSHAKE_TIMEOUT_S = 15.0
HANDSHAKE_BUCKETS = (0.01, 0.1, 0.5, 1, 2, 5, 10, HANDSHAKE_TIMEOUT_S)
HEAD = re.compile(rb'^\{"type":"(\w+)","seq":(\d+)')


# ---------------------------------------------------------------- auth hook


def auth_headers(args: argparse.Namespace) -> list[tuple[str, str]]:
    """The headers every socket and request of the soak carries (``--auth-header "Name: value"``): a bearer token
    or a session cookie for a board that requires authentication.  None by default (auth.mode 'none')."""
    headers = []
    for item in args.auth_header:
        name, sep, value = item.partition(":")
        if not sep:
            raise SystemExit(f"--auth-header {item!r}: expected 'Name: value'")
        headers.append((name.strip(), value.strip()))
    return headers


def http_get(url: str, args: argparse.Namespace, timeout: float = 30) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=dict(auth_headers(args)))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


# ---------------------------------------------------------------- the boards (client processes)


@dataclass
class ClientStats:
    """What one client process saw (cumulative)."""

    connects: int = 0
    handshake_failed: int = 0
    connect_failed: int = 0
    opened: int = 0
    got_hello: int = 0
    got_state: int = 0
    """Sockets whose first data message came right after hello (the full state on connect)."""
    bad_start: int = 0
    """Sockets whose first message was not hello, or whose second was not a data message."""
    messages: int = 0
    bytes: int = 0
    seq_back: int = 0
    """Data messages with a seq lower than one already seen on the same socket (never expected)."""
    closed_by_us: int = 0
    dropped_by_us: int = 0
    stalled: int = 0
    closed_by_server: dict[str, int] = field(default_factory=dict)
    """Sockets the server closed before the client meant to go, by close code."""
    lost: int = 0
    """Connections that ended without a close frame before the client meant to go."""
    handshake_s: dict[str, int] = field(default_factory=dict)
    """Seconds from connecting to the server's 101, by bucket (upper bound; "timeout": none within 15 s)."""
    active: int = 0


class Board:
    """One board: the websockets sans-I/O client protocol on a non-blocking socket (as bench/fanout.py)."""

    def __init__(self, sock: socket.socket, uri: str, headers: list[tuple[str, str]], stats: ClientStats) -> None:
        from websockets.client import ClientProtocol
        from websockets.uri import parse_uri

        self.sock = sock
        self.ws = ClientProtocol(parse_uri(uri), max_size=None)
        self.headers = headers
        self.stats = stats
        self.loop = asyncio.get_running_loop()
        self.opened: asyncio.Future[bool] = self.loop.create_future()
        self.ended: asyncio.Future[None] = self.loop.create_future()
        self.leaving = False
        self.reading = False
        self.seen = 0
        self.last_seq = -1

    def start(self) -> None:
        request = self.ws.connect()
        for name, value in self.headers:
            request.headers[name] = value
        self.ws.send_request(request)
        self.resume()
        self._flush()

    def pause(self) -> None:
        """Stop reading (a hung browser): the server's writes pile up until it drops this board."""
        if self.reading:
            self.loop.remove_reader(self.sock.fileno())
            self.reading = False

    def resume(self) -> None:
        if not self.reading and not self.ended.done():
            self.loop.add_reader(self.sock.fileno(), self.readable)
            self.reading = True

    def readable(self) -> None:
        from websockets.frames import Close, Frame, Opcode
        from websockets.http11 import Response

        try:
            data = self.sock.recv(1 << 18)
        except BlockingIOError:
            return
        except OSError:
            self._end(None)
            return
        if not data:
            self.ws.receive_eof()
        else:
            self.ws.receive_data(data)
        st = self.stats
        for event in self.ws.events_received():
            if isinstance(event, Response):
                ok = event.status_code == 101 and self.ws.handshake_exc is None
                if not self.opened.done():
                    self.opened.set_result(ok)
            elif isinstance(event, Frame):
                if event.opcode is Opcode.TEXT:
                    self._message(bytes(event.data))
                elif event.opcode is Opcode.CLOSE and not self.leaving:
                    close = Close.parse(event.data) if event.data else None
                    code = str(close.code) if close is not None else "none"
                    st.closed_by_server[code] = st.closed_by_server.get(code, 0) + 1
                    self.leaving = True  # counted; what follows is the end of that close
        self._flush()
        if not data:
            self._end(None)

    def _message(self, data: bytes) -> None:
        st = self.stats
        st.messages += 1
        st.bytes += len(data)
        head = HEAD.match(data[:80])
        kind = head.group(1) if head else b"?"
        self.seen += 1
        if self.seen == 1:
            if kind == b"hello":
                st.got_hello += 1
            else:
                st.bad_start += 1
        elif self.seen == 2:
            if kind in (b"snapshot", b"agents", b"intraday"):
                st.got_state += 1
            else:
                st.bad_start += 1
        if head is not None and kind in (b"snapshot", b"agents", b"intraday", b"heartbeat"):
            seq = int(head.group(2))
            if seq < self.last_seq and kind != b"heartbeat":
                st.seq_back += 1
            self.last_seq = max(self.last_seq, seq)

    def _flush(self) -> None:
        for chunk in self.ws.data_to_send():
            try:
                if chunk:
                    self.sock.send(chunk)  # a handshake, a pong or a close: small
                else:
                    self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                self._end(None)
                return

    def _end(self, _exc: BaseException | None) -> None:
        if self.ended.done():
            return
        if not self.leaving:
            self.stats.lost += 1
        self.pause()
        self.ended.set_result(None)
        if not self.opened.done():
            self.opened.set_result(False)

    async def leave(self, graceful: bool) -> None:
        """Go: a close handshake (up to 2 s), or a dropped connection (RST, no close frame)."""
        if self.ended.done():
            self.sock.close()
            return
        self.leaving = True
        if graceful:
            self.resume()
            self.ws.send_close(1000)
            self._flush()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.ended), 2)
            self.stats.closed_by_us += 1
        else:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.stats.dropped_by_us += 1
        self.pause()
        if not self.ended.done():
            self.ended.set_result(None)
        self.sock.close()


async def one_board(args: argparse.Namespace, stats: ClientStats, rng: random.Random, stop: asyncio.Event) -> None:
    """Boards one after the other in the same slot until ``stop``: connect, live, go."""
    loop = asyncio.get_running_loop()
    headers = auth_headers(args)
    while not stop.is_set():
        supervisor = rng.random() < args.supervisors
        views = "snapshot,agents,intraday" if supervisor else "snapshot"
        uri = f"ws://{HOST}:{args.port}/ws?views={views}"
        life = rng.expovariate(1 / args.mean_life)
        stalled = rng.random() < args.stalled
        sock = socket.socket()
        sock.setblocking(False)
        stats.connects += 1
        try:
            await asyncio.wait_for(loop.sock_connect(sock, (HOST, args.port)), 10)
        except (OSError, TimeoutError):
            sock.close()
            stats.connect_failed += 1
            await asyncio.sleep(1)
            continue
        board = Board(sock, uri, headers, stats)
        asked = time.monotonic()
        board.start()
        try:
            ok = await asyncio.wait_for(asyncio.shield(board.opened), HANDSHAKE_TIMEOUT_S)
            took = time.monotonic() - asked
            bucket = next((f"{b:g}" for b in HANDSHAKE_BUCKETS if took <= b), "more")
        except TimeoutError:
            ok, bucket = False, "timeout"
        stats.handshake_s[bucket] = stats.handshake_s.get(bucket, 0) + 1
        if not ok:
            stats.handshake_failed += 1
            board.leaving = True
            board.pause()
            sock.close()
            await asyncio.sleep(1)
            continue
        stats.opened += 1
        stats.active += 1
        if stalled:
            stats.stalled += 1
            board.pause()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(board.ended), life)
        await board.leave(graceful=rng.random() < 0.5)
        stats.active -= 1


async def clients_main(args: argparse.Namespace) -> None:
    raise_nofile()
    stats = ClientStats()
    stop = asyncio.Event()
    rng = random.Random(args.seed)
    loop = asyncio.get_running_loop()

    async def ramp() -> list[asyncio.Task[None]]:
        tasks = []
        for i in range(args.count):  # 100 new boards a second at the start, not all at once
            tasks.append(asyncio.create_task(one_board(args, stats, random.Random(rng.random()), stop)))
            if i % 10 == 9:
                await asyncio.sleep(0.1)
        return tasks

    tasks = await ramp()

    async def report() -> None:
        while not stop.is_set():
            print("stats " + json.dumps(asdict(stats)), flush=True)
            await asyncio.sleep(SCRAPE_EVERY_S)

    reporter = asyncio.create_task(report())
    await loop.run_in_executor(None, sys.stdin.readline)  # "stop"
    stop.set()
    # Sleeping boards would wait out their life: cancel them; their sockets close with the process.
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    reporter.cancel()
    print("final " + json.dumps(asdict(stats)), flush=True)


def raise_nofile() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 1 << 20, hard))


class ClientProcs:
    """The client processes, and the newest stats each printed."""

    def __init__(self, args: argparse.Namespace, port: int) -> None:
        self.procs: list[subprocess.Popen[str]] = []
        self.latest: list[dict[str, Any]] = []
        self.threads: list[threading.Thread] = []
        shares = [
            args.clients // args.client_procs + (i < args.clients % args.client_procs) for i in range(args.client_procs)
        ]
        for i, share in enumerate(shares):
            argv = [
                sys.executable,
                __file__,
                "--role",
                "clients",
                "--port",
                str(port),
                "--count",
                str(share),
                "--seed",
                str(args.seed * 1000 + i),
                "--supervisors",
                str(args.supervisors),
                "--stalled",
                str(args.stalled),
                "--mean-life",
                str(args.mean_life),
                *itertools.chain.from_iterable(("--auth-header", h) for h in args.auth_header),
            ]
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            self.procs.append(proc)
            self.latest.append({})
            thread = threading.Thread(target=self._read, args=(i, proc), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _read(self, i: int, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            kind, _, body = line.partition(" ")
            if kind in ("stats", "final"):
                self.latest[i] = json.loads(body) | {"final": kind == "final"}

    def total(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for stats in self.latest:
            for key, value in stats.items():
                if key == "final":
                    continue
                if isinstance(value, dict):
                    merged = out.setdefault(key, {})
                    for k, v in value.items():
                        merged[k] = merged.get(k, 0) + v
                else:
                    out[key] = out.get(key, 0) + value
        return out

    def stop(self) -> dict[str, Any]:
        for proc in self.procs:
            if proc.poll() is None and proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.write("stop\n")
                    proc.stdin.flush()
        for proc, thread in zip(self.procs, self.threads, strict=True):
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            thread.join(5)
        return self.total()

    def kill(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


# ---------------------------------------------------------------- the day and the producers


def zone_at(local_hour: int, now_s: float) -> tuple[str, int]:
    """The ``Etc/GMT`` zone (name, UTC offset in hours) in which it is now ``local_hour`` o'clock."""
    utc_hour = datetime.fromtimestamp(now_s, UTC).hour
    hours = (local_hour - utc_hour + 12) % 24 - 12  # -12 .. +11
    return ("Etc/GMT" if hours == 0 else f"Etc/GMT{-hours:+d}"), hours  # POSIX: Etc/GMT-8 is UTC+8


class Split:
    """A simulator's events cut at ``cut_ms``: ``before()`` yields those up to it, ``after()`` the rest."""

    def __init__(self, events: Iterator[Any], cut_ms: int) -> None:
        self.events = events
        self.cut_ms = cut_ms
        self.first_after: Any = None

    def before(self) -> Iterator[Any]:
        for ev in self.events:
            if ev.ts_ms > self.cut_ms:
                self.first_after = ev
                return
            yield ev

    def after(self) -> Iterator[Any]:
        if self.first_after is not None:
            yield self.first_after
        yield from self.events


@dataclass
class Produced:
    backfill: int = 0
    live: int = 0
    live_failed: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    hostile_sent: Counter[str] = field(default_factory=Counter)
    hostile_failed: Counter[str] = field(default_factory=Counter)
    behind_s: float = 0.0
    """The most the live producer fell behind the events' ts (an outage queues the sends)."""


async def produce_live(bootstrap: str, events: Iterator[Any], produced: Produced, stop: asyncio.Event) -> None:
    """Send each event when the wall clock reaches its ts; delivery failures are counted, not retried."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=20, request_timeout_ms=60_000)
    await producer.start()
    topic_of = dict(zip(SIM_TOPICS, TOPICS, strict=True))
    pending: set[asyncio.Future[Any]] = set()

    def done(fut: asyncio.Future[Any]) -> None:
        pending.discard(fut)
        if fut.cancelled() or fut.exception() is not None:
            produced.live_failed += 1
            produced.errors[type(fut.exception()).__name__ if not fut.cancelled() else "cancelled"] += 1

    try:
        for ev in events:
            if stop.is_set():
                break
            delay = ev.ts_ms / 1000 - time.time()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                if stop.is_set():
                    break
            else:
                produced.behind_s = max(produced.behind_s, -delay)
            try:
                fut = await producer.send(topic_of[ev.topic], value=ev.value, key=ev.key, timestamp_ms=ev.ts_ms)
            except Exception as exc:  # noqa: BLE001 - a soak counts every failure and goes on
                produced.live_failed += 1
                produced.errors[type(exc).__name__] += 1
                continue
            produced.live += 1
            pending.add(fut)
            fut.add_done_callback(done)
        if pending:
            await asyncio.wait(list(pending), timeout=90)
    finally:
        await producer.stop()


# The limit cases, in the order they are sent.  Each builder gets (now_ms, n) and returns (topic, key, value).
HOSTILE_QUEUES = [f"q{i}" for i in range(6500)]
"""Short names, so that the event stays under the contract's 64 KiB (52 KB): its queue count is what it tests."""
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _offered(now_ms: int, n: int, queue: str) -> bytes:
    return _json(
        {
            "type": "call.offered",
            "event_id": f"hostile-{uuid.uuid4().hex}",
            "ts": now_ms,
            "interaction_id": f"hostile-call-{n % 5}",
            "queue": queue,
        }
    )


def _agent(now_ms: int, n: int, *, queues: list[str], name: str = "Hostile", agent: str = "hostile-agent") -> bytes:
    return _json(
        {
            "type": "agent.state",
            "event_id": f"hostile-{uuid.uuid4().hex}",
            "ts": now_ms,
            "agent_id": agent,
            "state": ("available", "busy", "break")[n % 3],
            "queues": queues,
            "name": name,
            "team": "hostile",
        }
    )


HOSTILE_CASES: dict[str, Any] = {
    "agent with 6,500 queues": lambda now, n: ("agents", _agent(now, n, queues=HOSTILE_QUEUES)),
    "60,000-character queue name": lambda now, n: ("calls", _offered(now, n, "Q" * 60_000)),
    "60,000-character agent name": lambda now, n: (
        "agents",
        _agent(now, n, queues=["信用卡"], name="N" * 60_000, agent="hostile-long-name"),
    ),
    "zero-width and bidi queue name": lambda now, n: ("calls", _offered(now, n, f"信用卡{ZERO_WIDTH[n % 5]}")),
    "bidi agent name": lambda now, n: (
        "agents",
        _agent(now, n, queues=["信用卡"], name=f"{BIDI[n % len(BIDI)]}admin\u202c", agent="hostile-bidi"),
    ),
    "malformed JSON (truncated)": lambda now, n: ("calls", b'{"type": "call.offered", "event_id": "hostile-'),
    "malformed JSON (not UTF-8)": lambda now, n: ("sms", b'{"type": "\xff\xfe\xfd"}'),
    "malformed JSON (not an object)": lambda now, n: ("agents", b"[1, 2, 3]"),
    "900 KB message": lambda now, n: ("calls", _json({"type": "call.offered", "pad": "x" * 900_000})),
    "2 MB message (over the broker's limit)": lambda now, n: ("sms", b"{" + b" " * 2_000_000 + b"}"),
}


def hostile_cases(skip: list[str]) -> dict[str, Any]:
    """The limit cases less those whose name contains one of ``skip`` (``--skip-case``)."""
    return {name: build for name, build in HOSTILE_CASES.items() if not any(s in name for s in skip)}


async def produce_hostile(
    bootstrap: str, every_s: float, cases: dict[str, Any], produced: Produced, stop: asyncio.Event
) -> None:
    """One limit case every ``every_s`` seconds, in turn, until ``stop``."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks=1, max_request_size=4 * 1024 * 1024, request_timeout_ms=60_000
    )
    await producer.start()
    topic_of = dict(zip(("calls", "sms", "agents"), TOPICS, strict=True))
    turns = itertools.cycle(cases.items())
    try:
        for n in itertools.count():
            name, build = next(turns)
            topic, value = build(int(time.time() * 1000), n)
            produced.hostile_sent[name] += 1
            try:
                fut = await producer.send(topic_of[topic], value=value, key=b"hostile")
                await asyncio.wait_for(fut, 90)
            except Exception as exc:  # noqa: BLE001 - counted and reported: the broker refusing one is a result
                produced.hostile_failed[f"{name}: {type(exc).__name__}"] += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)
            if stop.is_set():
                return
    finally:
        await producer.stop()


# ---------------------------------------------------------------- the board


def start_serve(
    args: argparse.Namespace, bootstrap: str, zone: str, port: int, log: Path, cwd: str
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLBOARD_")}
    env.update(
        {
            "WALLBOARD_TIMEZONE": zone,
            "WALLBOARD_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "WALLBOARD_KAFKA__TOPICS": ",".join(TOPICS),
            "WALLBOARD_KAFKA__CLIENT_ID": "wallboard-soak",
            "WALLBOARD_WEB__HOST": HOST,
            "WALLBOARD_WEB__PORT": str(port),
        }
    )
    for item in args.env:
        name, _, value = item.partition("=")
        env[name] = value
    with log.open("wb") as out:
        return subprocess.Popen(
            [*args.wallboard.split(), "serve"], env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT
        )


async def wait_ready(base: str, proc: subprocess.Popen[bytes], args: argparse.Namespace, timeout_s: float) -> float:
    started = time.monotonic()
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"wallboard serve exited with {proc.returncode} before it was ready")
        with contextlib.suppress(OSError):
            status, _ = await asyncio.to_thread(http_get, base + "/readyz", args, 5)
            if status == 200:
                return time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"wallboard serve not ready after {timeout_s:.0f} s")
        await asyncio.sleep(0.5)


def scrape(base: str, args: argparse.Namespace) -> dict[str, float]:
    status, body = http_get(base + "/metrics", args, 30)
    if status != 200:
        return {}
    out: dict[str, float] = {}
    for line in body.decode().splitlines():
        if line.startswith("wallboard_") and " " in line:
            name, value = line.rsplit(" ", 1)
            with contextlib.suppress(ValueError):
                out[name] = float(value)
    return out


# ---------------------------------------------------------------- the run


async def wait_caught_up(base: str, args: argparse.Namespace, timeout_s: float) -> tuple[bool, dict[str, float]]:
    """Wait until the board has read every message (lag 0, ready); (whether it did, its last source figures)."""
    started = time.monotonic()
    state: dict[str, float] = {}
    while time.monotonic() - started < timeout_s:
        with contextlib.suppress(OSError):
            m = await asyncio.to_thread(scrape, base, args)
            state = {k.removeprefix("wallboard_"): v for k, v in m.items() if k.startswith(SOURCE_GAUGES)}
            if m.get("wallboard_consumer_lag") == 0 and m.get("wallboard_source_ready") == 1:
                await asyncio.sleep(3)  # a few ticks: every message applied and the clock moved on
                return True, state
        await asyncio.sleep(1)
    return False, state


@dataclass
class Samples:
    rss: list[tuple[float, int]] = field(default_factory=list)
    """(seconds since the soak started, RSS kB) every second."""
    cpu: list[tuple[float, float]] = field(default_factory=list)
    metrics: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    clients: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    restarts: list[dict[str, Any]] = field(default_factory=list)
    scrapes_failed: int = 0
    """/metrics requests that failed or took over 30 s (a server too busy to answer)."""


async def sample_process(pid: int, samples: Samples, t0: float, stop: asyncio.Event) -> None:
    """RSS and CPU every second, from /proc: on its own, so that a server too busy to answer HTTP loses no sample."""
    while not stop.is_set():
        rss = _proc_kb(pid, "VmRSS:")
        if rss is None:
            return
        now = time.monotonic() - t0
        samples.rss.append((now, rss))
        samples.cpu.append((now, _cpu_s(pid)))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SAMPLE_EVERY_S)


async def scrape_metrics(
    base: str, args: argparse.Namespace, clients: ClientProcs, samples: Samples, t0: float, stop: asyncio.Event
) -> None:
    """/metrics and the boards' counts every SCRAPE_EVERY_S (a scrape that fails or takes over 30 s is counted)."""
    while not stop.is_set():
        started = time.monotonic()
        samples.clients.append((started - t0, clients.total()))
        try:
            samples.metrics.append((started - t0, await asyncio.to_thread(scrape, base, args)))
        except OSError:
            samples.scrapes_failed += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, started + SCRAPE_EVERY_S - time.monotonic()))


async def restart_broker(config: broker.Config, kill: bool, samples: Samples, t0: float) -> None:
    at = time.monotonic()
    await asyncio.to_thread(broker.stop, BROKER_DIR, config, kill=kill)
    down = time.monotonic()
    await asyncio.to_thread(broker.start, BROKER_DIR, config, keep=True)
    samples.restarts.append(
        {
            "at_s": round(at - t0, 1),
            "how": "SIGKILL" if kill else "SIGTERM",
            "stop_s": round(down - at, 1),
            "down_s": round(time.monotonic() - at, 1),
        }
    )
    print(
        f"  broker restarted ({'SIGKILL' if kill else 'SIGTERM'}) at {at - t0:.0f} s, "
        f"down {time.monotonic() - at:.1f} s",
        file=sys.stderr,
    )


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    from wallboard.simulator import Simulator, load_scenario

    raise_nofile()
    # aiokafka logs every failed reconnect while the broker is down: the soak counts the failures instead.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    DATA.mkdir(parents=True, exist_ok=True)
    port_k, port_c = free_ports(2)
    config = broker.Config.from_environ(
        {
            **os.environ,
            "KAFKA_WATCH_PID": str(os.getpid()),
            "KAFKA_PORT": str(port_k),
            "KAFKA_CONTROLLER_PORT": str(port_c),
        }
    )
    now_s = time.time()
    zone, _ = zone_at(args.local_hour, now_s)
    tz = ZoneInfo(zone)
    local = datetime.fromtimestamp(now_s, tz)
    if local.hour * 60 + local.minute + args.minutes + 15 >= 24 * 60:
        raise SystemExit("the soak would cross the local midnight: choose an earlier --local-hour")
    result: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "zone": zone,
        "local_start": local.strftime("%H:%M"),
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
        "args": {k: v for k, v in vars(args).items() if k not in ("role",)},
    }
    print(
        f"soak: {args.minutes:g} min, {args.clients} boards, bank-hotline x{args.rate:g}, local {local:%H:%M} "
        f"({zone}), load {os.getloadavg()[0]:.1f}",
        file=sys.stderr,
    )
    running = await asyncio.to_thread(broker.start, BROKER_DIR, config, keep=False)
    bootstrap = running.bootstrap
    serve: subprocess.Popen[bytes] | None = None
    clients: ClientProcs | None = None
    log = DATA / "soak-serve.log"
    cwd = tempfile.mkdtemp(prefix="soak-cwd-")
    try:
        await recreate_topics(bootstrap, list(TOPICS), [])
        sim = Simulator(load_scenario("bank-hotline"), seed=args.seed, day=local.date(), tz=tz, scale=args.rate)
        split = Split(iter(sim.stream()), int(time.time() * 1000))
        produced = Produced()
        t = time.monotonic()
        produced.backfill = await send_events(bootstrap, split.before(), TOPICS)
        result["backfill"] = {"messages": produced.backfill, "seconds": round(time.monotonic() - t, 1)}
        print(
            f"  the day so far: {produced.backfill:,} messages produced in {time.monotonic() - t:.0f} s",
            file=sys.stderr,
        )

        # The live traffic starts before the board, so that the board catches up with a day that goes on.
        stop_producers = asyncio.Event()
        live = asyncio.create_task(produce_live(bootstrap, split.after(), produced, stop_producers))
        port = free_port()
        base = f"http://{HOST}:{port}"
        serve = start_serve(args, bootstrap, zone, port, log, cwd)
        result["catch_up_s"] = round(await wait_ready(base, serve, args, 900), 1)
        print(f"  wallboard serve ready after {result['catch_up_s']:.0f} s", file=sys.stderr)
        cases = hostile_cases(args.skip_case)
        result["hostile_skipped"] = [name for name in HOSTILE_CASES if name not in cases]
        hostile = asyncio.create_task(produce_hostile(bootstrap, args.hostile_every, cases, produced, stop_producers))

        t0 = time.monotonic()
        cpu0 = _cpu_s(serve.pid)
        clients = ClientProcs(args, port)
        samples = Samples()
        stop_monitor = asyncio.Event()
        watchers = [
            asyncio.create_task(sample_process(serve.pid, samples, t0, stop_monitor)),
            asyncio.create_task(scrape_metrics(base, args, clients, samples, t0, stop_monitor)),
        ]
        duration = args.minutes * 60
        for fraction, kill in ((1 / 3, False), (2 / 3, True)):
            await asyncio.sleep(max(0.0, t0 + duration * fraction - time.monotonic()))
            await restart_broker(config, kill, samples, t0)
        await asyncio.sleep(max(0.0, t0 + duration - time.monotonic()))
        soak_s = time.monotonic() - t0
        cpu_soak = _cpu_s(serve.pid) - cpu0
        stop_monitor.set()
        await asyncio.gather(*watchers)
        result["clients"] = await asyncio.to_thread(clients.stop)
        clients = None

        # The end: no more traffic; once the board has read everything, compare it with a replay.
        stop_producers.set()
        await asyncio.gather(live, hostile)
        caught_up, end_state = await wait_caught_up(base, args, 300)
        result["caught_up"] = caught_up
        result["end_state"] = end_state
        views: dict[str, Any] = {}
        for name in ("snapshot", "agents", "intraday"):
            status, body = await asyncio.to_thread(http_get, f"{base}/api/{name}", args, 60)
            views[name] = json.loads(body) if status == 200 else {"error": status}
        result["final_metrics"] = await asyncio.to_thread(scrape, base, args)
        values = await read_back(bootstrap, list(TOPICS))
        if caught_up:
            result["compare"] = compare(views, values, zone, args.env)
        else:
            result["compare"] = {
                "equal": False,
                "why": f"the board never caught up after the producers stopped: {end_state}",
            }
        result["messages_in_topics"] = len(values)
        result["produced"] = {
            "backfill": produced.backfill,
            "live": produced.live,
            "live_failed": produced.live_failed,
            "errors": dict(produced.errors),
            "most_behind_s": round(produced.behind_s, 1),
            "hostile_sent": dict(produced.hostile_sent),
            "hostile_failed": dict(produced.hostile_failed),
        }
        queues: dict[str, Any] = views["snapshot"].get("queues") or {}
        result["snapshot_queues"] = sorted(queues)[:20]
        result["snapshot_queue_count"] = len(queues)
        result["soak_s"] = round(soak_s, 1)
        result["server_cpu_s"] = round(cpu_soak, 1)
        result["load_after"] = os.getloadavg()
        result["samples"] = {
            "rss": samples.rss,
            "cpu": samples.cpu,
            "metrics": samples.metrics,
            "clients": samples.clients,
        }
        result["restarts"] = samples.restarts
        result["scrapes_failed"] = samples.scrapes_failed
    finally:
        if clients is not None:
            clients.kill()
        if serve is not None and serve.poll() is None:
            serve.send_signal(signal.SIGINT)
            try:
                serve.wait(30)
            except subprocess.TimeoutExpired:
                serve.kill()
                serve.wait()
        await asyncio.to_thread(broker.stop, BROKER_DIR, config)
    result["server_log"] = server_log(log)
    return result


def compare(views: dict[str, Any], values: list[bytes], zone: str, env: list[str]) -> dict[str, Any]:
    """Each served view vs an offline replay of every message at the view's as_of (minus source and status).

    The replay has the board's metric settings: its time zone and the ``--env`` given to it (the [limits] of a
    10x centre's roster, say), so that both run the same contract and engine."""
    from wallboard.levels import add_levels
    from wallboard.replay import replay
    from wallboard.settings import load_settings

    given = dict(item.partition("=")[::2] for item in env)
    environ = {k: v for k, v in given.items() if k.startswith("WALLBOARD_") and k != "WALLBOARD_CONFIG"}
    metrics = load_settings(environ={**environ, "WALLBOARD_TIMEZONE": zone}).metrics
    if any("error" in v for v in views.values()):
        return {"equal": False, "why": f"a view could not be read: {[k for k, v in views.items() if 'error' in v]}"}
    at = {name: int(datetime.fromisoformat(v["as_of"]).timestamp()) for name, v in views.items()}
    engine = replay(values, metrics, at["snapshot"])
    want_snapshot: dict[str, Any] = dict(add_levels(engine.snapshot(), metrics))
    want_status = want_snapshot.pop("status")
    engine.advance(at["agents"])
    want_agents = engine.agents()
    engine.advance(at["intraday"])
    want_intraday = engine.intraday()
    got = {
        "snapshot": {k: v for k, v in views["snapshot"].items() if k not in ("source", "status")},
        "agents": {k: v for k, v in views["agents"].items() if k != "source"},
        "intraday": {k: v for k, v in views["intraday"].items() if k != "source"},
    }
    want = json.loads(json.dumps({"snapshot": want_snapshot, "agents": want_agents, "intraday": want_intraday}))
    differences = _differences(got, want)
    if differences:
        (DATA / "soak-served.json").write_text(json.dumps(got, indent=1, ensure_ascii=False))
        (DATA / "soak-replay.json").write_text(json.dumps(want, indent=1, ensure_ascii=False))
    got_status = views["snapshot"]["status"]
    return {
        "equal": not differences,
        "differences": len(differences),
        "first_differences": differences[:5],
        "as_of": {k: v["as_of"] for k, v in views.items()},
        "too_late": [got_status["too_late"], want_status["too_late"]],
        "events": [got_status["events"], want_status["events"]],
        "rejected": [got_status["rejected"], want_status["rejected"]],
    }


ACCESS_LINES = ('"GET /', '"WebSocket /', "connection open", "connection closed")


def server_log(path: Path) -> dict[str, Any]:
    """The serve log without its access lines: tracebacks, and each other kind of line (digits folded) with a count."""
    counts: Counter[str] = Counter()
    tracebacks = 0
    for line in path.read_text(errors="replace").splitlines():
        if not line.strip() or any(a in line for a in ACCESS_LINES) or line.startswith(("INFO:", "  ")):
            continue
        if line.startswith("Traceback"):
            tracebacks += 1
            continue
        counts[re.sub(r"\d+", "N", line)[:200]] += 1
    return {"tracebacks": tracebacks, "lines": dict(counts.most_common(12))}


# ---------------------------------------------------------------- the report


def slope_per_min(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (s, value) points, per minute."""
    n = len(points)
    if n < 2:
        return float("nan")
    mx = sum(p[0] for p in points) / n
    my = sum(p[1] for p in points) / n
    sxx = sum((p[0] - mx) ** 2 for p in points)
    return 60 * sum((p[0] - mx) * (p[1] - my) for p in points) / sxx if sxx else float("nan")


def quarters(points: list[tuple[float, Any]], total_s: float) -> list[list[tuple[float, Any]]]:
    return [[p for p in points if q * total_s / 4 <= p[0] < (q + 1) * total_s / 4] for q in range(4)]


def histogram(before: dict[str, float], after: dict[str, float], prefix: str) -> dict[str, float]:
    """Count, mean, and the upper bounds of the buckets holding p50, p99 and the largest, over a window."""
    count = after.get(prefix + "_count", 0) - before.get(prefix + "_count", 0)
    total = after.get(prefix + "_sum", 0) - before.get(prefix + "_sum", 0)
    buckets = []
    for name, value in after.items():
        m = re.match(re.escape(prefix) + r'_bucket\{le="([^"]+)"\}', name)
        if m:
            buckets.append((float(m.group(1)), value - before.get(name, 0)))
    buckets.sort()
    out = {"count": count, "mean_ms": 1000 * total / count if count else float("nan")}
    for label, q in (("p50_le_ms", 0.5), ("p99_le_ms", 0.99), ("max_le_ms", 1.0)):
        out[label] = next((1000 * le for le, cum in buckets if count and cum >= q * count), float("nan"))
    return out


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    s = result["samples"]
    total = result["soak_s"]
    rss = [(t, kb / 1024) for t, kb in s["rss"]]
    q = quarters(rss, total)
    mean = [sum(v for _, v in part) / len(part) if part else float("nan") for part in q]
    metrics = s["metrics"]
    mq = quarters(metrics, total)
    ticks = []
    for part in mq:
        if len(part) >= 2:
            ticks.append(histogram(part[0][1], part[-1][1], "wallboard_tick_duration_seconds"))
    first, last = (metrics[0][1], metrics[-1][1]) if metrics else ({}, {})
    final = result.get("final_metrics", {})
    dropped = {k.split('"')[1]: v for k, v in final.items() if k.startswith("wallboard_ws_dropped_total{")}
    rejected = {k.split('"')[1]: v for k, v in final.items() if k.startswith("wallboard_rejected_total{")}
    clients_peak = max((m.get("wallboard_ws_clients", 0) for _, m in metrics), default=0)
    stale = [t for t, m in metrics if m.get("wallboard_source_stale") == 1]
    return {
        "rss_mib": {
            "start": rss[0][1] if rss else None,
            "end": rss[-1][1] if rss else None,
            "max": max((v for _, v in rss), default=None),
            "quarter_means": mean,
            "first_quarter_slope_mib_per_min": slope_per_min(q[0]),
            "last_quarter_slope_mib_per_min": slope_per_min(q[3]),
            "last_over_first_quarter": mean[3] / mean[0] if mean[0] else float("nan"),
        },
        "ticks_by_quarter": ticks,
        "ticks_whole": histogram(first, last, "wallboard_tick_duration_seconds"),
        "push_latency_whole": histogram(first, last, "wallboard_push_latency_seconds"),
        "server_cpu_pct": 100 * result["server_cpu_s"] / total,
        "ws_clients_peak": clients_peak,
        "stale_scrapes": len(stale),
        "stale_first_last_s": [stale[0], stale[-1]] if stale else None,
        "lag_max": max((m.get("wallboard_consumer_lag", 0) for _, m in metrics), default=0),
        "ws_connections_total": final.get("wallboard_ws_connections_total"),
        "ws_dropped_by_server": dropped,
        "rejected_by_reason": rejected,
    }


def report(result: dict[str, Any]) -> None:
    summary = result["summary"]
    r = summary["rss_mib"]
    c = result["clients"]
    p = result["produced"]
    cmp = result["compare"]
    print(
        f"\nSoak of wallboard serve: {result['soak_s'] / 60:.1f} min from local {result['local_start']} "
        f"({result['zone']}), bank-hotline x{result['args']['rate']:g}, {result['args']['clients']} boards "
        f"({result['args']['supervisors']:.0%} supervisors, mean life {result['args']['mean_life']:g} s), "
        f"{result['cpus']} CPUs, load {result['load_before'][0]:.1f} before / {result['load_after'][0]:.1f} after"
    )
    print(f"  command: {result['command']}")
    print(
        f"  the day so far: {result['backfill']['messages']:,} messages; catch-up {result['catch_up_s']:.0f} s; "
        f"live: {p['live']:,} sent ({p['live_failed']:,} failed: {p['errors'] or 'none'}), at most "
        f"{p['most_behind_s']:.0f} s behind"
    )
    for restart in result["restarts"]:
        print(f"  broker restart ({restart['how']}) at {restart['at_s']:.0f} s: down {restart['down_s']:.1f} s")
    print(
        f"  RSS MiB: start {r['start']:.0f}, end {r['end']:.0f}, max {r['max']:.0f}; quarter means "
        + " / ".join(f"{v:.0f}" for v in r["quarter_means"])
        + f"; slope first quarter {r['first_quarter_slope_mib_per_min']:+.2f} MiB/min, last quarter "
        f"{r['last_quarter_slope_mib_per_min']:+.2f} MiB/min; last/first quarter {r['last_over_first_quarter']:.3f}"
    )
    print(
        f"  server CPU: {summary['server_cpu_pct']:.0f}% of one core over the soak; /metrics scrapes "
        f"{len(result['samples']['metrics'])} answered, {result['scrapes_failed']} failed or over 30 s"
    )
    t = summary["ticks_whole"]
    print(
        f"  ticks: {t['count']:.0f}, mean {t['mean_ms']:.1f} ms, p50 <= {t['p50_le_ms']:g} ms, p99 <= "
        f"{t['p99_le_ms']:g} ms, max <= {t['max_le_ms']:g} ms; by quarter, mean / p99 bucket: "
        + ", ".join(f"{q['mean_ms']:.1f} / {q['p99_le_ms']:g}" for q in summary["ticks_by_quarter"])
    )
    pl = summary["push_latency_whole"]
    print(f"  push latency: p50 <= {pl['p50_le_ms']:g} ms, p99 <= {pl['p99_le_ms']:g} ms ({pl['count']:,.0f} pushes)")
    print(
        f"  boards: {c.get('opened', 0):,} sockets opened of {c.get('connects', 0):,} tries (connect failed "
        f"{c.get('connect_failed', 0)}, handshake failed {c.get('handshake_failed', 0)}), "
        f"peak {summary['ws_clients_peak']:.0f} at once; "
        f"hello+state on connect {c.get('got_state', 0):,}, bad start {c.get('bad_start', 0)}; "
        f"{c.get('messages', 0):,} messages, {c.get('bytes', 0) / 2**30:.1f} GiB; "
        f"seq going back {c.get('seq_back', 0)}"
    )
    order = [f"{b:g}" for b in HANDSHAKE_BUCKETS] + ["more", "timeout"]
    took = c.get("handshake_s", {})
    print("  handshake time (s, at most: count): " + ", ".join(f"{k}: {took[k]:,}" for k in order if k in took))
    print(
        f"  boards gone: closed {c.get('closed_by_us', 0):,} and dropped {c.get('dropped_by_us', 0):,} by the "
        f"clients; closed by the server {c.get('closed_by_server', {}) or 'none'}; lost without a close "
        f"{c.get('lost', 0)}; {c.get('stalled', 0)} stalled on purpose; server's drops by reason "
        f"{summary['ws_dropped_by_server'] or 'none'}"
    )
    print(
        f"  hostile producer: {sum(p['hostile_sent'].values()):,} sent "
        f"(left out: {', '.join(result['hostile_skipped']) or 'none'}), "
        f"refused by the broker: {p['hostile_failed'] or 'none'}"
    )
    stale = summary["stale_first_last_s"]
    print(
        f"  source: stale in {summary['stale_scrapes']} of {len(result['samples']['metrics'])} scrapes"
        + (f" (from {stale[0]:.0f} s to {stale[1]:.0f} s)" if stale else "")
        + f"; lag at most {summary['lag_max']:,.0f}; caught up at the end: {'yes' if result['caught_up'] else 'NO'} "
        f"({result['end_state']})"
    )
    print(f"  board's rejections by reason: {summary['rejected_by_reason'] or 'none'}")
    print(
        f"  snapshot queues at the end: {result['snapshot_queue_count']:,} "
        f"(first: {', '.join(map(repr, result['snapshot_queues'][:10]))})"
    )
    log = result["server_log"]
    print(f"  server log: {log['tracebacks']} tracebacks; its other lines (access lines left out):")
    for line, count in log["lines"].items():
        print(f"    {count:6,} x {line}")
    print(
        f"  served /api/snapshot, /api/agents, /api/intraday = offline replay at as_of (minus source, status): "
        f"{'yes' if cmp['equal'] else 'NO'}"
        + (
            ""
            if cmp["equal"]
            else f" ({cmp.get('differences')} differences, e.g. {cmp.get('first_differences', [cmp.get('why')])[:2]})"
        )
    )
    if "events" in cmp:
        print(
            f"    {result['messages_in_topics']:,} messages in the topics; events served / replay "
            f"{cmp['events'][0]:,} / {cmp['events'][1]:,}; too_late {cmp['too_late'][0]} / {cmp['too_late'][1]}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--minutes", type=float, default=10.0, help="length of the soak (after the catch-up)")
    ap.add_argument("--clients", type=int, default=1000, help="WebSocket boards connected at any time")
    ap.add_argument("--client-procs", type=int, default=2, help="processes the boards run in")
    ap.add_argument("--supervisors", type=float, default=0.02, help="share of boards on snapshot,agents,intraday")
    ap.add_argument("--stalled", type=float, default=0.01, help="share of boards that stop reading (hung)")
    ap.add_argument("--mean-life", type=float, default=60.0, help="mean seconds a board stays connected")
    ap.add_argument("--rate", type=float, default=10.0, help="the bank's size: simulator scale (traffic and staff)")
    ap.add_argument("--local-hour", type=int, default=9, help="the centre's local hour at the start (its time zone)")
    ap.add_argument("--hostile-every", type=float, default=1.0, help="seconds between two limit cases")
    ap.add_argument(
        "--skip-case",
        action="append",
        default=[],
        help="leave out the limit cases whose name contains this (e.g. '6,500 queues'; repeatable; reported)",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--wallboard", default=str(Path(sys.executable).with_name("wallboard")), help="the command")
    ap.add_argument("--env", action="append", default=[], help="NAME=VALUE for wallboard serve (repeatable)")
    ap.add_argument(
        "--auth-header",
        action="append",
        default=[],
        help="'Name: value' sent on every socket and request (a bearer token, a session cookie; repeatable)",
    )
    ap.add_argument("--json", type=Path, help="also write every figure and sample here")
    ap.add_argument("--role", choices=("soak", "clients"), default="soak", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.role == "clients":
        asyncio.run(clients_main(args))
        return
    result = asyncio.run(soak(args))
    result["summary"] = summarise(result)
    report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str))
        print(f"  figures and samples: {args.json}")


if __name__ == "__main__":
    main()

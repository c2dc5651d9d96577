"""Fan-out benchmark: one wallboard server, N WebSocket boards, on 127.0.0.1.

    python bench/fanout.py                       # N = 100, 1000, 5000; 20 s each
    python bench/fanout.py --clients 100,500 --duration 10 --deflate
    python bench/fanout.py --instances 2 --pin   # two servers, each on a CPU of its own, clients spread

For each N a fresh server (uvicorn, one process, fed by the simulator's
bank-hotline scenario at real speed, so the snapshot changes every tick like a
busy centre's) is started in a subprocess and, once it has caught up with
today, N clients connect from ``--procs`` separate processes and subscribe to
the view.  The clients are the ``websockets`` library's sans-I/O protocol on
non-blocking sockets (its asyncio client costs ~170 us a message, which at
5,000 clients starves the client processes and measures them, not the
server).  Measured over ``--duration`` seconds:

* delay, p50 / p99 / max over every message every client got, from the
  message's ``server_time`` (taken at the start of the tick) to two receipt
  times: when the client's kernel had the data (``SO_TIMESTAMPNS``: what a
  board on a machine of its own sees, plus its network) and when the client
  process's Python code read it (which adds the queueing of thousands of
  boards sharing one process and, here, the server's CPUs);
* missed: seq gaps seen by the clients (messages conflated away);
* server CPU per tick: utime + stime from /proc/<pid>/stat over the window,
  divided by the ticks in it (includes ingesting the simulator's events and,
  on loopback, the kernel's work of delivering into the clients' sockets);
* server RSS per client: (RSS with N clients - RSS before any) / N, from /proc;
* server side, from /metrics: mean tick build time, push latency p99 (bucket).

Goal (docs/performance.md): 5,000 clients on one process, p99 < 100 ms at a
1 s cadence.  Clients and server share this machine's CPUs; ``--pin`` gives
the server CPU 0 to itself and the clients the rest, as when they are on
other machines.  The header prints the load average: other work on the
machine shows in the delays.
uvicorn uses uvloop when it is importable (``uvicorn[standard]`` installs it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import socket
import struct
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import AppProcess, answers, free_port  # noqa: E402

DATA = ROOT / "bench" / ".data"

TZ = "Asia/Shanghai"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def raise_nofile() -> int:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1_048_576
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


# ------------------------------------------------------------------ server


def pin(args: argparse.Namespace, role: str) -> None:
    """--pin: each server gets a CPU to itself (server i: CPU i) and the clients the others, as on separate
    machines; when the servers take every CPU, the clients share them all."""
    count = os.cpu_count() or 1
    if args.pin and count > 1:
        cpus = set(range(count))
        servers = {i % count for i in range(args.instances)}
        clients = cpus - servers or cpus
        os.sched_setaffinity(0, {args.cpu % count} if role == "server" else clients)


def run_server(args: argparse.Namespace) -> None:
    import logging
    from zoneinfo import ZoneInfo

    from tests.servers import serve
    from wallboard.settings import parse_settings
    from wallboard.sources.simulated import SimulatorSource
    from wallboard.web import create_app

    raise_nofile()
    pin(args, "server")
    logging.basicConfig(level=logging.WARNING)
    if args.gc == "off":
        import gc

        gc.disable()
    # Every client connects from 127.0.0.1: no limit per address, and room for them all.
    limits = {"max_ws_connections_per_client": 0, "max_ws_connections": 1_000_000}
    settings = parse_settings(
        {"timezone": TZ, "web": {"push_interval": args.push_interval}, "server": limits}, environ={}
    )
    source = SimulatorSource(args.scenario, tz=ZoneInfo(TZ), scale=args.scale)
    app = create_app(settings, source)

    def run() -> None:
        # serve(): as `wallboard serve` runs it (the "wallboard" WebSocket protocol), with the benchmark's options.
        serve(
            app,
            args.port,
            backlog=8192,
            ws_per_message_deflate=args.deflate,
            ws_ping_interval=None,
            loop=args.loop,
            **({} if args.ws == "wallboard" else {"ws": args.ws}),
        )

    if args.profile:
        import cProfile
        import signal

        prof = cProfile.Profile()

        def dump(*_: object) -> None:
            prof.disable()
            prof.dump_stats(args.profile)
            os._exit(0)

        signal.signal(signal.SIGTERM, dump)
        prof.enable()
    run()


# ----------------------------------------------------------------- clients


class Stats:
    """What the client processes measure, over the window [start, end] (wall clock)."""

    def __init__(self) -> None:
        self.start = float("inf")
        self.end = float("inf")
        self.latencies: list[float] = []
        self.kernel_latencies: list[float] = []
        self.messages = self.missed = self.closed = 0
        self.parsed: dict[bytes, float] = {}


HEAD_B = re.compile(rb'^\{"type":"(\w+)","seq":(\d+),"server_time":"([^"]+)"')
# Linux's SO_TIMESTAMPNS (asm-generic/socket.h; Python's socket module does not name it): every
# recvmsg() then carries the time the kernel received the data, as a struct timespec.
SO_TIMESTAMPNS = 35
TIMESPEC = struct.Struct("qq")
ANCILLARY_SPACE = socket.CMSG_SPACE(TIMESPEC.size)


class Board:
    """One board: the websockets library's sans-I/O client protocol on a non-blocking socket.

    Lighter than ``websockets.asyncio`` (no task, queue or future per message), so
    that two client processes can take 5,000 messages a second on the CPUs the
    server also needs.  Each message gets two receipt times: when the client's
    kernel had it (``SO_TIMESTAMPNS``: the fan-out delay as a board on its own
    machine would see it) and when this process got round to it (which adds the
    queueing of 2,500 boards sharing one Python process and the server's CPUs).
    """

    def __init__(self, sock: socket.socket, uri: str, stats: Stats, deflate: bool) -> None:
        from websockets.client import ClientProtocol
        from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
        from websockets.uri import parse_uri

        self.sock = sock
        self.ws = ClientProtocol(
            parse_uri(uri), max_size=None, extensions=[ClientPerMessageDeflateFactory()] if deflate else None
        )
        self.stats = stats
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.last_seq = -1
        self.open = True

    def start(self) -> None:
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        asyncio.get_running_loop().add_reader(self.sock.fileno(), self.readable)
        self.ws.send_request(self.ws.connect())
        self._flush()

    def readable(self) -> None:
        from websockets.frames import Frame, Opcode
        from websockets.http11 import Response

        try:
            data, ancillary, _, _ = self.sock.recvmsg(1 << 18, ANCILLARY_SPACE)
        except BlockingIOError:
            return
        except OSError as exc:
            self.lost(exc)
            return
        if not data:
            self.lost(None)
            return
        now = time.time()
        kernel = None
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = TIMESPEC.unpack_from(payload)
                kernel = sec + nsec / 1e9
        self.ws.receive_data(data)
        st = self.stats
        for event in self.ws.events_received():
            if isinstance(event, Response):
                if not self.opened.done():
                    self.opened.set_result(None)
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT and st.start <= now <= st.end:
                m = HEAD_B.match(event.data[:160])
                if m is None or m.group(1) not in (b"snapshot", b"summary", b"heartbeat"):
                    continue
                seq = int(m.group(2))
                if self.last_seq >= 0 and seq > self.last_seq + 1:
                    st.missed += seq - self.last_seq - 1
                self.last_seq = max(self.last_seq, seq)
                sent = st.parsed.get(m.group(3))
                if sent is None:
                    sent = st.parsed[m.group(3)] = datetime.fromisoformat(m.group(3).decode()).timestamp()
                st.latencies.append(now - sent)
                if kernel is not None:
                    st.kernel_latencies.append(kernel - sent)
                st.messages += 1
        self._flush()

    def _flush(self) -> None:
        for chunk in self.ws.data_to_send():
            try:
                if chunk:
                    self.sock.send(chunk)  # a handshake or a pong: small, the buffer is never full
                else:
                    self.sock.shutdown(socket.SHUT_WR)
            except OSError as exc:
                self.lost(exc)
                return

    def lost(self, exc: Exception | None) -> None:
        if not self.open:
            return
        self.open = False
        asyncio.get_running_loop().remove_reader(self.sock.fileno())
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed during the handshake"))
        elif time.time() <= self.stats.end:
            self.stats.closed += 1

    def abort(self) -> None:
        if self.open:
            self.open = False
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
        self.sock.close()


async def clients_main(args: argparse.Namespace) -> None:
    raise_nofile()
    pin(args, "clients")
    loop = asyncio.get_running_loop()
    uri = f"ws://127.0.0.1:{args.port}/ws?views={args.view}"
    stats = Stats()
    boards: list[Board] = []
    sem = asyncio.Semaphore(100)
    failed = 0

    async def open_one() -> None:
        nonlocal failed
        async with sem:
            sock = socket.socket()
            sock.setblocking(False)
            try:
                await loop.sock_connect(sock, ("127.0.0.1", args.port))
                board = Board(sock, uri, stats, args.deflate)
                board.start()
                await asyncio.wait_for(board.opened, 60)
                boards.append(board)
            except (OSError, TimeoutError):
                sock.close()
                failed += 1

    await asyncio.gather(*(open_one() for _ in range(args.count)))
    print(f"connected {len(boards)} {failed}", flush=True)
    line = await loop.run_in_executor(None, sys.stdin.readline)  # "go <start> <end>"
    _, start, end = line.split()
    stats.start, stats.end = float(start), float(end)
    await asyncio.sleep(max(0.0, stats.end - time.time()) + 0.5)
    for board in boards:
        board.abort()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(
        "result "
        + json.dumps(
            {
                "messages": stats.messages,
                "missed": stats.missed,
                "closed": stats.closed,
                "latencies": [round(x, 5) for x in stats.latencies],
                "kernel_latencies": [round(x, 5) for x in stats.kernel_latencies],
                "cpu_s": ru.ru_utime + ru.ru_stime,
            }
        ),
        flush=True,
    )


# ------------------------------------------------------------- coordinator


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def proc_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def scrape(port: int) -> dict[str, float]:
    import httpx

    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(
            (
                "wallboard_tick_duration_seconds_",
                "wallboard_push_latency_seconds_",
                "wallboard_seq ",
                "wallboard_ws_clients ",
            )
        ):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


def bucket_p99(before: dict[str, float], after: dict[str, float], prefix: str) -> float | None:
    """The upper bound of the histogram bucket holding the 99th percentile, over the window."""
    total = after.get(prefix + "_count", 0) - before.get(prefix + "_count", 0)
    if total <= 0:
        return None
    buckets = []
    for name, value in after.items():
        m = re.match(re.escape(prefix) + r'_bucket\{le="([^"]+)"\}', name)
        if m:
            buckets.append((float(m.group(1)), value - before.get(name, 0)))
    for le, cum in sorted(buckets):
        if cum >= 0.99 * total:
            return le
    return None


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def measure(n: int, args: argparse.Namespace) -> dict[str, Any]:
    ports = [free_port() for _ in range(args.instances)]

    def base(port: int, cpu: int) -> list[str]:
        return (
            [
                sys.executable,
                __file__,
                "--port",
                str(port),
                "--cpu",
                str(cpu),
                "--instances",
                str(args.instances),
                "--scale",
                str(args.scale),
                "--scenario",
                args.scenario,
                "--push-interval",
                str(args.push_interval),
                "--gc",
                args.gc,
                "--view",
                args.view,
                "--ws",
                args.ws,
                "--loop",
                args.loop,
            ]
            + (["--deflate"] if args.deflate else [])
            + (["--pin"] if args.pin else [])
            + (["--profile", args.profile] if args.profile else [])
        )

    DATA.mkdir(parents=True, exist_ok=True)
    # Ready = the simulator has replayed today up to now.  Several instances: each its own simulator (the
    # same day: each serves the same numbers, as instances reading one Kafka log do) on a CPU of its own.
    servers = [
        AppProcess(
            [*base(port, i), "--role", "server"],
            port,
            ready=answers("/readyz"),
            timeout_s=180,
            stop_timeout_s=15,
            log=DATA / f"fanout-server-{i}.log",
        )
        for i, port in enumerate(ports)
    ]
    procs: list[subprocess.Popen[str]] = []
    try:
        for server in servers:
            server.start()
        time.sleep(3 * args.push_interval)
        rss0 = sum(proc_rss_kb(server.pid) for server in servers)
        nprocs = max(args.procs, args.instances)
        shares = [n // nprocs + (1 if i < n % nprocs else 0) for i in range(nprocs)]
        t_connect = time.monotonic()
        for i, share in enumerate(shares):
            if share:
                port = ports[i % args.instances]  # the clients spread evenly, as a load balancer spreads them
                procs.append(
                    subprocess.Popen(
                        [*base(port, 0), "--role", "clients", "--count", str(share)],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        text=True,
                    )
                )
        connected = failed = 0
        for p in procs:
            assert p.stdout is not None
            _, ok, bad = p.stdout.readline().split()
            connected, failed = connected + int(ok), failed + int(bad)
        connect_s = time.monotonic() - t_connect
        time.sleep(max(2.0, 3 * args.push_interval))  # settle: the initial messages are out
        m0 = [scrape(port) for port in ports]
        cpu0, start = sum(proc_cpu_s(server.pid) for server in servers), time.time()
        end = start + args.duration
        for p in procs:
            assert p.stdin is not None
            p.stdin.write(f"go {start} {end}\n")
            p.stdin.flush()
        time.sleep(args.duration / 2)
        rss_n = sum(proc_rss_kb(server.pid) for server in servers)
        time.sleep(max(0.0, end - time.time()))
        cpu1, m1 = sum(proc_cpu_s(server.pid) for server in servers), [scrape(port) for port in ports]
        latencies: list[float] = []
        kernel: list[float] = []
        counts = {"messages": 0, "missed": 0, "closed": 0, "client_cpu_s": 0.0}
        for p in procs:
            assert p.stdout is not None
            line = p.stdout.readline()
            result = json.loads(line.split(" ", 1)[1])
            latencies.extend(result["latencies"])
            kernel.extend(result["kernel_latencies"])
            for k in ("messages", "missed", "closed"):
                counts[k] += result[k]
            counts["client_cpu_s"] += result["cpu_s"]
            p.wait(30)
        latencies.sort()
        kernel.sort()

        def delta(name: str) -> float:
            return sum(after.get(name, 0) - before.get(name, 0) for before, after in zip(m0, m1, strict=True))

        ticks = delta("wallboard_seq") / args.instances  # per instance
        tick_n, tick_sum = delta("wallboard_tick_duration_seconds_count"), delta("wallboard_tick_duration_seconds_sum")
        push_p99 = [
            bucket_p99(before, after, "wallboard_push_latency_seconds") for before, after in zip(m0, m1, strict=True)
        ]
        known = [v for v in push_p99 if v is not None]
        return {
            "n": n,
            "instances": args.instances,
            "connected": connected,
            "failed": failed,
            "connect_s": connect_s,
            "p50_ms": percentile(latencies, 0.50) * 1000,
            "p99_ms": percentile(latencies, 0.99) * 1000,
            "max_ms": (latencies[-1] if latencies else float("nan")) * 1000,
            "kernel_p50_ms": percentile(kernel, 0.50) * 1000,
            "kernel_p99_ms": percentile(kernel, 0.99) * 1000,
            "kernel_max_ms": (kernel[-1] if kernel else float("nan")) * 1000,
            "kernel_samples": len(kernel),
            "expected": int(connected * ticks),
            **counts,
            # Per instance: the CPU of all of them over their ticks, divided by how many there are.
            "cpu_ms_per_tick": (cpu1 - cpu0) * 1000 / ticks / args.instances if ticks else float("nan"),
            "rss0_mb": rss0 / 1024 / args.instances,
            "rss_kb_per_client": (rss_n - rss0) / n if n else float("nan"),
            "tick_build_ms": tick_sum * 1000 / tick_n if tick_n else float("nan"),
            "server_push_p99_ms": max(known) * 1000 if known else float("nan"),
            "client_cpu_pct": counts["client_cpu_s"] / args.duration * 100,
        }
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        for server in servers:
            server.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", default="100,1000,5000", help="comma-separated N")
    ap.add_argument("--duration", type=float, default=20.0, help="seconds measured per N")
    ap.add_argument("--procs", type=int, default=2, help="client processes")
    ap.add_argument(
        "--pin",
        action="store_true",
        help="run the server on CPU 0 alone and the clients on the other CPUs (as if on other machines)",
    )
    ap.add_argument(
        "--instances",
        type=int,
        default=1,
        help="servers side by side, the clients spread evenly over them (with --pin: server i on CPU i)",
    )
    ap.add_argument("--push-interval", type=float, default=1.0)
    ap.add_argument("--scale", type=float, default=1.0, help="simulator traffic scale")
    ap.add_argument("--scenario", default="bank-hotline")
    ap.add_argument(
        "--view",
        choices=("summary", "snapshot"),
        default="summary",
        help="what each client subscribes to: 'summary' (a TV showing the whole centre) or "
        "'snapshot' (every queue, as the supervisor page and queue-filtered TVs)",
    )
    ap.add_argument(
        "--loop",
        choices=("auto", "asyncio", "uvloop"),
        default="auto",
        help="the server's event loop; 'auto' (as serve/demo run): uvloop when it is installed",
    )
    ap.add_argument(
        "--ws",
        choices=("wallboard", "websockets", "websockets-sansio", "wsproto"),
        default="wallboard",
        help="WebSocket implementation: 'wallboard' (what serve/demo run: uvicorn's sans-I/O one "
        "with direct frame writes) or one of uvicorn's own",
    )
    ap.add_argument("--deflate", action="store_true", help="permessage-deflate on (browsers ask for it)")
    ap.add_argument("--json", action="store_true", help="also print the rows as JSON")
    ap.add_argument("--gc", choices=("auto", "off"), default="auto", help="'off': gc.disable() in the server")
    ap.add_argument("--profile", default="", help="write the server's cProfile stats to this file")
    ap.add_argument("--role", choices=("bench", "server", "clients"), default="bench", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--cpu", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.role == "server":
        run_server(args)
        return
    if args.role == "clients":
        asyncio.run(clients_main(args))
        return
    raise_nofile()
    rows = []
    import importlib.util

    loop = args.loop if args.loop != "auto" else "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    print(
        f"fanout: view {args.view}, ws {args.ws}, scenario {args.scenario} x{args.scale}, "
        f"push every {args.push_interval:g} s, "
        f"{args.duration:g} s per N, {args.procs} client processes, deflate {'on' if args.deflate else 'off'}, "
        f"server loop {loop}, {args.instances} instance(s), {os.cpu_count()} CPUs"
        f"{' (server i pinned to CPU i)' if args.pin else ''}, "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    header = (
        f"{'N':>6} {'conn':>6} {'msgs':>8} {'missed':>6} | {'kernel receipt p50/p99/max ms':>29} | "
        f"{'client process p50/p99/max ms':>29} | {'cpu ms/tick':>11} {'tick ms':>7} {'srv p99':>7} "
        f"{'RSS MB':>7} {'KB/client':>9} {'cli CPU%':>8}"
    )
    print(header, flush=True)
    for n in [int(x) for x in args.clients.split(",") if x.strip()]:
        r = measure(n, args)
        rows.append(r)
        kernel = f"{r['kernel_p50_ms']:.1f} / {r['kernel_p99_ms']:.1f} / {r['kernel_max_ms']:.1f}"
        app = f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f} / {r['max_ms']:.1f}"
        print(
            f"{r['n']:>6} {r['connected']:>6} {r['messages']:>8} {r['missed']:>6} | {kernel:>29} | {app:>29} | "
            f"{r['cpu_ms_per_tick']:>11.1f} {r['tick_build_ms']:>7.2f} "
            f"{'<=' + format(r['server_push_p99_ms'], 'g'):>7} {r['rss0_mb']:>7.0f} {r['rss_kb_per_client']:>9.1f} "
            f"{r['client_cpu_pct']:>8.0f}",
            flush=True,
        )
    print(
        "conn: connected clients; missed: seq gaps (conflated); kernel receipt: tick start to the data in the "
        "client's socket (SO_TIMESTAMPNS); client process: to the client's Python code reading it; "
        "tick ms: build+serialise+publish; srv p99: server-side push latency bucket; RSS MB: server with 0 "
        "clients; cli CPU%: client processes"
    )
    if args.json:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()

"""Catch-up benchmark: the real ``wallboard serve`` replaying a 1M-message day from a local broker, with its memory.

    python bench/catchup.py                          # own broker in bench/.data/kafka, record timestamps = ts
    python bench/catchup.py --style send-time        # the same day produced by kcat, stamped at sending
    python bench/catchup.py --wallboard /tmp/wb-compiled/bin/wallboard   # another build (e.g. the compiled wheel)
    python bench/catchup.py --scale 0.2 --timeline   # a small day, RSS and progress once a second
    KAFKA_BOOTSTRAP=127.0.0.1:9092 python bench/catchup.py   # an existing broker (or --bootstrap)

What it does:

1. **The day.**  ``wallboard serve`` has no clock of its own to set: it runs on the wall clock and
   replays *today* from local midnight minus the look-back.  So the script picks the centre's time
   zone (``Etc/GMT-N``, a whole-hour offset) in which it is now late in the evening (22:52 to
   23:52), simulates that local day (bank-hotline, seed 1, scale 2: about 1,000,000 messages in
   cc.calls, cc.sms, cc.agents, three partitions each) and produces the events up to now: the
   board restarted late in the day replays (almost) the whole of it.
2. **Two styles of producing** (``--style``):

   * ``ts``: each record's timestamp is the event's ``ts`` (as ``wallboard simulate --bootstrap``
     and bench/kafka_ingest.py produce; aiokafka, keys partitioned with murmur2 as Java does);
   * ``send-time``: the messages are written to a file (``key<TAB>value`` lines) and produced by
     **kcat** with librdkafka's defaults, so every record is stamped with the moment it was sent
     (a backfill: the whole day within seconds), and keys are partitioned by librdkafka's CRC32.

   The produced day is kept (the broker is started with ``start --keep``) and reused by later runs
   for as long as its local day is still today and not too close to midnight (about an hour).
3. **The board**: ``wallboard serve`` as a subprocess (default: the one next to this Python; another
   build with ``--wallboard``), configured only by environment variables (docs/configuration.md):
   ``WALLBOARD_TIMEZONE``, ``WALLBOARD_KAFKA__BOOTSTRAP_SERVERS``, ``WALLBOARD_KAFKA__TOPICS``, ...
   plus any ``--env NAME=VALUE``, in an empty working directory (no ``wallboard.toml``).
4. **Measured**: its RSS every 50 ms (``VmRSS`` of /proc/PID/status) while ``/readyz`` is polled
   every 100 ms until it answers 200, and its ``VmHWM`` (the kernel's peak) once ready and at the
   end.  The catch-up time is counted from the first answer of ``/readyz`` (the app is up and the
   source has started) to the first 200; the time from starting the process is shown too.
5. **Checked**: ``/api/snapshot`` once ready (too_late, today's offered per channel), compared with
   an offline replay (``wallboard.replay``, as ``wallboard replay --at`` runs it) of the very same
   messages read back from the topics, at the snapshot's ``as_of``: equal or not, minus the
   volatile blocks ``source`` and ``status``.  Both styles must be equal with ``too_late`` 0: the
   source follows the partitions in event time whatever the record timestamps (docs/kafka.md; before
   that, the send-time style lost about half of the day as too late).

Nothing is asserted: it prints figures.  The broker this script started is stopped at the end, also
on errors and Ctrl+C; the serve process too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from aiokafka import AIOKafkaConsumer  # noqa: E402
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # noqa: E402
from kafka_ingest import messages_in, own_broker, send_events, topic_partitions  # noqa: E402

from tests.servers import free_port  # noqa: E402
from wallboard.levels import add_levels  # noqa: E402
from wallboard.replay import replay  # noqa: E402
from wallboard.settings import parse_settings  # noqa: E402

DATA = ROOT / "bench" / ".data"
BROKER_DIR = DATA / "kafka"
PARTITIONS = 3
SIM_TOPICS = ("cc.calls", "cc.sms", "cc.agents")
LATEST_LOCAL_S = 23 * 3600 + 52 * 60
"""The board starts no later than 23:52 local, so that the catch-up and the check end before midnight."""
RSS_EVERY_S = 0.05
READY_EVERY_S = 0.1


# ---------------------------------------------------------------- the day


def pick_zone(now_s: float) -> tuple[str, int]:
    """The ``Etc/GMT`` zone (name, UTC offset in hours) in which ``now_s`` is latest in the day before 23:52."""
    best: tuple[int, int] | None = None
    for hours in range(-12, 15):
        local = datetime.fromtimestamp(now_s, timezone(timedelta(hours=hours)))
        second = local.hour * 3600 + local.minute * 60 + local.second
        if second < LATEST_LOCAL_S and (best is None or second > best[0]):
            best = (second, hours)
    assert best is not None  # the offsets cover every hour of the day
    hours = best[1]
    # POSIX-style names: Etc/GMT-8 is UTC+8.
    return ("Etc/GMT" if hours == 0 else f"Etc/GMT{-hours:+d}"), hours


@dataclass
class Day:
    """One produced day: where it is, in which zone, up to when."""

    style: str
    scenario: str
    seed: int
    scale: float
    zone: str
    offset_h: int
    day: str
    cut_ms: int = 0
    messages: int = 0
    topics: list[str] = field(default_factory=list)

    @property
    def tag(self) -> str:
        sign = "m" if self.offset_h < 0 else "p"  # Kafka topic names allow no "+"
        return (
            f"catchup-{self.style}-{self.scenario}-s{self.seed}-x{self.scale}-{self.day}-utc{sign}{abs(self.offset_h)}"
        )

    def still_today(self, now_s: float) -> bool:
        """Is this day still today in its zone, and not too late in it to run the board once more?"""
        local = datetime.fromtimestamp(now_s, ZoneInfo(self.zone))
        return local.date().isoformat() == self.day and local.hour * 3600 + local.minute * 60 < LATEST_LOCAL_S

    def simulator(self) -> Any:
        from wallboard.simulator import Simulator, load_scenario

        return Simulator(
            load_scenario(self.scenario),
            seed=self.seed,
            day=date.fromisoformat(self.day),
            tz=ZoneInfo(self.zone),
            scale=self.scale,
        )


def _marker(style: str, scenario: str, seed: int, scale: float) -> Path:
    return DATA / f"catchup-{style}-{scenario}-{seed}-{scale}.json"


async def ensure_day(bootstrap: str, args: argparse.Namespace) -> Day:
    """The day of this style in the broker: the last one produced if it is still usable, else a new one."""
    marker = _marker(args.style, args.scenario, args.seed, args.scale)
    old: Day | None = None
    if marker.exists():
        old = Day(**json.loads(marker.read_text()))
        if old.still_today(time.time()) and not args.fresh:
            tps = await topic_partitions(bootstrap, tuple(old.topics))
            if tps is not None and await messages_in(bootstrap, tps) == old.messages:
                print(
                    f"reusing the {old.messages:,} messages of {old.day} ({old.zone}) in {old.tag}.*", file=sys.stderr
                )
                return old
    zone, offset_h = pick_zone(time.time())
    day = Day(
        args.style,
        args.scenario,
        args.seed,
        args.scale,
        zone,
        offset_h,
        datetime.now(ZoneInfo(zone)).date().isoformat(),
    )
    day.topics = [f"{day.tag}.{t}" for t in SIM_TOPICS]
    stale = [t for t in (old.topics if old else []) if t not in day.topics]
    await recreate_topics(bootstrap, day.topics, stale)
    started = time.perf_counter()
    day.cut_ms = int(time.time() * 1000)
    if args.style == "ts":
        day.messages = await produce_with_ts(bootstrap, day)
    else:
        day.messages = produce_with_kcat(bootstrap, day)
    print(
        f"produced {day.messages:,} messages of {day.day} up to "
        f"{datetime.fromtimestamp(day.cut_ms / 1000, ZoneInfo(zone)):%H:%M:%S} ({zone}), style {args.style}, "
        f"in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    DATA.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(day.__dict__))
    return day


async def recreate_topics(bootstrap: str, topics: list[str], stale: list[str]) -> None:
    """(Re)create ``topics`` empty, with three partitions each; delete ``stale`` (an earlier day's) too."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        doomed = [t for t in [*topics, *stale] if t in existing]
        if doomed:
            await admin.delete_topics(doomed)
            for _ in range(100):
                if not set(doomed) & set(await admin.list_topics()):
                    break
                await asyncio.sleep(0.2)
        await admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in topics])
    finally:
        await admin.close()
    for _ in range(150):
        if await topic_partitions(bootstrap, tuple(topics)) is not None:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the topics {topics} did not appear within 30 s")


def _events_up_to(day: Day) -> Iterator[Any]:
    sim = day.simulator()
    return sim.events(end_ms=min(sim.end_ms, day.cut_ms + 1))  # type: ignore[no-any-return]


async def produce_with_ts(bootstrap: str, day: Day) -> int:
    """Each record stamped with its event's ts, keyed and partitioned as a Java producer would (murmur2)."""
    return await send_events(bootstrap, _events_up_to(day), day.topics)


def produce_with_kcat(bootstrap: str, day: Day) -> int:
    """Write ``key<TAB>value`` lines per topic, then ``kcat -P -K '\\t'`` each file with librdkafka's defaults.

    JSON text holds no raw tab or newline, so the lines split unambiguously.  The three topics are
    produced one after the other, each file in ts order.
    """
    count = 0
    with tempfile.TemporaryDirectory(prefix="catchup-kcat-") as tmp:
        files = {t: (Path(tmp) / f"{t}.txt").open("wb") for t in SIM_TOPICS}
        try:
            for ev in _events_up_to(day):
                fh = files[ev.topic]
                fh.write(ev.key)
                fh.write(b"\t")
                fh.write(ev.value)
                fh.write(b"\n")
                count += 1
        finally:
            for fh in files.values():
                fh.close()
        for sim_topic, topic in zip(SIM_TOPICS, day.topics, strict=True):
            with (Path(tmp) / f"{sim_topic}.txt").open("rb") as stdin:
                done = subprocess.run(
                    ["kcat", "-P", "-b", bootstrap, "-t", topic, "-K", "\\t"],
                    stdin=stdin,
                    capture_output=True,
                    text=True,
                    timeout=900,
                    check=False,
                )
            if done.returncode != 0:
                raise RuntimeError(f"kcat failed producing {topic}:\n{done.stderr}")
    return count


async def read_back(bootstrap: str, topics: list[str]) -> list[bytes]:
    """Every message value now in ``topics``, in partition order (the replay sorts by ts)."""
    tps = await topic_partitions(bootstrap, tuple(topics))
    assert tps is not None
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, max_partition_fetch_bytes=4 * 1024 * 1024
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        left = 0
        for tp in tps:
            left += ends[tp] - await consumer.position(tp)
        while left > 0:
            data = await consumer.getmany(timeout_ms=500, max_records=50_000)
            for records in data.values():
                values.extend(r.value for r in records)
                left -= len(records)
    finally:
        await consumer.stop()
    return values


# ---------------------------------------------------------------- the board


def _proc_kb(pid: int, field_name: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field_name):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _get(url: str, timeout: float = 5.0) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@dataclass
class Served:
    """What one run of ``wallboard serve`` showed."""

    build: str
    startup_s: float
    """Process start -> first answer of /readyz."""
    catch_up_s: float
    """First answer of /readyz -> first 200."""
    catch_up_cpu_s: float
    """The CPU seconds serve used meanwhile."""
    peak_rss_kb: int
    """The largest of the 50 ms samples up to ready."""
    hwm_ready_kb: int
    hwm_end_kb: int
    rss_ready_kb: int
    snapshot: dict[str, Any]
    agents: dict[str, Any]
    timeline: list[tuple[float, int, float]]
    """(seconds since the first /readyz answer, RSS kB, catch_up) once a second."""


def run_serve(bootstrap: str, day: Day, args: argparse.Namespace) -> Served:
    """Start ``wallboard serve`` on the day's topics, sample it until ready, fetch its views, stop it."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLBOARD_")}
    env.update(
        {
            "WALLBOARD_TIMEZONE": day.zone,
            "WALLBOARD_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            "WALLBOARD_KAFKA__TOPICS": ",".join(day.topics),
            "WALLBOARD_KAFKA__CLIENT_ID": "wallboard-catchup-bench",
            "WALLBOARD_WEB__HOST": "127.0.0.1",
            "WALLBOARD_WEB__PORT": str(port),
        }
    )
    for item in args.env:
        name, _, value = item.partition("=")
        env[name] = value
    base = f"http://127.0.0.1:{port}"
    DATA.mkdir(parents=True, exist_ok=True)
    log_path = DATA / "catchup-serve.log"
    with log_path.open("wb") as log, tempfile.TemporaryDirectory(prefix="catchup-cwd-") as cwd:
        spawned = time.perf_counter()
        proc = subprocess.Popen(
            [*shlex.split(args.wallboard), "serve"], env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            served = _watch(proc, base, spawned, args.timeout)
        except BaseException:
            print(f"--- the end of {log_path}:\n{log_path.read_text(errors='replace')[-3000:]}", file=sys.stderr)
            raise
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    for line in log_path.read_text(errors="replace").splitlines():
        if ", engine " in line:
            served.build = line.split(", engine ", 1)[1].split(" (", 1)[0]
    return served


class RssSampler(threading.Thread):
    """VmRSS of a process every RSS_EVERY_S, on a thread of its own: a slow HTTP answer delays no sample."""

    def __init__(self, pid: int) -> None:
        super().__init__(name="rss-sampler", daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.last_kb = 0
        self.samples = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            rss = _proc_kb(self.pid, "VmRSS:")
            if rss is not None:
                self.last_kb = rss
                self.peak_kb = max(self.peak_kb, rss)
                self.samples += 1
            self._done.wait(RSS_EVERY_S)

    def stop(self) -> int:
        """Stop sampling; return the peak (kB)."""
        self._done.set()
        self.join()
        return self.peak_kb


def _watch(proc: subprocess.Popen[bytes], base: str, spawned: float, timeout: float) -> Served:
    pid = proc.pid
    sampler = RssSampler(pid)
    sampler.start()
    timeline: list[tuple[float, int, float]] = []
    first_answer: float | None = None
    catch_up = 0.0
    next_line = cpu_start = 0.0
    try:
        while True:
            now = time.perf_counter()
            if proc.poll() is not None:
                raise RuntimeError(f"wallboard serve exited with status {proc.returncode} before it was ready")
            if now - spawned > timeout:
                raise TimeoutError(f"wallboard serve not ready after {timeout:.0f} s (catch_up {catch_up:.2f})")
            with contextlib.suppress(OSError, ValueError):  # not listening yet
                status, body = _get(f"{base}/readyz", timeout=5.0)
                if first_answer is None:
                    first_answer = next_line = time.perf_counter()
                    cpu_start = _cpu_s(pid)
                catch_up = float(body.get("catch_up") or 0.0) if isinstance(body, dict) else 0.0
                if status == 200:
                    break
            if first_answer is not None and time.perf_counter() >= next_line:
                next_line = max(next_line + 1.0, time.perf_counter())
                timeline.append((time.perf_counter() - first_answer, sampler.last_kb, catch_up))
            time.sleep(max(0.0, READY_EVERY_S - (time.perf_counter() - now)))
        ready = time.perf_counter()
        cpu_ready = _cpu_s(pid)
        rss_ready = _proc_kb(pid, "VmRSS:") or 0
        hwm_ready = _proc_kb(pid, "VmHWM:") or 0
    finally:
        peak = sampler.stop()
    assert first_answer is not None
    timeline.append((ready - first_answer, rss_ready, 1.0))
    _, snapshot = _get(f"{base}/api/snapshot", timeout=30)
    _, agents = _get(f"{base}/api/agents", timeout=30)
    hwm_end = _proc_kb(pid, "VmHWM:") or 0
    return Served(
        "?",
        first_answer - spawned,
        ready - first_answer,
        cpu_ready - cpu_start,
        max(peak, rss_ready),
        hwm_ready,
        hwm_end,
        rss_ready,
        snapshot,
        agents,
        timeline,
    )


# ---------------------------------------------------------------- report


def compare(served: Served, day: Day, values: list[bytes]) -> dict[str, str]:
    """The served snapshot and agents vs an offline replay of the same messages at the snapshot's as_of."""
    metrics = parse_settings({"timezone": day.zone}, environ={}).metrics
    at_s = int(datetime.fromisoformat(served.snapshot["as_of"]).timestamp())
    engine = replay(values, metrics, at_s)
    want = add_levels(engine.snapshot(), metrics)  # the colours the board adds (wallboard/levels.py)
    # /api/agents was read a moment later: its clock may have moved on by a second.
    engine.advance(int(datetime.fromisoformat(served.agents["as_of"]).timestamp()))
    want_agents = engine.agents()
    got = {k: v for k, v in served.snapshot.items() if k not in ("source", "status")}
    got_agents = {k: v for k, v in served.agents.items() if k != "source"}
    want_status = want.pop("status")
    got_status = served.snapshot["status"]
    want_json = json.loads(json.dumps({"snapshot": want, "agents": want_agents}))
    got_json = {"snapshot": got, "agents": got_agents}
    differences = _differences(got_json, want_json)
    if not differences:
        same = "yes"
    else:
        (DATA / "catchup-served.json").write_text(json.dumps(got_json, indent=1, ensure_ascii=False))
        (DATA / "catchup-replay.json").write_text(json.dumps(want_json, indent=1, ensure_ascii=False))
        same = (
            f"NO, {len(differences)} values differ (both in {DATA}/catchup-{{served,replay}}.json), e.g. "
            + "; ".join(differences[:3])
        )
    return {
        "served /api/snapshot and /api/agents = offline replay at as_of (minus source, status)": same,
        "too_late, served / replay": f"{got_status['too_late']:,} / {want_status['too_late']:,}",
        "valid events taken in (too late ones too), served / replay": (
            f"{got_status['events']:,} / {want_status['events']:,}"
        ),
        "interactions held, served / replay": f"{got_status['held_interactions']:,} / "
        f"{want_status['held_interactions']:,}",
    }


def _differences(got: Any, want: Any, path: str = "") -> list[str]:
    """Where two JSON values differ: 'path: served != replay' for each differing leaf."""
    if isinstance(got, dict) and isinstance(want, dict):
        return [
            d
            for k in sorted(set(got) | set(want), key=str)
            for d in _differences(got.get(k), want.get(k), f"{path}.{k}")
        ]
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        return [d for i, (g, w) in enumerate(zip(got, want, strict=True)) for d in _differences(g, w, f"{path}[{i}]")]
    return [] if got == want else [f"{path}: {got!r} != {want!r}"]


def report(day: Day, served: Served, facts: dict[str, str], args: argparse.Namespace) -> None:
    mib = 1 / 1024
    status = served.snapshot["status"]
    today = {ch: v["today"]["offered"] for ch, v in served.snapshot["totals"]["channels"].items()}
    print(
        f"\nCatch-up of wallboard serve ({served.build}), {day.scenario} seed {day.seed} scale {day.scale}, "
        f"style {day.style}: {day.messages:,} messages of {day.day} ({day.zone}) in "
        f"{len(day.topics) * PARTITIONS} partitions"
    )
    print(f"  extra environment: {' '.join(args.env) or '(none)'}")
    print(f"  start-up (process start -> /readyz answers): {served.startup_s:.2f} s")
    print(
        f"  catch-up (/readyz answers -> 200):           {served.catch_up_s:.2f} s "
        f"({day.messages / served.catch_up_s:,.0f} messages/s; {served.catch_up_cpu_s:.2f} s of CPU)"
    )
    print(f"  peak RSS (50 ms samples up to ready):        {served.peak_rss_kb * mib:.0f} MiB")
    print(
        f"  VmHWM at ready / after the API calls:        {served.hwm_ready_kb * mib:.0f} / "
        f"{served.hwm_end_kb * mib:.0f} MiB (RSS at ready {served.rss_ready_kb * mib:.0f} MiB)"
    )
    print(
        f"  too_late: {status['too_late']:,}; today's offered: " + ", ".join(f"{ch} {n:,}" for ch, n in today.items())
    )
    held = f"interactions held once ready: {status['held_interactions']:,}"
    if "held_agent_events" in status:  # engines since this benchmark was written
        held += f", agent events held: {status['held_agent_events']:,}"
    print(f"  {held}")
    for name, value in facts.items():
        print(f"  {name}: {value}")
    if args.timeline:
        print("  timeline (s since /readyz answered, RSS MiB, catch_up):")
        for at, rss, progress in served.timeline:
            print(f"    {at:6.1f} {rss * mib:6.0f} {progress:5.2f}")


def bench(bootstrap: str, args: argparse.Namespace) -> None:
    day = asyncio.run(ensure_day(bootstrap, args))
    if not day.still_today(time.time()):
        raise RuntimeError("the day ended meanwhile; run again")
    served = run_serve(bootstrap, day, args)
    facts = {} if args.no_compare else compare(served, day, asyncio.run(read_back(bootstrap, day.topics)))
    report(day, served, facts, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--style",
        choices=("ts", "send-time"),
        default="ts",
        help="record timestamps: the events' ts (default), or the moment kcat sent them",
    )
    parser.add_argument("--scenario", default="bank-hotline")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=2.0, help="2.0: about 1,000,000 messages")
    parser.add_argument(
        "--wallboard",
        default=str(Path(sys.executable).with_name("wallboard")),
        help="the wallboard command to run, split as a shell would (default: the one next to this Python)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for wallboard serve (repeatable), e.g. WALLBOARD_KAFKA__...",
    )
    parser.add_argument("--fresh", action="store_true", help="produce the day again even if it could be reused")
    parser.add_argument("--no-compare", action="store_true", help="skip reading back and replaying the day")
    parser.add_argument("--timeline", action="store_true", help="print RSS and progress once a second")
    parser.add_argument("--timeout", type=float, default=600, help="seconds allowed for serve to become ready")
    parser.add_argument(
        "--bootstrap",
        default=os.environ.get("KAFKA_BOOTSTRAP"),
        help="an existing broker (default: $KAFKA_BOOTSTRAP, else start one)",
    )
    args = parser.parse_args()

    if args.bootstrap:
        bench(args.bootstrap, args)
    else:
        with own_broker(BROKER_DIR) as bootstrap:
            bench(bootstrap, args)


if __name__ == "__main__":
    main()

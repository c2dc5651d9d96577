"""Kafka ingest benchmark: a real local broker -> KafkaSource -> ingest -> engine, end to end, on one core.

    python bench/kafka_ingest.py                        # own broker in bench/.data/kafka, a ~1M-event day
    python bench/kafka_ingest.py --scale 0.2 --repeat 1 # a small day, one run of each
    KAFKA_BOOTSTRAP=127.0.0.1:9092 python bench/kafka_ingest.py   # an existing broker instead

The day (bank-hotline, seed 1, scale 2: about 1,000,000 messages) is produced once, with the
events' ``ts`` as record timestamps, into three topics named after it; later runs find it there
(the broker keeps its data dir with ``start --keep``) and skip producing. The board's clock is
set to the end of that day, so the source replays all of it, as a restart at 23:59 would.

Measured, best of ``--repeat`` runs each:

* **baseline**: a bare aiokafka consumer (assign, seek to the beginning, ``getmany`` until the end
  offsets, nothing done with the records). These machines are noisy: read the others as a ratio.
* **source only**: ``KafkaSource.batches()`` from start until ``status().ready``, batches dropped.
* **ingest + engine only**: the same messages, in the order Kafka delivered them, from memory.
* **end to end**: ``KafkaSource`` + ``wallboard.ingest.ingest`` into an ``Engine``, plus the app's
  tick (snapshot + serialisation once a second), from creating the source to ``status().ready``
  with every message applied: the start-up catch-up time of a 1M-event day.  Once with CPython's
  collector settings the app runs with (``wallboard.web.gc_schedule.scheduled_gc``), and once with CPython's
  defaults for comparison.

Then the end-to-end engine is compared with an offline replay of the same messages in ts order
(``wallboard.replay``): snapshot and agents must be equal, nothing dropped as too late.  The tick
moves the clock but prunes nothing until the source is ready, as ``wallboard.web.live`` does;
``--tick-during-catch-up`` prunes during the catch-up too, and shows what that would lose (see ``Board``).

Goals: >= 100,000 events/s end to end; a 1M-event day caught up in < 15 s.  The Python side is one
thread (one core); the broker, a JVM, runs on the others.  The broker this script started is
stopped at the end, also on errors and timeouts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # noqa: E402
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # noqa: E402
from aiokafka.partitioner import murmur2  # noqa: E402

from tests import broker  # noqa: E402
from tests.servers import free_ports  # noqa: E402
from wallboard.engine import Engine  # noqa: E402
from wallboard.ingest import advance, ingest  # noqa: E402
from wallboard.replay import replay  # noqa: E402
from wallboard.settings import Settings, parse_settings  # noqa: E402
from wallboard.sources.base import RawMessage, SourceStatus  # noqa: E402
from wallboard.sources.kafka import KafkaSource  # noqa: E402

DATA = ROOT / "bench" / ".data"
BROKER_DIR = DATA / "kafka"
ZONE = "Asia/Shanghai"
DAY = date(2026, 11, 27)
PARTITIONS = 3
SIM_TOPICS = ("cc.calls", "cc.sms", "cc.agents")
# CPython's first collector threshold is 700 allocations: with a million short-lived records going by
# while the engine grows to hundreds of thousands of objects, full collections take a third of the time.


# ---------------------------------------------------------------- broker


@contextlib.contextmanager
def own_broker(directory: Path) -> Iterator[str]:
    """Start the project's broker from ``directory`` (its data kept from the last run if possible); stop it after."""
    port, controller_port = free_ports(2)
    # The ports are used on a fresh start only: a kept broker comes back on its own.
    config = broker.Config.from_environ(
        {
            **os.environ,
            "KAFKA_WATCH_PID": str(os.getpid()),
            "KAFKA_PORT": str(port),
            "KAFKA_CONTROLLER_PORT": str(controller_port),
        }
    )
    try:
        # Same ports and data as last time, when there is a last time and they are free.
        running = broker.start(directory, config, keep=True)
    except broker.BrokerError as exc:
        print(f"kafka-broker start --keep failed, starting fresh:\n{exc}", file=sys.stderr)
        running = broker.start(directory, config)
    try:
        yield running.bootstrap
    finally:
        broker.stop(directory, config)


# ---------------------------------------------------------------- the day in Kafka


@dataclass(frozen=True)
class Day:
    scenario: str
    seed: int
    scale: float

    @property
    def tag(self) -> str:
        return f"bench-{self.scenario}-{self.seed}-{self.scale}-{DAY}"

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(f"{self.tag}.{t}" for t in SIM_TOPICS)

    def simulator(self) -> Any:
        from wallboard.simulator import Simulator, load_scenario

        return Simulator(load_scenario(self.scenario), seed=self.seed, day=DAY, tz=ZoneInfo(ZONE), scale=self.scale)

    def end_s(self) -> int:
        """The board's clock: the last second of the day, so the whole day is replayed."""
        return int(self.simulator().end_ms // 1000) - 1


async def topic_partitions(bootstrap: str, topics: tuple[str, ...]) -> list[TopicPartition] | None:
    """All partitions of ``topics``, or None when one of them does not exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    if any(m["error_code"] != 0 or not m["partitions"] for m in described):
        return None
    return [TopicPartition(m["topic"], p["partition"]) for m in described for p in m["partitions"]]


async def messages_in(bootstrap: str, tps: list[TopicPartition]) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        starts = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    return sum(ends[tp] - starts[tp] for tp in tps)


def _marker(day: Day) -> Path:
    return DATA / f"{day.tag}.kafka.json"


async def ensure_day(bootstrap: str, day: Day) -> int:
    """The number of messages of the day in its topics, producing them first unless an earlier run did."""
    tps = await topic_partitions(bootstrap, day.topics)
    marker = _marker(day)
    if tps is not None and marker.exists():
        expected = json.loads(marker.read_text())["messages"]
        if await messages_in(bootstrap, tps) == expected:
            print(f"reusing the {expected:,} messages already in {day.tag}.*", file=sys.stderr)
            return int(expected)
    return await produce_day(bootstrap, day, recreate=tps is not None)


async def produce_day(bootstrap: str, day: Day, *, recreate: bool) -> int:
    """Produce the simulated day with its ts as record timestamps, keyed and partitioned as a Java producer would."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        if recreate:
            await admin.delete_topics(list(day.topics))
            await asyncio.sleep(2)
        await admin.create_topics([NewTopic(t, PARTITIONS, 1) for t in day.topics])
    finally:
        await admin.close()
    for _ in range(150):
        if await topic_partitions(bootstrap, day.topics) is not None:
            break
        await asyncio.sleep(0.2)
    else:
        raise RuntimeError(f"the topics {day.topics} did not appear within 30 s")

    started = time.perf_counter()
    count = await send_events(bootstrap, day.simulator().events(), day.topics)
    DATA.mkdir(parents=True, exist_ok=True)
    _marker(day).write_text(json.dumps({"messages": count}))
    elapsed = time.perf_counter() - started
    print(f"produced {count:,} messages (simulated and sent) in {elapsed:.1f} s", file=sys.stderr)
    return count


async def send_events(bootstrap: str, events: Iterable[Any], topics: Sequence[str]) -> int:
    """Send simulated events (SimEvent) as fast as aiokafka can: batches built by hand, each record stamped with
    its event's ts, keyed and partitioned as a Java producer would (murmur2); ``topics`` replace the simulator's
    (calls, sms, agents, in that order).  Returns how many were sent."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks=1, max_batch_size=512 * 1024, linger_ms=50, max_request_size=4 * 1024 * 1024
    )
    await producer.start()
    count = 0
    try:
        topic_of = dict(zip(SIM_TOPICS, topics, strict=True))
        open_batches: dict[tuple[str, int], Any] = {}
        in_flight: list[asyncio.Future[Any]] = []

        async def send(topic: str, partition: int) -> None:
            in_flight.append(
                await producer.send_batch(open_batches.pop((topic, partition)), topic, partition=partition)
            )
            if len(in_flight) >= 32:
                await asyncio.gather(*in_flight)
                in_flight.clear()

        for ev in events:
            topic = topic_of[ev.topic]
            partition = (murmur2(ev.key) & 0x7FFFFFFF) % PARTITIONS
            batch = open_batches.get((topic, partition))
            if batch is None:
                batch = open_batches[(topic, partition)] = producer.create_batch()
            if batch.append(key=ev.key, value=ev.value, timestamp=ev.ts_ms) is None:
                await send(topic, partition)
                batch = open_batches[(topic, partition)] = producer.create_batch()
                batch.append(key=ev.key, value=ev.value, timestamp=ev.ts_ms)
            count += 1
        for topic, partition in list(open_batches):
            await send(topic, partition)
        await asyncio.gather(*in_flight)
    finally:
        await producer.stop()
    return count


# ---------------------------------------------------------------- measurements


@dataclass
class Run:
    messages: int
    wall_s: float
    cpu_s: float

    @property
    def rate(self) -> float:
        return self.messages / self.wall_s


def settings_for(bootstrap: str, day: Day) -> Settings:
    return parse_settings(
        {
            "timezone": ZONE,
            "kafka": {"bootstrap_servers": bootstrap, "topics": list(day.topics), "client_id": "wallboard-bench"},
        },
        environ={},
    )


async def measure(body: Callable[[], Awaitable[int]], expected: int) -> Run:
    wall, cpu = time.perf_counter(), time.process_time()
    got = await body()
    run = Run(got, time.perf_counter() - wall, time.process_time() - cpu)
    if got != expected:
        raise RuntimeError(f"read {got:,} messages, expected {expected:,}")
    return run


async def bare_consumer(s: Settings, expected: int) -> int:
    """The baseline: aiokafka alone, with the source's fetch settings, doing nothing with the records."""
    tps = await topic_partitions(s.kafka.bootstrap_servers, s.kafka.topics)
    assert tps is not None
    consumer = AIOKafkaConsumer(
        bootstrap_servers=s.kafka.bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        max_partition_fetch_bytes=s.kafka.max_partition_fetch_bytes,
        fetch_max_wait_ms=200,
    )
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        n = 0
        while n < expected:
            data = await consumer.getmany(timeout_ms=200, max_records=s.kafka.fetch_max_records)
            n += sum(len(records) for records in data.values())
        return n
    finally:
        await consumer.stop()


async def source_only(s: Settings, now_s: int, expected: int, keep: list[list[RawMessage]] | None = None) -> int:
    """KafkaSource until ready, every batch dropped (or kept in ``keep``): what the source adds to aiokafka."""
    source = KafkaSource(s.kafka, s.metrics, clock=lambda: now_s)
    n = 0
    try:
        async for batch in source.batches():
            n += len(batch)
            if keep is not None:
                keep.append(batch)
            if n >= expected and source.status().ready:
                break
    finally:
        await source.close()
    return n


class Board:
    """An engine fed like the app feeds it: batches through ``ingest``, and a tick once a second that builds
    the snapshot and serialises it, and moves the clock on by a second.

    As the app does (``wallboard.web.live``), the tick moves the clock with ``wallboard.ingest.advance``:
    during the catch-up it forgets only what is a late horizon older than the slowest partition still
    behind (``SourceStatus.low_watermark_ms``), since the partitions are hours apart in event time (a
    small topic is read to its end in the first fetch) and pruning by the newest event seen would drop the
    lagging partitions' events as too late.  ``tick_during_catch_up`` prunes by the newest event anyway,
    to show the bug this guards against.
    """

    def __init__(self, s: Settings, now_s: int, status: Callable[[], SourceStatus], tick_during_catch_up: bool) -> None:
        self.engine = Engine(s.metrics, now_s)
        self.now_s = now_s
        self.status = status
        self.tick_during_catch_up = tick_during_catch_up
        self.most_held = 0
        """The most interactions the engine held at a tick: what bounds its memory during the catch-up."""

    async def tick(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.now_s += 1
            if self.tick_during_catch_up:
                self.engine.advance(self.now_s)
            else:
                advance(self.engine, self.now_s, self.status())
            snapshot = self.engine.snapshot()
            self.most_held = max(self.most_held, snapshot["status"]["held_interactions"])
            orjson.dumps(snapshot)


async def end_to_end(s: Settings, now_s: int, expected: int, boards: list[Board], tick_during_catch_up: bool) -> int:
    """KafkaSource -> ingest -> engine with the tick, from creating the source to ready with every message applied."""
    source = KafkaSource(s.kafka, s.metrics, clock=lambda: now_s)
    board = Board(s, now_s, source.status, tick_during_catch_up)
    boards.append(board)
    ticker = asyncio.create_task(board.tick())
    n = 0
    try:
        async for batch in source.batches():
            await source.ingested(ingest(board.engine, batch))
            n += len(batch)
            if n >= expected and source.status().ready:
                break
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        await source.close()
    return n


async def with_app_gc(body: Callable[[], Awaitable[int]]) -> int:
    """Run ``body`` under the collector settings the app runs with (wallboard.web.gc_schedule.scheduled_gc)."""
    from wallboard.web.gc_schedule import scheduled_gc

    with scheduled_gc():
        return await body()


async def ingest_only(s: Settings, now_s: int, batches: list[list[RawMessage]]) -> int:
    """The same batches, in the order Kafka delivered them, through ingest alone: no Kafka, no tick."""
    engine = Engine(s.metrics, now_s)
    for batch in batches:
        ingest(engine, batch)
    return sum(map(len, batches))


def compare_with_replay(s: Settings, board: Board, batches: list[list[RawMessage]]) -> dict[str, str]:
    """Does the Kafka-fed engine show what an offline replay of the day (in ts order) shows at its clock?"""
    engine = board.engine
    expected = replay((m.value for batch in batches for m in batch), s.metrics, engine.now)
    got, want = engine.snapshot(), expected.snapshot()
    got.pop("status")
    want.pop("status")
    if got == want and engine.agents() == expected.agents():
        same = "yes"
    else:
        differing = sorted(q for q in want["queues"] if got["queues"].get(q) != want["queues"][q])
        same = f"NO (queues differing: {', '.join(differing) or 'none; totals or agents'})"
    return {
        "end-to-end snapshot and agents = offline replay (ts order)": same,
        "too_late, end to end / replay": f"{engine.too_late:,} / {expected.too_late:,}",
        "duplicates, end to end / replay": f"{engine.duplicates:,} / {expected.duplicates:,}",
        "interactions held, most at a tick during the catch-up / at the end / replay in ts order": (
            f"{board.most_held:,} / {engine.status()['held_interactions']:,} / "
            f"{expected.status()['held_interactions']:,}"
        ),
    }


async def bench(bootstrap: str, args: argparse.Namespace) -> tuple[list[tuple[str, Run]], dict[str, str]]:
    day = Day(args.scenario, args.seed, args.scale)
    expected = await ensure_day(bootstrap, day)
    s = settings_for(bootstrap, day)
    # A board (re)started at 23:50 of the simulated day: it replays the whole day, the last ten
    # minutes held until the ticking clock reaches them.
    now_s = day.end_s() - 600
    boards: list[Board] = []
    cases: list[tuple[str, Callable[[], Awaitable[int]]]] = [
        ("bare aiokafka getmany (baseline)", lambda: bare_consumer(s, expected)),
        ("KafkaSource only", lambda: source_only(s, now_s, expected)),
        (
            "KafkaSource + ingest + engine (default gc)",
            lambda: end_to_end(s, now_s, expected, [], args.tick_during_catch_up),
        ),
        (
            "KafkaSource + ingest + engine (app)",
            lambda: with_app_gc(lambda: end_to_end(s, now_s, expected, boards, args.tick_during_catch_up)),
        ),
    ]
    best: dict[str, Run] = {}
    for _ in range(args.repeat):
        for name, body in cases:  # interleaved, so that a noisy moment does not hit one case only
            run = await asyncio.wait_for(measure(body, expected), args.timeout)
            print(f"  {name}: {run.wall_s:.2f} s", file=sys.stderr)
            if name not in best or run.wall_s < best[name].wall_s:
                best[name] = run
    rows = [(name, best[name]) for name, _ in cases]
    gc.collect()

    # The same messages, in Kafka's order, kept in memory: ingest alone, and the replay check.
    batches: list[list[RawMessage]] = []
    await asyncio.wait_for(source_only(s, now_s, expected, batches), args.timeout)
    rows.insert(
        2, ("ingest + engine only (in memory)", await measure(lambda: ingest_only(s, now_s, batches), expected))
    )
    return rows, compare_with_replay(s, boards[-1], batches)


def print_table(rows: list[tuple[str, Run]], facts: dict[str, str], args: argparse.Namespace) -> None:
    base = rows[0][1].rate
    print(
        f"\nKafka ingest, {args.scenario} seed {args.seed} scale {args.scale} ({rows[0][1].messages:,} messages, "
        f"{PARTITIONS * len(SIM_TOPICS)} partitions), best of {args.repeat}"
    )
    print(f"{'path':<36} {'time s':>8} {'events/s':>10} {'ratio':>6} {'cpu s':>7} {'events/cpu-s':>13}")
    for name, run in rows:
        print(
            f"{name:<36} {run.wall_s:>8.2f} {run.rate:>10,.0f} {run.rate / base:>6.2f} {run.cpu_s:>7.2f} "
            f"{run.messages / run.cpu_s:>13,.0f}"
        )
    for name, run in rows[-2:]:
        what = "end to end" + (" (CPython's default gc)" if "default" in name else " (the app's gc settings)")
        print(f"goal >= 100,000 events/s {what}: {run.rate:,.0f} ({'ok' if run.rate >= 100_000 else 'MISSED'})")
        catch_up = run.wall_s * 1_000_000 / run.messages
        print(
            f"goal catch-up of a 1M-event day < 15 s {what}: {catch_up:.1f} s per 1M events "
            f"({'ok' if catch_up < 15 else 'MISSED'})"
        )
    for name, value in facts.items():
        print(f"{name}: {value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scenario", default="bank-hotline")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=2.0, help="2.0: about 1,000,000 messages")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each case; the best counts")
    parser.add_argument("--timeout", type=float, default=300, help="seconds allowed for one run of one case")
    parser.add_argument(
        "--tick-during-catch-up",
        action="store_true",
        help="prune every tick during the catch-up too: the bug the app guards against (see Board)",
    )
    parser.add_argument(
        "--bootstrap",
        default=os.environ.get("KAFKA_BOOTSTRAP"),
        help="an existing broker (default: $KAFKA_BOOTSTRAP, else start one)",
    )
    args = parser.parse_args()

    if args.bootstrap:
        rows, facts = asyncio.run(bench(args.bootstrap, args))
    else:
        with own_broker(BROKER_DIR) as bootstrap:
            rows, facts = asyncio.run(bench(bootstrap, args))
    print_table(rows, facts, args)


if __name__ == "__main__":
    main()

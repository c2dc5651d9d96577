"""The Kafka source against the project's real Apache Kafka broker (tests/kafka_broker.py).

Each test compares the Kafka-fed engine with `wallboard.replay` over the same
messages: the offline answer a board that never missed an event would give.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import time
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from tests.conftest import make_settings
from tests.engine_compare import numbers
from tests.kafka_board import Board
from tests.kafka_broker import create_topic, read_topic
from tests.streams import random_stream, to_json
from wallboard.engine import Engine
from wallboard.events import parse
from wallboard.ingest import advance, ingest
from wallboard.replay import replay
from wallboard.settings import Settings, with_overrides
from wallboard.sources.deadletter import REASON_HEADER
from wallboard.sources.kafka import KafkaSource, replay_start_ms

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio]


def settings_for(bootstrap: str, prefix: str, late_horizon: int = 7200, **kafka: Any) -> Settings:
    return make_settings(
        timezone="Asia/Shanghai",
        late_horizon=late_horizon,
        kafka={
            "bootstrap_servers": bootstrap,
            "topics": [f"{prefix}calls", f"{prefix}sms", f"{prefix}agents"],
            "dead_letter_topic": f"{prefix}deadletter",
            "reconnect_backoff_max": 2.0,
            **kafka,
        },
    )


async def make_topics(bootstrap: str, s: Settings, partitions: int = 3) -> None:
    for topic in s.kafka.topics:
        await create_topic(bootstrap, topic, partitions)


def topic_of(raw: bytes, s: Settings) -> str:
    calls, sms, agents = s.kafka.topics
    return sms if b'"sms.' in raw else agents if b'"agent.state"' in raw else calls


async def produce(
    bootstrap: str, s: Settings, items: list[tuple[bytes, int]], rng: random.Random, keyed: bool = True
) -> None:
    """Publish (raw message, record timestamp) pairs; keys as events.md says unless keyed=False."""
    import json

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        futures = []
        for raw, ts_ms in items:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            key = b"poison"
            if isinstance(body, dict):
                key = str(body.get("interaction_id") or body.get("agent_id") or "poison").encode()
            if not keyed:
                key = str(rng.random()).encode()
            futures.append(await producer.send(topic_of(raw, s), value=raw, key=key, timestamp_ms=ts_ms))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def day_of_events(now_s: int, seed: int, interactions: int = 400) -> tuple[list[bytes], list[tuple[bytes, int]]]:
    """Raw messages of a generated stream ending at now, and (raw, ts) pairs in ts order to publish."""
    rng = random.Random(seed)
    events = random_stream(rng, now_s - 4 * 3600, 4 * 3600 - 5, interactions=interactions)
    events.sort(key=lambda e: e.ts_ms)
    items = [(to_json(e, rng), e.ts_ms) for e in events]
    return [raw for raw, _ in items], items


async def test_a_generated_day_fed_through_kafka_equals_the_replay(kafka_bootstrap: str, topic_prefix: str) -> None:
    s = settings_for(kafka_bootstrap, topic_prefix)
    await make_topics(kafka_bootstrap, s)
    now = int(time.time())
    raws, items = day_of_events(now, seed=11)
    await produce(kafka_bootstrap, s, items, random.Random(1))
    async with Board(s, lambda: now) as board:
        await board.until(lambda: board.source.status().ready, what="catch-up")
        expected = replay(raws, s.metrics, now)
        assert board.snapshot() == numbers(expected.snapshot())
        assert board.engine.agents() == expected.agents()
        status = board.source.status()
        assert status.catch_up == 1.0 and status.connected and status.lag == 0
        assert status.details["partitions"] == 9


async def test_replay_starts_at_midnight_minus_the_lookback(kafka_bootstrap: str, topic_prefix: str) -> None:
    s = settings_for(kafka_bootstrap, topic_prefix, lookback=3600)
    await make_topics(kafka_bootstrap, s, partitions=1)
    now = int(time.time())
    start_ms = replay_start_ms(now, s.metrics, 3600)
    old = [
        (
            b'{"type":"call.offered","event_id":"old-%d","ts":%d,"interaction_id":"o%d","queue":"q"}'
            % (i, start_ms - 60_000, i),
            start_ms - 60_000,
        )
        for i in range(5)
    ]
    new = [
        (
            b'{"type":"call.offered","event_id":"new-%d","ts":%d,"interaction_id":"n%d","queue":"q"}'
            % (i, start_ms + 1000, i),
            start_ms + 1000,
        )
        for i in range(3)
    ]
    await produce(kafka_bootstrap, s, old + new, random.Random(2))
    async with Board(s, lambda: now) as board:
        await board.until(lambda: board.source.status().ready and board.engine.events == 3, what="3 events")
        await asyncio.sleep(0.5)
        assert board.engine.events == 3  # the 5 records before midnight - lookback were never read
        assert board.source.status().details["consumed"] == 3


async def test_a_quiet_topic_read_to_its_end_stays_current(kafka_bootstrap: str, topic_prefix: str) -> None:
    """Nothing new on the topic: every probe's end offsets are reached at once, so current_at follows the clock
    (the board shows the feed as quiet, not stale: wallboard/web/status.py)."""
    s = settings_for(kafka_bootstrap, topic_prefix)
    await make_topics(kafka_bootstrap, s, partitions=2)
    now = time.time()
    one = b'{"type":"call.offered","event_id":"q-1","ts":%d,"interaction_id":"q1","queue":"q"}' % int(now * 1000)
    await produce(kafka_bootstrap, s, [(one, int(now * 1000))], random.Random(3))
    async with Board(s, time.time) as board:
        await board.until(lambda: board.source.status().ready and board.engine.events == 1, what="the event")
        first = board.source.status().current_at
        assert first is not None and first >= now
        await board.until(lambda: (board.source.status().current_at or 0) > first + 1, limit_s=10, what="a probe")
        status = board.source.status()
        assert status.lag == 0 and status.connected and time.time() - (status.current_at or 0) < 6


async def test_a_restart_mid_day_reproduces_the_snapshot(kafka_bootstrap: str, topic_prefix: str) -> None:
    s = settings_for(kafka_bootstrap, topic_prefix)
    await make_topics(kafka_bootstrap, s)
    now = int(time.time())
    raws, items = day_of_events(now, seed=12)
    half = len(items) // 2
    await produce(kafka_bootstrap, s, items[:half], random.Random(3))
    async with Board(s, lambda: now) as never_restarted:
        await never_restarted.until(lambda: never_restarted.source.status().ready)
        async with Board(s, lambda: now) as first_life:
            await first_life.until(lambda: first_life.source.status().ready)
        # The first instance is gone ("killed"); more traffic arrives; a new instance starts from scratch.
        await produce(kafka_bootstrap, s, items[half:], random.Random(4))
        async with Board(s, lambda: now) as restarted:
            await restarted.until(lambda: restarted.source.status().ready)
            await never_restarted.until(
                lambda: never_restarted.source.status().details["consumed"] == len(items), what="all messages"
            )
            assert restarted.snapshot() == never_restarted.snapshot()
            assert restarted.engine.agents() == never_restarted.engine.agents()
            assert restarted.engine.intraday() == never_restarted.engine.intraday()
            assert restarted.snapshot() == numbers(replay(raws, s.metrics, now).snapshot())


async def test_a_broker_outage_loses_nothing_and_doubles_nothing(broker_control: Any, topic_prefix: str) -> None:
    bootstrap = broker_control.bootstrap
    # After the outage the producer sends the rest of a 4-hour stream at once, and the restarted broker
    # takes the partitions back one by one: some partitions' events then reach Kafka hours behind
    # others'.  A real outage's backlog spans the outage; this one spans hours, so the late horizon
    # (how late an event may arrive and still count, docs/events.md) is set to cover it.
    s = settings_for(bootstrap, topic_prefix, late_horizon=6 * 3600)
    await make_topics(bootstrap, s)
    now = int(time.time())
    raws, items = day_of_events(now, seed=13)
    third = len(items) // 3
    await produce(bootstrap, s, items[:third], random.Random(5))
    async with Board(s, lambda: now) as board:
        await board.until(lambda: board.source.status().ready)
        await broker_control.stop_async()
        await board.until(lambda: not board.source.status().connected, limit_s=30, what="the outage to show")
        assert board.source.status().last_error
        await broker_control.start_async()
        await produce(bootstrap, s, items[third:], random.Random(6))
        # Right after the restart the producer may retry a send and write a record twice (it is not
        # idempotent by default): wait for every record the log holds, not for the count we sent.
        in_log = sum([len(await read_topic(bootstrap, topic)) for topic in s.kafka.topics])
        assert in_log >= len(items)
        await board.until(
            lambda: board.source.status().details["consumed"] == in_log,
            limit_s=90,
            what="every message after the outage",
        )
        await board.until(lambda: board.source.status().connected, limit_s=30, what="reconnection")
        assert board.snapshot() == numbers(replay(raws, s.metrics, now).snapshot()), board.engine.status()
        assert board.engine.events == in_log  # each record in the log applied exactly once
        assert board.engine.too_late == 0
        assert board.engine.too_late == 0


async def test_poison_messages_go_to_the_dead_letter_topic(kafka_bootstrap: str, topic_prefix: str) -> None:
    s = settings_for(kafka_bootstrap, topic_prefix, dead_letter=True)
    await make_topics(kafka_bootstrap, s, partitions=2)
    await create_topic(kafka_bootstrap, s.kafka.dead_letter_topic, 1)
    now = int(time.time())
    good = [
        (
            b'{"type":"call.offered","event_id":"g%d","ts":%d,"interaction_id":"c%d","queue":"q"}'
            % (i, now * 1000 - 5000, i),
            now * 1000 - 5000,
        )
        for i in range(10)
    ]
    poison = [
        b"{not json",
        b"[1,2,3]",
        b'{"type":"call.offered","event_id":"p1","ts":"2026-11-29T10:00:00","interaction_id":"x","queue":"q"}',
        b'{"type":"call.exploded","event_id":"p2","ts":1,"interaction_id":"x","queue":"q"}',
        b'{"type":"call.offered","event_id":"p3","ts":1,"interaction_id":"x","queue":"' + b"q" * 100 + b'"}',
        b'{"pad":"' + b"x" * 70_000 + b'"}',
    ]
    items = good[:5] + [(p, now * 1000 - 4000) for p in poison] + good[5:]
    await produce(kafka_bootstrap, s, items, random.Random(7))
    async with Board(s, lambda: now) as board:
        await board.until(
            lambda: board.source.status().ready and board.source.dead_lettered == len(poison),
            what="dead letters delivered",
        )
        assert board.engine.events == 10  # consumption went on past every poison message
        assert dict(board.engine.rejected) == {
            "bad_json": 1,
            "not_object": 1,
            "timestamp_without_offset": 1,
            "unknown_type": 1,
            "bad_length": 1,
            "too_large": 1,
        }
    records = await read_topic(kafka_bootstrap, s.kafka.dead_letter_topic)
    assert sorted(r.value for r in records) == sorted(poison)  # unchanged
    reasons = sorted(dict(r.headers)[REASON_HEADER].decode() for r in records)
    assert reasons == sorted(
        ["bad_json", "not_object", "timestamp_without_offset", "unknown_type", "bad_length", "too_large"]
    )


async def test_messages_over_the_limits_go_to_the_dead_letter_topic_with_their_reason(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    """docs/events.md "Limits" and "Names" over a real broker: the contract's rejections and the board's
    refusals are forwarded unchanged with their reason; a name spelt with an invisible character counts in
    its queue, and the queue held keeps its numbers."""
    s = with_overrides(
        settings_for(kafka_bootstrap, topic_prefix, dead_letter=True),
        metrics={"limits": {"max_queues": 1}, "queues": {"q": {"call": {}}}},
    )
    await make_topics(kafka_bootstrap, s, partitions=2)
    await create_topic(kafka_bootstrap, s.kafka.dead_letter_topic, 1)
    now = int(time.time())
    ts = now * 1000 - 5000

    def offered(eid: str, queue: str) -> bytes:
        body = {"type": "call.offered", "event_id": eid, "ts": ts, "interaction_id": eid, "queue": queue}
        return orjson.dumps(body)

    def state(eid: str, queues: list[str], name: str = "x") -> bytes:
        body = {"type": "agent.state", "event_id": eid, "ts": ts, "agent_id": eid, "state": "busy"}
        return orjson.dumps({**body, "queues": queues, "name": name})

    good = [offered(f"g{i}", "q") for i in range(10)] + [offered("g10", "q\u200b"), state("a1", ["q", " q"])]
    poison = {
        state("p1", [f"q{i}" for i in range(17)]): "queue_list_too_long",
        offered("p2", "q\x07"): "bad_characters",
        state("p3", ["q"], name="名" * 65): "bad_length",
        offered("p4", "other"): "too_many_queues",  # the board holds its one queue, q
        state("p5", ["q", "zz"]): "too_many_queues",
    }
    items = [(raw, ts) for raw in [*good[:6], *poison, *good[6:]]]
    await produce(kafka_bootstrap, s, items, random.Random(7))
    async with Board(s, lambda: now) as board:
        await board.until(
            lambda: board.source.status().ready and board.source.dead_lettered == len(poison),
            what="dead letters delivered",
        )
        assert board.engine.events == len(good)
        assert dict(board.engine.rejected) == {
            "queue_list_too_long": 1,
            "bad_characters": 1,
            "bad_length": 1,
            "too_many_queues": 2,
        }
        queues = board.snapshot()["queues"]
        assert list(queues) == ["q"]
        assert queues["q"]["channels"]["call"]["today"]["offered"] == 11
        assert queues["q"]["agents"]["busy"] == 1
    records = await read_topic(kafka_bootstrap, s.kafka.dead_letter_topic)
    assert sorted((r.value, dict(r.headers)[REASON_HEADER].decode()) for r in records) == sorted(poison.items())


async def test_one_interaction_spread_over_partitions_counts_once(kafka_bootstrap: str, topic_prefix: str) -> None:
    s = settings_for(kafka_bootstrap, topic_prefix)
    await make_topics(kafka_bootstrap, s, partitions=6)
    now = int(time.time())
    raws, items = day_of_events(now, seed=14, interactions=300)
    rng = random.Random(8)
    # Random keys (a producer that ignores the keying rule) and every message sent twice (retries).
    doubled = items + rng.sample(items, len(items))
    await produce(kafka_bootstrap, s, doubled, rng, keyed=False)
    async with Board(s, lambda: now) as board:
        await board.until(lambda: board.source.status().ready)
        assert board.snapshot() == numbers(replay(raws, s.metrics, now).snapshot())
        assert board.engine.duplicates >= len(items)


async def test_messages_from_kcat_a_producer_we_did_not_write(kafka_bootstrap: str, topic_prefix: str) -> None:
    s = settings_for(kafka_bootstrap, topic_prefix)
    await make_topics(kafka_bootstrap, s, partitions=3)
    now = int(time.time())
    lines = [
        f'c1:{{"type":"call.offered","event_id":"k1","ts":{now * 1000 - 30_000},"interaction_id":"c1",'
        f'"queue":"信用卡"}}',
        f'c1:{{"type":"call.answered","event_id":"k2","ts":{now * 1000 - 20_000},"interaction_id":"c1",'
        f'"queue":"信用卡","agent_id":"A1"}}',
    ]
    await asyncio.to_thread(
        subprocess.run,
        ["kcat", "-P", "-b", kafka_bootstrap, "-t", s.kafka.topics[0], "-K:"],
        input="\n".join(lines).encode(),
        check=True,
        timeout=30,
    )
    async with Board(s, lambda: now) as board:
        await board.until(lambda: board.source.status().ready and board.engine.events == 2)
        call = board.snapshot()["queues"]["信用卡"]["channels"]["call"]
        assert call["today"]["answered"] == 1 and call["today"]["asa_s"] == 10.0


async def test_a_catch_up_reads_the_partitions_in_step(kafka_bootstrap: str, topic_prefix: str) -> None:
    """During a catch-up a partition more than half a late horizon ahead (in event time) of the slowest one with a
    backlog is held back, so the engine can forget as it goes: memory bounded by the horizon, not by the day."""
    horizon_s = 1800
    s = settings_for(kafka_bootstrap, topic_prefix, late_horizon=horizon_s, fetch_max_records=5)
    await make_topics(kafka_bootstrap, s)
    now = int(time.time())
    raws, items = day_of_events(now, seed=17, interactions=300)  # 4 hours of events over 9 partitions
    await produce(kafka_bootstrap, s, items, random.Random(5))
    source = KafkaSource(s.kafka, s.metrics, clock=lambda: now)
    engine = Engine(s.metrics, now)
    reached: list[dict[tuple[str, int], int]] = []  # after each batch: each partition's newest event ts so far
    try:
        async for batch in source.batches():
            where = dict(reached[-1]) if reached else {}
            for message in batch:
                key = (message.topic, message.partition)
                where[key] = max(where.get(key, -1), parse(message.value).ts_ms)
            reached.append(where)
            await source.ingested(ingest(engine, batch))
            advance(engine, now, source.status())
            if source.status().ready and source.status().details["consumed"] == len(items):
                break
    finally:
        await source.close()
    # A partition hands out records only while it is at most half a horizon ahead of the slowest one that still has
    # records to hand out (one that has handed out nothing yet is at the replay start).
    replay_from = replay_start_ms(now, s.metrics, s.kafka.lookback)
    last = {
        key: max(i for i, where in enumerate(reached) if where.get(key) != (reached[i - 1].get(key) if i else None))
        for key in reached[-1]
    }
    ahead = []
    for i in range(1, len(reached)):
        before, after = reached[i - 1], reached[i]
        low = min(before.get(key, replay_from) for key in last if last[key] >= i)
        ahead += [
            before[key] - low
            for key in after
            if key in before and after[key] != before[key] and before[key] - low > horizon_s // 2 * 1000
        ]
    assert len(reached) > 20, "the catch-up took few batches: nothing much checked"
    assert ahead == [], [round(a / 60_000) for a in ahead]
    assert engine.too_late == 0
    assert numbers(engine.snapshot()) == numbers(replay(raws, s.metrics, now).snapshot())

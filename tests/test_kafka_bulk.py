"""A whole day written as real producers write it, read by a board starting on it: it must equal the replay.

A bank's log often holds a backlog whose record timestamps say nothing about
the events: a first deployment bulk-loads today, a producer flushes its buffer
after an outage, brokers stamp ``LogAppendTime``, a mirror copies a topic.  The
board's catch-up follows the partitions in *event* time (docs/kafka.md), so
none of these may lose an event as too late.  The day here is the bank-hotline
scenario at scale 2: over a million messages in three topics of three
partitions, produced by kcat (librdkafka, the time of sending as record
timestamps) or by aiokafka with chosen timestamps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiokafka import AIOKafkaProducer

from tests.conftest import make_settings
from tests.engine_compare import numbers
from tests.kafka_board import Board
from tests.kafka_broker import create_topic
from wallboard.replay import replay
from wallboard.settings import Settings
from wallboard.simulator import Simulator, load_scenario

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio]

ZONE = "Asia/Shanghai"
DAY = date(2026, 11, 20)
TOPICS = ("cc.calls", "cc.sms", "cc.agents")


@dataclass
class BulkDay:
    """A generated day: every message (ts order), its ts and topic, and a kcat input file per topic."""

    raws: list[bytes]
    ts_ms: list[int]
    topics: list[int]
    kcat_files: dict[str, Path]
    end_s: int
    """The board's clock: the last second of the day (a restart at 23:59:59 replays all of it)."""


@pytest.fixture(scope="module")
def bulk_day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BulkDay]:
    folder = tmp_path_factory.mktemp("bulk-day")
    zone = ZoneInfo(ZONE)
    sim = Simulator(load_scenario("bank-hotline"), seed=1, day=DAY, tz=zone, scale=2.0)
    raws: list[bytes] = []
    ts_ms: list[int] = []
    topics: list[int] = []
    files = {t: folder / f"{t}.kcat" for t in TOPICS}
    handles = {t: files[t].open("wb") for t in TOPICS}
    try:
        for event in sim.events():
            assert b"\t" not in event.key and b"\n" not in event.value
            raws.append(event.value)
            ts_ms.append(event.ts_ms)
            topics.append(TOPICS.index(event.topic))
            handles[event.topic].write(event.key + b"\t" + event.value + b"\n")
    finally:
        for handle in handles.values():
            handle.close()
    assert len(raws) >= 1_000_000
    end_s = int(datetime.combine(DAY, time(23, 59, 59), zone).timestamp())
    yield BulkDay(raws, ts_ms, topics, files, end_s)


def settings_for(bootstrap: str, prefix: str) -> Settings:
    return make_settings(
        timezone=ZONE,
        kafka={
            "bootstrap_servers": bootstrap,
            "topics": [f"{prefix}{t}" for t in TOPICS],
            "reconnect_backoff_max": 2.0,
        },
    )


async def make_topics(bootstrap: str, s: Settings, configs: dict[str, str] | None = None) -> None:
    for topic in s.kafka.topics:
        await create_topic(bootstrap, topic, 3, configs=configs)


async def kcat_produce(bootstrap: str, s: Settings, day: BulkDay, codec: str = "none") -> None:
    """The day as a third-party producer bulk-loads it: kcat with librdkafka's defaults (send-time timestamps)."""
    procs = [
        await asyncio.create_subprocess_exec(
            "kcat",
            "-P",
            "-b",
            bootstrap,
            "-t",
            topic,
            "-K",
            "\t",
            "-z",
            codec,
            "-l",
            str(day.kcat_files[name]),
            stderr=asyncio.subprocess.PIPE,
        )
        for name, topic in zip(TOPICS, s.kafka.topics, strict=True)
    ]
    for proc in procs:
        _, err = await asyncio.wait_for(proc.communicate(), 300)
        assert proc.returncode == 0, err.decode(errors="replace")


async def aiokafka_produce(bootstrap: str, s: Settings, day: BulkDay, late_ms: dict[int, int]) -> None:
    """The day with record timestamp = event ts, plus ``late_ms[topic index]`` for a topic written late."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=512 * 1024)
    await producer.start()
    try:
        pending = []
        for raw, ts, topic in zip(day.raws, day.ts_ms, day.topics, strict=True):
            record_ts = ts + late_ms.get(topic, 0)
            pending.append(await producer.send(s.kafka.topics[topic], value=raw, timestamp_ms=record_ts))
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def assert_board_equals_replay(s: Settings, day: BulkDay) -> None:
    async with Board(s, lambda: day.end_s) as board:
        await board.until(
            lambda: board.source.status().settled and board.source.consumed >= len(day.raws),
            limit_s=600,
            what="the whole day read",
        )
        got = board.snapshot()
        got_agents = board.engine.agents()
        too_late = board.engine.too_late
    expected = replay(day.raws, s.metrics, day.end_s)
    assert too_late == 0
    want = numbers(expected.snapshot())
    assert got["totals"] == want["totals"]
    assert got == want
    assert got_agents == expected.agents()


async def test_a_day_bulk_loaded_by_kcat_equals_the_replay(
    kafka_bootstrap: str, topic_prefix: str, bulk_day: BulkDay
) -> None:
    """Every record stamped with the moment kcat sent it (seconds apart for a whole day): a first deployment."""
    s = settings_for(kafka_bootstrap, topic_prefix)
    await make_topics(kafka_bootstrap, s)
    await kcat_produce(kafka_bootstrap, s, bulk_day)
    await assert_board_equals_replay(s, bulk_day)


async def test_a_day_on_log_append_time_topics_equals_the_replay(
    kafka_bootstrap: str, topic_prefix: str, bulk_day: BulkDay
) -> None:
    """The broker stamps each record with its own receive time, whatever the producer said."""
    s = settings_for(kafka_bootstrap, topic_prefix)
    await make_topics(kafka_bootstrap, s, {"message.timestamp.type": "LogAppendTime"})
    await aiokafka_produce(kafka_bootstrap, s, bulk_day, {})
    await assert_board_equals_replay(s, bulk_day)


async def test_a_day_with_one_topic_written_an_hour_late_equals_the_replay(
    kafka_bootstrap: str, topic_prefix: str, bulk_day: BulkDay
) -> None:
    """The agent desktops' producer runs an hour behind the others: its record times are an hour after its events'."""
    s = settings_for(kafka_bootstrap, topic_prefix)
    await make_topics(kafka_bootstrap, s)
    await aiokafka_produce(kafka_bootstrap, s, bulk_day, {TOPICS.index("cc.agents"): 3_600_000})
    await assert_board_equals_replay(s, bulk_day)

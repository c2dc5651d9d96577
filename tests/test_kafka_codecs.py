"""Compressed topics: kcat (librdkafka) writes the day with each codec Kafka has; the board equals the replay.

aiokafka decodes gzip itself and snappy, lz4 and zstd with cramjam (a
dependency of wallboard for that reason).  Each test first reads the record
batches' headers back from the broker: librdkafka sends a batch uncompressed
when compressing does not make it smaller, so without that check a test could
pass without having read a single compressed batch.
"""

from __future__ import annotations

import asyncio
import struct
import subprocess
from collections import Counter

import pytest
from aiokafka import TopicPartition
from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.fetch import FetchRequest

from tests.engine_compare import numbers
from tests.kafka_board import Board
from tests.kafka_broker import create_topic
from tests.simulated_day import kafka_settings, simulated_day
from wallboard.replay import replay
from wallboard.settings import Settings
from wallboard.simulator import SimEvent

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio]

CODECS = ("none", "gzip", "snappy", "lz4", "zstd")  # the record batch attribute's codec ids 0..4


async def kcat_produce(bootstrap: str, topic: str, events: list[SimEvent], codec: str) -> None:
    """Write the events to the topic with kcat, key TAB value per line, compressed with the codec."""
    lines = b"".join(e.key + b"\t" + e.value + b"\n" for e in events)
    assert b"\t" not in b"".join(e.key for e in events) and b"\n" not in b"".join(e.value for e in events)
    done = await asyncio.to_thread(
        subprocess.run,
        ["kcat", "-P", "-b", bootstrap, "-t", topic, "-z", codec, "-K", "\t", "-X", "linger.ms=50"],
        input=lines,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")


async def batch_codecs(bootstrap: str, topic: str) -> Counter[str]:
    """How many record batches of each codec the topic's log holds (all partitions), from raw Fetch responses."""
    client = AIOKafkaClient(bootstrap_servers=bootstrap)
    await client.bootstrap()
    found: Counter[str] = Counter()
    try:
        cluster = await client.fetch_all_metadata()
        for partition in sorted(cluster.partitions_for_topic(topic)):
            leader = cluster.leader_for_partition(TopicPartition(topic, partition))
            offset, end = 0, 1
            while offset < end:
                request = FetchRequest(100, 1, 8 << 20, 0, [(topic, [(partition, offset, 8 << 20)])])
                response = await client.send(leader, request)
                ((_, (part,)),) = response.topics
                assert part[1] == 0, f"fetch error code {part[1]}"
                end, data, pos = part[2], part[-1], 0
                # Record batch v2 header: baseOffset int64, batchLength int32, leader epoch int32, magic int8,
                # crc int32, attributes int16 (codec in the low 3 bits), lastOffsetDelta int32, ...
                while pos + 27 <= len(data):
                    base, length = struct.unpack_from(">qi", data, pos)
                    if pos + 12 + length > len(data):
                        break  # a partial batch at the end of the response
                    attributes, last_delta = struct.unpack_from(">hi", data, pos + 21)
                    found[CODECS[attributes & 7]] += 1
                    offset, pos = base + last_delta + 1, pos + 12 + length
    finally:
        await client.close()
    return found


async def board_equals_replay(s: Settings, events: list[SimEvent], now: int) -> None:
    async with Board(s, lambda: now) as board:
        await board.until(lambda: board.source.status().ready, what="catch-up")
        status = board.source.status()
        assert status.details["consumed"] == len(events)
        assert status.catch_up == 1.0 and status.caught_up and status.lag == 0
        expected = replay([e.value for e in events], s.metrics, now)
        assert board.snapshot() == numbers(expected.snapshot())
        assert board.engine.agents() == expected.agents()
        assert board.engine.events == len(events) and board.engine.too_late == 0


@pytest.mark.parametrize("codec", CODECS)
async def test_a_day_written_by_kcat_with_each_codec_equals_the_replay(
    codec: str, kafka_bootstrap: str, topic_prefix: str
) -> None:
    s = kafka_settings(kafka_bootstrap, topic_prefix)
    events, now = simulated_day(s, 2000, seed=21)
    for topic in s.kafka.topics:
        await create_topic(kafka_bootstrap, topic, 3)
        await kcat_produce(kafka_bootstrap, topic, [e for e in events if e.topic == topic], codec)
    for topic in s.kafka.topics:
        assert set(await batch_codecs(kafka_bootstrap, topic)) == {codec}, topic
    await board_equals_replay(s, events, now)


async def test_one_day_over_three_topics_with_three_codecs_equals_the_replay(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    s = kafka_settings(kafka_bootstrap, topic_prefix)
    events, now = simulated_day(s, 3000, seed=22)
    codecs = dict(zip(s.kafka.topics, ("lz4", "zstd", "snappy"), strict=True))  # calls, sms, agents
    for topic, codec in codecs.items():
        await create_topic(kafka_bootstrap, topic, 3)
        await kcat_produce(kafka_bootstrap, topic, [e for e in events if e.topic == topic], codec)
    for topic, codec in codecs.items():
        assert set(await batch_codecs(kafka_bootstrap, topic)) == {codec}, topic
    await board_equals_replay(s, events, now)

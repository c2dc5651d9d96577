"""The Kafka test broker itself: what the Kafka source will rely on, checked on a real broker."""

from __future__ import annotations

import asyncio
import json
import shutil

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from tests.kafka_broker import KafkaBroker, create_topic, read_topic

pytestmark = pytest.mark.kafka

# 2023-11-14T22:13:20Z: record timestamps well in the past, as a replay of an earlier day has.
BASE_MS = 1_700_000_000_000


@pytest.mark.asyncio
async def test_produce_and_read_back_every_partition(kafka_bootstrap: str, topic_prefix: str) -> None:
    topic = f"{topic_prefix}calls"
    await create_topic(kafka_bootstrap, topic, 3)
    n = 3000
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topic, f"v{i}".encode(), key=f"k{i % 97}".encode()) for i in range(n)]
        metadata = await asyncio.gather(*futures)
    finally:
        await producer.stop()
    assert {m.partition for m in metadata} == {0, 1, 2}

    tps = [TopicPartition(topic, p) for p in range(3)]
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        got: dict[int, list[tuple[int, bytes, bytes]]] = {0: [], 1: [], 2: []}
        async with asyncio.timeout(30):
            while sum(map(len, got.values())) < n:
                for tp, records in (await consumer.getmany(timeout_ms=500)).items():
                    got[tp.partition].extend((r.offset, r.key, r.value) for r in records)
    finally:
        await consumer.stop()

    assert sorted(v for part in got.values() for _, _, v in part) == sorted(f"v{i}".encode() for i in range(n))
    for partition, records in got.items():
        # Offsets run 0, 1, 2, ... in each partition, and one key always lands in one partition.
        assert [o for o, _, _ in records] == list(range(len(records)))
        keys_here = {k for _, k, _ in records}
        assert all(keys_here.isdisjoint({k for _, k, _ in got[other]}) for other in got if other != partition)
    # The same records through the plugin's helper.
    assert len(await read_topic(kafka_bootstrap, topic)) == n


@pytest.mark.asyncio
async def test_offsets_for_times_gives_the_first_offset_at_or_after(
    kafka_bootstrap: str, kafka_producer: AIOKafkaProducer, kafka_admin: AIOKafkaAdminClient, topic_prefix: str
) -> None:
    topic = f"{topic_prefix}times"
    await create_topic(kafka_bootstrap, topic, 3)
    (meta,) = await kafka_admin.describe_topics([topic])
    assert sorted(p["partition"] for p in meta["partitions"]) == [0, 1, 2]
    tp = TopicPartition(topic, 1)
    # Not in time order: offset 2 is earlier than offset 1, as a late event is.
    stamps = [BASE_MS, BASE_MS + 5000, BASE_MS + 2000, BASE_MS + 3000, BASE_MS + 3000, BASE_MS + 9000]
    # Two batches, so that the broker's time index is used across batches too.
    for chunk in (stamps[:3], stamps[3:]):
        futures = [
            await kafka_producer.send(topic, f"at{ts}".encode(), partition=tp.partition, timestamp_ms=ts)
            for ts in chunk
        ]
        await asyncio.gather(*futures)

    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:

        async def first_at_or_after(ts: int) -> tuple[int, int] | None:
            found = (await consumer.offsets_for_times({tp: ts}))[tp]
            return None if found is None else (found.offset, found.timestamp)

        assert await first_at_or_after(0) == (0, BASE_MS)
        assert await first_at_or_after(BASE_MS) == (0, BASE_MS)
        assert await first_at_or_after(BASE_MS + 1) == (1, BASE_MS + 5000)
        assert await first_at_or_after(BASE_MS + 5000) == (1, BASE_MS + 5000)
        assert await first_at_or_after(BASE_MS + 5001) == (5, BASE_MS + 9000)
        assert await first_at_or_after(BASE_MS + 9000) == (5, BASE_MS + 9000)
        # Nothing at or after: None, and the caller seeks to the end instead.
        assert await first_at_or_after(BASE_MS + 9001) is None
        # The empty partitions have no answer either.
        assert (await consumer.offsets_for_times({TopicPartition(topic, 0): 0}))[TopicPartition(topic, 0)] is None

        # The records keep the producer's timestamps (CreateTime).
        consumer.assign([tp])
        consumer.seek(tp, 2)
        records = (await consumer.getmany(tp, timeout_ms=5000))[tp]
        assert [(r.offset, r.timestamp, r.timestamp_type) for r in records[:2]] == [
            (2, BASE_MS + 2000, 0),
            (3, BASE_MS + 3000, 0),
        ]
    finally:
        await consumer.stop()


@pytest.mark.asyncio
@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "sigkill"])
async def test_data_survives_a_broker_restart(broker_control: KafkaBroker, topic_prefix: str, kill: bool) -> None:
    bootstrap = broker_control.bootstrap
    topic = f"{topic_prefix}restart"
    await create_topic(bootstrap, topic, 3)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        futures = [await producer.send(topic, f"before{i}".encode(), key=f"k{i}".encode()) for i in range(100)]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()

    await broker_control.stop_async(kill=kill)
    assert not broker_control.is_running()
    await broker_control.start_async()
    assert broker_control.is_running()

    before = await read_topic(bootstrap, topic)
    assert sorted(r.value for r in before) == sorted(f"before{i}".encode() for i in range(100))

    # Same ports, same log: new records go after the old ones.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        sent = await (await producer.send(topic, b"after", partition=0))
    finally:
        await producer.stop()
    assert sent.offset == sum(1 for r in before if r.partition == 0)


@pytest.mark.asyncio
async def test_kcat_message_is_read_by_aiokafka_with_its_key(kafka_bootstrap: str, topic_prefix: str) -> None:
    kcat = shutil.which("kcat")
    assert kcat, "kcat is needed (Debian package kcat; .ci/run installs it)"
    topic = f"{topic_prefix}kcat"
    await create_topic(kafka_bootstrap, topic, 3)
    value = json.dumps({"type": "call.offered", "interaction_id": "c-1", "queue": "信用卡"}, ensure_ascii=False)

    proc = await asyncio.create_subprocess_exec(
        kcat, "-P", "-b", kafka_bootstrap, "-t", topic, "-K", "\t", "-H", "source=kcat",
        stdin=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(f"c-1\t{value}\n".encode()), 30)
    assert proc.returncode == 0, err.decode(errors="replace")

    (record,) = await read_topic(kafka_bootstrap, topic)
    assert record.key == b"c-1"
    assert record.value == value.encode()
    assert record.headers == (("source", b"kcat"),)

    # And the other way round: kcat reads what aiokafka wrote, key included.
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        sent = await (await producer.send(topic, b'{"n":2}', key=b"agent-7", partition=2))
    finally:
        await producer.stop()
    proc = await asyncio.create_subprocess_exec(
        kcat, "-C", "-e", "-q", "-b", kafka_bootstrap, "-t", topic, "-p", "2", "-o", str(sent.offset), "-f", "%k|%s\n",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode(errors="replace")
    assert out.decode().splitlines() == ['agent-7|{"n":2}']

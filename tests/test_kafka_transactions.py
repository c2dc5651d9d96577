"""Transactional producers: the source reads committed data only (isolation_level read_committed).

Aborted records stay in the log and transaction markers (control records) take
offsets of their own; neither is ever handed out, so the source's positions come
from the consumer, not from the last record read.  Its end offsets are the last
stable offset (LSO): a partition's records after the first one of a transaction
still open, transactional or not, are held back until that transaction ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from tests.engine_compare import numbers
from tests.kafka_board import Board
from tests.kafka_broker import create_topic, read_topic
from tests.simulated_day import kafka_settings, simulated_day
from wallboard.replay import replay
from wallboard.settings import Settings
from wallboard.simulator import SimEvent
from wallboard.sources.kafka import PROBE_INTERVAL_S

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio]


async def send_all(producer: AIOKafkaProducer, events: list[SimEvent]) -> None:
    """Send and wait until the broker has every one (in the log, past the high watermark)."""
    futures = [await producer.send(e.topic, value=e.value, key=e.key, timestamp_ms=e.ts_ms) for e in events]
    await asyncio.gather(*futures)


async def end_offsets(bootstrap: str, topics: Sequence[str], isolation_level: str) -> dict[str, int]:
    """Partition 0's end offset per topic: the high watermark (read_uncommitted) or the LSO (read_committed)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, isolation_level=isolation_level
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, 0) for topic in topics]
        consumer.assign(tps)
        return {tp.topic: offset for tp, offset in (await consumer.end_offsets(tps)).items()}
    finally:
        await consumer.stop()


def all_read(board: Board, count: int) -> Callable[[], bool]:
    return lambda: board.source.status().details["consumed"] == count and board.source.status().caught_up


def replayed(s: Settings, events: list[SimEvent], now: int) -> dict[str, object]:
    return numbers(replay([e.value for e in events], s.metrics, now).snapshot())


async def test_only_committed_and_plain_events_count(kafka_bootstrap: str, topic_prefix: str) -> None:
    s = kafka_settings(kafka_bootstrap, topic_prefix)
    for topic in s.kafka.topics:
        await create_topic(kafka_bootstrap, topic, 2)
    events, now = simulated_day(s, 2400, seed=31)
    plain = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=5)
    txn = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=5, transactional_id=f"{topic_prefix}txn")
    await plain.start()
    await txn.start()
    counted: list[SimEvent] = []
    aborted: list[SimEvent] = []
    try:
        async with Board(s, lambda: now) as live:
            await live.until(lambda: live.source.status().ready, what="ready on the empty topics")
            # Six transactions, committed, aborted, committed, ... the last one aborted, so that every
            # partition's log ends with aborted records and an abort marker.  Within each, pieces of 25
            # events go alternately through the transaction and through the plain producer: on the same
            # partitions (keys, murmur2 both), each piece acknowledged before the next one is sent.
            for n in range(6):
                await txn.begin_transaction()
                chunk = events[n * 400 : (n + 1) * 400]
                for i in range(0, len(chunk), 25):
                    piece = chunk[i : i + 25]
                    in_txn = i // 25 % 2 == 0
                    await send_all(txn if in_txn else plain, piece)
                    (aborted if in_txn and n % 2 else counted).extend(piece)
                await (txn.abort_transaction() if n % 2 else txn.commit_transaction())
            assert len(counted) + len(aborted) == len(events) and len(aborted) == 600

            expected = replayed(s, counted, now)
            assert expected != replayed(s, events, now), "the aborted events would change the board"
            in_log = sum([len(await read_topic(kafka_bootstrap, topic)) for topic in s.kafka.topics])
            assert in_log == len(events)  # read_uncommitted: the aborted records are in the log

            await live.until(
                lambda: live.source.status().details["consumed"] == len(counted) and live.source.status().caught_up,
                what="the committed events, lag 0",
            )
            assert live.snapshot() == expected
            assert live.engine.events == len(counted)
            status = live.source.status()
            assert status.ready and status.lag == 0 and status.catch_up == 1.0

        async with Board(s, lambda: now) as restarted:
            await restarted.until(lambda: restarted.source.status().ready, what="the catch-up over the markers")
            status = restarted.source.status()
            assert status.caught_up and status.lag == 0 and status.catch_up == 1.0
            assert status.details["consumed"] == restarted.engine.events == len(counted)
            assert restarted.snapshot() == expected
    finally:
        await txn.stop()
        await plain.stop()


async def test_an_open_transaction_holds_back_its_partitions_until_it_commits(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    s = kafka_settings(kafka_bootstrap, topic_prefix)
    calls, sms, agents = s.kafka.topics
    for topic in s.kafka.topics:
        await create_topic(kafka_bootstrap, topic, 1)
    events, now = simulated_day(s, 600, seed=32)
    before, rest = events[:300], events[300:]
    # The transaction writes to calls and agents only; plain events follow it on all three topics.
    in_txn = [e for e in rest if e.topic != sms][:100]
    after = [e for e in rest if e not in in_txn]
    held = [e for e in after if e.topic != sms]  # behind the open transaction on its partitions
    free = [e for e in after if e.topic == sms]
    assert held and free and {e.topic for e in in_txn} == {calls, agents}
    plain = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=5)
    txn = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=5, transactional_id=f"{topic_prefix}txn")
    await plain.start()
    await txn.start()
    try:
        await send_all(plain, before)
        async with Board(s, lambda: now) as live:
            await live.until(lambda: live.source.status().details["consumed"] == len(before), what="the first part")
            await txn.begin_transaction()
            await send_all(txn, in_txn)
            await send_all(plain, after)

            # Everything is in the log; the LSO stops at the open transaction's first record where it wrote.
            hw = await end_offsets(kafka_bootstrap, s.kafka.topics, "read_uncommitted")
            lso = await end_offsets(kafka_bootstrap, s.kafka.topics, "read_committed")
            assert sum(hw.values()) == len(events)
            assert lso[sms] == hw[sms]
            for topic in (calls, agents):
                assert lso[topic] == len([e for e in before if e.topic == topic]) < hw[topic]

            await live.until(
                lambda: live.source.status().details["consumed"] == len(before) + len(free),
                what="the plain events on the partition the transaction did not touch",
            )
            await asyncio.sleep(PROBE_INTERVAL_S + 1)  # a probe of the end offsets and many fetches later
            open_expected = replayed(s, before + free, now)
            async with Board(s, lambda: now) as started_meanwhile:
                await started_meanwhile.until(
                    lambda: started_meanwhile.source.status().ready, what="a catch-up while the transaction is open"
                )
                for board in (live, started_meanwhile):
                    status = board.source.status()
                    assert board.engine.events == status.details["consumed"] == len(before) + len(free)
                    assert board.snapshot() == open_expected
                    # What the source reports meanwhile: ready and caught up, no lag, as its end offsets are the
                    # LSO; the records behind it (the transaction's and the plain ones after it) are not lag.
                    assert (status.ready, status.caught_up, status.lag, status.catch_up) == (True, True, 0, 1.0)
                    assert status.low_watermark_ms is None
                    # ... and says how many records wait behind open transactions.
                    assert status.details["held_by_open_transactions"] == len(in_txn) + len(held)

                await txn.commit_transaction()
                for board in (live, started_meanwhile):
                    await board.until(all_read(board, len(events)), what="everything after the commit")
                    status = board.source.status()
                    assert (status.ready, status.lag, status.catch_up) == (True, 0, 1.0)
                    assert board.engine.events == len(events) and board.engine.too_late == 0
                    assert board.snapshot() == replayed(s, events, now)
    finally:
        await txn.stop()
        await plain.stop()

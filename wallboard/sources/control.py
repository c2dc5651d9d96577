"""Where the control records live: in this process (one instance), or in the Kafka control topic (any number).

``MemoryControl`` is for a board without Kafka (the simulator, a file, the
tests): what is written is read back at once, and a restart loses it, as there
is no log to keep it.  ``KafkaControl`` writes to ``[kafka] control_topic`` and
follows that topic from its beginning, so that every instance folds the same
records in the same order (wallboard/control.py) and a restart reads them again.

Both give the same promise to the caller: ``write`` returns once the record is
stored *and* this instance has folded it in, so a page that posts a broadcast
and then reads it back sees its own write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from wallboard.errors import SourceError

if TYPE_CHECKING:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient

    from wallboard.settings import KafkaSettings

logger = logging.getLogger(__name__)

OnRecord = Callable[[bytes | None, bytes | None], None]
"""Called with each record's (key, value), in the topic's order."""

WRITE_TIMEOUT_S = 5.0
"""How long a write may take, stored and read back, before the person who posted is told it failed."""


class ControlError(SourceError):
    """A control record could not be stored (the broker is down, the topic is missing, the ACLs refuse)."""


@dataclass
class ControlStatus:
    """How the control records are doing (/readyz, /metrics)."""

    kind: Literal["memory", "kafka"]
    topic: str | None = None
    ready: bool = False
    """Read to the end the topic had when we started: the state shown is the centre's."""
    connected: bool = False
    lag: int = 0
    """Records behind the end of the topic."""
    records: int = 0
    last_error: str | None = None


class ControlChannel(Protocol):
    """What the live board needs of a control store."""

    async def run(self, on_record: OnRecord) -> None:
        """Feed every record, the stored ones first, then new ones as they come; until cancelled."""
        ...

    async def write(self, key: bytes, value: bytes | None) -> None:
        """Store a record (``None``: a tombstone); return once stored and folded in here (``ControlError`` if not)."""
        ...

    def status(self) -> ControlStatus: ...

    async def close(self) -> None: ...


class MemoryControl:
    """Control records kept in this process: one instance, nothing survives a restart.

    ``log`` (the records written, in order) can seed another one: a test's
    stand-in for a board restarted over the same control topic.
    """

    def __init__(self, log: list[tuple[bytes, bytes | None]] | None = None) -> None:
        self._status = ControlStatus(kind="memory", ready=True, connected=True)
        self._on_record: OnRecord | None = None
        self.log: list[tuple[bytes, bytes | None]] = list(log or [])
        self._folded = 0

    async def run(self, on_record: OnRecord) -> None:
        self._on_record = on_record
        self._catch_up()
        await asyncio.Event().wait()

    async def write(self, key: bytes, value: bytes | None) -> None:
        self.log.append((key, value))
        if self._on_record is not None:  # before the app started: folded when it does
            self._catch_up()

    def _catch_up(self) -> None:
        assert self._on_record is not None
        while self._folded < len(self.log):
            key, value = self.log[self._folded]
            self._folded += 1
            self._status.records += 1
            self._on_record(key, value)

    def status(self) -> ControlStatus:
        return self._status

    async def close(self) -> None:
        return None


class KafkaControl:
    """The control topic: a reader from the beginning (no consumer group: every instance reads it all) and a writer."""

    def __init__(self, settings: KafkaSettings, options: dict[str, Any]) -> None:
        self.topic = settings.control_topic
        self._options = options
        self._backoff_max = settings.reconnect_backoff_max
        self._status = ControlStatus(kind="kafka", topic=self.topic)
        self._producer: AIOKafkaProducer | None = None
        self._producer_lock = asyncio.Lock()
        self._applied: dict[int, int] = {}
        """Next offset to fold, per partition."""
        self._progress = asyncio.Condition()

    def status(self) -> ControlStatus:
        return self._status

    async def run(self, on_record: OnRecord) -> None:
        delay = 0.5
        while True:
            try:
                await self._follow(on_record)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - reconnect: the control topic must not stop the board
                self._status.connected = False
                self._status.last_error = _describe(exc, self.topic)
                logger.warning("kafka control topic: %s (%r); retrying in %.1f s", self._status.last_error, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._backoff_max)
            else:  # pragma: no cover - _follow only returns by raising
                delay = 0.5

    async def _follow(self, on_record: OnRecord) -> None:
        from aiokafka import AIOKafkaConsumer, TopicPartition

        consumer: AIOKafkaConsumer = AIOKafkaConsumer(
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            fetch_max_wait_ms=100,
            **self._options,
        )
        try:
            await consumer.start()
            partitions = await ensure_topic(self.topic, self._options)
            tps = [TopicPartition(self.topic, p) for p in partitions]
            consumer.assign(tps)
            for tp in tps:
                # Resume where this instance had folded to (a reconnect), else from the beginning.
                if tp.partition in self._applied:
                    consumer.seek(tp, self._applied[tp.partition])
                else:
                    await consumer.seek_to_beginning(tp)
            ends = await consumer.end_offsets(tps)
            self._status.connected = True
            self._status.last_error = None
            await self._update(consumer, tps, ends)
            logger.info("kafka control topic %s: reading %d partition(s) from the beginning", self.topic, len(tps))
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=1000)
                for tp, records in batches.items():
                    for record in records:
                        self._status.records += 1
                        try:
                            on_record(record.key, record.value)
                        except Exception:
                            logger.exception(
                                "kafka control topic: could not apply the record at offset %d", record.offset
                            )
                        self._applied[tp.partition] = record.offset + 1
                if not batches:
                    ends = await consumer.end_offsets(tps)
                await self._update(consumer, tps, ends)
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()

    async def _update(self, consumer: AIOKafkaConsumer, tps: list[Any], ends: dict[Any, int]) -> None:
        lag = 0
        for tp in tps:
            lag += max(0, ends.get(tp, 0) - await consumer.position(tp))
        self._status.lag = lag
        if lag == 0 and not self._status.ready:
            self._status.ready = True
            logger.info("kafka control topic %s: read to its end (%d records)", self.topic, self._status.records)
        async with self._progress:
            self._progress.notify_all()

    async def write(self, key: bytes, value: bytes | None) -> None:
        deadline = time.monotonic() + WRITE_TIMEOUT_S
        try:
            producer = await asyncio.wait_for(self._start_producer(), WRITE_TIMEOUT_S)
            meta = await asyncio.wait_for(
                producer.send_and_wait(self.topic, value=value, key=key), max(0.1, deadline - time.monotonic())
            )
        except TimeoutError as exc:
            raise ControlError("the control topic did not take the record in time") from exc
        except ControlError:
            raise
        except Exception as exc:
            raise ControlError(f"the control topic refused the record: {_describe(exc, self.topic)}") from exc
        # Read our own write before answering: the page that posted then reads what it wrote.
        async with self._progress:
            try:
                await asyncio.wait_for(
                    self._progress.wait_for(lambda: self._applied.get(meta.partition, 0) > meta.offset),
                    max(0.1, deadline - time.monotonic()),
                )
            except TimeoutError as exc:
                raise ControlError("the record was stored but not read back in time") from exc

    async def _start_producer(self) -> AIOKafkaProducer:
        from aiokafka import AIOKafkaProducer

        async with self._producer_lock:
            if self._producer is None:
                producer = AIOKafkaProducer(acks="all", enable_idempotence=True, **self._options)
                try:
                    await producer.start()
                except BaseException:
                    with contextlib.suppress(Exception):
                        await producer.stop()
                    raise
                self._producer = producer
            return self._producer

    async def close(self) -> None:
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._producer.stop(), 10)
            self._producer = None


async def ensure_topic(topic: str, options: dict[str, Any]) -> list[int]:
    """The topic's partitions; created (compacted, one partition) when it does not exist and the ACLs allow it.

    One partition: the records of every key in one order, so that every
    instance folds them alike.  Asked of an admin client (a consumer only
    knows the partitions of topics it already reads).  ``ControlError`` when
    the topic cannot be created.
    """
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(**options)
    await admin.start()
    try:
        # Listed first: asking for one topic by name makes a broker with auto.create.topics.enable create it,
        # with the broker's defaults (several partitions, deleted after a week), not compacted.
        if topic not in await admin.list_topics():
            await _create(admin, topic)
        for _ in range(40):
            (meta,) = await admin.describe_topics([topic])
            leaders = [p["leader"] for p in meta["partitions"] if p["error_code"] == 0]
            if meta["error_code"] == 0 and leaders and min(leaders) >= 0:
                return sorted(p["partition"] for p in meta["partitions"])
            await asyncio.sleep(0.25)
    finally:
        await admin.close()
    raise ControlError(f"the control topic {topic} has no leader yet")


async def _create(admin: AIOKafkaAdminClient, topic: str) -> None:
    from aiokafka.admin import NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    brokers = len((await admin.describe_cluster()).get("brokers") or ()) or 1
    new = NewTopic(
        topic,
        num_partitions=1,
        replication_factor=min(3, brokers),
        topic_configs={"cleanup.policy": "compact", "min.insync.replicas": str(min(2, brokers))},
    )
    response = await admin.create_topics([new])
    for name, code, *_ in response.topic_errors:
        if code not in (0, TopicAlreadyExistsError.errno):
            raise ControlError(
                f"the control topic {name} does not exist and could not be created (error {code}): "
                "create it, compacted, with one partition (docs/kafka.md)"
            )
    logger.info("kafka control topic %s created: compacted, one partition", topic)


def _describe(exc: BaseException, topic: str) -> str:
    """A short cause without addresses or credentials (it reaches /readyz)."""
    if isinstance(exc, ControlError):
        return str(exc)
    return f"{type(exc).__name__} on {topic}"

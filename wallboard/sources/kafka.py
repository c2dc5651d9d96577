"""The Kafka source: every partition of every configured topic, replayed from before midnight, then live.

Design (docs/kafka.md says more):

* **Assigned, not a consumer group.**  Each wallboard instance needs the whole
  picture, so it assigns itself all partitions and keeps its positions in
  memory.  Several instances can run side by side behind a load balancer, each
  computing the same numbers; none commits offsets.
* **Start-up replay.**  Every partition is sought to the first offset at or
  after local midnight minus ``lookback`` (default 2 h, so interactions still
  waiting or in progress at midnight are known), then read to the end offsets
  taken at start.  Only then is the source ``ready``.  Because the engine's
  numbers are a function of the set of events, a restart at any time of day
  reproduces what a never-restarted instance shows.
* **Outages.**  aiokafka reconnects by itself; positions are kept, so when the
  broker is back consumption continues where it stopped: nothing lost, nothing
  counted twice.  A probe (end offsets, with a short timeout) tells whether the
  broker answers and how far behind we are; the board shows the data as stale
  while it does not.
* **Dead letters.**  Rejected messages go, unchanged, to the dead-letter topic
  with the reason in headers, when configured.  A failure to dead-letter is
  counted and logged, never allowed to stop consumption.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from wallboard.errors import SourceError
from wallboard.localday import LocalDays
from wallboard.settings import KafkaSettings, MetricSettings
from wallboard.sources.base import RawMessage, SourceStatus

if TYPE_CHECKING:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    from wallboard.ingest import Rejected

logger = logging.getLogger(__name__)

REASON_HEADER = "wallboard-reject-reason"
DETAIL_HEADER = "wallboard-reject-detail"
ORIGIN_HEADER = "wallboard-origin"
PROBE_INTERVAL_S = 2.0
PROBE_TIMEOUT_S = 3.0
SYNC_STALL_S = 10.0
"""A slowest partition that has not moved for this long releases the partitions held back for it."""


class _HideSaslAuthBytes(logging.Filter):
    """aiokafka logs every request at DEBUG, SASL PLAIN's too, whose bytes hold the password: log it without them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(_is_sasl_authenticate(a) for a in record.args):
            record.args = tuple("SaslAuthenticateRequest(<hidden>)" if _is_sasl_authenticate(a) else a
                                for a in record.args)
        return True


def _is_sasl_authenticate(value: object) -> bool:
    return type(value).__name__.startswith("SaslAuthenticateRequest")


logging.getLogger("aiokafka.conn").addFilter(_HideSaslAuthBytes())


def client_options(settings: KafkaSettings) -> dict[str, Any]:
    """The connection and security keyword arguments shared by the consumer and the producer."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "client_id": settings.client_id,
        "security_protocol": settings.security_protocol,
        "retry_backoff_ms": 200,
    }
    if settings.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        options.update(sasl_mechanism=settings.sasl_mechanism, sasl_plain_username=settings.sasl_username,
                       sasl_plain_password=settings.sasl_password)
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        from aiokafka.helpers import create_ssl_context

        context = create_ssl_context(
            cafile=settings.ssl_cafile or None, certfile=settings.ssl_certfile or None,
            keyfile=settings.ssl_keyfile or None, password=settings.ssl_password or None,
        )
        context.check_hostname = settings.ssl_check_hostname
        options["ssl_context"] = context
    return options


def replay_start_ms(now_s: float, metrics: MetricSettings, lookback_s: int) -> int:
    """Local midnight of the day containing now, minus the look-back, in epoch milliseconds."""
    return (LocalDays(metrics.zone).day_of(int(now_s)).start - lookback_s) * 1000


class KafkaSource:
    """Reads all partitions of the configured topics; see the module docstring."""

    def __init__(self, settings: KafkaSettings, metrics: MetricSettings, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.metrics = metrics
        self.clock = clock
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._closed = False
        self._status = SourceStatus(kind="kafka")
        self._targets: dict[TopicPartition, int] = {}
        self._starts: dict[TopicPartition, int] = {}
        self._positions: dict[TopicPartition, int] = {}
        self._ends: dict[TopicPartition, int] = {}
        self._newest_ts: dict[TopicPartition, int] = {}  # newest record timestamp read per partition (ms)
        self._paused: set[TopicPartition] = set()  # held back while ahead of the slowest (_synchronise)
        self._sync_low = -1
        self._sync_since = 0.0
        self._probe_task: asyncio.Task[None] | None = None
        self._replay_from_ms = 0
        self.dead_lettered = 0
        self.dead_letter_failed = 0
        self.consumed = 0

    # ------------------------------------------------------------------ status

    def status(self) -> SourceStatus:
        st = self._status
        behind = self._behind()
        st.lag = sum(self._ends[tp] - self._positions[tp] for tp in behind)
        st.caught_up = st.ready and st.lag == 0
        st.low_watermark_ms = None if st.caught_up else self._low_watermark(behind)
        st.details = {
            "bootstrap_servers": self.settings.bootstrap_servers,
            "topics": list(self.settings.topics),
            "partitions": len(self._positions),
            "replay_from": datetime.fromtimestamp(self._replay_from_ms / 1000, self.metrics.zone).isoformat()
            if self._replay_from_ms else None,
            "consumed": self.consumed,
            "dead_lettered": self.dead_lettered,
            "dead_letter_failed": self.dead_letter_failed,
        }
        return st

    def _behind(self) -> list[TopicPartition]:
        return [tp for tp, pos in self._positions.items() if self._ends.get(tp, pos) > pos]

    def _where(self, tp: TopicPartition) -> int:
        """How far a partition has got in event time: its newest record's timestamp, else the replay start."""
        return self._newest_ts.get(tp, self._replay_from_ms)

    def _low_watermark(self, behind: list[TopicPartition]) -> int | None:
        # The slowest partition with a backlog bounds what the engine may forget.  Record timestamps stand
        # in for the events' ts: producers set them to it or to the moment of sending (docs/kafka.md), and
        # the engine never prunes past the newest event it has seen anyway.
        return min(self._where(tp) for tp in behind) if behind else None

    def _synchronise(self, consumer: AIOKafkaConsumer) -> None:
        """While behind, hold back the partitions that run more than half a late horizon ahead in event time.

        Read at full speed, partitions are soon hours apart in event time (a
        small one is read to its end in the first fetch), and the engine must
        keep everything between the slowest and the newest (low_watermark_ms).
        As Kafka Streams does, the laggards are read first, so that memory stays
        bounded by the horizon during a catch-up too.  A slowest partition that
        stops moving releases the others after SYNC_STALL_S.
        """
        behind = self._behind()
        low = self._low_watermark(behind)
        hold: set[TopicPartition] = set()
        if low is not None:
            now = time.monotonic()
            if low != self._sync_low:
                self._sync_low, self._sync_since = low, now
            if now - self._sync_since < SYNC_STALL_S:
                limit = low + self.metrics.late_horizon * 1000 // 2
                hold = {tp for tp in behind if self._where(tp) > limit}
        if hold != self._paused:
            if self._paused - hold:
                consumer.resume(*(self._paused - hold))
            if hold - self._paused:
                consumer.pause(*(hold - self._paused))
            self._paused = hold

    def _update_catch_up(self) -> None:
        if self._status.ready:
            return
        total = sum(max(0, self._targets[tp] - self._starts[tp]) for tp in self._targets)
        done = sum(min(self._positions[tp], self._targets[tp]) - self._starts[tp] for tp in self._targets
                   if self._targets[tp] > self._starts[tp])
        self._status.catch_up = 1.0 if total == 0 else done / total
        if all(self._positions[tp] >= self._targets[tp] for tp in self._targets):
            self._status.ready = True
            self._status.catch_up = 1.0
            logger.info("kafka: caught up on %d partitions (%d messages since the replay start)",
                        len(self._targets), total)

    # ------------------------------------------------------------------ start

    async def _connect(self) -> AIOKafkaConsumer:
        """Start the consumer, retrying with backoff while the broker cannot be reached."""
        from aiokafka import AIOKafkaConsumer
        from aiokafka.errors import KafkaError

        delay = 0.5
        while True:
            consumer = AIOKafkaConsumer(
                group_id=None, enable_auto_commit=False, auto_offset_reset="earliest",
                max_partition_fetch_bytes=self.settings.max_partition_fetch_bytes, fetch_max_wait_ms=200,
                **client_options(self.settings),
            )
            try:
                await consumer.start()
                return consumer
            except KafkaError as exc:
                await consumer.stop()
                if not getattr(exc, "retriable", True) and not _is_connection_error(exc):
                    raise SourceError(f"kafka: cannot start the consumer: {exc!r}", retriable=False) from exc
                self._status.connected = False
                self._status.last_error = f"cannot reach {self.settings.bootstrap_servers}: {type(exc).__name__}"
                logger.warning("kafka: %s; retrying in %.1f s", self._status.last_error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.reconnect_backoff_max)

    async def _discover_partitions(self) -> dict[str, list[int]]:
        """Partition ids per topic, from an admin client (the consumer only knows topics it already read)."""
        from aiokafka.admin import AIOKafkaAdminClient

        options = client_options(self.settings)
        admin = AIOKafkaAdminClient(**options)
        await admin.start()
        try:
            described = await admin.describe_topics(list(self.settings.topics))
        finally:
            await admin.close()
        return {meta["topic"]: sorted(p["partition"] for p in meta["partitions"])
                for meta in described if meta["error_code"] == 0 and meta["partitions"]}

    async def _assign_and_seek(self, consumer: AIOKafkaConsumer) -> None:
        from aiokafka import TopicPartition
        from aiokafka.errors import KafkaError

        delay = 0.5
        while True:
            try:
                partitions = await self._discover_partitions()
            except KafkaError as exc:
                partitions = {}
                self._status.last_error = f"cannot read topic metadata: {type(exc).__name__}"
            missing = [t for t in self.settings.topics if t not in partitions]
            if not missing:
                break
            self._status.last_error = f"topics not found (yet): {', '.join(missing)}"
            logger.warning("kafka: %s; waiting", self._status.last_error)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.settings.reconnect_backoff_max)
        tps = [TopicPartition(t, p) for t in self.settings.topics for p in partitions[t]]
        consumer.assign(tps)
        self._replay_from_ms = replay_start_ms(self.clock(), self.metrics, self.settings.lookback)
        found = await consumer.offsets_for_times(dict.fromkeys(tps, self._replay_from_ms))
        for tp in tps:
            hit = found.get(tp)
            if hit is None:  # no record at or after the start time: nothing to replay here
                await consumer.seek_to_end(tp)
            else:
                consumer.seek(tp, hit.offset)
        self._targets = dict(await consumer.end_offsets(tps))
        self._ends = dict(self._targets)
        for tp in tps:
            self._starts[tp] = self._positions[tp] = await consumer.position(tp)
        self._status.connected = True
        self._status.last_error = None
        logger.info("kafka: assigned %d partitions of %s; replaying from %s",
                    len(tps), ", ".join(self.settings.topics),
                    datetime.fromtimestamp(self._replay_from_ms / 1000, self.metrics.zone).isoformat())
        self._update_catch_up()

    # ------------------------------------------------------------------ loop

    async def batches(self) -> AsyncIterator[list[RawMessage]]:
        from aiokafka.errors import KafkaError

        consumer = self._consumer = await self._connect()
        await self._assign_and_seek(consumer)
        self._probe_task = asyncio.create_task(self._probe_loop(consumer), name="kafka-probe")
        delay = 0.5
        while not self._closed:
            try:
                data = await consumer.getmany(timeout_ms=200, max_records=self.settings.fetch_max_records)
            except KafkaError as exc:
                if not getattr(exc, "retriable", False) and not _is_connection_error(exc):
                    raise SourceError(f"kafka: consumption failed: {exc!r}", retriable=False) from exc
                self._status.last_error = f"{type(exc).__name__}: {exc}"
                logger.warning("kafka: %s; retrying in %.1f s", self._status.last_error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.reconnect_backoff_max)
                continue
            delay = 0.5
            batch: list[RawMessage] = []
            for tp, records in data.items():
                for r in records:
                    batch.append(RawMessage(r.value if r.value is not None else b"", r.key, r.topic, r.partition,
                                            r.offset, tuple(r.headers or ())))
                if records:
                    self._positions[tp] = records[-1].offset + 1
                    if records[-1].timestamp > self._newest_ts.get(tp, -1):
                        self._newest_ts[tp] = records[-1].timestamp
            # Every partition's latest high watermark (cached by aiokafka from its fetch responses, no
            # I/O): a partition whose fetched records getmany has not handed out yet still counts as
            # behind, so status().caught_up stays false until the whole backlog after an outage is in.
            ends = self._ends
            for tp, position in self._positions.items():
                end = max(position, consumer.highwater(tp) or 0)
                if ends.get(tp, 0) < end:
                    ends[tp] = end
            self.consumed += len(batch)
            self._update_catch_up()
            self._synchronise(consumer)
            if batch:
                self._status.connected = True
                yield batch

    async def _probe_loop(self, consumer: AIOKafkaConsumer) -> None:
        """Ask for end offsets every few seconds: it says whether the broker answers, and gives the lag."""
        while not self._closed:
            try:
                ends = await asyncio.wait_for(consumer.end_offsets(list(self._positions)), PROBE_TIMEOUT_S)
            except Exception as exc:  # noqa: BLE001 - any failure of the probe means "not reachable now"
                if self._status.connected:
                    logger.warning("kafka: broker not answering (%s); data will show as stale", type(exc).__name__)
                self._status.connected = False
                self._status.last_error = f"broker not answering: {type(exc).__name__}"
            else:
                if not self._status.connected:
                    logger.info("kafka: broker answering again")
                self._status.connected = True
                self._status.last_error = None
                self._ends.update(ends)
            await asyncio.sleep(PROBE_INTERVAL_S)

    # ------------------------------------------------------------ dead letters

    async def handle_rejected(self, rejected: list[Rejected]) -> None:
        """Forward rejected messages, unchanged, to the dead-letter topic (when configured)."""
        if not rejected or not self.settings.dead_letter:
            return
        from aiokafka import AIOKafkaProducer

        if self._producer is None:
            self._producer = AIOKafkaProducer(**client_options(self.settings))
            try:
                await asyncio.wait_for(self._producer.start(), PROBE_TIMEOUT_S * 3)
            except Exception as exc:  # noqa: BLE001 - a dead-letter failure must never stop consumption
                logger.warning("kafka: dead-letter producer cannot start (%s); %d messages not forwarded",
                               type(exc).__name__, len(rejected))
                self.dead_letter_failed += len(rejected)
                with contextlib.suppress(Exception):
                    await self._producer.stop()
                self._producer = None
                return
        producer = self._producer
        for item in rejected:
            m = item.message
            headers = [*m.headers, (REASON_HEADER, item.reason.encode()),
                       (DETAIL_HEADER, item.detail.encode("utf-8", "replace")[:1000]),
                       (ORIGIN_HEADER, f"{m.topic}/{m.partition}/{m.offset}".encode())]
            try:
                delivery = await asyncio.wait_for(
                    producer.send(self.settings.dead_letter_topic, value=m.value, key=m.key, headers=headers),
                    PROBE_TIMEOUT_S * 3)
            except Exception as exc:  # noqa: BLE001 - see above
                self.dead_letter_failed += 1
                logger.warning("kafka: could not dead-letter %s/%s/%s (%s)", m.topic, m.partition, m.offset,
                               type(exc).__name__)
                continue
            delivery.add_done_callback(self._delivered)

    def _delivered(self, future: asyncio.Future[Any]) -> None:
        if future.cancelled() or future.exception() is not None:
            self.dead_letter_failed += 1
        else:
            self.dead_lettered += 1

    async def close(self) -> None:
        self._closed = True
        if self._probe_task is not None:
            self._probe_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe_task
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._producer.stop(), 10)
        if self._consumer is not None:
            await self._consumer.stop()


def _is_connection_error(exc: BaseException) -> bool:
    from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError, RequestTimedOutError

    return isinstance(exc, KafkaConnectionError | KafkaTimeoutError | NodeNotReadyError | RequestTimedOutError)

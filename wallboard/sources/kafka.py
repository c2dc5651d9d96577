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
  reproduces what a never-restarted instance shows.  Record timestamps choose
  only where to start: how far each partition has got is its newest *event*
  time, learnt from ingest (``wallboard.sources.progress``), because bulk
  loads, flushed backlogs, ``LogAppendTime`` topics and mirrors have record
  times that say nothing about the events.
* **Committed data only** (``read_committed``): the events of an aborted
  transaction never count, and those of an open one wait for its outcome.
* **Outages.**  aiokafka reconnects by itself; positions are kept, so when the
  broker is back consumption continues where it stopped: nothing lost, nothing
  counted twice.  A probe (end offsets, with a short timeout) tells whether the
  broker answers and how far behind we are; the board shows the data as stale
  while it does not.
* **Errors.**  What a retry can fix (the broker unreachable, a leader moving)
  is retried with backoff while the board shows its data as stale.  What it
  cannot (authentication refused, a topic deleted under the board, a record
  batch the client cannot decode) raises ``SourceError``: the pump stops, the
  board shows stale data and ``/healthz`` fails, so that the supervisor of the
  process (systemd, Kubernetes) restarts it.
* **Dead letters.**  Rejected messages go, unchanged, to the dead-letter topic
  with the reason in headers, when configured (``wallboard.sources.deadletter``).
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
from wallboard.sources.deadletter import DeadLetters
from wallboard.sources.progress import PartitionProgress

if TYPE_CHECKING:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from wallboard.ingest import Ingested

logger = logging.getLogger(__name__)

PROBE_INTERVAL_S = 2.0
PROBE_TIMEOUT_S = 3.0


class _HideSaslAuthBytes(logging.Filter):
    """aiokafka logs every request at DEBUG, SASL PLAIN's too, whose bytes hold the password: log it without them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(_is_sasl_authenticate(a) for a in record.args):
            record.args = tuple(
                "SaslAuthenticateRequest(<hidden>)" if _is_sasl_authenticate(a) else a for a in record.args
            )
        return True


def _is_sasl_authenticate(value: object) -> bool:
    return type(value).__name__.startswith("SaslAuthenticateRequest")


logging.getLogger("aiokafka.conn").addFilter(_HideSaslAuthBytes())


class _BootstrapRefusals(logging.Filter):
    """Why each broker address refused us, which aiokafka only logs before raising a bare connection error.

    aiokafka's bootstrap logs ``Unable connect to "host:port": <error>`` for each
    address and then raises ``KafkaConnectionError("Unable to bootstrap ...")``,
    which reads the same for a broker that is down (retry) and for credentials
    it refused (a retry cannot fix them).  This keeps the error per address.
    """

    def __init__(self) -> None:
        super().__init__()
        self.last: dict[str, BaseException] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if (
            isinstance(record.msg, str)
            and record.msg.startswith("Unable connect to")
            and isinstance(args, tuple)
            and len(args) == 3
            and isinstance(args[2], BaseException)
        ):
            self.last[f"{args[0]}:{args[1]}"] = args[2]
        return True

    def refused_everywhere(self, bootstrap_servers: str) -> BaseException | None:
        """The refusal, when every bootstrap address refused us (rather than being unreachable) last time."""
        errors = [self.last.get(address.strip()) for address in bootstrap_servers.split(",")]
        if errors and all(e is not None and _is_refusal(e) for e in errors):
            return errors[0]
        return None

    def forget(self, bootstrap_servers: str) -> None:
        for address in bootstrap_servers.split(","):
            self.last.pop(address.strip(), None)


_refusals = _BootstrapRefusals()
logging.getLogger("aiokafka").addFilter(_refusals)  # aiokafka/client.py logs as "aiokafka"


def _is_refusal(exc: BaseException) -> bool:
    """The broker answered and said no: wrong credentials or mechanism, or a certificate we cannot trust."""
    import ssl

    from aiokafka.errors import AuthenticationFailedError, AuthenticationMethodNotSupported, SaslAuthenticationFailed

    return isinstance(
        exc,
        AuthenticationFailedError
        | AuthenticationMethodNotSupported
        | SaslAuthenticationFailed
        | ssl.SSLCertVerificationError,
    )


def client_options(settings: KafkaSettings) -> dict[str, Any]:
    """The connection and security keyword arguments shared by the consumer and the producer."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_servers,
        "client_id": settings.client_id,
        "security_protocol": settings.security_protocol,
        "retry_backoff_ms": 200,
    }
    if settings.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
        options.update(
            sasl_mechanism=settings.sasl_mechanism,
            sasl_plain_username=settings.sasl_username,
            sasl_plain_password=settings.sasl_password,
        )
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        from aiokafka.helpers import create_ssl_context

        context = create_ssl_context(
            cafile=settings.ssl_cafile or None,
            certfile=settings.ssl_certfile or None,
            keyfile=settings.ssl_keyfile or None,
            password=settings.ssl_password or None,
        )
        context.check_hostname = settings.ssl_check_hostname
        options["ssl_context"] = context
    return options


def replay_start_ms(now_s: float, metrics: MetricSettings, lookback_s: int) -> int:
    """Local midnight of the day containing now, minus the look-back, in epoch milliseconds."""
    return (LocalDays(metrics.zone).day_of(int(now_s)).start - lookback_s) * 1000


class KafkaSource:
    """Reads all partitions of the configured topics; see the module docstring."""

    def __init__(
        self, settings: KafkaSettings, metrics: MetricSettings, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.clock = clock
        self._consumer: AIOKafkaConsumer | None = None
        self._dead_letters = (
            DeadLetters(settings.dead_letter_topic, client_options(settings)) if settings.dead_letter else None
        )
        self._closed = False
        self._status = SourceStatus(kind="kafka")
        self._progress: PartitionProgress[TopicPartition] = PartitionProgress(
            start_ms=0, late_horizon_ms=metrics.late_horizon * 1000
        )
        self._paused: set[TopicPartition] = set()  # held back while ahead of the slowest (PartitionProgress.to_hold)
        self._fatal: SourceError | None = None  # found by the probe; raised by batches()
        self._uncommitted: dict[TopicPartition, int] = {}  # records past the last stable offset (open transactions)
        self._probe_task: asyncio.Task[None] | None = None
        self.consumed = 0

    @property
    def dead_lettered(self) -> int:
        return self._dead_letters.sent if self._dead_letters else 0

    @property
    def dead_letter_failed(self) -> int:
        return self._dead_letters.failed if self._dead_letters else 0

    # ------------------------------------------------------------------ status

    def status(self) -> SourceStatus:
        st = self._status
        progress = self._progress
        behind = progress.behind()
        st.ready = bool(progress.positions) and progress.is_ready()
        st.catch_up = progress.catch_up if progress.positions else 0.0
        st.lag = progress.lag
        st.caught_up = st.ready and not behind
        st.low_watermark_ms = None if st.caught_up else progress.low_watermark_ms(behind)
        st.details = {
            "bootstrap_servers": self.settings.bootstrap_servers,
            "topics": list(self.settings.topics),
            "partitions": len(progress.positions),
            "replay_from": datetime.fromtimestamp(progress.start_ms / 1000, self.metrics.zone).isoformat()
            if progress.start_ms
            else None,
            "consumed": self.consumed,
            "dead_lettered": self.dead_lettered,
            "dead_letter_failed": self.dead_letter_failed,
            "held_by_open_transactions": sum(self._uncommitted.values()),
        }
        return st

    def _hold_back(self, consumer: AIOKafkaConsumer) -> None:
        """Pause the partitions running ahead in event time, resume the others (PartitionProgress.to_hold)."""
        hold = self._progress.to_hold(time.monotonic())
        if hold != self._paused:
            if self._paused - hold:
                consumer.resume(*(self._paused - hold))
            if hold - self._paused:
                consumer.pause(*(hold - self._paused))
            self._paused = hold

    # ------------------------------------------------------------------ start

    async def _connect(self) -> AIOKafkaConsumer:
        """Start the consumer, retrying with backoff while the broker cannot be reached."""
        from aiokafka import AIOKafkaConsumer
        from aiokafka.errors import KafkaError

        delay = 0.5
        while True:
            consumer = AIOKafkaConsumer(
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                isolation_level="read_committed",
                max_partition_fetch_bytes=self.settings.max_partition_fetch_bytes,
                fetch_max_wait_ms=200,
                **client_options(self.settings),
            )
            _refusals.forget(self.settings.bootstrap_servers)
            try:
                await consumer.start()
                return consumer
            except KafkaError as exc:
                await consumer.stop()
                refusal = _refusals.refused_everywhere(self.settings.bootstrap_servers)
                if refusal is not None:
                    # Pages and /readyz show last_error to anyone who may see the board: no addresses in it.
                    self._status.last_error = f"refused by the brokers: {type(refusal).__name__}"
                    logger.error("kafka: refused by %s: %r", self.settings.bootstrap_servers, refusal)
                    raise SourceError(
                        f"kafka: {self._status.last_error} (a retry cannot fix it: check the "
                        f"credentials and certificates in [kafka])"
                    ) from refusal
                if not _retry_can_fix(exc):
                    logger.error("kafka: cannot start the consumer (%s): %r", self.settings.bootstrap_servers, exc)
                    raise SourceError(f"kafka: cannot start the consumer: {type(exc).__name__}") from exc
                self._status.connected = False
                self._status.last_error = f"cannot reach the brokers: {type(exc).__name__}"
                logger.warning(
                    "kafka: cannot reach %s: %r; retrying in %.1f s", self.settings.bootstrap_servers, exc, delay
                )
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
        return {
            meta["topic"]: sorted(p["partition"] for p in meta["partitions"])
            for meta in described
            if meta["error_code"] == 0 and meta["partitions"]
        }

    async def _assign_and_seek(self, consumer: AIOKafkaConsumer) -> None:
        from aiokafka import TopicPartition
        from aiokafka.errors import KafkaError

        delay = 0.5
        while True:
            try:
                partitions = await self._discover_partitions()
            except KafkaError as exc:
                if not _retry_can_fix(exc):
                    logger.error("kafka: cannot read topic metadata: %r", exc)
                    raise SourceError(f"kafka: cannot read topic metadata: {type(exc).__name__}") from exc
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
        start_ms = replay_start_ms(self.clock(), self.metrics, self.settings.lookback)
        found = await consumer.offsets_for_times(dict.fromkeys(tps, start_ms))
        for tp in tps:
            hit = found.get(tp)
            if hit is None:  # no record at or after the start time: nothing to replay here
                await consumer.seek_to_end(tp)
            else:
                consumer.seek(tp, hit.offset)
        targets = await consumer.end_offsets(tps)
        starts = {tp: await consumer.position(tp) for tp in tps}
        self._progress = PartitionProgress(start_ms=start_ms, late_horizon_ms=self.metrics.late_horizon * 1000)
        self._progress.assign(starts, targets)
        self._status.connected = True
        self._status.last_error = None
        logger.info(
            "kafka: assigned %d partitions of %s; replaying %d messages from %s",
            len(tps),
            ", ".join(self.settings.topics),
            self._progress.lag,
            datetime.fromtimestamp(start_ms / 1000, self.metrics.zone).isoformat(),
        )

    # ------------------------------------------------------------------ loop

    async def batches(self) -> AsyncIterator[list[RawMessage]]:
        from aiokafka.errors import KafkaError

        consumer = self._consumer = await self._connect()
        await self._assign_and_seek(consumer)
        self._probe_task = asyncio.create_task(self._probe_loop(consumer), name="kafka-probe")
        progress = self._progress
        tps = list(progress.positions)
        was_ready = progress.is_ready()
        delay = 0.5
        while not self._closed:
            if self._fatal is not None:
                raise self._fatal
            # Decided here, after ingest told us (ingested) how far the last batch took each partition in
            # event time, so that no partition hands out another batch while it is ahead.
            self._hold_back(consumer)
            try:
                data = await consumer.getmany(timeout_ms=200, max_records=self.settings.fetch_max_records)
            except KafkaError as exc:
                if not _retry_can_fix(exc):
                    logger.error("kafka: cannot read on: %r", exc)
                    raise SourceError(f"kafka: cannot read on: {type(exc).__name__}") from exc
                self._status.last_error = f"cannot read: {type(exc).__name__}"
                logger.warning("kafka: cannot read: %r; retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.settings.reconnect_backoff_max)
                continue
            delay = 0.5
            batch: list[RawMessage] = []
            for records in data.values():
                batch.extend(
                    RawMessage(
                        r.value if r.value is not None else b"",
                        r.key,
                        r.topic,
                        r.partition,
                        r.offset,
                        tuple(r.headers or ()),
                    )
                    for r in records
                )
            # The consumer's own positions: past transaction markers and aborted records too, which take
            # offsets but are never handed out.  And every partition's last stable offset from the latest
            # fetch responses (no I/O): records fetched but not yet handed out still count as behind, so
            # caught_up stays false until the whole backlog after an outage is in.
            for tp in tps:
                progress.moved(tp, await consumer.position(tp))
                stable, high = _stable_end(consumer, tp), consumer.highwater(tp)
                progress.ended(tp, stable)
                self._uncommitted[tp] = high - stable if stable is not None and high is not None else 0
            if progress.rewound:
                tp, (was, now) = next(iter(progress.rewound.items()))
                self._status.last_error = f"{tp.topic}/{tp.partition} went back from offset {was} to {now}"
                raise SourceError(
                    f"kafka: {self._status.last_error}: the topic was deleted and re-created, or "
                    "truncated; a restart replays the log as it is now"
                )
            self.consumed += len(batch)
            if not was_ready and progress.is_ready():
                was_ready = True
                logger.info("kafka: caught up on %d partitions (%d messages read)", len(tps), self.consumed)
            if batch:
                self._status.connected = True
                yield batch

    async def ingested(self, result: Ingested) -> None:
        """Learn each partition's progress in event time; forward the rejected messages."""
        # An event dated in the future (a producer's clock ahead) says nothing of where its partition is.
        now_ms = int(self.clock() * 1000)
        self._progress.observed({tp: min(ms, now_ms) for tp, ms in result.newest_ms.items()})
        if result.rejected and self._dead_letters is not None:
            await self._dead_letters.forward(result.rejected)

    async def _probe_loop(self, consumer: AIOKafkaConsumer) -> None:
        """Ask for end offsets every few seconds: it says whether the broker answers, and gives the lag."""
        while not self._closed:
            try:
                ends = await asyncio.wait_for(consumer.end_offsets(list(self._progress.positions)), PROBE_TIMEOUT_S)
            except Exception as exc:  # noqa: BLE001 - any failure of the probe means "not reachable now"
                if self._status.connected:
                    logger.warning("kafka: broker not answering (%s); data will show as stale", type(exc).__name__)
                self._status.connected = False
                self._status.last_error = f"broker not answering: {type(exc).__name__}"
                await self._check_topics(consumer)
            else:
                if not self._status.connected:
                    logger.info("kafka: broker answering again")
                self._status.connected = True
                self._status.last_error = None
                for tp, end in ends.items():
                    self._progress.ended(tp, end)
            await asyncio.sleep(PROBE_INTERVAL_S)

    async def _check_topics(self, consumer: AIOKafkaConsumer) -> None:
        """A broker that answers metadata but no longer has one of our topics: the board cannot go on.

        Its partitions' positions mean nothing any more (a topic re-created under
        the same name starts again at offset 0), and the numbers shown include
        events that are gone.  A restart replays what the log holds now.
        """
        try:
            topics = await asyncio.wait_for(consumer.topics(), PROBE_TIMEOUT_S)
        except Exception:  # noqa: BLE001 - unreachable: the probe already says so
            return
        gone = sorted(set(self.settings.topics) - set(topics))
        if gone:
            message = f"kafka: topic deleted under the running board: {', '.join(gone)}"
            logger.error("%s; the data shows as stale and /healthz fails until a restart", message)
            self._status.last_error = f"topic deleted: {', '.join(gone)}"
            self._fatal = SourceError(message)

    async def close(self) -> None:
        self._closed = True
        if self._probe_task is not None:
            self._probe_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe_task
        if self._dead_letters is not None:
            await self._dead_letters.close()
        if self._consumer is not None:
            await self._consumer.stop()


def _stable_end(consumer: AIOKafkaConsumer, tp: TopicPartition) -> int | None:
    """The last stable offset of the latest fetch response (read_committed), None before one."""
    lso = consumer.last_stable_offset(tp)
    return lso if lso is not None and lso >= 0 else None


def _retry_can_fix(exc: BaseException) -> bool:
    """Retriable (the broker unreachable, a leader moving) as opposed to fatal (refused, undecodable, gone).

    A batch the client cannot decode is fetched again, identical, by every
    retry: an unknown codec or a corrupt record is fatal whatever its class says.
    """
    from aiokafka.errors import CorruptRecordException, UnsupportedCodecError

    if isinstance(exc, CorruptRecordException | UnsupportedCodecError):
        return False
    return bool(getattr(exc, "retriable", False)) or _is_connection_error(exc)


def _is_connection_error(exc: BaseException) -> bool:
    from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, NodeNotReadyError, RequestTimedOutError

    return isinstance(exc, KafkaConnectionError | KafkaTimeoutError | NodeNotReadyError | RequestTimedOutError)

"""One sender among the instances: Kafka's group coordination decides who posts the alert webhooks.

Every instance folds the same alerts; only one should post them.  Rather than
a protocol of our own, each instance joins one consumer group on the
one-partition control topic (``[kafka] sender_group``): the group coordinator
gives that partition to exactly one member per generation, and that member is
the sender.  When it dies, the coordinator notices within the group's session
timeout (``[kafka] sender_session_timeout``) and gives the partition to
another member, which takes over (docs/alerts.md "One sender").

An instance that loses the broker, or whose membership lapses, stops being the
sender at once on its side; the new sender may already have started, so for
at most a session timeout two instances may post the same change, always with
the same idempotency key.  Nothing is consumed: the member only holds the
partition (it never commits offsets).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from aiokafka import AIOKafkaConsumer

    from wallboard.settings import KafkaSettings

logger = logging.getLogger(__name__)


class SenderElection(Protocol):
    """Who sends: ``is_sender`` now; ``run`` calls ``on_change`` whenever it changes, until cancelled."""

    def is_sender(self) -> bool: ...

    async def run(self, on_change: Callable[[bool], None]) -> None: ...

    async def close(self) -> None: ...


class AlwaysSender:
    """A board that runs alone (no Kafka control topic) is its own sender."""

    def is_sender(self) -> bool:
        return True

    async def run(self, on_change: Callable[[bool], None]) -> None:
        on_change(True)
        await asyncio.Event().wait()

    async def close(self) -> None:
        return None


class KafkaSenderElection:
    """Membership of ``[kafka] sender_group`` on the control topic; the owner of its partition sends."""

    def __init__(self, settings: KafkaSettings, options: dict[str, Any]) -> None:
        self.topic = settings.control_topic
        self.group = settings.sender_group
        self.session_timeout_s = settings.sender_session_timeout
        self._options = options
        self._backoff_max = settings.reconnect_backoff_max
        self._sender = False
        self._on_change: Callable[[bool], None] = lambda _: None
        self.last_error: str | None = None

    def is_sender(self) -> bool:
        return self._sender

    def _set(self, sender: bool) -> None:
        if sender != self._sender:
            self._sender = sender
            logger.warning(
                "alert sender: this instance %s (group %s)",
                "is now the sender" if sender else "stopped sending",
                self.group,
            )
            self._on_change(sender)

    async def run(self, on_change: Callable[[bool], None]) -> None:
        self._on_change = on_change
        delay = 0.5
        while True:
            try:
                await self._member()
            except asyncio.CancelledError:
                self._set(False)
                raise
            except Exception as exc:  # noqa: BLE001 - a lost broker ends the membership, then we rejoin
                self._set(False)
                self.last_error = type(exc).__name__
                logger.warning("alert sender election: %r; rejoining in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._backoff_max)

    async def _member(self) -> None:
        from aiokafka import AIOKafkaConsumer, TopicPartition
        from aiokafka.abc import ConsumerRebalanceListener

        from wallboard.sources.control import ensure_topic

        election = self
        first = TopicPartition(self.topic, 0)

        class Listener(ConsumerRebalanceListener):  # type: ignore[misc]
            async def on_partitions_revoked(self, revoked: Any) -> None:
                election._set(False)

            async def on_partitions_assigned(self, assigned: Any) -> None:
                election._set(first in assigned)

        # Subscribing to a topic that does not exist yet could make the broker create it with its defaults:
        # it is created first as the control reader wants it (compacted, one partition).
        await ensure_topic(self.topic, self._options)

        session_ms = int(self.session_timeout_s * 1000)
        consumer: AIOKafkaConsumer = AIOKafkaConsumer(
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            session_timeout_ms=session_ms,
            heartbeat_interval_ms=max(100, session_ms // 3),
            rebalance_timeout_ms=session_ms,
            max_poll_interval_ms=max(session_ms, 10_000),
            **self._options,
        )
        try:
            consumer.subscribe([self.topic], listener=Listener())
            await consumer.start()
            self.last_error = None
            while True:
                # Polled only to stay a member (max_poll_interval); the records are the control reader's.
                await consumer.getmany(timeout_ms=500, max_records=1)
                self._set(first in consumer.assignment())  # partition 0: one owner even if the topic has more
        finally:
            self._set(False)
            with contextlib.suppress(Exception):
                await consumer.stop()

    async def close(self) -> None:
        return None

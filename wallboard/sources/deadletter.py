"""The dead-letter topic: rejected messages, unchanged, with the reason in headers.

Its own small class so that the Kafka source keeps to reading.  A failure to
dead-letter is counted and logged, never allowed to stop consumption: the
numbers on the board do not depend on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiokafka import AIOKafkaProducer

    from wallboard.ingest import Rejected

logger = logging.getLogger(__name__)

REASON_HEADER = "wallboard-reject-reason"
DETAIL_HEADER = "wallboard-reject-detail"
ORIGIN_HEADER = "wallboard-origin"
SEND_TIMEOUT_S = 9.0


class DeadLetters:
    """Forwards rejected messages to ``topic`` with a producer of the given client options, started on first use."""

    def __init__(self, topic: str, options: dict[str, Any]) -> None:
        self.topic = topic
        self._options = options
        self._producer: AIOKafkaProducer | None = None
        self.sent = 0
        """Messages the broker acknowledged."""
        self.failed = 0
        """Messages that could not be forwarded (logged)."""

    async def forward(self, rejected: list[Rejected]) -> None:
        if not rejected:
            return
        producer = self._producer or await self._start(len(rejected))
        if producer is None:
            return
        for item in rejected:
            m = item.message
            headers = [
                *m.headers,
                (REASON_HEADER, item.reason.encode()),
                (DETAIL_HEADER, item.detail.encode("utf-8", "replace")[:1000]),
                (ORIGIN_HEADER, f"{m.topic}/{m.partition}/{m.offset}".encode()),
            ]
            try:
                delivery = await asyncio.wait_for(
                    producer.send(self.topic, value=m.value, key=m.key, headers=headers), SEND_TIMEOUT_S
                )
            except Exception as exc:  # noqa: BLE001 - a dead-letter failure must never stop consumption
                self.failed += 1
                logger.warning(
                    "kafka: could not dead-letter %s/%s/%s (%s)", m.topic, m.partition, m.offset, type(exc).__name__
                )
                continue
            delivery.add_done_callback(self._delivered)

    async def _start(self, waiting: int) -> AIOKafkaProducer | None:
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(**self._options)
        try:
            await asyncio.wait_for(producer.start(), SEND_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - see forward
            logger.warning(
                "kafka: dead-letter producer cannot start (%s); %d messages not forwarded", type(exc).__name__, waiting
            )
            self.failed += waiting
            with contextlib.suppress(Exception):
                await producer.stop()
            return None
        self._producer = producer
        return producer

    def _delivered(self, future: asyncio.Future[Any]) -> None:
        if future.cancelled() or future.exception() is not None:
            self.failed += 1
        else:
            self.sent += 1

    async def close(self) -> None:
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._producer.stop(), 10)

"""The Kafka topic of alert events: every change the sender posts, for other systems to consume.

Keyed by ``rule\\x1fscope`` (the changes of one alert in one partition, in
order), the value the generic webhook JSON (wallboard/notify/payloads.py) with
its idempotency key.  Written off the tick from a queue, like the webhooks; a
failure is counted and logged, never raised: the board's numbers do not depend
on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import orjson

from wallboard.alerts import Transition
from wallboard.notify.payloads import delivery_key, payload
from wallboard.settings import AlertSettings

if TYPE_CHECKING:
    from aiokafka import AIOKafkaProducer

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000
SEND_TIMEOUT_S = 10.0


class AlertTopic:
    """Writes alert changes to ``[alerts] topic`` with an idempotent producer of the given client options."""

    def __init__(self, settings: AlertSettings, zone: ZoneInfo, options: dict[str, Any]) -> None:
        self.topic = settings.topic
        self.settings = settings
        self.zone = zone
        self._options = options
        self.queue: asyncio.Queue[Transition] = asyncio.Queue(maxsize=QUEUE_SIZE)
        self.sent = 0
        self.failed = 0

    def submit(self, change: Transition) -> None:
        """Queue a change; never waits (a full queue drops it, counted as failed)."""
        try:
            self.queue.put_nowait(change)
        except asyncio.QueueFull:
            self.failed += 1

    async def run(self) -> None:
        from aiokafka import AIOKafkaProducer

        producer: AIOKafkaProducer | None = None
        try:
            while True:
                change = await self.queue.get()
                rule = self.settings.rules.get(change.alert.key.rule)
                if rule is None:
                    continue
                body = payload(change, rule, "generic", "en", self.zone)
                key = f"{change.alert.key.rule}\x1f{change.alert.key.scope}".encode()
                try:
                    if producer is None:
                        producer = AIOKafkaProducer(acks="all", enable_idempotence=True, **self._options)
                        await asyncio.wait_for(producer.start(), SEND_TIMEOUT_S)
                    headers = [("idempotency-key", delivery_key(change).encode())]
                    await asyncio.wait_for(
                        producer.send_and_wait(self.topic, orjson.dumps(body), key=key, headers=headers),
                        SEND_TIMEOUT_S,
                    )
                    self.sent += 1
                except Exception as exc:  # noqa: BLE001 - counted and logged, never fatal
                    self.failed += 1
                    log.warning("alert topic %s: change not written (%s)", self.topic, type(exc).__name__)
                    if producer is not None:
                        with contextlib.suppress(Exception):
                            await producer.stop()
                        producer = None
        finally:
            if producer is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(producer.stop(), 10)

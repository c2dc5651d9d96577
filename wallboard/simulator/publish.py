"""Publish simulated traffic to Kafka: the reference producer of the event contract.

Keys follow events.md (``interaction_id`` / ``agent_id``) and each record's
timestamp is the event's ``ts``, so a board replaying from midnight finds them
by time.  Events up to the wall clock are sent at once (the day so far); later
ones are paced: the simulated clock runs ``speed`` times as fast as the wall
clock from the moment publishing starts.  ``speed=0`` sends everything at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from wallboard.settings import KafkaSettings
from wallboard.simulator.output import SimEvent
from wallboard.sources.kafka import client_options

logger = logging.getLogger(__name__)

DEFAULT_TOPICS = ("cc.calls", "cc.sms", "cc.agents")


def topic_map(settings: KafkaSettings) -> dict[str, str]:
    """The simulator's default topic names -> the configured ones (calls, sms, agents, in that order)."""
    if len(settings.topics) == 3:
        return dict(zip(DEFAULT_TOPICS, settings.topics, strict=True))
    return {t: t for t in DEFAULT_TOPICS}


async def publish(
    events: Iterable[SimEvent],
    settings: KafkaSettings,
    *,
    speed: float = 1.0,
    limit: int | None = None,
    now: Callable[[], float] = time.time,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Send events to Kafka, paced as the module docstring says; return how many were sent."""
    from aiokafka import AIOKafkaProducer

    topics = topic_map(settings)
    producer = AIOKafkaProducer(linger_ms=20, max_batch_size=256 * 1024, **client_options(settings))
    await producer.start()
    sent = 0
    pending: list[asyncio.Future[object]] = []
    started_wall = now()
    started_sim_ms = started_wall * 1000
    try:
        for event in events:
            if limit is not None and sent >= limit:
                break
            if speed > 0 and event.ts_ms > started_sim_ms:
                # Wait until the simulated clock reaches this event.
                due_wall = started_wall + (event.ts_ms - started_sim_ms) / 1000 / speed
                delay = due_wall - now()
                if delay > 0:
                    if pending:
                        await asyncio.gather(*pending)
                        pending.clear()
                    await asyncio.sleep(delay)
            pending.append(
                await producer.send(
                    topics.get(event.topic, event.topic), value=event.value, key=event.key, timestamp_ms=event.ts_ms
                )
            )
            sent += 1
            if len(pending) >= 10_000:
                await asyncio.gather(*pending)
                pending.clear()
                if progress is not None:
                    progress(sent, event.ts_ms)
        if pending:
            await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent

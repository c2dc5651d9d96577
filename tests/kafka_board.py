"""A Kafka source feeding an engine in the background, the way the app runs it (shared by the Kafka tests)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from tests.engine_compare import numbers
from wallboard.engine import Engine
from wallboard.ingest import advance, ingest
from wallboard.settings import Settings
from wallboard.sources.kafka import KafkaSource


class Board:
    """A Kafka source feeding an engine in the background, the way the app runs it."""

    def __init__(self, s: Settings, now: Callable[[], float]) -> None:
        self.source = KafkaSource(s.kafka, s.metrics, clock=now)
        self.engine = Engine(s.metrics, int(now()))
        self.now = now
        self.task: asyncio.Task[None] | None = None

    async def _pump(self) -> None:
        async for batch in self.source.batches():
            await self.source.ingested(ingest(self.engine, batch))
            # As the app's tick does: the clock moves, pruning only as far as the source allows.
            advance(self.engine, int(self.now()), self.source.status())

    async def __aenter__(self) -> Board:
        self.task = asyncio.create_task(self._pump())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass
        finally:  # a source that failed is closed too (its consumer, its probe)
            await self.source.close()

    async def until(self, condition: Callable[[], bool], limit_s: float = 60, what: str = "") -> None:
        deadline = time.monotonic() + limit_s
        while not condition():
            assert self.task is not None
            if self.task.done():
                self.task.result()
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what or condition}: {self.source.status()}")
            await asyncio.sleep(0.1)

    def snapshot(self) -> dict[str, Any]:
        self.engine.advance(int(self.now()))
        return numbers(self.engine.snapshot())

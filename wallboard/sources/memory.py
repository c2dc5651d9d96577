"""An in-memory event source: given messages, in given batches, with a status the caller controls.

It stands in for Kafka in tests and benchmarks the way httpx's MockTransport
stands in for the network: deterministic, no I/O.  Further batches can be fed
while it runs (``feed``), and it can be told to fail (``fail``) to exercise
what the web app does when its source dies.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterable
from typing import TYPE_CHECKING

from wallboard.sources.base import RawMessage, SourceStatus

if TYPE_CHECKING:
    from wallboard.ingest import Ingested


class ListSource:
    """Yields the given batches, then whatever is fed, until closed.

    ``hold_open`` (default) keeps ``batches()`` waiting for more after the
    given batches, the way a live source waits for traffic; without it the
    iteration ends once they are delivered, the way a file ends.
    """

    def __init__(
        self,
        batches: Iterable[Iterable[RawMessage | bytes]] = (),
        *,
        hold_open: bool = True,
        ready: bool = True,
        connected: bool = True,
        kind: str = "memory",
    ) -> None:
        self._queue: asyncio.Queue[list[RawMessage] | BaseException | None] = asyncio.Queue()
        for batch in batches:
            self._queue.put_nowait(_as_messages(batch))
        if not hold_open:
            self._queue.put_nowait(None)
        self.state = SourceStatus(kind=kind, ready=ready, connected=connected, catch_up=1.0 if ready else 0.0)
        """The status reported; tests change its fields to simulate catch-up, outages and lag."""
        self.delivered = 0
        """Batches handed out so far."""
        self.closed = False
        self.told: deque[Ingested] = deque(maxlen=100)
        """What ``ingested`` was told after each batch (the latest 100)."""

    def feed(self, batch: Iterable[RawMessage | bytes]) -> None:
        """Deliver one more batch (from the event loop's thread)."""
        self._queue.put_nowait(_as_messages(batch))

    def fail(self, exc: BaseException) -> None:
        """Make ``batches()`` raise ``exc`` once the batches before it are delivered."""
        self._queue.put_nowait(exc)

    async def batches(self) -> AsyncIterator[list[RawMessage]]:
        while not self.closed:
            item = await self._queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            self.delivered += 1
            yield item

    async def ingested(self, result: Ingested) -> None:
        self.told.append(result)

    def status(self) -> SourceStatus:
        return self.state

    async def close(self) -> None:
        self.closed = True
        self._queue.put_nowait(None)


def _as_messages(batch: Iterable[RawMessage | bytes]) -> list[RawMessage]:
    return [m if isinstance(m, RawMessage) else RawMessage(m) for m in batch]

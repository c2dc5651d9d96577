"""The built-in simulator as an event source, for the live demo (``wallboard demo``).

On start the source replays today from local midnight up to "now" as fast as
the engine takes it (batches of ``batch_size``), which is what a Kafka source
does with its look-back; then it delivers in real time, one batch every
``interval`` seconds holding the events whose ``ts`` has come.

Clocks.  The source keeps a *simulated clock*::

    clock() = start_at + (now() - started) * speed

With ``speed == 1`` and no ``start_at`` this is the wall clock: event
timestamps are real time and the app can keep its usual clock.  With
``speed != 1`` (a fast-forward demo) or ``start_at`` (show 10:00 at night)
simulated time runs apart from the wall clock, and events carry simulated
timestamps: the app must then drive the engine with ``source.clock()``
instead of ``time.time()``, or the engine would hold the "future" events back.

Midnight.  The source runs one continuous simulation (``Simulator.stream()``),
so crossing local midnight needs nothing special: interactions in progress
complete on the new day, the night shift carries on, and the new day's
arrivals and logins begin at its midnight.  A restart of the app later that
day replays the new day from a fresh simulation of it, whose events differ
from the ones the continuous run produced after midnight (they start from an
empty centre); the engine simply rebuilds today from what it is given.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from wallboard.simulator import Noise, Scenario, SimEvent, Simulator, load_scenario
from wallboard.sources.base import RawMessage, SourceStatus

if TYPE_CHECKING:
    from wallboard.ingest import Ingested

log = logging.getLogger(__name__)


class SimulatorSource:
    """An EventSource that generates a scenario's traffic, caught up to now, then in (scaled) real time."""

    def __init__(
        self,
        scenario: Scenario | str,
        *,
        tz: ZoneInfo,
        seed: int = 1,
        scale: float = 1.0,
        speed: float = 1.0,
        start_at: float | None = None,
        now: Callable[[], float] = time.time,
        batch_size: int = 5000,
        interval: float = 0.1,
        noise: Noise | None = None,
    ) -> None:
        """``now`` is the wall clock (injectable for tests); ``start_at`` the simulated Unix time to start at
        (default: now); ``speed`` simulated seconds per real second."""
        if not speed > 0:
            raise ValueError(f"speed must be greater than 0, got {speed!r}")
        if batch_size < 1 or interval <= 0:
            raise ValueError("batch_size must be at least 1 and interval greater than 0")
        self.scenario = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        self.tz = tz
        self.seed = seed
        self.scale = scale
        self.speed = speed
        self._now = now
        self._batch_size = batch_size
        self._interval = interval
        self._started = now()
        self._start_at = self._started if start_at is None else start_at
        day = datetime.fromtimestamp(self._start_at, tz).date()
        self.simulator = Simulator(self.scenario, seed=seed, day=day, tz=tz, scale=scale, noise=noise)
        self._events: Iterator[SimEvent] | None = None
        self._pending: SimEvent | None = None
        self._offset = 0
        self._delivered_ts = self.simulator.start_ms
        self._ready = False
        self._closed = False

    def clock(self) -> float:
        """Simulated Unix time, seconds: the engine's clock when speed != 1 or start_at is set."""
        return self._start_at + (self._now() - self._started) * self.speed

    def status(self) -> SourceStatus:
        midnight = self.simulator.start_ms
        if self._ready:
            progress = 1.0
        else:
            span = self._start_at * 1000 - midnight
            progress = min(1.0, max(0.0, (self._delivered_ts - midnight) / span)) if span > 0 else 0.0
        return SourceStatus(
            kind="simulator",
            ready=self._ready,
            connected=True,
            catch_up=progress,
            # It makes its events itself: once caught up, it is always read to its end.
            current_at=self.clock() if self._ready else None,
            # Without noise the simulator delivers in ts order: what it delivered is where it is.
            low_watermark_ms=None if self._ready or self.simulator.noise is not None else self._delivered_ts,
            details={
                "scenario": self.scenario.name,
                "seed": self.seed,
                "scale": self.scale,
                "speed": self.speed,
                "sim_time": datetime.fromtimestamp(self.clock(), self.tz).isoformat(timespec="seconds"),
                "messages": self._offset,
            },
        )

    async def batches(self) -> AsyncIterator[list[RawMessage]]:
        """Catch-up batches back to back (yielding to the loop between them), then one batch per interval."""
        if self._events is None:
            self._events = self.simulator.stream()
            log.info(
                "simulator: scenario %s, seed %s, scale %s, speed %s; replaying from local midnight %s",
                self.scenario.name,
                self.seed,
                self.scale,
                self.speed,
                self.simulator.day,
            )
        while not self._closed:
            batch = self._take(int(self.clock() * 1000))
            more = len(batch) >= self._batch_size
            if not more and not self._ready:
                # This batch reaches the clock: ready as it is delivered, so the app sees it with the data.
                self._ready = True
                log.info("simulator: caught up (%d messages)", self._offset)
            if batch:
                yield batch
            await asyncio.sleep(0 if more else self._interval)

    def _take(self, limit_ms: int) -> list[RawMessage]:
        """Up to batch_size messages with ts <= limit_ms (the first later one is kept for next time)."""
        assert self._events is not None
        batch: list[RawMessage] = []
        events = self._events
        event = self._pending
        self._pending = None
        while len(batch) < self._batch_size:
            if event is None:
                event = next(events, None)
                if event is None:
                    break
            if event.ts_ms > limit_ms:
                self._pending = event
                break
            batch.append(RawMessage(event.value, event.key, event.topic, 0, self._offset))
            self._offset += 1
            self._delivered_ts = max(self._delivered_ts, event.ts_ms)
            event = None
        return batch

    async def ingested(self, result: Ingested) -> None:
        """Nothing to learn: the simulator knows its own event time, and has nowhere to send rejects."""

    async def close(self) -> None:
        self._closed = True

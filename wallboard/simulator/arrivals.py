"""Customer arrivals: a non-homogeneous Poisson process per channel and queue.

The rate follows the scenario's 24-hour curve in *local wall-clock time*,
interpolated linearly between hour centres so the board shows no steps on the
hour, and held constant over 5-minute slots of *real elapsed time* from local
midnight.  On a DST day the skipped hour simply has no slots and the repeated
hour has two sets, which is what a real centre sees.

Each stream has its own ``random.Random`` seeded from (seed, date, channel,
queue), so the same customers arrive whatever the staffing: two scenarios that
differ only in their roster can be compared customer by customer.
"""

from __future__ import annotations

import random
from datetime import date, datetime
from typing import NamedTuple
from zoneinfo import ZoneInfo

from wallboard.simulator.scenario import Sampler, Scenario

SLOT_MS = 300_000
"""Length of a constant-rate slot (5 minutes)."""


def local_hours(day_start_ms: int, day_end_ms: int, zone: ZoneInfo) -> list[float]:
    """The local time of day (hours, 0..24) at the middle of each slot of the day."""
    out: list[float] = []
    t = day_start_ms
    while t < day_end_ms:
        mid = (t + min(t + SLOT_MS, day_end_ms)) / 2000.0
        local = datetime.fromtimestamp(mid, zone)
        out.append(local.hour + local.minute / 60.0 + local.second / 3600.0)
        t += SLOT_MS
    return out


def curve_at(weights: tuple[float, ...], hours: float) -> float:
    """Interpolated weight at a local time; each hour's weight sits at the hour's centre.

    An hour of weight 0 stays at 0 throughout (a centre that is closed gets no
    calls at 07:59), and its neighbours do not slope towards it.
    """
    h = int(hours) % 24
    own = weights[h]
    if own <= 0:
        return 0.0
    x = hours - h - 0.5
    other = weights[(h + 1) % 24] if x >= 0 else weights[(h - 1) % 24]
    if other <= 0:
        return own
    f = abs(x)
    return own * (1.0 - f) + other * f


def slot_rates(
    scenario: Scenario, channel: str, queue: str, day: date, hours: list[float], scale: float
) -> list[float]:
    """Expected arrivals per millisecond in each slot of ``day`` for one channel and queue."""
    spec = scenario.channels[channel]
    qspec = scenario.queues[queue]
    total_share = sum(q.share.get(channel, 0.0) for q in scenario.queues.values())
    volume = spec.daily_volume * spec.weekday[day.weekday()] * scale * qspec.share.get(channel, 0.0) / total_share
    weights = qspec.hourly.get(channel, spec.hourly)
    per_hour = volume / sum(weights)
    surges = [s for s in scenario.surges if s.channel == channel and (not s.queues or queue in s.queues)]
    rates: list[float] = []
    for h in hours:
        rate = per_hour * curve_at(weights, h) / 3_600_000.0
        minute = h * 60.0
        for s in surges:
            if s.start_minute <= minute < s.end_minute:
                rate *= s.factor
        rates.append(rate)
    return rates


class Customer(NamedTuple):
    """What a customer brings: drawn at arrival so that it does not depend on who answers."""

    patience_ms: int
    connect_ms: int
    handle_ms: int
    wrap_ms: int


class ArrivalStream:
    """Successive arrival times of one channel and queue over one day (lazy: one pending arrival at a time)."""

    __slots__ = (
        "_connect",
        "_day_end",
        "_day_start",
        "_handle",
        "_handle_factor",
        "_patience",
        "_rates",
        "_short",
        "_short_max_ms",
        "_t",
        "_wrap",
        "channel",
        "queue",
        "rng",
    )

    def __init__(
        self,
        scenario: Scenario,
        channel: str,
        queue: str,
        day: date,
        day_start_ms: int,
        day_end_ms: int,
        hours: list[float],
        scale: float,
        rng: random.Random,
    ) -> None:
        spec = scenario.channels[channel]
        self.channel = channel
        self.queue = queue
        self.rng = rng
        self._rates = slot_rates(scenario, channel, queue, day, hours, scale)
        self._day_start = day_start_ms
        self._day_end = day_end_ms
        self._t = float(day_start_ms)
        self._patience: Sampler = spec.patience.sampler()
        self._connect: Sampler = spec.connect.sampler()
        self._handle: Sampler = spec.handle.sampler()
        self._wrap: Sampler = spec.wrap_up.sampler()
        self._handle_factor = scenario.queues[queue].handle_factor
        self._short = spec.short_abandon_share
        self._short_max_ms = spec.short_abandon_max * 1000.0

    def next_arrival(self) -> int | None:
        """The next arrival (integer ms), or None when the day is over.

        Exponential gaps at the current slot's rate; a gap that crosses the slot
        end restarts at the boundary with the next rate (exact, by memorylessness).
        """
        t = self._t
        rates = self._rates
        start, end = self._day_start, self._day_end
        expo = self.rng.expovariate
        while t < end:
            slot = int((t - start) // SLOT_MS)
            slot_end = min(start + (slot + 1) * SLOT_MS, end)
            rate = rates[slot]
            if rate > 0:
                t_next = t + expo(rate)
                if t_next < slot_end:
                    self._t = t_next
                    return int(t_next)
            t = float(slot_end)
        self._t = t
        return None

    def customer(self) -> Customer:
        """Draw the customer's patience and the times the interaction will take."""
        rng = self.rng
        if self._short and rng.random() < self._short:
            patience = int(rng.uniform(0.0, self._short_max_ms))
        else:
            patience = self._patience(rng)
        return Customer(patience, self._connect(rng), int(self._handle(rng) * self._handle_factor), self._wrap(rng))

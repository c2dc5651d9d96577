"""The aggregation engine: events in, the numbers of metrics.md out.

Pure and synchronous: no I/O, no asyncio, no reading of the wall clock.  The
clock is passed in (``Engine(settings, now_s)`` and ``advance(now_s)``), so the
live board, the replay command and the tests all drive the same code.

How it stays a function of the *set* of events (events.md "Order, duplicates
and lateness"):

* Each interaction keeps one winning event per slot (offered / outcome /
  completed): the earliest ``ts``, ties to the smaller ``event_id``.  When a
  slot changes, the interaction's old contribution to every counter is
  retracted and the new one added, so the result never depends on which
  event came first.
* Counters are integers (waits in milliseconds), so add-then-retract is exact.
* An event whose ``ts`` is after the engine clock is held and applied when the
  clock reaches it: the snapshot at T only ever sees events with ts <= T.

How memory stays bounded by what is live (not by the day's volume):

* A finished interaction (abandoned, or answered and completed) is kept only
  until it is ``late_horizon`` older than the newest event seen; its
  contributions live on in per-day and per-interval counters, and in the
  rolling-window sums (with a per-second log of what to subtract as seconds
  leave the window).
* An interaction event that arrives more than ``late_horizon`` behind the
  newest event, for an interaction no longer held, is counted as ``too_late``
  and dropped (it could be a re-send of one already counted).  Agent events
  older than what was folded away are treated the same.

How what producers send cannot make it hold more than a tick can show
(docs/events.md "Limits"): ``apply`` refuses, whole, an event that would make
it hold more distinct queues or agents than ``[limits]`` allows, counts it by
its reason and says so (the dead-letter path); every view's size and a tick's
cost are bounded by those numbers (docs/performance.md "Limits").
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections import Counter, deque
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

from wallboard.events import AGENT_STATES, CHANNELS, AgentStateEvent, Event, InteractionEvent
from wallboard.localday import Day, LocalDays
from wallboard.periods import (
    ABANDONED,
    ABANDONED_IN_SL,
    ANSWERED,
    ANSWERED_IN_SL,
    COMPLETED,
    EMPTY,
    HANDLE_MS,
    OFFERED,
    SHORT_ABANDONED,
    WAIT_MS,
    Counters,
    new_counters,
)
from wallboard.settings import MetricSettings
from wallboard.wire import AgentCounts, AgentsView, EngineStatus, Intraday, SelectionView, Snapshot

QueueChannel = tuple[str, str]
AgentNow = tuple[str, int, tuple[str, ...], str | None, str | None, str | None]
"""What an agent is doing at the engine clock: (state, since_ms, queues, name, team, reason).

``reason`` is the latest event's own (None when it gave none): unlike name and team it is not carried
over from earlier events.  ``since`` is when the state began, whatever the reasons along the way."""
_CHANNEL_INDEX = {ch: i for i, ch in enumerate(CHANNELS)}


class _Interaction:
    """The winning event of each slot of one interaction (None until seen)."""

    __slots__ = ("channel", "completed", "iid", "lane", "last_ms", "offered", "outcome")

    def __init__(
        self,
        channel: str,
        iid: str,
        offered: tuple[int, str, str] | None = None,
        lane: Lane | None = None,
        last_ms: int = 0,
    ) -> None:
        self.channel = channel
        self.iid = iid
        self.offered = offered  # (ts_ms, event_id, queue)
        self.lane = lane  # the lane of the offered queue and channel, so that later events need no lookup
        self.outcome: tuple[int, str, str, str | None] | None = None  # (ts_ms, event_id, phase, agent_id)
        self.completed: tuple[int, str] | None = None  # (ts_ms, event_id)
        self.last_ms = last_ms

    def is_orphan(self) -> bool:
        """Left out of every metric: no offered, or completed without an answer."""
        if self.offered is None:
            return True
        return self.completed is not None and (self.outcome is None or self.outcome[2] != "answered")

    def is_finished(self) -> bool:
        out = self.outcome
        if out is None:
            return False
        return out[2] == "abandoned" or self.completed is not None


FOLD_EVERY: Final = 64
"""An agent's history is folded (events past the late horizon forgotten) every this many of its events."""


class _Agent:
    """An agent's state events within the late horizon, and what older ones left behind."""

    __slots__ = ("base", "current", "fold_at", "history", "horizon_ms")

    def __init__(self) -> None:
        # Fold when the history grows past this, then again FOLD_EVERY events later: a fold costs the length
        # of the history (the events within the horizon), spread over FOLD_EVERY events.
        self.fold_at = FOLD_EVERY
        # history: sorted (ts_ms, event_id, state, queues, name, team, reason); exact tuples, not the events
        # themselves: the collector untracks plain tuples of strings, never a NamedTuple
        self.history: list[tuple[int, str, str, tuple[str, ...], str | None, str | None, str | None]] = []
        # base and current: (state, since_ms, queues, name, team, reason)
        self.base: AgentNow | None = None
        self.horizon_ms = -1
        self.current: AgentNow | None = None

    def insert(self, ev: AgentStateEvent) -> bool:
        """Add an event that arrived out of order; False if it is a duplicate (same ts and event_id)."""
        hist = self.history
        i = bisect_left(hist, (ev.ts_ms, ev.event_id), key=_ts_and_id)
        if i < len(hist) and hist[i][0] == ev.ts_ms and hist[i][1] == ev.event_id:
            return False
        hist.insert(i, (ev.ts_ms, ev.event_id, ev.state, ev.queues, ev.name, ev.team, ev.reason))
        self.recompute()
        return True

    def recompute(self) -> None:
        hist = self.history
        base = self.base
        if not hist:
            self.current = base
            return
        ts, _, state, queues, name, team, reason = hist[-1]
        since = ts
        for i in range(len(hist) - 2, -1, -1):
            if hist[i][2] != state:
                break
            since = hist[i][0]
        else:
            if base is not None and base[0] == state:
                since = base[1]
        if name is None or team is None:
            for entry in reversed(hist):
                name = name if name is not None else entry[4]
                team = team if team is not None else entry[5]
                if name is not None and team is not None:
                    break
            if base is not None:
                name = name if name is not None else base[3]
                team = team if team is not None else base[4]
        self.current = (state, since, queues, name, team, reason)

    def fold_before(self, threshold_ms: int) -> None:
        """Forget events older than threshold_ms, keeping what they determine (state, since, name, team, reason)."""
        hist = self.history
        n = bisect_left(hist, threshold_ms, key=_ts_only)
        if n == 0:
            return
        self.history = hist[:n]
        self.recompute()
        self.base = self.current
        self.history = hist[n:]
        self.horizon_ms = threshold_ms
        self.recompute()


def _ts_and_id(entry: tuple[Any, ...]) -> tuple[int, str]:
    return entry[0], entry[1]


def _ts_only(entry: tuple[Any, ...]) -> int:
    return int(entry[0])


def _first(entry: tuple[int, AgentNow]) -> int:
    return entry[0]


class Lane:
    """Everything counted for one queue and channel: periods, queue depth, calls in progress.

    Written by the engine only; wallboard.views reads it (``Engine.lane``) to shape the views.
    """

    __slots__ = (
        "day",
        "day_start",
        "days",
        "in_progress",
        "interval",
        "intervals",
        "short_ms",
        "span_end",
        "span_start",
        "threshold_ms",
        "waiting",
        "window",
    )

    def __init__(self, threshold_ms: int, short_ms: int) -> None:
        self.threshold_ms = threshold_ms
        self.short_ms = short_ms
        self.days: dict[int, Counters] = {}  # local day start (s) -> counters
        self.intervals: dict[int, Counters] = {}  # interval start (s) -> counters
        self.window: Counters = new_counters()  # sums over the rolling window
        self.waiting: dict[str, int] = {}  # interaction id -> offered ts (ms)
        self.in_progress = 0
        # The day (from day_start) and interval counters last added to, good for the seconds in
        # [span_start, span_end) (one interval): events arrive mostly in order, so most find them here.
        self.span_start = self.span_end = self.day_start = 0
        self.day: Counters = EMPTY
        self.interval: Counters = EMPTY


class Engine:
    """Aggregates events into the snapshot, agents and intraday views of metrics.md."""

    def __init__(self, settings: MetricSettings, now_s: int) -> None:
        self.settings = settings
        self.days = LocalDays(settings.zone)
        self._window = settings.window
        self._interval = settings.interval
        self._horizon_ms = settings.late_horizon * 1000
        self._now = int(now_s)
        self._future_ms = (self._now + 1) * 1000  # events from this ts on are held until the clock reaches them
        self._today_end = self.days.day_of(self._now).end
        self._window_floor = self._now - self._window  # seconds > this are inside the rolling window
        self._changes = 0  # what else bumped the version besides applied events

        self._interactions: dict[tuple[str, str], _Interaction] = {}
        # Finished interactions to look at once they are past the horizon (their last_ms and key): those
        # that come in ts order (nearly all) queue up in two parallel FIFOs, oldest first (no tuple per
        # interaction for the collector to chase); the others go onto a heap of (last_ms, key).
        self._prune_fifo_ms: deque[int] = deque()
        self._prune_fifo_keys: deque[tuple[str, str]] = deque()
        self._prune_heap: list[tuple[int, tuple[str, str]]] = []
        self._lanes: dict[QueueChannel, Lane] = {}
        # second -> what was added to window counters in that second, to subtract once it leaves the window:
        # flat runs of (window, f1, v1, f2, v2, f3, v3), so that no object is kept per event for the collector
        self._window_log: dict[int, list[Any]] = {}
        self._day_queues: dict[int, set[str]] = {}
        self._handled: dict[int, dict[str, list[int]]] = {}
        self._oldest_day_end = 0

        self._agents: dict[str, _Agent] = {}  # every agent admitted (its _Agent made at admission)
        # What producers may make the engine hold ([limits]): every queue name admitted so far (the settings'
        # own queues from the start), and the agents above.  Neither shrinks while the engine lives.
        self._max_queues = settings.limits.max_queues
        self._max_agents = settings.limits.max_agents
        self._queue_names: set[str] = set(settings.named_queues)
        self._visible: tuple[tuple[int, int], frozenset[str]] = ((-1, -1), frozenset())  # (version, now), queues
        self._future: list[tuple[int, int, Event]] = []
        self._future_seq = 0

        self.events = 0
        self.rejected: Counter[str] = Counter()
        self.duplicates = 0
        self.too_late = 0
        self._orphans = 0
        self._expired_orphans = 0
        self._max_ts_ms = -1
        self._late_before_ms = -1
        self._agents_folded_ms = -1  # the horizon at the last fold of every agent (_fold_agents)

        # [agent_limits] in milliseconds: per state, and per state and reason; the states with any limit
        self._state_limit_ms: dict[str, int] = {s: lim.limit * 1000 for s, lim in settings.agent_limits.items()}
        self._reason_limit_ms: dict[tuple[str, str], int] = {
            (s, r): own.limit * 1000 for s, lim in settings.agent_limits.items() for r, own in lim.reasons.items()
        }
        self.limited_states: list[str] = settings.limited_states()
        # (version, the instants agents pass their limit, sorted, and those agents' states in the same order)
        self._deadlines: tuple[int, list[int], list[AgentNow]] = (-1, [], [])

    # ------------------------------------------------------------------ input

    @property
    def now(self) -> int:
        return self._now

    @property
    def version(self) -> int:
        """Bumps whenever anything a snapshot shows may have changed (the hub pushes on change)."""
        return self.events + self._changes  # every applied event counts: one increment less per event

    def apply(self, event: Event) -> str | None:
        """Apply one valid event, whatever its arrival order; or refuse it for a limit: None, or the reason.

        An event that would make the engine hold more queues or agents than
        ``[limits]`` allows is refused whole (``too_many_queues``,
        ``too_many_agents``): counted in ``rejected``, and nothing else changes.
        Which queues fill the last places is first come, first served.
        """
        if type(event) is InteractionEvent:
            if event[5] not in self._queue_names:
                if len(self._queue_names) >= self._max_queues:
                    return self._refuse("too_many_queues")
                self._queue_names.add(event[5])
        elif event[2] not in self._agents or not self._queue_names.issuperset(event[4]):
            refused = self._admit_agent(event)  # type: ignore[arg-type]
            if refused is not None:
                return refused
        ts = event.ts_ms
        if ts >= self._future_ms:
            self._future_seq += 1
            heapq.heappush(self._future, (ts, self._future_seq, event))
            return None
        self.events += 1
        if ts > self._max_ts_ms:
            self._max_ts_ms = ts
        if type(event) is InteractionEvent:
            self._apply_interaction(event)
        else:
            self._apply_agent(event)  # type: ignore[arg-type]
        return None

    def _admit_agent(self, ev: AgentStateEvent) -> str | None:
        """Make room for a new agent and the new queues it names, or say which limit refuses them."""
        if ev.agent_id not in self._agents and len(self._agents) >= self._max_agents:
            return self._refuse("too_many_agents")
        names = self._queue_names
        new = {q for q in ev.queues if q not in names}
        if len(names) + len(new) > self._max_queues:
            return self._refuse("too_many_queues")
        names.update(new)
        if ev.agent_id not in self._agents:
            self._agents[ev.agent_id] = _Agent()
        return None

    def _refuse(self, reason: str) -> str:
        self.rejected[reason] += 1
        self._changes += 1
        return reason

    def refusal_detail(self, reason: str) -> str:
        """A sentence for the dead-letter topic about a refusal ``apply`` returned."""
        if reason == "too_many_agents":
            return f"the board holds {len(self._agents)} agents, [limits] max_agents is {self._max_agents}"
        return f"the board holds {len(self._queue_names)} queues, [limits] max_queues is {self._max_queues}"

    def reject(self, reason: str, count: int = 1) -> None:
        """Count messages the contract rejected."""
        self.rejected[reason] += count
        self._changes += 1

    def advance(self, now_s: int, *, prune: bool = True, watermark_ms: int | None = None) -> None:
        """Move the clock forward: release held events, slide the window, forget what is past the horizon.

        While a source is behind (start-up catch-up, or a backlog after an
        outage; ``SourceStatus.settled``) its partitions progress at different
        speeds in event time, hours apart, and the newest event seen says nothing
        about how late the laggards' events are.  Then either ``watermark_ms``
        (the event time the slowest of them has reached) bounds what is
        forgotten, or ``prune=False`` forgets nothing (and nothing counts as too
        late) until pruning resumes.
        """
        now_s = int(now_s)
        if now_s <= self._now:
            if prune:
                self._prune(watermark_ms)
            return
        old = self._now
        self._now = now_s
        self._future_ms = (now_s + 1) * 1000
        self._window_floor = now_s - self._window
        if now_s >= self._today_end:
            self._changes += 1  # a new day: "today" starts again from zero
            self._today_end = self.days.day_of(now_s).end
        future = self._future
        while future and future[0][0] < self._future_ms:
            self.apply(heapq.heappop(future)[2])
        self._expire_window(old - self._window, now_s - self._window)
        if prune:
            self._prune(watermark_ms)

    # ---------------------------------------------------------- interactions

    def _lane(self, queue: str, channel: str) -> Lane:
        lane = self._lanes.get((queue, channel))
        if lane is None:
            cs = self.settings.channel(queue, channel)
            lane = self._lanes[(queue, channel)] = Lane(round(cs.sl_threshold * 1000), round(cs.short_abandon * 1000))
        return lane

    def _apply_interaction(self, ev: InteractionEvent) -> None:
        eid, ts, channel, phase, iid, queue, agent = ev
        key = (channel, iid)
        lane: Lane | None  # (rec.lane is, until offered is seen)
        rec = self._interactions.get(key)

        # Fast paths for events arriving in their natural order.  Each does exactly
        # what the general path below would (tests/test_engine_order.py checks it).
        if rec is None:
            if ts < self._late_before_ms:
                self.too_late += 1
                return
            if phase == "offered":
                lane = self._lanes.get((queue, channel)) or self._lane(queue, channel)
                self._interactions[key] = _Interaction(channel, iid, (ts, eid, queue), lane, ts)
                lane.waiting[iid] = ts
                self._add(lane, ts, OFFERED, 1)
                return
        elif rec.completed is None and rec.offered is not None:
            out = rec.outcome
            if phase == "completed":
                if out is not None and out[2] == "answered":
                    lane = rec.lane
                    assert lane is not None  # set with offered
                    if queue != rec.offered[2]:
                        self._see(queue, self.days.day_of(ts // 1000))
                    rec.completed = (ts, eid)
                    if ts > rec.last_ms:
                        rec.last_ms = ts
                    lane.in_progress -= 1
                    handle = ts - out[0]
                    self._add(lane, ts, COMPLETED, 1, HANDLE_MS, handle if handle > 0 else 0)
                    self._retire(rec.last_ms, key)
                    return
            elif out is None and phase != "offered":
                off_ts, _, first_queue = rec.offered
                lane = rec.lane
                assert lane is not None  # set with offered
                if queue != first_queue:
                    self._see(queue, self.days.day_of(ts // 1000))
                rec.outcome = (ts, eid, phase, agent)
                if ts > rec.last_ms:
                    rec.last_ms = ts
                del lane.waiting[iid]
                wait = ts - off_ts
                if wait < 0:
                    wait = 0
                if phase == "answered":
                    lane.in_progress += 1
                    self._add(
                        lane, ts, ANSWERED, 1, ANSWERED_IN_SL, 1 if wait <= lane.threshold_ms else 0, WAIT_MS, wait
                    )
                    if agent is not None:
                        self._count_handled(agent, lane.day_start, channel, 1)  # _add just settled on ts's day
                else:
                    short = wait < lane.short_ms
                    self._add(
                        lane,
                        ts,
                        ABANDONED,
                        1,
                        SHORT_ABANDONED,
                        1 if short else 0,
                        ABANDONED_IN_SL,
                        1 if not short and wait <= lane.threshold_ms else 0,
                    )
                    self._retire(rec.last_ms, key)
                return
        self._apply_general(ev, key, rec)

    def _apply_general(self, ev: InteractionEvent, key: tuple[str, str], rec: _Interaction | None) -> None:
        """Any arrival order: pick each slot's winner, retract the old contribution, add the new."""
        # Every queue seen today is listed, even one that only ever appears on an ignored event.
        # (The fast paths need no such note: their counters put the queue into today.)
        self._see(ev.queue, self.days.day_of(ev.ts_ms // 1000))
        if rec is None:
            rec = self._interactions[key] = _Interaction(ev.channel, ev.interaction_id)
            self._orphans += 1  # a record without offered is an orphan until its offered arrives
        ts, eid, phase = ev.ts_ms, ev.event_id, ev.phase
        was_orphan = rec.is_orphan()
        if phase == "offered":
            current: tuple[Any, ...] | None = rec.offered
            parts = (True, True, True)
        elif phase == "completed":
            current = rec.completed
            parts = (False, False, True)
        else:
            current = rec.outcome
            parts = (False, True, True)
        if current is not None:
            self.duplicates += 1
            if (current[0], current[1]) <= (ts, eid):
                return  # the event already held wins (earliest ts, then smaller event_id)
        self._contribute(rec, -1, *parts)
        if phase == "offered":
            rec.offered = (ts, eid, ev.queue)
            rec.lane = self._lane(ev.queue, ev.channel)
        elif phase == "completed":
            rec.completed = (ts, eid)
        else:
            rec.outcome = (ts, eid, phase, ev.agent_id)
        self._contribute(rec, +1, *parts)
        self._orphans += rec.is_orphan() - was_orphan
        if ts > rec.last_ms:
            rec.last_ms = ts
        self._retire(rec.last_ms, key)

    def _retire(self, last_ms: int, key: tuple[str, str]) -> None:
        """Have _prune look at this interaction once last_ms is past the horizon."""
        fifo_ms = self._prune_fifo_ms
        if not fifo_ms or last_ms >= fifo_ms[-1]:
            fifo_ms.append(last_ms)
            self._prune_fifo_keys.append(key)
        else:
            heapq.heappush(self._prune_heap, (last_ms, key))

    def _see(self, queue: str, day: Day) -> None:
        seen = self._day_queues.get(day.start)
        if seen is None:
            seen = self._day_queues[day.start] = set()
        seen.add(queue)

    def _contribute(self, rec: _Interaction, sign: int, offer: bool, outcome: bool, completion: bool) -> None:
        """Add (sign=+1) or retract (sign=-1) the parts of an interaction's contribution that may change."""
        off = rec.offered
        if off is None:
            return
        off_ts = off[0]
        lane = rec.lane
        assert lane is not None  # set with offered
        out = rec.outcome
        if offer:
            self._add(lane, off_ts, OFFERED, sign)
        if outcome:
            if out is None:
                if sign > 0:
                    lane.waiting[rec.iid] = off_ts
                else:
                    del lane.waiting[rec.iid]
            else:
                out_ts, _, phase, agent = out
                wait = out_ts - off_ts
                if wait < 0:
                    wait = 0
                if phase == "answered":
                    in_sl = sign if wait <= lane.threshold_ms else 0
                    self._add(lane, out_ts, ANSWERED, sign, ANSWERED_IN_SL, in_sl, WAIT_MS, sign * wait)
                    self._count_handled(agent, self.days.day_of(out_ts // 1000).start, rec.channel, sign)
                else:
                    short = wait < lane.short_ms
                    self._add(
                        lane,
                        out_ts,
                        ABANDONED,
                        sign,
                        SHORT_ABANDONED,
                        sign if short else 0,
                        ABANDONED_IN_SL,
                        sign if not short and wait <= lane.threshold_ms else 0,
                    )
        if completion and out is not None and out[2] == "answered":
            comp = rec.completed
            if comp is None:
                lane.in_progress += sign
            else:
                handle = comp[0] - out[0]
                self._add(lane, comp[0], COMPLETED, sign, HANDLE_MS, sign * (handle if handle > 0 else 0))

    def _add(
        self, lane: Lane, ts_ms: int, f1: int, v1: int, f2: int = 0, v2: int = 0, f3: int = 0, v3: int = 0
    ) -> None:
        """Add up to three field deltas to the day, interval and (if inside it) window counters of a lane."""
        ts_s = ts_ms // 1000
        if not lane.span_start <= ts_s < lane.span_end:
            self._settle(lane, ts_s)
        # Adding 0 changes nothing: skipping it is cheaper than doing it (most events move one or two fields).
        day = lane.day
        interval = lane.interval
        day[f1] += v1
        interval[f1] += v1
        if v2:
            day[f2] += v2
            interval[f2] += v2
        if v3:
            day[f3] += v3
            interval[f3] += v3
        if ts_s > self._window_floor:
            window = lane.window
            window[f1] += v1
            if v2:
                window[f2] += v2
            if v3:
                window[f3] += v3
            log = self._window_log.get(ts_s)
            if log is None:
                self._window_log[ts_s] = [window, f1, v1, f2, v2, f3, v3]
            else:
                log += (window, f1, v1, f2, v2, f3, v3)

    def _settle(self, lane: Lane, ts_s: int) -> None:
        """Point the lane's day and interval counters at those of ts_s, creating them if need be."""
        day = self.days.day_of(ts_s)
        counters = lane.days.get(day.start)
        if counters is None:
            counters = lane.days[day.start] = new_counters()
            if not self._oldest_day_end or day.end < self._oldest_day_end:
                self._oldest_day_end = day.end
        lane.day = counters
        lane.day_start = day.start
        istart = ts_s - (ts_s - day.start) % self._interval
        counters = lane.intervals.get(istart)
        if counters is None:
            counters = lane.intervals[istart] = new_counters()
        lane.interval = counters
        lane.span_start = istart
        lane.span_end = min(istart + self._interval, day.end)

    def _count_handled(self, agent: str | None, day_start: int, channel: str, sign: int) -> None:
        if agent is None:
            return
        per_day = self._handled.get(day_start)
        if per_day is None:
            per_day = self._handled[day_start] = {}
        counts = per_day.get(agent)
        if counts is None:
            counts = per_day[agent] = [0] * len(CHANNELS)
        counts[_CHANNEL_INDEX[channel]] += sign

    # ----------------------------------------------------------------- agents

    def _apply_agent(self, ev: AgentStateEvent) -> None:
        eid, ts, agent_id, state, queues, name, team, reason = ev
        agent = self._agents[agent_id]  # made when admitted (apply)
        if ts < agent.horizon_ms:
            self.too_late += 1
            return
        hist = agent.history
        if not hist or ts > (last := hist[-1])[0] or (ts == last[0] and eid > last[1]):
            # In order (the common case): the event is the latest, and says what the agent is doing now.
            cur = agent.current
            if cur is not None:
                # One tuple and one name and team string per agent while they stay the same, not one per
                # event (memory: 2 h of history; name and team are ~160 of a held event's ~380 bytes).
                if queues == cur[2]:
                    queues = cur[2]
                if name is not None and name == cur[3]:
                    name = cur[3]
                if team is not None and team == cur[4]:
                    team = cur[4]
            hist.append((ts, eid, state, queues, name, team, reason))
            if cur is None:
                agent.current = (state, ts, queues, name, team, reason)
            else:
                agent.current = (
                    state,
                    cur[1] if cur[0] == state else ts,
                    queues,
                    cur[3] if name is None else name,
                    cur[4] if team is None else team,
                    reason,
                )
        elif not agent.insert(ev):
            self.duplicates += 1
            return
        # Fold lazily: only agents that keep producing events grow a history to fold.  The next fold comes
        # FOLD_EVERY events later, not after twice the history: during a catch-up the horizon lags (it moves
        # once a tick, held back by the slowest partition), a fold then forgets little, and doubling would
        # put the next ones off until the rest of the agent's day is held (measured, bench/catchup.py: a
        # 919,000-message catch-up ended holding 290,000 of the day's 465,000 agent events; 207,000 this way,
        # and the 31,400 within the horizon with _fold_agents, which also folds agents that send no more).
        if len(hist) > agent.fold_at:
            agent.fold_before(self._late_before_ms)
            agent.fold_at = len(agent.history) + FOLD_EVERY

    # ---------------------------------------------------------------- horizon

    def _expire_window(self, old_edge: int, new_edge: int) -> None:
        """Subtract what was added in the seconds that fell out of (now - window, now]."""
        log = self._window_log
        if not log:
            return
        if new_edge - old_edge <= len(log):
            seconds: list[int] | range = range(old_edge + 1, new_edge + 1)
        else:
            seconds = sorted(s for s in log if s <= new_edge)
        for s in seconds:
            added = log.pop(s, None)
            if added is None:
                continue
            self._changes += 1
            runs = iter(added)
            # (runs of 7: no strict check, it costs as much as the subtractions)
            for window, f1, v1, f2, v2, f3, v3 in zip(runs, runs, runs, runs, runs, runs, runs, strict=False):
                window[f1] -= v1
                window[f2] -= v2
                window[f3] -= v3

    def _prune(self, limit_ms: int | None = None) -> None:
        """Forget finished interactions older than the late horizon, and days that ended before it."""
        watermark = min(self._max_ts_ms, self._now * 1000 + 999)
        if limit_ms is not None and limit_ms < watermark:
            watermark = limit_ms
        late_before = watermark - self._horizon_ms
        if late_before <= self._late_before_ms:
            return
        self._late_before_ms = late_before
        fifo_ms = self._prune_fifo_ms
        fifo_keys = self._prune_fifo_keys
        heap = self._prune_heap
        interactions = self._interactions
        while True:
            if fifo_ms and fifo_ms[0] < late_before:
                fifo_ms.popleft()
                key = fifo_keys.popleft()
            elif heap and heap[0][0] < late_before:
                key = heapq.heappop(heap)[1]
            else:
                break
            rec = interactions.get(key)
            if rec is None or rec.last_ms >= late_before:
                continue
            # Waiting and in-progress interactions stay, whatever their age (queue depth counts them all).
            if rec.offered is None or rec.is_finished():
                del interactions[key]
                if rec.is_orphan():
                    self._orphans -= 1
                    self._expired_orphans += 1
        if self._oldest_day_end and self._oldest_day_end * 1000 <= late_before:
            self._forget_days(late_before)
        if late_before - self._agents_folded_ms >= self._horizon_ms // 8:
            self._fold_agents(late_before)

    def _fold_agents(self, late_before_ms: int) -> None:
        """Fold every agent's events older than the horizon, also those of agents that send no more events.

        An agent's history is otherwise folded only as its own events come in; after a catch-up (whose
        horizon lagged hours behind) an agent who has stopped sending would keep the rest of its day.
        Run when the horizon has moved an eighth of itself since the last time: a few times an hour live.
        """
        self._agents_folded_ms = late_before_ms
        for agent in self._agents.values():
            hist = agent.history
            if hist and hist[0][0] < late_before_ms:
                agent.fold_before(late_before_ms)
                agent.fold_at = len(agent.history) + FOLD_EVERY

    def _forget_days(self, late_before_ms: int) -> None:
        today = self.days.day_of(self._now).start
        ends: list[int] = []
        for lane in self._lanes.values():
            for start in list(lane.days):
                end = self.days.day_of(start).end
                if start < today and end * 1000 <= late_before_ms:
                    del lane.days[start]
                    for istart in [i for i in lane.intervals if start <= i < end]:
                        del lane.intervals[istart]
                else:
                    ends.append(end)
        for store in (self._day_queues, self._handled):
            for start in [s for s in store if s < today and self.days.day_of(s).end * 1000 <= late_before_ms]:
                del store[start]
        self._oldest_day_end = min(ends) if ends else 0
        for lane in self._lanes.values():
            lane.span_start = lane.span_end = 0  # their day or interval counters may be gone

    # ------------------------------------------------------- what views read

    def lane(self, queue: str, channel: str) -> Lane | None:
        """The counters of one queue and channel, None if nothing was ever counted there (read-only)."""
        return self._lanes.get((queue, channel))

    def agent_counts(self) -> tuple[dict[str, AgentCounts], AgentCounts]:
        """Agents by state: per queue they serve (only queues someone serves), and centre-wide (each once)."""
        by_queue: dict[str, AgentCounts] = {}
        totals = zero_agents()
        for agent in self._agents.values():
            cur = agent.current
            if cur is None:
                continue
            state = cur[0]
            totals[state] += 1
            for queue in cur[2]:
                counts = by_queue.get(queue)
                if counts is None:
                    counts = by_queue[queue] = zero_agents()
                counts[state] += 1
        return by_queue, totals

    def agent_limit_ms(self, state: str, reason: str | None) -> int:
        """The limit in force for ``state`` with ``reason``, milliseconds; 0: none (``MetricSettings.agent_limit``)."""
        if reason is not None:
            own = self._reason_limit_ms.get((state, reason))
            if own is not None:
                return own
        return self._state_limit_ms.get(state, 0)

    def is_over_limit(self, cur: AgentNow) -> bool:
        """Whether an agent has been in its state longer than its limit at the engine clock."""
        limit = self.agent_limit_ms(cur[0], cur[5])
        return limit > 0 and self._now * 1000 - cur[1] > limit

    def over_limit_counts(self) -> tuple[dict[str, AgentCounts], AgentCounts]:
        """Agents over their limit, by state: per queue they serve, and centre-wide (each once).

        Only the states with a limit are keys (``limited_states``); {} when no limit is set.
        """
        by_queue: dict[str, AgentCounts] = {}
        totals = self.zero_over_limit()
        if not self.limited_states:
            return by_queue, totals
        passed = self.limit_crossings()
        for cur in self._deadlines[2][:passed]:  # those past their instant, in the order they passed it
            state = cur[0]
            totals[state] += 1
            for queue in cur[2]:
                counts = by_queue.get(queue)
                if counts is None:
                    counts = by_queue[queue] = self.zero_over_limit()
                counts[state] += 1
        return by_queue, totals

    def zero_over_limit(self) -> AgentCounts:
        """A count of 0 for every state with a limit."""
        return dict.fromkeys(self.limited_states, 0)

    def limit_crossings(self) -> int:
        """How many agents, in the state they are in, have passed their limit at the engine clock.

        It changes with the clock alone (an agent passes 15 minutes of break without any event), so the
        live board's state key includes it: the views are rebuilt at the second a crossing happens.  The
        instants are sorted once per engine version; each tick then costs a binary search.
        """
        if not self.limited_states:
            return 0
        version = self.version
        if self._deadlines[0] != version:
            limited: list[tuple[int, AgentNow]] = []
            for agent in self._agents.values():
                cur = agent.current
                if cur is not None:
                    limit = self.agent_limit_ms(cur[0], cur[5])
                    if limit > 0:
                        limited.append((cur[1] + limit, cur))
            limited.sort(key=_first)
            self._deadlines = (version, [d for d, _ in limited], [cur for _, cur in limited])
        return bisect_left(self._deadlines[1], self._now * 1000)

    def current_agents(self) -> Iterator[tuple[str, AgentNow]]:
        """(agent id, (state, since_ms, queues, name, team, reason)) of every agent with a state, in no set order."""
        for agent_id, agent in self._agents.items():
            cur = agent.current
            if cur is not None:
                yield agent_id, cur

    def handled_on(self, day_start: int) -> Mapping[str, list[int]]:
        """Interactions each agent answered on the local day starting at ``day_start``, per channel (CHANNELS)."""
        return self._handled.get(day_start, {})

    def visible_queues(self, agents_by_queue: Mapping[str, AgentCounts] | None = None) -> list[str]:
        """The queues the views list at the engine clock, sorted (metrics.md: every queue seen today).

        Seen today on any event, still waiting or in progress whatever the day,
        served by an agent, or named in the settings ([queues], [groups]).  ``agents_by_queue``: this
        state's ``agent_counts()`` when the caller has it already (counting
        agents by queue is most of a snapshot's cost).  The answer is remembered
        until the state or the clock changes (``visible_set``).
        """
        today = self.days.day_of(self._now)
        if agents_by_queue is None:
            agents_by_queue = self.agent_counts()[0]
        names = set(self._day_queues.get(today.start, ()))
        for (queue, _), lane in self._lanes.items():
            if lane.waiting or lane.in_progress or today.start in lane.days:
                names.add(queue)
        names.update(agents_by_queue)
        names.update(self.settings.named_queues)
        visible = sorted(names)
        self._visible = ((self.version, self._now), frozenset(visible))
        return visible

    def visible_set(self) -> frozenset[str]:
        """``visible_queues()`` as a set: the one remembered from this state, else found afresh.

        The live tick builds the snapshot first; each selection after it in the
        same tick then costs no second count of the agents.
        """
        key, visible = self._visible
        if key != (self.version, self._now):
            visible = frozenset(self.visible_queues())
        return visible

    def status(self) -> EngineStatus:
        """Ingestion figures of this engine (events since it started, not since midnight)."""
        return {
            "events": self.events,
            "rejected": dict(sorted(self.rejected.items())),
            "duplicates": self.duplicates,
            "orphans": self._orphans + self._expired_orphans,
            "too_late": self.too_late,
            "future_held": len(self._future),
            "last_event_ts": None if self._max_ts_ms < 0 else self.days.iso_ms(self._max_ts_ms),
            "held_interactions": len(self._interactions),
            "held_agent_events": sum([len(agent.history) for agent in self._agents.values()]),
            "held_queues": len(self._queue_names),
            "held_agents": len(self._agents),
        }

    # ------------------------------------------------------------------ views
    # Shorthands for wallboard.views, which shapes the JSON from what is above
    # (imported here, not at the top: views imports this module).

    def snapshot(self) -> Snapshot:
        """The metrics.md snapshot at the engine clock (``wallboard.views.snapshot``)."""
        from wallboard import views

        return views.snapshot(self)

    def selection(self, queues: Sequence[str]) -> SelectionView:
        """Some queues added up, as the snapshot's totals add up all (``wallboard.views.selection``)."""
        from wallboard import views

        return views.selection(self, queues)

    def agents(self) -> AgentsView:
        """Per-agent rows at the engine clock (``wallboard.views.agents``)."""
        from wallboard import views

        return views.agents(self)

    def intraday(self) -> Intraday:
        """Today's intervals per queue and channel (``wallboard.views.intraday``)."""
        from wallboard import views

        return views.intraday(self)


def zero_agents() -> AgentCounts:
    """A count of 0 for every agent state."""
    return dict.fromkeys(AGENT_STATES, 0)

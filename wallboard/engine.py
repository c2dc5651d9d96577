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
  contributions live on in per-day, per-interval and per-second counters.
* An interaction event that arrives more than ``late_horizon`` behind the
  newest event, for an interaction no longer held, is counted as ``too_late``
  and dropped (it could be a re-send of one already counted).  Agent events
  older than what was folded away are treated the same.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections import Counter
from typing import Any

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
    add_into,
    new_counters,
    period_metrics,
)
from wallboard.settings import MetricSettings

QueueChannel = tuple[str, str]
_CHANNEL_INDEX = {ch: i for i, ch in enumerate(CHANNELS)}


class _Interaction:
    """The winning event of each slot of one interaction (None until seen)."""

    __slots__ = ("channel", "completed", "iid", "last_ms", "offered", "outcome")

    def __init__(self, channel: str, iid: str) -> None:
        self.channel = channel
        self.iid = iid
        self.offered: tuple[int, str, str] | None = None  # (ts_ms, event_id, queue)
        self.outcome: tuple[int, str, str, str | None] | None = None  # (ts_ms, event_id, phase, agent_id)
        self.completed: tuple[int, str] | None = None  # (ts_ms, event_id)
        self.last_ms = 0

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


class _Agent:
    """An agent's state events within the late horizon, and what older ones left behind."""

    __slots__ = ("base", "current", "history", "horizon_ms")

    def __init__(self) -> None:
        # history: sorted (ts_ms, event_id, state, queues, name, team)
        self.history: list[tuple[int, str, str, tuple[str, ...], str | None, str | None]] = []
        # base: (state, since_ms, queues, name, team) folded from pruned history
        self.base: tuple[str, int, tuple[str, ...], str | None, str | None] | None = None
        self.horizon_ms = -1
        self.current: tuple[str, int, tuple[str, ...], str | None, str | None] | None = None

    def recompute(self) -> None:
        hist = self.history
        base = self.base
        if not hist:
            self.current = base
            return
        ts, _, state, queues, name, team = hist[-1]
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
            if base is not None:
                name = name if name is not None else base[3]
                team = team if team is not None else base[4]
        self.current = (state, since, queues, name, team)

    def fold_before(self, threshold_ms: int) -> None:
        """Forget events older than threshold_ms, keeping what they determine (state, since, name, team)."""
        hist = self.history
        n = bisect_left(hist, threshold_ms, key=lambda e: e[0])
        if n == 0:
            return
        self.history = hist[:n]
        self.recompute()
        self.base = self.current
        self.history = hist[n:]
        self.horizon_ms = threshold_ms
        self.recompute()


class Engine:
    """Aggregates events into the snapshot, agents and intraday views of metrics.md."""

    def __init__(self, settings: MetricSettings, now_s: int) -> None:
        self.settings = settings
        self.days = LocalDays(settings.zone)
        self._window = settings.window
        self._interval = settings.interval
        self._horizon_ms = settings.late_horizon * 1000
        self._now = int(now_s)
        self.version = 0
        """Bumps whenever anything a snapshot shows may have changed (the hub pushes on change)."""

        self._interactions: dict[tuple[str, str], _Interaction] = {}
        self._prune_heap: list[tuple[int, str, str]] = []
        self._waiting: dict[QueueChannel, dict[str, int]] = {}
        self._in_progress: dict[QueueChannel, int] = {}
        self._thresholds: dict[QueueChannel, tuple[int, int]] = {}

        self._day_counts: dict[int, dict[QueueChannel, Counters]] = {}
        self._interval_counts: dict[int, dict[tuple[str, str, int], Counters]] = {}
        self._day_queues: dict[int, set[str]] = {}
        self._handled: dict[int, dict[str, list[int]]] = {}
        self._window_sums: dict[QueueChannel, Counters] = {}
        self._window_buckets: dict[int, dict[QueueChannel, Counters]] = {}

        self._agents: dict[str, _Agent] = {}
        self._future: list[tuple[int, int, Event]] = []
        self._future_seq = 0
        self._agent_fold_ms = 0

        self.events = 0
        self.rejected: Counter[str] = Counter()
        self.duplicates = 0
        self.too_late = 0
        self._orphans = 0
        self._expired_orphans = 0
        self._max_ts_ms = -1
        self._late_before_ms = -1

    # ------------------------------------------------------------------ input

    @property
    def now(self) -> int:
        return self._now

    def apply(self, event: Event) -> None:
        """Apply one valid event, whatever its arrival order."""
        if event.ts_ms // 1000 > self._now:
            self._future_seq += 1
            heapq.heappush(self._future, (event.ts_ms, self._future_seq, event))
            return
        self._apply_now(event)

    def apply_all(self, events: list[Event]) -> None:
        for event in events:
            self.apply(event)

    def reject(self, reason: str) -> None:
        """Count a message the contract rejected."""
        self.rejected[reason] += 1
        self.version += 1

    def advance(self, now_s: int) -> None:
        """Move the clock forward: release held events, slide the window, forget what is past the horizon."""
        now_s = int(now_s)
        if now_s <= self._now:
            return
        old = self._now
        self._now = now_s
        future = self._future
        while future and future[0][0] // 1000 <= now_s:
            self._apply_now(heapq.heappop(future)[2])
        self._expire_window(old - self._window, now_s - self._window)
        self._prune()

    def _apply_now(self, event: Event) -> None:
        self.events += 1
        self.version += 1
        ts = event.ts_ms
        if ts > self._max_ts_ms:
            self._max_ts_ms = ts
        if type(event) is InteractionEvent:
            self._apply_interaction(event)
        else:
            self._apply_agent(event)  # type: ignore[arg-type]

    # ---------------------------------------------------------- interactions

    def _apply_interaction(self, ev: InteractionEvent) -> None:
        key = (ev.channel, ev.interaction_id)
        rec = self._interactions.get(key)
        ts = ev.ts_ms
        if rec is None:
            if ts < self._late_before_ms:
                self.too_late += 1
                return
            rec = self._interactions[key] = _Interaction(ev.channel, ev.interaction_id)
            self._orphans += 1  # a new record has no offered yet (unless this is it: fixed below)
        day = self.days.day_of(ts // 1000)
        queues_today = self._day_queues.get(day.start)
        if queues_today is None:
            queues_today = self._day_queues[day.start] = set()
        queues_today.add(ev.queue)

        phase = ev.phase
        eid = ev.event_id
        was_orphan = rec.is_orphan()
        if phase == "offered":
            cur_off = rec.offered
            if cur_off is not None and (cur_off[0], cur_off[1]) <= (ts, eid):
                self.duplicates += 1
                return
            if cur_off is not None:
                self.duplicates += 1
            self._contribute(rec, -1, offer=True, outcome=True, completion=True)
            rec.offered = (ts, eid, ev.queue)
            self._contribute(rec, +1, offer=True, outcome=True, completion=True)
        elif phase == "completed":
            cur_c = rec.completed
            if cur_c is not None and (cur_c[0], cur_c[1]) <= (ts, eid):
                self.duplicates += 1
                return
            if cur_c is not None:
                self.duplicates += 1
            self._contribute(rec, -1, offer=False, outcome=False, completion=True)
            rec.completed = (ts, eid)
            self._contribute(rec, +1, offer=False, outcome=False, completion=True)
        else:
            cur_o = rec.outcome
            if cur_o is not None and (cur_o[0], cur_o[1]) <= (ts, eid):
                self.duplicates += 1
                return
            if cur_o is not None:
                self.duplicates += 1
            self._contribute(rec, -1, offer=False, outcome=True, completion=True)
            rec.outcome = (ts, eid, phase, ev.agent_id)
            self._contribute(rec, +1, offer=False, outcome=True, completion=True)
        self._orphans += rec.is_orphan() - was_orphan
        if ts > rec.last_ms:
            rec.last_ms = ts
        heapq.heappush(self._prune_heap, (rec.last_ms, rec.channel, rec.iid))

    def _contribute(self, rec: _Interaction, sign: int, *, offer: bool, outcome: bool, completion: bool) -> None:
        """Add (sign=+1) or retract (sign=-1) the parts of an interaction's contribution that may change."""
        off = rec.offered
        if off is None:
            return
        off_ts, _, queue = off
        channel = rec.channel
        qc = (queue, channel)
        out = rec.outcome
        if offer:
            self._bump(qc, off_ts, ((OFFERED, sign),))
        if outcome:
            if out is None:
                waiting = self._waiting.get(qc)
                if waiting is None:
                    waiting = self._waiting[qc] = {}
                if sign > 0:
                    waiting[rec.iid] = off_ts
                else:
                    del waiting[rec.iid]
            else:
                out_ts, _, phase, agent = out
                wait = out_ts - off_ts
                if wait < 0:
                    wait = 0
                thr, short = self._thresholds_of(qc)
                if phase == "answered":
                    self._bump(qc, out_ts, ((ANSWERED, sign), (ANSWERED_IN_SL, sign if wait <= thr else 0),
                                            (WAIT_MS, sign * wait)))
                    self._count_handled(agent, out_ts, channel, sign)
                else:
                    is_short = wait < short
                    self._bump(qc, out_ts, ((ABANDONED, sign), (SHORT_ABANDONED, sign if is_short else 0),
                                            (ABANDONED_IN_SL, sign if not is_short and wait <= thr else 0)))
        if completion and out is not None and out[2] == "answered":
            comp = rec.completed
            if comp is None:
                self._in_progress[qc] = self._in_progress.get(qc, 0) + sign
            else:
                handle = comp[0] - out[0]
                self._bump(qc, comp[0], ((COMPLETED, sign), (HANDLE_MS, sign * (handle if handle > 0 else 0))))

    def _bump(self, qc: QueueChannel, ts_ms: int, deltas: tuple[tuple[int, int], ...]) -> None:
        ts_s = ts_ms // 1000
        day = self.days.day_of(ts_s)
        per_day = self._day_counts.get(day.start)
        if per_day is None:
            per_day = self._day_counts[day.start] = {}
            self._interval_counts[day.start] = {}
        counters = per_day.get(qc)
        if counters is None:
            counters = per_day[qc] = new_counters()
        ikey = (qc[0], qc[1], (ts_s - day.start) // self._interval)
        per_interval = self._interval_counts[day.start]
        icounters = per_interval.get(ikey)
        if icounters is None:
            icounters = per_interval[ikey] = new_counters()
        in_window = ts_s > self._now - self._window
        if in_window:
            bucket_map = self._window_buckets.get(ts_s)
            if bucket_map is None:
                bucket_map = self._window_buckets[ts_s] = {}
            bucket = bucket_map.get(qc)
            if bucket is None:
                bucket = bucket_map[qc] = new_counters()
            sums = self._window_sums.get(qc)
            if sums is None:
                sums = self._window_sums[qc] = new_counters()
            for field, delta in deltas:
                counters[field] += delta
                icounters[field] += delta
                bucket[field] += delta
                sums[field] += delta
        else:
            for field, delta in deltas:
                counters[field] += delta
                icounters[field] += delta

    def _count_handled(self, agent: str | None, ts_ms: int, channel: str, sign: int) -> None:
        if agent is None:
            return
        day = self.days.day_of(ts_ms // 1000)
        per_day = self._handled.get(day.start)
        if per_day is None:
            per_day = self._handled[day.start] = {}
        counts = per_day.get(agent)
        if counts is None:
            counts = per_day[agent] = [0] * len(CHANNELS)
        counts[_CHANNEL_INDEX[channel]] += sign

    def _thresholds_of(self, qc: QueueChannel) -> tuple[int, int]:
        found = self._thresholds.get(qc)
        if found is None:
            cs = self.settings.channel(qc[0], qc[1])
            found = self._thresholds[qc] = (round(cs.sl_threshold * 1000), round(cs.short_abandon * 1000))
        return found

    # ----------------------------------------------------------------- agents

    def _apply_agent(self, ev: AgentStateEvent) -> None:
        agent = self._agents.get(ev.agent_id)
        if agent is None:
            agent = self._agents[ev.agent_id] = _Agent()
        if ev.ts_ms < agent.horizon_ms:
            self.too_late += 1
            return
        hist = agent.history
        key = (ev.ts_ms, ev.event_id)
        i = bisect_left(hist, key, key=lambda e: (e[0], e[1]))
        if i < len(hist) and hist[i][0] == ev.ts_ms and hist[i][1] == ev.event_id:
            self.duplicates += 1
            return
        hist.insert(i, (ev.ts_ms, ev.event_id, ev.state, ev.queues, ev.name, ev.team))
        agent.recompute()

    # ---------------------------------------------------------------- horizon

    def _expire_window(self, old_edge: int, new_edge: int) -> None:
        """Drop per-second buckets that fell out of (now - window, now]."""
        buckets = self._window_buckets
        if not buckets:
            return
        if new_edge - old_edge <= len(buckets):
            seconds: list[int] | range = range(old_edge + 1, new_edge + 1)
        else:
            seconds = sorted(s for s in buckets if s <= new_edge)
        sums = self._window_sums
        for s in seconds:
            bucket_map = buckets.pop(s, None)
            if bucket_map is None:
                continue
            self.version += 1
            for qc, counters in bucket_map.items():
                total = sums[qc]
                for i, v in enumerate(counters):
                    total[i] -= v

    def _prune(self) -> None:
        """Forget finished interactions and agent history older than the late horizon, and old days."""
        watermark = min(self._max_ts_ms, self._now * 1000 + 999)
        late_before = watermark - self._horizon_ms
        if late_before <= self._late_before_ms:
            return
        self._late_before_ms = late_before
        heap = self._prune_heap
        interactions = self._interactions
        while heap and heap[0][0] < late_before:
            _, channel, iid = heapq.heappop(heap)
            rec = interactions.get((channel, iid))
            if rec is None or rec.last_ms >= late_before:
                continue
            # Waiting and in-progress interactions stay, whatever their age (queue depth counts them all).
            if rec.offered is None or rec.is_finished():
                del interactions[(channel, iid)]
                if rec.is_orphan():
                    self._orphans -= 1
                    self._expired_orphans += 1
        if late_before - self._agent_fold_ms >= 60_000:
            self._agent_fold_ms = late_before
            for agent in self._agents.values():
                agent.fold_before(late_before)
        today = self.days.day_of(self._now).start
        for store in (self._day_counts, self._interval_counts, self._day_queues, self._handled):
            for start in [s for s in store if s < today and self.days.day_of(s).end * 1000 <= late_before]:
                del store[start]

    # ------------------------------------------------------------------ views

    def snapshot(self) -> dict[str, Any]:
        """The metrics.md snapshot at the engine clock."""
        now = self._now
        today = self.days.day_of(now)
        day_counts = self._day_counts.get(today.start, {})
        agents_by_queue, agent_totals = self._agent_counts()
        queue_names = self._visible_queues(today, agents_by_queue)
        queues: dict[str, Any] = {}
        total_day = {ch: new_counters() for ch in CHANNELS}
        total_window = {ch: new_counters() for ch in CHANNELS}
        total_point = {ch: [0, None, 0] for ch in CHANNELS}  # waiting, oldest offered ms, in progress
        for queue in queue_names:
            channels: dict[str, Any] = {}
            for ch in CHANNELS:
                qc = (queue, ch)
                formula = self.settings.channel(queue, ch).sl_formula
                waiting = self._waiting.get(qc) or {}
                oldest = min(waiting.values()) if waiting else None
                in_progress = self._in_progress.get(qc, 0)
                window = self._window_sums.get(qc, EMPTY)
                day = day_counts.get(qc, EMPTY)
                channels[ch] = self._channel_view(now, len(waiting), oldest, in_progress, window, day, formula)
                add_into(total_day[ch], day)
                add_into(total_window[ch], window)
                point = total_point[ch]
                point[0] += len(waiting)
                if oldest is not None and (point[1] is None or oldest < point[1]):
                    point[1] = oldest
                point[2] += in_progress
            queues[queue] = {"channels": channels, "agents": agents_by_queue.get(queue) or _zero_agents()}
        totals_channels = {
            ch: self._channel_view(now, total_point[ch][0], total_point[ch][1], total_point[ch][2],
                                   total_window[ch], total_day[ch], self.settings.channels[ch].sl_formula)
            for ch in CHANNELS
        }
        return {
            "as_of": self.days.iso(now),
            "timezone": self.settings.timezone,
            "window_s": self._window,
            "queues": queues,
            "totals": {"channels": totals_channels, "agents": agent_totals},
            "status": self.status(),
        }

    def _channel_view(self, now: int, waiting: int, oldest_ms: int | None, in_progress: int, window: Counters,
                      day: Counters, formula: str) -> dict[str, Any]:
        longest = None if oldest_ms is None else max(0.0, (now * 1000 - oldest_ms) / 1000)
        return {
            "waiting": waiting,
            "longest_wait_s": longest,
            "longest_wait_since": None if oldest_ms is None else self.days.iso_ms(oldest_ms),
            "in_progress": in_progress,
            "window": period_metrics(window, formula),
            "today": period_metrics(day, formula),
        }

    def status(self) -> dict[str, Any]:
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
        }

    def _visible_queues(self, today: Day, agents_by_queue: dict[str, dict[str, int]]) -> list[str]:
        names = set(self._day_queues.get(today.start, ()))
        names.update(q for q, _ in self._day_counts.get(today.start, {}))
        names.update(q for (q, _), w in self._waiting.items() if w)
        names.update(q for (q, _), n in self._in_progress.items() if n)
        names.update(agents_by_queue)
        names.update(self.settings.queues)
        return sorted(names)

    def _agent_counts(self) -> tuple[dict[str, dict[str, int]], dict[str, int]]:
        by_queue: dict[str, dict[str, int]] = {}
        totals = _zero_agents()
        for agent in self._agents.values():
            cur = agent.current
            if cur is None:
                continue
            state = cur[0]
            totals[state] += 1
            for queue in cur[2]:
                counts = by_queue.get(queue)
                if counts is None:
                    counts = by_queue[queue] = _zero_agents()
                counts[state] += 1
        return by_queue, totals

    def agents(self) -> dict[str, Any]:
        """Per-agent rows (metrics.md "Agent metrics") at the engine clock."""
        today = self.days.day_of(self._now)
        handled = self._handled.get(today.start, {})
        rows = []
        for agent_id in sorted(self._agents):
            cur = self._agents[agent_id].current
            if cur is None:
                continue
            state, since, queues, name, team = cur
            counts = handled.get(agent_id) or [0] * len(CHANNELS)
            rows.append({
                "agent_id": agent_id, "name": name, "team": team, "state": state,
                "since": self.days.iso_ms(since), "queues": list(queues),
                "handled_today": {ch: counts[i] for i, ch in enumerate(CHANNELS)},
            })
        return {"as_of": self.days.iso(self._now), "timezone": self.settings.timezone, "agents": rows,
                "totals": self._agent_counts()[1]}

    def intraday(self) -> dict[str, Any]:
        """Today's intervals, each with the period metrics, per queue and channel and in total."""
        now = self._now
        today = self.days.day_of(now)
        step = self._interval
        current = (now - today.start) // step
        per_interval = self._interval_counts.get(today.start, {})
        agents_by_queue, _ = self._agent_counts()
        starts = [today.start + i * step for i in range(current + 1)]
        intervals = [{"start": self.days.iso(s), "end": self.days.iso(min(s + step, today.end))} for s in starts]
        queues: dict[str, Any] = {}
        totals = {ch: [new_counters() for _ in starts] for ch in CHANNELS}
        for queue in self._visible_queues(today, agents_by_queue):
            channels: dict[str, Any] = {}
            for ch in CHANNELS:
                formula = self.settings.channel(queue, ch).sl_formula
                series = []
                for i in range(len(starts)):
                    counters = per_interval.get((queue, ch, i), EMPTY)
                    add_into(totals[ch][i], counters)
                    series.append(period_metrics(counters, formula))
                channels[ch] = series
            queues[queue] = {"channels": channels}
        return {
            "as_of": self.days.iso(now),
            "timezone": self.settings.timezone,
            "interval_s": step,
            "day_start": self.days.iso(today.start),
            "day_end": self.days.iso(today.end),
            "interval_count": today.interval_count(step),
            "intervals": intervals,
            "queues": queues,
            "totals": {"channels": {
                ch: [period_metrics(c, self.settings.channels[ch].sl_formula) for c in totals[ch]] for ch in CHANNELS
            }},
        }


def _zero_agents() -> dict[str, int]:
    return dict.fromkeys(AGENT_STATES, 0)

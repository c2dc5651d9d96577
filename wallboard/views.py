"""The views of metrics.md, shaped from the engine's counters: snapshot, selection, agents, intraday.

Why apart from the engine: ``wallboard.engine`` counts (winners per slot,
retractions, the window, the horizon) and answers what it holds; this module
only reads those counters at the engine clock and lays them out as the JSON
the API, the replay and the pages receive (``wallboard.wire``).  A change to
a view's shape is made here without touching the counting, and the counting
can change without touching the wire format.

Pure like the engine: no I/O, no clock of its own (the engine's ``now``), the
same result for the same engine state.  ``Engine.snapshot()`` and its
siblings are shorthands for these functions, so the live board, the replay
and the tests all go through here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wallboard.engine import Engine, zero_agents
from wallboard.events import CHANNELS
from wallboard.periods import EMPTY, Counters, add_into, new_counters, period_metrics
from wallboard.wire import (
    AgentCounts,
    AgentRow,
    AgentsView,
    ChannelView,
    Interval,
    Intraday,
    IntradaySeries,
    Period,
    QueueView,
    SelectionView,
    Snapshot,
)


def snapshot(engine: Engine) -> Snapshot:
    """The metrics.md snapshot at the engine clock."""
    now = engine.now
    days = engine.days
    settings = engine.settings
    today = days.day_of(now)
    agents_by_queue, agent_totals = engine.agent_counts()
    over_by_queue, over_totals = engine.over_limit_counts()
    queues: dict[str, QueueView] = {}
    total_day = {ch: new_counters() for ch in CHANNELS}
    total_window = {ch: new_counters() for ch in CHANNELS}
    total_point: dict[str, list[Any]] = {ch: [0, None, 0] for ch in CHANNELS}  # waiting, oldest, in progress
    for queue in engine.visible_queues(agents_by_queue):
        channels: dict[str, ChannelView] = {}
        for ch in CHANNELS:
            lane = engine.lane(queue, ch)
            formula = settings.channel(queue, ch).sl_formula
            if lane is None:
                channels[ch] = channel_view(engine, 0, None, 0, EMPTY, EMPTY, formula)
                continue
            waiting = lane.waiting
            oldest = min(waiting.values()) if waiting else None
            day = lane.days.get(today.start, EMPTY)
            channels[ch] = channel_view(engine, len(waiting), oldest, lane.in_progress, lane.window, day, formula)
            add_into(total_day[ch], day)
            add_into(total_window[ch], lane.window)
            point = total_point[ch]
            point[0] += len(waiting)
            if oldest is not None and (point[1] is None or oldest < point[1]):
                point[1] = oldest
            point[2] += lane.in_progress
        queues[queue] = {
            "channels": channels,
            "agents": agents_by_queue.get(queue) or zero_agents(),
            "agents_over_limit": over_by_queue.get(queue) or engine.zero_over_limit(),
        }
    totals_channels = {
        ch: channel_view(
            engine,
            total_point[ch][0],
            total_point[ch][1],
            total_point[ch][2],
            total_window[ch],
            total_day[ch],
            settings.channels[ch].sl_formula,
        )
        for ch in CHANNELS
    }
    return {
        "as_of": days.iso(now),
        "timezone": settings.timezone,
        "window_s": settings.window,
        "queues": queues,
        "groups": groups(engine),
        "totals": {"channels": totals_channels, "agents": agent_totals, "agents_over_limit": over_totals},
        "status": engine.status(),
    }


def groups(engine: Engine) -> dict[str, SelectionView]:
    """The configured groups (``[groups."NAME"] queues = [...]``), each its queues added up as a selection.

    A group is a named selection: its numbers come from the summed counters
    of its queues (``selection``), never from the queues' ratios.
    """
    groups = engine.settings.groups
    return dict(zip(groups, selections(engine, [group.queues for group in groups.values()]), strict=True))


def selection(engine: Engine, queues: Sequence[str]) -> SelectionView:
    """Some queues added up, as the snapshot's ``totals`` add up all of them (a TV showing a selection).

    ``queues``: the names asked for.  Those the snapshot lists are summed
    (``queues``, in the order asked), the others are named in ``missing``.
    Every number comes from the summed counters, never from averaged
    ratios; the service level uses the one queue's formula when one is
    found, else the channel's (``MetricSettings.for_queues``); the longest
    wait is the oldest among the queues; an agent serving several of them
    counts once.  ``channels``, ``agents`` and ``agents_over_limit`` are None when no queue is found.
    """
    return selections(engine, [queues])[0]


def selections(engine: Engine, many: Sequence[Sequence[str]]) -> list[SelectionView]:
    """``selection`` of each list of queues in ``many``, the agents counted in one pass for all of them.

    (A board of fifteen rows, or the groups: one pass over the agents rather than one per row.)
    """
    today = engine.days.day_of(engine.now)
    visible = engine.visible_set()
    out: list[SelectionView] = []
    rows_of_queue: dict[str, list[int]] = {}
    counts: list[tuple[AgentCounts, AgentCounts]] = []
    for index, queues in enumerate(many):
        asked = list(dict.fromkeys(queues))
        found = [q for q in asked if q in visible]
        missing = [q for q in asked if q not in visible]
        if not found:
            out.append(
                {"queues": found, "missing": missing, "channels": None, "agents": None, "agents_over_limit": None}
            )
            counts.append(({}, {}))
            continue
        channels: dict[str, ChannelView] = {}
        for ch in CHANNELS:
            day = new_counters()
            window = new_counters()
            waiting = in_progress = 0
            oldest: int | None = None
            for queue in found:
                lane = engine.lane(queue, ch)
                if lane is None:
                    continue
                add_into(day, lane.days.get(today.start, EMPTY))
                add_into(window, lane.window)
                waiting += len(lane.waiting)
                if lane.waiting:
                    first = min(lane.waiting.values())
                    if oldest is None or first < oldest:
                        oldest = first
                in_progress += lane.in_progress
            formula = engine.settings.for_queues(found, ch).sl_formula
            channels[ch] = channel_view(engine, waiting, oldest, in_progress, window, day, formula)
        agents = zero_agents()
        over = engine.zero_over_limit()
        out.append(
            {"queues": found, "missing": missing, "channels": channels, "agents": agents, "agents_over_limit": over}
        )
        counts.append((agents, over))
        for queue in found:
            rows_of_queue.setdefault(queue, []).append(index)
    if rows_of_queue:
        for _, cur in engine.current_agents():
            hit: set[int] = set()
            for queue in cur[2]:
                rows = rows_of_queue.get(queue)
                if rows is not None:
                    hit.update(rows)
            over_now: bool | None = None  # asked once per agent, and only of one some selection counts
            for index in hit:  # an agent serving several queues of one selection counts once in it
                agents, over = counts[index]
                agents[cur[0]] += 1
                if over:
                    if over_now is None:
                        over_now = engine.is_over_limit(cur)
                    if over_now:
                        over[cur[0]] += 1
    return out


def channel_view(
    engine: Engine,
    waiting: int,
    oldest_ms: int | None,
    in_progress: int,
    window: Counters,
    day: Counters,
    formula: str,
) -> ChannelView:
    """One queue's (or a sum's) channel at the engine clock: point-in-time figures and both periods."""
    now = engine.now
    longest = None if oldest_ms is None else max(0.0, (now * 1000 - oldest_ms) / 1000)
    return {
        "waiting": waiting,
        "longest_wait_s": longest,
        "longest_wait_since": None if oldest_ms is None else engine.days.iso_ms(oldest_ms),
        "in_progress": in_progress,
        "window": period_metrics(window, formula),
        "today": period_metrics(day, formula),
    }


def agents(engine: Engine) -> AgentsView:
    """Per-agent rows (metrics.md "Agent metrics") at the engine clock, by agent id."""
    days = engine.days
    today = days.day_of(engine.now)
    handled = engine.handled_on(today.start)
    rows: list[AgentRow] = []
    totals = zero_agents()
    over = engine.zero_over_limit()
    for agent_id, cur in sorted(engine.current_agents()):
        state, since, queues, name, team, reason = cur
        totals[state] += 1
        counts = handled.get(agent_id) or [0] * len(CHANNELS)
        limit_ms = engine.agent_limit_ms(state, reason)
        over_limit = engine.is_over_limit(cur)
        if over_limit:
            over[state] += 1
        rows.append(
            {
                "agent_id": agent_id,
                "name": name,
                "team": team,
                "state": state,
                "reason": reason,
                "since": days.iso_ms(since),
                "limit_s": limit_ms // 1000 if limit_ms else None,
                "over_limit": over_limit,
                "queues": list(queues),
                "handled_today": {ch: counts[i] for i, ch in enumerate(CHANNELS)},
            }
        )
    return {
        "as_of": days.iso(engine.now),
        "timezone": engine.settings.timezone,
        "agents": rows,
        "totals": totals,
        "agents_over_limit": over,
    }


def intraday(engine: Engine) -> Intraday:
    """Today's intervals, each with the period metrics, per queue and channel and in total."""
    now = engine.now
    days = engine.days
    settings = engine.settings
    today = days.day_of(now)
    step = settings.interval
    current = (now - today.start) // step
    starts = [today.start + i * step for i in range(current + 1)]
    intervals: list[Interval] = [{"start": days.iso(s), "end": days.iso(min(s + step, today.end))} for s in starts]
    queues: dict[str, IntradaySeries] = {}
    totals = {ch: [new_counters() for _ in starts] for ch in CHANNELS}
    for queue in engine.visible_queues():
        series_by_channel: dict[str, list[Period]] = {}
        for ch in CHANNELS:
            formula = settings.channel(queue, ch).sl_formula
            lane = engine.lane(queue, ch)
            series: list[Period] = []
            for i, start in enumerate(starts):
                counters = lane.intervals.get(start, EMPTY) if lane is not None else EMPTY
                add_into(totals[ch][i], counters)
                series.append(period_metrics(counters, formula))
            series_by_channel[ch] = series
        queues[queue] = {"channels": series_by_channel}
    return {
        "as_of": days.iso(now),
        "timezone": settings.timezone,
        "interval_s": step,
        "day_start": days.iso(today.start),
        "day_end": days.iso(today.end),
        "interval_count": today.interval_count(step),
        "intervals": intervals,
        "queues": queues,
        "totals": {
            "channels": {
                ch: [period_metrics(c, settings.channels[ch].sl_formula) for c in totals[ch]] for ch in CHANNELS
            }
        },
    }

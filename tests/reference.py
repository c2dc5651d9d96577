"""A second, brute-force calculation of metrics.md, written independently of the engine.

It takes the whole set of events at once and computes every number straight
from the definitions (floats, no incremental state, no retraction), so that
tests can compare the engine's incremental answer against it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from wallboard.events import AgentStateEvent, InteractionEvent
from wallboard.settings import MetricSettings

STATES = ("available", "busy", "wrap_up", "break", "offline")


def local_midnight(at_s: int, zone: ZoneInfo) -> int:
    d = datetime.fromtimestamp(at_s, zone).date()
    # The first second whose local date is d, found by scanning back from at_s (slow and obviously right).
    lo, hi = at_s - 26 * 3600, at_s
    while lo < hi:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).date() >= d:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _winner(events: list[Any]) -> Any:
    return min(events, key=lambda e: (e.ts_ms, e.event_id)) if events else None


def reference(events: list[Any], settings: MetricSettings, at_s: int) -> dict[str, Any]:
    """Snapshot-shaped dict of the numbers (no status), from the set of events with ts <= at_s."""
    zone = settings.zone
    midnight = local_midnight(at_s, zone)
    visible = {e for e in events if e.ts_ms // 1000 <= at_s}
    by_interaction: dict[tuple[str, str], dict[str, list[InteractionEvent]]] = defaultdict(lambda: defaultdict(list))
    queues_seen: set[str] = set()
    for e in visible:
        if isinstance(e, InteractionEvent):
            slot = "outcome" if e.phase in ("answered", "abandoned") else e.phase
            by_interaction[(e.channel, e.interaction_id)][slot].append(e)
            if e.ts_ms // 1000 >= midnight:
                queues_seen.add(e.queue)

    def in_window(ts_ms: int) -> bool:
        return at_s - settings.window < ts_ms // 1000 <= at_s

    def in_today(ts_ms: int) -> bool:
        return midnight <= ts_ms // 1000 <= at_s

    periods: dict[tuple[str, str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    waiting: dict[tuple[str, str], list[int]] = defaultdict(list)
    in_progress: dict[tuple[str, str], int] = defaultdict(int)
    handled: dict[str, dict[str, int]] = defaultdict(lambda: {"call": 0, "sms": 0})

    def count(queue: str, channel: str, ts_ms: int, **values: float) -> None:
        for period, inside in (("window", in_window(ts_ms)), ("today", in_today(ts_ms))):
            if inside:
                for name, v in values.items():
                    periods[(queue, channel, period)][name] += v

    for (channel, _iid), slots in by_interaction.items():
        offered = _winner(slots["offered"])
        outcome = _winner(slots["outcome"])
        completed = _winner(slots["completed"])
        if offered is None:
            continue
        queue = offered.queue
        cs = settings.channel(queue, channel)
        count(queue, channel, offered.ts_ms, offered=1)
        if outcome is None:
            waiting[(queue, channel)].append(offered.ts_ms)
            continue
        wait = max(0.0, (outcome.ts_ms - offered.ts_ms) / 1000)
        if outcome.phase == "answered":
            count(queue, channel, outcome.ts_ms, answered=1, answered_in_sl=int(wait <= cs.sl_threshold), wait_sum=wait)
            if in_today(outcome.ts_ms):
                handled[outcome.agent_id][channel] += 1
            if completed is None:
                in_progress[(queue, channel)] += 1
            else:
                handle = max(0.0, (completed.ts_ms - outcome.ts_ms) / 1000)
                count(queue, channel, completed.ts_ms, completed=1, handle_sum=handle)
        else:
            short = wait < cs.short_abandon
            count(
                queue,
                channel,
                outcome.ts_ms,
                abandoned=1,
                short_abandoned=int(short),
                abandoned_in_sl=int(not short and wait <= cs.sl_threshold),
            )

    agents = reference_agents(events, at_s, settings)
    for row in agents.values():
        queues_seen.update(row["queues"])
    queues_seen.update(q for q, _ in waiting)
    queues_seen.update(q for (q, _), n in in_progress.items() if n)
    queues_seen.update(settings.named_queues)

    def metrics(p: dict[str, float], formula: str) -> dict[str, Any]:
        ans, ab, short = p["answered"], p["abandoned"], p["short_abandoned"]
        den = ans + ab - short
        if formula == "abandons_negative":
            sl = p["answered_in_sl"] / den if den else None
        elif formula == "abandons_ignored":
            d2 = den - p["abandoned_in_sl"]
            sl = p["answered_in_sl"] / d2 if d2 else None
        else:
            sl = (p["answered_in_sl"] + p["abandoned_in_sl"]) / den if den else None
        return {
            "offered": p["offered"],
            "answered": ans,
            "abandoned": ab,
            "short_abandoned": short,
            "answered_in_sl": p["answered_in_sl"],
            "abandoned_in_sl": p["abandoned_in_sl"],
            "completed": p["completed"],
            "service_level": sl,
            "asa_s": p["wait_sum"] / ans if ans else None,
            "aht_s": p["handle_sum"] / p["completed"] if p["completed"] else None,
            "abandon_rate": (ab - short) / den if den else None,
        }

    def channel_view(qs: list[str], channel: str, formula: str) -> dict[str, Any]:
        waits = [w for q in qs for w in waiting.get((q, channel), [])]
        view: dict[str, Any] = {
            "waiting": len(waits),
            "longest_wait_s": max(0.0, at_s - min(waits) / 1000) if waits else None,
            "in_progress": sum(in_progress.get((q, channel), 0) for q in qs),
        }
        for period in ("window", "today"):
            total: dict[str, float] = defaultdict(float)
            for q in qs:
                for k, v in periods.get((q, channel, period), {}).items():
                    total[k] += v
            view[period] = metrics(total, formula)
        return view

    def agent_counts(rows: list[dict[str, Any]]) -> dict[str, int]:
        return {s: sum(1 for r in rows if r["state"] == s) for s in STATES}

    def over_limit(rows: list[dict[str, Any]]) -> dict[str, int]:
        return {s: sum(1 for r in rows if r["state"] == s and r["over_limit"]) for s in settings.limited_states()}

    out_queues = {}
    for q in sorted(queues_seen):
        out_queues[q] = {
            "channels": {ch: channel_view([q], ch, settings.channel(q, ch).sl_formula) for ch in ("call", "sms")},
            "agents": agent_counts([r for r in agents.values() if q in r["queues"]]),
            "agents_over_limit": over_limit([r for r in agents.values() if q in r["queues"]]),
        }
    return {
        "queues": out_queues,
        "totals": {
            "channels": {
                ch: channel_view(sorted(queues_seen), ch, settings.channels[ch].sl_formula) for ch in ("call", "sms")
            },
            "agents": agent_counts(list(agents.values())),
            "agents_over_limit": over_limit(list(agents.values())),
        },
        "groups": {
            name: {
                "channels": {
                    ch: channel_view(list(g.queues), ch, settings.for_queues(g.queues, ch).sl_formula)
                    for ch in ("call", "sms")
                },
                "agents": agent_counts([r for r in agents.values() if set(r["queues"]) & set(g.queues)]),
                "agents_over_limit": over_limit([r for r in agents.values() if set(r["queues"]) & set(g.queues)]),
            }
            for name, g in settings.groups.items()
        },
        "handled_today": {a: dict(v) for a, v in handled.items()},
        "agents": agents,
    }


def reference_agents(events: list[Any], at_s: int, settings: MetricSettings) -> dict[str, dict[str, Any]]:
    per_agent: dict[str, list[AgentStateEvent]] = defaultdict(list)
    for e in set(events):
        if isinstance(e, AgentStateEvent) and e.ts_ms // 1000 <= at_s:
            per_agent[e.agent_id].append(e)
    rows = {}
    for agent_id, evs in per_agent.items():
        evs.sort(key=lambda e: (e.ts_ms, e.event_id))
        last = evs[-1]
        since = last.ts_ms
        for e in reversed(evs):
            if e.state != last.state:
                break
            since = e.ts_ms
        names = [e.name for e in evs if e.name is not None]
        teams = [e.team for e in evs if e.team is not None]
        limit = settings.agent_limit(last.state, last.reason)
        rows[agent_id] = {
            "state": last.state,
            "reason": last.reason,
            "limit_s": limit or None,
            "over_limit": limit > 0 and at_s * 1000 - since > limit * 1000,
            "since_ms": since,
            "queues": list(last.queues),
            "name": names[-1] if names else None,
            "team": teams[-1] if teams else None,
        }
    return rows


def day_bounds(at_s: int, zone: ZoneInfo) -> tuple[int, int]:
    start = local_midnight(at_s, zone)
    return start, _next_midnight(start, zone)


def _next_midnight(start: int, zone: ZoneInfo) -> int:
    d = datetime.fromtimestamp(start, zone).date() + timedelta(days=1)
    probe = start + 22 * 3600
    while datetime.fromtimestamp(probe, zone).date() < d:
        probe += 60
    while datetime.fromtimestamp(probe - 1, zone).date() >= d:
        probe -= 1
    return probe

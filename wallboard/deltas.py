"""Pure: the changes from one agents or intraday view to the next, and applying them (docs/protocol.md "Deltas").

A supervisor's page gets the full ``agents`` and ``intraday`` views once, then
only what changed each tick: at the bank's size the full views are some 680 KB
a second for each supervisor, the changes a few KB.  ``agents_delta`` and
``intraday_delta`` compute them from the previous view and the new one;
``apply_agents_delta`` and ``apply_intraday_delta`` give the new view back
from the previous one and the changes (the page does the same in JavaScript;
tests/test_deltas.py checks that applying the changes in order always gives
the full view).

Row and period comparisons are generic over their fields: a field added to
``AgentRow`` or ``Period`` travels in the changes without a change here.
"""

from __future__ import annotations

from wallboard.wire import AgentRow, AgentsDelta, AgentsView, Intraday, IntradayDelta, IntradaySeries, Period

DELTA_VIEWS = ("agents", "intraday")
"""The views sent as changes to the clients that ask for them (``/ws?...&deltas=1``)."""


def agents_delta(old: AgentsView, new: AgentsView) -> AgentsDelta:
    """The rows of ``new`` that are not in ``old`` as they are, and the ids of ``old`` gone from ``new``."""
    before = {row["agent_id"]: row for row in old["agents"]}
    upserts: list[AgentRow] = []
    for row in new["agents"]:
        if before.pop(row["agent_id"], None) != row:
            upserts.append(row)
    return {
        "as_of": new["as_of"],
        "timezone": new["timezone"],
        "upserts": upserts,
        "removed": list(before),
        "totals": new["totals"],
        "agents_over_limit": new["agents_over_limit"],
    }


def apply_agents_delta(view: AgentsView, delta: AgentsDelta) -> AgentsView:
    """The view ``delta`` was made from ``view`` to (rows by agent id, as the view lists them)."""
    rows = {row["agent_id"]: row for row in view["agents"]}
    for agent_id in delta["removed"]:
        rows.pop(agent_id, None)
    for row in delta["upserts"]:
        rows[row["agent_id"]] = row
    return {
        "as_of": delta["as_of"],
        "timezone": delta["timezone"],
        "agents": [rows[k] for k in sorted(rows)],
        "totals": delta["totals"],
        "agents_over_limit": delta["agents_over_limit"],
    }


def _changed(old: list[Period] | None, new: list[Period]) -> dict[str, Period]:
    """The periods of ``new`` that differ from ``old``'s (all of them for a new series), by index."""
    old = old or []
    return {str(i): p for i, p in enumerate(new) if i >= len(old) or old[i] != p}


def intraday_delta(old: Intraday, new: Intraday) -> IntradayDelta | None:
    """The intervals of ``new`` that are new or changed since ``old``; None when only the full view will do.

    None when the day's frame changed (a new day, another time zone or interval length) or the
    intervals ``old`` had are not the first ones of ``new`` (the day starts over).
    """
    frame = ("timezone", "interval_s", "day_start", "day_end", "interval_count")
    if any(old.get(key) != new.get(key) for key in frame):
        return None
    known = len(old["intervals"])
    if new["intervals"][:known] != old["intervals"]:
        return None
    queues: dict[str, dict[str, dict[str, Period]]] = {}
    for queue, series in new["queues"].items():
        before = old["queues"].get(queue)
        per_channel: dict[str, dict[str, Period]] = {}
        for ch, periods in series["channels"].items():
            changed = _changed(before["channels"].get(ch) if before is not None else None, periods)
            if changed or before is None:
                per_channel[ch] = changed
        if per_channel:
            queues[queue] = per_channel
    totals: dict[str, dict[str, Period]] = {}
    for ch, periods in new["totals"]["channels"].items():
        changed = _changed(old["totals"]["channels"].get(ch), periods)
        if changed:
            totals[ch] = changed
    return {
        "as_of": new["as_of"],
        "day_start": new["day_start"],
        "intervals_from": known,
        "intervals": new["intervals"][known:],
        "queue_order": list(new["queues"]),
        "queues": queues,
        "totals": totals,
    }


def _patched(series: IntradaySeries | None, changes: dict[str, dict[str, Period]], count: int) -> IntradaySeries:
    channels: dict[str, list[Period]] = {}
    before = series["channels"] if series is not None else {}
    for ch in dict.fromkeys([*before, *changes]):
        periods = list(before.get(ch, []))
        for index, period in changes.get(ch, {}).items():
            i = int(index)
            if i < len(periods):
                periods[i] = period
            elif i == len(periods):
                periods.append(period)
            else:
                raise ValueError(f"channel {ch}: interval {i} comes before interval {len(periods)}")
        if len(periods) != count:
            raise ValueError(f"channel {ch}: {len(periods)} periods after the changes, the day has {count} so far")
        channels[ch] = periods
    return {"channels": channels}


def apply_intraday_delta(view: Intraday, delta: IntradayDelta) -> Intraday:
    """The view ``delta`` was made from ``view`` to; ValueError when it was not made from this day's view."""
    if delta["day_start"] != view["day_start"] or delta["intervals_from"] != len(view["intervals"]):
        raise ValueError("these changes are of another intraday view")
    intervals = view["intervals"] + delta["intervals"]
    count = len(intervals)
    queues = {q: _patched(view["queues"].get(q), delta["queues"].get(q, {}), count) for q in delta["queue_order"]}
    totals = _patched(view["totals"], delta["totals"], count)
    return {**view, "as_of": delta["as_of"], "intervals": intervals, "queues": queues, "totals": totals}

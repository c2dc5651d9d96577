"""wallboard/deltas.py: applying the deltas in order to the first full view always gives the full view.

Properties over generated sequences of views (agents appearing, changing and going; intervals changing
and being added, queues coming and going, new days), and the same over the real engine's views through
a day's turnover.  Every delta also goes through JSON as the wire carries it.
"""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import make_settings
from wallboard.deltas import agents_delta, apply_agents_delta, apply_intraday_delta, intraday_delta
from wallboard.engine import Engine
from wallboard.events import parse


def wire(obj: Any) -> Any:
    return orjson.loads(orjson.dumps(obj))


# ------------------------------------------------------------------ agents

IDS = ["a1", "a2", "a3", "b1", "b2", "信用卡-7", "__proto__"]

rows = st.fixed_dictionaries(
    {
        "name": st.sampled_from([None, "Li Lei", "Han Meimei"]),
        "team": st.sampled_from([None, "T1", "T2"]),
        "state": st.sampled_from(["available", "busy", "wrap_up", "break", "offline"]),
        "since": st.sampled_from(["2026-11-30T08:00:00.000+08:00", "2026-11-30T08:01:00.500+08:00"]),
        "queues": st.lists(st.sampled_from(["q1", "q2"]), max_size=2, unique=True),
        "handled_today": st.fixed_dictionaries({"call": st.integers(0, 3), "sms": st.integers(0, 2)}),
        "reason": st.sampled_from([None, "lunch"]),  # any field travels: the deltas are generic over them
    }
)
agent_states = st.dictionaries(st.sampled_from(IDS), rows, max_size=len(IDS))


def agents_view(state: dict[str, dict[str, Any]], n: int) -> Any:
    counts = {s: 0 for s in ("available", "busy", "wrap_up", "break", "offline")}
    for row in state.values():
        counts[row["state"]] += 1
    return {
        "as_of": f"2026-11-30T08:{n // 60:02d}:{n % 60:02d}+08:00",
        "timezone": "Asia/Shanghai",
        "agents": [{"agent_id": k, **state[k]} for k in sorted(state)],
        "totals": counts,
        "agents_over_limit": {"break": n % 3},  # changes with the clock alone: it travels in every delta
    }


@given(st.lists(agent_states, min_size=1, max_size=8))
def test_agents_deltas_in_order_give_every_full_view(states: list[dict[str, dict[str, Any]]]) -> None:
    views = [agents_view(s, n) for n, s in enumerate(states)]
    shown = wire(views[0])
    for old, new in itertools.pairwise(views):
        delta = wire(agents_delta(old, new))
        before = {r["agent_id"]: r for r in old["agents"]}
        # Only what changed travels: the new and changed rows, and the ids gone.
        assert sorted(r["agent_id"] for r in delta["upserts"]) == sorted(
            r["agent_id"] for r in new["agents"] if before.get(r["agent_id"]) != r
        )
        assert sorted(delta["removed"]) == sorted(set(before) - {r["agent_id"] for r in new["agents"]})
        shown = apply_agents_delta(shown, delta)
        assert shown == new


def test_an_unchanged_agent_list_is_an_empty_delta() -> None:
    view = agents_view({"a1": {"state": "busy", "queues": ["q1"]}}, 0)
    later: Any = dict(view, as_of="later")
    delta = agents_delta(view, later)
    assert delta["upserts"] == [] and delta["removed"] == [] and delta["as_of"] == "later"


# ---------------------------------------------------------------- intraday


def intraday_view(day: int, intervals: int, queues: dict[str, list[int]], n: int) -> Any:
    """A day's view with ``intervals`` intervals; each queue's call and sms periods from its numbers."""

    def period(x: int) -> dict[str, Any]:
        return {"offered": x, "answered": x // 2, "service_level": None if x == 0 else x / 10}

    def series(values: list[int]) -> dict[str, Any]:
        vals = (values + [0] * intervals)[:intervals]
        return {"channels": {"call": [period(v) for v in vals], "sms": [period(v * 2) for v in vals]}}

    total = [sum((v + [0] * intervals)[i] for v in queues.values()) for i in range(intervals)]
    return {
        "as_of": f"as of {n}",
        "timezone": "Asia/Shanghai",
        "interval_s": 900,
        "day_start": f"day {day}",
        "day_end": f"day {day + 1}",
        "interval_count": 96,
        "intervals": [{"start": f"{day}.{i}", "end": f"{day}.{i + 1}"} for i in range(intervals)],
        "queues": {q: series(queues[q]) for q in sorted(queues)},
        "totals": series(total),
    }


steps = st.lists(
    st.tuples(
        st.sampled_from(["same", "change", "interval", "queues", "day"]),
        st.dictionaries(st.sampled_from(["q1", "q2", "信用卡"]), st.lists(st.integers(0, 3), max_size=4)),
    ),
    min_size=1,
    max_size=10,
)


@given(steps)
def test_intraday_deltas_in_order_give_every_full_view(plan: list[tuple[str, dict[str, list[int]]]]) -> None:
    day, intervals = 0, 1
    queues: dict[str, list[int]] = {"q1": [1]}
    views = [intraday_view(day, intervals, queues, 0)]
    for n, (step, values) in enumerate(plan, start=1):
        if step == "change":
            queues = {q: values.get(q, v) for q, v in queues.items()}
        elif step == "interval":
            intervals += 1
        elif step == "queues":
            queues = values
        elif step == "day":
            day, intervals, queues = day + 1, 1, values
        views.append(intraday_view(day, intervals, queues, n))
    shown = wire(views[0])
    for old, new in itertools.pairwise(views):
        delta = intraday_delta(old, new)
        if old["day_start"] != new["day_start"]:
            assert delta is None  # a new day: the full view
            shown = wire(new)
            continue
        assert delta is not None
        shown = apply_intraday_delta(shown, wire(delta))
        assert shown == new


def test_unchanged_intervals_do_not_travel() -> None:
    old = intraday_view(0, 3, {"q1": [1, 2, 3], "q2": [0, 0, 1]}, 0)
    new = intraday_view(0, 4, {"q1": [1, 2, 4, 1], "q2": [0, 0, 1]}, 1)
    delta = intraday_delta(old, new)
    assert delta is not None
    assert delta["intervals_from"] == 3 and [i["start"] for i in delta["intervals"]] == ["0.3"]
    assert {q: {ch: sorted(p) for ch, p in per.items()} for q, per in delta["queues"].items()} == {
        "q1": {"call": ["2", "3"], "sms": ["2", "3"]},
        "q2": {"call": ["3"], "sms": ["3"]},
    }
    assert delta["queue_order"] == ["q1", "q2"]


def test_intervals_that_start_over_are_sent_in_full() -> None:
    old = intraday_view(0, 3, {"q1": [1]}, 0)
    new = intraday_view(0, 3, {"q1": [1]}, 1)
    new["intervals"][0] = {"start": "other", "end": "other"}
    assert intraday_delta(old, new) is None


def test_a_delta_of_another_view_is_refused() -> None:
    one = intraday_view(0, 2, {"q1": [1, 2]}, 0)
    two = intraday_view(0, 3, {"q1": [1, 2, 3]}, 1)
    delta = intraday_delta(one, two)
    assert delta is not None
    with pytest.raises(ValueError, match="another intraday view"):
        apply_intraday_delta(two, delta)  # applied twice
    with pytest.raises(ValueError, match="another intraday view"):
        apply_intraday_delta(intraday_view(1, 2, {"q1": [1, 2]}, 0), delta)  # another day
    gap = wire(delta)
    gap["queues"]["q1"]["call"] = {"3": gap["queues"]["q1"]["call"]["2"]}  # interval 2 missing
    with pytest.raises(ValueError, match="interval 3 comes before interval 2"):
        apply_intraday_delta(one, gap)
    short = wire(delta)
    del short["queues"]["q1"]["sms"]["2"]
    with pytest.raises(ValueError, match="2 periods after the changes, the day has 3"):
        apply_intraday_delta(one, short)


# --------------------------------------------------------- the real engine


def event(kind: str, ts: int, **fields: Any) -> Any:
    ev = parse(orjson.dumps({"type": kind, "event_id": f"{kind}-{ts}-{fields}", "ts": ts * 1000, **fields}))
    return ev


def test_the_engines_views_through_a_day_turnover() -> None:
    """Agents coming and changing, calls in several intervals, and midnight: deltas, then a full new day."""
    settings = make_settings().metrics
    midnight = 1_796_054_400  # 2026-12-01T00:00:00+08:00
    start = midnight - 2 * 900 - 300
    engine = Engine(settings, start)
    agents_seen = [engine.agents()]
    intraday_seen = [engine.intraday()]
    for step in range(12):
        t = start + step * 240
        engine.apply(
            event(
                "agent.state",
                t,
                agent_id=f"a{step % 4}",
                state=["busy", "available"][step % 2],
                queues=["q1"] if step % 3 else ["q1", "q2"],
                name=f"Agent {step % 4}",
            )
        )
        engine.apply(event("call.offered", t, interaction_id=f"c{step}", queue=["q1", "q2"][step % 2]))
        if step % 2:
            engine.apply(event("call.answered", t + 10, interaction_id=f"c{step - 1}", queue="q1", agent_id="a1"))
        engine.advance(t + 30)
        agents_seen.append(engine.agents())
        intraday_seen.append(engine.intraday())
    assert intraday_seen[0]["day_start"] != intraday_seen[-1]["day_start"], "the day turned over"
    shown_agents = wire(agents_seen[0])
    for a_old, a_new in itertools.pairwise(agents_seen):
        shown_agents = apply_agents_delta(shown_agents, wire(agents_delta(a_old, a_new)))
        assert shown_agents == wire(a_new)
    shown = wire(intraday_seen[0])
    fulls = 0
    for old, new in itertools.pairwise(intraday_seen):
        delta = intraday_delta(old, new)
        if delta is None:
            fulls += 1
            shown = wire(new)
        else:
            shown = apply_intraday_delta(shown, wire(delta))
        assert shown == wire(new)
    assert fulls == 1, "only the new day is sent in full"

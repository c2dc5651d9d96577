"""What producers can make the board hold (docs/events.md "Limits"): an event that would make the engine hold
one queue or one agent more than ``[limits]`` allows is refused whole, counted by its reason, and changes
nothing else; the queues and agents already held keep every number, whatever the order of events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import make_settings
from wallboard.engine import Engine
from wallboard.events import AgentStateEvent, Event, InteractionEvent
from wallboard.ingest import ingest
from wallboard.replay import replay
from wallboard.sources.base import RawMessage

T0 = 1_796_000_000  # 2026-11-30T08:53:20+08:00


def limited(queues: int = 3, agents: int = 2, **more: Any) -> Engine:
    return Engine(make_settings(limits={"max_queues": queues, "max_agents": agents}, **more).metrics, T0 - 3600)


def unlimited() -> Engine:
    return Engine(make_settings().metrics, T0 - 3600)


def call(phase: str, iid: str, queue: str, ts_s: int, agent: str = "A1") -> InteractionEvent:
    who = agent if phase in ("answered", "completed") else None
    return InteractionEvent(f"{phase}-{iid}", ts_s * 1000, "call", phase, iid, queue, who)


def state(agent: str, st_: str, queues: tuple[str, ...], ts_s: int, eid: str | None = None) -> AgentStateEvent:
    return AgentStateEvent(eid or f"{agent}-{ts_s}", ts_s * 1000, agent, st_, queues, None, None)


def test_a_queue_beyond_max_queues_is_refused_and_the_others_go_on() -> None:
    engine = limited(queues=3)
    for i, q in enumerate(["a", "b", "c"]):
        assert engine.apply(call("offered", f"i{i}", q, T0 - 60)) is None
    assert engine.apply(call("offered", "i9", "d", T0 - 50)) == "too_many_queues"
    assert engine.apply(state("A1", "busy", ("a", "d"), T0 - 40)) == "too_many_queues"  # refused whole
    assert engine.apply(call("offered", "i4", "a", T0 - 30)) is None  # the queues held go on
    engine.advance(T0)
    snap = engine.snapshot()
    assert list(snap["queues"]) == ["a", "b", "c"]
    assert snap["queues"]["a"]["channels"]["call"]["today"]["offered"] == 2
    assert snap["queues"]["a"]["agents"] == {"available": 0, "busy": 0, "wrap_up": 0, "break": 0, "offline": 0}
    assert snap["status"]["rejected"] == {"too_many_queues": 2}
    assert snap["status"]["events"] == 4
    assert snap["status"]["held_queues"] == 3
    assert "[limits] max_queues is 3" in engine.refusal_detail("too_many_queues")


def test_an_agent_beyond_max_agents_is_refused_and_the_others_go_on() -> None:
    engine = limited(agents=2)
    assert engine.apply(state("A1", "available", ("a",), T0 - 60)) is None
    assert engine.apply(state("A2", "available", ("a",), T0 - 60)) is None
    assert engine.apply(state("A3", "available", ("a",), T0 - 50)) == "too_many_agents"
    assert engine.apply(state("A1", "busy", ("a",), T0 - 40)) is None
    engine.advance(T0)
    assert [(r["agent_id"], r["state"]) for r in engine.agents()["agents"]] == [("A1", "busy"), ("A2", "available")]
    assert engine.snapshot()["queues"]["a"]["agents"]["busy"] == 1
    assert engine.status()["rejected"] == {"too_many_agents": 1}
    assert engine.status()["held_agents"] == 2
    assert "[limits] max_agents is 2" in engine.refusal_detail("too_many_agents")


def test_an_agent_held_keeps_its_state_when_its_new_queue_list_is_refused() -> None:
    """Never a shortened value: the list is taken whole or not at all, and the refusal changes nothing."""
    engine = limited(queues=2)
    engine.apply(state("A1", "available", ("a",), T0 - 60))
    assert engine.apply(state("A1", "busy", ("a", "b", "c"), T0 - 30)) == "too_many_queues"
    engine.advance(T0)
    (row,) = engine.agents()["agents"]
    assert (row["state"], row["queues"]) == ("available", ["a"])
    assert engine.status()["held_queues"] == 1  # not one of the refused list's names took a place


def test_the_settings_queues_are_held_from_the_start() -> None:
    settings = make_settings(limits={"max_queues": 2}, queues={"vip": {"call": {"sl_threshold": 10}}})
    engine = Engine(settings.metrics, T0)
    assert engine.status()["held_queues"] == 1
    assert engine.apply(call("offered", "i1", "a", T0)) is None
    assert engine.apply(call("offered", "i2", "b", T0)) == "too_many_queues"
    assert engine.apply(call("offered", "i3", "vip", T0)) is None


def test_an_event_held_for_the_future_takes_its_place_when_it_arrives() -> None:
    engine = limited(queues=1)
    assert engine.apply(call("offered", "i1", "later", T0 + 600)) is None  # held until the clock gets there
    assert engine.apply(call("offered", "i2", "now", T0 - 60)) == "too_many_queues"
    engine.advance(T0 + 601)
    assert list(engine.snapshot()["queues"]) == ["later"]


# ----------------------------------------------------------------- any order


def stream() -> st.SearchStrategy[list[Event]]:
    """Calls and agent states over 6 queues and 4 agents (more than the limits below), any order."""
    queues = st.sampled_from(["q0", "q1", "q2", "q3", "q4", "q5"])
    one_call = st.builds(
        lambda iid, q, ts, phase: call(phase, f"c{iid}", q, T0 - 900 + ts, "A1"),
        st.integers(0, 8),
        queues,
        st.integers(0, 800),
        st.sampled_from(["offered", "answered", "abandoned", "completed"]),
    )
    one_state = st.builds(
        lambda a, s, qs, ts: state(f"A{a}", s, tuple(dict.fromkeys(qs)), T0 - 900 + ts),
        st.integers(0, 3),
        st.sampled_from(["available", "busy", "break"]),
        st.lists(queues, max_size=3),
        st.integers(0, 800),
    )
    # Each event its own event_id: two different events under one id are one event sent twice, which counts
    # the first to arrive (events.md), so their order would matter.
    return st.lists(one_call | one_state, max_size=40).map(
        lambda events: [ev._replace(event_id=f"e{i:03d}") for i, ev in enumerate(events)]
    )


@given(stream())
def test_the_limits_hold_and_a_refused_event_leaves_no_trace_in_any_order(events):
    """Any events in any order: never more queues or agents than the limits, and the board is exactly that of an
    unlimited engine given only the events taken."""
    engine, reference = limited(queues=3, agents=2), unlimited()
    taken, refused = [], 0
    for ev in events:
        if engine.apply(ev) is None:
            taken.append(ev)
        else:
            refused += 1
    for ev in taken:
        reference.apply(ev)
    engine.advance(T0)
    reference.advance(T0)
    snap, expected = engine.snapshot(), reference.snapshot()
    assert len(snap["queues"]) <= 3 and len(engine.agents()["agents"]) <= 2
    # Only the events taken hold a place: a refused one leaves none behind.
    held_queues = {e.queue for e in taken if isinstance(e, InteractionEvent)}
    held_queues |= {q for e in taken if isinstance(e, AgentStateEvent) for q in e.queues}
    assert snap["status"]["held_queues"] == len(held_queues) <= 3
    assert snap["status"]["held_agents"] == len({e.agent_id for e in taken if isinstance(e, AgentStateEvent)}) <= 2
    assert sum(snap["status"]["rejected"].values()) == refused
    assert set(snap["status"]["rejected"]) <= {"too_many_queues", "too_many_agents"}
    assert snap["queues"] == expected["queues"] and snap["totals"] == expected["totals"]
    assert engine.agents() == reference.agents()
    assert engine.intraday() == reference.intraday()


def centre(events: Sequence[Event] = ()) -> Engine:
    """A board holding its centre's 6 queues and 4 agents, its limits (6 and 4) reached."""
    engine = limited(queues=6, agents=4)
    for q in range(6):
        engine.apply(call("offered", f"seed{q}", f"q{q}", T0 - 1000))
    for a in range(4):
        engine.apply(state(f"A{a}", "offline", (), T0 - 1000))
    for ev in events:
        engine.apply(ev)
    return engine


@given(stream(), st.integers(0, 30), st.randoms(use_true_random=False))
def test_a_flood_of_new_queues_never_changes_the_numbers_of_the_queues_held(events, flood, rng):
    """A producer sends events for endless new queues and agents (new queues served by the centre's agents too),
    mixed in anywhere among the centre's own: every one is refused, and the centre's numbers are exactly those
    without the flood."""
    hostile: list[Event] = [
        call("offered", f"x{n}", f"new{n}", T0 - 500 + n)
        if n % 3 == 0
        else state(f"A{n % 4}", "busy", (f"q{n % 6}", f"new{n}"), T0 - 500 + n)
        if n % 3 == 1
        else state(f"X{n}", "busy", (f"q{n % 6}",), T0 - 500 + n)
        for n in range(flood)
    ]
    mixed = [(ev, True) for ev in events] + [(ev, False) for ev in hostile]
    rng.shuffle(mixed)
    engine = centre()
    for ev, ours in mixed:
        assert (engine.apply(ev) is None) == ours
    engine.advance(T0)
    reference = centre(events)
    reference.advance(T0)
    assert engine.snapshot()["queues"] == reference.snapshot()["queues"]
    assert engine.agents() == reference.agents()
    assert engine.intraday() == reference.intraday()
    assert sum(engine.status()["rejected"].values()) == flood


# ------------------------------------------------------------ ingest and replay


def raw_offered(iid: str, queue: str, ts_s: int) -> bytes:
    return orjson.dumps(
        {"type": "call.offered", "event_id": f"o-{iid}", "ts": ts_s * 1000, "interaction_id": iid, "queue": queue}
    )


def test_the_engines_refusals_go_to_the_dead_letter_path_with_their_reason() -> None:
    engine = limited(queues=1)
    batch = [
        RawMessage(raw_offered(f"i{i}", f"q{i}", T0 - 60 + i), topic="cc.calls", partition=2, offset=i)
        for i in range(3)
    ]
    result = ingest(engine, batch)
    assert [(r.message.offset, r.reason) for r in result.rejected] == [(1, "too_many_queues"), (2, "too_many_queues")]
    assert result.rejected[0].detail == "the board holds 1 queues, [limits] max_queues is 1"
    assert result.newest_ms == {("cc.calls", 2): (T0 - 58) * 1000}  # refused, but read: its partition moved on
    assert engine.status()["rejected"] == {"too_many_queues": 2}


def test_replay_and_the_live_path_refuse_the_same_events() -> None:
    """One code path: the same contract under the same [limits], the same engine; in ts order both agree."""
    settings = make_settings(limits={"max_queues": 2, "max_queue_name": 6})
    lines = [raw_offered(f"i{i}", name, T0 - 100 + i) for i, name in enumerate(["a", "b", "c", "a", "toolong", "b"])]
    live = Engine(settings.metrics, T0 - 200)
    for line in lines:
        ingest(live, [RawMessage(line)])
    live.advance(T0)
    replayed = replay(lines, settings.metrics, T0)
    assert replayed.snapshot() == live.snapshot()
    assert live.status()["rejected"] == {"bad_length": 1, "too_many_queues": 1}

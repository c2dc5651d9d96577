"""Folding an agent's state history (``engine._Agent.fold_before``): forgetting events past the late horizon
changes nothing the agent shows, now or after any later event within the horizon (events.md "The late
horizon": within it the result is exactly the set semantics)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import make_settings
from wallboard.engine import AgentNow, Engine, _Agent
from wallboard.events import AGENT_STATES, AgentStateEvent


def state(
    ts_ms: int,
    eid: str,
    st_: str,
    queues: tuple[str, ...] = ("q",),
    name: str | None = None,
    team: str | None = None,
    reason: str | None = None,
) -> AgentStateEvent:
    return AgentStateEvent(eid, ts_ms, "A1", st_, queues, name, team, reason)


def now_of(agent: _Agent) -> AgentNow | None:
    return agent.current  # (read afresh: mypy would keep the narrowing of an earlier comparison)


def agent_of(events: list[AgentStateEvent]) -> _Agent:
    agent = _Agent()
    for ev in events:
        agent.insert(ev)
    return agent


def test_a_fold_keeps_since_name_and_team_that_only_older_events_carried() -> None:
    agent = agent_of(
        [
            state(1_000, "e1", "busy", name="Li Lei", team="T1"),
            state(2_000, "e2", "available"),
            state(3_000, "e3", "available", queues=("q", "r")),
            state(9_000, "e4", "available"),
        ]
    )
    assert agent.current == ("available", 2_000, ("q",), "Li Lei", "T1", None)

    agent.fold_before(5_000)

    # Only the event within the horizon is held; what the older ones determined lives on in the base.
    assert [entry[0] for entry in agent.history] == [9_000]
    assert agent.base == ("available", 2_000, ("q", "r"), "Li Lei", "T1", None)
    assert agent.horizon_ms == 5_000
    assert agent.current == ("available", 2_000, ("q",), "Li Lei", "T1", None)
    # A state change after the fold starts a new `since`; name and team still come from before it.
    agent.insert(state(9_500, "e5", "break"))
    assert agent.current == ("break", 9_500, ("q",), "Li Lei", "T1", None)


def test_the_reason_is_the_latest_events_own_and_survives_a_fold() -> None:
    """Unlike name and team, a reason is not carried over: an event without one means no reason (version 1's
    producers); a new reason in the same state keeps `since` (the limit counts from the start of the state)."""
    agent = agent_of([state(1_000, "e1", "break", reason="lunch"), state(2_000, "e2", "break", reason="training")])
    assert agent.current == ("break", 1_000, ("q",), None, None, "training")
    agent.fold_before(5_000)
    assert agent.base == agent.current == ("break", 1_000, ("q",), None, None, "training")
    agent.insert(state(6_000, "e3", "break"))
    assert now_of(agent) == ("break", 1_000, ("q",), None, None, None)
    agent.insert(state(5_500, "e0", "wrap_up", reason="late"))  # out of order: the latest event still decides
    assert now_of(agent) == ("break", 6_000, ("q",), None, None, None)


def test_a_fold_with_nothing_older_than_the_threshold_changes_nothing() -> None:
    agent = agent_of([state(6_000, "e1", "busy"), state(7_000, "e2", "busy")])
    before = (list(agent.history), agent.base, agent.current, agent.horizon_ms)
    agent.fold_before(6_000)  # events *older* than the threshold are folded: none here
    assert (agent.history, agent.base, agent.current, agent.horizon_ms) == before


def test_a_fold_of_every_event_leaves_the_state_in_the_base() -> None:
    agent = agent_of([state(1_000, "e1", "wrap_up", name="王小明"), state(2_000, "e2", "wrap_up")])
    agent.fold_before(10_000)
    assert agent.history == []
    assert agent.base == agent.current == ("wrap_up", 1_000, ("q",), "王小明", None, None)
    # The next event continues the run of the same state: since stays at the first event of the run.
    agent.insert(state(11_000, "e3", "wrap_up"))
    assert agent.current == ("wrap_up", 1_000, ("q",), "王小明", None, None)


EVENTS = st.lists(
    st.tuples(
        st.integers(0, 40),  # ts in seconds: few values, so that ties and runs of one state are common
        st.sampled_from(["a", "b", "c"]),
        st.sampled_from(AGENT_STATES[:3]),
        st.sampled_from([("q",), ("q", "r"), ()]),
        st.sampled_from([None, "Li Lei", "王小明"]),
        st.sampled_from([None, "T1", "T2"]),
        st.sampled_from([None, "lunch", "午饭"]),
    ),
    min_size=1,
    max_size=25,
)


@given(EVENTS, st.lists(st.integers(0, 45), min_size=1, max_size=3), st.randoms(use_true_random=False))
def test_folding_never_changes_what_the_agent_shows(raw, thresholds, rng):
    """Any events, folded at any rising thresholds as they arrive, with the later ones in any order: the agent
    shows at every step what an agent that never folded shows with the same events."""
    events = [state(ts * 1000, f"{eid}{ts}", s, q, n, t, r) for ts, eid, s, q, n, t, r in raw]
    rng.shuffle(events)
    folded, reference = _Agent(), _Agent()
    for threshold_s in sorted(thresholds):
        threshold = threshold_s * 1000
        # The events that arrive before this fold; an event older than a fold already done is the engine's
        # too_late (never given to the agent), so such events are given to neither.
        now, later = [e for e in events if e.ts_ms < threshold], [e for e in events if e.ts_ms >= threshold]
        for ev in now:
            if ev.ts_ms >= folded.horizon_ms:
                assert folded.insert(ev) == reference.insert(ev)
                assert folded.current == reference.current
        folded.fold_before(threshold)
        assert folded.current == reference.current
        assert all(entry[0] >= threshold for entry in folded.history)
        events = later
    for ev in events:
        assert folded.insert(ev) == reference.insert(ev)  # duplicates are found across a fold too
        assert folded.current == reference.current


def test_an_agent_event_older_than_what_was_folded_is_too_late() -> None:
    """The engine folds every agent as the horizon moves; an agent event from before the fold can no longer be
    merged exactly, so it is counted as too late and changes nothing (events.md "The late horizon")."""
    t0 = 1_796_000_000
    engine = Engine(make_settings(window=60, late_horizon=60).metrics, t0)
    engine.apply(state(t0 * 1000, "e1", "busy", name="Li Lei"))
    engine.apply(state((t0 + 100) * 1000, "e2", "available"))
    engine.advance(t0 + 200)  # the horizon is now 60 s behind the newest event: e1 is folded away
    assert engine.status()["held_agent_events"] == 1
    engine.apply(state((t0 + 10) * 1000, "e0", "break"))
    assert engine.too_late == 1
    (row,) = engine.agents()["agents"]
    assert (row["state"], row["name"], row["since"]) == ("available", "Li Lei", engine.days.iso_ms((t0 + 100) * 1000))

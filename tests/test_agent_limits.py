"""Agent-state limits ([agent_limits], docs/metrics.md "Agents over their limit"): who is over, the counts in
every view, the settings' rules, and the live board pushing a crossing at its second without any event."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.conftest import make_settings
from tests.test_routes import QUEUE, T0, recv, recv_initial, running, web_settings
from wallboard.engine import Engine
from wallboard.errors import SettingsError
from wallboard.events import AgentStateEvent
from wallboard.settings import parse_settings, with_overrides

LIMITS: dict[str, Any] = {
    "break": {"limit": 900, "reasons": {"lunch": {"limit": 3600}, "training": {"limit": 0}}},
    "wrap_up": {"limit": 120},
}


def state(ts_s: float, agent: str, st_: str, queues: tuple[str, ...] = ("q1",), reason: str | None = None) -> Any:
    return AgentStateEvent(f"{agent}-{ts_s}-{st_}", int(ts_s * 1000), agent, st_, queues, None, None, reason)


def engine_with(events: list[AgentStateEvent], now_s: int, limits: dict[str, Any] | None = None) -> Engine:
    engine = Engine(make_settings(agent_limits=LIMITS if limits is None else limits).metrics, now_s)
    for e in events:
        assert engine.apply(e) is None
    return engine


def test_the_limit_in_force_is_the_reasons_own_else_the_states() -> None:
    m = make_settings(agent_limits=LIMITS).metrics
    assert m.agent_limit("break", None) == 900
    assert m.agent_limit("break", "coffee") == 900  # a reason without a limit of its own: the state's
    assert m.agent_limit("break", "lunch") == 3600
    assert m.agent_limit("break", "training") == 0  # 0: this reason has no limit
    assert m.agent_limit("wrap_up", "lunch") == 120  # reasons are per state
    assert m.agent_limit("busy", None) == 0
    assert m.agent_limit("offline", None) == 0
    assert m.limited_states() == ["wrap_up", "break"]
    assert make_settings().metrics.limited_states() == []  # the default: no limit anywhere


def test_an_agent_is_over_once_longer_in_the_state_than_its_limit() -> None:
    t = 1_796_000_000
    events = [state(t, "A1", "break"), state(t + 0.5, "A2", "break", reason="lunch"), state(t, "A3", "wrap_up")]
    engine = engine_with(events, t + 120)
    rows = {r["agent_id"]: r for r in engine.agents()["agents"]}
    assert (rows["A3"]["limit_s"], rows["A3"]["over_limit"]) == (120, False)  # exactly at the limit: not over
    engine.advance(t + 121)
    rows = {r["agent_id"]: r for r in engine.agents()["agents"]}
    assert rows["A3"]["over_limit"] and not rows["A1"]["over_limit"]
    engine.advance(t + 901)
    rows = {r["agent_id"]: r for r in engine.agents()["agents"]}
    assert rows["A1"]["over_limit"] and rows["A1"]["reason"] is None
    assert (rows["A2"]["reason"], rows["A2"]["limit_s"], rows["A2"]["over_limit"]) == ("lunch", 3600, False)
    assert engine.agents()["agents_over_limit"] == {"wrap_up": 1, "break": 1}
    engine.advance(t + 3600)  # since t + 0.5: 3599.5 s at this whole second
    assert not {r["agent_id"]: r for r in engine.agents()["agents"]}["A2"]["over_limit"]
    engine.advance(t + 3601)  # 3600.5 s: over
    assert {r["agent_id"]: r for r in engine.agents()["agents"]}["A2"]["over_limit"]


def test_a_new_reason_keeps_since_and_changes_the_limit_a_new_state_restarts() -> None:
    t = 1_796_000_000
    engine = engine_with([state(t, "A1", "break", reason="lunch"), state(t + 1000, "A1", "break")], t + 1000)
    row = engine.agents()["agents"][0]
    # Re-stating the break without the lunch reason: the break began at t, 1000 s > 900 ago.
    assert (row["since"], row["reason"], row["limit_s"], row["over_limit"]) == (
        engine.days.iso_ms(t * 1000),
        None,
        900,
        True,
    )
    engine.apply(state(t + 1001, "A1", "available"))
    engine.advance(t + 5000)
    row = engine.agents()["agents"][0]
    assert (row["limit_s"], row["over_limit"]) == (None, False)
    assert engine.agents()["agents_over_limit"] == {"wrap_up": 0, "break": 0}


def test_over_limit_counts_per_queue_totals_and_selection() -> None:
    t = 1_796_000_000
    events = [
        state(t, "A1", "break", ("q1", "q2")),
        state(t, "A2", "break", ("q2",)),
        state(t, "A3", "wrap_up", ("q3",)),
        state(t, "A4", "break", ("q3",), reason="training"),  # no limit for this reason
        state(t, "A5", "offline", ("q1",)),
    ]
    engine = engine_with(events, t + 1000)
    snap = engine.snapshot()
    over = {q: v["agents_over_limit"] for q, v in snap["queues"].items()}
    assert over == {
        "q1": {"wrap_up": 0, "break": 1},
        "q2": {"wrap_up": 0, "break": 2},
        "q3": {"wrap_up": 1, "break": 0},
    }
    assert snap["totals"]["agents_over_limit"] == {"wrap_up": 1, "break": 2}  # A1 once
    sel = engine.selection(["q1", "q2", "nope"])
    assert sel["agents_over_limit"] == {"wrap_up": 0, "break": 2}
    assert engine.selection(["nope"])["agents_over_limit"] is None


def test_without_limits_the_counts_are_empty_and_nothing_is_over() -> None:
    t = 1_796_000_000
    engine = engine_with([state(t, "A1", "break")], t + 86_000, limits={})
    snap = engine.snapshot()
    assert snap["totals"]["agents_over_limit"] == {} and snap["queues"]["q1"]["agents_over_limit"] == {}
    assert engine.selection(["q1"])["agents_over_limit"] == {}
    row = engine.agents()["agents"][0]
    assert (row["limit_s"], row["over_limit"]) == (None, False)
    assert engine.limit_crossings() == 0


def test_limit_crossings_count_with_the_clock_alone() -> None:
    t = 1_796_000_000
    engine = engine_with([state(t, "A1", "wrap_up"), state(t, "A2", "break"), state(t, "A3", "busy")], t)
    seen = []
    for now in (t + 120, t + 121, t + 900, t + 901, t + 9999):
        engine.advance(now)
        seen.append(engine.limit_crossings())
    assert seen == [0, 1, 1, 2, 2]
    engine.apply(state(t + 9999, "A1", "available"))  # a new version: the instants are found again
    assert engine.limit_crossings() == 1


@pytest.mark.parametrize(
    ("limits", "problem"),
    [
        (
            {"offline": {"limit": 60}},
            "agent_limits.offline: unknown agent state (known: available, busy, wrap_up, break)",
        ),
        ({"lunch": {"limit": 60}}, "agent_limits.lunch: unknown agent state"),
        ({"break": {"limit": -1}}, "agent_limits.break.limit: must be at least 0"),
        ({"break": {"limit": 86_401}}, "agent_limits.break.limit: must be at most 86400"),
        ({"break": {"limit": "15m"}}, "agent_limits.break.limit: must be an integer"),
        ({"break": {"reasons": {"lunch": 3600}}}, 'agent_limits.break.reasons."lunch": must be a table of settings'),
        ({"break": {"reasons": {"lunch ": {"limit": 1}}}}, "the board shows this reason as 'lunch'"),
        ({"break": {"reasons": {"a\tb": {"limit": 1}}}}, 'agent_limits.break.reasons."a\tb": the reason name'),
        ({"break": {"reasons": {"x" * 33: {"limit": 1}}}}, "a reason code has at most [limits] max_reason = 32"),
        ({"break": {"reasons": {"lunch": {"limit": 1, "warn": 2}}}}, '"lunch".warn: unknown setting'),
    ],
)
def test_bad_agent_limits_are_refused_with_their_key(limits: dict[str, Any], problem: str) -> None:
    with pytest.raises(SettingsError) as info:
        parse_settings({"timezone": "UTC", "agent_limits": limits}, environ={})
    assert any(problem in p for p in info.value.problems), info.value.problems


def test_a_longer_max_reason_admits_longer_reasons_in_the_settings() -> None:
    m = make_settings(limits={"max_reason": 40}, agent_limits={"break": {"reasons": {"x" * 33: {"limit": 5}}}}).metrics
    assert m.agent_limit("break", "x" * 33) == 5


def agent_msg(ts_s: float, agent: str, st_: str, reason: str | None = None) -> bytes:
    body = {"type": "agent.state", "event_id": f"{agent}-{ts_s}", "ts": int(ts_s * 1000), "agent_id": agent}
    return orjson.dumps({**body, "state": st_, "queues": [QUEUE], "reason": reason})


def test_the_board_pushes_a_crossing_at_its_second_without_any_event() -> None:
    """An agent on break since T0 - 60 with a 100 s limit is over from T0 + 41 (more than 100 s): the views are
    rebuilt and pushed at that tick, though no event came and the engine's version did not move."""
    settings = with_overrides(web_settings(), metrics={"agent_limits": {"break": {"limit": 100}}})
    with running(settings, batches=[[agent_msg(T0 - 60, "A1", "break", "coffee")]]) as board:
        path = f"/ws?views=snapshot,selection,agents&queues={QUEUE}"
        with board.client.websocket_connect(path) as ws:
            first = recv_initial(ws)
            assert first["snapshot"]["data"]["totals"]["agents_over_limit"] == {"break": 0}
            assert first["agents"]["data"]["agents"][0]["reason"] == "coffee"
            board.tick()  # the first tick pushes every view
            assert sorted(recv(ws)["type"] for _ in range(3)) == ["agents", "selection", "snapshot"]
            version = board.live.engine.version
            board.clock.now = T0 + 40  # exactly 100 s: not over yet
            board.tick()
            assert recv(ws)["type"] == "heartbeat"
            board.clock.now = T0 + 41
            board.tick()
            pushed: dict[str, Any] = {}
            while len(pushed) < 3:
                m = recv(ws)
                pushed[m["type"]] = m["data"]
            assert board.live.engine.version == version
            assert pushed["snapshot"]["totals"]["agents_over_limit"] == {"break": 1}
            assert pushed["snapshot"]["queues"][QUEUE]["agents_over_limit"] == {"break": 1}
            assert pushed["selection"]["selection"]["agents_over_limit"] == {"break": 1}
            row = pushed["agents"]["agents"][0]
            assert (row["over_limit"], row["limit_s"], row["reason"]) == (True, 100, "coffee")
            board.clock.now = T0 + 42
            board.tick()
            assert recv(ws)["type"] == "heartbeat"  # nothing more crossed

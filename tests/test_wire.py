"""wallboard/wire.py: what the server sends has exactly the shape its TypedDicts declare.

mypy checks the code against the TypedDicts; this checks the TypedDicts against what the code really
builds (the views with their levels, the messages, the source block, /healthz, /readyz, the scrape), so
the types cannot quietly drift from the data.
"""

from __future__ import annotations

import random
import types
from typing import Any, Literal, NotRequired, Union, get_args, get_origin, get_type_hints, is_typeddict

import orjson
import pytest

from tests.conftest import make_settings
from tests.streams import QUEUES, random_stream, to_json
from wallboard import wire
from wallboard.ingest import ingest
from wallboard.levels import add_levels
from wallboard.sources.base import RawMessage
from wallboard.sources.memory import ListSource
from wallboard.web.live import Live
from wallboard.web.metrics import Scrape, WebMetrics

BASE = 1_795_960_800  # 2026-11-29T22:00:00+08:00


def problems(value: Any, tp: Any, path: str = "$") -> list[str]:
    """Where ``value`` (JSON-like data) differs from the type ``tp``; [] when it conforms."""
    origin = get_origin(tp)
    if is_typeddict(tp):
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__}, not an object"]
        hints = get_type_hints(tp, include_extras=True)
        out = [f"{path}.{k}: not declared" for k in value if k not in hints]
        for key, hint in hints.items():
            optional = get_origin(hint) is NotRequired
            if key not in value:
                out += [] if optional else [f"{path}.{key}: missing"]
            else:
                out += problems(value[key], get_args(hint)[0] if optional else hint, f"{path}.{key}")
        return out
    if origin in (Union, types.UnionType):
        branches = [problems(value, arg, path) for arg in get_args(tp)]
        return [] if any(not b for b in branches) else min(branches, key=len)
    if origin is Literal:
        return [] if value in get_args(tp) else [f"{path}: {value!r} not one of {get_args(tp)}"]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__}, not an object"]
        return [p for k, v in value.items() for p in problems(v, get_args(tp)[1], f"{path}[{k!r}]")]
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: {type(value).__name__}, not a list"]
        return [p for i, v in enumerate(value) for p in problems(v, get_args(tp)[0], f"{path}[{i}]")]
    if tp is object:
        return []
    if tp is type(None):
        return [] if value is None else [f"{path}: {value!r}, not null"]
    if tp is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{path}: {value!r}, not a number"]
    if tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{path}: {value!r}, not an integer"]
    return [] if isinstance(value, tp) else [f"{path}: {value!r}, not {tp.__name__}"]


def test_the_checker_sees_a_difference() -> None:
    period: dict[str, int | None] = {
        **dict.fromkeys(
            ("offered", "answered", "abandoned", "short_abandoned", "answered_in_sl", "abandoned_in_sl", "completed"), 0
        ),
        **dict.fromkeys(("service_level", "asa_s", "aht_s", "abandon_rate")),
    }
    assert problems(period, wire.Period) == []
    assert problems({**period, "extra": 1}, wire.Period) == ["$.extra: not declared"]
    assert problems({**period, "offered": 1.5}, wire.Period) == ["$.offered: 1.5, not an integer"]
    assert problems({k: v for k, v in period.items() if k != "asa_s"}, wire.Period) == ["$.asa_s: missing"]
    assert problems({"service_level": "green"}, wire.PeriodLevels) != []


@pytest.fixture(scope="module")
def live() -> Live:
    """A board over an hour of random traffic (every state: waiting, answered, abandoned, agents), one tick done."""
    now = BASE + 3600
    rng = random.Random(5)
    settings = make_settings(
        queues={QUEUES[1]: {"call": {"sl_threshold": 30}}},
        groups={"g": {"queues": [QUEUES[0], QUEUES[1]]}, "one": {"queues": [QUEUES[2]]}},
        boards={
            "grid": {"groups": ["g", "one"], "queues": [QUEUES[3], "no-such-queue"]},
            "sum": {"groups": ["g"], "queues": ["no-such-queue"], "layout": "channels"},
        },
    )
    board = Live(settings, ListSource(), clock=lambda: float(now), metrics=WebMetrics())
    batch = [RawMessage(to_json(e, rng)) for e in random_stream(rng, BASE, 3600, interactions=300)]
    ingest(board.engine, [*batch, RawMessage(b"{broken")])
    board.tick()
    return board


@pytest.mark.parametrize(
    ("view", "tp"),
    [
        ("snapshot", wire.Snapshot),
        ("summary", wire.Summary),
        ("selection", wire.SelectionData),
        ("agents", wire.AgentsView),
        ("intraday", wire.Intraday),
    ],
)
def test_every_view_has_its_declared_shape(live: Live, view: str, tp: Any) -> None:
    data = live.build_view(view, (QUEUES[0], QUEUES[1], "no-such-queue"))
    assert problems(data, tp) == []
    assert problems(orjson.loads(live.current([view], (QUEUES[0],))[0].text)["data"], tp) == []


@pytest.mark.parametrize("board", ["grid", "sum"])
def test_the_board_view_has_its_declared_shape(live: Live, board: str) -> None:
    data = live.build_view("board", (board,))
    assert problems(data, wire.BoardData) == []
    sent = orjson.loads(live.current(["board"], (board,))[0].text)
    assert sent["type"] == "board" and problems(sent["data"], wire.BoardData) == []
    rows = data["board"]["rows"]  # type: ignore[typeddict-item]
    if board == "grid":  # the rows checked hold levels, schedules and a row without numbers
        assert any(r["level_steps"] for r in rows) and any(r["channels"] is None for r in rows)
    hello = orjson.loads(live.hello(["board"], (board,)).text)
    assert hello["board"] == board and hello["queues"] == []


def test_the_snapshots_groups_have_the_selections_shape(live: Live) -> None:
    snapshot = live.build_view("snapshot")
    assert list(snapshot["groups"]) == ["g", "one"]  # type: ignore[typeddict-item]
    assert problems(snapshot, wire.Snapshot) == []


def test_the_views_checked_hold_levels_waiting_calls_and_an_empty_selection(live: Live) -> None:
    snapshot = add_levels(live.engine.snapshot(), live.settings.metrics)
    views = [v for q in snapshot["queues"].values() for v in q["channels"].values()]
    assert all("levels" in v for v in views)
    assert any(v["levels"]["longest_wait_steps"] for v in views)  # something waits: the steps were checked too
    assert all("levels" in q for q in [*snapshot["queues"].values(), snapshot["totals"]])
    assert all(q["levels"]["agents"]["available"] in ("ok", "warn", "alarm") for q in snapshot["queues"].values())
    empty = live.selection_block(("no-such-queue",))
    assert empty["channels"] is None and empty["agents"] is None and empty["levels"]["agents"]["available"] is None
    assert problems(empty, wire.SelectionView) == []


def test_messages_and_status_answers_have_their_declared_shape(live: Live) -> None:
    head = {"type": str, "seq": int, "server_time": str}
    hello = orjson.loads(live.hello(["snapshot", "selection"], (QUEUES[0],)).text)
    heartbeat = orjson.loads(live.heartbeat().text)
    broadcast = orjson.loads(live.current(["snapshot"])[-1].text)
    for message, body in ((hello, wire.HelloBody), (heartbeat, wire.HeartbeatBody), (broadcast, wire.BroadcastBody)):
        for key, kind in head.items():
            assert isinstance(message.pop(key), kind)
        assert problems(message, body) == []
    data = orjson.loads(live.current(["snapshot"])[0].text)
    assert problems(data["source"], wire.SourceBlock) == []
    assert problems(live.source_block(), wire.SourceBlock) == []
    assert problems(live.health()[1], wire.Health) == []
    assert problems(live.readiness()[1], wire.Readiness) == []
    assert problems(live.scrape(), Scrape) == []


def test_delta_messages_have_their_declared_shape() -> None:
    """Two ticks of a board with agents and intervals changing between them: the second one's deltas."""
    now = [float(BASE + 3600)]
    rng = random.Random(6)
    board = Live(make_settings(), ListSource(), clock=lambda: now[0], metrics=WebMetrics())
    stream = [RawMessage(to_json(e, rng)) for e in random_stream(rng, BASE, 5400, interactions=400)]
    ingest(board.engine, stream[: len(stream) // 2])
    delta_views = {"agents", "intraday"}
    board.hub._by_view["agents"].add(object())  # type: ignore[arg-type]  # someone watches: the tick builds them
    board.hub._by_view["intraday"].add(object())  # type: ignore[arg-type]
    sent: list[Any] = []

    def publish(msg: Any) -> int:
        sent.append(msg)
        return 1

    board.hub.publish = publish  # type: ignore[method-assign]
    board.tick()
    ingest(board.engine, stream[len(stream) // 2 :])
    now[0] += 1800  # and two intervals later
    board.tick()
    deltas = {m.slot: orjson.loads(m.text) for m in sent[-3:] if m.full is not None}
    assert set(deltas) == delta_views
    for view, tp in (("agents", wire.AgentsDelta), ("intraday", wire.IntradayDelta)):
        message = deltas[view]
        assert message["type"] == f"{view}_delta"
        for key in ("type", "seq", "server_time"):
            message.pop(key)
        assert problems(message, wire.DeltaBody) == []
        assert problems(message["data"], tp) == []
    assert deltas["agents"]["data"]["upserts"] and deltas["intraday"]["data"]["intervals"]

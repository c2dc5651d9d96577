"""The security review's attack, on the running app (Live.tick through Starlette's TestClient, as in
tests/test_routes.py): one valid agent.state listing 6,500 queue names used to give 6,509 queues in the
snapshot, ticks of seconds and stale TVs.  Now it is rejected with its reason, the board keeps its size, and
every tick stays far under the push interval, also when a producer fills the board to its limits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from tests.conftest import make_settings
from tests.test_routes import FIRST_BATCH, QUEUE, T0, Board, recv_initial, running, web_settings
from wallboard.settings import WebSettings

PUSH_INTERVAL = WebSettings().push_interval  # 1 s, the default: a tick must take less, or the TVs go stale
SUPERVISOR = "/ws?views=snapshot,summary,agents,intraday"


def agent_state(agent: str, queues: list[str], eid: str, ts_s: float = T0 - 10) -> bytes:
    return orjson.dumps(
        {
            "type": "agent.state",
            "event_id": eid,
            "ts": int(ts_s * 1000),
            "agent_id": agent,
            "state": "available",
            "queues": queues,
            "name": "x",
            "team": "x",
        }
    )


def review_message(n: int = 0) -> bytes:
    """The review's message: valid JSON, a valid agent.state, 6,500 queue names, 57 KB."""
    raw = agent_state(f"X{n}", [f"{chr(0x61 + n)}{i}" for i in range(6500)], f"attack-{n}")
    assert 50_000 < len(raw) < 64 * 1024
    return raw


@contextmanager
def supervisor(board: Board) -> Iterator[Any]:
    with board.client.websocket_connect(SUPERVISOR) as ws:
        recv_initial(ws)
        yield ws


def timed_tick(board: Board, ws: Any) -> tuple[float, dict[str, str]]:
    """One tick: its duration, and the text of each view it pushed to the supervisor."""
    started = time.perf_counter()
    board.tick()
    took = time.perf_counter() - started
    texts: dict[str, str] = {}
    while len(texts) < 4:
        text = ws.receive_text()
        kind = orjson.loads(text)["type"]
        if kind != "heartbeat":
            texts[kind] = text
    return took, texts


def test_the_reviews_6500_queue_event_is_rejected_and_the_board_stays_fresh_and_small() -> None:
    with running(batches=[FIRST_BATCH]) as board, supervisor(board) as ws:
        _, before = timed_tick(board, ws)
        board.feed([review_message()])
        took, after = timed_tick(board, ws)
        status = board.client.get("/api/snapshot").json()
    assert took < PUSH_INTERVAL
    snapshot = orjson.loads(after["snapshot"])
    assert list(snapshot["data"]["queues"]) == [QUEUE]
    assert snapshot["source"]["stale"] is False
    for view in ("snapshot", "summary", "agents", "intraday"):
        assert len(after[view]) < 1.1 * len(before[view]) + 200, view  # a reject counted, nothing else
    assert status["status"]["rejected"] == {"bad_json": 1, "queue_list_too_long": 1}
    told = [(r.reason, r.message.value[:40]) for result in board.source.told for r in result.rejected]
    assert ("queue_list_too_long", review_message()[:40]) in told  # to the dead-letter topic, with its reason


def test_sixteen_of_them_add_no_queue() -> None:
    """16 such messages made 100,000 queues."""
    with running(batches=[FIRST_BATCH]) as board, supervisor(board) as ws:
        board.feed([review_message(n) for n in range(16)])
        took, after = timed_tick(board, ws)
    assert took < PUSH_INTERVAL
    assert list(orjson.loads(after["snapshot"])["data"]["queues"]) == [QUEUE]
    assert orjson.loads(after["snapshot"])["data"]["status"]["rejected"]["queue_list_too_long"] == 16


def test_a_producer_filling_the_board_to_its_limits_cannot_slow_a_tick_past_the_push_interval() -> None:
    """Within the per-message limits (16 queues a message, names of 64 characters), a producer sends new queues
    and new agents until the board holds its max_queues and max_agents: the rest is refused, and a tick with
    every view watched stays under the push interval, the snapshot bounded by max_queues.  (The heaviest board
    the limits allow, every agent listing 16 of those names, is bench/limits.py's: docs/performance.md.)"""
    limits = make_settings().metrics.limits
    name = "队" * (limits.max_queue_name - 6)  # 64 characters with the number: 6 bytes each in the JSON
    per = limits.max_queues_per_agent
    fill = [
        agent_state(f"F{a:05d}", [f"{name}{a * per + k:06d}" for k in range(per)], f"fill-{a}")
        for a in range(limits.max_queues // per + 2)
    ]
    more = [agent_state(f"G{a:05d}", [QUEUE], f"more-{a}") for a in range(limits.max_agents + 10)]
    with running(settings=web_settings(), batches=[FIRST_BATCH]) as board, supervisor(board) as ws:
        board.feed(fill + more)
        took, after = timed_tick(board, ws)
        status = board.client.get("/api/snapshot").json()["status"]
    fits = (limits.max_queues - 1) // per  # whole lists only, after 信用卡 (the first batch's)
    assert status["held_queues"] == 1 + fits * per
    assert status["rejected"]["too_many_queues"] == len(fill) - fits
    assert status["held_agents"] == limits.max_agents  # A1 of the first batch, the fillers, then the rest
    assert status["rejected"]["too_many_agents"] == 1 + fits + len(more) - limits.max_agents
    assert took < PUSH_INTERVAL, took
    snapshot = orjson.loads(after["snapshot"])
    assert snapshot["source"]["stale"] is False
    assert len(snapshot["data"]["queues"]) == status["held_queues"]
    assert len(after["snapshot"]) < status["held_queues"] * 3_000  # bounded by max_queues: ~2 KB a queue

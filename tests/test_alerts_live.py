"""The live board's alerts: folded every tick, served at /api/alerts and /metrics, equal to the replay's."""

from __future__ import annotations

from typing import Any

import orjson

from tests.conftest import make_settings
from tests.test_routes import PARKED, QUEUE, T0, TEST_HOSTS, Board, agent_ev, ev, running
from wallboard.replay import replay_alerts
from wallboard.settings import Settings, with_overrides
from wallboard.sources.control import MemoryControl

RULES: dict[str, Any] = {
    "waiting": {
        "metric": "waiting",
        "channel": "call",
        "scope": "queue",
        "when": "above",
        "threshold": 1,
        "for_s": 2,
        "clear_for_s": 3,
        "severity": "critical",
    },
    "wait": {"metric": "longest_wait_s", "channel": "call", "when": "above", "threshold": 10, "for_s": 0},
    "nobody": {"metric": "agents.available", "when": "below", "threshold": 1, "for_s": 30},
}


def settings() -> Settings:
    return with_overrides(
        make_settings(alerts={"rules": RULES}), web={"push_interval": PARKED, "allowed_hosts": TEST_HOSTS}
    )


EVENTS: list[tuple[int, bytes]] = [
    (1, agent_ev(T0 + 1)),
    (30, ev("call.offered", T0 + 30, "i1")),
    (40, ev("call.answered", T0 + 40, "i1", agent="A1")),
    (55, ev("call.offered", T0 + 55, "i2")),
    (67, ev("call.answered", T0 + 67, "i2", agent="A1")),
    (67, agent_ev(T0 + 67, state="busy")),
]
"""(second after T0, the raw event at that second): the board starts at T0 with no event."""


def play(board: Board, seconds: range, *, settle: bool = False) -> None:
    """A tick a second over ``seconds`` after T0, each second's EVENTS fed on time before its tick.

    ``settle``: let the loop run after each tick (the control writer records the alert changes).
    """
    for second in seconds:
        board.clock.now = T0 + second
        due = [raw for at, raw in EVENTS if at == second]
        if due:
            board.feed(due)
        board.tick()
        if settle:
            board.settle()


def test_alerts_fire_and_resolve_tick_by_tick_as_the_replay_says() -> None:
    """Events on time, a tick a second: at every second the live alerts are the replay's, since and fired-at."""
    s = settings()
    with running(s, batches=[]) as board:
        seen: dict[int, dict[str, Any]] = {}
        for second in range(1, 73):
            board.clock.now = T0 + second
            due = [raw for at, raw in EVENTS if at == second]
            if due:
                board.feed(due)
            board.tick()
            seen[second] = board.client.get("/api/alerts").json()
            _, book = replay_alerts([raw for at, raw in EVENTS if at <= second], s, T0 + second)
            replayed = {(k.rule, k.scope): (a.state, a.since, a.fired_at) for k, a in book.active.items()}
            live = {(k.rule, k.scope): (a.state, a.since, a.fired_at) for k, a in board.live.alerts.active.items()}
            assert live == replayed, (second, live, replayed)

    def active(second: int) -> dict[tuple[str, str], dict[str, Any]]:
        return {(a["rule"], a["scope"]): a for a in seen[second]["alerts"]}

    waiting = ("waiting", f"queue:{QUEUE}")
    # i1 waits from 30: "waiting at or above 1" for 2 s fires at 32; answered at 40, it resolves 3 s later.
    assert active(32)[waiting]["fired_at"] == "2026-11-30T08:53:52+08:00"
    assert waiting in active(42) and waiting not in active(43)
    # i2 waits from 55: fired again at 57, a new firing with a new key.
    again = active(60)[waiting]
    assert again["fired_at"] == "2026-11-30T08:54:17+08:00" and again["state"] == "firing"
    assert again["idempotency_key"] != active(32)[waiting]["idempotency_key"]
    # "Longest wait at or above 10 s" fires when i2 has waited 10 s (i1 was answered at exactly 10 s: not shown).
    assert all(("wait", "total") not in active(t) for t in range(1, 65))
    assert active(65)[("wait", "total")]["fired_at"] == "2026-11-30T08:54:25+08:00"
    # Firing first, critical first; then the pending ones.
    assert [a["rule"] for a in seen[68]["alerts"]] == ["waiting", "wait", "nobody"]
    assert active(68)[("nobody", "total")]["state"] == "pending"  # A1 busy from 67: 30 s to go
    assert waiting not in active(70)  # i2 answered at 67, resolved 3 s later


def test_a_restarted_board_keeps_the_firing_alert_with_its_key() -> None:
    """The sender records a firing in the control topic; a board started later restores it, not fires it anew."""
    s = settings()
    events = [raw for at, raw in EVENTS if at <= 55]
    topic = MemoryControl()
    with running(s, batches=[events], control=topic) as first:
        for second in range(1, 61):
            first.clock.now = T0 + 55 + second  # i2 waits from T0+55
            first.tick()
        before = {(a["rule"], a["scope"]): a for a in first.client.get("/api/alerts").json()["alerts"]}
        first.settle()  # the control writer
    waiting = ("waiting", f"queue:{QUEUE}")
    assert before[waiting]["state"] == "firing"
    assert [k for k, v in topic.log] == ["alert/waiting\x1fqueue:信用卡".encode(), b"alert/wait\x1ftotal"]
    # Restarted over the same topic: every event again, and the clock later on.
    with running(s, batches=[events], control=MemoryControl(topic.log), start=T0 + 200) as again:
        again.tick()
        after = {(a["rule"], a["scope"]): a for a in again.client.get("/api/alerts").json()["alerts"]}
    for key in (waiting, ("wait", "total")):
        assert after[key]["state"] == "firing"
        assert after[key]["fired_at"] == before[key]["fired_at"]
        assert after[key]["idempotency_key"] == before[key]["idempotency_key"]


def test_a_resolved_alert_is_tombstoned_in_the_control_topic() -> None:
    s = settings()
    topic = MemoryControl()
    with running(s, batches=[], control=topic) as board:
        play(board, range(1, 80), settle=True)
    waiting = "alert/waiting\x1fqueue:信用卡".encode()
    changes = [(k, v is not None) for k, v in topic.log if k == waiting]
    assert changes == [(waiting, True), (waiting, False), (waiting, True), (waiting, False)]


def test_firing_alerts_are_scraped() -> None:
    with running(settings()) as board:
        for second in range(1, 6):
            board.clock.now = T0 + second
            board.tick()
        scraped = board.client.get("/metrics").text
    assert f'wallboard_alert_active{{rule="waiting",scope="queue:{QUEUE}",severity="critical"}} 1.0' in scraped
    assert 'wallboard_alert_active{rule="wait",scope="total",severity="warning"} 1.0' in scraped
    assert 'rule="nobody"' not in scraped  # pending only


def test_no_rules_no_alerts() -> None:
    with running() as board:
        board.tick()
        body = board.client.get("/api/alerts").json()
    assert body["alerts"] == [] and body["as_of"].startswith("2026-11-30T08:53:2")


def test_an_acknowledgement_is_shown_with_who_and_when_and_goes_with_the_firing() -> None:
    s = settings()
    topic = MemoryControl()
    with running(s, batches=[], control=topic) as board:
        play(board, range(1, 40))
        (row,) = [a for a in board.client.get("/api/alerts").json()["alerts"] if a["rule"] == "waiting"]
        key = row["idempotency_key"]
        assert row["acknowledged_by"] is None
        assert row["text"] == {
            "label": {"zh-CN": "信用卡 电话 排队数", "en": "信用卡 calls waiting"},
            "shown": "1",
            "limit": "1",
        }
        origin = {"Origin": "http://localhost"}
        r = board.client.post("/api/alerts/ack", json={"idempotency_key": key}, headers=origin)
        assert r.status_code == 200, r.text
        assert r.json()["acknowledged_by"] == "local" and r.json()["acknowledged_at"] == "2026-11-30T08:53:59.000+08:00"
        shown = [a for a in board.client.get("/api/alerts").json()["alerts"] if a["rule"] == "waiting"]
        assert shown[0]["acknowledged_by"] == "local"
        nosuch = board.client.post("/api/alerts/ack", json={"idempotency_key": "0" * 32}, headers=origin)
        assert nosuch.status_code == 404 and nosuch.json()["error"] == "not_firing"
        bad = board.client.post("/api/alerts/ack", json={"idempotency_key": 5}, headers=origin)
        assert bad.status_code == 400 and bad.json()["error"] == "bad_request"
        play(board, range(40, 46), settle=True)  # i1 answered at 40: resolved 3 s later
    assert (f"ack/{key}".encode(), None) in topic.log  # the acknowledgement went with the firing


def test_every_board_gets_the_alerts_on_connect_and_when_they_change() -> None:
    s = settings()
    with running(s, batches=[]) as board, board.client.websocket_connect("/ws?views=summary") as ws:
        first = [orjson.loads(ws.receive_text()) for _ in range(4)]
        assert [m["type"] for m in first] == ["hello", "summary", "broadcast", "alerts"]
        assert first[-1]["alerts"] == []
        got: list[dict[str, Any]] = []
        play(board, range(1, 34))
        while len(got) < 3:  # the waiting alert pending at 30, firing at 32, then acknowledged
            msg = orjson.loads(ws.receive_text())
            if msg["type"] == "alerts":
                got.append(msg)
                if len(got) == 2:
                    key = msg["alerts"][0]["idempotency_key"]
                    board.client.post(
                        "/api/alerts/ack", json={"idempotency_key": key}, headers={"Origin": "http://localhost"}
                    )
    assert [[(a["rule"], a["state"]) for a in m["alerts"]] for m in got] == [
        [("waiting", "pending")],
        [("waiting", "firing")],
        [("waiting", "firing")],
    ]
    assert got[2]["alerts"][0]["acknowledged_by"] == "local"


def test_a_board_without_alert_rules_gets_no_alerts_message() -> None:
    with running() as board, board.client.websocket_connect("/ws?views=summary") as ws:
        first = [orjson.loads(ws.receive_text()) for _ in range(3)]
        board.tick()
        after = orjson.loads(ws.receive_text())
    assert [m["type"] for m in first] == ["hello", "summary", "broadcast"] and after["type"] != "alerts"

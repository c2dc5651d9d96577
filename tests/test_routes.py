"""The web app through Starlette's TestClient (inside ``with``, so the lifespan runs): every endpoint and the
WebSocket protocol, fed by a deterministic in-memory source and a controllable clock.

The tick loop is parked (push_interval at its maximum, a minute: its first tick
would come a minute after start, and ``running`` fails a test that lasts that
long) and ticks are driven by hand through the client's portal, so every
message sequence here is deterministic; one test runs the real loop at the
shortest interval.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson
import pytest
import starlette.exceptions
from starlette.websockets import WebSocketDisconnect

from tests import rawws
from tests.conftest import make_settings
from tests.servers import in_thread
from wallboard.resources import static_dir
from wallboard.settings import Settings, with_overrides
from wallboard.sources.control import ControlChannel
from wallboard.sources.memory import ListSource
from wallboard.web import create_app
from wallboard.web.hub import Selection
from wallboard.web.live import Live
from wallboard.web.routes import StaticUrls

with warnings.catch_warnings():
    # Starlette 1.x prefers the httpx2 package for its TestClient and warns once at import when it finds httpx,
    # with a StarletteDeprecationWarning (a class older starlette releases, such as the floor, do not have).
    warnings.simplefilter("ignore", getattr(starlette.exceptions, "StarletteDeprecationWarning", DeprecationWarning))
    from starlette.testclient import TestClient

T0 = 1_796_000_000  # 2026-11-30T08:53:20+08:00
QUEUE = "信用卡"


def ev(
    kind: str, ts_s: float, iid: str = "i1", queue: str = QUEUE, agent: str | None = None, eid: str | None = None
) -> bytes:
    body: dict[str, Any] = {
        "type": kind,
        "event_id": eid or f"{kind}-{iid}-{ts_s}",
        "ts": int(ts_s * 1000),
        "interaction_id": iid,
        "queue": queue,
    }
    if agent:
        body["agent_id"] = agent
    return orjson.dumps(body)


def agent_ev(ts_s: float, agent: str = "A1", state: str = "available", queues: tuple[str, ...] = (QUEUE,)) -> bytes:
    return orjson.dumps(
        {
            "type": "agent.state",
            "event_id": f"{agent}-{ts_s}",
            "ts": int(ts_s * 1000),
            "agent_id": agent,
            "state": state,
            "queues": list(queues),
            "name": "Li Lei",
            "team": "T1",
        }
    )


FIRST_BATCH = [
    ev("call.offered", T0 - 30, "i1"),
    ev("call.answered", T0 - 20, "i1", agent="A1"),
    ev("call.offered", T0 - 5, "i2"),
    agent_ev(T0 - 60),
    b"{not json",
]


class Clock:
    """The server clock, moved by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Board:
    client: TestClient
    live: Live
    source: ListSource
    clock: Clock

    def tick(self) -> None:
        self.client.portal.call(self.live.tick)  # type: ignore[union-attr]

    def feed(self, batch: list[bytes]) -> None:
        """Deliver a batch and wait until the pump has applied it."""
        portal = self.client.portal
        assert portal is not None
        portal.call(self.source.feed, batch)
        deadline = time.monotonic() + 5
        while not portal.call(self.source._queue.empty):
            assert time.monotonic() < deadline, "the pump did not take the batch"
            time.sleep(0.001)

    def settle(self) -> None:
        """Let the loop run pending steps (the pump after a batch given at start)."""
        assert self.client.portal is not None
        self.client.portal.call(asyncio.sleep, 0.01)


PARKED = 60.0
"""The longest push_interval the settings allow: the tick loop's first tick comes this long after start."""


TEST_HOSTS = ["localhost", "127.0.0.1", "::1", "testserver"]
"""Starlette's TestClient opens sockets to ws://testserver."""


def web_settings(**web: Any) -> Settings:
    return with_overrides(make_settings(), web={"push_interval": PARKED, "allowed_hosts": TEST_HOSTS, **web})


@contextmanager
def running(
    settings: Settings | None = None,
    batches: list[list[bytes]] | None = None,
    source: ListSource | None = None,
    raise_server_exceptions: bool = True,
    control: ControlChannel | None = None,
    start: float = T0,
) -> Iterator[Board]:
    src = source or ListSource([FIRST_BATCH] if batches is None else batches)
    clock = Clock(float(start))
    settings = settings or web_settings()
    app = create_app(settings, src, clock=clock, control=control)
    started = time.monotonic()
    with TestClient(app, base_url="http://localhost", raise_server_exceptions=raise_server_exceptions) as client:
        board = Board(client, app.state.live, src, clock)
        board.settle()
        yield board
        if settings.web.push_interval == PARKED:
            assert time.monotonic() - started < PARKED, "the parked tick loop may have ticked: the test took too long"
    assert src.closed, "shutdown closes the source"


@pytest.fixture
def board() -> Iterator[Board]:
    with running() as b:
        yield b


def recv(ws: Any) -> dict[str, Any]:
    return orjson.loads(ws.receive_text())  # type: ignore[no-any-return]


def recv_initial(ws: Any) -> dict[str, dict[str, Any]]:
    """hello, the data views, then the broadcast: keyed by type."""
    out: dict[str, dict[str, Any]] = {}
    while "broadcast" not in out:
        m = recv(ws)
        out[m["type"]] = m
    return out


# ---------------------------------------------------------------- pages


def test_root_redirects_to_the_tv_board_keeping_the_query(board: Board) -> None:
    r = board.client.get("/?queues=a,b&lang=en", follow_redirects=False)
    assert r.status_code == 302
    assert r.headers["location"] == "tv?queues=a,b&lang=en"
    assert board.client.get("/", follow_redirects=False).headers["location"] == "tv"
    assert board.client.get("/").url.path == "/tv"


@pytest.mark.parametrize("page", ["/tv", "/supervisor"])
def test_pages_render_with_the_agreed_context(board: Board, page: str) -> None:
    r = board.client.get(page)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    html = r.text
    assert 'data-push-interval="60.0"' in html
    assert 'data-stale-after="15.0"' in html
    body = re.search(r'data-settings="([^"]*)"', html)
    assert body is not None
    settings = orjson.loads(body.group(1).replace("&#34;", '"').replace("&quot;", '"'))
    assert settings["channels"]["call"]["sl_threshold"] == 20
    assert settings["timezone"] == "Asia/Shanghai"
    assert settings["channel_names"] == ["call", "sms"]
    # Static URLs carry the file's content hash, so a browser never runs yesterday's JS: every script.
    scripts = re.findall(r'<script src="/static/([^"?]+)\?v=([0-9a-f]{12})"></script>', html)
    assert ("core.js", hashlib.sha256((static_dir() / "core.js").read_bytes()).hexdigest()[:12]) in scripts
    assert len(scripts) == html.count("<script") > 6
    for name, digest in scripts:
        assert hashlib.sha256((static_dir() / name).read_bytes()).hexdigest()[:12] == digest, name
    # One panel (TV) or one filter option (supervisor) per channel of the server's list.
    for ch in ("call", "sms"):
        assert f'data-channel="{ch}"' in html or f'<option value="{ch}" data-i18n="ch_{ch}">' in html


@pytest.mark.parametrize(
    ("query", "header", "lang"),
    [
        ("?lang=zh-CN", "en", "zh-CN"),
        ("?lang=en", "zh-CN,zh;q=0.9", "en"),
        ("?lang=zh", "", "zh-CN"),
        ("?lang=klingon", "zh-TW", "zh-CN"),
        ("", "zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
        ("", "zh-HK", "zh-CN"),
        ("", "en-GB,en;q=0.9", "en"),
        ("", "fr-FR, en;q=0.5, zh;q=0.7", "zh-CN"),
        ("", "de-DE", "en"),
        ("", "zh;q=bogus, en", "en"),
        ("", "", "en"),
    ],
)
def test_language_from_query_then_accept_language(board: Board, query: str, header: str, lang: str) -> None:
    r = board.client.get("/tv" + query, headers={"Accept-Language": header})
    assert f'<html lang="{lang}"' in r.text
    assert f'data-lang="{lang}"' in r.text


def test_static_files_and_their_errors(board: Board) -> None:
    r = board.client.get("/static/core.js")
    assert r.status_code == 200
    assert "javascript" in r.headers["content-type"]
    r = board.client.get("/static/nope.js")
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"


def test_static_url_of_a_missing_file_has_no_version() -> None:
    s = StaticUrls(static_dir())
    assert s.version("nope.js") is None
    assert s.version("../pyproject.toml") is None  # never outside the static folder
    v = s.version("core.js")
    assert v is not None and s.version("core.js") == v  # cached


# ------------------------------------------------------------------ API


def test_api_views_at_the_server_clock_with_a_source_block(board: Board) -> None:
    snap = board.client.get("/api/snapshot").json()
    assert snap["as_of"] == "2026-11-30T08:53:20+08:00"
    call = snap["queues"][QUEUE]["channels"]["call"]
    assert call["waiting"] == 1 and call["in_progress"] == 1
    assert call["today"]["offered"] == 2 and call["today"]["answered"] == 1
    assert snap["status"]["rejected"] == {"bad_json": 1}
    assert snap["source"] == {
        "kind": "memory",
        "state": "fresh",
        "ready": True,
        "connected": True,
        "stale": False,
        "stale_reason": None,
        "last_event_age_s": 5.0,
        "lag": 0,
        "catch_up": 1.0,
        "last_error": None,
    }
    board.clock.now += 30
    snap = board.client.get("/api/snapshot").json()
    assert snap["as_of"] == "2026-11-30T08:53:50+08:00"  # the API advances to the server clock
    assert snap["queues"][QUEUE]["channels"]["call"]["longest_wait_s"] == 35.0
    agents = board.client.get("/api/agents").json()
    assert [a["agent_id"] for a in agents["agents"]] == ["A1"]
    assert agents["source"]["kind"] == "memory"
    intraday = board.client.get("/api/intraday").json()
    assert intraday["interval_s"] == 900 and intraday["source"]["ready"] is True
    assert intraday["queues"][QUEUE]["channels"]["call"][-1]["offered"] == 2


def test_api_keeps_unicode_as_utf8(board: Board) -> None:
    r = board.client.get("/api/snapshot")
    assert r.headers["content-type"] == "application/json"
    assert QUEUE.encode() in r.content


def test_wrong_method_and_unknown_path_are_json(board: Board) -> None:
    r = board.client.post("/api/snapshot")
    assert r.status_code == 405
    assert r.json()["error"] == "method_not_allowed"
    assert "GET" in r.headers["allow"]
    r = board.client.get("/api/nope")
    assert r.status_code == 404 and r.json() == {"error": "not_found", "detail": "Not Found"}


def test_an_unexpected_failure_is_a_json_500() -> None:
    with running(raise_server_exceptions=False) as b:

        def boom(view: str, selection: Selection = ()) -> dict[str, Any]:
            raise RuntimeError("engine bug")

        b.live.api_view = boom  # type: ignore[method-assign]
        r = b.client.get("/api/snapshot")
        assert r.status_code == 500
        assert r.json()["error"] == "internal"


def test_healthz(board: Board) -> None:
    r = board.client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_readyz_follows_the_source_catch_up() -> None:
    src = ListSource([FIRST_BATCH], ready=False)
    src.state.catch_up = 0.42
    with running(source=src) as b:
        r = b.client.get("/readyz")
        assert r.status_code == 503
        body = r.json()
        assert body["ready"] is False and body["reasons"] == ["source_not_ready"]
        assert body["catch_up"] == 0.42 and body["pump"] == "running"
        src.state.ready, src.state.catch_up = True, 1.0
        r = b.client.get("/readyz")
        assert r.status_code == 200 and r.json()["reasons"] == []


def test_a_dead_pump_fails_readiness_and_marks_every_message_stale(caplog: pytest.LogCaptureFixture) -> None:
    with running() as b:
        with b.client.websocket_connect("/ws") as ws:
            recv_initial(ws)
            b.client.portal.call(b.source.fail, OSError("disk on fire"))  # type: ignore[union-attr]
            b.settle()
            b.tick()  # data (the events came after the start-up tick)
            b.tick()  # heartbeat
            for m in (recv(ws), recv(ws)):
                assert m["source"]["stale"] is True and m["source"]["stale_reason"] == "pump_failed"
                assert "disk on fire" in m["source"]["last_error"]
            assert m["type"] == "heartbeat"
        r = b.client.get("/readyz")
        assert r.status_code == 503
        assert r.json()["reasons"] == ["pump_failed"] and r.json()["pump"] == "failed"
        assert b.client.get("/api/snapshot").json()["source"]["stale"] is True
        assert "wallboard_pump_up 0.0" in b.client.get("/metrics").text
    assert [r.message for r in caplog.records if r.levelname == "ERROR"] == [
        "the source pump died; the board shows its data as stale from now on"
    ]


def test_a_source_that_ends_is_not_an_error() -> None:
    src = ListSource([FIRST_BATCH], hold_open=False)
    with running(source=src) as b:
        r = b.client.get("/readyz")
        assert r.status_code == 200 and r.json()["pump"] == "finished"


def test_the_source_is_told_what_became_of_each_batch() -> None:
    src = ListSource([FIRST_BATCH])
    with running(source=src):
        pass
    rejected = [r for told in src.told for r in told.rejected]
    assert [(r.message.value, r.reason) for r in rejected] == [(b"{not json", "bad_json")]


def source_now(board: Board) -> dict[str, Any]:
    return board.client.get("/api/snapshot").json()["source"]  # type: ignore[no-any-return]


def test_quiet_is_not_stale_a_broken_feed_is(board: Board) -> None:
    """A feed read to its end with nothing new is quiet however long; unreachable, lagging or failed is stale."""
    assert (source_now(board)["state"], source_now(board)["stale"]) == ("fresh", False)
    board.clock.now += 12 * 60  # a quiet night: the newest event 12 min 5 s old
    board.source.state.current_at = board.clock.now - 1  # read to its end a second ago
    block = source_now(board)
    assert block["state"] == "quiet" and block["stale"] is False and block["stale_reason"] is None
    assert block["last_event_age_s"] == 725.0
    board.feed([ev("call.offered", board.clock.now - 1, "i3")])
    assert source_now(board)["state"] == "fresh"
    # not read to its end for longer than stale_after (15 s): lag growing, or reading stalled
    board.source.state.lag = 40
    board.clock.now += 16
    block = source_now(board)
    assert (block["state"], block["stale_reason"], block["stale"]) == ("stale", "lagging", True)
    board.source.state.current_at, board.source.state.lag = board.clock.now, 0
    assert source_now(board)["state"] == "fresh"
    board.source.state.connected = False
    block = source_now(board)
    assert (block["state"], block["stale_reason"]) == ("stale", "disconnected")


def test_a_silence_alarm_during_opening_hours() -> None:
    # T0 is a Monday, 08:53:20 in Shanghai; the newest event of FIRST_BATCH is 5 s older.
    settings = with_overrides(web_settings(), web={"silence_alarm": 600, "opening_hours": "08:00-20:00"})
    with running(settings) as b:
        b.clock.now += 9 * 60
        assert source_now(b)["state"] == "quiet"
        b.clock.now += 60
        block = source_now(b)
        assert (block["state"], block["stale_reason"]) == ("stale", "no_recent_events")
        b.clock.now += 11 * 3600  # 20:03: closed
        assert source_now(b)["state"] == "quiet"


def test_waiting_before_the_first_data() -> None:
    # Kafka never reached: no event, not ready, not connected.
    src = ListSource([], ready=False, connected=False)
    with running(source=src) as b:
        block = source_now(b)
        assert (block["state"], block["stale_reason"]) == ("waiting", "disconnected")
        with b.client.websocket_connect("/ws?views=summary") as ws:
            first = recv_initial(ws)
            assert first["summary"]["source"]["state"] == "waiting"
        src.state.connected, src.state.ready = True, True  # caught up with an empty log
        block = source_now(b)
        assert (block["state"], block["stale"]) == ("waiting", False)
        b.feed([ev("call.offered", b.clock.now - 1, "i9")])
        assert source_now(b)["state"] == "fresh"


def test_metrics_in_the_prometheus_text_format(board: Board) -> None:
    with board.client.websocket_connect("/ws") as ws:
        recv_initial(ws)
        board.tick()
        recv(ws)
        text = board.client.get("/metrics").text
    r = board.client.get("/metrics")
    assert r.headers["content-type"].startswith("text/plain; version=")
    for line in [
        "wallboard_events_total 4.0",
        'wallboard_rejected_total{reason="bad_json"} 1.0',
        "wallboard_duplicates_total 0.0",
        "wallboard_too_late_total 0.0",
        "wallboard_orphans 0.0",
        "wallboard_consumer_lag 0.0",
        "wallboard_source_ready 1.0",
        "wallboard_source_stale 0.0",
        "wallboard_pump_up 1.0",
        "wallboard_last_event_age_seconds 5.0",
        "wallboard_ws_connections_total 1.0",
        "wallboard_source_batches_total 1.0",
    ]:
        assert line in r.text, line
    assert "wallboard_ws_clients 1.0" in text
    assert "wallboard_ws_clients 0.0" in r.text
    assert re.search(r"wallboard_push_latency_seconds_count [1-9]", text)
    assert re.search(r"wallboard_tick_duration_seconds_count [1-9]", text)
    with running(batches=[]) as b:
        assert "wallboard_last_event_age_seconds NaN" in b.client.get("/metrics").text


def test_each_app_has_its_own_registry() -> None:
    with running() as a, running() as b:
        assert a.live.metrics.registry is not b.live.metrics.registry
        assert "wallboard_events_total 4.0" in a.client.get("/metrics").text


# ------------------------------------------------------------ broadcast


def test_broadcast_set_read_and_cleared(board: Board) -> None:
    assert board.client.get("/api/broadcast").json() == {"text": "", "set_at": None}
    r = board.client.post("/api/broadcast", json={"text": "  Fire drill\nat 15:00  "})
    assert r.status_code == 200
    assert r.json() == {"text": "Fire drill at 15:00", "set_at": "2026-11-30T08:53:20.000+08:00"}
    assert board.client.get("/api/broadcast").json()["text"] == "Fire drill at 15:00"
    r = board.client.post("/api/broadcast", json={"text": ""})
    assert r.status_code == 200 and r.json()["text"] == ""
    assert board.client.get("/api/broadcast").json()["text"] == ""


def test_broadcast_reaches_every_connected_board(board: Board) -> None:
    with board.client.websocket_connect("/ws") as a, board.client.websocket_connect("/ws?views=agents") as b:
        assert recv_initial(a)["broadcast"]["text"] == ""
        recv_initial(b)
        board.client.post("/api/broadcast", json={"text": "系统维护 <b>now</b>"})
        for ws in (a, b):
            m = recv(ws)
            assert m["type"] == "broadcast" and m["text"] == "系统维护 <b>now</b>"
            assert m["set_at"] == "2026-11-30T08:53:20.000+08:00"
    with board.client.websocket_connect("/ws") as c:  # a board that connects later gets it at once
        assert recv_initial(c)["broadcast"]["text"] == "系统维护 <b>now</b>"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "bad_json"),
        (b"", 400, "bad_json"),
        (b"\xff\xfe", 400, "bad_json"),
        (b'["text"]', 400, "bad_request"),
        (b'{"message": "hi"}', 400, "bad_request"),
        (b'{"text": 42}', 400, "bad_type"),
        (b'{"text": null}', 400, "bad_type"),
        (b'{"text": ["a"]}', 400, "bad_type"),
        (b'{"text": "a\\u0000b"}', 400, "bad_text"),
        (b'{"text": "a\\u001bb"}', 400, "bad_text"),
        (b'{"text": "\\u202eevil"}', 400, "bad_text"),  # shows backwards on the wall
        (b'{"text": "a\\u200bb"}', 400, "bad_text"),  # zero-width
        (b'{"text": "a\\u0085b"}', 400, "bad_text"),  # C1 control
        (orjson.dumps({"text": "x" * 281}), 400, "too_long"),
        (b'{"text": "' + b"x" * 70_000 + b'"}', 413, "too_large"),
    ],
)
def test_bad_broadcasts_are_clear_4xx(board: Board, body: bytes, status: int, code: str) -> None:
    r = board.client.post("/api/broadcast", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status
    assert r.json()["error"] == code
    assert r.json()["detail"]
    assert board.client.get("/api/broadcast").json()["text"] == ""


def test_broadcast_length_counts_characters_not_bytes(board: Board) -> None:
    r = board.client.post("/api/broadcast", json={"text": "满" * 280})
    assert r.status_code == 200


# ------------------------------------------------------------ WebSocket


def test_hello_then_full_state_then_broadcast(board: Board) -> None:
    with board.client.websocket_connect("/ws?views=snapshot,agents,intraday") as ws:
        msgs = [recv(ws) for _ in range(5)]
    assert [m["type"] for m in msgs] == ["hello", "snapshot", "agents", "intraday", "broadcast"]
    hello = msgs[0]
    assert hello["protocol"] == 3 and hello["push_interval_s"] == PARKED and hello["stale_after_s"] == 15.0
    assert hello["views"] == ["snapshot", "agents", "intraday"]
    assert hello["settings"]["channels"]["sms"]["sl_threshold"] == 60
    assert hello["server_time"] == "2026-11-30T08:53:20.000+08:00"
    snap = msgs[1]
    assert snap["data"]["queues"][QUEUE]["channels"]["call"]["waiting"] == 1
    assert snap["source"]["ready"] is True
    api = board.client.get("/api/snapshot").json()  # the same JSON as the API, less the API's source block
    api.pop("source")
    assert snap["data"] == api
    assert msgs[2]["data"]["agents"][0]["name"] == "Li Lei"
    assert msgs[3]["data"]["interval_s"] == 900
    assert all(m["seq"] <= hello["seq"] for m in msgs[1:])


def test_summary_is_the_same_snapshot_without_the_queues(board: Board) -> None:
    with board.client.websocket_connect("/ws?views=snapshot,summary") as ws:
        msgs = recv_initial(ws)
        assert msgs["hello"]["views"] == ["snapshot", "summary"]
        full, summary = msgs["snapshot"]["data"], msgs["summary"]["data"]
        assert "queues" not in summary and full["queues"]
        assert summary == {k: v for k, v in full.items() if k not in ("queues", "groups")}
        board.tick()  # a tick with changes pushes both, cut from one snapshot
        pushed: dict[str, Any] = {}
        while len(pushed) < 2:
            m = recv(ws)
            if m["type"] in ("snapshot", "summary"):
                pushed[m["type"]] = m
        assert pushed["summary"]["seq"] == pushed["snapshot"]["seq"]
        assert pushed["summary"]["data"] == {
            k: v for k, v in pushed["snapshot"]["data"].items() if k not in ("queues", "groups")
        }
    with board.client.websocket_connect("/ws?views=summary") as ws:
        assert [recv(ws)["type"] for _ in range(3)] == ["hello", "summary", "broadcast"]


def test_default_view_is_the_snapshot(board: Board) -> None:
    with board.client.websocket_connect("/ws") as ws:
        assert [recv(ws)["type"] for _ in range(3)] == ["hello", "snapshot", "broadcast"]
    with board.client.websocket_connect("/ws?views=") as ws:
        assert recv(ws)["views"] == ["snapshot"]


def test_channel_views_carry_their_levels_and_the_settings_name_the_channels(board: Board) -> None:
    with board.client.websocket_connect("/ws?views=snapshot,summary") as ws:
        msgs = recv_initial(ws)
    assert msgs["hello"]["settings"]["channel_names"] == ["call", "sms"]
    limits = ("abandon_rate_warn", "abandon_rate_alarm", "asa_warn", "asa_alarm", "aht_warn", "aht_alarm")
    assert [msgs["hello"]["settings"]["channels"]["call"][k] for k in limits] == [0.05, 0.1, 15, 30, 0, 0]
    call = msgs["snapshot"]["data"]["queues"][QUEUE]["channels"]["call"]
    # One waiting for 5 s (warn at 10 and 20 s), one answered in 10 s (SL 100%).
    assert call["levels"]["waiting"] == "ok" and call["levels"]["longest_wait_s"] == "ok"
    assert call["levels"]["today"] == {"service_level": "ok", "asa_s": "ok", "aht_s": None, "abandon_rate": "ok"}
    assert [s["level"] for s in call["levels"]["longest_wait_steps"]] == ["ok", "warn", "alarm"]
    sms = msgs["snapshot"]["data"]["queues"][QUEUE]["channels"]["sms"]["levels"]
    assert (
        sms["today"] == dict.fromkeys(("service_level", "asa_s", "aht_s", "abandon_rate"))
        and sms["longest_wait_steps"] is None
    )
    assert msgs["summary"]["data"]["totals"]["channels"]["call"]["levels"] == call["levels"]
    assert board.client.get("/api/snapshot").json()["totals"]["channels"]["call"]["levels"] == call["levels"]
    # One waiting, A1 available: the agents are enough (queue, totals, API alike).
    assert msgs["snapshot"]["data"]["queues"][QUEUE]["levels"] == {"agents": {"available": "ok"}}
    assert msgs["summary"]["data"]["totals"]["levels"] == {"agents": {"available": "ok"}}
    assert board.client.get("/api/snapshot").json()["queues"][QUEUE]["levels"] == {"agents": {"available": "ok"}}


def test_a_selection_of_queues_is_summed_by_the_server(board: Board) -> None:
    board.feed(
        [
            ev("call.offered", T0 - 50, "j1", queue="loans"),
            ev("call.answered", T0 - 10, "j1", "loans", "A9"),
            agent_ev(T0 - 40, "A9", queues=("loans", QUEUE)),
        ]
    )
    board.tick()
    url = "/ws?views=selection&queues=" + quote(f"{QUEUE},loans, nosuch,loans")
    with board.client.websocket_connect(url) as ws:
        msgs = recv_initial(ws)
        assert msgs["hello"]["views"] == ["selection"] and msgs["hello"]["queues"] == [QUEUE, "loans", "nosuch"]
        data = msgs["selection"]["data"]
        assert set(data) == {"as_of", "timezone", "window_s", "selection", "status"}
        sel = data["selection"]
        assert (sel["queues"], sel["missing"]) == ([QUEUE, "loans"], ["nosuch"])
        call = sel["channels"]["call"]
        # 信用卡: answered in 10 s, one waiting; loans: answered in 40 s (out of SL).  Counts summed, SL 1 of 2.
        assert (call["today"]["answered"], call["today"]["answered_in_sl"], call["waiting"]) == (2, 1, 1)
        assert call["today"]["service_level"] == 0.5 and call["today"]["asa_s"] == 25.0
        assert call["levels"]["today"]["service_level"] == "alarm"  # 50% against the channel's 80%
        assert sel["settings"]["call"]["sl_target"] == 0.8
        assert sel["agents"]["available"] == 2  # A1 and A9, A9 once although it serves both
        assert sel["levels"] == {"agents": {"available": "ok"}}  # 2 available, 1 waiting
        # The same block from the JSON API.
        api = board.client.get("/api/snapshot", params={"queues": f"{QUEUE},loans,nosuch"}).json()
        assert api["selection"] == sel
        # A tick with a change sends the selection again, and a resync too.
        board.feed([ev("call.offered", T0 - 1, "j2", queue="loans")])
        board.tick()
        pushed = recv(ws)
        assert pushed["type"] == "selection" and pushed["data"]["selection"]["channels"]["call"]["waiting"] == 2
        ws.send_text('{"type": "resync"}')
        assert [recv(ws)["type"] for _ in range(2)] == ["selection", "broadcast"]
    deadline = time.monotonic() + 5
    while len(board.live.hub):
        assert time.monotonic() < deadline, "the server did not see the client go"
        time.sleep(0.001)
    board.tick()
    assert not [key for key in board.live._current if key[0] == "selection"], "nobody watches it any more"


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("views=selection", "needs the queues"),
        ("views=selection&queues=,%20,", "needs the queues"),
        ("views=selection&queues=" + ",".join(f"q{n}" for n in range(101)), "at most 100 queues"),
        ("views=selection&queues=" + "x" * 65, "at most 64 characters"),
    ],
)
def test_a_selection_is_refused_with_1008(board: Board, query: str, reason: str) -> None:
    with board.client.websocket_connect("/ws?" + query) as ws:
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_text()
    assert info.value.code == 1008 and reason in info.value.reason


def test_the_api_refuses_a_bad_selection(board: Board) -> None:
    r = board.client.get("/api/snapshot", params={"queues": "x" * 65})
    assert r.status_code == 400 and r.json()["error"] == "bad_selection"
    assert "selection" not in board.client.get("/api/snapshot").json()
    assert "selection" not in board.client.get("/api/snapshot?queues=").json()


def test_unknown_view_is_closed_with_1008(board: Board) -> None:
    with board.client.websocket_connect("/ws?views=snapshot,bogus") as ws:
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_text()
    assert info.value.code == 1008
    assert "bogus" in info.value.reason and "snapshot, summary, selection, board, agents, intraday" in info.value.reason


def test_ticks_send_data_when_it_changed_else_a_heartbeat(board: Board) -> None:
    with board.client.websocket_connect("/ws") as ws:
        hello = recv_initial(ws)["hello"]
        seq = hello["seq"]
        board.tick()  # events arrived since the start-up tick: data
        snap = recv(ws)
        assert snap["type"] == "snapshot" and snap["seq"] == seq + 1
        board.tick()  # nothing changed: a heartbeat naming the newest data message
        hb = recv(ws)
        assert hb == {
            "type": "heartbeat",
            "seq": seq + 2,
            "server_time": hb["server_time"],
            "data_seq": seq + 1,
            "source": hb["source"],
        }
        assert hb["source"]["ready"] is True
        board.feed([ev("call.abandoned", T0 - 1, "i2")])
        board.tick()
        snap = recv(ws)
        assert snap["type"] == "snapshot" and snap["seq"] == seq + 3
        assert snap["data"]["queues"][QUEUE]["channels"]["call"]["today"]["abandoned"] == 1


def test_agents_and_intraday_are_built_only_for_subscribers(board: Board) -> None:
    calls: list[str] = []
    real = board.live.build_view

    def counting(view: str, selection: tuple[str, ...] = ()) -> Any:
        calls.append(view)
        return real(view, selection)

    board.live.build_view = counting  # type: ignore[method-assign]
    with board.client.websocket_connect("/ws") as ws:
        recv_initial(ws)
        calls.clear()
        board.feed([agent_ev(T0 - 1, "A2")])
        board.tick()
        assert recv(ws)["type"] == "snapshot"
        assert calls == ["snapshot"]
    with board.client.websocket_connect("/ws?views=agents") as ws:
        assert [recv(ws)["type"] for _ in range(3)] == ["hello", "agents", "broadcast"]
        calls.clear()
        board.feed([agent_ev(T0, "A3")])
        board.tick()
        assert recv(ws)["type"] == "agents"  # the snapshot is built too, and goes to nobody here
        assert calls == ["snapshot", "agents"]


def test_one_serialisation_per_tick_for_all_clients(board: Board) -> None:
    made: list[str] = []
    real = board.live._make

    def counting(slot: str, *args: Any, **kwargs: Any) -> Any:
        made.append(slot)
        return real(slot, *args, **kwargs)

    board.live._make = counting  # type: ignore[method-assign]
    with board.client.websocket_connect("/ws") as a, board.client.websocket_connect("/ws") as b:
        recv_initial(a)
        recv_initial(b)
        made.clear()
        board.tick()
        assert recv(a) == recv(b)
        assert made == ["snapshot"]  # one serialisation, two clients


def test_ping_is_answered_with_a_heartbeat(board: Board) -> None:
    with board.client.websocket_connect("/ws") as ws:
        hello = recv_initial(ws)["hello"]
        ws.send_text('{"type": "ping"}')
        hb = recv(ws)
        assert hb["type"] == "heartbeat" and hb["seq"] == hello["seq"] and hb["data_seq"] == hello["seq"]


def test_resync_sends_every_view_in_full(board: Board) -> None:
    with board.client.websocket_connect("/ws?views=snapshot,intraday") as ws:
        recv_initial(ws)
        ws.send_text('{"type": "resync"}')
        assert [recv(ws)["type"] for _ in range(3)] == ["snapshot", "intraday", "broadcast"]
        board.feed([ev("call.offered", T0, "i9")])
        board.tick()  # (a resync between ticks gets the views built at most once per push interval)
        pushed = {m["type"]: m for m in (recv(ws) for _ in range(2))}
        assert pushed["snapshot"]["data"]["queues"][QUEUE]["channels"]["call"]["waiting"] == 2
        ws.send_text('{"type": "resync"}')
        snap = recv(ws)
        assert snap["type"] == "snapshot" and snap["data"] == pushed["snapshot"]["data"]


def test_unknown_client_message_types_are_ignored(board: Board) -> None:
    with board.client.websocket_connect("/ws") as ws:
        recv_initial(ws)
        ws.send_text('{"type": "subscribe", "views": ["x"]}')
        ws.send_text('{"no_type": 1}')
        ws.send_text('{"type": "ping"}')
        assert recv(ws)["type"] == "heartbeat"  # still served


@pytest.mark.parametrize(
    ("send", "code"),
    [
        (lambda ws: ws.send_bytes(b'{"type": "ping"}'), 1003),
        (lambda ws: ws.send_text("{not json"), 1007),
        (lambda ws: ws.send_text('["ping"]'), 1007),
        (lambda ws: ws.send_text('{"type": "ping", "pad": "' + "x" * 5000 + '"}'), 1009),
    ],
)
def test_bad_client_messages_close_with_a_clear_code(board: Board, send: Any, code: int) -> None:
    with board.client.websocket_connect("/ws") as ws:
        recv_initial(ws)
        send(ws)
        with pytest.raises(WebSocketDisconnect) as info:
            while True:
                recv(ws)
    assert info.value.code == code and info.value.reason
    assert len(board.live.hub) == 0
    assert 'wallboard_ws_dropped_total{reason="protocol"} 1.0' in board.client.get("/metrics").text


def test_disconnect_unsubscribes(board: Board) -> None:
    with board.client.websocket_connect("/ws?views=agents") as ws:
        recv_initial(ws)
        assert len(board.live.hub) == 1 and board.live.hub.wants("agents")
    board.settle()
    assert len(board.live.hub) == 0 and not board.live.hub.wants("agents")


def test_shutdown_closes_clients_with_1012() -> None:
    with running() as b, b.client.websocket_connect("/ws") as ws:
        recv_initial(ws)
        b.client.portal.call(b.live.hub.close)  # type: ignore[union-attr]
        with pytest.raises(WebSocketDisconnect) as info:
            recv(ws)
        assert info.value.code == 1012


def test_day_rolls_over_at_midnight_without_events(board: Board) -> None:
    with board.client.websocket_connect("/ws?views=snapshot,intraday") as ws:
        recv_initial(ws)
        board.tick()
        assert recv(ws)["data"]["totals"]["channels"]["call"]["today"]["offered"] == 2
        recv(ws)
        board.tick()
        assert recv(ws)["type"] == "heartbeat"
        midnight = 1_796_054_400  # 2026-12-01T00:00:00+08:00
        board.clock.now = midnight
        board.tick()
        snap = recv(ws)
        assert snap["type"] == "snapshot"
        assert snap["data"]["as_of"] == "2026-12-01T00:00:00+08:00"
        assert snap["data"]["totals"]["channels"]["call"]["today"]["offered"] == 0
        assert snap["data"]["totals"]["channels"]["call"]["waiting"] == 1  # still waiting since yesterday
        intraday = recv(ws)
        assert intraday["type"] == "intraday" and intraday["data"]["day_start"] == "2026-12-01T00:00:00+08:00"


def test_a_new_intraday_interval_is_pushed_without_events(board: Board) -> None:
    with board.client.websocket_connect("/ws?views=intraday") as ws:
        recv_initial(ws)
        board.tick()
        n = len(recv(ws)["data"]["intervals"])
        board.clock.now = 1_796_000_400  # 09:00, the next quarter-hour; the window still holds the events
        board.tick()
        m = recv(ws)
        assert m["type"] == "intraday" and len(m["data"]["intervals"]) == n + 1


def test_a_failing_tick_keeps_heartbeats_going_and_says_stale(board: Board, caplog: pytest.LogCaptureFixture) -> None:
    real = board.live.build_view

    def broken(view: str, selection: Selection = ()) -> Any:
        raise ZeroDivisionError("engine bug")

    with board.client.websocket_connect("/ws") as ws:
        recv_initial(ws)
        board.live.build_view = broken  # type: ignore[method-assign]
        board.feed([ev("call.offered", T0, "i7")])
        board.tick()
        board.tick()
        for _ in range(2):
            hb = recv(ws)
            assert hb["type"] == "heartbeat" and hb["source"]["stale_reason"] == "tick_failed"
        r = board.client.get("/readyz")
        assert r.status_code == 503 and r.json()["reasons"] == ["tick_failed"]
        board.live.build_view = real  # type: ignore[method-assign]
        board.tick()
        snap = recv(ws)
        assert snap["type"] == "snapshot" and snap["source"]["stale"] is False
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1  # logged once, not once per tick


def test_the_real_tick_loop_runs_at_push_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    monkeypatch.setattr("wallboard.web.gc_schedule.FULL_GC_EVERY_S", 0.0)  # a full collection between every two ticks
    thresholds = gc.get_threshold()
    with running(web_settings(push_interval=0.25)) as b, b.client.websocket_connect("/ws") as ws:
        assert gc.get_threshold()[2] == 1_000_000  # full collections are the tick loop's while the app runs
        first = recv_initial(ws)["hello"]["seq"]
        seqs = [recv(ws)["seq"] for _ in range(4)]
        assert seqs == list(range(seqs[0], seqs[0] + 4)) and seqs[0] > first - 1
    assert gc.get_threshold() == thresholds


# ------------------------------------------------- a real server and socket


def test_a_client_that_stops_reading_is_dropped_with_1013(monkeypatch: pytest.MonkeyPatch) -> None:
    """Through uvicorn and a real TCP socket: a board whose network stalls is closed with 1013, never queued for."""
    monkeypatch.setattr("wallboard.web.routes.CLOSE_GRACE", 10.0)
    # 400 queues make a snapshot of ~0.5 MB; pushed 4 times a second it fills any socket buffer quickly.
    now = time.time()
    batch = [ev("call.offered", now - 10, f"i{n}", queue=f"queue-{n:03d}") for n in range(400)]
    src = ListSource([batch])
    app = create_app(web_settings(push_interval=0.25, slow_client_timeout=0.5), src, clock=time.time)
    live: Live = app.state.live
    real = live._state_key
    live._state_key = lambda: (*real()[:3], time.monotonic_ns())  # type: ignore[method-assign]  # data each tick
    with in_thread(app) as address:
        # a small window, as over a stalled link
        with rawws.connect(address, rcvbuf=4096) as sock:
            deadline = time.monotonic() + 30
            while live.hub.dropped == 0:  # read nothing until the server gives up on us
                assert time.monotonic() < deadline, "the stalled client was never dropped"
                time.sleep(0.05)
            frames, code, _ = rawws.read_until_close(sock)
            assert code == 1013
            assert frames  # what the buffers held, then the close frame
        deadline = time.monotonic() + 5
        while len(live.hub):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert 'wallboard_ws_dropped_total{reason="slow"} 1.0' in generate_latest_text(live)


def generate_latest_text(live: Live) -> str:
    from prometheus_client import generate_latest

    return generate_latest(live.metrics.registry).decode()


def test_a_connect_storm_between_ticks_builds_each_view_once(board: Board, monkeypatch: pytest.MonkeyPatch) -> None:
    """At 10x the bank's rate the engine changes between any two connects; the views are built once per push
    interval for all of them, not once per connect (the soak's handshake storm: bench/soak.py)."""
    built: list[str] = []
    make = board.live._data_message

    def counting(view: str, *args: Any, **kwargs: Any) -> Any:
        built.append(view)
        return make(view, *args, **kwargs)

    monkeypatch.setattr(board.live, "_data_message", counting)
    board.feed([ev("call.offered", T0, "i9")])  # the engine moved since the last tick
    for n in range(5):
        board.feed([ev("call.offered", T0, f"storm{n}")])
        with board.client.websocket_connect("/ws?views=snapshot,agents") as ws:
            assert [recv(ws)["type"] for _ in range(4)] == ["hello", "snapshot", "agents", "broadcast"]
    assert sorted(built) == ["agents", "snapshot"]
    board.tick()  # the tick publishes what came since: the storm's calls are all there
    with board.client.websocket_connect("/ws?views=snapshot") as ws:
        snap = [recv(ws) for _ in range(2)][1]
        assert snap["data"]["queues"][QUEUE]["channels"]["call"]["waiting"] == 7


# ------------------------------------------------------------------- deltas


def next_of(ws: Any, types: set[str]) -> dict[str, dict[str, Any]]:
    """Read until one message of each of ``types`` came (others skipped), keyed by type."""
    got: dict[str, dict[str, Any]] = {}
    while set(got) != types:
        m = recv(ws)
        if m["type"] in types:
            got[m["type"]] = m
    return got


def api(board: Board, view: str) -> dict[str, Any]:
    body: dict[str, Any] = board.client.get(f"/api/{view}").json()
    body.pop("source")
    return body


def test_deltas_after_the_first_full_views_equal_the_full_views(board: Board) -> None:
    from wallboard.deltas import apply_agents_delta, apply_intraday_delta

    with (
        board.client.websocket_connect("/ws?views=agents,intraday&deltas=1") as ws,
        board.client.websocket_connect("/ws?views=agents,intraday") as old,
    ):
        initial = recv_initial(ws)
        assert initial["hello"]["deltas"] is True and recv_initial(old)["hello"]["deltas"] is False
        # The views sent on connect (built between ticks, here before the first one) are the base.
        agents, intraday = initial["agents"]["data"], initial["intraday"]["data"]
        seq = initial["agents"]["seq"]
        late: Any = None
        for n, batch in enumerate(
            [
                [agent_ev(T0 - 10, "A2", "busy"), ev("call.offered", T0 - 3, "i3")],
                [agent_ev(T0 - 9, "A1", "break")],
                [ev("call.answered", T0 - 2, "i3", agent="A2")],
                [agent_ev(T0 - 1, "A3", "available")],
            ]
        ):
            board.feed(batch)
            if n == 3:  # a client connecting between two ticks, on a view no tick sent: it gets deltas too
                late = board.client.websocket_connect("/ws?views=agents,intraday&deltas=1").__enter__()
                late_initial = recv_initial(late)
                late_agents, late_intraday = late_initial["agents"]["data"], late_initial["intraday"]["data"]
            board.tick()
            got = next_of(ws, {"agents_delta", "intraday_delta"})
            for m in got.values():
                assert m["base_seq"] == seq and m["seq"] > seq
            agents = apply_agents_delta(agents, got["agents_delta"]["data"])
            intraday = apply_intraday_delta(intraday, got["intraday_delta"]["data"])
            assert agents == api(board, "agents") and intraday == api(board, "intraday"), n
            seq = got["agents_delta"]["seq"]
            full = next_of(old, {"agents", "intraday"})  # a client without deltas=1 gets full views
            while full["agents"]["seq"] < seq or full["intraday"]["seq"] < seq:
                full = next_of(old, {"agents", "intraday"})
            assert full["agents"]["data"] == agents and full["intraday"]["data"] == intraday
        assert [r["agent_id"] for r in agents["agents"]] == ["A1", "A2", "A3"]
        delta = got["agents_delta"]["data"]
        assert [r["agent_id"] for r in delta["upserts"]] == ["A3"] and delta["removed"] == []  # only the change
        late_got = next_of(late, {"agents_delta", "intraday_delta"})
        assert apply_agents_delta(late_agents, late_got["agents_delta"]["data"]) == agents
        assert apply_intraday_delta(late_intraday, late_got["intraday_delta"]["data"]) == intraday
        late.__exit__(None, None, None)
        ws.send_text('{"type": "resync"}')  # a resync gets the full views
        again = next_of(ws, {"agents", "intraday"})
        assert again["agents"]["data"] == agents and again["intraday"]["data"] == intraday


@pytest.mark.parametrize("value", ["yes", "2", "true"])
def test_a_bad_deltas_parameter_is_closed_with_1008(board: Board, value: str) -> None:
    with board.client.websocket_connect(f"/ws?views=agents&deltas={value}") as ws:
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_text()
    assert info.value.code == 1008 and "deltas is 0 or 1" in info.value.reason

"""The TV and supervisor pages in real headless Chromium (Playwright), against the real app.

Each board runs `create_app` under uvicorn in a subprocess on 127.0.0.1 (`AppProcess` of
tests/servers.py, so that a test can stop it and start it again on the same port), as
`wallboard serve` runs it, fed by a fixed set of events through the in-memory source, with
the clock frozen: every snapshot has the same `as_of`, so the pages and /api/snapshot can
be compared number for number.

The expected texts are computed here from the JSON API with the display rules of
docs/board.md (rounding, dashes), independently of the pages' JavaScript.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from random import Random
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, WebSocketRoute, sync_playwright
from starlette.applications import Starlette

from tests.servers import AppProcess, in_thread
from wallboard.settings import parse_settings
from wallboard.sources.memory import ListSource
from wallboard.web.app import create_app

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("WALLBOARD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

ZONE = "Asia/Shanghai"
NOW = int(datetime(2026, 11, 29, 10, 15, 0, tzinfo=ZoneInfo(ZONE)).timestamp())
EVIL = "<img src=x onerror=alert(1)>"
DASH = "\u2013"
STATES = ("available", "busy", "wrap_up", "break", "offline")
EN_STATE = {"available": "Available", "busy": "Busy", "wrap_up": "Wrap-up", "break": "Break", "offline": "Offline"}

SETTINGS: dict[str, Any] = {
    "timezone": ZONE,
    "channels": {
        "call": {
            "sl_threshold": 20,
            "short_abandon": 5,
            "sl_target": 0.8,
            "waiting_warn": 2,
            "waiting_alarm": 5,
            "longest_wait_warn": 20,
            "longest_wait_alarm": 60,
        },
        "sms": {"sl_threshold": 60, "short_abandon": 0, "sl_formula": "abandons_positive"},
    },
    "queues": {"信用卡": {"call": {"sl_threshold": 30, "sl_formula": "abandons_ignored"}}},
    "web": {"push_interval": 0.5, "stale_after": 4},
}


# ---------------------------------------------------------------------------------------------- the events


def make_events() -> list[dict[str, Any]]:
    """A morning of a small contact centre, up to NOW: every case the pages must show right.

    - credit-card: calls and SMS, answered inside and outside SL, short and long abandons,
      two calls waiting (35 s and 12 s);
    - 信用卡: calls only, with its own SL threshold and formula; one waiting;
    - loans: two calls; SMS never seen (every SMS rate undefined);
    - EVIL: a queue named like markup, one call waiting;
    - quiet: served by an agent, no interaction at all (every rate undefined, nothing waiting).
    """
    rng = Random(20261129)
    events: list[dict[str, Any]] = []
    n = 0

    def add(**fields: Any) -> None:
        nonlocal n
        n += 1
        fields.setdefault("event_id", f"ev-{n:05d}")
        events.append(fields)

    def interaction(
        channel: str, queue: str, offered: float, wait: float | None, outcome: str, handle: float | None, agent: str
    ) -> None:
        iid = f"{channel}-{queue}-{len(events)}"
        add(type=f"{channel}.offered", ts=int(offered * 1000), interaction_id=iid, queue=queue)
        if outcome == "waiting" or wait is None:
            return
        at = offered + wait
        if outcome == "abandoned":
            add(type=f"{channel}.abandoned", ts=int(at * 1000), interaction_id=iid, queue=queue)
            return
        add(type=f"{channel}.answered", ts=int(at * 1000), interaction_id=iid, queue=queue, agent_id=agent)
        if handle is not None and at + handle <= NOW:
            add(
                type=f"{channel}.completed",
                ts=int((at + handle) * 1000),
                interaction_id=iid,
                queue=queue,
                agent_id=agent,
            )

    start = NOW - 2 * 3600 - 15 * 60  # 08:00 local
    for queue, rate, agents in (("credit-card", 1 / 40, ["a01", "a02", "a03"]), ("信用卡", 1 / 70, ["a03", "a04"])):
        t = float(start)
        while True:
            t += rng.expovariate(rate)
            wait = rng.choice([3.2, 8.0, 14.7, 19.9, 20.0, 24.5, 31.0, 47.3, 75.0])
            if t + wait >= NOW - 40:
                break
            outcome = "abandoned" if rng.random() < 0.12 else "answered"
            if outcome == "abandoned":
                wait = rng.choice([1.5, 4.9, 12.0, 28.0, 66.0])
            interaction("call", queue, t, wait, outcome, rng.uniform(60, 420), rng.choice(agents))
    t = float(start)
    while True:
        t += rng.expovariate(1 / 300)
        wait = rng.choice([25.0, 55.0, 61.0, 140.0])
        if t + wait >= NOW - 40:
            break
        outcome = "abandoned" if rng.random() < 0.15 else "answered"
        interaction("sms", "credit-card", t, wait, outcome, rng.uniform(100, 900), "a02")
    interaction("call", "loans", NOW - 1500, 9.0, "answered", 200.0, "a05")
    interaction("call", "loans", NOW - 5000, 42.0, "answered", 300.0, "a05")
    interaction("call", EVIL, NOW - 1200, 5.5, "answered", 100.0, "x1")
    interaction("call", EVIL, NOW - 900, 30.0, "abandoned", None, "x1")
    # Waiting now.
    interaction("call", "credit-card", NOW - 35.4, None, "waiting", None, "")
    interaction("call", "credit-card", NOW - 12.0, None, "waiting", None, "")
    interaction("call", "信用卡", NOW - 8.25, None, "waiting", None, "")
    interaction("call", EVIL, NOW - 65.0, None, "waiting", None, "")

    roster = [
        ("a01", "Wang Fang", "Team A", ["credit-card"], "busy", 400),
        ("a02", "李娜", "Team A", ["credit-card"], "available", 95),
        ("a03", "Zhang Wei", "Team B", ["credit-card", "信用卡"], "wrap_up", 20),
        ("a04", "刘洋", "Team B", ["信用卡"], "break", 700),
        ("a05", "Chen Jie", "Team B", ["loans", "credit-card"], "available", 3700),
        ("a06", None, None, ["quiet"], "offline", 5000),
        ("x1", EVIL, "<b>team</b>", [EVIL, "credit-card"], "busy", 61),
        # The newest event, a second before NOW: the source counts as live (no "no_recent_events").
        ("a07", "Zhou Min", "Team A", ["loans"], "available", 1),
    ]
    for agent_id, name, team, queues, state, ago in roster:
        fields: dict[str, Any] = {
            "type": "agent.state",
            "ts": (NOW - ago) * 1000,
            "agent_id": agent_id,
            "state": state,
            "queues": queues,
        }
        if name is not None:
            fields["name"] = name
        if team is not None:
            fields["team"] = team
        add(**fields)
    return events


# ---------------------------------------------------------------------------------------------- the server


def board_app(config: str) -> Starlette:
    """The real app fed by a file of events, with a frozen clock (served in a subprocess by `Board`)."""
    cfg = json.loads(Path(config).read_text(encoding="utf-8"))
    settings = parse_settings(cfg["settings"], environ={})
    with open(cfg["events"], "rb") as fh:
        messages = [line.rstrip(b"\n") for line in fh if line.strip()]
    now = float(cfg["now"])
    clock_file = cfg.get("clock_file")
    if clock_file:  # a clock the test moves: NOW + the seconds written in this file
        return create_app(settings, ListSource([messages]), clock=lambda: now + float(Path(clock_file).read_text()))
    return create_app(settings, ListSource([messages]), clock=lambda: now)


class Board:
    """The real app in a subprocess; stop() and start() again keep the port."""

    def __init__(
        self,
        workdir: Path,
        settings: dict[str, Any] = SETTINGS,
        extra: Sequence[dict[str, Any]] = (),
        clock_file: Path | None = None,
    ) -> None:
        events = workdir / "events.jsonl"
        made = make_events() + list(extra)
        self.events = len(made)
        events.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in made), encoding="utf-8")
        config = workdir / "board.json"
        cfg = {"settings": settings, "events": str(events), "now": NOW, "clock_file": str(clock_file or "")}
        config.write_text(json.dumps(cfg), encoding="utf-8")
        self.server = AppProcess.factory(
            f"{__name__}:board_app", str(config), log=workdir / "board.log", ready=self._all_events_in
        )
        self.port = self.server.port
        self.url = self.server.url

    def _all_events_in(self, server: AppProcess) -> bool:
        # Up once every event is in (the pump feeds the engine after the server starts).
        return bool(server.get("/api/snapshot")["status"]["events"] >= self.events)

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()

    def get(self, path: str) -> Any:
        return self.server.get(path)

    def post(self, path: str, body: Any, token: str | None = None) -> tuple[int, Any]:
        req = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
        )
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.read()


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    b = Board(tmp_path_factory.mktemp("board"))
    b.start()
    yield b
    b.stop()


# Long queue names, as real centres have them: they must fit on the TV and be readable on a laptop.
LONG_QUEUES = [
    "信用卡中心白金卡客户服务与分期业务咨询热线",
    "个人住房按揭贷款提前还款及利率调整咨询专线",
    "Corporate banking: cash management and trade finance support",
]


def many_queue_events() -> list[dict[str, Any]]:
    """Fifteen more queues (three with long names), each with calls and SMS answered today and one call waiting."""
    names = LONG_QUEUES + [f"queue-{i:02d}" for i in range(12)]
    events: list[dict[str, Any]] = []
    for qi, queue in enumerate(names):
        for k, (channel, wait) in enumerate((("call", 12.0), ("call", 41.0), ("sms", 70.0), ("call", None))):
            iid = f"many-{qi}-{k}"
            offered = (NOW - 3000 + qi * 60 + k * 10) * 1000
            events.append(
                {
                    "event_id": iid + "-o",
                    "type": f"{channel}.offered",
                    "ts": offered,
                    "interaction_id": iid,
                    "queue": queue,
                }
            )
            if wait is not None:
                events.append(
                    {
                        "event_id": iid + "-a",
                        "type": f"{channel}.answered",
                        "ts": offered + int(wait * 1000),
                        "interaction_id": iid,
                        "queue": queue,
                        "agent_id": "a01",
                    }
                )
    return events


@pytest.fixture(scope="module")
def busy_board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    """The board of `board` with fifteen more queues: long names, many rows."""
    b = Board(tmp_path_factory.mktemp("busy"), extra=many_queue_events())
    b.start()
    yield b
    b.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        br = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield br
        br.close()


class Watched:
    """A page whose script errors, console errors and dialogs are recorded (a dialog means injected code ran)."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.allowed: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("console", self._console)
        page.on("dialog", self._dialog)

    def _console(self, msg: ConsoleMessage) -> None:
        # A refused WebSocket while the server is down is expected; anything else is not.
        if (
            msg.type == "error"
            and "WebSocket" not in msg.text
            and "ERR_CONNECTION_REFUSED" not in msg.text
            and not any(a in msg.text for a in self.allowed)
        ):
            self.errors.append(msg.text)

    def _dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def check(self) -> None:
        assert self.errors == [], self.errors
        assert self.dialogs == [], f"injected script ran: {self.dialogs}"


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Any]:
    contexts = []
    watched: list[Watched] = []

    def opener(url: str, *, locale: str = "en-US", width: int = 1920, height: int = 1080) -> Watched:
        ctx = browser.new_context(
            locale=locale, viewport={"width": width, "height": height}, timezone_id="Europe/London"
        )
        contexts.append(ctx)
        w = Watched(ctx.new_page())
        watched.append(w)
        w.page.goto(url)
        return w

    yield opener
    for ctx in contexts:
        ctx.close()
    for w in watched:
        w.check()


def wait_state(page: Page, state: str, timeout: float = 10_000) -> None:
    page.wait_for_function("s => document.body.dataset.state === s", arg=state, timeout=timeout)


def snapshot_at_page_as_of(board: Board, page: Page) -> dict[str, Any]:
    """/api/snapshot at the as_of the page shows (the clock is frozen, so they meet at once)."""
    for _ in range(50):
        as_of = page.evaluate("document.body.dataset.asOf")
        snap = board.get("/api/snapshot")
        if snap["as_of"] == as_of:
            return dict(snap)
        time.sleep(0.1)
    raise AssertionError(f"page as_of {as_of} never met the API's {snap['as_of']}")


# ---------------------------------------------------------------------------------------------- display rules


def js_round(x: float) -> int:
    return math.floor(x + 0.5)  # Math.round: half up


def fmt_pct(v: float | None) -> str:
    return DASH if v is None else f"{js_round(v * 100)}%"


def fmt_count(v: int | None) -> str:
    return DASH if v is None else f"{v:,}"  # thousands separated, as zh-CN and en both write them


def fmt_clock(s: int) -> str:
    h, m, sec = s // 3600, (s % 3600) // 60, s % 60
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def fmt_wait(v: float | None) -> str:
    if v is None:
        return DASH
    s = js_round(max(0.0, v))
    return f"{s} s" if s < 60 else fmt_clock(s)


def fmt_mss(v: float | None) -> str:
    return DASH if v is None else fmt_clock(js_round(max(0.0, v)))


def parse_wait(text: str) -> int:
    text = text.replace(" s", "").replace(" 秒", "")
    parts = [int(p) for p in text.split(":")]
    total = 0
    for p in parts:
        total = total * 60 + p
    return total


def channel_settings(queue: str | None, channel: str) -> dict[str, Any]:
    defaults = {
        "call": {"sl_threshold": 20, "sl_formula": "abandons_negative", "sl_target": 0.8},
        "sms": {"sl_threshold": 60, "sl_formula": "abandons_negative", "sl_target": 0.8},
    }[channel]
    out = {**defaults, **SETTINGS["channels"].get(channel, {})}
    if queue is not None:
        out.update(SETTINGS["queues"].get(queue, {}).get(channel, {}))
    return out


def service_level(c: dict[str, Any], formula: str) -> float | None:
    handled = c["answered"] + c["abandoned"] - c["short_abandoned"]
    num, den = c["answered_in_sl"], handled
    if formula == "abandons_ignored":
        den = handled - c["abandoned_in_sl"]
    elif formula == "abandons_positive":
        num = c["answered_in_sl"] + c["abandoned_in_sl"]
    return num / den if den > 0 else None


COUNTS = ("offered", "answered", "abandoned", "short_abandoned", "answered_in_sl", "abandoned_in_sl", "completed")


def sum_periods(periods: list[dict[str, Any]], formula: str) -> dict[str, Any]:
    """Several queues' period objects added: counts summed, rates recomputed from the sums."""
    out: dict[str, Any] = dict.fromkeys(COUNTS, 0)
    wait_sum = handle_sum = 0.0
    for p in periods:
        for f in COUNTS:
            out[f] += p[f]
        if p["answered"] > 0 and p["asa_s"] is not None:
            wait_sum += p["asa_s"] * p["answered"]
        if p["completed"] > 0 and p["aht_s"] is not None:
            handle_sum += p["aht_s"] * p["completed"]
    counted = out["answered"] + out["abandoned"] - out["short_abandoned"]
    out["service_level"] = service_level(out, formula)
    out["asa_s"] = wait_sum / out["answered"] if out["answered"] else None
    out["aht_s"] = handle_sum / out["completed"] if out["completed"] else None
    out["abandon_rate"] = (out["abandoned"] - out["short_abandoned"]) / counted if counted > 0 else None
    return out


def tv_expected(chan: dict[str, Any]) -> dict[str, str]:
    w, t = chan["window"], chan["today"]
    return {
        "waiting": fmt_count(chan["waiting"]),
        "sl_window": fmt_pct(w["service_level"]),
        "sl_today": fmt_pct(t["service_level"]),
        "asa_window": fmt_wait(w["asa_s"]),
        "abandon_window": fmt_pct(w["abandon_rate"]),
        "offered_today": fmt_count(t["offered"]),
        "answered_today": fmt_count(t["answered"]),
        "abandoned_today": fmt_count(t["abandoned"]),
    }


def tv_tiles(page: Page, channel: str) -> dict[str, str]:
    return dict(
        page.evaluate(
            """ch => Object.fromEntries(Array.from(
               document.querySelectorAll('.channel[data-channel="' + ch + '"] .tile')).map(
               t => [t.dataset.metric, t.querySelector('.tile-value').textContent]))""",
            channel,
        )
    )


def assert_longest_wait(shown: str, api_value: float | None) -> None:
    if api_value is None:
        assert shown == DASH
        return
    # It ticks from `since` in the browser: at least the API's value, at most a few seconds more.
    assert math.floor(api_value) <= parse_wait(shown) <= api_value + 3, (shown, api_value)


# ---------------------------------------------------------------------------------------------- TV


def test_tv_numbers_equal_the_api(board: Board, open_page: Any) -> None:
    w = open_page(board.url + "/tv?lang=en")
    page = w.page
    wait_state(page, "fresh")
    snap = snapshot_at_page_as_of(board, page)
    for channel in ("call", "sms"):
        chan = snap["totals"]["channels"][channel]
        tiles = tv_tiles(page, channel)
        expected = tv_expected(chan)
        assert {k: tiles[k] for k in expected} == expected, channel
        assert_longest_wait(tiles["longest_wait"], chan["longest_wait_s"])
    for state in ("available", "busy", "wrap_up", "break"):
        shown = page.text_content(f'#agents-strip [data-agent-state="{state}"] .agent-value')
        assert shown == str(snap["totals"]["agents"][state])
    # The formula in force is stated on each channel.
    call_formula = page.text_content('.channel[data-channel="call"] [data-role="formula"]') or ""
    assert "SL = answered ≤20 s / (answered + abandoned − short abandons)" in call_formula
    sms_formula = page.text_content('.channel[data-channel="sms"] [data-role="formula"]') or ""
    assert sms_formula.startswith("SL = (answered ≤60 s + abandoned ≤60 s)")
    assert page.is_hidden("#stale-banner")
    assert page.text_content("#status-pill") == "LIVE"
    # Times are the centre's (Asia/Shanghai), whatever the browser's zone (Europe/London here).
    assert page.text_content("#as-of") == "Data as of 10:15:00"


def test_tv_colours_follow_the_thresholds(board: Board, open_page: Any) -> None:
    page = open_page(board.url + "/tv?lang=en&queues=credit-card").page
    wait_state(page, "fresh")
    snap = snapshot_at_page_as_of(board, page)
    chan = snap["queues"]["credit-card"]["channels"]["call"]
    target = channel_settings("credit-card", "call")["sl_target"]

    def sl_level(v: float | None) -> str:
        if v is None:
            return "none"
        shown, goal = js_round(v * 100), target * 100  # as the board shows it: whole percent
        return "ok" if shown >= goal else "warn" if shown >= goal - 5 else "alarm"

    level = dict(
        page.evaluate("""() => Object.fromEntries(Array.from(
        document.querySelectorAll('.channel[data-channel="call"] .tile'))
        .map(t => [t.dataset.metric, t.dataset.level]))""")
    )
    assert level["sl_window"] == sl_level(chan["window"]["service_level"])
    assert level["sl_today"] == sl_level(chan["today"]["service_level"])
    # Two waiting, warn at 2, alarm at 5: amber.  Longest 35 s, warn at 20, alarm at 60: amber.
    assert chan["waiting"] == 2
    assert level["waiting"] == "warn"
    assert level["longest_wait"] == "warn"
    # The EVIL queue's call has waited 65 s: past the alarm limit.
    page.goto(board.url + "/tv?lang=en&channel=call&queues=" + quote(EVIL))
    wait_state(page, "fresh")
    assert page.get_attribute('.tile[data-metric="longest_wait"]', "data-level") == "alarm"
    assert page.text_content('.tile[data-metric="longest_wait"] .tile-value', timeout=1000).startswith("1:0")


def test_tv_several_queues_show_the_servers_sums(board: Board, open_page: Any) -> None:
    queues = ["credit-card", "信用卡"]
    page = open_page(board.url + "/tv?lang=en&channel=call&queues=" + quote(",".join(queues))).page
    wait_state(page, "fresh")
    snap = snapshot_at_page_as_of(board, page)
    sel = board.get("/api/snapshot?queues=" + quote(",".join(queues)))["selection"]
    chan = sel["channels"]["call"]
    tiles = tv_tiles(page, "call")
    expected = tv_expected(chan)
    assert {k: tiles[k] for k in expected} == expected
    raw = page.get_attribute('.tile[data-metric="sl_today"] .tile-value', "data-raw")
    assert float(raw or "nan") == chan["today"]["service_level"]
    assert_longest_wait(tiles["longest_wait"], chan["longest_wait_s"])
    # The server summed the counts and recomputed every rate from them (not averaged the queues' rates).
    parts = [snap["queues"][q]["channels"]["call"] for q in queues]
    formula = channel_settings(None, "call")["sl_formula"]
    for period in ("window", "today"):
        summed = sum_periods([p[period] for p in parts], formula)
        assert {k: chan[period][k] for k in COUNTS} == {k: summed[k] for k in COUNTS}
        for rate in ("service_level", "asa_s", "aht_s", "abandon_rate"):
            assert chan[period][rate] == (None if summed[rate] is None else pytest.approx(summed[rate], rel=1e-9))
    assert chan["waiting"] == sum(p["waiting"] for p in parts)
    # Only the call channel is shown, at full width.
    assert page.is_hidden('.channel[data-channel="sms"]')
    # Agents serving both queues count once (a03 serves both).
    agents = board.get("/api/agents")["agents"]
    expected_agents = {s: 0 for s in STATES}
    for a in agents:
        if set(a["queues"]) & set(queues):
            expected_agents[a["state"]] += 1
    assert sel["agents"] == expected_agents
    for state in ("available", "busy", "wrap_up", "break"):
        assert page.text_content(f'#agents-strip [data-agent-state="{state}"] .agent-value') == str(
            expected_agents[state]
        )
    assert sum(snap["queues"][q]["agents"]["wrap_up"] for q in queues) > expected_agents["wrap_up"], (
        "the data should hold an agent in both queues, or this test proves nothing"
    )
    assert page.text_content("#selection-label") == "Queues: credit-card, 信用卡"


def test_tv_selection_colours_are_the_servers_levels(board: Board, browser: Browser) -> None:
    """A service level below target shows red because the server says alarm, not because the page decides."""
    queues = "credit-card,信用卡"
    sel = board.get("/api/snapshot?queues=" + quote(queues))["selection"]
    today = sel["channels"]["call"]["today"]["service_level"]
    target = sel["settings"]["call"]["sl_target"]
    assert today < target - sel["settings"]["call"]["sl_warn_margin"] - 0.01, "the data should miss the target"
    assert sel["channels"]["call"]["levels"]["today"]["service_level"] == "alarm"
    ctx = browser.new_context(locale="en-US", viewport={"width": 1920, "height": 1080})
    try:
        page = ctx.new_page()
        tamper = {"on": False}

        def route(ws: WebSocketRoute) -> None:
            server = ws.connect_to_server()
            ws.on_message(server.send)

            def to_page(message: str | bytes) -> None:
                msg = json.loads(message)
                if tamper["on"] and msg["type"] == "selection":
                    # Same numbers, other levels: the tiles must follow the levels.
                    levels = msg["data"]["selection"]["channels"]["call"]["levels"]
                    levels["today"]["service_level"] = "ok"
                    levels["waiting"] = "alarm"
                ws.send(json.dumps(msg))

            server.on_message(to_page)

        page.route_web_socket("**/ws*", route)
        page.goto(board.url + "/tv?lang=en&channel=call&queues=" + quote(queues))
        wait_state(page, "fresh")
        level = '.tile[data-metric="{}"]'
        assert page.get_attribute(level.format("sl_today"), "data-level") == "alarm"
        assert page.get_attribute(level.format("waiting"), "data-level") == sel["channels"]["call"]["levels"]["waiting"]
        assert page.text_content(level.format("sl_today") + " .tile-value") == fmt_pct(today)
        tamper["on"] = True
        page.evaluate("WB.tv.conn.resync()")  # the server sends the selection again
        page.wait_for_function("() => document.querySelector('.tile[data-metric=\"sl_today\"]').dataset.level === 'ok'")
        assert page.get_attribute(level.format("waiting"), "data-level") == "alarm"
        assert page.text_content(level.format("sl_today") + " .tile-value") == fmt_pct(today)
    finally:
        ctx.close()


def test_tv_tile_pulses_when_it_turns_worse(board: Board, browser: Browser) -> None:
    """A tile going to a worse level pulses (a ~1 s CSS animation); getting better, or the first picture, does not."""
    ctx = browser.new_context(locale="en-US", viewport={"width": 1920, "height": 1080})
    try:
        page = ctx.new_page()
        tamper: dict[str, str | None] = {"waiting": None}

        def route(ws: WebSocketRoute) -> None:
            server = ws.connect_to_server()
            ws.on_message(server.send)

            def to_page(message: str | bytes) -> None:
                msg = json.loads(message)
                if tamper["waiting"] and msg["type"] == "summary" and msg.get("data"):
                    msg["data"]["totals"]["channels"]["call"]["levels"]["waiting"] = tamper["waiting"]
                ws.send(json.dumps(msg))

            server.on_message(to_page)

        page.route_web_socket("**/ws*", route)
        page.goto(board.url + "/tv?lang=en&channel=call")
        wait_state(page, "fresh")
        tile = '.tile[data-metric="waiting"]'
        assert page.get_attribute(tile, "data-level") == "warn"  # the server's: 4 waiting, warn at 2
        assert page.eval_on_selector_all(".tile.pulse", "ts => ts.length") == 0  # not on the first picture

        def turn(level: str) -> dict[str, Any]:
            """The server's level for the tile becomes `level`: the tile's state as soon as it shows it."""
            tamper["waiting"] = level
            page.evaluate("WB.tv.conn.resync()")
            handle = page.wait_for_function(
                """([sel, level]) => { const t = document.querySelector(sel);
                     return t.dataset.level === level &&
                            {pulse: t.classList.contains("pulse"), animation: getComputedStyle(t).animationName,
                             outline: getComputedStyle(t).outlineStyle}; }""",
                arg=[tile, level],
            )
            return dict(handle.json_value())

        assert turn("ok") == {"pulse": False, "animation": "none", "outline": "none"}  # better: no pulse
        assert turn("alarm") == {"pulse": True, "animation": "level-pulse", "outline": "none"}  # worse: ok -> alarm
        page.wait_for_function("s => !document.querySelector(s).classList.contains('pulse')", arg=tile, timeout=3000)
        assert turn("warn") == {"pulse": False, "animation": "none", "outline": "none"}  # alarm -> warn is better
        # A screen asking for less motion gets a steady ring instead of the animation.
        page.emulate_media(reduced_motion="reduce")
        turn("ok")
        assert turn("warn") == {"pulse": True, "animation": "none", "outline": "solid"}
    finally:
        ctx.close()


def test_tv_undefined_values_show_a_dash(board: Board, open_page: Any) -> None:
    page = open_page(board.url + "/tv?lang=en&queues=quiet").page
    wait_state(page, "fresh")
    snap = snapshot_at_page_as_of(board, page)
    assert snap["queues"]["quiet"]["channels"]["call"]["window"]["service_level"] is None
    for channel in ("call", "sms"):
        tiles = tv_tiles(page, channel)
        for metric in ("longest_wait", "sl_window", "sl_today", "asa_window", "abandon_window"):
            assert tiles[metric] == DASH, (channel, metric)
        assert tiles["waiting"] == "0"
        assert tiles["offered_today"] == "0"
    levels = page.eval_on_selector_all(".tile[data-metric^=sl]", "ts => ts.map(t => t.dataset.level)")
    assert set(levels) == {"none"}
    # A queue that does not exist is named in the header, and nothing is made up for it.
    page.goto(board.url + "/tv?lang=en&queues=nosuchqueue")
    wait_state(page, "fresh")
    assert "nosuchqueue" in (page.text_content("#selection-missing") or "")
    assert set(tv_tiles(page, "call").values()) == {DASH}


def test_markup_in_names_is_shown_as_text(board: Board, open_page: Any) -> None:
    w = open_page(board.url + "/tv?lang=en&queues=" + quote(EVIL + ",credit-card"))
    page = w.page
    wait_state(page, "fresh")
    assert EVIL in (page.text_content("#selection-label") or "")
    sup = open_page(board.url + "/supervisor?lang=en").page
    wait_state(sup, "fresh")
    sup.wait_for_selector('#agent-table tr[data-agent-id="x1"]')
    assert sup.text_content(f'#queue-table tr[data-queue="{EVIL}"][data-channel="call"] [data-col="queue"]') == EVIL
    assert sup.text_content('#agent-table tr[data-agent-id="x1"] [data-col="name"]') == EVIL
    assert sup.text_content('#agent-table tr[data-agent-id="x1"] [data-col="team"]') == "<b>team</b>"
    assert EVIL in [
        o.strip() for o in sup.eval_on_selector_all("#agent-queue-filter option", "os => os.map(o => o.textContent)")
    ]
    for p in (page, sup):
        assert p.evaluate("document.querySelectorAll('img').length") == 0
        assert p.evaluate("document.querySelectorAll('b').length") == 0
    # w.check() (at teardown) fails the test if an alert() dialog fired.


# ---------------------------------------------------------------------------------------------- supervisor


def test_supervisor_numbers_equal_the_api(board: Board, open_page: Any) -> None:
    page = open_page(board.url + "/supervisor?lang=en").page
    wait_state(page, "fresh")
    page.wait_for_selector("#agent-table tbody tr[data-agent-id]")
    snap = snapshot_at_page_as_of(board, page)
    cells = page.evaluate("""() => Array.from(document.querySelectorAll('#queue-table tr[data-channel]'))
        .map(tr => ({queue: tr.dataset.queue || null, channel: tr.dataset.channel,
                     cells: Object.fromEntries(Array.from(tr.querySelectorAll('[data-col]'))
                                  .map(c => [c.dataset.col, c.textContent])),
                     levels: Object.fromEntries(Array.from(tr.querySelectorAll('[data-level]'))
                                  .map(c => [c.dataset.col, c.dataset.level]))}))""")
    rows = {(r["queue"], r["channel"]): r["cells"] for r in cells}
    levels = {(r["queue"], r["channel"]): r["levels"] for r in cells}
    expected_keys = {(q, ch) for q in snap["queues"] for ch in ("call", "sms")} | {(None, "call"), (None, "sms")}
    assert set(rows) == expected_keys

    def fmt(field: str, v: Any) -> str:
        if field in ("service_level", "abandon_rate"):
            return fmt_pct(v)
        if field == "asa_s":
            return fmt_wait(v)
        if field == "aht_s":
            return fmt_mss(v)
        return fmt_count(v)

    for (queue, channel), shown in rows.items():
        node = snap["totals"] if queue is None else snap["queues"][queue]
        chan = node["channels"][channel]
        assert shown["queue"] == ("All queues" if queue is None else queue)
        assert shown["channel"] == {"call": "Calls", "sms": "SMS"}[channel]
        assert shown["waiting"] == fmt_count(chan["waiting"])
        assert shown["in_progress"] == fmt_count(chan["in_progress"])
        assert_longest_wait(shown["longest_wait_s"], chan["longest_wait_s"])
        for period in ("window", "today"):
            for field, value in chan[period].items():
                assert shown[f"{period}.{field}"] == fmt(field, value), (queue, channel, period, field)
        for state in STATES:
            assert shown[f"agents.{state}"] == str(node["agents"][state]), (queue, state)
        # Coloured with the server's levels, each queue with its own limits.
        expected_levels = {
            "waiting": chan["levels"]["waiting"] or "none",
            "window.service_level": chan["levels"]["window"]["service_level"] or "none",
            "today.service_level": chan["levels"]["today"]["service_level"] or "none",
        }
        assert {k: levels[(queue, channel)][k] for k in expected_levels} == expected_levels, (queue, channel)

    agents = board.get("/api/agents")
    assert agents["as_of"] == snap["as_of"]
    shown_agents = page.evaluate("""() => Object.fromEntries(
        Array.from(document.querySelectorAll('#agent-table tbody tr[data-agent-id]'))
        .map(tr => [tr.dataset.agentId, Object.fromEntries(Array.from(tr.querySelectorAll('[data-col]'))
                                                .map(c => [c.dataset.col, c.textContent]))]))""")
    assert set(shown_agents) == {a["agent_id"] for a in agents["agents"]}
    as_of = datetime.fromisoformat(agents["as_of"]).timestamp()
    for a in agents["agents"]:
        row = shown_agents[a["agent_id"]]
        assert row["name"] == (a["name"] or DASH)
        assert row["team"] == (a["team"] or DASH)
        assert row["state"] == EN_STATE[a["state"]]
        assert row["queues"] == ", ".join(a["queues"])
        assert row["handled_call"] == str(a["handled_today"]["call"])
        assert row["handled_sms"] == str(a["handled_today"]["sms"])
        assert row["over_limit"] == DASH and a["limit_s"] is None  # no [agent_limits] on this board
        if a["state"] == "offline":
            assert row["time_in_state"] == DASH, a  # only logged-in agents have a time in state
            continue
        in_state = as_of - datetime.fromisoformat(a["since"]).timestamp()
        assert math.floor(in_state) <= parse_wait(row["time_in_state"]) <= in_state + 3, (a, row)
    # The formula in force, per channel, with the target.
    formulas = page.text_content("#sl-formulas") or ""
    assert "SL = answered ≤20 s / (answered + abandoned − short abandons)" in formulas
    assert "target 80%" in formulas
    # The chart drew today's intervals.
    assert page.is_visible("#intraday-chart canvas")


def test_supervisor_sorts_and_filters(board: Board, open_page: Any) -> None:
    page = open_page(board.url + "/supervisor?lang=en").page
    wait_state(page, "fresh")
    page.wait_for_selector("#agent-table tbody tr[data-agent-id]")
    page.click('#queue-table th[data-sort="today.offered"]')  # numbers sort largest first

    def groups(col: str) -> list[list[str]]:
        """The raw values of a column, group by group (a queue's rows stay together), in the order shown."""
        return list(
            page.eval_on_selector_all(
                "#queue-table tbody.queue-group",
                f"""gs => gs.map(g => Array.from(g.querySelectorAll('tr:not([hidden]) [data-col="{col}"]'))
                                   .map(c => c.dataset.raw))""",
            )
        )

    def leads_and_rows_sorted(gs: list[list[str]], reverse: bool) -> None:
        nums = [[int(v) for v in g] for g in gs]
        for g in nums:
            assert g == sorted(g, reverse=reverse)
        leads = [g[0] for g in nums]
        assert leads == sorted(leads, reverse=reverse)

    leads_and_rows_sorted(groups("today.offered"), reverse=True)
    page.click('#queue-table th[data-sort="today.offered"]')
    leads_and_rows_sorted(groups("today.offered"), reverse=False)
    # Undefined values sort last in both directions: in a group, and the groups with nothing defined.
    page.click('#queue-table th[data-sort="window.service_level"]')
    sl = groups("window.service_level")
    assert any("null" in g for g in sl)
    for g in sl:
        defined = [v for v in g if v != "null"]
        assert g == defined + ["null"] * (len(g) - len(defined))
    leads = [g[0] for g in sl]
    assert leads[leads.index("null") :] == ["null"] * (len(leads) - leads.index("null"))
    page.select_option("#queue-channel-filter", "sms")
    channels = page.eval_on_selector_all(
        "#queue-table tbody tr[data-queue]:not([hidden])", "rs => rs.map(r => r.dataset.channel)"
    )
    assert set(channels) == {"sms"}
    # Agents: by queue and team.
    page.select_option("#agent-queue-filter", "信用卡")
    visible = page.eval_on_selector_all("#agent-table tbody tr[data-agent-id]", "rs => rs.map(r => r.dataset.agentId)")
    assert sorted(visible) == ["a03", "a04"]
    page.select_option("#agent-queue-filter", "")
    page.select_option("#agent-team-filter", "Team A")
    visible = page.eval_on_selector_all("#agent-table tbody tr[data-agent-id]", "rs => rs.map(r => r.dataset.agentId)")
    assert sorted(visible) == ["a01", "a02", "a07"]


def test_supervisor_queue_table_on_a_laptop(busy_board: Board, open_page: Any) -> None:
    """1366x768 and twenty queues: the table scrolls inside its box with its heading and the queue and channel
    columns in view; a queue's rows are grouped and fold; a name cut short has its full text in `title`."""
    page = open_page(busy_board.url + "/supervisor?lang=en", width=1366, height=768).page
    wait_state(page, "fresh")
    page.wait_for_selector('#queue-table tr[data-queue="queue-11"]')
    wrap = "#queue-table >> xpath=.."

    def on_top(selector: str) -> bool:
        """The element is inside the table's box and is what the eye sees there (nothing scrolled over it)."""
        return bool(
            page.eval_on_selector(
                selector,
                """e => { const r = e.getBoundingClientRect(), w = e.closest('.table-wrap').getBoundingClientRect();
                          const x = r.left + Math.min(r.width / 2, 20), y = r.top + r.height / 2;
                          return r.left >= w.left - 1 && r.right <= w.right + 1 && r.top >= w.top - 1 &&
                                 r.bottom <= w.bottom + 1 && e.contains(document.elementFromPoint(x, y)); }""",
            )
        )

    first = "#queue-table tbody.queue-group:first-of-type tr[data-queue]:not([hidden])"
    queue_cell, channel_cell = first + ' [data-col="queue"]', first + ' [data-col="channel"]'
    assert on_top(queue_cell) and on_top(channel_cell)
    # Scrolled right as far as it goes: the table is wider than the laptop, and the first row still says which
    # queue and channel it is.
    scrolled = page.eval_on_selector(wrap, "w => { w.scrollLeft = w.scrollWidth; return w.scrollLeft; }")
    assert scrolled > 300
    page.wait_for_timeout(100)
    assert on_top(queue_cell) and on_top(channel_cell)
    assert on_top(first + ' [data-col="agents.offline"]')  # the far right end is on screen too
    # Scrolled down: the heading stays.
    down = page.eval_on_selector(wrap, "w => { w.scrollTop = 400; return w.scrollTop; }")
    assert down >= 300
    page.wait_for_timeout(100)
    assert on_top('#queue-table thead th[data-sort="queue"]')
    assert on_top('#queue-table thead th[data-sort="agents.busy"]')
    assert not on_top(queue_cell)  # the first row did scroll away
    # A long name is cut, and its full text is in the cell's title (shown on hover).
    long_name = LONG_QUEUES[2]
    cell = f'#queue-table tr[data-queue="{long_name}"][data-channel="call"] [data-col="queue"]'
    assert page.eval_on_selector(cell, "e => e.scrollWidth > e.clientWidth")
    assert page.get_attribute(cell, "title") == long_name
    assert page.get_attribute(f'#queue-table tr.group-head[data-group="{long_name}"] th', "title") == long_name
    # Grouped: each queue's rows together in its own group, whatever the sort.
    page.click('#queue-table th[data-sort="today.offered"]')
    order = page.eval_on_selector_all("#queue-table tbody tr[data-queue]", "rs => rs.map(r => r.dataset.queue)")
    runs = [q for i, q in enumerate(order) if i == 0 or order[i - 1] != q]
    assert len(runs) == len(set(order)) >= 20
    # A group folds to its heading, and unfolds.
    group = '#queue-table tbody.queue-group[data-group="queue-03"]'
    page.click(group + " .group-toggle")
    assert page.get_attribute(group + " .group-toggle", "aria-expanded") == "false"
    assert page.eval_on_selector_all(group + " tr[data-queue]", "rs => rs.every(r => r.hidden)")
    assert page.is_visible(group + " tr.group-head")
    page.click(group + " .group-toggle")
    assert page.eval_on_selector_all(group + " tr[data-queue]", "rs => rs.every(r => !r.hidden)")


# ---------------------------------------------------------------------------------------------- languages


def test_languages(board: Board, open_page: Any) -> None:
    waiting_label = '.channel[data-channel="call"] .tile[data-metric="waiting"] .tile-label'
    zh = open_page(board.url + "/tv?lang=zh-CN").page
    wait_state(zh, "fresh")
    assert zh.text_content(waiting_label) == "排队数"
    assert zh.text_content('.channel[data-channel="sms"] .channel-name') == "短信"
    assert zh.text_content("#status-pill") == "实时"
    assert zh.evaluate("document.documentElement.lang") == "zh-CN"
    en = open_page(board.url + "/tv?lang=en", locale="zh-CN").page  # the parameter wins over the browser
    wait_state(en, "fresh")
    assert en.text_content(waiting_label) == "Waiting"
    # Without the parameter the page follows the browser's language.
    browser_zh = open_page(board.url + "/tv", locale="zh-CN").page
    assert browser_zh.text_content(waiting_label) == "排队数"
    browser_en = open_page(board.url + "/tv", locale="en-GB").page
    assert browser_en.text_content(waiting_label) == "Waiting"
    # The supervisor page switches in place.
    sup = open_page(board.url + "/supervisor?lang=en").page
    wait_state(sup, "fresh")
    sup.wait_for_selector('#agent-table tr[data-agent-id="a01"]')
    assert sup.text_content("#queues-title") == "Queues"
    assert sup.text_content('#agent-table tr[data-agent-id="a01"] [data-col="state"]') == "Busy"
    sup.select_option("#lang-select", "zh-CN")
    assert sup.text_content("#queues-title") == "队列"
    assert sup.text_content('#agent-table tr[data-agent-id="a01"] [data-col="state"]') == "忙碌"
    assert sup.text_content('#queue-table tfoot tr[data-channel="call"] [data-col="queue"]') == "全部队列"
    assert "lang=zh-CN" in sup.url


def test_counts_have_thousands_separators(board: Board, browser: Browser) -> None:
    """A busy centre's counts (tampered into the server's messages) read "63,767" on both pages, in both languages."""
    big = {"offered": 63767, "answered": 61234, "abandoned": 1205}

    def swell(chan: dict[str, Any]) -> None:
        chan["today"].update(big)
        chan["waiting"] = 1234

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()
        ws.on_message(server.send)

        def to_page(message: str | bytes) -> None:
            msg = json.loads(message)
            if msg["type"] in ("summary", "snapshot") and msg.get("data"):
                swell(msg["data"]["totals"]["channels"]["call"])
                for node in msg["data"].get("queues", {}).values():
                    swell(node["channels"]["call"])
            ws.send(json.dumps(msg))

        server.on_message(to_page)

    for lang in ("en", "zh-CN"):
        ctx = browser.new_context(locale=lang, viewport={"width": 1920, "height": 1080})
        try:
            page = ctx.new_page()
            page.route_web_socket("**/ws*", route)
            page.goto(f"{board.url}/tv?lang={lang}")
            wait_state(page, "fresh")
            tiles = tv_tiles(page, "call")
            assert (tiles["offered_today"], tiles["answered_today"], tiles["abandoned_today"]) == (
                "63,767",
                "61,234",
                "1,205",
            )
            assert tiles["waiting"] == "1,234"
            page.goto(f"{board.url}/supervisor?lang={lang}")
            wait_state(page, "fresh")
            total = '#queue-table tfoot tr[data-channel="call"] [data-col="{}"]'
            assert page.text_content(total.format("today.offered")) == "63,767"
            assert page.text_content(total.format("waiting")) == "1,234"
            row = '#queue-table tbody tr[data-queue="loans"][data-channel="call"] [data-col="today.abandoned"]'
            assert page.text_content(row) == "1,205"
        finally:
            ctx.close()


# ---------------------------------------------------------------------------------------------- broadcast


def test_broadcast_reaches_the_ticker(board: Board, open_page: Any) -> None:
    tv = open_page(board.url + "/tv?lang=en").page
    wait_state(tv, "fresh")
    w = open_page(board.url + "/supervisor?lang=en")
    w.allowed.append("status of 400")  # the refused post below
    sup = w.page
    wait_state(sup, "fresh")
    # A message that would show backwards on the wall (U+202E) is refused, and the page says why.
    sup.fill("#broadcast-text", "\u202eevil")
    sup.click("#broadcast-send")
    sup.wait_for_selector('#broadcast-status[data-result="error"]')
    assert "bidi" in (sup.text_content("#broadcast-status") or "")
    assert tv.text_content("#ticker .ticker-text") == ""
    message = "Storm warning: expect heavy volume 14:00–16:00 · 台风预警 " + EVIL
    sup.fill("#broadcast-text", message)
    sup.click("#broadcast-send")
    sup.wait_for_selector('#broadcast-status[data-result="ok"]')
    tv.wait_for_function("m => document.querySelector('#ticker .ticker-text').textContent === m", arg=message)
    assert tv.evaluate("document.querySelectorAll('img').length") == 0
    assert sup.text_content("#broadcast-current") == message
    assert board.get("/api/broadcast")["text"] == message
    sup.click("#broadcast-clear")
    tv.wait_for_function("() => document.querySelector('#ticker .ticker-text').textContent === ''")


# ---------------------------------------------------------------------------------------------- staleness


def test_stale_when_the_server_stops_and_fresh_when_it_returns(tmp_path: Path, open_page: Any) -> None:
    b = Board(tmp_path)
    b.start()
    try:
        tv = open_page(b.url + "/tv?lang=en").page
        sup = open_page(b.url + "/supervisor?lang=en").page
        for page in (tv, sup):
            wait_state(page, "fresh")
        sl_before = tv.text_content('.channel[data-channel="call"] .tile[data-metric="sl_today"] .tile-value')
        b.stop()
        for page in (tv, sup):
            wait_state(page, "stale", timeout=3000)  # the socket closed: at once, not after stale_after
            assert page.is_visible("#stale-banner")
            assert (page.text_content("#stale-banner .banner-headline") or "").startswith("DATA STALE — last update ")
            assert page.get_attribute("body", "data-stale-reason") == "socket"
        value = '.channel[data-channel="call"] .tile[data-metric="sl_today"] .tile-value'
        style = tv.eval_on_selector(value, "e => [getComputedStyle(e).textDecorationLine, getComputedStyle(e).color]")
        assert style[0] == "line-through"
        assert style[1] == "rgb(93, 102, 117)"  # grey, whatever the level colour was
        assert tv.text_content(value) == sl_before  # the last numbers stay, marked stale
        assert tv.text_content("#status-pill") == "STALE"
        b.start()  # same port
        for page in (tv, sup):
            wait_state(page, "fresh", timeout=20_000)  # backoff is at most 15 s
            assert page.is_hidden("#stale-banner")
    finally:
        b.stop()


def test_ageing_timeout_source_stale_and_seq_gaps(board: Board, browser: Browser) -> None:
    """Messages held back, marked stale or skipped between the real server and the page."""
    ctx = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 720})
    try:
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        control = {"hold": False, "mark_stale": False, "skip_seq": 0}
        sent_by_page: list[dict[str, Any]] = []
        connections: list[WebSocketRoute] = []

        def route(ws: WebSocketRoute) -> None:
            server = ws.connect_to_server()
            connections.append(ws)

            def to_server(message: str | bytes) -> None:
                sent_by_page.append(json.loads(message))
                server.send(message)

            def to_page(message: str | bytes) -> None:
                if control["hold"]:
                    return
                msg = json.loads(message)
                if control["mark_stale"] and "source" in msg:
                    msg["source"] = {**(msg["source"] or {}), "stale": True}
                if control["skip_seq"] and "seq" in msg and msg["type"] != "hello":
                    msg["seq"] += control["skip_seq"]
                ws.send(json.dumps(msg))

            ws.on_message(to_server)
            server.on_message(to_page)

        page.route_web_socket("**/ws*", route)
        page.goto(board.url + "/tv?lang=en")
        wait_state(page, "fresh")
        # Two missed pushes (push_interval 0.5 s): amber.
        control["hold"] = True
        wait_state(page, "ageing", timeout=3000)
        assert page.is_visible("#stale-banner")
        assert (page.text_content("#stale-banner .banner-headline") or "").startswith("Update delayed")
        assert page.text_content("#status-pill") == "DELAYED"
        # The page probes the quiet socket.
        page.wait_for_timeout(600)
        assert any(m.get("type") == "ping" for m in sent_by_page)
        # stale_after (4 s) without a message: red, and the page opens a new socket.
        wait_state(page, "stale", timeout=6000)
        assert page.get_attribute("body", "data-stale-reason") in ("timeout", "resync")
        control["hold"] = False
        wait_state(page, "fresh", timeout=10_000)
        assert len(connections) >= 2
        # The server says its source is stale: red at once.
        control["mark_stale"] = True
        wait_state(page, "stale", timeout=3000)
        assert page.get_attribute("body", "data-stale-reason") == "source"
        assert "not delivering" in (page.text_content("#stale-banner .banner-reason") or "")
        control["mark_stale"] = False
        wait_state(page, "fresh", timeout=3000)
        # A gap in seq: the page asks for the full state.
        sent_by_page.clear()
        control["skip_seq"] = 5
        deadline = time.monotonic() + 4  # resyncs are at most one per 2 s
        while {"type": "resync"} not in sent_by_page and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        assert {"type": "resync"} in sent_by_page
        assert errors == []
    finally:
        ctx.close()


def test_display_rules_edge_cases(board: Board, open_page: Any) -> None:
    """The pages' rounding on the values where it could go wrong (colours and sums are the server's:
    tests/test_levels.py, tests/test_engine_selection.py)."""
    page = open_page(board.url + "/tv?lang=en").page
    cases = page.evaluate("""() => {
        const steps = [{from: "1970-01-01T00:00:10.000Z", level: "ok"},
                       {from: "1970-01-01T00:00:30.000Z", level: "warn"},
                       {from: "1970-01-01T00:01:10.000Z", level: "alarm"}];
        return {
          pct: [WB.fmtPct(null), WB.fmtPct(0), WB.fmtPct(0.0049), WB.fmtPct(0.005), WB.fmtPct(0.9426), WB.fmtPct(1)],
          wait: [WB.fmtWait(null), WB.fmtWait(0), WB.fmtWait(7.49), WB.fmtWait(59.4), WB.fmtWait(59.5),
                 WB.fmtWait(61), WB.fmtWait(3725)],
          tick: [WB.fmtTicking(59.99), WB.fmtTicking(60)],
          mss: [WB.fmtMSS(null), WB.fmtMSS(5), WB.fmtMSS(212.4), WB.fmtMSS(3725)],
          level: [null, "ok", "warn", "alarm", "bogus"].map(WB.levelAttr),
          steps: [WB.stepLevel(null, 0), WB.stepLevel({longest_wait_s: "warn", longest_wait_steps: null}, 0),
                  WB.stepLevel({longest_wait_s: "ok", longest_wait_steps: steps}, null)].concat(
                  [9999, 10000, 29999, 30000, 69999, 70000].map(t => WB.stepLevel({longest_wait_steps: steps}, t))),
          removed: ["serviceLevel", "sumPeriods", "levelSL", "levelAbove", "DEFAULT_CHANNEL_SETTINGS", "CHANNELS",
                    "selectChannel", "selectAgents", "agentRows"].filter(name => name in WB),
        };
    }""")
    assert cases["pct"] == [DASH, "0%", "0%", "1%", "94%", "100%"]
    assert cases["wait"] == [DASH, "0 s", "7 s", "59 s", "1:00", "1:01", "1:02:05"]
    assert cases["tick"] == ["59 s", "1:00"]
    assert cases["mss"] == [DASH, "0:05", "3:32", "1:02:05"]
    # Levels are the server's: the page maps them to the CSS attribute, and follows the longest wait's schedule.
    assert cases["level"] == ["none", "ok", "warn", "alarm", "none"]
    assert cases["steps"] == [None, "warn", "ok", None, "ok", "ok", "warn", "warn", "alarm"]
    assert cases["removed"] == [], "metric meaning is the server's (docs/architecture.md)"


# ---------------------------------------------------------------------------------------------- layout


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (3840, 2160)])
def test_tv_fits_the_screen(board: Board, open_page: Any, width: int, height: int) -> None:
    page = open_page(board.url + "/tv?lang=en", width=width, height=height).page
    wait_state(page, "fresh")
    # Nothing scrolls, and every number fits inside its tile.
    assert page.evaluate("document.documentElement.scrollHeight <= innerHeight + 1")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth + 1")
    overflowing = page.evaluate("""() => Array.from(document.querySelectorAll('.tile-value, .agent-value'))
        .filter(e => e.scrollWidth > e.clientWidth + 1)
        .map(e => e.closest('[data-metric],[data-agent-state]').outerHTML.slice(0, 80))""")
    assert overflowing == []
    # Big numbers: the hero tiles' digits are at least 6 % of the screen height.
    size = page.eval_on_selector(
        '.tile[data-metric="waiting"] .tile-value', "e => parseFloat(getComputedStyle(e).fontSize)"
    )
    assert size >= 0.06 * height


# Every text node the TV shows (not inside a hidden element): its element, text and computed font size in px.
VISIBLE_TEXT_JS = """() => {
  const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const e = n.parentElement;
    if (!n.textContent.trim() || !e.getClientRects().length || getComputedStyle(e).visibility === "hidden") continue;
    out.push([e.id || e.className, n.textContent.trim().slice(0, 40), parseFloat(getComputedStyle(e).fontSize)]);
  }
  return out;
}"""

# What sticks out of its box on the TV: any element of a tile, the channel heads, the agent strip and the
# header's status and clock wider than its box, or a tile whose content is taller than the tile.
TV_OVERFLOW_JS = """() => {
  const sel = ".tile *, .channel-head *, .agent-count *, .tv-status *, .clock";
  const wide = Array.from(document.querySelectorAll(sel)).filter(e => e.getClientRects().length)
    .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => ["wide", e.className, e.textContent.slice(0, 40)]);
  const tall = Array.from(document.querySelectorAll(".tile, .agent-count")).filter(e => e.getClientRects().length)
    .filter(e => e.scrollHeight > e.clientHeight + 1).map(e => ["tall", e.className, e.textContent.slice(0, 40)]);
  const off = Array.from(document.querySelectorAll(".tv-header > *, .channel, .agent-count"))
    .filter(e => e.getBoundingClientRect().right > innerWidth + 1).map(e => ["off screen", e.className]);
  return wide.concat(tall, off);
}"""


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (3840, 2160)])
def test_tv_text_readable_from_across_the_room(
    busy_board: Board, open_page: Any, lang: str, width: int, height: int
) -> None:
    """No text on the TV under 3 % of the screen height (docs/board.md "Readability"), in every layout."""
    assert busy_board.post("/api/broadcast", {"text": "Storm warning 台风预警"})[0] == 200
    long_names = quote(",".join(LONG_QUEUES))
    for query in ("", "&channel=call", f"&queues={long_names}"):
        page = open_page(f"{busy_board.url}/tv?lang={lang}{query}", width=width, height=height).page
        wait_state(page, "fresh")
        page.wait_for_selector("#ticker[data-active='1']")
        texts = page.evaluate(VISIBLE_TEXT_JS)
        assert len(texts) > 30, texts  # the tiles' labels, figures and secondary figures are all there
        assert any(t[1].startswith(("target", "目标")) for t in texts)
        small = [t for t in texts if t[2] < 0.03 * height]
        assert small == [], (query, small)
        # The today-figures and the formula are there, enlarged rather than dropped.
        sub = page.text_content('.channel[data-channel="call"] .tile[data-metric="asa_window"] .tile-sub') or ""
        assert sub.startswith(("Today", "今日")), sub
        assert page.is_visible('.channel[data-channel="call"] [data-role="formula"]')
        page.close()


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_tv_nothing_overflows_with_long_queue_names(busy_board: Board, open_page: Any, lang: str) -> None:
    for query in ("", "&channel=call", "&queues=" + quote(",".join(LONG_QUEUES))):
        page = open_page(f"{busy_board.url}/tv?lang={lang}{query}").page
        wait_state(page, "fresh")
        assert page.evaluate(TV_OVERFLOW_JS) == [], query
        # The header's list of queues is cut with an ellipsis rather than pushing the clock off the screen.
        if "queues=" in query:
            label = page.locator("#selection-label")
            assert label.evaluate("e => getComputedStyle(e).textOverflow") == "ellipsis"
            assert LONG_QUEUES[0] in (label.get_attribute("title") or "")
        page.close()


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (3840, 2160)])
def test_tv_level_shapes_are_big(board: Board, open_page: Any, width: int, height: int) -> None:
    """The colour-blind shapes (▲ warn, ■ alarm) read from 5 m: at least 5 % of the screen height, beside the figure."""
    page = open_page(board.url + "/tv?lang=en", width=width, height=height).page
    wait_state(page, "fresh")
    shapes = page.evaluate("""() => Array.from(document.querySelectorAll('.tile'))
        .filter(t => t.dataset.level === 'warn' || t.dataset.level === 'alarm')
        .map(t => { const after = getComputedStyle(t, '::after'), v = t.querySelector('.tile-value');
                    return [t.dataset.metric, after.content, parseFloat(after.fontSize),
                            v.getBoundingClientRect().right, t.getBoundingClientRect().right]; })""")
    assert len(shapes) >= 3, "the data should hold tiles in warn and alarm"
    for metric, content, size, value_right, tile_right in shapes:
        assert content in ('"\u25b2"', '"\u25a0"'), metric
        assert size >= 0.05 * height, (metric, size)
        assert value_right + 0.6 * size <= tile_right, (metric, "the figure runs under the shape")


def test_tv_empty_ticker_takes_no_room(tmp_path: Path, open_page: Any) -> None:
    b = Board(tmp_path)
    b.start()
    try:
        page = open_page(b.url + "/tv?lang=en").page
        wait_state(page, "fresh")

        def heights() -> dict[str, float]:
            return dict(
                page.evaluate("""() => ({ticker: document.getElementById("ticker").getBoundingClientRect().height,
                    channels: document.getElementById("channels").getBoundingClientRect().height,
                    bottom: document.getElementById("agents-strip").getBoundingClientRect().bottom})""")
            )

        without = heights()
        assert without["ticker"] == 0
        assert without["bottom"] >= 1080 * 0.98  # the agent strip goes down to the bottom edge
        assert b.post("/api/broadcast", {"text": "Storm warning"})[0] == 200
        page.wait_for_selector("#ticker[data-active='1']")
        with_message = heights()
        assert with_message["ticker"] >= 0.05 * 1080
        # The tiles gave the band its room, and take it back when the message is cleared.
        assert with_message["channels"] <= without["channels"] - with_message["ticker"]
        assert b.post("/api/broadcast", {"text": ""})[0] == 200
        page.wait_for_selector("#ticker[data-active='0']", state="attached")
        assert heights() == without
    finally:
        b.stop()


def test_the_clock_never_jumps_back_to_the_broadcast_time(board: Board, browser: Browser) -> None:
    """A broadcast carries the time it was posted; the clock must not show it (the review saw 0.5-1 s jumps)."""
    ctx = browser.new_context(locale="en-US", viewport={"width": 1920, "height": 1080})
    try:
        page = ctx.new_page()

        def route(ws: WebSocketRoute) -> None:
            server = ws.connect_to_server()
            ws.on_message(server.send)

            def to_page(message: str | bytes) -> None:
                msg = json.loads(message)
                if msg["type"] == "broadcast":  # posted an hour before now
                    msg["server_time"] = datetime.fromtimestamp(NOW - 3600, ZoneInfo(ZONE)).isoformat()
                ws.send(json.dumps(msg))

            server.on_message(to_page)

        page.route_web_socket("**/ws*", route)
        page.goto(board.url + "/tv?lang=en")
        wait_state(page, "fresh")
        earliest = page.evaluate(
            """async () => {
                 let min = Infinity;
                 WB.tv.conn.resync();  // the broadcast comes again, after the views
                 for (let i = 0; i < 40; i++) {
                   min = Math.min(min, WB.tv.conn.serverNow());
                   await new Promise(r => setTimeout(r, 25));
                 }
                 return min;
               }"""
        )
        assert earliest >= NOW * 1000 - 1000, f"the clock went back {(NOW * 1000 - earliest) / 1000:.0f} s"
    finally:
        ctx.close()


# ---------------------------------------------------------------------------------------------- waiting, quiet, stale


class Controlled:
    """The real app in this process under uvicorn, its source's status and its clock moved by the test."""

    def __init__(self, source: ListSource) -> None:
        self.source = source
        self.now = float(NOW)
        self.app = create_app(parse_settings(SETTINGS, environ={}), source, clock=lambda: self.now)


def event_lines() -> list[bytes]:
    return [json.dumps(e, ensure_ascii=False).encode() for e in make_events()]


def tv_values(page: Page) -> list[str]:
    return list(page.eval_on_selector_all(".tile-value, .agent-value", "els => els.map(e => e.textContent)"))


def clock_is_on_top(page: Page) -> bool:
    """The clock is the topmost element at its centre: no banner covers it."""
    return bool(
        page.evaluate("""() => {
            const c = document.getElementById('clock'), r = c.getBoundingClientRect();
            return r.width > 0 && c.contains(document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2));
        }""")
    )


@pytest.mark.parametrize(
    ("lang", "headline"), [("en", "Waiting for first data"), ("zh-CN", "\u7b49\u5f85\u9996\u6279\u6570\u636e")]
)
def test_before_the_first_data_the_tv_shows_dashes_not_stale_zeros(open_page: Any, lang: str, headline: str) -> None:
    """Kafka never reached: the server's zeros are not numbers; no "last update" time either."""
    board = Controlled(ListSource([], ready=False, connected=False, kind="kafka"))
    with in_thread(board.app) as addr:
        page = open_page(f"{addr.url}/tv?lang={lang}").page
        page.wait_for_function("() => document.body.dataset.asOf !== ''")  # the server's (empty) summary is in
        wait_state(page, "waiting")
        page.wait_for_timeout(600)  # a heartbeat or two later: still waiting
        assert page.get_attribute("body", "data-state") == "waiting"
        assert page.get_attribute("body", "data-stale-reason") == "source"
        values = tv_values(page)
        assert len(values) == 2 * 9 + 4 and set(values) == {DASH}, values
        assert page.text_content("#stale-banner .banner-headline") == headline
        banner = page.text_content("#stale-banner") or ""
        assert "last update" not in banner and "\u6700\u540e\u66f4\u65b0" not in banner  # "最后更新"
        assert re.search(r"\d:\d\d", banner) is None  # no time that would pass for one of data
        style = page.eval_on_selector(".tile-value", "e => getComputedStyle(e).textDecorationLine")
        assert style == "none"
        assert clock_is_on_top(page)


def test_the_numbers_appear_when_the_source_has_caught_up(open_page: Any) -> None:
    """Events replayed but the source not ready: dashes; ready (with no new event): the numbers, at once."""
    source = ListSource([event_lines()], ready=False, connected=True, kind="kafka")
    board = Controlled(source)
    with in_thread(board.app) as addr:
        page = open_page(f"{addr.url}/tv?lang=en").page
        page.wait_for_function("() => document.body.dataset.asOf !== ''")
        wait_state(page, "waiting")
        assert page.get_attribute("body", "data-stale-reason") == "catchup"
        assert set(tv_values(page)) == {DASH}
        source.state.ready, source.state.catch_up, source.state.current_at = True, 1.0, board.now
        wait_state(page, "fresh", timeout=3000)
        waiting = page.text_content('.channel[data-channel="call"] .tile[data-metric="waiting"] .tile-value')
        snap = board_snapshot(addr.url)
        assert waiting == str(snap["totals"]["channels"]["call"]["waiting"]) and waiting != DASH
        assert page.is_hidden("#stale-banner")


def board_snapshot(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "/api/snapshot", timeout=5) as resp:
        return dict(json.loads(resp.read()))


def test_a_quiet_feed_is_calm_a_broken_one_is_red(open_page: Any) -> None:
    """Read to its end, no event for 12 minutes: current numbers, a calm note. Unreachable or lagging: red."""
    source = ListSource([event_lines()], ready=True, connected=True, kind="kafka")
    board = Controlled(source)
    board.now = NOW + 12 * 60
    source.state.current_at = board.now  # read to its end just now
    with in_thread(board.app) as addr:
        page = open_page(f"{addr.url}/tv?lang=en").page
        wait_state(page, "quiet")
        assert page.is_hidden("#stale-banner")
        assert page.text_content("#status-pill") == "LIVE"
        assert page.text_content("#source-note") == "Quiet \u2014 last event 12 min ago"
        value = '.channel[data-channel="call"] .tile[data-metric="offered_today"] .tile-value'
        style = page.eval_on_selector(value, "e => getComputedStyle(e).textDecorationLine")
        assert style == "none"  # current numbers, not struck through
        offered = page.text_content(value)
        assert offered == str(board_snapshot(addr.url)["totals"]["channels"]["call"]["today"]["offered"])
        page.evaluate("WB.setLang('zh-CN'); WB.staleBanner.render()")
        assert (
            page.text_content("#source-note")
            == "\u6682\u65e0\u65b0\u4e8b\u4ef6 \u2014 \u6700\u540e\u4e8b\u4ef6\u5728 12 \u5206\u949f\u524d"
        )
        page.evaluate("WB.setLang('en'); WB.staleBanner.render()")

        # The broker unreachable: red at once, the numbers struck through, the clock still shown.
        source.state.connected = False
        wait_state(page, "stale", timeout=3000)
        assert page.get_attribute("body", "data-stale-reason") == "source"
        assert (page.text_content("#stale-banner .banner-headline") or "").startswith("DATA STALE")
        assert "cannot reach" in (page.text_content("#stale-banner .banner-reason") or "")
        assert page.eval_on_selector(value, "e => getComputedStyle(e).textDecorationLine") == "line-through"
        assert page.is_hidden("#source-note")
        assert clock_is_on_top(page)

        # Reachable again, but not read to its end for longer than stale_after (4 s here): lagging.
        source.state.connected, source.state.lag = True, 5000
        source.state.current_at = board.now - 30
        page.wait_for_function(
            "() => document.getElementById('stale-banner').textContent.includes('falling behind')", timeout=3000
        )
        assert page.get_attribute("body", "data-state") == "stale"
        source.state.current_at, source.state.lag = board.now, 0
        wait_state(page, "quiet", timeout=3000)
        assert clock_is_on_top(page)


def test_tv_banner_text_is_readable_from_across_the_room(board: Board, browser: Browser) -> None:
    """The stale banner's reason is text on the TV like any other: at least 3% of the screen height."""
    ctx = browser.new_context(locale="en-US", viewport={"width": 1920, "height": 1080})
    try:
        page = ctx.new_page()
        page.route_web_socket("**/ws*", lambda ws: ws.close())  # the socket never opens: no data, ever
        page.goto(board.url + "/tv?lang=en")
        page.wait_for_function("() => document.querySelector('.stale-banner .banner-reason').textContent !== ''")
        page.wait_for_selector(".stale-banner .banner-reason", state="visible")
        sizes = page.evaluate(
            """() => [...document.querySelectorAll('.stale-banner *')]
                 .filter(el => el.offsetParent !== null && el.textContent.trim())
                 .map(el => [el.className, parseFloat(getComputedStyle(el).fontSize)])"""
        )
        assert sizes, "the banner shows text"
        for name, size in sizes:
            assert size >= 0.03 * 1080 - 0.01, (name, size)
    finally:
        ctx.close()

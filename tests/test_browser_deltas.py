"""A supervisor page that stays light, in real Chromium: 14,000 agents, the deltas, the rows in sight.

The board runs in this process (``in_thread``) with a source the test feeds while the page is open, so
the agents view changes under the page and reaches it as ``agents_delta`` messages; the clock is frozen,
so the page and /api/agents can be compared row for row.  The TV page of the same board is checked to
get counts only, never an agent's row.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, WebSocket

from tests.servers import in_thread
from tests.test_browser import NOW, SETTINGS, event_lines, wait_state
from tests.test_browser import browser as browser
from tests.test_browser import open_page as open_page
from wallboard.deltas import intraday_delta
from wallboard.settings import parse_settings
from wallboard.sources.base import RawMessage
from wallboard.sources.memory import ListSource
from wallboard.web.app import create_app

pytestmark = pytest.mark.browser

AGENTS = 14_000
LONGTASKS = """
window.__longtasks = [];
new PerformanceObserver(function (l) { l.getEntries().forEach(function (e) { window.__longtasks.push(e.duration); }); })
  .observe({ type: "longtask", buffered: true });
"""


class FedSource(ListSource):
    """A ListSource the test thread can feed while the server's loop runs in another thread."""

    loop: asyncio.AbstractEventLoop | None = None

    async def batches(self) -> AsyncIterator[list[RawMessage]]:
        self.loop = asyncio.get_running_loop()
        async for batch in super().batches():
            yield batch

    def feed_from_test(self, events: list[dict[str, Any]]) -> None:
        assert self.loop is not None
        lines = [json.dumps(e, ensure_ascii=False).encode() for e in events]
        self.loop.call_soon_threadsafe(self.feed, lines)


def agent_event(i: int | str, ts_ms: int, state: str = "available") -> dict[str, Any]:
    agent = i if isinstance(i, str) else f"z{i:05d}"
    return {
        "type": "agent.state",
        "event_id": f"{agent}-{ts_ms}-{state}",
        "ts": ts_ms,
        "agent_id": agent,
        "name": f"Agent {agent}",
        "team": f"Team {sum(map(ord, agent)) % 7}",
        "state": state,
        "queues": ["credit-card"],
    }


def crowd() -> list[bytes]:
    """14,000 agents more, each with a `since` of its own (no other agent's), the newest 0.9 s before NOW."""
    end = NOW * 1000 - 900
    events = [
        agent_event(i, end - (AGENTS - 1 - i) * 47, ["available", "busy", "wrap_up"][i % 3]) for i in range(AGENTS)
    ]
    return [json.dumps(e).encode() for e in events]


@pytest.fixture(scope="module")
def crowded() -> Iterator[tuple[str, FedSource]]:
    settings = parse_settings({**SETTINGS, "limits": {"max_agents": 20_000}}, environ={})
    source = FedSource([event_lines(), crowd()])
    app = create_app(settings, source, clock=lambda: float(NOW))
    with in_thread(app) as addr:
        deadline = time.monotonic() + 60
        while len(api(addr.url, "/api/agents")["agents"]) < AGENTS:
            assert time.monotonic() < deadline, "the crowd did not arrive"
            time.sleep(0.2)
        yield addr.url, source


def api(url: str, path: str) -> Any:
    import urllib.request

    with urllib.request.urlopen(url + path, timeout=10) as resp:
        return json.loads(resp.read())


class Frames:
    """The text frames a page's WebSocket receives, with their types."""

    def __init__(self, page: Page) -> None:
        self.frames: list[tuple[float, str]] = []
        page.on("websocket", self._socket)

    def _socket(self, ws: WebSocket) -> None:
        ws.on("framereceived", lambda payload: self.frames.append((time.monotonic(), str(payload))))

    def types(self) -> list[str]:
        return [json.loads(text)["type"] for _, text in self.frames]


def shown_ids(page: Page) -> list[str]:
    return list(
        page.eval_on_selector_all("#agent-table tbody tr[data-agent-id]", "rs => rs.map(r => r.dataset.agentId)")
    )


def scroll_to_end(page: Page) -> None:
    page.evaluate("() => { const w = document.querySelector('.agents-wrap'); w.scrollTop = w.scrollHeight; }")
    page.wait_for_timeout(100)  # the next animation frame draws the rows in sight


def expected_by_time_in_state(url: str) -> list[str]:
    """Agent ids longest in state first (the page's "in state for" column sorted descending); offline agents
    have no time in state and come last, by name (docs/board.md)."""
    rows = api(url, "/api/agents")["agents"]
    on = sorted((r for r in rows if r["state"] != "offline"), key=lambda r: (r["since"], r["agent_id"]))
    off = sorted((r for r in rows if r["state"] == "offline"), key=lambda r: (r["name"] or "", r["agent_id"]))
    return [r["agent_id"] for r in on + off]


def test_fourteen_thousand_agents_sorted_scrolled_and_changed(crowded: tuple[str, FedSource], open_page: Any) -> None:
    url, source = crowded
    watched = open_page(f"{url}/supervisor?lang=en", width=1600, height=1000)
    page = watched.page
    frames = Frames(page)
    page.add_init_script(LONGTASKS)
    page.reload()
    page.wait_for_selector("#agent-table tbody tr[data-agent-id]", timeout=30_000)
    wait_state(page, "fresh")
    total = len(api(url, "/api/agents")["agents"])
    assert page.text_content("#agents-count") == f"{total:,} of {total:,} agents"
    assert 10 <= len(shown_ids(page)) <= 100, "only the rows in sight are in the DOM"
    assert page.get_attribute("#agent-table", "aria-rowcount") == str(total + 1)

    # Sorted by time in state, longest first: the end of the list is the agents who changed last.
    page.click('#agent-table th[data-sort="time_in_state"]')
    scroll_to_end(page)
    expected = expected_by_time_in_state(url)
    shown = shown_ids(page)
    assert shown == expected[-len(shown) :]
    last = page.query_selector_all("#agent-table tbody tr[data-agent-id]")[-1]
    assert last.get_attribute("aria-rowindex") == str(total + 1)

    # Changes: the longest in state moves to the end, an agent appears; both come as deltas.
    page.evaluate("() => { window.__longtasks.length = 0; }")
    before = len(frames.frames)
    source.feed_from_test([agent_event(expected[0], NOW * 1000 - 500, "break"), agent_event("new-1", NOW * 1000 - 400)])
    offline = sum(1 for r in api(url, "/api/agents")["agents"] if r["state"] == "offline")  # they sort last
    page.wait_for_function(
        "([ids, off]) => { const rs = document.querySelectorAll('#agent-table tbody tr[data-agent-id]');"
        " const n = rs.length - off; return n > 1 && rs[n - 1].dataset.agentId === ids[1]"
        " && rs[n - 2].dataset.agentId === ids[0]; }",
        arg=[[expected[0], "new-1"], offline],
        timeout=10_000,
    )
    assert page.text_content("#agents-count") == f"{total + 1:,} of {total + 1:,} agents"
    scroll_to_end(page)
    assert shown_ids(page) == expected_by_time_in_state(url)[-len(shown_ids(page)) :]
    row = f'#agent-table tr[data-agent-id="{expected[0]}"]'
    assert page.text_content(f"{row} .state-badge") == "Break"
    later = [json.loads(t) for _, t in frames.frames[before:]]
    deltas = [m for m in later if m["type"] == "agents_delta"]
    assert deltas and not [m for m in later if m["type"] == "agents"], "the changes came as deltas, not the list"
    assert max(len(json.dumps(m)) for m in deltas) < 5_000
    assert {r["agent_id"] for m in deltas for r in m["data"]["upserts"]} == {expected[0], "new-1"}

    # Filters still work over every agent, and sorting by name too.
    page.select_option("#agent-state-filter", "break")
    page.wait_for_timeout(100)
    breaks = [r["agent_id"] for r in api(url, "/api/agents")["agents"] if r["state"] == "break"]
    assert page.text_content("#agents-count") == f"{len(breaks):,} of {total + 1:,} agents"
    assert set(shown_ids(page)) == set(breaks)
    page.select_option("#agent-state-filter", "")
    page.fill("#agent-search", "z13999")
    page.wait_for_timeout(100)
    assert shown_ids(page) == ["z13999"]
    page.fill("#agent-search", "")

    # Budgets: after the first full list, no task of the page's over 250 ms (goal 50 ms: bench/supervisor_page.py
    # measures it; this only guards against a return to redrawing every row, which took seconds at this size).
    page.evaluate("() => { const w = document.querySelector('.agents-wrap'); w.scrollTop = 0; }")
    page.wait_for_timeout(300)
    tasks = page.evaluate("window.__longtasks")
    assert max(tasks, default=0) < 250, tasks
    assert len(shown_ids(page)) <= 100


def test_the_tv_never_gets_agent_rows(crowded: tuple[str, FedSource], open_page: Any) -> None:
    """Counts only, whole centre or some queues, even while 14,000 agents change."""
    url, source = crowded
    for path in ("/tv?lang=en", "/tv?lang=en&queues=credit-card,loans"):
        watched = open_page(url + path)
        frames = Frames(watched.page)
        watched.page.reload()
        wait_state(watched.page, "fresh")
        start = time.monotonic()
        for n in range(6):  # agents change every half second: the TV's counts move, its messages stay small
            source.feed_from_test([agent_event(n * 7, NOW * 1000 - 300 + n, ["busy", "available"][n % 2])])
            watched.page.wait_for_timeout(500)
        seconds = time.monotonic() - start
        assert frames.frames, path
        assert not [t for _, t in frames.frames if "agent_id" in t], f"{path}: an agent's row reached a TV"
        types = set(frames.types())
        assert types <= {"hello", "summary", "selection", "broadcast", "heartbeat"}, types
        assert {"summary", "selection"} & types
        data = sum(len(t) for at, t in frames.frames if at > start)
        assert data / seconds < 20_000, f"{path}: {data / seconds:.0f} B/s"


CASES = [
    # (a base view, the next one): changed periods, a new interval, queues coming and going, "__proto__"
    ({"q1": [1, 2]}, {"q1": [1, 3]}, 2, 2),
    ({"q1": [1, 2]}, {"q1": [1, 2, 5], "__proto__": [0, 0, 1]}, 2, 3),
    ({"q1": [1], "信用卡": [4]}, {"信用卡": [4]}, 1, 1),
]


def test_the_page_applies_intraday_deltas_as_the_server_does(crowded: tuple[str, FedSource], open_page: Any) -> None:
    from tests.test_deltas import intraday_view

    page = open_page(f"{crowded[0]}/supervisor?lang=en").page
    page.wait_for_function("() => !!(window.WB && WB.deltas)")
    for old_q, new_q, n_old, n_new in CASES:
        old, new = intraday_view(0, n_old, old_q, 0), intraday_view(0, n_new, new_q, 1)
        delta = intraday_delta(old, new)
        assert delta is not None
        got = page.evaluate(
            "([v, d]) => JSON.stringify(WB.deltas.applyIntraday(JSON.parse(v), JSON.parse(d)))",
            [json.dumps(old), json.dumps(delta)],
        )
        assert json.loads(got) == new
        other_day = intraday_view(1, n_old, old_q, 0)
        assert page.evaluate("([v, d]) => WB.deltas.applyIntraday(v, d)", [other_day, delta]) is None

"""Named boards (/tv/NAME) in real headless Chromium: the grid of fifteen queues on one 1080p screen, readable
from 5 m, the worst row first; the title in both languages; the pages turning; a group's numbers as the API's.

The boards run as tests/test_browser.py runs /tv (`Board`: the real app in a subprocess, a frozen clock).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.test_browser import (
    LONG_QUEUES,
    NOW,
    SETTINGS,
    TV_OVERFLOW_JS,
    VISIBLE_TEXT_JS,
    Board,
    many_queue_events,
    wait_state,
)
from tests.test_browser import browser as browser
from tests.test_browser import open_page as open_page

pytestmark = pytest.mark.browser

MANY = LONG_QUEUES + [f"queue-{i:02d}" for i in range(12)]
"""The fifteen queues of many_queue_events()."""
RANK = {"none": 0, "ok": 1, "warn": 2, "alarm": 3}


def board_settings() -> dict[str, Any]:
    s = copy.deepcopy(SETTINGS)
    s["groups"] = {"cards": {"queues": ["credit-card", "信用卡"]}, "long": {"queues": LONG_QUEUES}}
    s["boards"] = {
        "floor": {"title_zh": "电子银行中心", "title_en": "E-banking centre", "queues": MANY},
        "turning": {"queues": MANY, "rows_per_page": 6, "rotate_s": 1, "order": "as_listed"},
        "cards": {"title_zh": "信用卡团队", "title_en": "Credit card team", "groups": ["cards"], "layout": "channels"},
        "depts": {"groups": ["cards", "long"], "queues": ["loans", "credit-card"]},
        "ticking": {"queues": ["tick-q", "two-waiting"]},
        "longlist": {"groups": ["long"], "queues": MANY, "layout": "channels"},
    }
    return s


def ticking_events() -> list[dict[str, Any]]:
    """tick-q: one call waiting 15 s at NOW (ok; amber from 20 s); two-waiting: two calls waiting 1-2 s (amber).

    Each has as many agents available as calls waiting (nobody available while customers wait is red).
    """
    offered = [("tick-q", NOW - 15), ("two-waiting", NOW - 1), ("two-waiting", NOW - 2)]
    events = [
        {"event_id": f"tick-{n}", "type": "call.offered", "ts": at * 1000, "interaction_id": f"tick-{n}", "queue": q}
        for n, (q, at) in enumerate(offered)
    ]
    for n, queue in enumerate(["tick-q", "two-waiting", "two-waiting"]):
        events.append(
            {
                "event_id": f"tick-agent-{n}",
                "type": "agent.state",
                "ts": (NOW - 300) * 1000,
                "agent_id": f"tick-agent-{n}",
                "state": "available",
                "queues": [queue],
            }
        )
    return events


@pytest.fixture(scope="module")
def boards(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    b = Board(
        tmp_path_factory.mktemp("boards"), settings=board_settings(), extra=many_queue_events() + ticking_events()
    )
    b.start()
    yield b
    b.stop()


ROWS_JS = """() => Array.from(document.querySelectorAll('#grid-rows .g-row')).map(r => {
  const box = r.getBoundingClientRect();
  return {name: r.dataset.name, level: r.dataset.level, kind: r.dataset.kind, top: box.top, bottom: box.bottom,
          mark: getComputedStyle(r.querySelector('.g-mark')).backgroundColor};
})"""


@pytest.mark.parametrize(
    ("lang", "title", "width", "height"),
    [
        ("en", "E-banking centre", 1920, 1080),
        ("zh-CN", "电子银行中心", 1920, 1080),
        ("en", "E-banking centre", 3840, 2160),
    ],
)
def test_a_grid_of_fifteen_queues_fits_a_1080p_screen_readable_at_5_m(
    boards: Board, open_page: Any, lang: str, title: str, width: int, height: int
) -> None:
    assert boards.post("/api/broadcast", {"text": "Storm warning 台风预警"})[0] == 200  # the ticker takes room
    w = open_page(f"{boards.url}/tv/floor?lang={lang}", width=width, height=height)
    page = w.page
    wait_state(page, "fresh")
    page.wait_for_selector("#ticker[data-active='1']")
    page.wait_for_function("document.querySelectorAll('#grid-rows .g-row').length === 15")
    assert page.text_content("#board-title") == title and page.title() == title
    rows = page.evaluate(ROWS_JS)
    assert sorted(r["name"] for r in rows) == sorted(MANY)
    # All fifteen on the screen, nothing scrolls, nothing sticks out of its cell.
    assert all(r["bottom"] <= height for r in rows), rows
    assert page.evaluate("document.documentElement.scrollHeight <= innerHeight + 1")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth + 1")
    wide = page.evaluate("""() => Array.from(document.querySelectorAll('.g-value, .grid-head > div'))
        .filter(e => e.getClientRects().length && e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)""")
    assert wide == []
    # No text under 3 % of the screen height.
    texts = page.evaluate(VISIBLE_TEXT_JS)
    assert len(texts) > 15 * 7, texts
    small = [t for t in texts if t[2] < 0.03 * height]
    assert small == [], small
    # The worst rows first, each row marked with its worst level's colour.
    ranks = [RANK[r["level"]] for r in rows]
    assert ranks == sorted(ranks, reverse=True) and ranks[0] >= RANK["warn"], rows
    colours = {r["level"]: r["mark"] for r in rows}
    assert len(set(colours.values())) == len(colours)  # one colour per level
    assert w.errors == []


def test_the_rows_level_is_the_servers_and_the_numbers_are_the_apis(boards: Board, open_page: Any) -> None:
    """A group's row and a queue's row against /api/snapshot (the groups, the queues), cell by cell."""
    page = open_page(f"{boards.url}/tv/depts?lang=en").page
    wait_state(page, "fresh")
    page.wait_for_function("document.querySelectorAll('#grid-rows .g-row').length === 4")
    snap = boards.get("/api/snapshot")
    views = {"cards": snap["groups"]["cards"], "long": snap["groups"]["long"], "loans": snap["queues"]["loans"]}
    for name, view in views.items():
        row = f'#grid-rows .g-row[data-name="{name}"]'
        for ch in ("call", "sms"):
            chan = view["channels"][ch]
            cell = f'{row} .g-cell[data-channel="{ch}"]'
            assert page.get_attribute(f'{cell}[data-metric="waiting"] .g-value', "data-raw") == str(chan["waiting"])
            assert page.get_attribute(f'{cell}[data-metric="waiting"]', "data-level") == (
                chan["levels"]["waiting"] or "none"
            )
            sl = chan["window"]["service_level"]
            shown = page.text_content(f'{cell}[data-metric="sl_window"] .g-value')
            assert shown == ("\u2013" if sl is None else f"{round(sl * 100)}%"), (name, ch, shown, sl)
        available = page.get_attribute(f'{row} .g-cell[data-metric="available"] .g-value', "data-raw")
        assert available == str(view["agents"]["available"])
    # A group row names the group; its members are in its tooltip.
    assert page.get_attribute('.g-row[data-name="cards"]', "data-kind") == "group"
    assert "信用卡" in (page.get_attribute('.g-row[data-name="cards"] .g-name', "title") or "")


def test_a_row_turns_worse_and_moves_up_as_its_wait_ticks_without_a_push(boards: Board, open_page: Any) -> None:
    """Between pushes the rows follow the server's level_steps: never a colour left stale by a quiet feed."""
    row = boards.get("/api/snapshot")["queues"]["tick-q"]["channels"]["call"]["levels"]
    assert row["longest_wait_s"] == "ok" and [s["level"] for s in row["longest_wait_steps"]] == ["ok", "warn", "alarm"]
    page = open_page(f"{boards.url}/tv/ticking?lang=en").page
    wait_state(page, "fresh")
    page.wait_for_function("document.querySelectorAll('#grid-rows .g-row').length === 2")
    order = (
        "() => Array.from(document.querySelectorAll('#grid-rows .g-row')).map(r => [r.dataset.name, r.dataset.level])"
    )
    assert page.evaluate(order) == [["two-waiting", "warn"], ["tick-q", "ok"]]
    # 20 s of wait: amber, and first (as listed within a level: tick-q is listed first).
    page.wait_for_function(
        "() => document.querySelector('#grid-rows .g-row').dataset.name === 'tick-q'", timeout=15_000
    )
    assert page.evaluate(order) == [["tick-q", "warn"], ["two-waiting", "warn"]]
    cell = '.g-row[data-name="tick-q"] .g-cell[data-channel="call"][data-metric="longest_wait"]'
    assert page.get_attribute(cell, "data-level") == "warn"
    assert page.evaluate("document.body.dataset.asOf") == boards.get("/api/snapshot")["as_of"]  # no new data came


def test_the_pages_of_a_long_board_turn(boards: Board, open_page: Any) -> None:
    page = open_page(f"{boards.url}/tv/turning?lang=en").page
    wait_state(page, "fresh")
    seen: dict[str, list[str]] = {}
    deadline = time.monotonic() + 8
    while len(seen) < 3 and time.monotonic() < deadline:
        number, names = page.evaluate(
            """() => [document.getElementById("grid-rows").dataset.page,
                      Array.from(document.querySelectorAll("#grid-rows .g-row")).map(r => r.dataset.name)]"""
        )
        seen[number] = names
        time.sleep(0.1)
    assert sorted(seen) == ["1", "2", "3"], seen
    assert seen["1"] == MANY[:6] and seen["2"] == MANY[6:12] and seen["3"] == MANY[12:]  # as listed, 6 a page
    assert page.text_content("#grid-page") in ("Page 1/3", "Page 2/3", "Page 3/3")


@pytest.mark.parametrize(("lang", "title"), [("en", "Credit card team"), ("zh-CN", "信用卡团队")])
def test_a_channels_board_shows_its_groups_sum_with_its_title_and_full_list(
    boards: Board, open_page: Any, lang: str, title: str
) -> None:
    page = open_page(f"{boards.url}/tv/cards?lang={lang}").page
    wait_state(page, "fresh")
    assert page.text_content("#board-title") == title
    label = page.text_content("#selection-label") or ""
    assert "cards" in label  # the whole list, not cut to its first name
    group = boards.get("/api/snapshot")["groups"]["cards"]
    for ch in ("call", "sms"):
        tile = f'.channel[data-channel="{ch}"] .tile[data-metric="waiting"]'
        page.wait_for_function(
            "([s, v]) => document.querySelector(s + ' .tile-value').dataset.raw === v",
            arg=[tile, str(group["channels"][ch]["waiting"])],
        )
        assert page.get_attribute(tile, "data-level") == (group["channels"][ch]["levels"]["waiting"] or "none")
    counts = page.eval_on_selector_all(
        "#agents-strip .agent-count",
        "es => es.map(e => [e.dataset.agentState, e.querySelector('.agent-value').dataset.raw])",
    )
    assert dict(counts) == {s: str(group["agents"][s]) for s in ("available", "busy", "wrap_up", "break")}


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_a_channels_boards_header_lists_all_it_shows_and_the_panels_still_fit(
    boards: Board, open_page: Any, lang: str
) -> None:
    """Fifteen queues with long names and a group: the header names as many as its line takes and counts the rest."""
    assert boards.post("/api/broadcast", {"text": "Storm warning 台风预警"})[0] == 200
    page = open_page(f"{boards.url}/tv/longlist?lang={lang}").page
    wait_state(page, "fresh")
    page.wait_for_selector("#ticker[data-active='1']")
    # As many names as the line takes, in order, then how many more: every name is either shown or counted.
    label = page.text_content("#selection-label") or ""
    names = ["long", *MANY]
    shown = int(page.get_attribute("#selection-label", "data-shown") or "0")
    assert 1 <= shown < len(names)
    assert all(name in label for name in names[:shown]) and not any(name in label for name in names[shown:])
    rest = len(names) - shown
    assert label.endswith(f"+{rest} more" if lang == "en" else f"等另 {rest} 个"), label
    assert all(name in (page.get_attribute("#selection-label", "title") or "") for name in names)
    fits = (
        "(() => { const e = document.getElementById('selection-label'); return e.scrollWidth <= e.clientWidth + 1; })"
    )
    assert page.evaluate(fits + "()")
    assert page.evaluate(TV_OVERFLOW_JS) == []
    assert page.evaluate("document.documentElement.scrollHeight <= innerHeight + 1")
    small = [t for t in page.evaluate(VISIBLE_TEXT_JS) if t[2] < 0.03 * 1080]
    assert small == [], small


def test_the_supervisor_table_groups_queues_under_their_departments(boards: Board, open_page: Any) -> None:
    """[groups]: a section per group with the server's exact numbers, its queues under it, folded at a click."""
    page = open_page(f"{boards.url}/supervisor?lang=en", width=1366, height=768).page
    wait_state(page, "fresh")
    page.wait_for_selector('#queue-table tbody.dept-group[data-dept="cards"]')
    snap = boards.get("/api/snapshot")
    cards = snap["groups"]["cards"]["channels"]["call"]
    row = '#queue-table tbody.dept-group[data-dept="cards"] tr[data-channel="call"]'
    assert page.get_attribute(f'{row} td[data-col="waiting"]', "data-raw") == str(cards["waiting"])
    assert page.get_attribute(f'{row} td[data-col="today.offered"]', "data-raw") == str(cards["today"]["offered"])
    order = page.eval_on_selector_all(
        "#queue-table > tbody", "bs => bs.map(b => b.dataset.dept ? 'dept:' + b.dataset.dept : b.dataset.group)"
    )
    # Each department, then its queues; the queues of no department last.
    assert order.index("dept:cards") < order.index("credit-card") < order.index("dept:long")
    assert order.index("信用卡") < order.index("dept:long") and order.index("loans") > order.index("dept:long")
    page.click('#queue-table tr.dept-head[data-dept="cards"] .group-toggle')
    assert not page.is_visible('#queue-table tbody.queue-group[data-group="credit-card"]')
    assert page.is_visible('#queue-table tbody.queue-group[data-group="loans"]')
    assert page.is_visible(row)  # the department's own numbers stay
    page.click('#queue-table tr.dept-head[data-dept="cards"] .group-toggle')
    assert page.is_visible('#queue-table tbody.queue-group[data-group="credit-card"]')

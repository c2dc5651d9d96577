"""Agents over their [agent_limits] in real Chromium (docs/board.md "Agents over their limit"): the TV's strip
counts them from the second the server says they cross, without any event; the supervisor's agent list marks
and sorts them and shows the reason; offline agents have no "in state for"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_browser import NOW, SETTINGS, VISIBLE_TEXT_JS, Board, wait_state
from tests.test_browser import browser as browser  # the fixtures
from tests.test_browser import open_page as open_page

# a04 has been on break since NOW - 700 (tests/test_browser.py's roster): over a 740 s limit from NOW + 41
# (before the feed turns quiet, a minute after its newest event).
LIMITS = {"break": {"limit": 740, "reasons": {"lunch": {"limit": 3600}}}, "wrap_up": {"limit": 600}}
LUNCH = {
    "type": "agent.state",
    "event_id": "lunch-a08",
    "ts": (NOW - 900) * 1000,
    "agent_id": "a08",
    "name": "Sun Li",
    "state": "break",
    "reason": "lunch",
    "queues": ["loans"],
}


@pytest.fixture(scope="module")
def clock_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clock") / "offset"
    path.write_text("0")
    return path


@pytest.fixture(scope="module")
def limits_board(tmp_path_factory: pytest.TempPathFactory, clock_file: Path) -> Iterator[Board]:
    settings = {**SETTINGS, "agent_limits": LIMITS}
    b = Board(tmp_path_factory.mktemp("limits"), settings, extra=[LUNCH], clock_file=clock_file)
    b.start()
    yield b
    b.stop()


def badge(page: Any, state: str) -> dict[str, Any]:
    return dict(
        page.eval_on_selector(
            f'.agent-count[data-agent-state="{state}"]',
            """e => { const b = e.querySelector('.agent-over');
                      return {hidden: b.hidden, shown: !!b.getClientRects().length, text: b.textContent,
                              label: b.getAttribute('aria-label'), level: e.dataset.over || '',
                              size: parseFloat(getComputedStyle(b).fontSize),
                              marker: getComputedStyle(b, '::before').content}; }""",
        )
    )


def test_tv_counts_an_agent_over_the_break_limit_from_the_crossing_second(
    limits_board: Board, clock_file: Path, open_page: Any
) -> None:
    """(The server's clock never goes back: this test moves it first, the next one reads it at the crossing.)"""
    langs = {"en": ("1 too long", "1 on break too long"), "zh-CN": ("1 人超时", "1 人小休超时")}
    pages = {lang: open_page(f"{limits_board.url}/tv?lang={lang}").page for lang in langs}
    # A TV of some queues counts the same in its selection (a04 serves 信用卡).
    pages["sel"] = open_page(f"{limits_board.url}/tv?lang=en&queues=%E4%BF%A1%E7%94%A8%E5%8D%A1").page
    for page in pages.values():
        wait_state(page, "fresh")
        before = badge(page, "break")
        assert before["hidden"] and not before["shown"] and before["level"] == ""  # nothing shown at 0
        assert badge(page, "wrap_up")["hidden"] and badge(page, "busy")["hidden"]  # busy: no limit, no badge
    assert limits_board.get("/api/snapshot")["totals"]["agents_over_limit"] == {"wrap_up": 0, "break": 0}
    clock_file.write_text("40")  # exactly 740 s of break: not over
    assert limits_board.get("/api/snapshot")["totals"]["agents_over_limit"] == {"wrap_up": 0, "break": 0}
    pages["en"].wait_for_timeout(1500)  # three pushes: heartbeats only
    assert all(badge(page, "break")["hidden"] for page in pages.values())
    clock_file.write_text("41")  # the crossing second; no event comes
    for lang, page in pages.items():
        text, label = langs.get(lang, langs["en"])
        page.wait_for_selector('.agent-count[data-agent-state="break"] .agent-over:not([hidden])', timeout=5000)
        after = badge(page, "break")
        assert (after["text"], after["label"], after["level"]) == (text, label, "alarm"), lang
        assert after["marker"].startswith('"\u25a0')  # a shape, not colour alone
        assert after["size"] >= 0.03 * 1080 - 0.01  # docs/board.md "Readability"
        small = [t for t in page.evaluate(VISIBLE_TEXT_JS) if t[2] < 0.03 * 1080 - 0.01]
        assert small == [], lang
        overflow = page.evaluate("""() => Array.from(document.querySelectorAll('.agent-count, .agent-count *'))
            .filter(e => e.getClientRects().length && e.scrollWidth > e.clientWidth + 1).map(e => e.className)""")
        assert overflow == [], lang


def test_supervisor_marks_sorts_and_explains_agents_over_their_limit(
    limits_board: Board, clock_file: Path, open_page: Any
) -> None:
    clock_file.write_text("41")  # (as the test above left it)
    page = open_page(limits_board.url + "/supervisor?lang=en").page
    wait_state(page, "fresh")
    page.wait_for_selector('#agent-table tbody tr[data-agent-id="a04"].over-limit', timeout=5000)

    def cell(agent: str, col: str) -> str:
        return page.text_content(f'#agent-table tr[data-agent-id="{agent}"] td[data-col="{col}"]') or ""

    # Over: the row's class and a ■ before the limit in force; the reason's own limit for a lunch break.
    assert cell("a04", "over_limit") == "\u25a0 12:20"
    assert cell("a08", "over_limit") == "1:00:00" and "lunch" in cell("a08", "state")
    assert "over-limit" not in (page.get_attribute('#agent-table tr[data-agent-id="a08"]', "class") or "")
    assert cell("a03", "over_limit") == "10:00" and cell("a01", "over_limit") == "\u2013"  # wrap-up; busy: none
    # Offline: no time in state.
    assert cell("a06", "time_in_state") == "\u2013"
    assert cell("a05", "time_in_state").startswith("1:0")  # logged in: it ticks (available 3700 s)

    def order() -> list[str]:
        rows = "#agent-table tbody tr[data-agent-id]"  # the virtualised list's spacer rows have none
        return list(page.eval_on_selector_all(rows, "rs => rs.map(r => r.dataset.agentId)"))

    page.click('#agent-table th[data-sort="over_limit"]')
    rows = order()
    assert rows[0] == "a04"
    assert set(rows[-6:]) == {"a01", "a02", "a05", "a06", "a07", "x1"}  # without a limit: last
    page.click('#agent-table th[data-sort="time_in_state"]')  # longest first: offline last all the same
    rows = order()
    assert rows[0] == "a05" and rows[-1] == "a06"
    page.click('#agent-table th[data-sort="time_in_state"]')
    assert order()[-1] == "a06"

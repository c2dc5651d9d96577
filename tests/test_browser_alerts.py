"""Alerts on the TV in real Chromium (docs/alerts.md "Where alerts show"): a band under the header with each
firing alert that concerns the board, its words from the server, readable from across the room."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_browser import SETTINGS, TV_OVERFLOW_JS, VISIBLE_TEXT_JS, Board, wait_state
from tests.test_browser import browser as browser  # the fixtures
from tests.test_browser import open_page as open_page

RULES = {
    # credit-card has two calls waiting (tests/test_browser.py's morning): fires at the first tick.
    "credit-waiting": {
        "metric": "waiting",
        "channel": "call",
        "scope": "queue",
        "names": ["credit-card"],
        "when": "above",
        "threshold": 2,
        "for_s": 0,
        "severity": "critical",
    },
    # The whole centre's calls below 99% in the window: fires too, less severe.
    "centre-sl": {"metric": "window.service_level", "channel": "call", "threshold": 0.99, "for_s": 0},
    # Never breached: no line.
    "never": {"metric": "waiting", "channel": "sms", "when": "above", "threshold": 1000, "for_s": 0},
}


@pytest.fixture(scope="module")
def alerts_board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    b = Board(tmp_path_factory.mktemp("alerts"), {**SETTINGS, "alerts": {"rules": RULES}})
    b.start()
    yield b
    b.stop()


def lines(page: Any) -> list[dict[str, Any]]:
    return list(
        page.eval_on_selector_all(
            "#tv-alerts .alert-line",
            """els => els.map(e => ({severity: e.dataset.severity, label: e.querySelector('.alert-label').textContent,
                                   value: e.querySelector('.alert-value').textContent,
                                   mark: e.querySelector('.alert-mark').textContent}))""",
        )
    )


def test_the_tv_shows_the_firing_alerts_critical_first_in_its_language(alerts_board: Board, open_page: Any) -> None:
    served = alerts_board.get("/api/alerts")["alerts"]
    assert [(a["rule"], a["state"]) for a in served] == [("credit-waiting", "firing"), ("centre-sl", "firing")]
    page = open_page(f"{alerts_board.url}/tv?lang=en").page
    wait_state(page, "fresh")
    page.wait_for_selector("#tv-alerts[data-active='1']")
    shown = lines(page)
    assert [(s["severity"], s["mark"], s["label"]) for s in shown] == [
        ("critical", "■", "credit-card calls waiting"),
        ("warning", "▲", "whole centre calls service level (window)"),
    ]
    assert shown[0]["value"] == "2 at or above 2"
    assert page.get_attribute("#tv-alerts", "data-worst") == "critical"
    zh = open_page(f"{alerts_board.url}/tv?lang=zh-CN").page
    wait_state(zh, "fresh")
    zh.wait_for_selector("#tv-alerts[data-active='1']")
    assert [s["label"] for s in lines(zh)] == ["credit-card 电话 排队数", "全中心 电话 服务水平(滚动)"]


def test_a_tv_of_other_queues_shows_only_the_centres_alerts(alerts_board: Board, open_page: Any) -> None:
    page = open_page(f"{alerts_board.url}/tv?lang=en&queues=loans").page
    wait_state(page, "fresh")
    page.wait_for_selector("#tv-alerts[data-active='1']")
    assert [s["label"] for s in lines(page)] == ["whole centre calls service level (window)"]


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (3840, 2160)])
def test_the_alert_band_is_readable_from_across_the_room(
    alerts_board: Board, open_page: Any, width: int, height: int
) -> None:
    page = open_page(f"{alerts_board.url}/tv?lang=zh-CN", width=width, height=height).page
    wait_state(page, "fresh")
    page.wait_for_selector("#tv-alerts[data-active='1']")
    texts = page.evaluate(VISIBLE_TEXT_JS)
    band = [t for t in texts if str(t[0]).startswith("alert")]
    assert len(band) >= 6, texts  # two lines: mark, label, value, since
    assert [t for t in texts if t[2] < 0.03 * height] == []
    assert page.evaluate(TV_OVERFLOW_JS) == []  # the tiles gave the band its room without overflowing
    box = page.eval_on_selector("#tv-alerts", "e => e.getBoundingClientRect().bottom")
    assert box < page.eval_on_selector("#channels", "e => e.getBoundingClientRect().top") + 1


def test_a_board_without_alerts_takes_no_room_for_them(tmp_path: Path, open_page: Any) -> None:
    quiet = Board(tmp_path, {**SETTINGS, "alerts": {"rules": {"never": RULES["never"]}}})
    quiet.start()
    try:
        page = open_page(f"{quiet.url}/tv?lang=en").page
        wait_state(page, "fresh")
        page.wait_for_timeout(1500)
        assert page.get_attribute("#tv-alerts", "data-active") == "0"
        assert not page.is_visible("#tv-alerts")
        assert not page.evaluate("() => document.body.classList.contains('has-alerts')")
    finally:
        quiet.stop()

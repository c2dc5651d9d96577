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


NOTIFICATIONS = """
window.__notified = [];
window.Notification = function (title, options) { window.__notified.push([title, options.body, options.tag]); };
window.Notification.permission = "granted";
window.Notification.requestPermission = function () { return Promise.resolve("granted"); };
"""
"""A stand-in for the browser's Notification (headless Chromium shows none): it records what the page asks."""


@pytest.fixture(scope="module")
def moving_clock(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("alerts-clock") / "offset"
    path.write_text("0")
    return path


@pytest.fixture(scope="module")
def pending_board(tmp_path_factory: pytest.TempPathFactory, moving_clock: Path) -> Iterator[Board]:
    rules = {"credit-waiting": {**RULES["credit-waiting"], "for_s": 30}}
    b = Board(tmp_path_factory.mktemp("pending"), {**SETTINGS, "alerts": {"rules": rules}}, clock_file=moving_clock)
    b.start()
    yield b
    b.stop()


def test_the_supervisor_lists_alerts_is_told_of_a_new_firing_and_acknowledges_it(
    pending_board: Board, moving_clock: Path, open_page: Any
) -> None:
    watched = open_page(f"{pending_board.url}/supervisor?lang=en")
    page = watched.page
    page.add_init_script(NOTIFICATIONS)
    page.reload()
    wait_state(page, "fresh")
    page.wait_for_selector("#alerts-section:not([hidden]) .alert-line[data-state='pending']")
    assert page.text_content("#alerts-list .alert-label") == "credit-card calls waiting"
    assert page.query_selector("#alerts-list .alert-ack-button") is None  # pending: nothing to acknowledge yet
    moving_clock.write_text("31")  # breached for 30 s: it fires
    page.wait_for_selector("#alerts-list .alert-line[data-state='firing'] .alert-ack-button", timeout=10_000)
    notified = page.evaluate("window.__notified")
    assert [n[:2] for n in notified] == [["Wallboard alert", "credit-card calls waiting 2 at or above 2"]]
    page.click("#alerts-list .alert-ack-button")
    page.wait_for_selector("#alerts-list .alert-ack", timeout=10_000)
    assert page.text_content("#alerts-list .alert-ack") == "✓ local"
    (alert,) = pending_board.get("/api/alerts")["alerts"]
    assert alert["acknowledged_by"] == "local" and alert["idempotency_key"] == notified[0][2]
    assert page.query_selector("#alerts-list .alert-ack-button") is None
    assert page.evaluate("window.__notified.length") == 1  # the acknowledgement is no new firing


def test_a_centre_without_alert_rules_has_no_alerts_panel(alerts_board: Board, tmp_path: Path, open_page: Any) -> None:
    quiet = Board(tmp_path, SETTINGS)
    quiet.start()
    try:
        page = open_page(f"{quiet.url}/supervisor?lang=en").page
        wait_state(page, "fresh")
        page.wait_for_timeout(1000)
        assert not page.is_visible("#alerts-section")
    finally:
        quiet.stop()

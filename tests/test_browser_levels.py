"""The colours of the abandon rate, ASA, AHT and the available agents, in real headless Chromium.

Two queues with the same traffic over the last half hour: ten calls, seven answered after 20 s and handled
for 200 s, three abandoned after 30 s, and five waiting now.  "peak" is judged by the channel's limits (the
module's SETTINGS: abandons 5%/10%, ASA 15/30 s, AHT off) and its only agent is busy; "lenient" has limits
of its own (abandons 35%/50%, ASA 25/40 s, AHT amber from 180 s) and one agent available.  Same numbers,
other colours: the pages show the server's levels, they do not decide them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.test_browser import NOW, SETTINGS, Board, snapshot_at_page_as_of, wait_state
from tests.test_browser import browser as browser
from tests.test_browser import open_page as open_page

pytestmark = pytest.mark.browser

LEVELS_SETTINGS: dict[str, Any] = {
    **SETTINGS,
    "queues": {
        **SETTINGS["queues"],
        "lenient": {
            "call": {
                "abandon_rate_warn": 0.35,
                "abandon_rate_alarm": 0.5,
                "asa_warn": 25,
                "asa_alarm": 40,
                "aht_warn": 180,
            }
        },
    },
}
RED = "rgb(255, 77, 79)"
AMBER = "rgb(255, 178, 36)"
GREEN = "rgb(53, 208, 127)"


def queue_events(queue: str, agents: list[tuple[str, str]]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []

    def add(kind: str, ts_s: float, iid: str, **more: Any) -> None:
        events.append(
            {
                "event_id": f"{iid}-{kind}",
                "type": f"call.{kind}",
                "ts": int(ts_s * 1000),
                "interaction_id": iid,
                "queue": queue,
                **more,
            }
        )

    for i in range(10):
        iid, offered = f"{queue}-{i}", NOW - 1500 + i * 60
        add("offered", offered, iid)
        if i < 7:
            add("answered", offered + 20, iid, agent_id=agents[0][0])
            add("completed", offered + 220, iid, agent_id=agents[0][0])
        else:
            add("abandoned", offered + 30, iid)
    for i in range(5):
        add("offered", NOW - 10 - i * 10, f"{queue}-w{i}")
    for agent_id, state in agents:
        events.append(
            {
                "event_id": f"{agent_id}-state",
                "type": "agent.state",
                "ts": (NOW - 100) * 1000,
                "agent_id": agent_id,
                "state": state,
                "queues": [queue],
            }
        )
    return events


@pytest.fixture(scope="module")
def levels_board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    extra = queue_events("peak", [("p1", "busy")]) + queue_events("lenient", [("l2", "busy"), ("l1", "available")])
    b = Board(tmp_path_factory.mktemp("levels"), LEVELS_SETTINGS, extra=extra)
    b.start()
    yield b
    b.stop()


TV_STATE = """() => {
  const tile = m => document.querySelector('.channel[data-channel="call"] .tile[data-metric="' + m + '"]');
  const sub = m => tile(m).querySelector('.sub-value');
  const avail = document.querySelector('#agents-strip .agent-count[data-agent-state="available"]');
  const look = (el, v) => ({level: el.dataset.level, text: v.textContent, colour: getComputedStyle(v).color,
                            shape: getComputedStyle(el, '::after').content});
  return {
    abandon: look(tile('abandon_window'), tile('abandon_window').querySelector('.tile-value')),
    abandon_today: look(sub('abandon_window'), sub('abandon_window')),
    asa: look(tile('asa_window'), tile('asa_window').querySelector('.tile-value')),
    asa_today: look(sub('asa_window'), sub('asa_window')),
    available: look(avail, avail.querySelector('.agent-value')),
  };
}"""


def tv_state(board: Board, open_page: Any, queue: str) -> tuple[dict[str, Any], dict[str, Any]]:
    page = open_page(board.url + "/tv?lang=en&channel=call&queues=" + quote(queue)).page
    wait_state(page, "fresh")
    sel = board.get("/api/snapshot?queues=" + quote(queue))["selection"]
    return dict(page.evaluate(TV_STATE)), sel


def test_tv_shows_a_red_abandon_rate_an_amber_asa_and_nobody_available_in_red(
    levels_board: Board, open_page: Any
) -> None:
    shown, sel = tv_state(levels_board, open_page, "peak")
    call = sel["channels"]["call"]
    assert (call["window"]["abandon_rate"], call["window"]["asa_s"], call["waiting"]) == (0.3, 20.0, 5)
    assert sel["agents"]["available"] == 0
    # What the server says ...
    assert call["levels"]["window"]["abandon_rate"] == call["levels"]["today"]["abandon_rate"] == "alarm"
    assert call["levels"]["window"]["asa_s"] == call["levels"]["today"]["asa_s"] == "warn"
    assert sel["levels"] == {"agents": {"available": "alarm"}}
    # ... the TV shows: colour and shape (for colour-blind viewers), the figure unchanged.
    assert shown["abandon"] == {"level": "alarm", "text": "30%", "colour": RED, "shape": '"■"'}
    assert shown["asa"] == {"level": "warn", "text": "20 s", "colour": AMBER, "shape": '"▲"'}
    assert shown["abandon_today"] == {"level": "alarm", "text": "30%", "colour": RED, "shape": '" ■"'}
    assert shown["asa_today"] == {"level": "warn", "text": "20 s", "colour": AMBER, "shape": '" ▲"'}
    assert shown["available"] == {"level": "alarm", "text": "0", "colour": RED, "shape": '"■"'}


def test_a_queues_own_limits_change_the_colours_not_the_numbers(levels_board: Board, open_page: Any) -> None:
    shown, sel = tv_state(levels_board, open_page, "lenient")
    call = sel["channels"]["call"]
    assert (call["window"]["abandon_rate"], call["window"]["asa_s"], call["waiting"]) == (0.3, 20.0, 5)
    assert sel["settings"]["call"]["abandon_rate_warn"] == 0.35  # the queue's own limits, sent with the data
    assert shown["abandon"] == {"level": "ok", "text": "30%", "colour": GREEN, "shape": "none"}
    assert shown["asa"] == {"level": "ok", "text": "20 s", "colour": GREEN, "shape": "none"}
    assert (shown["abandon_today"]["level"], shown["asa_today"]["level"]) == ("ok", "ok")
    # One available for five waiting: fewer than wait, amber.
    assert sel["agents"]["available"] == 1 and sel["levels"] == {"agents": {"available": "warn"}}
    assert shown["available"] == {"level": "warn", "text": "1", "colour": AMBER, "shape": '"▲"'}


def test_tv_of_the_whole_centre_colours_its_available_agents_with_the_totals_level(
    levels_board: Board, open_page: Any
) -> None:
    page = open_page(levels_board.url + "/tv?lang=en").page
    wait_state(page, "fresh")
    snap = snapshot_at_page_as_of(levels_board, page)
    level = snap["totals"]["levels"]["agents"]["available"]
    waiting = sum(c["waiting"] for c in snap["totals"]["channels"].values())
    assert (snap["totals"]["agents"]["available"], waiting, level) == (4, 14, "warn")
    assert page.get_attribute('#agents-strip [data-agent-state="available"]', "data-level") == level
    # The other states have no level.
    assert page.eval_on_selector_all(
        "#agents-strip .agent-count:not([data-agent-state=available])", "es => es.map(e => e.dataset.level)"
    ) == ["none", "none", "none"]


def test_supervisor_colours_every_cell_with_the_servers_levels(levels_board: Board, open_page: Any) -> None:
    page = open_page(levels_board.url + "/supervisor?lang=en").page
    wait_state(page, "fresh")
    snap = snapshot_at_page_as_of(levels_board, page)
    cells = page.evaluate("""() => Array.from(document.querySelectorAll('#queue-table tr[data-channel]'))
        .map(tr => ({queue: tr.dataset.queue || null, channel: tr.dataset.channel,
                     levels: Object.fromEntries(Array.from(tr.querySelectorAll('[data-level]'))
                                  .map(c => [c.dataset.col, c.dataset.level]))}))""")
    shown = {(r["queue"], r["channel"]): r["levels"] for r in cells}
    for (queue, channel), levels in shown.items():
        node = snap["totals"] if queue is None else snap["queues"][queue]
        server = node["channels"][channel]["levels"]
        expected = {
            f"{period}.{rate}": server[period][rate] or "none"
            for period in ("window", "today")
            for rate in ("service_level", "asa_s", "aht_s", "abandon_rate")
        }
        expected["agents.available"] = node["levels"]["agents"]["available"] or "none"
        assert {k: levels[k] for k in expected} == expected, (queue, channel)
    columns = ("window.abandon_rate", "window.asa_s", "agents.available")
    peak, lenient = shown[("peak", "call")], shown[("lenient", "call")]
    assert [peak[c] for c in columns] == ["alarm", "warn", "alarm"]
    assert [lenient[c] for c in columns] == ["ok", "ok", "warn"]
    # AHT (200 s): no colour by default, amber where the queue asks for it (from 180 s).
    assert (peak["today.aht_s"], lenient["today.aht_s"]) == ("none", "warn")
    assert page.text_content('#queue-table tr[data-queue="lenient"][data-channel="call"] [data-col="today.aht_s"]') == (
        "3:20"
    )


def test_stale_data_loses_the_new_colours_too(tmp_path: Path, open_page: Any) -> None:
    b = Board(tmp_path, LEVELS_SETTINGS, extra=queue_events("peak", [("p1", "busy")]))
    b.start()
    try:
        page = open_page(b.url + "/tv?lang=en&channel=call&queues=peak").page
        wait_state(page, "fresh")
        before = page.evaluate(TV_STATE)
        assert before["abandon_today"]["colour"] == before["available"]["colour"] == RED
        b.stop()
        wait_state(page, "stale", timeout=3000)
        after = page.evaluate(TV_STATE)
        for key in ("abandon", "abandon_today", "asa", "asa_today", "available"):
            assert after[key]["colour"] not in (RED, AMBER, GREEN), key
            assert after[key]["shape"] == "none", key
            assert after[key]["text"] == before[key]["text"], key  # the last numbers stay, marked stale
    finally:
        b.stop()

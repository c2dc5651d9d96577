"""Groups (``[groups."NAME"]``) and named boards (``[boards.NAME]``, /tv/NAME): settings, numbers, levels, serving."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from starlette.websockets import WebSocketDisconnect

from tests.conftest import make_settings
from tests.engine_compare import _compare_queue, fed
from tests.reference import reference
from tests.streams import QUEUES, random_stream, to_json
from tests.test_routes import T0, agent_ev, ev, recv, recv_initial, running, web_settings
from wallboard.boards import board_view, level_schedule, step_at, title, worst_level
from wallboard.cli import main
from wallboard.engine import Engine
from wallboard.errors import SettingsError
from wallboard.events import AgentStateEvent, InteractionEvent
from wallboard.levels import add_levels
from wallboard.settings import load_settings, parse_settings, settings_tree, with_overrides

ROOT = Path(__file__).resolve().parent.parent
BASE = 1_795_960_800  # 2026-11-29T22:00:00+08:00: streams cross midnight
SPAN = 8 * 3600


def settings_problems(tree: dict[str, Any]) -> list[str]:
    with pytest.raises(SettingsError) as info:
        parse_settings({"timezone": "UTC", **tree}, environ={})
    return list(info.value.problems)


# ------------------------------------------------------------------ settings


def test_groups_and_boards_load() -> None:
    s = make_settings(
        groups={"个人业务": {"queues": ["信用卡", "借记卡"]}, "cards": {"queues": ["借记卡", "gold"]}},
        boards={"credit-card_1": {"title_en": "Credit card team", "groups": ["个人业务"], "queues": ["gold"]}},
    )
    assert s.metrics.groups["个人业务"].queues == ("信用卡", "借记卡")
    assert s.metrics.named_queues == ["信用卡", "借记卡", "gold"]  # listed from the start, each once
    board = s.boards["credit-card_1"]
    assert (board.layout, board.order, board.rows_per_page, board.rotate_s) == ("grid", "worst_first", 15, 0)
    assert title("credit-card_1", board) == {"zh-CN": "Credit card team", "en": "Credit card team"}
    assert title("x", make_settings(boards={"x": {"queues": ["a"]}}).boards["x"]) == {"zh-CN": "x", "en": "x"}
    assert parse_settings(settings_tree(s), environ={}) == s  # the tree round-trips


@pytest.mark.parametrize(
    ("tree", "message"),
    [
        ({"groups": {"": {"queues": ["a"]}}}, 'groups."": a group name has 1 to 64 characters'),
        ({"groups": {"g ": {"queues": ["a"]}}}, "the board shows this group as 'g'"),
        ({"groups": {"g": {}}}, 'groups."g".queues: required'),
        ({"groups": {"g": {"queues": []}}}, 'groups."g".queues: must be a non-empty list of names'),
        ({"groups": {"g": {"queues": "a"}}}, None),  # a string is a list of one (as from the environment)
        ({"groups": {"g": {"queues": ["a", "a"]}}}, "lists 'a' twice"),
        ({"groups": {"g": {"queues": ["a\u200b"]}}}, "the board shows the name 'a\\u200b' as 'a'"),
        ({"groups": {"g": {"queues": ["a\nb"]}}}, "the name name 'a\\nb'"),
        ({"groups": {"g": {"queues": [str(i) for i in range(201)]}}}, "lists at most 200 names"),
        ({"groups": {"g": {"queues": ["x" * 300]}}}, "at most 256 characters"),
        ({"groups": {"g": {"queues": ["x" * 65]}}}, "longer than limits.max_queue_name (64)"),
        ({"groups": {f"g{i}": {"queues": ["a"]} for i in range(101)}}, "groups: at most 100 groups, got 101"),
        (
            {"limits": {"max_queues": 2}, "groups": {"g": {"queues": ["a", "b", "c"]}}},
            "name 3 queues, more than limits.max_queues (2)",
        ),
        ({"groups": {"g": {"queues": ["a"], "colour": "red"}}}, 'groups."g".colour: unknown setting'),
        ({"boards": {"Wall": {"queues": ["a"]}}}, 'boards."Wall": a board name is part of its URL'),
        ({"boards": {"a/b": {"queues": ["a"]}}}, "a board name is part of its URL"),
        ({"boards": {"x" * 41: {"queues": ["a"]}}}, "a board name has 1 to 40 characters"),
        ({"boards": {"wall": {}}}, "boards.wall: shows nothing"),
        ({"boards": {"wall": {"groups": ["nope"]}}}, "boards.wall.groups: unknown group 'nope' (known: none"),
        ({"boards": {"wall": {"queues": ["a"], "layout": "mosaic"}}}, "must be one of grid, channels"),
        ({"boards": {"wall": {"queues": ["a"], "title_en": "x" * 81}}}, "a title has at most 80 characters"),
        ({"boards": {"wall": {"queues": ["a"], "title_zh": "a\nb"}}}, "the title name 'a\\nb'"),
        ({"boards": {"wall": {"queues": ["a"], "title_zh": "a\u202eb"}}}, "the title 'a\\u202eb' as 'ab'"),
        ({"boards": {"wall": {"queues": ["a"], "rows_per_page": 21}}}, "must be at most 20"),
        ({"boards": {"wall": {"queues": ["a"], "rotate_s": -1}}}, "must be at least 0"),
        (
            {"boards": {"wall": {"queues": [str(i) for i in range(16)]}}},
            "boards.wall: 16 rows do not fit rows_per_page = 15; set rotate_s",
        ),
        (
            {"boards": {"wall": {"queues": ["a"], "layout": "channels", "rotate_s": 5}}},
            "boards.wall.rotate_s: only a grid board rotates pages",
        ),
        ({"boards": {f"b{i}": {"queues": ["a"]} for i in range(101)}}, "boards: at most 100 boards, got 101"),
    ],
)
def test_every_bad_group_or_board_is_named_with_its_key(tree: dict[str, Any], message: str | None) -> None:
    if message is None:
        assert parse_settings({"timezone": "UTC", **tree}, environ={}).metrics.groups["g"].queues == ("a",)
        return
    problems = settings_problems(tree)
    assert any(message in p for p in problems), problems


def test_sixteen_rows_fit_with_rotation() -> None:
    s = make_settings(boards={"wall": {"queues": [str(i) for i in range(16)], "rotate_s": 8}})
    assert s.boards["wall"].rotate_s == 8


def test_the_sample_settings_of_the_bank_load_and_name_the_scenarios_queues() -> None:
    s = load_settings(ROOT / "seeds" / "settings" / "bank-boards.toml", environ={})
    assert set(s.boards) == {"centre", "credit", "personal"}
    scenario = (ROOT / "seeds" / "bank-hotline.toml").read_text(encoding="utf-8")
    for queue in s.metrics.named_queues:
        assert f'[queues."{queue}"]' in scenario, queue
    assert len(s.boards["centre"].groups) + len(s.boards["centre"].queues) <= s.boards["centre"].rows_per_page


# ------------------------------------------------------------------ groups: exact numbers


@given(
    seed=st.integers(0, 2**32),
    offset=st.integers(0, SPAN + 3600),
    formula=st.sampled_from(["abandons_negative", "abandons_ignored", "abandons_positive"]),
    picks=st.lists(st.sets(st.sampled_from([*QUEUES, "quiet"]), min_size=1), min_size=1, max_size=3),
)
@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_group_equals_the_sum_over_its_queues_computed_independently(
    seed: int, offset: int, formula: str, picks: list[set[str]]
) -> None:
    """Every number of a group, against tests/reference.py over the group's queues' interactions."""
    rng = random.Random(seed)
    groups = {f"g{i}": {"queues": sorted(p)} for i, p in enumerate(picks)}
    s = make_settings(
        window=rng.choice([60, 900, 1800]),
        channels={"call": {"sl_formula": formula}, "sms": {"sl_formula": formula}},
        queues={"信用卡": {"call": {"sl_threshold": 30, "short_abandon": 2, "sl_formula": "abandons_positive"}}},
        groups=groups,
    )
    events = random_stream(rng, BASE, SPAN, interactions=rng.randrange(0, 150))
    at = BASE + offset
    engine = fed(s, events, at)
    snap = engine.snapshot()
    ref = reference(events, s.metrics, at)
    assert list(snap["groups"]) == list(groups)
    for name, group in groups.items():
        got = snap["groups"][name]
        assert (got["queues"], got["missing"]) == (group["queues"], [])  # named in the settings: always listed
        assert got["channels"] is not None and got["agents"] is not None
        _compare_queue(got, ref["groups"][name], where=name)
        # And the same as a selection of those queues (a TV's ?queues=), to the last bit.
        assert got == engine.selection(group["queues"])


def test_a_group_of_one_queue_is_that_queue_with_its_own_settings_and_levels() -> None:
    s = make_settings(
        queues={"信用卡": {"call": {"sl_threshold": 30, "waiting_warn": 1, "waiting_alarm": 2}}},
        groups={"cards": {"queues": ["信用卡"]}, "both": {"queues": ["信用卡", "loans"]}},
    )
    engine = Engine(s.metrics, T0)
    engine.apply(InteractionEvent("e1", (T0 - 10) * 1000, "call", "offered", "i1", "信用卡", None))
    snap = add_levels(engine.snapshot(), s.metrics)
    cards, both = snap["groups"]["cards"], snap["groups"]["both"]
    assert cards["channels"] == snap["queues"]["信用卡"]["channels"]  # levels included
    assert cards["settings"]["call"]["sl_threshold"] == 30
    assert cards["channels"] is not None and cards["channels"]["call"]["levels"]["waiting"] == "warn"
    # Two queues: the channel's limits (MetricSettings.for_queues), as any selection of several queues.
    assert both["settings"]["call"]["sl_threshold"] == 20
    assert both["channels"] is not None and both["channels"]["call"]["levels"]["waiting"] == "ok"
    assert both["queues"] == ["信用卡", "loans"] and both["missing"] == []


def test_replay_prints_the_groups(tmp_path: Path) -> None:
    rng = random.Random(3)
    events = random_stream(rng, BASE, 4 * 3600, interactions=120)
    (tmp_path / "day.jsonl").write_bytes(b"\n".join(to_json(e, rng) for e in events) + b"\n")
    config = tmp_path / "wallboard.toml"
    config.write_text(
        'timezone = "Asia/Shanghai"\n[groups."卡"]\nqueues = ["信用卡", "credit-card"]\n', encoding="utf-8"
    )
    at = BASE + 4 * 3600
    result = CliRunner().invoke(main, ["replay", str(tmp_path / "day.jsonl"), "--at", str(at), "--config", str(config)])
    assert result.exit_code == 0, result.output
    snap = json.loads(result.output)
    s = make_settings(groups={"卡": {"queues": ["信用卡", "credit-card"]}})
    ref = reference(events, s.metrics, at)
    _compare_queue(snap["groups"]["卡"], ref["groups"]["卡"], where="卡")


# ------------------------------------------------------------------ worst level and its schedule


def test_the_worst_level_is_found_under_any_key_at_any_depth() -> None:
    assert worst_level(None) is None and worst_level({}) is None and worst_level("nonsense") is None
    assert worst_level({"waiting": "ok", "window": {"service_level": None}}) == "ok"
    # A level the levels module adds later (any name, any depth) counts without a change.
    later = {"waiting": "ok", "window": {"service_level": "ok", "abandon_rate": "alarm"}}
    assert worst_level(later) == "alarm"
    assert worst_level([{"a": "warn"}, {"b": {"c": ["ok"]}}]) == "warn"


def test_the_longest_wait_counts_at_its_scheduled_level() -> None:
    from datetime import datetime

    steps: Any = [
        {"from": "2026-11-29T10:00:00.000+08:00", "level": "ok"},
        {"from": "2026-11-29T10:00:20.000+08:00", "level": "warn"},
        {"from": "2026-11-29T10:01:00.000+08:00", "level": "alarm"},
    ]
    levels = {"waiting": "ok", "longest_wait_s": "ok", "longest_wait_steps": steps}
    at = datetime.fromisoformat
    assert step_at(steps, at("2026-11-29T09:59:59+08:00")) is None
    assert worst_level(levels, at("2026-11-29T10:00:19.999+08:00")) == "ok"
    assert worst_level(levels, at("2026-11-29T10:00:20+08:00")) == "warn"
    assert worst_level(levels, at("2026-11-29T10:05:00+08:00")) == "alarm"
    # Without an instant the schedule is left out and the level as of the data counts.
    assert worst_level(levels) == "ok"
    # The row's own schedule: from as_of, each instant a channel's wait makes it worse.
    channels: Any = {"call": {"levels": levels}, "sms": {"levels": {"waiting": "warn", "longest_wait_steps": None}}}
    assert level_schedule(channels, "2026-11-29T10:00:10.000+08:00") == [
        {"from": "2026-11-29T10:00:10.000+08:00", "level": "warn"},
        {"from": "2026-11-29T10:01:00.000+08:00", "level": "alarm"},
    ]
    assert level_schedule(None, "2026-11-29T10:00:10.000+08:00") == []
    assert level_schedule({"call": {"levels": {"waiting": None}}}, "2026-11-29T10:00:10+08:00") == []
    # Levels elsewhere in a row's views count too (a later "agents" level, say); its settings never do.
    row = {"channels": channels, "agents": {"levels": {"available": "alarm"}}, "settings": {"levels": {"x": "alarm"}}}
    assert level_schedule(row, "2026-11-29T10:00:10.000+08:00") == [
        {"from": "2026-11-29T10:00:10.000+08:00", "level": "alarm"}
    ]
    assert level_schedule(
        {"settings": {"levels": {"x": "alarm"}}, "list": [{"levels": {"a": "ok"}}]}, "2026-11-29T10:00:10+08:00"
    ) == [{"from": "2026-11-29T10:00:10.000+08:00", "level": "ok"}]


# ------------------------------------------------------------------ the board view


def grid_settings(**board: Any) -> Any:
    return make_settings(
        channels={"call": {"waiting_warn": 2, "waiting_alarm": 3, "longest_wait_warn": 20, "longest_wait_alarm": 60}},
        groups={"cards": {"queues": ["信用卡", "gold"]}},
        boards={"wall": {"groups": ["cards"], "queues": ["loans", "信用卡", "quiet"], **board}},
    )


def grid_engine(s: Any, agent: bool = True) -> Engine:
    engine = Engine(s.metrics, T0)
    for n, (queue, wait) in enumerate((("loans", 5), ("loans", 8), ("loans", 9), ("信用卡", 30), ("gold", 1))):
        engine.apply(InteractionEvent(f"e{n}", (T0 - wait) * 1000, "call", "offered", f"i{n}", queue, None))
    if agent:  # one available for all three: fewer than loans' 3 and cards' 2 waiting (amber), as many as 信用卡's
        engine.apply(
            AgentStateEvent("s1", (T0 - 60) * 1000, "A1", "available", ("loans", "信用卡", "gold"), None, None)
        )
    return engine


def test_a_grid_board_has_one_row_per_group_and_queue_worst_first() -> None:
    s = grid_settings()
    engine = grid_engine(s)
    board = board_view(engine, "wall", s.boards["wall"])
    assert board["total"] is None and board["title"] == {"zh-CN": "wall", "en": "wall"}
    rows = {r["name"]: r for r in board["rows"]}
    # loans: 3 waiting (alarm); cards: 2 waiting (warn), its wait 30 s (warn); 信用卡: 30 s (warn);
    # quiet: not seen today (a board's queue is not named in the settings as a group's is): no level, last.
    assert [(r["name"], r["level"]) for r in board["rows"]] == [
        ("loans", "alarm"),
        ("cards", "warn"),
        ("信用卡", "warn"),
        ("quiet", None),
    ]
    assert [r["position"] for r in board["rows"]] == [1, 0, 2, 3]
    assert rows["cards"]["kind"] == "group" and rows["loans"]["kind"] == "queue"
    # Each row is the engine's selection of its queues, with the levels; no settings, no agent rows.
    sel = engine.selection(["信用卡", "gold"])
    assert rows["cards"]["channels"] is not None and sel["channels"] is not None
    assert rows["cards"]["channels"]["call"]["waiting"] == sel["channels"]["call"]["waiting"] == 2
    assert "levels" in rows["cards"]["channels"]["call"] and "settings" not in rows["cards"]
    # The wait of 信用卡 (30 s at T0) turns red at 60 s: the row's schedule says when.
    assert [st["level"] for st in rows["信用卡"]["level_steps"]] == ["warn", "alarm"]
    assert rows["信用卡"]["level_steps"][1]["from"] == engine.days.iso_ms((T0 + 30) * 1000)
    assert rows["loans"]["levels"]["agents"]["available"] == "warn"  # the selection's own levels, as sent
    as_listed = board_view(engine, "wall", grid_settings(order="as_listed").boards["wall"])
    assert [r["name"] for r in as_listed["rows"]] == ["cards", "loans", "信用卡", "quiet"]


def test_a_level_of_any_key_counts_in_the_rows_level() -> None:
    """Nobody available while customers wait is red (levels.agents.available): each waiting row is red."""
    s = grid_settings()
    rows = board_view(grid_engine(s, agent=False), "wall", s.boards["wall"])["rows"]
    assert [(r["name"], r["level"]) for r in rows] == [
        ("cards", "alarm"),
        ("loans", "alarm"),
        ("信用卡", "alarm"),
        ("quiet", None),
    ]


def test_a_queue_not_seen_today_is_a_row_without_numbers() -> None:
    s = grid_settings()
    engine = Engine(s.metrics, T0)
    rows = {r["name"]: r for r in board_view(engine, "wall", s.boards["wall"])["rows"]}
    assert rows["loans"]["channels"] is None and rows["loans"]["missing"] == ["loans"]
    assert rows["loans"]["level"] is None and rows["loans"]["level_steps"] == []
    assert rows["cards"]["channels"] is not None  # a group's queues are named in the settings: zeros, not gaps


def test_a_channels_board_is_the_sum_of_all_it_shows() -> None:
    s = grid_settings(layout="channels")
    engine = grid_engine(s)
    board = board_view(engine, "wall", s.boards["wall"])
    assert board["rows"] == [] and board["total"] is not None
    assert board["total"]["queues"] == ["信用卡", "gold", "loans"]  # each queue once
    assert board["total"]["missing"] == ["quiet"]
    expected = engine.selection(["信用卡", "gold", "loans", "quiet"])
    assert board["total"]["channels"] is not None and expected["channels"] is not None
    assert board["total"]["channels"]["call"]["waiting"] == expected["channels"]["call"]["waiting"] == 5
    assert "settings" in board["total"]


# ------------------------------------------------------------------ serving: /tv/NAME and the board view


def served_settings() -> Any:
    return with_overrides(
        web_settings(),
        metrics={"groups": {"cards": {"queues": ["credit-card", "gold"]}}},
        boards={
            "wall": {"title_zh": "信用卡团队", "title_en": "Credit card team", "groups": ["cards"], "queues": ["gold"]},
            "sum": {"groups": ["cards"], "layout": "channels"},
        },
    )


def test_the_board_view_carries_the_board_and_equals_the_apis_group() -> None:
    with running(served_settings()) as b:
        b.settle()
        with b.client.websocket_connect("/ws?views=board&board=wall") as ws:
            msgs = recv_initial(ws)
            assert msgs["hello"]["views"] == ["board"] and msgs["hello"]["board"] == "wall"
            assert msgs["hello"]["queues"] == []
            board = msgs["board"]["data"]["board"]
            assert board["title"] == {"zh-CN": "信用卡团队", "en": "Credit card team"}
            api = b.client.get("/api/snapshot").json()
            assert api["as_of"] == msgs["board"]["data"]["as_of"]
            cards = next(r for r in board["rows"] if r["name"] == "cards")
            group = api["groups"]["cards"]
            assert cards["channels"] == group["channels"] and cards["agents"] == group["agents"]
            assert "agent_id" not in json.dumps(msgs["board"])  # no agent rows on a board
            # A tick with a change pushes the board to its clients.
            b.feed([ev("call.offered", T0 - 1, "i9", queue="gold"), agent_ev(T0 - 2, "A2", queues=("gold",))])
            b.tick()
            while (m := recv(ws))["type"] != "board":
                pass
            rows = {r["name"]: r for r in m["data"]["board"]["rows"]}
            assert rows["gold"]["channels"]["call"]["waiting"] == 1 and rows["gold"]["agents"]["available"] == 1
        with b.client.websocket_connect("/ws?views=board&board=sum") as ws:
            total = recv_initial(ws)["board"]["data"]["board"]["total"]
            assert total["queues"] == ["credit-card", "gold"]
            assert total["channels"] == b.client.get("/api/snapshot").json()["groups"]["cards"]["channels"]


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("views=board&board=nope", "unknown board 'nope' (known: sum, wall)"),
        ("views=board&board=" + "信用卡" * 40, "unknown board: a board name is 1 to 40 of a-z"),
        ("views=board", "the board view needs the board's name"),
        ("views=board,selection&board=wall&queues=a", "cannot share a socket"),
    ],
)
def test_an_unknown_or_missing_board_is_closed_with_1008(query: str, reason: str) -> None:
    with running(served_settings()) as b:
        with b.client.websocket_connect(f"/ws?{query}") as ws:
            with pytest.raises(WebSocketDisconnect) as info:
                ws.receive_text()
        assert info.value.code == 1008 and reason in info.value.reason
        assert len(info.value.reason.encode()) <= 123  # what a close frame holds


def test_tv_name_serves_the_board_page_and_an_unknown_name_is_a_404() -> None:
    with running(served_settings()) as b:
        page = b.client.get("/tv/wall?lang=zh-CN")
        assert page.status_code == 200
        assert 'data-board="wall"' in page.text and 'data-layout="grid"' in page.text
        assert "<title>信用卡团队</title>" in page.text and 'id="grid-rows"' in page.text
        assert "tv-grid.js" in page.text and "tv-panels.js" not in page.text
        channels = b.client.get("/tv/sum?lang=en")
        assert channels.status_code == 200 and 'id="channels"' in channels.text and "tv-grid.js" not in channels.text
        missing = b.client.get("/tv/nope")
        assert missing.status_code == 404
        assert missing.json() == {"error": "unknown_board", "detail": "no board 'nope' in [boards] (known: sum, wall)"}
        assert b.client.get("/tv/wall/more").status_code == 404
        assert b.client.get("/tv").status_code == 200  # /tv without a name stays as it was

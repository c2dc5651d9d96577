"""wallboard/levels.py: the colour of every number, decided on the server (docs/board.md "Colours")."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import make_settings
from wallboard.engine import Engine
from wallboard.events import CHANNELS, AgentStateEvent, InteractionEvent
from wallboard.levels import (
    LEVELS,
    above,
    add_levels,
    add_selection_levels,
    available,
    channel_levels,
    longest_wait,
    longest_wait_steps,
    percent_above,
    queue_levels,
    round_half_up,
    seconds_above,
    service_level,
)
from wallboard.settings import ChannelSettings
from wallboard.wire import ChannelView

CALL = make_settings().metrics.channels["call"]
"""sl_target 0.80, margin 0.05, waiting 10/30, longest wait 20/60, abandon rate 5%/10%, ASA 15/30 s, AHT off."""
NO_RATES = {"service_level": None, "asa_s": None, "aht_s": None, "abandon_rate": None}


def limits(**changes: Any) -> ChannelSettings:
    return dataclasses.replace(CALL, **changes)


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (0.0, 0),
        (0.49, 0),
        (0.5, 1),
        (1.5, 2),
        (2.5, 3),
        (-0.5, 0),
        (-0.51, -1),
        (-1.5, -1),
        (0.49999999999999994, 0),  # floor(x + 0.5) would say 1; Math.round says 0
        (94.26, 94),
        (79.96, 80),
        (79.49, 79),
    ],
)
def test_round_half_up_is_javascripts_math_round(x: float, expected: int) -> None:
    assert round_half_up(x) == expected


@pytest.mark.parametrize(
    ("value", "warn", "alarm", "expected"),
    [
        (None, 10, 30, None),
        (float("nan"), 10, 30, None),
        (float("inf"), 10, 30, None),
        (0, 10, 30, "ok"),
        (9, 10, 30, "ok"),
        (10, 10, 30, "warn"),
        (29, 10, 30, "warn"),
        (30, 10, 30, "alarm"),
        (1000, 10, 30, "alarm"),
        (9.99, 10, 30, "ok"),
        (0, 0, 30, "warn"),  # a limit of 0: anything is at or above it
        (5, 10, 5, "alarm"),  # alarm below warn: alarm wins, as the pages always did
    ],
)
def test_above(value: float | None, warn: float, alarm: float, expected: str | None) -> None:
    assert above(value, warn, alarm) == expected


@pytest.mark.parametrize(
    ("value", "target", "margin", "expected"),
    [
        (None, 0.8, 0.05, None),
        (float("nan"), 0.8, 0.05, None),
        (1.0, 0.8, 0.05, "ok"),
        (0.8, 0.8, 0.05, "ok"),
        (0.7996, 0.8, 0.05, "ok"),  # shows as 80%
        (0.7949, 0.8, 0.05, "warn"),  # shows as 79%
        (0.75, 0.8, 0.05, "warn"),  # 75% = target - 5 points
        (0.7449, 0.8, 0.05, "alarm"),  # 74%
        (0.0, 0.8, 0.05, "alarm"),
        (0.85, 0.855, 0.05, "warn"),  # 85% < 85.5
        (0.855, 0.855, 0.05, "ok"),  # shows as 86%
        (0.806, 0.855, 0.05, "warn"),  # 81% >= 80.5
        (0.8, 0.855, 0.05, "alarm"),  # 80% < 80.5
        (0.79, 0.8, 0.0, "alarm"),  # no amber band
        (0.5, 0.8, 0.3, "warn"),
        (0.0, 0.0, 0.05, "ok"),  # a target of 0 is always met
        (0.99, 1.0, 0.05, "warn"),
    ],
)
def test_service_level(value: float | None, target: float, margin: float, expected: str | None) -> None:
    assert service_level(value, target, margin) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (None, None),
        (0.0, "ok"),
        (19.999, "ok"),
        (20.0, "warn"),
        (59.9, "warn"),
        (60.0, "alarm"),
        (3600.0, "alarm"),
    ],
)
def test_longest_wait_is_coloured_on_whole_seconds(seconds: float | None, expected: str | None) -> None:
    assert longest_wait(seconds, CALL) == expected


def test_longest_wait_steps() -> None:
    since = "2026-11-29T10:14:24.600+08:00"
    assert longest_wait_steps(None, CALL) is None
    assert longest_wait_steps(since, CALL) == [
        {"from": "2026-11-29T10:14:24.600+08:00", "level": "ok"},
        {"from": "2026-11-29T10:14:44.600+08:00", "level": "warn"},
        {"from": "2026-11-29T10:15:24.600+08:00", "level": "alarm"},
    ]
    # A limit with a fraction is reached on the next whole second (the wait shown is floored).
    assert [s["from"][11:23] for s in longest_wait_steps(since, limits(longest_wait_warn=20.5)) or []] == [
        "10:14:24.600",
        "10:14:45.600",
        "10:15:24.600",
    ]
    # Limits of 0 and equal limits leave no empty step; alarm below warn skips warn.
    assert longest_wait_steps(since, limits(longest_wait_warn=0, longest_wait_alarm=0)) == [
        {"from": since, "level": "alarm"}
    ]
    assert [
        s["level"] for s in longest_wait_steps(since, limits(longest_wait_warn=60, longest_wait_alarm=20)) or []
    ] == ["ok", "alarm"]


@given(
    since_ms=st.integers(1_700_000_000_000, 1_900_000_000_000),
    after_ms=st.integers(0, 10_000_000),
    warn=st.integers(0, 300) | st.floats(0, 300),
    alarm=st.integers(0, 600) | st.floats(0, 600),
)
def test_the_steps_give_the_level_of_the_wait_at_any_instant(
    since_ms: int, after_ms: int, warn: float, alarm: float
) -> None:
    """The level at T is that of the last step at or before T, and equals the level of the wait shown at T."""
    cs = limits(longest_wait_warn=warn, longest_wait_alarm=alarm)
    since = datetime.fromtimestamp(since_ms / 1000).astimezone().isoformat(timespec="milliseconds")
    steps = longest_wait_steps(since, cs) or []
    now_ms = since_ms + after_ms
    current = None
    for step in steps:
        if round(datetime.fromisoformat(step["from"]).timestamp() * 1000) <= now_ms:
            current = step["level"]
    assert current == longest_wait(after_ms / 1000, cs)


@pytest.mark.parametrize(
    ("value", "warn", "alarm", "expected"),
    [
        (None, 0.05, 0.10, None),
        (float("nan"), 0.05, 0.10, None),
        (0.0, 0.05, 0.10, "ok"),
        (0.0449, 0.05, 0.10, "ok"),  # shows as 4%
        (0.045, 0.05, 0.10, "warn"),  # shows as 5%
        (0.0949, 0.05, 0.10, "warn"),  # 9%
        (0.095, 0.05, 0.10, "alarm"),  # 10%
        (0.34, 0.05, 0.10, "alarm"),
        (1.0, 0.05, 0.10, "alarm"),
        (0.05, 0.055, 0.10, "ok"),  # 5% < 5.5
        (0.06, 0.055, 0.10, "warn"),  # 6% >= 5.5
        (0.5, 0, 0, None),  # both off: no level
        (0.5, 0, 0.6, "ok"),  # amber off
        (0.6, 0, 0.6, "alarm"),
        (0.9, 0.05, 0, "warn"),  # red off
        (0.07, 0.05, 0.05, "alarm"),  # equal limits: no amber band
    ],
)
def test_percent_above_compares_the_whole_percent_shown(
    value: float | None, warn: float, alarm: float, expected: str | None
) -> None:
    assert percent_above(value, warn, alarm) == expected


@pytest.mark.parametrize(
    ("value", "warn", "alarm", "expected"),
    [
        (None, 15, 30, None),
        (float("inf"), 15, 30, None),
        (0.0, 15, 30, "ok"),
        (-0.4, 15, 30, "ok"),  # shown as 0 s
        (14.49, 15, 30, "ok"),  # 14 s
        (14.5, 15, 30, "warn"),  # 15 s
        (29.5, 15, 30, "alarm"),  # 30 s
        (69.0, 15, 30, "alarm"),  # the peak's 1:09
        (15.0, 15.5, 30, "ok"),
        (16.0, 15.5, 30, "warn"),
        (999.0, 0, 0, None),  # AHT by default: off
        (300.0, 300, 0, "warn"),
        (420.0, 300, 420, "alarm"),
    ],
)
def test_seconds_above_compares_the_whole_seconds_shown(
    value: float | None, warn: float, alarm: float, expected: str | None
) -> None:
    assert seconds_above(value, warn, alarm) == expected


@pytest.mark.parametrize(
    ("agents", "waiting", "expected"),
    [
        (None, 3, None),
        (3, None, None),
        (0, 0, "ok"),  # everybody busy, nobody waiting: the goal
        (5, 0, "ok"),
        (0, 1, "alarm"),  # customers wait and nobody is free
        (0, 32, "alarm"),
        (3, 32, "warn"),  # fewer free than waiting
        (31, 32, "warn"),
        (32, 32, "ok"),
        (40, 32, "ok"),
    ],
)
def test_available_agents_against_the_customers_waiting(
    agents: int | None, waiting: int | None, expected: str | None
) -> None:
    assert available(agents, waiting) == expected


RANK: dict[str | None, int] = {None: -1, **{level: i for i, level in enumerate(LEVELS)}}
limits_01 = st.floats(0, 1) | st.sampled_from([0.0, 0.05, 0.1, 0.055, 1.0])
rates = st.floats(0, 1)
limits_s = st.floats(0, 3600) | st.integers(0, 3600)
durations = st.floats(-1, 7200) | st.integers(0, 7200)


@given(a=rates, b=rates, warn=limits_01, alarm=limits_01)
def test_a_worse_rate_never_gets_a_better_level(a: float, b: float, warn: float, alarm: float) -> None:
    low, high = sorted((a, b))
    assert RANK[percent_above(low, warn, alarm)] <= RANK[percent_above(high, warn, alarm)]


@given(value=rates, warn=limits_01, alarm=limits_01)
def test_a_rates_colour_is_that_of_the_percent_shown(value: float, warn: float, alarm: float) -> None:
    """Two rates the board shows as the same whole percent have the same colour: that of the figure shown."""
    shown = round_half_up(value * 100)
    assert percent_above(value, warn, alarm) == percent_above(shown / 100, warn, alarm)
    if warn > 0 and (alarm == 0 or alarm > warn):
        # At the amber limit as shown (to hundredths of a percent), and not a whole percent below it.
        goal = round_half_up(warn * 10000) / 100
        assert (percent_above(value, warn, alarm) in ("warn", "alarm")) == (shown >= goal)


@given(a=durations, b=durations, warn=limits_s, alarm=limits_s)
def test_a_longer_duration_never_gets_a_better_level(a: float, b: float, warn: float, alarm: float) -> None:
    low, high = sorted((a, b))
    assert RANK[seconds_above(low, warn, alarm)] <= RANK[seconds_above(high, warn, alarm)]


@given(value=durations, warn=limits_s, alarm=limits_s)
def test_a_durations_colour_is_that_of_the_seconds_shown(value: float, warn: float, alarm: float) -> None:
    shown = round_half_up(max(0.0, value))
    assert seconds_above(value, warn, alarm) == seconds_above(float(shown), warn, alarm)


@given(agents=st.integers(0, 500), more_agents=st.integers(0, 50), waiting=st.integers(0, 500), more=st.integers(0, 50))
def test_fewer_agents_or_more_waiting_never_look_better(agents: int, more_agents: int, waiting: int, more: int) -> None:
    assert RANK[available(agents, waiting + more)] >= RANK[available(agents, waiting)]
    assert RANK[available(agents, waiting)] >= RANK[available(agents + more_agents, waiting)]


def test_queue_levels_count_the_waiting_of_every_channel() -> None:
    channels = {"call": view(waiting=2), "sms": view(waiting=3)}
    assert queue_levels({"available": 0}, channels) == {"agents": {"available": "alarm"}}
    assert queue_levels({"available": 4}, channels) == {"agents": {"available": "warn"}}  # 4 < 2 + 3
    assert queue_levels({"available": 5}, channels) == {"agents": {"available": "ok"}}
    assert queue_levels(None, None) == {"agents": {"available": None}}  # a selection that found no queue


def view(**fields: Any) -> ChannelView:
    """A channel view with only what the levels read (the rest of a real view plays no part)."""
    period = dict(NO_RATES)
    out: dict[str, Any] = {
        "waiting": 0,
        "longest_wait_s": None,
        "longest_wait_since": None,
        "in_progress": 0,
        "window": dict(period),
        "today": dict(period),
    }
    out.update(fields)
    return cast(ChannelView, out)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {},
            {
                "waiting": "ok",
                "longest_wait_s": None,
                "longest_wait_steps": None,
                "window": NO_RATES,
                "today": NO_RATES,
            },
        ),
        (
            {
                "waiting": 12,
                "longest_wait_s": 35.2,
                "longest_wait_since": "2026-11-29T10:14:24.800+08:00",
                "window": {"service_level": 0.7949, "asa_s": 14.5, "aht_s": 900.0, "abandon_rate": 0.0449},
                "today": {"service_level": 0.95, "asa_s": 14.49, "aht_s": 200.0, "abandon_rate": 0.045},
            },
            {
                "waiting": "warn",
                "longest_wait_s": "warn",
                # ASA 14.5 shows as 15 s: amber; abandons 0.0449 show as 4%: green; AHT: off.
                "window": {"service_level": "warn", "asa_s": "warn", "aht_s": None, "abandon_rate": "ok"},
                "today": {"service_level": "ok", "asa_s": "ok", "aht_s": None, "abandon_rate": "warn"},
            },
        ),
        (
            {
                "waiting": 30,
                "longest_wait_s": 60.0,
                "longest_wait_since": "2026-11-29T10:14:00.000+08:00",
                "window": {"service_level": 0.5, "asa_s": 69.0, "aht_s": None, "abandon_rate": 0.34},
            },
            {
                "waiting": "alarm",
                "longest_wait_s": "alarm",
                "window": {"service_level": "alarm", "asa_s": "alarm", "aht_s": None, "abandon_rate": "alarm"},
                "today": NO_RATES,
            },
        ),
    ],
)
def test_channel_levels(fields: dict[str, Any], expected: dict[str, Any]) -> None:
    got: dict[str, Any] = dict(channel_levels(view(**fields), CALL))
    assert {k: got[k] for k in expected} == expected
    assert (got["longest_wait_steps"] is None) == (fields.get("longest_wait_since") is None)


def test_a_view_without_periods_has_no_service_level_colour() -> None:
    got = channel_levels(cast(ChannelView, {"waiting": None, "longest_wait_s": None}), CALL)
    assert got == {
        "waiting": None,
        "longest_wait_s": None,
        "longest_wait_steps": None,
        "window": NO_RATES,
        "today": NO_RATES,
    }


# ------------------------------------------------------------------------- on a real snapshot

NOW = 1_795_926_900  # 2026-11-29T10:15:00+08:00


def engine_with_traffic() -> tuple[Engine, Any]:
    s = make_settings(
        channels={"call": {"waiting_warn": 2, "waiting_alarm": 3}},
        queues={"vip": {"call": {"waiting_warn": 1, "sl_target": 0.5}}},
    )
    engine = Engine(s.metrics, NOW)
    n = 0

    def call(queue: str, offered_ago: float, wait: float | None) -> None:
        nonlocal n
        n += 1
        off = int((NOW - offered_ago) * 1000)
        engine.apply(InteractionEvent(f"o{n}", off, "call", "offered", f"i{n}", queue, None))
        if wait is not None:
            engine.apply(InteractionEvent(f"a{n}", off + int(wait * 1000), "call", "answered", f"i{n}", queue, "A1"))

    call("vip", 600, 10)  # in SL
    call("vip", 500, 40)  # out of SL: vip 50%, target 50%: ok
    call("vip", 30, None)  # waiting 30 s
    call("basic", 400, 5)
    call("basic", 300, 50)  # basic 50%, target 80%: alarm
    call("basic", 10, None)
    engine.apply(AgentStateEvent("s1", (NOW - 5) * 1000, "A1", "available", ("vip", "basic"), None, None))
    return engine, s.metrics


def test_every_channel_view_of_the_snapshot_gets_levels_with_its_own_limits() -> None:
    engine, metrics = engine_with_traffic()
    snap = add_levels(engine.snapshot(), metrics)
    vip = snap["queues"]["vip"]["channels"]["call"]["levels"]
    basic = snap["queues"]["basic"]["channels"]["call"]["levels"]
    total = snap["totals"]["channels"]["call"]["levels"]
    assert (vip["waiting"], basic["waiting"], total["waiting"]) == ("warn", "ok", "warn")  # 1 >= 1; 1 < 2; 2 >= 2
    assert (vip["today"]["service_level"], basic["today"]["service_level"]) == ("ok", "alarm")
    assert total["today"]["service_level"] == "alarm"  # 50% against the channel's 80%
    assert (vip["longest_wait_s"], total["longest_wait_s"]) == ("warn", "warn")  # 30 s: warn at 20
    assert basic["longest_wait_s"] == "ok"  # 10 s
    for ch in CHANNELS:
        assert snap["queues"]["vip"]["channels"][ch]["levels"] is not None
    assert snap["queues"]["vip"]["channels"]["sms"]["levels"]["waiting"] == "ok"
    assert snap["queues"]["vip"]["channels"]["sms"]["levels"]["today"] == NO_RATES


def test_a_selection_is_coloured_like_one_queue_or_like_the_channel() -> None:
    engine, metrics = engine_with_traffic()
    one = add_selection_levels(engine.selection(["vip"]), metrics)
    assert one["channels"] is not None
    assert one["channels"]["call"]["levels"]["today"]["service_level"] == "ok"  # vip's own target, 50%
    assert one["settings"]["call"]["sl_target"] == 0.5
    both = add_selection_levels(engine.selection(["vip", "basic"]), metrics)
    assert both["channels"] is not None
    assert both["channels"]["call"]["levels"]["today"]["service_level"] == "alarm"  # 50% against 80%
    assert both["settings"]["call"]["sl_target"] == 0.8
    assert both["channels"]["call"]["levels"]["waiting"] == "warn"
    none = add_selection_levels(engine.selection(["nosuchqueue"]), metrics)
    assert none["channels"] is None and none["missing"] == ["nosuchqueue"]
    assert none["settings"]["call"]["sl_target"] == 0.8


def test_queues_totals_and_selections_colour_their_available_agents() -> None:
    engine, metrics = engine_with_traffic()
    # Nobody serves "lonely", where a call waits; A1 (available) serves vip and basic, one waiting in each.
    engine.apply(InteractionEvent("o-l", (NOW - 20) * 1000, "call", "offered", "l1", "lonely", None))
    snap = add_levels(engine.snapshot(), metrics)
    queues = snap["queues"]
    assert queues["lonely"]["agents"]["available"] == 0 and queues["lonely"]["channels"]["call"]["waiting"] == 1
    assert queues["lonely"]["levels"] == {"agents": {"available": "alarm"}}
    assert queues["vip"]["levels"] == {"agents": {"available": "ok"}}  # 1 available, 1 waiting
    assert snap["totals"]["levels"] == {"agents": {"available": "warn"}}  # 1 available, 3 waiting
    assert add_selection_levels(engine.selection(["vip"]), metrics)["levels"] == {"agents": {"available": "ok"}}
    both = add_selection_levels(engine.selection(["vip", "lonely"]), metrics)
    assert both["levels"] == {"agents": {"available": "warn"}}  # A1 once, 2 waiting
    assert add_selection_levels(engine.selection(["lonely"]), metrics)["levels"]["agents"]["available"] == "alarm"
    none = add_selection_levels(engine.selection(["nosuchqueue"]), metrics)
    assert none["levels"] == {"agents": {"available": None}}


def test_each_queue_colours_its_rates_with_its_own_limits() -> None:
    """vip: 1 of 2 answered calls in 40 s, ASA 25 s: amber by the channel's 15/30, red by vip's own 10/20."""
    engine, metrics = engine_with_traffic()
    strict = make_settings(
        channels={"call": {"waiting_warn": 2, "waiting_alarm": 3}},
        queues={"vip": {"call": {"asa_warn": 10, "asa_alarm": 20, "aht_warn": 1}}},
    ).metrics
    today = engine.snapshot()["queues"]["vip"]["channels"]["call"]["today"]
    assert today["asa_s"] == 25.0 and today["aht_s"] is None  # nothing completed: no AHT, no colour
    assert add_levels(engine.snapshot(), metrics)["queues"]["vip"]["channels"]["call"]["levels"]["today"] == {
        "service_level": "ok",
        "asa_s": "warn",
        "aht_s": None,
        "abandon_rate": "ok",
    }
    snap = add_levels(engine.snapshot(), strict)
    assert snap["queues"]["vip"]["channels"]["call"]["levels"]["today"]["asa_s"] == "alarm"
    assert snap["queues"]["basic"]["channels"]["call"]["levels"]["today"]["asa_s"] == "warn"  # 27.5 s: the channel's
    assert add_selection_levels(engine.selection(["vip"]), strict)["settings"]["call"]["asa_alarm"] == 20

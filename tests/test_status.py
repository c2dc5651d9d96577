"""The board's staleness, /healthz, /readyz and scrape figures as pure functions of statuses and a clock."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from wallboard.settings import parse_settings
from wallboard.sources.base import SourceStatus
from wallboard.web.status import (
    Freshness,
    Tasks,
    health,
    last_event_age,
    open_since,
    readiness,
    scrape,
    source_block,
)
from wallboard.wire import ControlBlock, EngineStatus

NOW = 1_796_000_000.0
TS = datetime.fromtimestamp(NOW - 5, UTC).isoformat(timespec="milliseconds")  # the newest event: 5 s ago
LIVE = SourceStatus("kafka", ready=True, connected=True, catch_up=1.0, lag=3)
RUNNING = Tasks("running")
RULES = Freshness(stale_after=60)


def engine_status(last_event_ts: str | None = TS) -> EngineStatus:
    return {
        "events": 10,
        "rejected": {"bad_json": 2},
        "duplicates": 1,
        "orphans": 0,
        "too_late": 4,
        "future_held": 0,
        "last_event_ts": last_event_ts,
        "held_interactions": 0,
        "held_agent_events": 0,
        "held_queues": 3,
        "held_agents": 40,
    }


def test_last_event_age_is_the_clock_minus_the_newest_ts_never_negative() -> None:
    assert last_event_age(NOW, None) is None
    assert last_event_age(NOW, TS) == 5.0
    assert last_event_age(NOW - 60, TS) == 0.0  # an event ahead of the server clock is not from the future


def test_a_live_source_with_recent_events_is_fresh() -> None:
    block = source_block(NOW, LIVE, TS, RUNNING, RULES)
    assert block == {
        "kind": "kafka",
        "state": "fresh",
        "ready": True,
        "connected": True,
        "stale": False,
        "stale_reason": None,
        "last_event_age_s": 5.0,
        "lag": 3,
        "catch_up": 1.0,
        "last_error": None,
    }


def current(now: float = NOW) -> SourceStatus:
    """A source read to its end a second before ``now``."""
    return SourceStatus("kafka", ready=True, connected=True, catch_up=1.0, lag=0, current_at=now - 1)


CURRENT = current()


@pytest.mark.parametrize(
    ("source", "tasks", "now", "reason"),
    [
        # the first reason that applies, in this order
        (SourceStatus("kafka", connected=False), Tasks("failed", "boom", "bad tick"), NOW, "pump_failed"),
        (SourceStatus("kafka", connected=False), Tasks("running", None, "bad tick"), NOW, "tick_failed"),
        (SourceStatus("kafka", ready=True, connected=False), RUNNING, NOW + 600, "disconnected"),
        # not read to the end for more than stale_after: lag growing, or reading stalled
        (SourceStatus("kafka", ready=True, connected=True, lag=900, current_at=NOW - 61), RUNNING, NOW, "lagging"),
        (SourceStatus("kafka", ready=True, connected=True, lag=0, current_at=NOW - 60), RUNNING, NOW, None),
        # catching up: old events are expected, not stale, and nothing is current yet
        (SourceStatus("kafka", ready=False, connected=True, current_at=NOW - 600), RUNNING, NOW + 600, None),
        (LIVE, RUNNING, NOW + 55, None),
        # a quiet feed read to its end is not stale however old its newest event (no silence alarm)
        (current(NOW + 6 * 3600), RUNNING, NOW + 6 * 3600, None),
    ],
)
def test_the_stale_reason(source: SourceStatus, tasks: Tasks, now: float, reason: str | None) -> None:
    block = source_block(now, source, TS, tasks, RULES)
    assert block["stale_reason"] == reason
    assert block["stale"] is (reason is not None)
    if source.ready and reason is not None:
        assert block["state"] == "stale"


@pytest.mark.parametrize(
    ("source", "ts", "reason"),
    [
        # the broker never reached: no numbers, and why
        (SourceStatus("kafka"), None, "disconnected"),
        # replaying today: the numbers are partial until caught up
        (SourceStatus("kafka", connected=True, catch_up=0.4), TS, None),
        # caught up, but no event was ever read
        (CURRENT, None, None),
        (SourceStatus("kafka", ready=True), None, "disconnected"),
    ],
)
def test_waiting_until_caught_up_with_an_event(source: SourceStatus, ts: str | None, reason: str | None) -> None:
    block = source_block(NOW, source, ts, RUNNING, RULES)
    assert block["state"] == "waiting"
    assert block["stale_reason"] == reason and block["stale"] is (reason is not None)


def test_quiet_is_read_to_the_end_with_no_event_for_a_minute() -> None:
    assert source_block(NOW + 54, current(NOW + 54), TS, RUNNING, RULES)["state"] == "fresh"  # newest event 59 s old
    quiet = source_block(NOW + 55, current(NOW + 55), TS, RUNNING, RULES)
    assert quiet["state"] == "quiet" and quiet["stale"] is False and quiet["last_event_age_s"] == 60.0
    # twelve minutes at night: still quiet, never red
    assert source_block(NOW + 12 * 60, current(NOW + 12 * 60), TS, RUNNING, RULES)["state"] == "quiet"
    # records not read yet (lag): not known to be quiet
    behind = SourceStatus("kafka", ready=True, connected=True, lag=2, current_at=NOW + 599)
    assert source_block(NOW + 600, behind, TS, RUNNING, RULES)["state"] == "fresh"


def test_no_event_yet_is_not_stale_by_age() -> None:
    block = source_block(NOW, LIVE, None, RUNNING, RULES)
    assert block["last_event_age_s"] is None and block["stale"] is False


def test_the_last_error_is_the_pumps_then_the_ticks_then_the_sources() -> None:
    source = SourceStatus("kafka", connected=True, last_error="broker said no")
    assert source_block(NOW, source, TS, Tasks("failed", "pump", "tick"), RULES)["last_error"] == "pump"
    assert source_block(NOW, source, TS, Tasks("running", None, "tick"), RULES)["last_error"] == "tick"
    assert source_block(NOW, source, TS, RUNNING, RULES)["last_error"] == "broker said no"


def test_health_fails_only_once_the_pump_died() -> None:
    for state in ("starting", "running", "finished"):
        assert health(Tasks(state)) == (True, {"status": "ok"})
    assert health(Tasks("failed", "SourceError: gone")) == (
        False,
        {"status": "failed", "reason": "source_failed", "error": "SourceError: gone"},
    )


def control(ready: bool) -> ControlBlock:
    return {
        "kind": "kafka",
        "topic": "cc.board-control",
        "ready": ready,
        "connected": ready,
        "lag": 0 if ready else 2,
        "records": 3,
        "rejected": {},
        "last_error": None,
        "sender": ready,
    }


def test_readiness_lists_every_reason() -> None:
    block = source_block(NOW, LIVE, TS, RUNNING, RULES)
    assert readiness(block, RUNNING, control(True)) == (
        True,
        {"ready": True, "reasons": [], "catch_up": 1.0, "pump": "running", "source": block, "control": control(True)},
    )
    tasks = Tasks("failed", "pump", "tick")
    catching_up = source_block(NOW, SourceStatus("kafka", catch_up=0.4), TS, tasks, RULES)
    ok, body = readiness(catching_up, tasks, control(False))
    assert not ok and body["reasons"] == ["source_not_ready", "control_not_ready", "pump_failed", "tick_failed"]
    assert body["catch_up"] == 0.4 and body["pump"] == "failed"


def test_a_board_is_not_ready_before_it_read_the_control_records() -> None:
    """Else a screen could get the numbers without the broadcast every other instance shows."""
    ok, body = readiness(source_block(NOW, LIVE, TS, RUNNING, RULES), RUNNING, control(False))
    assert not ok and body["reasons"] == ["control_not_ready"]


def test_scrape_figures() -> None:
    lagging = SourceStatus("kafka", ready=True, connected=True, catch_up=1.0, lag=3, current_at=NOW - 5)
    figures = scrape(NOW + 120, engine_status(), lagging, RUNNING, RULES, clients=7, seq=42, direct_writes=99)
    assert figures == {
        "events": 10,
        "rejected": {"bad_json": 2},
        "duplicates": 1,
        "orphans": 0,
        "too_late": 4,
        "lag": 3,
        "ready": 1,
        "connected": 1,
        "stale": 1,
        "catch_up": 1.0,
        "pump_up": 1,
        "clients": 7,
        "last_event_age_s": 125.0,
        "seq": 42,
        "direct_writes": 99,
    }
    assert (
        scrape(NOW, engine_status(None), LIVE, Tasks("finished"), RULES, clients=0, seq=0, direct_writes=0)["pump_up"]
        == 0
    )


# ------------------------------------------------------------------ the silence alarm and the opening hours

SHANGHAI = ZoneInfo("Asia/Shanghai")
WEEKDAYS_8_20 = Freshness(
    stale_after=15, silence_alarm=600, opening=(8 * 60, 20 * 60), days=frozenset(range(5)), zone=SHANGHAI
)
"""A centre open 08:00-20:00 Monday to Friday, red after ten minutes without an event while open."""


def local(day: int, hh: int, mm: int = 0, zone: ZoneInfo = SHANGHAI) -> float:
    return datetime(2026, 11, day, hh, mm, tzinfo=zone).timestamp()  # 2026-11-30 is a Monday


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")


@pytest.mark.parametrize(
    ("now", "last_event", "state", "reason"),
    [
        (local(30, 7, 59), local(27, 19, 0), "quiet", None),  # Monday before opening: Friday's last call
        (local(30, 8, 9), local(27, 19, 0), "quiet", None),  # nine minutes open: the silence counts from 08:00
        (local(30, 8, 11), local(27, 19, 0), "stale", "no_recent_events"),
        (local(30, 12, 9), local(30, 12, 0), "quiet", None),  # nine minutes without an event: quiet, not silent
        (local(30, 12, 11), local(30, 12, 0), "stale", "no_recent_events"),
        (local(30, 20, 30), local(30, 19, 0), "quiet", None),  # closed
        (local(28, 12, 0), local(27, 19, 0), "quiet", None),  # Saturday: closed all day
    ],
)
def test_the_silence_alarm_applies_while_open(now: float, last_event: float, state: str, reason: str | None) -> None:
    block = source_block(now, current(now), iso(last_event), RUNNING, WEEKDAYS_8_20)
    assert (block["state"], block["stale_reason"]) == (state, reason)


def test_no_silence_alarm_by_default() -> None:
    rules = Freshness.from_settings(parse_settings({}, environ={}))
    assert rules.silence_alarm == 0 and rules.stale_after == 15
    a_week = NOW + 7 * 86400
    assert source_block(a_week, current(a_week), TS, RUNNING, rules)["state"] == "quiet"


def test_opening_hours_from_the_settings() -> None:
    settings = parse_settings(
        {"timezone": "Asia/Shanghai", "web": {"opening_hours": "22:00-06:00", "opening_days": ["fri"]}}, environ={}
    )
    rules = Freshness.from_settings(settings)
    assert rules.opening == (22 * 60, 6 * 60) and rules.days == {4} and rules.zone == SHANGHAI
    # Friday 22:00 to Saturday 06:00: the opening belongs to the Friday it begins on
    assert open_since(local(27, 21, 59), rules) is None
    assert open_since(local(27, 22, 0), rules) == local(27, 22, 0)
    assert open_since(local(28, 5, 59), rules) == local(27, 22, 0)
    assert open_since(local(28, 6, 0), rules) is None
    assert open_since(local(28, 22, 30), rules) is None  # Saturday does not open


def test_opening_hours_are_wall_clock_times_on_a_25_hour_day() -> None:
    london = ZoneInfo("Europe/London")
    rules = Freshness(stale_after=15, opening=(8 * 60, 24 * 60), zone=london)
    # 2026-10-25: the clocks go back at 02:00 BST; the day has 25 hours
    start = datetime(2026, 10, 25, 8, 0, tzinfo=london).timestamp()
    end = datetime(2026, 10, 26, 0, 0, tzinfo=london).timestamp()
    assert end - start == 16 * 3600
    assert open_since(start, rules) == start
    assert open_since(start - 1, rules) is None
    assert open_since(end - 1, rules) == start
    assert open_since(end, rules) is None


@given(
    now=st.floats(min_value=1.7e9, max_value=1.9e9),
    opens=st.integers(0, 1439),
    closes=st.integers(1, 1440),
    days=st.frozensets(st.integers(0, 6)),
    zone=st.sampled_from(["Asia/Shanghai", "Europe/London", "America/New_York", "UTC"]),
)
def test_open_since_is_the_start_of_the_opening_now_falls_in(
    now: float, opens: int, closes: int, days: frozenset[int], zone: str
) -> None:
    assume(opens != closes)
    rules = Freshness(stale_after=15, opening=(opens, closes), days=days, zone=ZoneInfo(zone))
    since = open_since(now, rules)
    if since is None:
        return
    start = datetime.fromtimestamp(since, ZoneInfo(zone))
    assert since <= now < since + 26 * 3600
    assert start.weekday() in days
    # an opening starts at its time (a time the clocks skip starts an hour later)
    assert (start.hour * 60 + start.minute - opens) % 1440 in (0, 60)


@given(
    age=st.floats(min_value=0, max_value=86400),
    current_age=st.floats(min_value=0, max_value=600),
    lag=st.integers(0, 10),
    alarm=st.sampled_from([0.0, 300.0]),
)
def test_only_a_known_problem_is_stale(age: float, current_age: float, lag: int, alarm: float) -> None:
    """A live source read to its end is never stale; it is quiet once its newest event is a minute old."""
    rules = Freshness(stale_after=15, silence_alarm=alarm)
    source = SourceStatus("kafka", ready=True, connected=True, lag=lag, current_at=NOW - current_age)
    block = source_block(NOW, source, iso(NOW - age), RUNNING, rules)
    if current_age > 15:
        assert block["state"] == "stale" and block["stale_reason"] == "lagging"
    elif alarm and age > alarm:
        assert block["state"] == "stale" and block["stale_reason"] == "no_recent_events"
    else:
        assert block["stale"] is False
        assert block["state"] == ("quiet" if age >= 60 and lag == 0 else "fresh")

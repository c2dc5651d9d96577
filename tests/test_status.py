"""The board's staleness, /healthz, /readyz and scrape figures as pure functions of statuses and a clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wallboard.sources.base import SourceStatus
from wallboard.web.status import Tasks, health, last_event_age, readiness, scrape, source_block
from wallboard.wire import EngineStatus

NOW = 1_796_000_000.0
TS = datetime.fromtimestamp(NOW - 5, UTC).isoformat(timespec="milliseconds")  # the newest event: 5 s ago
LIVE = SourceStatus("kafka", ready=True, connected=True, catch_up=1.0, lag=3)
RUNNING = Tasks("running")


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
    }


def test_last_event_age_is_the_clock_minus_the_newest_ts_never_negative() -> None:
    assert last_event_age(NOW, None) is None
    assert last_event_age(NOW, TS) == 5.0
    assert last_event_age(NOW - 60, TS) == 0.0  # an event ahead of the server clock is not from the future


def test_a_live_source_with_recent_events_is_fresh() -> None:
    block = source_block(NOW, LIVE, TS, RUNNING, stale_after=60)
    assert block == {
        "kind": "kafka",
        "ready": True,
        "connected": True,
        "stale": False,
        "stale_reason": None,
        "last_event_age_s": 5.0,
        "lag": 3,
        "catch_up": 1.0,
        "last_error": None,
    }


@pytest.mark.parametrize(
    ("source", "tasks", "now", "reason"),
    [
        # the first reason that applies, in this order
        (SourceStatus("kafka", connected=False), Tasks("failed", "boom", "bad tick"), NOW, "pump_failed"),
        (SourceStatus("kafka", connected=False), Tasks("running", None, "bad tick"), NOW, "tick_failed"),
        (SourceStatus("kafka", ready=True, connected=False), RUNNING, NOW + 600, "disconnected"),
        (LIVE, RUNNING, NOW + 56, "no_recent_events"),
        # catching up: old events are expected, not stale
        (SourceStatus("kafka", ready=False, connected=True), RUNNING, NOW + 600, None),
        (LIVE, RUNNING, NOW + 55, None),  # exactly stale_after old is still fresh
    ],
)
def test_the_stale_reason(source: SourceStatus, tasks: Tasks, now: float, reason: str | None) -> None:
    block = source_block(now, source, TS, tasks, stale_after=60)
    assert block["stale_reason"] == reason
    assert block["stale"] is (reason is not None)


def test_no_event_yet_is_not_stale_by_age() -> None:
    block = source_block(NOW, LIVE, None, RUNNING, stale_after=60)
    assert block["last_event_age_s"] is None and block["stale"] is False


def test_the_last_error_is_the_pumps_then_the_ticks_then_the_sources() -> None:
    source = SourceStatus("kafka", connected=True, last_error="broker said no")
    assert source_block(NOW, source, TS, Tasks("failed", "pump", "tick"), 60)["last_error"] == "pump"
    assert source_block(NOW, source, TS, Tasks("running", None, "tick"), 60)["last_error"] == "tick"
    assert source_block(NOW, source, TS, RUNNING, 60)["last_error"] == "broker said no"


def test_health_fails_only_once_the_pump_died() -> None:
    for state in ("starting", "running", "finished"):
        assert health(Tasks(state)) == (True, {"status": "ok"})
    assert health(Tasks("failed", "SourceError: gone")) == (
        False,
        {"status": "failed", "reason": "source_failed", "error": "SourceError: gone"},
    )


def test_readiness_lists_every_reason() -> None:
    block = source_block(NOW, LIVE, TS, RUNNING, 60)
    assert readiness(block, RUNNING) == (
        True,
        {"ready": True, "reasons": [], "catch_up": 1.0, "pump": "running", "source": block},
    )
    tasks = Tasks("failed", "pump", "tick")
    catching_up = source_block(NOW, SourceStatus("kafka", catch_up=0.4), TS, tasks, 60)
    ok, body = readiness(catching_up, tasks)
    assert not ok and body["reasons"] == ["source_not_ready", "pump_failed", "tick_failed"]
    assert body["catch_up"] == 0.4 and body["pump"] == "failed"


def test_scrape_figures() -> None:
    figures = scrape(NOW + 120, engine_status(), LIVE, RUNNING, 60, clients=7, seq=42, direct_writes=99)
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
        scrape(NOW, engine_status(None), LIVE, Tasks("finished"), 60, clients=0, seq=0, direct_writes=0)["pump_up"] == 0
    )

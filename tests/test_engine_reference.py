"""The engine against a second, brute-force calculation (tests/reference.py) on generated streams.

Streams are random but cover every rule of events.md; see tests/streams.py.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.conftest import make_settings
from tests.engine_compare import assert_matches_reference, fed
from tests.reference import reference
from tests.streams import AGENT_LIMITS, random_stream
from wallboard.engine import Engine

BASE = 1_795_960_800  # 2026-11-29T22:00:00+08:00: two hours before midnight, so streams cross it
SPAN = 8 * 3600


@given(
    seed=st.integers(0, 2**32),
    offset=st.integers(0, SPAN + 3600),
    formula=st.sampled_from(["abandons_negative", "abandons_ignored", "abandons_positive"]),
)
@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_engine_equals_reference_at_any_time(seed: int, offset: int, formula: str) -> None:
    rng = random.Random(seed)
    s = make_settings(
        agent_limits=AGENT_LIMITS,
        window=rng.choice([60, 900, 1800]),
        interval=900,
        channels={"call": {"sl_formula": formula}, "sms": {"sl_formula": formula}},
        queues={"信用卡": {"call": {"sl_threshold": 30, "short_abandon": 2}}},
    )
    events = random_stream(rng, BASE, SPAN, interactions=rng.randrange(0, 120))
    at = BASE + offset
    assert_matches_reference(fed(s, events, at), reference(events, s.metrics, at))


@given(seed=st.integers(0, 2**32))
@hsettings(max_examples=25, deadline=None)
def test_live_path_in_time_order_equals_reference(seed: int) -> None:
    """Events arriving in ts order with the clock following them (the live board) give the same numbers."""
    rng = random.Random(seed)
    s = make_settings(agent_limits=AGENT_LIMITS, window=900, late_horizon=3600)
    events = random_stream(rng, BASE, SPAN, interactions=rng.randrange(1, 150))
    at = max(e.ts_ms for e in events) // 1000 + rng.randrange(0, 7200)  # the live clock never passes it
    engine = Engine(s.metrics, BASE)
    for e in sorted(events, key=lambda e: e.ts_ms):
        engine.advance(e.ts_ms // 1000)
        engine.apply(e)
    engine.advance(at)
    assert_matches_reference(engine, reference(events, s.metrics, at))


@given(seed=st.integers(0, 2**32))
@hsettings(max_examples=25, deadline=None)
def test_future_events_are_held_until_the_clock_reaches_them(seed: int) -> None:
    rng = random.Random(seed)
    s = make_settings(agent_limits=AGENT_LIMITS)
    events = random_stream(rng, BASE, SPAN, interactions=80)
    t1 = BASE + rng.randrange(0, SPAN)
    t2 = t1 + rng.randrange(1, SPAN)
    engine = fed(s, events, t1)
    assert_matches_reference(engine, reference(events, s.metrics, t1))
    engine.advance(t2)
    assert_matches_reference(engine, reference(events, s.metrics, t2))


@pytest.mark.parametrize("zone", ["America/New_York", "Europe/London"])
@pytest.mark.parametrize("day_start_local", ["2026-03-08", "2026-11-01", "2026-03-29", "2026-10-25"])
def test_dst_days_match_reference(zone: str, day_start_local: str) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    s = make_settings(agent_limits=AGENT_LIMITS, timezone=zone)
    start = int(datetime.fromisoformat(day_start_local).replace(tzinfo=ZoneInfo(zone)).timestamp())
    rng = random.Random(day_start_local + zone)
    events = random_stream(rng, start - 3600, 27 * 3600, interactions=200)
    for at in (start + 2 * 3600 + 1800, start + 23 * 3600 - 1, start + 24 * 3600 + 600):
        assert_matches_reference(fed(s, events, at), reference(events, s.metrics, at))

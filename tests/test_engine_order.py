"""events.md "Order, duplicates and lateness": the snapshot at T depends only on the set of events.

Shuffling, duplicating and re-partitioning a stream never changes a number.
"""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.conftest import make_settings
from tests.engine_compare import fed, numbers
from tests.streams import partitioned, random_stream, shuffled_with_duplicates
from wallboard.engine import Engine

BASE = 1_795_960_800  # 2026-11-29T22:00:00+08:00
SPAN = 6 * 3600


def _views(events, at, **settings):
    engine = fed(make_settings(**settings), events, at)
    return numbers(engine.snapshot()), engine.agents(), engine.intraday()


@given(seed=st.integers(0, 2**32))
@hsettings(max_examples=60, deadline=None)
def test_shuffling_and_duplicating_never_changes_the_snapshot(seed: int) -> None:
    rng = random.Random(seed)
    events = random_stream(rng, BASE, SPAN, interactions=rng.randrange(0, 100))
    at = BASE + rng.randrange(0, SPAN + 3600)
    assert _views(shuffled_with_duplicates(rng, events), at) == _views(events, at)


@given(seed=st.integers(0, 2**32), partitions=st.integers(1, 12))
@hsettings(max_examples=60, deadline=None)
def test_repartitioning_never_changes_the_snapshot(seed: int, partitions: int) -> None:
    rng = random.Random(seed)
    events = sorted(random_stream(rng, BASE, SPAN, interactions=rng.randrange(0, 100)), key=lambda e: e.ts_ms)
    at = BASE + rng.randrange(0, SPAN + 3600)
    assert _views(partitioned(rng, events, partitions), at) == _views(events, at)


@given(seed=st.integers(0, 2**32))
@hsettings(max_examples=30, deadline=None)
def test_arrival_order_within_the_late_horizon_with_a_moving_clock(seed: int) -> None:
    """Live-like: the clock follows the stream, events arrive up to 20 min late, in any order within that."""
    rng = random.Random(seed)
    s = make_settings(window=900, late_horizon=3600)
    events = random_stream(rng, BASE, SPAN, interactions=rng.randrange(1, 100))
    at = max(e.ts_ms for e in events) // 1000 + 3600  # after the last event, so the live clock never passes it
    arrival = sorted(events, key=lambda e: e.ts_ms + rng.randrange(0, 20 * 60 * 1000))
    live = Engine(s.metrics, BASE)
    for e in arrival:
        live.advance(max(live.now, e.ts_ms // 1000 - rng.randrange(0, 60)))
        live.apply(e)
    live.advance(at)
    ideal = Engine(s.metrics, at)
    for e in events:
        ideal.apply(e)
    assert numbers(live.snapshot()) == numbers(ideal.snapshot())
    assert live.agents() == ideal.agents()
    assert live.intraday() == ideal.intraday()
    assert live.too_late == 0


@given(seed=st.integers(0, 2**32))
@hsettings(max_examples=20, deadline=None)
def test_catch_up_with_partitions_hours_apart_loses_nothing(seed: int) -> None:
    """A restart replays partitions at different speeds: one can be at 09:00 while another is still at 01:00.

    With pruning held off until the source has caught up, the clock may tick all along and nothing is dropped.
    """
    rng = random.Random(seed)
    s = make_settings(window=900, late_horizon=1800)
    events = sorted(random_stream(rng, BASE, SPAN, interactions=rng.randrange(20, 120)), key=lambda e: e.ts_ms)
    at = max(e.ts_ms for e in events) // 1000 + 60
    fast = [e for e in events if hash(e.event_id) % 2]
    slow = [e for e in events if not hash(e.event_id) % 2]
    catching_up = Engine(s.metrics, at)
    # The fast partition is read to its end first, then the slow one: hours apart in event time.
    for e in fast + slow:
        catching_up.apply(e)
        catching_up.advance(at, prune=False)
    catching_up.advance(at + 1)  # caught up: pruning resumes
    ideal = Engine(s.metrics, at + 1)
    for e in events:
        ideal.apply(e)
    assert catching_up.too_late == 0
    assert numbers(catching_up.snapshot()) == numbers(ideal.snapshot())
    assert catching_up.agents() == ideal.agents()

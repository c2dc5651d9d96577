"""events.md "Order, duplicates and lateness": the snapshot at T depends only on the set of events.

Shuffling, duplicating and re-partitioning a stream never changes a number.
"""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.conftest import make_settings
from tests.engine_compare import assert_same_board, fed
from tests.streams import AGENT_LIMITS, partitioned, random_stream, shuffled_with_duplicates
from wallboard.engine import Engine
from wallboard.ingest import advance
from wallboard.sources.base import SourceStatus

BASE = 1_795_960_800  # 2026-11-29T22:00:00+08:00
SPAN = 6 * 3600


@given(seed=st.integers(0, 2**32))
@hsettings(max_examples=60, deadline=None)
def test_shuffling_and_duplicating_never_changes_the_snapshot(seed: int) -> None:
    rng = random.Random(seed)
    events = random_stream(rng, BASE, SPAN, interactions=rng.randrange(0, 100))
    at = BASE + rng.randrange(0, SPAN + 3600)
    s = make_settings(agent_limits=AGENT_LIMITS)
    assert_same_board(fed(s, shuffled_with_duplicates(rng, events), at), fed(s, events, at))


@given(seed=st.integers(0, 2**32), partitions=st.integers(1, 12))
@hsettings(max_examples=60, deadline=None)
def test_repartitioning_never_changes_the_snapshot(seed: int, partitions: int) -> None:
    rng = random.Random(seed)
    events = sorted(random_stream(rng, BASE, SPAN, interactions=rng.randrange(0, 100)), key=lambda e: e.ts_ms)
    at = BASE + rng.randrange(0, SPAN + 3600)
    s = make_settings(agent_limits=AGENT_LIMITS)
    assert_same_board(fed(s, partitioned(rng, events, partitions), at), fed(s, events, at))


@given(seed=st.integers(0, 2**32))
@hsettings(max_examples=30, deadline=None)
def test_arrival_order_within_the_late_horizon_with_a_moving_clock(seed: int) -> None:
    """Live-like: the clock follows the stream, events arrive up to 20 min late, in any order within that."""
    rng = random.Random(seed)
    s = make_settings(agent_limits=AGENT_LIMITS, window=900, late_horizon=3600)
    events = random_stream(rng, BASE, SPAN, interactions=rng.randrange(1, 100))
    at = max(e.ts_ms for e in events) // 1000 + 3600  # after the last event, so the live clock never passes it
    arrival = sorted(events, key=lambda e: e.ts_ms + rng.randrange(0, 20 * 60 * 1000))
    live = Engine(s.metrics, BASE)
    for e in arrival:
        live.advance(max(live.now, e.ts_ms // 1000 - rng.randrange(0, 60)))
        live.apply(e)
    live.advance(at)
    assert_same_board(live, fed(s, events, at))
    assert live.too_late == 0


@given(seed=st.integers(0, 2**32))
@hsettings(max_examples=20, deadline=None)
def test_catch_up_with_partitions_hours_apart_loses_nothing(seed: int) -> None:
    """A restart replays partitions at different speeds: one can be at 09:00 while another is still at 01:00.

    With pruning held off until the source has caught up, the clock may tick all along and nothing is dropped.
    """
    rng = random.Random(seed)
    s = make_settings(agent_limits=AGENT_LIMITS, window=900, late_horizon=1800)
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
    assert catching_up.too_late == 0
    assert_same_board(catching_up, fed(s, events, at + 1))


@given(seed=st.integers(0, 2**32))
@hsettings(max_examples=40, deadline=None)
def test_catch_up_pruned_by_the_slowest_partition_loses_nothing(seed: int) -> None:
    """During a catch-up the engine forgets only what is a late horizon older than the slowest partition still
    behind (SourceStatus.low_watermark_ms): memory stays bounded, and no event of a laggard is too late."""
    rng = random.Random(seed)
    s = make_settings(agent_limits=AGENT_LIMITS, window=900, late_horizon=1800)
    events = sorted(random_stream(rng, BASE, SPAN, interactions=rng.randrange(20, 120)), key=lambda e: e.ts_ms)
    at = max(e.ts_ms for e in events) // 1000 + 60
    parts: list[list[object]] = [[], [], []]
    for e in events:
        parts[rng.randrange(len(parts))].append(e)
    speeds = [rng.randrange(1, 25) for _ in parts]  # events handed out per round: hours apart soon
    pos = [0] * len(parts)
    newest = [BASE * 1000] * len(parts)  # where each partition stands: the replay start until it hands out
    engine = Engine(s.metrics, at)
    pruned_while_behind = False
    while any(pos[i] < len(p) for i, p in enumerate(parts)):
        for i, p in enumerate(parts):
            chunk = p[pos[i] : pos[i] + speeds[i]]
            pos[i] += len(chunk)
            for e in chunk:
                engine.apply(e)  # type: ignore[arg-type]
                newest[i] = max(newest[i], e.ts_ms)  # type: ignore[attr-defined]
        behind = [i for i, p in enumerate(parts) if pos[i] < len(p)]
        status = SourceStatus(
            kind="test",
            ready=not behind,
            caught_up=not behind,
            low_watermark_ms=min(newest[i] for i in behind) if behind else None,
        )
        held = engine.status()["held_interactions"]
        advance(engine, at, status)
        pruned_while_behind |= bool(behind) and engine.status()["held_interactions"] < held
    assert engine.too_late == 0
    assert_same_board(engine, fed(s, events, at))
    if min(max(e.ts_ms for e in p) for p in parts if p) - BASE * 1000 > 3 * 1800_000:  # type: ignore[attr-defined]
        assert pruned_while_behind  # every partition got well past the horizon: something was forgotten early

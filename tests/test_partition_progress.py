"""Partition bookkeeping (wallboard.sources.progress): offsets, readiness, event time and pausing, with no broker.

The log here is a list of partitions of JSON messages whose *record* times say
nothing (a bulk load): only what ingest reports of the events' ``ts`` drives the
low watermark and the pausing, as in KafkaSource.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.conftest import make_settings
from tests.engine_compare import assert_same_board, fed
from tests.streams import random_stream, to_json
from wallboard.engine import Engine
from wallboard.ingest import advance, ingest
from wallboard.sources.base import RawMessage, SourceStatus
from wallboard.sources.progress import PartitionProgress

BASE = 1_750_000_000
SPAN = 6 * 3600
HORIZON_S = 1800


def _status(progress: PartitionProgress[tuple[str, int]]) -> SourceStatus:
    """What KafkaSource.status() derives from its progress."""
    behind = progress.behind()
    ready = progress.is_ready()
    caught_up = ready and not behind
    return SourceStatus(
        kind="test",
        ready=ready,
        caught_up=caught_up,
        lag=progress.lag,
        catch_up=progress.catch_up,
        low_watermark_ms=None if caught_up else progress.low_watermark_ms(behind),
    )


@given(seed=st.integers(0, 2**32), markers=st.booleans())
@hsettings(max_examples=60, deadline=None)
def test_a_bulk_loaded_log_read_in_event_time_loses_nothing(seed: int, markers: bool) -> None:
    """Partitions of very different sizes, read in chunks of random sizes by a consumer that honours the pausing:
    the engine pruned by the low watermark in *event* time ends equal to one fed everything, nothing too late."""
    rng = random.Random(seed)
    s = make_settings(window=900, late_horizon=HORIZON_S)
    events = sorted(random_stream(rng, BASE, SPAN, interactions=rng.randrange(30, 150)), key=lambda e: e.ts_ms)
    at = max(e.ts_ms for e in events) // 1000 + 60
    names = [("cc.calls", 0), ("cc.calls", 1), ("cc.agents", 0), ("cc.sms", 0)]
    logs: dict[tuple[str, int], list[RawMessage]] = {p: [] for p in names}
    weights = [rng.random() + 0.01 for _ in names]  # some partitions far bigger than others
    offset = dict.fromkeys(names, 0)
    for e in events:
        (p,) = rng.choices(names, weights)
        if markers and rng.random() < 0.05:  # a transaction marker: an offset never handed out
            offset[p] += 1
        logs[p].append(RawMessage(to_json(e), None, p[0], p[1], offset[p]))
        offset[p] += 1
    progress: PartitionProgress[tuple[str, int]] = PartitionProgress(
        start_ms=BASE * 1000, late_horizon_ms=HORIZON_S * 1000, stall_s=1e9
    )
    progress.assign(dict.fromkeys(names, 0), offset)
    engine = Engine(s.metrics, at)
    cursor = dict.fromkeys(names, 0)
    now = 0.0
    pruned_while_behind = False
    behind_ms = BASE * 1000  # how far in event time the catch-up got while still behind
    last_catch_up = 0.0
    while not progress.is_ready():
        held = progress.to_hold(now)
        readable = [p for p in names if p not in held and cursor[p] < len(logs[p])]
        assert readable or all(progress.positions[p] >= progress.ends[p] for p in names), "nothing can be read"
        batch: list[RawMessage] = []
        for p in readable:
            chunk = logs[p][cursor[p] : cursor[p] + rng.randrange(1, 40)]
            cursor[p] += len(chunk)
            batch.extend(chunk)
        for p in names:  # the consumer's position: past the last record handed out, or the end
            progress.moved(p, logs[p][cursor[p]].offset if cursor[p] < len(logs[p]) else offset[p])
        result = ingest(engine, batch)
        progress.observed(result.newest_ms)
        held_before = engine.status()["held_interactions"]
        status = _status(progress)
        if not status.settled and status.low_watermark_ms is not None:
            behind_ms = max(behind_ms, status.low_watermark_ms)
        advance(engine, at, status)
        pruned_while_behind |= not status.settled and engine.status()["held_interactions"] < held_before
        assert last_catch_up <= progress.catch_up <= 1.0
        last_catch_up = progress.catch_up
        now += 0.2
    assert progress.lag == 0 and _status(progress).settled
    assert engine.too_late == 0
    assert_same_board(engine, fed(s, events, at))
    if behind_ms - BASE * 1000 > 3 * HORIZON_S * 1000:
        # Every partition got well past the horizon while the catch-up was still behind: memory was freed on
        # the way.  (A log small enough to be read in one batch is never behind: nothing to free on the way.)
        assert pruned_while_behind


def test_record_times_play_no_part_only_event_times_do() -> None:
    progress: PartitionProgress[str] = PartitionProgress(start_ms=1_000, late_horizon_ms=7_200_000)
    progress.assign({"a": 0, "b": 0}, {"a": 100, "b": 100})
    assert progress.low_watermark_ms() == 1_000  # nothing read yet: the replay start
    progress.moved("a", 50)
    progress.observed({"a": 6_000_000})
    progress.moved("b", 10)
    progress.observed({"b": 2_000_000})
    assert progress.low_watermark_ms() == 2_000_000
    # "a" is 4,000 s ahead of "b" in event time, more than half the 7,200 s horizon: it waits.
    assert progress.to_hold(0.0) == {"a"}
    progress.observed({"b": 1_500_000})  # an older event says nothing new about where b is
    assert progress.where("b") == 2_000_000


def test_the_slowest_partition_is_never_held_and_a_stalled_one_releases_the_rest() -> None:
    progress: PartitionProgress[str] = PartitionProgress(start_ms=0, late_horizon_ms=1_000, stall_s=10)
    progress.assign({"slow": 0, "fast": 0}, {"slow": 10, "fast": 10})
    progress.moved("slow", 1)
    progress.moved("fast", 1)
    progress.observed({"slow": 100, "fast": 5_000})
    assert progress.to_hold(0.0) == {"fast"}
    assert progress.to_hold(9.9) == {"fast"}
    assert progress.to_hold(10.0) == set()  # the slowest has not moved for 10 s
    progress.observed({"slow": 200})
    assert progress.to_hold(11.0) == {"fast"}  # it moved: held again while it catches up


def test_ready_at_the_start_targets_caught_up_at_the_moving_ends() -> None:
    progress: PartitionProgress[str] = PartitionProgress(start_ms=0, late_horizon_ms=1_000)
    progress.assign({"a": 5, "b": 7}, {"a": 15, "b": 7})
    assert not progress.is_ready() and progress.lag == 10 and progress.catch_up == 0.0
    progress.moved("a", 10)
    assert progress.catch_up == pytest.approx(0.5)
    progress.ended("a", 20)  # the log grew meanwhile
    progress.ended("b", None)  # no fetch response yet: nothing known
    progress.ended("b", 3)  # an older end (a probe answered late): ignored
    progress.moved("a", 15)
    assert progress.is_ready() and progress.catch_up == 1.0
    assert progress.behind() == ["a"] and progress.lag == 5
    progress.moved("a", 21)  # past a transaction marker: positions may pass the last known end
    assert progress.behind() == [] and progress.lag == 0 and progress.low_watermark_ms() is None


def test_current_as_of_the_newest_end_offsets_reached() -> None:
    """current_at: the newest probe whose end offsets every position has reached; it stops while reading lags."""
    progress: PartitionProgress[str] = PartitionProgress(start_ms=0, late_horizon_ms=1_000)
    progress.assign({"a": 0, "b": 0}, {"a": 10, "b": 0})
    progress.checkpoint(100.0, {"a": 10, "b": 0})  # the targets, asked for at 100
    assert progress.update_current() is None  # replaying
    progress.checkpoint(102.0, {"a": 12, "b": 1, "x": 5})  # a probe; "x" is not ours
    progress.moved("a", 10)
    assert progress.update_current() == 100.0 and progress.is_ready()
    # a steady stream: the ends move on before the positions reach the newest probe's
    progress.checkpoint(104.0, {"a": 14, "b": 2})
    progress.moved("a", 13)
    progress.moved("b", 1)
    assert progress.update_current() == 102.0 and progress.lag == 2
    progress.moved("a", 14)
    progress.moved("b", 2)
    assert progress.update_current() == 104.0
    # reading stalls while the log grows: current_at stays where it was, however many probes come
    for t in range(106, 106 + 2 * 100, 2):
        progress.checkpoint(float(t), {"a": 14 + t, "b": 2})
    assert progress.update_current() == 104.0 and progress.lag > 0
    progress.moved("a", 14 + 304)
    assert progress.update_current() == 304.0


def test_a_position_that_goes_back_is_reported() -> None:
    """A topic deleted and re-created (or truncated) under a running board: the consumer resets to a lower offset."""
    progress: PartitionProgress[str] = PartitionProgress(start_ms=0, late_horizon_ms=1_000)
    progress.assign({"a": 10}, {"a": 20})
    progress.moved("a", 20)
    assert progress.rewound == {}
    progress.moved("a", 0)
    assert progress.rewound == {"a": (20, 0)}


def test_partitions_not_assigned_are_ignored() -> None:
    progress: PartitionProgress[str] = PartitionProgress(start_ms=0, late_horizon_ms=1_000)
    progress.assign({"a": 0}, {"a": 1})
    progress.moved("x", 5)
    progress.ended("x", 9)
    progress.observed({"x": 1})
    assert list(progress.positions) == ["a"] and "x" not in progress.newest_ms


def test_ingest_reports_the_newest_event_time_per_partition() -> None:
    s = make_settings()
    engine = Engine(s.metrics, BASE + 100)
    msgs = [
        RawMessage(
            b'{"type":"call.offered","event_id":"e1","ts":%d,"interaction_id":"i1","queue":"q"}' % ((BASE + 5) * 1000),
            None,
            "t",
            0,
            0,
        ),
        RawMessage(
            b'{"type":"call.offered","event_id":"e2","ts":%d,"interaction_id":"i2","queue":"q"}' % ((BASE + 1) * 1000),
            None,
            "t",
            0,
            1,
        ),
        RawMessage(b"{not json", None, "t", 1, 0),
        RawMessage(
            b'{"type":"call.offered","event_id":"e3","ts":%d,"interaction_id":"i3","queue":"q"}' % ((BASE + 9) * 1000),
            None,
            "u",
            0,
            0,
        ),
        RawMessage(
            b'{"type":"call.offered","event_id":"e4","ts":%d,"interaction_id":"i4","queue":"q"}' % ((BASE + 7) * 1000),
            None,
            "t",
            0,
            2,
        ),
    ]
    result = ingest(engine, msgs)
    # t/0's messages come in two runs (5, 1, then 7): the newest of both; t/1 holds only a rejected one.
    assert result.newest_ms == {("t", 0): (BASE + 7) * 1000, ("u", 0): (BASE + 9) * 1000}
    assert [r.reason for r in result.rejected] == ["bad_json"]

"""Where each partition of a log stands, in offsets and in event time.  Pure: no I/O, no clock of its own.

``KafkaSource`` feeds it what the consumer reports (positions, end offsets)
and what ingest learned from the messages themselves (the newest event ``ts``
read from each partition); it answers what the board asks of a source: ready?
caught up? how far behind? how much may the engine forget? which partitions
should wait for the others?

**Event time, not record time.**  Kafka's record timestamps are whatever the
producer or the broker set: the event's ``ts`` (``wallboard simulate``), the
moment of sending (librdkafka's and the Java client's default), or the broker's
append time (``LogAppendTime`` topics, MirrorMaker copies).  A day bulk-loaded
or flushed after an outage has record times that say nothing about the events
in it.  So, as Kafka Streams does with its timestamp extractor, a partition's
progress is the newest event ``ts`` read from it, which ingest reports after
parsing; record timestamps only choose where to start reading (the seek to
midnight minus the look-back).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable, Mapping
from typing import Generic, TypeVar

P = TypeVar("P", bound=Hashable)
"""A partition's name: aiokafka's ``TopicPartition`` (a ``(topic, partition)`` named tuple) or any hashable."""

SYNC_STALL_S = 10.0
"""A slowest partition that has not moved for this long releases the partitions held back for it."""
CHECKPOINTS = 64
"""End offsets remembered until the positions reach them (a probe every 2 s: two minutes of them)."""


class PartitionProgress(Generic[P]):
    """Offsets and event time per partition, and what follows from them (see the module docstring).

    Offsets follow Kafka's convention: a position or an end is the offset of the
    *next* record.  ``targets`` are the end offsets noted at start: the source is
    ready once every position has reached its target.  ``ends`` move on as the
    log grows (high watermark, or the last stable offset when reading committed
    data only); a partition is *behind* while its position is short of its end.
    """

    def __init__(self, *, start_ms: int, late_horizon_ms: int, stall_s: float = SYNC_STALL_S) -> None:
        self.start_ms = start_ms
        """Where reading started in time (local midnight minus the look-back): the event time of a
        partition nothing has been read from yet."""
        self.late_horizon_ms = late_horizon_ms
        self.stall_s = stall_s
        self.starts: dict[P, int] = {}
        self.targets: dict[P, int] = {}
        self.positions: dict[P, int] = {}
        self.ends: dict[P, int] = {}
        self.newest_ms: dict[P, int] = {}
        """The newest event ts read from each partition (its progress in event time)."""
        self.rewound: dict[P, tuple[int, int]] = {}
        """Partitions whose position went back (from, to): the log was deleted and re-created, or truncated.
        What was counted from the old log can no longer be told apart from the new one."""
        self.ready = False
        self.current_at: float | None = None
        """The newest time at which every partition had been read to the end offsets it had then
        (``checkpoint``); it stops moving while reading falls behind or stalls."""
        self._checkpoints: deque[tuple[float, dict[P, int]]] = deque(maxlen=CHECKPOINTS)
        self._low = -1
        self._low_since = 0.0

    # ----------------------------------------------------------------- input

    def assign(self, starts: Mapping[P, int], targets: Mapping[P, int]) -> None:
        """The partitions to read, where reading starts, and the end offsets that make the source ready."""
        self.starts = dict(starts)
        self.positions = dict(starts)
        self.targets = {p: max(targets.get(p, starts[p]), starts[p]) for p in self.starts}
        self.ends = dict(self.targets)
        self.newest_ms = {}
        self._update_ready()

    def moved(self, partition: P, position: int) -> None:
        """The consumer's position on a partition (after records, transaction markers or aborted records)."""
        if partition in self.positions:
            if position < self.positions[partition]:
                self.rewound[partition] = (self.positions[partition], position)
            self.positions[partition] = position
            if self.ends[partition] < position:
                self.ends[partition] = position

    def ended(self, partition: P, end: int | None) -> None:
        """A newer end offset of a partition (the log grew); unknown (None) or older ones change nothing."""
        if end is not None and partition in self.ends and self.ends[partition] < end:
            self.ends[partition] = end

    def checkpoint(self, at_s: float, ends: Mapping[P, int]) -> None:
        """The end offsets found at ``at_s`` (a probe): once the positions reach them, the source was current then.

        Kept until reached (the oldest dropped past ``CHECKPOINTS``), so that a steady stream, whose ends
        move on before the positions reach the newest ones, still moves ``current_at``."""
        for partition, end in ends.items():
            self.ended(partition, end)
        self._checkpoints.append((at_s, {p: e for p, e in ends.items() if p in self.positions}))

    def update_current(self) -> float | None:
        """``current_at`` after the positions reached whichever checkpoints they now have (the oldest first)."""
        checkpoints, positions = self._checkpoints, self.positions
        while checkpoints and all(positions[p] >= end for p, end in checkpoints[0][1].items()):
            self.current_at = checkpoints.popleft()[0]
        return self.current_at

    def observed(self, newest_ms: Mapping[P, int]) -> None:
        """The newest event ts of each partition in a batch just applied (ingest reports it)."""
        mine = self.newest_ms
        for partition, ms in newest_ms.items():
            if partition in self.positions and ms > mine.get(partition, -1):
                mine[partition] = ms

    def _update_ready(self) -> None:
        if not self.ready and all(self.positions[p] >= t for p, t in self.targets.items()):
            self.ready = True

    # --------------------------------------------------------------- answers

    def behind(self) -> list[P]:
        """The partitions whose position is short of their end."""
        ends = self.ends
        return [p for p, pos in self.positions.items() if ends[p] > pos]

    @property
    def lag(self) -> int:
        """Records between the positions and the ends (Kafka's consumer lag)."""
        ends = self.ends
        return sum(ends[p] - pos for p, pos in self.positions.items() if ends[p] > pos)

    @property
    def catch_up(self) -> float:
        """0..1: the share of the start-up backlog (starts to targets) read; 1.0 once ready."""
        self._update_ready()
        if self.ready:
            return 1.0
        total = sum(t - self.starts[p] for p, t in self.targets.items())
        done = sum(min(self.positions[p], t) - self.starts[p] for p, t in self.targets.items())
        return 1.0 if total <= 0 else done / total

    def is_ready(self) -> bool:
        """Every partition read to the end offsets noted at start (stays true from then on)."""
        self._update_ready()
        return self.ready

    def where(self, partition: P) -> int:
        """How far a partition has got in event time: its newest event ts, else the start of reading."""
        return self.newest_ms.get(partition, self.start_ms)

    def low_watermark_ms(self, behind: Iterable[P] | None = None) -> int | None:
        """The event time the slowest partition with a backlog has reached; None when none is behind.

        The engine may forget what is a late horizon older than this: every
        record still to come from a partition with a backlog is at most a late
        horizon older than what that partition has already delivered, or it is
        ``too_late`` by the contract anyway.  Partitions without a backlog
        deliver live events, which are newer than anything read so far.
        """
        times = [self.where(p) for p in (self.behind() if behind is None else behind)]
        return min(times) if times else None

    def to_hold(self, now_s: float) -> set[P]:
        """The partitions to pause: those more than half a late horizon ahead of the slowest one behind.

        Read at full speed, partitions are soon hours apart in event time (a
        small one is read to its end in the first fetch), and the engine must
        keep everything between the slowest and the newest.  As Kafka Streams
        does, the laggards are read first, so that memory stays bounded by the
        horizon during a catch-up too.  The slowest partition is never held,
        so reading always progresses; one that stops moving for ``stall_s``
        (``now_s`` is a monotonic clock) releases the others.
        """
        behind = self.behind()
        low = self.low_watermark_ms(behind)
        if low is None:
            return set()
        if low != self._low:
            self._low, self._low_since = low, now_s
        if now_s - self._low_since >= self.stall_s:
            return set()
        limit = low + self.late_horizon_ms // 2
        return {p for p in behind if self.where(p) > limit}

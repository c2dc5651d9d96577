"""Raw messages -> contract -> engine.  The one place sources hand their data over."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from wallboard.engine import Engine
from wallboard.errors import ContractError
from wallboard.events import contract_for
from wallboard.sources.base import RawMessage, SourceStatus

Partition = tuple[str, int]
"""(topic, partition) of a message; aiokafka's ``TopicPartition`` is a named tuple of the same shape."""


class Rejected(NamedTuple):
    """A message the contract refused, with its reason code and a sentence for humans."""

    message: RawMessage
    reason: str
    detail: str


class Ingested(NamedTuple):
    """What became of a batch: what the source is told back (``EventSource.ingested``)."""

    rejected: list[Rejected]
    """The messages the contract refused (for the dead-letter topic)."""
    newest_ms: dict[Partition, int]
    """The newest event ts applied from each (topic, partition) of the batch: the partitions' progress
    in event time, which record timestamps do not tell (``wallboard.sources.progress``)."""


def ingest(engine: Engine, batch: Iterable[RawMessage]) -> Ingested:
    """Parse and apply a batch; say what was rejected and how far each partition got. Never raises on data.

    Rejected: what the contract refuses (under the engine's ``[limits]``), and
    what the engine refuses for holding too many queues or agents; both go
    back to the source with their reason (the dead-letter topic).
    """
    rejected: list[Rejected] = []
    newest: dict[Partition, int] = {}
    parse = contract_for(engine.settings.limits).parse
    apply = engine.apply
    # Sources deliver a partition's messages together: keep its newest ts in locals, store it on a change.
    topic: str | None = None
    partition = -1
    high = -1
    for message in batch:
        try:
            event = parse(message.value)
        except ContractError as exc:
            engine.reject(exc.reason)
            rejected.append(Rejected(message, exc.reason, exc.detail))
            continue
        refused = apply(event)
        if refused is not None:
            # Not applied, but its ts is real event time of its partition: it still counts as progress.
            rejected.append(Rejected(message, refused, engine.refusal_detail(refused)))
        if message.partition != partition or message.topic != topic:
            if topic is not None and high > newest.get((topic, partition), -1):
                newest[(topic, partition)] = high
            topic, partition, high = message.topic, message.partition, -1
        ts = event[1]
        if ts > high:
            high = ts
    if topic is not None and high > newest.get((topic, partition), -1):
        newest[(topic, partition)] = high
    return Ingested(rejected, newest)


def advance(engine: Engine, now_s: int, status: SourceStatus) -> None:
    """Move the engine's clock to ``now_s``, forgetting old state only as far as the source allows.

    Settled (caught up): by the newest event seen, as always.  Behind (a
    restart's catch-up, a backlog after an outage): by the source's low
    watermark, so that memory stays bounded by the late horizon during a
    catch-up too (a whole day held at once would be ~400 MB for a 1M-event
    day); with no watermark known, nothing is forgotten.
    """
    if status.settled:
        engine.advance(now_s)
    elif status.low_watermark_ms is not None:
        engine.advance(now_s, watermark_ms=status.low_watermark_ms)
    else:
        engine.advance(now_s, prune=False)

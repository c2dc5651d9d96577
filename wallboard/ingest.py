"""Raw messages -> contract -> engine.  The one place sources hand their data over."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from wallboard.engine import Engine
from wallboard.errors import ContractError
from wallboard.events import parse
from wallboard.sources.base import RawMessage, SourceStatus


class Rejected(NamedTuple):
    """A message the contract refused, with its reason code and a sentence for humans."""

    message: RawMessage
    reason: str
    detail: str


def ingest(engine: Engine, batch: Iterable[RawMessage]) -> list[Rejected]:
    """Parse and apply a batch; return the rejected messages (for the dead-letter topic). Never raises on data."""
    rejected: list[Rejected] = []
    apply = engine.apply
    for message in batch:
        try:
            event = parse(message.value)
        except ContractError as exc:
            engine.reject(exc.reason)
            rejected.append(Rejected(message, exc.reason, exc.detail))
            continue
        apply(event)
    return rejected


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

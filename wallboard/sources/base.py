"""The seam between event sources and the rest of wallboard.

On one side: something that delivers raw message values (Kafka, the simulator,
a file), in batches, and knows whether its data is complete and current.  On
the other: ``wallboard.ingest``, which parses each value against the event
contract and applies it to the engine.  Sources never parse or aggregate;
the engine never does I/O.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from wallboard.ingest import Ingested


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One message as it arrived, before any parsing."""

    value: bytes
    key: bytes | None = None
    topic: str = ""
    partition: int = -1
    offset: int = -1
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass
class SourceStatus:
    """What a source says about its data; shown on the board and in /readyz."""

    kind: str
    """'kafka', 'simulator' or 'file'."""
    ready: bool = False
    """True once the source has caught up (replayed today) and delivers live data."""
    connected: bool = False
    """False while the source cannot reach its upstream (broker down)."""
    catch_up: float = 0.0
    """0..1, progress of the start-up replay."""
    lag: int = 0
    """Messages behind the end of the upstream (Kafka consumer lag)."""
    caught_up: bool = True
    """False while the source is behind its upstream (draining a backlog, e.g. after an outage)."""
    low_watermark_ms: int | None = None
    """While not settled: the event time that every part of the upstream still behind has reached (Kafka:
    the newest event ts read from the slowest partition with a backlog), so that the engine may forget
    what is a late horizon older than that; None when unknown (then nothing is forgotten)."""
    current_at: float | None = None
    """The newest time (the server's clock) at which the source knew it had read everything its upstream held
    then (Kafka: every partition read up to the end offsets a probe found at that time); it stops moving when
    reading falls behind or stalls.  None: the source does not tell (then ``lag`` alone says it)."""
    last_error: str | None = None
    details: dict[str, object] = field(default_factory=dict)

    @property
    def settled(self) -> bool:
        """Ready and caught up: the engine may forget old state by the newest event it has seen.

        While a source drains a backlog its partitions progress at different
        speeds in event time, hours apart; pruning by the newest event seen would
        then drop the laggards' events as too late, so meanwhile the engine prunes
        only by ``low_watermark_ms`` (``wallboard.ingest.advance``).
        """
        return self.ready and self.caught_up


class EventSource(Protocol):
    """Delivers raw messages in batches; one batch becomes one engine update."""

    def batches(self) -> AsyncIterator[list[RawMessage]]:
        """Yield batches until closed.  Must not raise for a bad message (that is ingest's job)."""
        ...

    async def ingested(self, result: Ingested) -> None:
        """Told, after each batch, what ingest made of it: the rejected messages (Kafka forwards them to
        the dead-letter topic) and each partition's newest event ts (Kafka's progress in event time)."""
        ...

    def status(self) -> SourceStatus: ...

    async def close(self) -> None: ...

"""What the simulator yields: one message, as a producer would send it to Kafka."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple


class SimEvent(NamedTuple):
    """One generated message: when, its Kafka key and value, and the topic it belongs on.

    A NamedTuple because a benchmark day is over a million of them.
    """

    ts_ms: int
    """The event's ts, milliseconds since the Unix epoch (also inside ``value``)."""
    key: bytes
    """interaction_id for interaction events, agent_id for agent events (events.md)."""
    value: bytes
    """The UTF-8 JSON message exactly as events.md defines it."""
    topic: str
    """'cc.calls', 'cc.sms' or 'cc.agents'."""


def write_events_file(path: str | os.PathLike[str], events: Iterable[SimEvent | bytes]) -> int:
    """Write one raw message per line (the ``wallboard replay`` input format); return the count.

    JSON text never holds a raw newline (it is escaped inside strings), so one
    message per line is unambiguous.  Bytes are written as they are, so broken
    messages from ``Noise`` survive the round trip (a bad one could hold a
    newline only if the producer put one in; the simulator's never do).
    """
    count = 0
    with Path(path).open("wb") as fh:
        write = fh.write
        for event in events:
            write(event if isinstance(event, bytes) else event.value)
            write(b"\n")
            count += 1
    return count

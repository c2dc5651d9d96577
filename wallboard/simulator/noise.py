"""Producer misbehaviour on demand: re-sends, late delivery and broken messages.

Real producers retry (the same ``event_id`` twice), deliver out of order
(partitions, retries, a gateway that buffers) and sometimes send garbage.  The
board must give the same numbers anyway (events.md, "Order, duplicates and
lateness"), so tests and producer integrators need a stream that does all three.

Noise never changes the *set of valid events*: duplicates repeat an event
byte for byte, delays only move it later in the stream, and an invalid message
is an extra message next to the original.  So the board's numbers for a noisy
stream must equal those for the clean one, which is exactly the property to test.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from wallboard.simulator.output import SimEvent

INVALID_KINDS = (
    "bad_json",
    "not_object",
    "missing_field",
    "timestamp_without_offset",
    "unknown_type",
    "wrong_type",
    "bad_length",
)
"""The kinds of broken message generated (named after events.py's reject reasons)."""


@dataclass(frozen=True)
class Noise:
    """Rates (0..1, per event) of each kind of misbehaviour.  All zero = a clean stream."""

    duplicate_rate: float = 0.0
    """A re-send of the event (same event_id, same bytes), delivered up to ``duplicate_delay_s`` later."""
    reorder_rate: float = 0.0
    """The event is held back and delivered up to ``max_delay_s`` after its ts (later events overtake it)."""
    max_delay_s: float = 30.0
    duplicate_delay_s: float = 5.0
    invalid_rate: float = 0.0
    """An extra, broken message (one of INVALID_KINDS) derived from the event."""

    def __post_init__(self) -> None:
        for name in ("duplicate_rate", "reorder_rate", "invalid_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"Noise.{name} must be within 0..1, got {value!r}")
        if self.max_delay_s < 0 or self.duplicate_delay_s < 0:
            raise ValueError("Noise delays must not be negative")


def add_noise(events: Iterable[SimEvent], noise: Noise, rng: random.Random) -> Iterator[SimEvent]:
    """Apply ``noise`` to a time-ordered stream.  The result is in *delivery* order, no longer sorted by ts.

    Held-back messages wait in a small heap keyed by their delivery time and
    are released once the clean stream has passed that time, so memory stays
    proportional to max_delay_s, not to the day.
    """
    held: list[tuple[int, int, SimEvent]] = []
    seq = 0
    max_delay = int(noise.max_delay_s * 1000)
    dup_delay = int(noise.duplicate_delay_s * 1000)
    random_ = rng.random
    for event in events:
        while held and held[0][0] <= event.ts_ms:
            yield heapq.heappop(held)[2]
        if noise.invalid_rate and random_() < noise.invalid_rate:
            yield corrupt(event, rng)
        if noise.reorder_rate and max_delay and random_() < noise.reorder_rate:
            seq += 1
            heapq.heappush(held, (event.ts_ms + rng.randint(1, max_delay), seq, event))
        else:
            yield event
        if noise.duplicate_rate and random_() < noise.duplicate_rate:
            seq += 1
            heapq.heappush(held, (event.ts_ms + rng.randint(0, dup_delay), seq, event))
    while held:
        yield heapq.heappop(held)[2]


def corrupt(event: SimEvent, rng: random.Random, kind: str | None = None) -> SimEvent:
    """A broken copy of ``event`` that the contract must reject (same key, topic and ts)."""
    kind = kind or rng.choice(INVALID_KINDS)
    if kind == "bad_json":
        return event._replace(value=event.value[: max(1, len(event.value) // 2)])
    if kind == "not_object":
        return event._replace(value=b"[" + event.value + b"]")
    obj: dict[str, Any] = orjson.loads(event.value)
    kind_of_event = obj["type"]
    if kind == "missing_field":
        required = ["type", "event_id", "ts"]
        if kind_of_event == "agent.state":
            required += ["agent_id", "state", "queues"]
        else:
            required += ["interaction_id", "queue"]
            if kind_of_event.endswith((".answered", ".completed")):
                required.append("agent_id")
        del obj[rng.choice(required)]
    elif kind == "timestamp_without_offset":
        obj["ts"] = obj["ts"][:23]
    elif kind == "unknown_type":
        obj["type"] = kind_of_event.split(".")[0] + ".transferred"
    elif kind == "wrong_type":
        obj["event_id"] = rng.randint(1, 10**9)
    elif kind == "bad_length":
        obj["event_id"] = ""
    else:
        raise ValueError(f"unknown kind of invalid message {kind!r} (known: {', '.join(INVALID_KINDS)})")
    return event._replace(value=orjson.dumps(obj))

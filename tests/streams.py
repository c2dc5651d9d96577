"""Random event streams for the engine's property tests: every rule of events.md gets exercised.

Streams hold interactions with every combination of phases, conflicting outcomes,
ties on ts, negative waits (clock skew), orphans, re-sent duplicates, events on
both sides of the window edge and of midnight, and agents changing state.
"""

from __future__ import annotations

import random
from typing import Any

from wallboard.events import AgentStateEvent, InteractionEvent

QUEUES = ("credit-card", "信用卡", "网银", "<img src=x onerror=alert(1)>")
STATES = ("available", "busy", "wrap_up", "break", "offline")
REASONS = (None, "lunch", "培训")
AGENT_LIMITS = {
    "break": {"limit": 600, "reasons": {"lunch": {"limit": 3600}, "培训": {"limit": 0}}},
    "wrap_up": {"limit": 120},
    "busy": {"limit": 1800},
}
"""[agent_limits] for the property tests: state limits, a reason's longer one, a reason without one."""


def random_stream(rng: random.Random, base_s: int, span_s: int, interactions: int, agents: int = 4) -> list[Any]:
    events: list[Any] = []
    counter = 0

    def eid() -> str:
        nonlocal counter
        counter += 1
        return f"e{rng.randrange(10**6):06d}-{counter}"

    for n in range(interactions):
        channel = rng.choice(("call", "sms"))
        queue = rng.choice(QUEUES)
        iid = f"i{n}"
        off_ms = base_s * 1000 + rng.randrange(span_s * 1000)
        agent = f"A{rng.randrange(agents)}"
        if rng.random() < 0.9:
            events.append(InteractionEvent(eid(), off_ms, channel, "offered", iid, queue, None))
            if rng.random() < 0.1:  # a second offered (re-offer with another ts or a tie)
                events.append(
                    InteractionEvent(
                        eid(), off_ms + rng.choice((0, -1500, 2500)), channel, "offered", iid, rng.choice(QUEUES), None
                    )
                )
        roll = rng.random()
        wait_ms = rng.choice((rng.randrange(-3000, 0), rng.randrange(0, 90_000), 20_000, 5_000, 4_999, 60_000))
        if roll < 0.55:
            ans_ms = off_ms + wait_ms
            events.append(InteractionEvent(eid(), ans_ms, channel, "answered", iid, queue, agent))
            if rng.random() < 0.15:  # conflicting abandoned: earliest ts wins
                events.append(
                    InteractionEvent(
                        eid(), ans_ms + rng.choice((-2000, 0, 2000)), channel, "abandoned", iid, queue, None
                    )
                )
            if rng.random() < 0.8:
                handle = rng.choice((rng.randrange(-2000, 0), rng.randrange(0, 600_000)))
                events.append(InteractionEvent(eid(), ans_ms + handle, channel, "completed", iid, queue, agent))
                if rng.random() < 0.1:
                    events.append(
                        InteractionEvent(eid(), ans_ms + handle + 1000, channel, "completed", iid, queue, agent)
                    )
        elif roll < 0.8:
            events.append(InteractionEvent(eid(), off_ms + wait_ms, channel, "abandoned", iid, queue, None))
            if rng.random() < 0.05:  # completed without answered: an orphan
                events.append(InteractionEvent(eid(), off_ms + wait_ms + 1000, channel, "completed", iid, queue, agent))
        # else: still waiting
    for a in range(agents):
        t = base_s * 1000 + rng.randrange(span_s * 500)
        queues = tuple(sorted(rng.sample(QUEUES, rng.randrange(0, 3))))
        for _ in range(rng.randrange(1, 8)):
            state = rng.choice(STATES)
            name = rng.choice((None, f"Agent {a}", f"座席{a}"))
            team = rng.choice((None, "team-1", "组长王"))
            reason = rng.choice(REASONS)
            events.append(AgentStateEvent(eid(), t, f"A{a}", state, queues, name, team, reason))
            if rng.random() < 0.2:  # a repeat of the same state must not reset `since` (another reason neither)
                events.append(AgentStateEvent(eid(), t + 500, f"A{a}", state, queues, None, None, rng.choice(REASONS)))
            t += rng.choice((0, rng.randrange(1, span_s * 1000 // 4 + 2)))
    # Re-sent duplicates (same event_id, same content).
    events.extend(rng.sample(events, len(events) // 10))
    return events


def shuffled_with_duplicates(rng: random.Random, events: list[Any]) -> list[Any]:
    out = list(events) + [rng.choice(events) for _ in range(len(events) // 3)] if events else []
    rng.shuffle(out)
    return out


def partitioned(rng: random.Random, events: list[Any], partitions: int) -> list[Any]:
    """Spread events over partitions at random (so one interaction's events may be split),
    keep each partition's order, then interleave the partitions at random, as a consumer would see them."""
    parts: list[list[Any]] = [[] for _ in range(partitions)]
    for e in events:
        parts[rng.randrange(partitions)].append(e)
    out: list[Any] = []
    while any(parts):
        part = rng.choice([p for p in parts if p])
        take = rng.randrange(1, 4)
        out.extend(part[:take])
        del part[:take]
    return out


def to_json(event: Any, rng: random.Random | None = None) -> bytes:
    """The raw message a producer would send for an event (ts as RFC 3339 or epoch ms, at random)."""
    from datetime import datetime, timedelta, timezone

    body: dict[str, Any] = {"event_id": event.event_id}
    if rng is not None and rng.random() < 0.5:
        body["ts"] = event.ts_ms
    else:
        zone = timezone(timedelta(hours=(rng.choice((8, 0, -5)) if rng else 8)))
        body["ts"] = datetime.fromtimestamp(event.ts_ms / 1000, zone).isoformat(timespec="milliseconds")
    if isinstance(event, InteractionEvent):
        body.update(type=f"{event.channel}.{event.phase}", interaction_id=event.interaction_id, queue=event.queue)
        if event.agent_id is not None:
            body["agent_id"] = event.agent_id
    else:
        body.update(type="agent.state", agent_id=event.agent_id, state=event.state, queues=list(event.queues))
        if event.name is not None:
            body["name"] = event.name
        if event.team is not None:
            body["team"] = event.team
        if event.reason is not None:
            body["reason"] = event.reason
    import json

    return json.dumps(body, ensure_ascii=False).encode()

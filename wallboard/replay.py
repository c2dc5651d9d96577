"""Offline replay: what did the board show at time T, computed from a file of events.

The file holds one raw message per line, in any order; invalid lines are
counted as rejected.  Only events with ``ts <= T`` count.  Valid events are fed
to the engine in timestamp order with the clock following them, so the replay
runs through exactly the code the live board runs, with memory bounded like the
live board's, and gives the answer of a board that never missed an event.

The limits are the live board's too (``[limits]``, docs/events.md "Limits"):
the same contract rejects the same messages, and the same engine refuses what
would make it hold too many queues or agents.  Only at those limits can the
two differ: which queues take the last places is first come, first served,
and the replay's order is ts order, the live board's its arrival order.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path

from wallboard.alerts import AlertBook, measure
from wallboard.engine import Engine
from wallboard.errors import ContractError, WallboardError
from wallboard.events import Event, contract_for, parse_rfc3339_ms
from wallboard.settings import MetricSettings, Settings

SecondHook = Callable[[Engine], None]


def read_lines(path: str | os.PathLike[str]) -> Iterator[bytes]:
    """One raw message per line (a trailing newline or CRLF is not part of it; blank lines are skipped)."""
    with Path(path).open("rb") as fh:
        for line in fh:
            line = line.rstrip(b"\r\n")
            if line:
                yield line


def replay(
    lines: Iterable[bytes], settings: MetricSettings, at_s: int, *, every_second: SecondHook | None = None
) -> Engine:
    """An engine holding the board's state at ``at_s`` (Unix seconds) from the given raw messages.

    ``every_second(engine)`` is called at each whole second from the first
    event's to ``at_s``, once the events of that second are applied and the
    clock is on it: what a board ticking every second saw (the alerts' fold).
    """
    events: list[Event] = []
    rejected: dict[str, int] = {}
    parse = contract_for(settings.limits).parse
    for raw in lines:
        try:
            event = parse(raw)
        except ContractError as exc:
            rejected[exc.reason] = rejected.get(exc.reason, 0) + 1
            continue
        if event.ts_ms // 1000 <= at_s:
            events.append(event)
    events.sort(key=lambda e: (e.ts_ms, e.event_id))
    start = events[0].ts_ms // 1000 if events else at_s
    engine = Engine(settings, min(start, at_s))
    for reason, count in rejected.items():
        engine.reject(reason, count)
    if every_second is None:
        for event in events:
            second = event.ts_ms // 1000
            if second > engine.now:
                engine.advance(second)
            engine.apply(event)
        engine.advance(at_s)
        return engine
    i = 0
    for second in range(engine.now, at_s + 1):
        engine.advance(second)
        while i < len(events) and events[i].ts_ms // 1000 <= second:
            engine.apply(events[i])
            i += 1
        every_second(engine)
    return engine


def replay_alerts(lines: Iterable[bytes], settings: Settings, at_s: int) -> tuple[Engine, AlertBook]:
    """The engine at ``at_s`` and the alerts then, folded over every second of the events (docs/alerts.md).

    The snapshot is built again only when the engine's state, the day, the
    interval or the agents past their limit changed (the live board's state
    key); between two such changes only the longest wait moves, and
    ``alerts.measure`` takes it at each second.
    """
    book = AlertBook(settings.alerts.rules)
    rules = settings.alerts.rules
    cache: list[object] = [None, None]

    def evaluate(engine: Engine) -> None:
        now = engine.now
        day = engine.days.day_of(now)
        key = (engine.version, day.start, (now - day.start) // settings.metrics.interval, engine.limit_crossings())
        if cache[0] != key:
            cache[0], cache[1] = key, engine.snapshot()
        book.evaluate(now, measure(cache[1], rules, now))  # type: ignore[arg-type]

    engine = replay(lines, settings.metrics, at_s, every_second=evaluate if rules else None)
    return engine, book


def parse_time(text: str, settings: MetricSettings) -> int:
    """A --at value: RFC 3339 with offset, a local date-time (in the configured zone), or Unix seconds."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        return parse_rfc3339_ms(text) // 1000
    except ContractError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise WallboardError(
            f"--at {text!r} is not a time (use 2026-11-29T10:15:00+08:00 or 2026-11-29T10:15)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=settings.zone)
    return int(moment.timestamp())

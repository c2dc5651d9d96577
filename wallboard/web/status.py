"""What the board says about itself: staleness, ``/healthz``, ``/readyz``, the scrape figures.

Pure functions of the statuses (the source's, the engine's, the live board's
tasks), the rules in force (``Freshness``) and the clock, so that every rule
here is tested without a server or a source.  ``Live`` (wallboard/web/live.py)
gathers the statuses and calls these; the state of the data is decided here,
once, for the messages and the JSON API alike: a board must never show old
numbers as fresh, nor turn red because nothing happened (docs/board.md
"Staleness").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from wallboard.settings import WEEKDAYS, Settings, opening_minutes
from wallboard.sources.base import SourceStatus
from wallboard.web.metrics import Scrape
from wallboard.wire import (
    ControlBlock,
    EngineStatus,
    Health,
    PumpState,
    Readiness,
    SourceBlock,
    SourceState,
    StaleReason,
)

QUIET_AFTER_S = 60.0
"""A feed read to its end with no event for this long is *quiet*: the page says when the last event was."""


@dataclass(frozen=True)
class Freshness:
    """The rules that tell fresh, quiet, stale and waiting apart (``[web]``; docs/board.md "Staleness")."""

    stale_after: float
    """Seconds the source may go without being read to its end before the data is stale (``lagging``)."""
    silence_alarm: float = 0.0
    """Seconds without any event, while open, before the data is stale (``no_recent_events``); 0: off."""
    opening: tuple[int, int] = (0, 1440)
    """Opening and closing, minutes after local midnight; closing before opening runs past midnight."""
    days: frozenset[int] = field(default_factory=lambda: frozenset(range(7)))
    """Weekdays (Monday 0) on which an opening begins."""
    zone: tzinfo = UTC
    """The centre's time zone, for the opening hours."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Freshness:
        web = settings.web
        return cls(
            stale_after=web.stale_after,
            silence_alarm=web.silence_alarm,
            opening=opening_minutes(web.opening_hours),
            days=frozenset(WEEKDAYS.index(d) for d in web.opening_days),
            zone=settings.metrics.zone,
        )


def open_since(now: float, rules: Freshness) -> float | None:
    """When the opening that ``now`` falls in began (Unix seconds), or None while closed.

    Wall-clock times in the centre's zone: on a day of 23 or 25 hours "08:00-20:00" is still 08:00 to 20:00.
    An opening past midnight ("22:00-06:00") belongs to the day it begins on.
    """
    opens, closes = rules.opening
    local = datetime.fromtimestamp(now, rules.zone)
    for back in (0, 1):
        day = local.date() - timedelta(days=back)
        if day.weekday() not in rules.days:
            continue
        midnight = datetime(day.year, day.month, day.day, tzinfo=rules.zone)
        start = midnight + timedelta(minutes=opens)
        end = midnight + timedelta(minutes=closes if closes > opens else closes + 1440)
        if start.timestamp() <= now < end.timestamp():
            return start.timestamp()
    return None


@dataclass(frozen=True)
class Tasks:
    """How the live board's own tasks are doing: the pump (source -> engine) and the tick."""

    pump_state: PumpState
    pump_error: str | None = None
    """The pump's failure, as text, once it died."""
    tick_error: str | None = None
    """The last tick's failure, as text, while ticks fail."""


def last_event_age(now: float, last_event_ts: str | None) -> float | None:
    """Server clock minus the ts of the newest event applied (``EngineStatus.last_event_ts``); None before the first."""
    if last_event_ts is None:
        return None
    return max(0.0, round(now - datetime.fromisoformat(last_event_ts).timestamp(), 3))


def source_block(
    now: float, source: SourceStatus, last_event_ts: str | None, tasks: Tasks, rules: Freshness
) -> SourceBlock:
    """The ``source`` object of the messages and the API: the source's own status, the state and its reason.

    ``state`` is ``waiting`` until there are numbers to show (the source has not caught up, or no event
    was ever read), whatever else is wrong; then ``stale`` while there is a ``stale_reason``; then ``quiet``
    when the feed is read to its end and the newest event is ``QUIET_AFTER_S`` old; else ``fresh``.
    ``stale`` is true whenever there is a ``stale_reason`` (while waiting too: the broker never reached).
    """
    age = last_event_age(now, last_event_ts)
    reason: StaleReason | None = None
    if tasks.pump_state == "failed":
        reason = "pump_failed"
    elif tasks.tick_error is not None:
        reason = "tick_failed"
    elif not source.connected:
        reason = "disconnected"
    elif source.ready and source.current_at is not None and now - source.current_at > rules.stale_after:
        reason = "lagging"
    elif source.ready and last_event_ts is not None and silent(now, last_event_ts, rules):
        reason = "no_recent_events"
    state: SourceState
    if not source.ready or age is None:
        state = "waiting"
    elif reason is not None:
        state = "stale"
    elif age >= QUIET_AFTER_S and source.lag == 0:
        state = "quiet"
    else:
        state = "fresh"
    return {
        "kind": source.kind,
        "state": state,
        "ready": source.ready,
        "connected": source.connected,
        "stale": reason is not None,
        "stale_reason": reason,
        "last_event_age_s": age,
        "lag": source.lag,
        "catch_up": source.catch_up,
        "last_error": tasks.pump_error or tasks.tick_error or source.last_error,
    }


def silent(now: float, last_event_ts: str, rules: Freshness) -> bool:
    """The silence alarm: open, and no event for ``silence_alarm`` seconds counted from the opening at the earliest.

    Counted from the opening, so that the first minutes of the day are not red for last night's silence.
    """
    if rules.silence_alarm <= 0:
        return False
    since = open_since(now, rules)
    if since is None:
        return False
    last = datetime.fromisoformat(last_event_ts).timestamp()
    return now - max(last, since) > rules.silence_alarm


def health(tasks: Tasks) -> tuple[bool, Health]:
    """/healthz: fails once the source cannot go on, so that systemd or Kubernetes restarts the process.

    A source retries by itself what a retry can fix (a broker outage keeps
    /healthz at 200 while the board shows stale data); a pump that died
    will not come back without a restart, which replays the log afresh.
    """
    if tasks.pump_state == "failed":
        return False, {"status": "failed", "reason": "source_failed", "error": tasks.pump_error}
    return True, {"status": "ok"}


def readiness(block: SourceBlock, tasks: Tasks, control: ControlBlock) -> tuple[bool, Readiness]:
    """/readyz: ready when the source and the control records have caught up and the pump and the tick work.

    ``block``: ``source_block``.  The control records must have been read to
    their end once, so that no screen is served without the broadcast every
    other instance shows; a later disconnection of the control topic is told
    (``control.connected``, ``control.last_error``) but keeps the numbers served.
    """
    reasons = []
    if not block["ready"]:
        reasons.append("source_not_ready")
    if not control["ready"]:
        reasons.append("control_not_ready")
    if tasks.pump_state == "failed":
        reasons.append("pump_failed")
    if tasks.tick_error is not None:
        reasons.append("tick_failed")
    return not reasons, {
        "ready": not reasons,
        "reasons": reasons,
        "catch_up": block["catch_up"],
        "pump": tasks.pump_state,
        "source": block,
        "control": control,
    }


def scrape(
    now: float,
    engine: EngineStatus,
    source: SourceStatus,
    tasks: Tasks,
    rules: Freshness,
    *,
    clients: int,
    seq: int,
    direct_writes: int,
) -> Scrape:
    """The figures /metrics reads at scrape time (``clients``, ``direct_writes``: the hub's; ``seq``: the tick's)."""
    block = source_block(now, source, engine["last_event_ts"], tasks, rules)
    return {
        "events": engine["events"],
        "rejected": engine["rejected"],
        "duplicates": engine["duplicates"],
        "orphans": engine["orphans"],
        "too_late": engine["too_late"],
        "lag": source.lag,
        "ready": int(source.ready),
        "connected": int(source.connected),
        "stale": int(block["stale"]),
        "catch_up": source.catch_up,
        "pump_up": int(tasks.pump_state in ("starting", "running")),
        "clients": clients,
        "last_event_age_s": block["last_event_age_s"],
        "seq": seq,
        "direct_writes": direct_writes,
    }

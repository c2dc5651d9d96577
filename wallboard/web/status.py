"""What the board says about itself: staleness, ``/healthz``, ``/readyz``, the scrape figures.

Pure functions of the statuses (the source's, the engine's, the live board's
tasks) and the clock, so that every rule here is tested without a server or a
source.  ``Live`` (wallboard/web/live.py) gathers the statuses and calls these;
staleness is decided here, once, for the messages and the JSON API alike: a
board must never show old numbers as fresh (docs/board.md "Staleness").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from wallboard.sources.base import SourceStatus
from wallboard.web.metrics import Scrape
from wallboard.wire import EngineStatus, Health, PumpState, Readiness, SourceBlock, StaleReason


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
    now: float, source: SourceStatus, last_event_ts: str | None, tasks: Tasks, stale_after: float
) -> SourceBlock:
    """The ``source`` object of the messages and the API: the source's own status plus staleness."""
    age = last_event_age(now, last_event_ts)
    reason: StaleReason | None = None
    if tasks.pump_state == "failed":
        reason = "pump_failed"
    elif tasks.tick_error is not None:
        reason = "tick_failed"
    elif not source.connected:
        reason = "disconnected"
    elif source.ready and age is not None and age > stale_after:
        reason = "no_recent_events"
    return {
        "kind": source.kind,
        "ready": source.ready,
        "connected": source.connected,
        "stale": reason is not None,
        "stale_reason": reason,
        "last_event_age_s": age,
        "lag": source.lag,
        "catch_up": source.catch_up,
        "last_error": tasks.pump_error or tasks.tick_error or source.last_error,
    }


def health(tasks: Tasks) -> tuple[bool, Health]:
    """/healthz: fails once the source cannot go on, so that systemd or Kubernetes restarts the process.

    A source retries by itself what a retry can fix (a broker outage keeps
    /healthz at 200 while the board shows stale data); a pump that died
    will not come back without a restart, which replays the log afresh.
    """
    if tasks.pump_state == "failed":
        return False, {"status": "failed", "reason": "source_failed", "error": tasks.pump_error}
    return True, {"status": "ok"}


def readiness(block: SourceBlock, tasks: Tasks) -> tuple[bool, Readiness]:
    """/readyz: ready when the source has caught up and the pump and the tick work (``block``: ``source_block``)."""
    reasons = []
    if not block["ready"]:
        reasons.append("source_not_ready")
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
    }


def scrape(
    now: float,
    engine: EngineStatus,
    source: SourceStatus,
    tasks: Tasks,
    stale_after: float,
    *,
    clients: int,
    seq: int,
    direct_writes: int,
) -> Scrape:
    """The figures /metrics reads at scrape time (``clients``, ``direct_writes``: the hub's; ``seq``: the tick's)."""
    block = source_block(now, source, engine["last_event_ts"], tasks, stale_after)
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

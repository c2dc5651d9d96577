"""Colour levels: a snapshot's views and the settings -> ``"ok"``, ``"warn"`` or ``"alarm"``.

The server decides which colour a number gets (docs/board.md "Colours",
docs/metrics.md "Levels"), once, for every page and every integration; the
pages only map a level to a CSS class.  Pure functions of the view and the
settings in force, no clock.  Every number is compared as the board shows it
(docs/board.md "Rounding"), so that a colour never disagrees with its figure.

Per channel view (a queue's, the totals' or a selection's), ``levels``:

* ``waiting``: ok below ``waiting_warn``, warn from it, alarm from ``waiting_alarm``.
* ``longest_wait_s``: the same with ``longest_wait_warn`` / ``longest_wait_alarm``,
  on whole seconds (floored, as the board ticks it).  The wait keeps growing
  between pushes, so the view also gets its schedule: ``longest_wait_steps``,
  the instants from which the ticking wait has each level.
* ``window.service_level``, ``today.service_level``: in whole percent rounded
  half up: ok at or above ``sl_target``, warn up to ``sl_warn_margin`` below
  it, alarm further below.
* ``window.abandon_rate``, ``today.abandon_rate``: in whole percent rounded half
  up, warn from ``abandon_rate_warn``, alarm from ``abandon_rate_alarm``.
* ``window.asa_s``, ``today.asa_s`` and ``window.aht_s``, ``today.aht_s``: in
  whole seconds rounded half up, against ``asa_warn`` / ``asa_alarm`` and
  ``aht_warn`` / ``aht_alarm``.  A limit of 0 is off (AHT's are, by default):
  with both off the number has no level.

Per queue, the totals and a selection (what is not per channel), ``levels``:

* ``agents.available``: the agents available against the customers waiting in
  every channel of the same queues: alarm when some wait and nobody is
  available, warn when fewer are available than wait, else ok.

An undefined value (``None``) has no level (``None``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from wallboard.settings import ChannelSettings, MetricSettings
from wallboard.wire import (
    AgentCounts,
    ChannelLevels,
    ChannelView,
    Level,
    LongestWaitStep,
    Period,
    PeriodLevels,
    QueueLevels,
    SelectionView,
    Snapshot,
)

LEVELS: tuple[Level, ...] = ("ok", "warn", "alarm")
"""Every level, least urgent first (the pages' CSS classes: ``.tile[data-level=warn]``...)."""


def round_half_up(x: float) -> int:
    """The nearest integer, halves up: what the pages' ``Math.round`` shows (0.945 * 100 -> 95, -0.5 -> 0)."""
    whole = math.floor(x)
    return whole + 1 if x - whole >= 0.5 else whole


def _defined(value: object) -> bool:
    # A bool is not a number here (type(), not isinstance, for int: bool is one of its subclasses).
    return type(value) is int or (isinstance(value, float) and math.isfinite(value))


def above(value: float | None, warn: float, alarm: float) -> Level | None:
    """Level of a "bigger is worse" number: alarm from ``alarm``, warn from ``warn``, else ok; None if undefined."""
    if value is None or not _defined(value):
        return None
    if value >= alarm:
        return "alarm"
    if value >= warn:
        return "warn"
    return "ok"


def service_level(value: float | None, target: float, margin: float) -> Level | None:
    """Level of a service level (0..1), compared in the whole percent the board shows.

    The target and margin are taken to hundredths of a percent (0.855 -> 85.5),
    so a target of 0.80 makes ``80%`` ok even for 0.7996, and ``79%`` (0.7949) warn.
    """
    if value is None or not _defined(value):
        return None
    shown = round_half_up(value * 100)
    goal = round_half_up(target * 10000) / 100
    band = round_half_up(margin * 10000) / 100
    if shown >= goal:
        return "ok"
    if shown >= goal - band:
        return "warn"
    return "alarm"


def _limit(limit: float, scale: float) -> float | None:
    """A colour limit in the unit compared (to hundredths of it), or None when it is 0 (off)."""
    return None if limit <= 0 else round_half_up(limit * scale * 100) / 100


def _shown_above(shown: int, warn: float | None, alarm: float | None) -> Level | None:
    """The level of a shown number against limits in the same unit (None: off); None when both are off."""
    if warn is None and alarm is None:
        return None
    if alarm is not None and shown >= alarm:
        return "alarm"
    if warn is not None and shown >= warn:
        return "warn"
    return "ok"


def percent_above(value: float | None, warn: float, alarm: float) -> Level | None:
    """Level of a "bigger is worse" rate (0..1), compared in the whole percent the board shows.

    The limits are taken to hundredths of a percent (0.055 -> 5.5), as for the
    service level: with a warn limit of 0.05, 0.0449 shows ``4%`` and is ok,
    0.045 shows ``5%`` and is warn.  A limit of 0 is off.
    """
    if value is None or not _defined(value):
        return None
    return _shown_above(round_half_up(value * 100), _limit(warn, 100), _limit(alarm, 100))


def seconds_above(value: float | None, warn: float, alarm: float) -> Level | None:
    """Level of a duration (ASA, AHT), compared in the whole seconds the board shows (half up); a limit of 0 is off."""
    if value is None or not _defined(value):
        return None
    return _shown_above(round_half_up(max(0.0, value)), _limit(warn, 1), _limit(alarm, 1))


def available(agents: int | None, waiting: int | None) -> Level | None:
    """Level of the available agents against the customers waiting for them.

    Nobody waiting: ok (a fully busy room with no queue is the goal).  Some
    waiting: alarm when nobody is available, warn when fewer are available than
    wait (those will not all be taken at the next routing), ok otherwise.
    """
    if agents is None or waiting is None or not _defined(agents) or not _defined(waiting):
        return None
    if waiting <= 0:
        return "ok"
    if agents <= 0:
        return "alarm"
    return "warn" if agents < waiting else "ok"


def longest_wait(seconds: float | None, cs: ChannelSettings) -> Level | None:
    """Level of a longest wait, on the whole seconds the board shows."""
    if seconds is None or not _defined(seconds):
        return None
    return above(math.floor(seconds), cs.longest_wait_warn, cs.longest_wait_alarm)


def longest_wait_steps(since: str | None, cs: ChannelSettings) -> list[LongestWaitStep] | None:
    """When the ticking longest wait takes each level: ``[{"from": RFC 3339, "level": L}, ...]``, in time order.

    ``since`` is the view's ``longest_wait_since`` (the offered ts of the oldest
    waiting interaction).  The wait shown at instant T is ``floor(T - since)``
    seconds, so it reaches a limit of L seconds at ``since + ceil(L)``.  The
    first step is ``since`` itself; the level at T is that of the last step at
    or before T.  None when nothing waits.
    """
    if since is None:
        return None
    start = datetime.fromisoformat(since)
    marks = sorted({0, *(max(0, math.ceil(limit)) for limit in (cs.longest_wait_warn, cs.longest_wait_alarm))})
    steps: list[LongestWaitStep] = []
    previous: Level | None = None
    for mark in marks:
        level = above(mark, cs.longest_wait_warn, cs.longest_wait_alarm)
        if level is not None and level != previous:
            at = start + timedelta(seconds=mark)
            steps.append({"from": at.isoformat(timespec="milliseconds"), "level": level})
            previous = level
    return steps


def channel_levels(view: ChannelView, cs: ChannelSettings) -> ChannelLevels:
    """The ``levels`` object of one channel view (a queue's, the totals' or a selection's).

    Its keys follow the view's own: ``waiting``, ``longest_wait_s``, and in
    ``window`` and ``today`` each rate; plus ``longest_wait_steps``.
    """
    return {
        "waiting": above(view.get("waiting"), cs.waiting_warn, cs.waiting_alarm),
        "longest_wait_s": longest_wait(view.get("longest_wait_s"), cs),
        "longest_wait_steps": longest_wait_steps(view.get("longest_wait_since"), cs),
        "window": period_levels(view.get("window"), cs),
        "today": period_levels(view.get("today"), cs),
    }


def period_levels(period: Period | None, cs: ChannelSettings) -> PeriodLevels:
    """The levels of a period's rates (all None for a view without that period)."""
    p: Period | dict[str, None] = {} if period is None else period
    return {
        "service_level": service_level(p.get("service_level"), cs.sl_target, cs.sl_warn_margin),
        "asa_s": seconds_above(p.get("asa_s"), cs.asa_warn, cs.asa_alarm),
        "aht_s": seconds_above(p.get("aht_s"), cs.aht_warn, cs.aht_alarm),
        "abandon_rate": percent_above(p.get("abandon_rate"), cs.abandon_rate_warn, cs.abandon_rate_alarm),
    }


def queue_levels(agents: AgentCounts | None, channels: Mapping[str, ChannelView] | None) -> QueueLevels:
    """The ``levels`` of a queue, the totals or a selection: its agents against its waiting, all channels."""
    waiting = None if channels is None else sum(view["waiting"] for view in channels.values())
    return {"agents": {"available": available(None if agents is None else agents.get("available"), waiting)}}


def add_levels(snapshot: Snapshot, metrics: MetricSettings) -> Snapshot:
    """Put ``levels`` into every channel view and every queue of a snapshot (in place), each queue with its own limits.

    The totals use each channel's limits (docs/board.md: a board showing all
    queues uses the channel's limits).  Returns the snapshot.
    """
    for queue, node in snapshot["queues"].items():
        for channel, view in node["channels"].items():
            view["levels"] = channel_levels(view, metrics.channel(queue, channel))
        node["levels"] = queue_levels(node["agents"], node["channels"])
    totals = snapshot["totals"]
    for channel, view in totals["channels"].items():
        view["levels"] = channel_levels(view, metrics.channels[channel])
    totals["levels"] = queue_levels(totals["agents"], totals["channels"])
    return snapshot


def add_selection_levels(selection: SelectionView, metrics: MetricSettings) -> SelectionView:
    """Put ``levels`` into a selection's channel views and beside them, and the ``settings`` in force (in place).

    One queue is coloured with its own limits, several with the channel's
    (the rule of ``MetricSettings.for_queues``, which also picked the formula).
    """
    found: Sequence[str] = selection["queues"]
    settings = {ch: metrics.for_queues(found, ch) for ch in metrics.channels}
    channels = selection.get("channels")
    if channels is not None:
        for channel, view in channels.items():
            view["levels"] = channel_levels(view, settings[channel])
    selection["levels"] = queue_levels(selection.get("agents"), channels)
    selection["settings"] = {ch: dataclasses.asdict(cs) for ch, cs in settings.items()}
    return selection

"""Colour levels: a snapshot's channel views and the settings -> ``"ok"``, ``"warn"`` or ``"alarm"``.

The server decides which colour a number gets (docs/board.md "Colours"), once,
for every page and every integration; the pages only map a level to a CSS
class.  Pure functions of the view and the settings in force, no clock.

* ``waiting``: ok below ``waiting_warn``, warn from it, alarm from ``waiting_alarm``.
* ``longest_wait_s``: the same with ``longest_wait_warn`` / ``longest_wait_alarm``,
  on whole seconds (floored, as the board ticks it).  The wait keeps growing
  between pushes, so the view also gets its schedule: ``longest_wait_steps``,
  the instants from which the ticking wait has each level.
* ``window.service_level``, ``today.service_level``: compared as the board
  shows them, in whole percent rounded half up, so that the colour always
  agrees with the number on the screen: ok at or above ``sl_target``, warn up
  to ``sl_warn_margin`` below it, alarm further below.
* An undefined value (``None``) has no level (``None``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from wallboard.settings import ChannelSettings, MetricSettings
from wallboard.wire import ChannelLevels, ChannelView, Level, LongestWaitStep, Period, SelectionView, Snapshot

LEVELS: tuple[Level, ...] = ("ok", "warn", "alarm")
"""Every level, least urgent first (the pages' CSS classes: ``.tile[data-level=warn]``...)."""


def round_half_up(x: float) -> int:
    """The nearest integer, halves up: what the pages' ``Math.round`` shows (0.945 * 100 -> 95, -0.5 -> 0)."""
    whole = math.floor(x)
    return whole + 1 if x - whole >= 0.5 else whole


def _defined(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


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

    Its keys follow the view's own: ``waiting``, ``longest_wait_s``,
    ``window.service_level``, ``today.service_level``; plus ``longest_wait_steps``.
    """
    window = view.get("window")
    today = view.get("today")
    return {
        "waiting": above(view.get("waiting"), cs.waiting_warn, cs.waiting_alarm),
        "longest_wait_s": longest_wait(view.get("longest_wait_s"), cs),
        "longest_wait_steps": longest_wait_steps(view.get("longest_wait_since"), cs),
        "window": {"service_level": _service_level(window, cs)},
        "today": {"service_level": _service_level(today, cs)},
    }


def _service_level(period: Period | None, cs: ChannelSettings) -> Level | None:
    return None if period is None else service_level(period.get("service_level"), cs.sl_target, cs.sl_warn_margin)


def add_levels(snapshot: Snapshot, metrics: MetricSettings) -> Snapshot:
    """Put ``levels`` into every channel view of a snapshot (in place), each queue with its own limits.

    The totals use each channel's limits (docs/board.md: a board showing all
    queues uses the channel's limits).  Returns the snapshot.
    """
    for queue, node in snapshot["queues"].items():
        for channel, view in node["channels"].items():
            view["levels"] = channel_levels(view, metrics.channel(queue, channel))
    for channel, view in snapshot["totals"]["channels"].items():
        view["levels"] = channel_levels(view, metrics.channels[channel])
    for group in snapshot["groups"].values():
        add_selection_levels(group, metrics)  # a group is a selection: the rule of for_queues
    return snapshot


def add_selection_levels(selection: SelectionView, metrics: MetricSettings) -> SelectionView:
    """Put ``levels`` into a selection's channel views, and the ``settings`` in force beside them (in place).

    One queue is coloured with its own limits, several with the channel's
    (the rule of ``MetricSettings.for_queues``, which also picked the formula).
    """
    found: Sequence[str] = selection["queues"]
    settings = {ch: metrics.for_queues(found, ch) for ch in metrics.channels}
    channels = selection.get("channels")
    if channels is not None:
        for channel, view in channels.items():
            view["levels"] = channel_levels(view, settings[channel])
    selection["settings"] = {ch: dataclasses.asdict(cs) for ch, cs in settings.items()}
    return selection

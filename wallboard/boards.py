"""Named boards (docs/board.md "Named boards"): what ``/tv/NAME`` shows, shaped on the server.

A board (``[boards.NAME]``) shows some groups (``[groups."NAME"]``) and some
queues.  Its ``grid`` layout is one row per group and queue, each the engine's
selection of its queues (``wallboard.views.selection``: exact sums of the
counters, an agent serving several queues counted once) with the levels of
``wallboard.levels``; its ``channels`` layout is the /tv panels over the sum
of every queue it shows.

A row's ``level`` is the worst level anywhere in its views' ``levels`` (the
channel views', and any other a later version adds): every key, at any depth,
so that a level the levels module adds later counts without a change here.
The longest wait keeps growing between pushes: its schedule
(``longest_wait_steps``) counts at the level it has at each instant,
and the row gets a schedule of its own, ``level_steps``, from which the page
colours (and, ordered worst first, sorts) the row as the wait ticks.

Pure: no I/O, no clock of its own (the engine's).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from wallboard.engine import Engine
from wallboard.levels import LEVELS, add_selection_levels
from wallboard.settings import BoardSettings, MetricSettings
from wallboard.views import selection, selections
from wallboard.wire import BoardRow, BoardView, Level, LongestWaitStep

RANK: Mapping[Level | None, int] = {None: 0, "ok": 1, "warn": 2, "alarm": 3}
"""How urgent a level is (None: no level, below ok)."""
STEPS_KEY = "longest_wait_steps"
TICKING_KEY = "longest_wait_s"
"""The level that ``longest_wait_steps`` schedules: replaced by the schedule's level at each instant."""


def worse(a: Level | None, b: Level | None) -> Level | None:
    """The more urgent of two levels."""
    return a if RANK[a] >= RANK[b] else b


def step_at(steps: Iterable[LongestWaitStep], at: datetime) -> Level | None:
    """The level of a schedule at ``at``: that of its last step at or before it (None before the first)."""
    level: Level | None = None
    for step in steps:
        if datetime.fromisoformat(step["from"]) <= at:
            level = step["level"]
    return level


def worst_level(levels: object, at: datetime | None = None) -> Level | None:
    """The worst level anywhere in ``levels`` (nested objects and lists, any key).

    ``longest_wait_steps`` counts as its level at ``at``, and the
    ``longest_wait_s`` beside it is then left out (the schedule says the
    same, for any instant); without ``at`` the schedule is left out.
    """
    worst: Level | None = None
    if isinstance(levels, Mapping):
        scheduled = at is not None and isinstance(levels.get(STEPS_KEY), list)
        for key, value in levels.items():
            if key == STEPS_KEY:
                if scheduled and at is not None:
                    worst = worse(worst, step_at(value, at))
            elif not (scheduled and key == TICKING_KEY):
                worst = worse(worst, worst_level(value, at))
    elif isinstance(levels, list):
        for value in levels:
            worst = worse(worst, worst_level(value, at))
    elif isinstance(levels, str) and levels in LEVELS:
        worst = levels
    return worst


def levels_in(view: object) -> list[Mapping[str, object]]:
    """Every ``levels`` object anywhere in a view (its channel views', and any a later version adds elsewhere)."""
    found: list[Mapping[str, object]] = []
    if isinstance(view, Mapping):
        for key, value in view.items():
            if key == "levels" and isinstance(value, Mapping):
                found.append(value)
            elif key != "settings":
                found += levels_in(value)
    elif isinstance(view, list):
        for value in view:
            found += levels_in(value)
    return found


def level_schedule(view: object, as_of: str) -> list[LongestWaitStep]:
    """When a row takes each of its levels from ``as_of`` on, as the longest waits tick: ``[{"from", "level"}]``.

    ``view``: the row's views (a selection block); every ``levels`` object in
    it counts.  The first step is ``as_of`` itself (the level the row has in
    this message); the next ones are where a longest wait's schedule makes
    the row worse.  Empty when the row has no level at all (nothing known).
    """
    blocks = levels_in(view)
    start = datetime.fromisoformat(as_of)
    marks = sorted(
        {
            datetime.fromisoformat(step["from"])
            for levels in blocks
            for step in _steps(levels.get(STEPS_KEY))
            if datetime.fromisoformat(step["from"]) > start
        }
    )
    steps: list[LongestWaitStep] = []
    previous: Level | None = None
    for mark in [start, *marks]:
        level = worst_level(blocks, mark)
        if level is not None and level != previous:
            steps.append({"from": mark.isoformat(timespec="milliseconds"), "level": level})
            previous = level
    return steps


def _steps(value: object) -> list[LongestWaitStep]:
    return value if isinstance(value, list) else []


def rows_of(board: BoardSettings, metrics: MetricSettings) -> list[tuple[str, str, tuple[str, ...]]]:
    """(kind, name, queues) of each row as listed: the groups first, then the queues."""
    out = [("group", name, metrics.groups[name].queues) for name in board.groups]
    out += [("queue", name, (name,)) for name in board.queues]
    return out


def board_view(engine: Engine, name: str, board: BoardSettings) -> BoardView:
    """What a board's clients are sent (without the message's head and status): its rows, or its sum."""
    metrics = engine.settings
    as_of = engine.days.iso(engine.now)
    rows: list[BoardRow] = []
    total = None
    listed = rows_of(board, metrics)
    if board.layout == "grid":
        found = selections(engine, [queues for _, _, queues in listed])  # one pass over the agents for all rows
        for position, ((kind, row_name, _), sel) in enumerate(zip(listed, found, strict=True)):
            add_selection_levels(sel, metrics)
            del sel["settings"]  # the pages colour from the levels; the settings are in hello.settings
            steps = level_schedule(sel, as_of)
            row: BoardRow = {
                "kind": "group" if kind == "group" else "queue",
                "name": row_name,
                "position": position,
                "queues": sel["queues"],
                "missing": sel["missing"],
                "channels": sel["channels"],
                "agents": sel["agents"],
                "level": steps[0]["level"] if steps else None,
                "level_steps": steps,
            }
            if "levels" in sel:
                row["levels"] = sel["levels"]
            rows.append(row)
        if board.order == "worst_first":
            rows.sort(key=lambda row: (-RANK[row["level"]], row["position"]))
    else:
        every = list(dict.fromkeys(q for _, _, queues in listed for q in queues))
        total = add_selection_levels(selection(engine, every), metrics)
    return {
        "name": name,
        "title": title(name, board),
        "layout": board.layout,
        "order": board.order,
        "rows_per_page": board.rows_per_page,
        "rotate_s": board.rotate_s,
        "groups": list(board.groups),
        "queues": list(board.queues),
        "rows": rows,
        "total": total,
    }


def title(name: str, board: BoardSettings) -> dict[str, str]:
    """The header's title per page language: each language's own, else the other's, else the board's name."""
    zh = board.title_zh or board.title_en or name
    en = board.title_en or board.title_zh or name
    return {"zh-CN": zh, "en": en}

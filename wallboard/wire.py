"""The wire format: the JSON objects the server sends, as TypedDicts.

docs/metrics.md describes the views, docs/protocol.md the WebSocket messages
and docs/api.md the HTTP answers; these types say the same to mypy.  The engine
builds the views, wallboard/levels.py adds their colours, wallboard/web/live.py
wraps them in messages with the ``source`` block: with these types every key is
checked on its way across those modules.  At run time they are plain dicts
(orjson writes them as they are, and the compiled engine builds them as dicts).
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

Level = Literal["ok", "warn", "alarm"]
"""A colour level (docs/board.md "Colours"): the pages' CSS ``data-level``."""
AgentCounts = dict[str, int]
"""Agents per state, every state of ``wallboard.events.AGENT_STATES`` present (``agents_over_limit``: every
state with a limit in ``[agent_limits]``, none when no limit is set)."""
PumpState = Literal["starting", "running", "finished", "failed"]
StaleReason = Literal["pump_failed", "tick_failed", "disconnected", "lagging", "no_recent_events"]
SourceState = Literal["waiting", "fresh", "quiet", "stale"]
"""What the numbers are worth (docs/board.md "Staleness"): none yet, current, current but nothing new, not known."""


# ------------------------------------------------------------------ views


class Period(TypedDict):
    """One period (window, today, an interval) of some queues and one channel: counts, then rates."""

    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    answered_in_sl: int
    abandoned_in_sl: int
    completed: int
    service_level: float | None
    asa_s: float | None
    aht_s: float | None
    abandon_rate: float | None


class PeriodLevels(TypedDict):
    """The levels of a period's rates (its keys follow the period's own); None: undefined, or that limit off."""

    service_level: Level | None
    asa_s: Level | None
    aht_s: Level | None
    abandon_rate: Level | None


LongestWaitStep = TypedDict("LongestWaitStep", {"from": str, "level": Level})
"""From this instant (RFC 3339) the ticking longest wait has this level."""


class ChannelLevels(TypedDict):
    """The ``levels`` of a channel view: its keys follow the view's own."""

    waiting: Level | None
    longest_wait_s: Level | None
    longest_wait_steps: list[LongestWaitStep] | None
    window: PeriodLevels
    today: PeriodLevels


class ChannelView(TypedDict):
    """One channel of a queue, of the totals or of a selection, at the engine clock."""

    waiting: int
    longest_wait_s: float | None
    longest_wait_since: str | None
    in_progress: int
    window: Period
    today: Period
    levels: NotRequired[ChannelLevels]
    """Added by wallboard/levels.py before the view is sent."""


class AgentLevels(TypedDict):
    available: Level | None
    """Available agents against the customers waiting in every channel of the same queues."""


class QueueLevels(TypedDict):
    """The ``levels`` of a queue, of the totals or of a selection: what is not per channel (its agents)."""

    agents: AgentLevels


class QueueView(TypedDict):
    """One queue of the snapshot, or the totals of all of them."""

    channels: dict[str, ChannelView]
    agents: AgentCounts
    agents_over_limit: AgentCounts
    """Agents in their state longer than its limit ([agent_limits]), by state."""
    levels: NotRequired[QueueLevels]
    """Added by wallboard/levels.py before the view is sent."""


class EngineStatus(TypedDict):
    """Ingestion figures of the engine (since it started, not since midnight)."""

    events: int
    rejected: dict[str, int]
    duplicates: int
    orphans: int
    too_late: int
    future_held: int
    last_event_ts: str | None
    held_interactions: int
    held_agent_events: int
    held_queues: int
    held_agents: int


class ViewHead(TypedDict):
    as_of: str
    timezone: str
    window_s: int


class Summary(ViewHead):
    """The ``summary`` view: the snapshot without its queues."""

    totals: QueueView
    status: EngineStatus


class Snapshot(Summary):
    """The ``snapshot`` view (metrics.md "Snapshot")."""

    queues: dict[str, QueueView]
    groups: dict[str, SelectionView]
    """The configured groups (metrics.md "Groups"), each shaped as a selection."""


class SelectionView(TypedDict):
    """Some queues added up (``Engine.selection``); ``channels`` and ``agents`` are None when none is found."""

    queues: list[str]
    missing: list[str]
    channels: dict[str, ChannelView] | None
    agents: AgentCounts | None
    agents_over_limit: AgentCounts | None
    levels: NotRequired[QueueLevels]
    """Added by wallboard/levels.py, as a queue's (its ``agents.available`` None when no queue is found)."""
    settings: NotRequired[dict[str, dict[str, object]]]
    """The channel settings in force, added with the levels."""


class SelectionData(ViewHead):
    """The ``selection`` view: the snapshot's head, the selection block and the status."""

    selection: SelectionView
    status: EngineStatus


class BoardRow(TypedDict):
    """One row of a grid board: a group or a queue, as a selection of its queues, with its worst level."""

    kind: Literal["group", "queue"]
    name: str
    position: int
    """Its place as the board's settings list it (groups first, then queues), from 0."""
    queues: list[str]
    missing: list[str]
    channels: dict[str, ChannelView] | None
    agents: AgentCounts | None
    levels: NotRequired[QueueLevels]
    """Its selection's own levels (its agents: available against waiting), as a selection's."""
    level: Level | None
    """The worst level of its views at ``as_of`` (None: no level anywhere)."""
    level_steps: list[LongestWaitStep]
    """From ``as_of`` on, when the row takes each level as its longest waits tick (the first step is ``as_of``)."""


class BoardView(TypedDict):
    """A named board (``[boards.NAME]``): its settings as the page needs them, and its rows or its sum."""

    name: str
    title: dict[str, str]
    """By page language: ``{"zh-CN": ..., "en": ...}``."""
    layout: Literal["grid", "channels"]
    order: Literal["worst_first", "as_listed"]
    rows_per_page: int
    rotate_s: float
    groups: list[str]
    queues: list[str]
    rows: list[BoardRow]
    """Grid: one per group and queue (worst first, or as listed); channels: []."""
    total: SelectionView | None
    """Channels: every queue it shows added up, as a selection (with its settings); grid: None."""


class BoardData(ViewHead):
    """The ``board`` view: the snapshot's head, the board and the status."""

    board: BoardView
    status: EngineStatus


class AgentRow(TypedDict):
    agent_id: str
    name: str | None
    team: str | None
    state: str
    reason: str | None
    """The reason code of the latest event (contract version 2), None when it gave none."""
    since: str
    limit_s: int | None
    """The limit in force for this state and reason ([agent_limits]), seconds; None: no limit."""
    over_limit: bool
    """In this state for longer than ``limit_s`` at ``as_of``."""
    queues: list[str]
    handled_today: dict[str, int]


class AgentsView(TypedDict):
    """The ``agents`` view (metrics.md "Agent metrics")."""

    as_of: str
    timezone: str
    agents: list[AgentRow]
    totals: AgentCounts
    agents_over_limit: AgentCounts


class Interval(TypedDict):
    start: str
    end: str


class IntradaySeries(TypedDict):
    channels: dict[str, list[Period]]


class Intraday(TypedDict):
    """The ``intraday`` view: today's intervals per queue and channel, and in total."""

    as_of: str
    timezone: str
    interval_s: int
    day_start: str
    day_end: str
    interval_count: int
    intervals: list[Interval]
    queues: dict[str, IntradaySeries]
    totals: IntradaySeries


View = Snapshot | Summary | SelectionData | BoardData | AgentsView | Intraday


class AgentsDelta(TypedDict):
    """An ``agents_delta`` message's data: the agents view at this tick from the one at ``base_seq``."""

    as_of: str
    timezone: str
    upserts: list[AgentRow]
    """The rows that are new or changed in any field, whole, by agent id."""
    removed: list[str]
    """The agent ids no longer in the view."""
    totals: AgentCounts
    agents_over_limit: AgentCounts


class IntradayDelta(TypedDict):
    """An ``intraday_delta`` message's data: today's intervals at this tick from those at ``base_seq``.

    Only within one day: a new day (or any change of the day's frame) is sent as a full ``intraday``.
    """

    as_of: str
    day_start: str
    """The day the base and the result are of (the same)."""
    intervals_from: int
    """How many intervals the base had: ``intervals`` are the new ones, from that index on."""
    intervals: list[Interval]
    queue_order: list[str]
    """Every queue of the view, in its order; a queue of the base not listed is gone."""
    queues: dict[str, dict[str, dict[str, Period]]]
    """Queue -> channel -> interval index (as a string) -> the period, for each period new or changed."""
    totals: dict[str, dict[str, Period]]
    """Channel -> interval index -> the total period, for each new or changed."""


DeltaData = AgentsDelta | IntradayDelta


# --------------------------------------------------------------- messages


class SourceBlock(TypedDict):
    """The ``source`` object of every data message, heartbeat and API answer (docs/board.md "Staleness")."""

    kind: str
    state: SourceState
    ready: bool
    connected: bool
    stale: bool
    stale_reason: StaleReason | None
    last_event_age_s: float | None
    lag: int
    catch_up: float
    last_error: str | None


class SettingsView(TypedDict):
    """What the pages need of the settings: ``hello.settings`` and the pages' ``data-settings``."""

    timezone: str
    window_s: int
    interval_s: int
    channel_names: list[str]
    channels: dict[str, dict[str, object]]
    queues: dict[str, dict[str, dict[str, object]]]
    broadcast_max_length: int


class HelloBody(TypedDict):
    protocol: int
    push_interval_s: float
    stale_after_s: float
    settings: SettingsView
    views: list[str]
    queues: list[str]
    board: str | None
    """The board of the ``board`` view (``/ws?views=board&board=NAME``), else None."""
    deltas: bool
    """True when this socket gets ``agents_delta`` and ``intraday_delta`` (it asked with ``deltas=1``)."""


class DataBody(TypedDict):
    data: View
    source: SourceBlock


class DeltaBody(TypedDict):
    base_seq: int
    """The seq of the message this one applies to (the previous message of the view)."""
    data: DeltaData
    source: SourceBlock


class HeartbeatBody(TypedDict):
    data_seq: int
    source: SourceBlock


class BroadcastBody(TypedDict):
    text: str
    set_at: str | None


class AlertsBody(TypedDict):
    """The ``alerts`` message (docs/protocol.md): the alerts breached now, as ``/api/alerts`` lists them."""

    alerts: list[AlertRow]


Body = HelloBody | DataBody | DeltaBody | HeartbeatBody | BroadcastBody | AlertsBody
"""A message's own fields; ``type``, ``seq`` and ``server_time`` go in front of them."""


class Health(TypedDict):
    """``/healthz``."""

    status: Literal["ok", "failed"]
    reason: NotRequired[str]
    error: NotRequired[str | None]


class ControlBlock(TypedDict):
    """What /readyz says of the control records (wallboard/control.py): the broadcast's store."""

    kind: str
    topic: str | None
    ready: bool
    connected: bool
    lag: int
    records: int
    rejected: dict[str, int]
    last_error: str | None
    sender: bool
    """This instance posts the alert webhooks (docs/alerts.md "One sender")."""


class Readiness(TypedDict):
    """``/readyz``."""

    ready: bool
    reasons: list[str]
    catch_up: float
    pump: PumpState
    source: SourceBlock
    control: ControlBlock


class AlertText(TypedDict):
    """How the pages word an alert (wallboard/notify/payloads.py ``describe``)."""

    label: dict[str, str]
    """What is watched, where, by language (``zh-CN``, ``en``)."""
    shown: str
    """The number now, as the board writes it (``52%``, ``1:05``)."""
    limit: str
    """The threshold, written the same way."""


class AlertRow(TypedDict):
    """One alert breached now (docs/alerts.md): ``pending`` until its ``for`` is over, then ``firing``."""

    rule: str
    scope: str
    metric: str
    channel: str | None
    severity: str
    when: str
    threshold: float
    state: str
    since: str
    fired_at: str | None
    value: float | None
    idempotency_key: str | None
    acknowledged_by: str | None
    acknowledged_at: str | None
    text: NotRequired[AlertText]


class AlertsView(TypedDict):
    """``/api/alerts`` and ``wallboard replay --alerts``: the alerts breached at ``as_of``, firing first."""

    as_of: str
    alerts: list[AlertRow]

"""The live board between the source, the engine and the hub: the pump, the tick, the messages.

One ``Live`` per app.  The pump task moves source batches into the engine; the
tick task advances the engine clock every ``push_interval`` and publishes
either the changed views (each serialised once, for every client) or a
heartbeat.  Everything here runs on the event loop's thread, so the engine
(pure and synchronous) needs no lock.

Staleness, /healthz, /readyz and the scrape figures are pure functions of
the statuses gathered here (wallboard/web/status.py); the messages' JSON is
ASCII (wallboard/web/ascii_json.py); the collector's settings while the app
runs are wallboard/web/gc_schedule.py's.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import cast

from wallboard.alerts import Alert, AlertBook, AlertKey, Transition, alerts_view, measure
from wallboard.boards import board_view
from wallboard.control import (
    ACK_PREFIX,
    Ack,
    Broadcast,
    ControlState,
    FiredAlert,
    encode_ack,
    encode_broadcast,
    encode_fired,
    encode_resolved,
)
from wallboard.deltas import DELTA_VIEWS, agents_delta, intraday_delta
from wallboard.engine import Engine
from wallboard.errors import SourceError
from wallboard.events import CHANNELS
from wallboard.ingest import advance, ingest
from wallboard.levels import add_levels, add_selection_levels
from wallboard.notify.alert_topic import AlertTopic
from wallboard.notify.payloads import describe
from wallboard.notify.webhooks import Webhooks
from wallboard.settings import Settings
from wallboard.sources.base import EventSource
from wallboard.sources.control import ControlChannel, ControlError, MemoryControl
from wallboard.sources.election import AlwaysSender, SenderElection
from wallboard.web import gc_schedule, status
from wallboard.web.admission import Admission
from wallboard.web.ascii_json import dumps_ascii
from wallboard.web.frames import text_frame
from wallboard.web.hub import DATA_VIEWS, KEYED_VIEWS, Hub, Outgoing, Selection
from wallboard.web.metrics import Scrape, WebMetrics
from wallboard.web.status import Tasks
from wallboard.web.watchdog import Watchdog
from wallboard.wire import (
    AgentsView,
    AlertRow,
    AlertsBody,
    AlertsView,
    BoardData,
    Body,
    BroadcastBody,
    ControlBlock,
    DeltaBody,
    DeltaData,
    Health,
    Intraday,
    PumpState,
    Readiness,
    SelectionData,
    SelectionView,
    SettingsView,
    Snapshot,
    SourceBlock,
    Summary,
    View,
)

log = logging.getLogger(__name__)

PROTOCOL_VERSION = 3
"""docs/protocol.md "Versions": 2 added levels, the selection view and settings.channel_names; 3 the deltas."""
Clock = Callable[[], float]


def settings_view(settings: Settings) -> SettingsView:
    """What the pages need of the settings (hello.settings and the pages' data-settings)."""
    m = settings.metrics
    return {
        "timezone": m.timezone,
        "window_s": m.window,
        "interval_s": m.interval,
        "channel_names": list(CHANNELS),
        "channels": {ch: dataclasses.asdict(cs) for ch, cs in m.channels.items()},
        "queues": {q: {ch: dataclasses.asdict(cs) for ch, cs in per.items()} for q, per in m.queues.items()},
        "broadcast_max_length": settings.web.broadcast_max_length,
    }


class Live:
    """State of the running board: engine, tick counter, the newest message per view, the broadcast."""

    def __init__(
        self,
        settings: Settings,
        source: EventSource,
        *,
        clock: Clock,
        metrics: WebMetrics,
        watchdog: Watchdog | None = None,
        control: ControlChannel | None = None,
        election: SenderElection | None = None,
        alert_topic: AlertTopic | None = None,
    ) -> None:
        self.settings = settings
        self.control: ControlChannel = control or MemoryControl()
        """Where what a person sets is kept: the Kafka control topic, shared by every instance, or this process."""
        self.control_state = ControlState(max_length=settings.web.broadcast_max_length)
        self.watchdog = watchdog
        self.source = source
        self.clock = clock
        self.metrics = metrics
        web = settings.web
        self.push_interval = web.push_interval
        self.stale_after = web.stale_after
        self.freshness = status.Freshness.from_settings(settings)
        """The rules of fresh, quiet, stale and waiting (wallboard/web/status.py)."""
        self.engine = Engine(settings.metrics, int(clock()))
        self.zone = settings.metrics.zone
        self.hub = Hub(slow_client_timeout=web.slow_client_timeout, on_sent=self._on_sent)
        server = settings.server
        self.admission = Admission(server.max_ws_connections, server.max_ws_connections_per_client)
        """The WebSocket connections held, in all and per client address."""
        self.settings_json = settings_view(settings)
        self.seq = 0
        """The tick counter: +1 per tick (docs/protocol.md)."""
        self.data_seq = 0
        """The seq of the newest data message."""
        self._built_key: tuple[int, int, int, int] | None = None
        self._current: dict[tuple[str, Selection], tuple[tuple[int, int, int, int], Outgoing]] = {}
        self._rebuilt: dict[tuple[str, Selection], tuple[tuple[int, int, int, int], float, Outgoing]] = {}
        """Views built for a connect or resync between ticks: (state key, monotonic time built, message)."""
        self._snapshot_cache: tuple[tuple[int, int, int, int, int], Snapshot] | None = None
        self._last_state = 0
        """The newest state number given to a message of a view sent as deltas (hub.Outgoing.state)."""
        self._published: dict[str, tuple[int, int, View]] = {}
        """Per view sent as deltas, the last tick's: (state, seq, view), what the next tick's delta is from."""
        self._between: dict[str, list[tuple[int, int, View]]] = {}
        """Per view sent as deltas, the views built since the last tick (connect, resync): more bases for it."""
        self._heartbeat: Outgoing | None = None
        self._broadcast = self._make("broadcast", {"text": "", "set_at": None}, 0.0)
        self._alerts_body: list[AlertRow] = []
        self._alerts_msg = self._make("alerts", AlertsBody(alerts=[]), 0.0)
        """The alerts message: kept, sent on connect and whenever the list changes (docs/protocol.md)."""
        self.alerts = AlertBook(settings.alerts.rules)
        """The alert rules folded over each tick's numbers (wallboard/alerts.py)."""
        self._alert_snapshot: tuple[tuple[int, int, int, int], Snapshot] | None = None
        self._control_writes: asyncio.Queue[tuple[bytes, bytes | None]] = asyncio.Queue(maxsize=10000)
        self.webhooks = Webhooks(settings.alerts, settings.metrics.zone) if settings.alerts.webhooks else None
        """Where alert changes are posted (wallboard/notify/webhooks.py), by the one sender among the instances."""
        self.alert_topic = alert_topic
        """The Kafka topic of alert events (``[alerts] topic``), written by the sender; None without one."""
        self.election: SenderElection = election or AlwaysSender()
        """Whether this instance is the one that records and sends alert changes (docs/alerts.md "One sender")."""
        self.sends_alerts: Callable[[], bool] = self.election.is_sender
        self._reconciled = False
        """Whether this sender has caught up with what the last one sent (``_reconcile``)."""
        self._last_sent: dict[AlertKey, tuple[str, int | None]] = {}
        """The last change this instance sent of each alert (its records may not be read back yet)."""
        self.control_write_failures = 0
        self.pump_state: PumpState = "starting"
        self.pump_error: str | None = None
        self.tick_error: str | None = None

    # ------------------------------------------------------------- messages

    def server_time(self, now: float | None = None) -> str:
        """RFC 3339 with milliseconds, in the centre's zone, of the server clock."""
        t = self.clock() if now is None else now
        return datetime.fromtimestamp(t, self.zone).isoformat(timespec="milliseconds")

    def _make(
        self,
        slot: str,
        body: Body,
        born: float,
        *,
        seq: int | None = None,
        now: float | None = None,
        selection: Selection = (),
        kind: str | None = None,
        state: int = 0,
        base: int = 0,
        full: Callable[[], Outgoing] | None = None,
    ) -> Outgoing:
        s = self.seq if seq is None else seq
        head = {"type": kind or slot, "seq": s, "server_time": self.server_time(now)}
        text = dumps_ascii({**head, **body})
        return Outgoing(slot, text, s, born, text_frame(text), selection, state, base, full)

    def _state_key(self) -> tuple[int, int, int, int]:
        """What makes the views change: the engine's version, the local day, the intraday interval, and how
        many agents have passed their [agent_limits] (which the clock alone changes)."""
        engine = self.engine
        now = engine.now
        day = engine.days.day_of(now)
        return engine.version, day.start, (now - day.start) // self.settings.metrics.interval, engine.limit_crossings()

    def build_view(self, view: str, selection: Selection = ()) -> View:
        """One engine view (metrics.md JSON, with the levels of wallboard/levels.py) at the engine clock.

        ``summary`` is the snapshot without its per-queue detail (``queues``): what
        a wall TV showing the whole centre needs, a seventh of the bytes to send to
        each client every tick.  It is cut from the same snapshot, built once.
        ``selection`` is the same for a TV showing some queues: the snapshot's
        head and status, and the ``selection`` block of those queues; ``board``
        for a named board (``selection`` is then ``(name,)``): its ``board`` block
        (wallboard/boards.py).
        """
        if view == "snapshot" or view == "summary" or view == "selection" or view == "board":
            key = (*self._state_key(), self.engine.now)
            if self._snapshot_cache is None or self._snapshot_cache[0] != key:
                self._snapshot_cache = (key, add_levels(self.engine.snapshot(), self.settings.metrics))
            snapshot = self._snapshot_cache[1]
            if view == "summary":
                summary: Summary = {
                    "as_of": snapshot["as_of"],
                    "timezone": snapshot["timezone"],
                    "window_s": snapshot["window_s"],
                    "totals": snapshot["totals"],
                    "status": snapshot["status"],
                }
                return summary
            if view == "selection":
                data: SelectionData = {
                    "as_of": snapshot["as_of"],
                    "timezone": snapshot["timezone"],
                    "window_s": snapshot["window_s"],
                    "selection": self.selection_block(selection),
                    "status": snapshot["status"],
                }
                return data
            if view == "board":
                name = selection[0]
                board: BoardData = {
                    "as_of": snapshot["as_of"],
                    "timezone": snapshot["timezone"],
                    "window_s": snapshot["window_s"],
                    "board": board_view(self.engine, name, self.settings.boards[name]),
                    "status": snapshot["status"],
                }
                return board
            return snapshot
        if view == "agents":
            return self.engine.agents()
        return self.engine.intraday()

    def selection_block(self, selection: Selection) -> SelectionView:
        """Some queues summed by the engine from its counters, with their levels and the settings in force."""
        return add_selection_levels(self.engine.selection(selection), self.settings.metrics)

    def api_view(self, view: str, selection: Selection = ()) -> dict[str, object]:
        """A view for the JSON API: at the server clock now, with the ``source`` block added.

        A ``selection`` of queues adds its ``selection`` block to the snapshot.
        """
        now = self.clock()
        advance(self.engine, int(now), self.source.status())
        extra = {"selection": self.selection_block(selection)} if selection else {}
        return {**self.build_view(view), **extra, "source": self.source_block(now)}

    def _data_message(
        self, view: str, source: SourceBlock, born: float, now: float, selection: Selection = (), *, tick: bool = False
    ) -> Outgoing:
        data = self.build_view(view, selection)
        if view in DELTA_VIEWS:
            msg = self._delta_message(view, data, source, born, now, tick=tick)
        else:
            msg = self._make(view, {"data": data, "source": source}, born, now=now, selection=selection)
        self._current[(view, selection)] = (self._state_key(), msg)
        return msg

    def _delta_message(
        self, view: str, data: View, source: SourceBlock, born: float, now: float, *, tick: bool
    ) -> Outgoing:
        """A view sent as deltas: the tick's delta from the last tick's (its full message built on demand).

        A view built between ticks (connect, resync) is sent in full, and is a base too: the next tick
        makes a delta from it as well (``Outgoing.alternatives``; at most the two newest, and the connect
        cache builds at most one per push interval), so that a client that just connected gets the
        changes too.  It stays a base for as long as the connect cache may hand it out (``current``).
        The full message when there is no base, or when only a full one will do (a new day of intraday).
        """
        self._last_state += 1
        state = self._last_state
        built: list[Outgoing] = []

        def full() -> Outgoing:
            if not built:
                built.append(self._make(view, {"data": data, "source": source}, born, now=now, state=state))
            return built[0]

        if not tick:
            between = self._between.setdefault(view, [])
            between.append((state, self.seq, data))
            del between[:-2]
            return full()
        previous = self._published.get(view)
        between = self._between.pop(view, [])
        bases = ([] if previous is None else [previous]) + between
        cached = self._rebuilt.get((view, ()))
        if cached is not None and time.monotonic() - cached[1] < self.push_interval:
            self._between[view] = [b for b in between if b[0] == cached[2].state]
        self._published[view] = (state, self.seq, data)
        deltas: list[Outgoing] = []
        for base, base_seq, old in bases:
            delta: DeltaData | None
            if view == "agents":
                delta = agents_delta(cast(AgentsView, old), cast(AgentsView, data))
            else:
                delta = intraday_delta(cast(Intraday, old), cast(Intraday, data))
            if delta is not None:
                body: DeltaBody = {"base_seq": base_seq, "data": delta, "source": source}
                deltas.append(
                    self._make(view, body, born, now=now, kind=f"{view}_delta", state=state, base=base, full=full)
                )
        if not deltas:
            return full()
        return dataclasses.replace(deltas[0], alternatives=tuple(deltas[1:]))

    def heartbeat(self) -> Outgoing:
        """The heartbeat of the current tick (a ping is answered with it)."""
        hb = self._heartbeat
        if hb is None or hb.seq != self.seq:
            hb = self._heartbeat = self._make(
                "heartbeat", {"data_seq": self.data_seq, "source": self.source_block()}, 0.0
            )
        return hb

    def current(self, views: Iterable[str], selection: Selection = ()) -> list[Outgoing]:
        """The newest full message of each view (built now if none is current), then the broadcast.

        Sent on connect and on resync.  Copies with ``born=0`` share the text
        but stay out of the push-latency histogram (they were not a tick's push).
        """
        out: list[Outgoing] = []
        key = self._state_key()
        source: SourceBlock | None = None
        for view in DATA_VIEWS:
            if view not in views:
                continue
            feed = selection if view in KEYED_VIEWS else ()
            entry = self._current.get((view, feed))
            if entry is not None and entry[0] == key:
                msg = entry[1]
                if msg.full is not None:  # the tick's delta: a connect or resync gets the full view
                    msg = msg.full()
            else:
                # Built afresh, but at most once per view per push_interval: at 10x the bank's rate the engine
                # changes between any two connects, and a connect storm rebuilt the views for each one
                # (22-54 ms a display, 380-600 ms a supervisor: bench/soak.py).  The next tick brings what
                # came since.  Never across a day or an interval.
                rebuilt = self._rebuilt.get((view, feed))
                at = time.monotonic()
                if rebuilt is not None and rebuilt[0][1:] == key[1:] and at - rebuilt[1] < self.push_interval:
                    msg = rebuilt[2]
                else:
                    source = source or self.source_block()
                    msg = self._data_message(view, source, 0.0, self.clock(), feed)
                    self._rebuilt[(view, feed)] = (key, at, msg)
            out.append(dataclasses.replace(msg, born=0.0))
        out.append(self._broadcast)
        if self.alerts.rules:  # a board without alert rules gets no alerts message at all
            out.append(self._alerts_msg)
        return out

    def hello(self, views: Iterable[str], selection: Selection = (), *, deltas: bool = False) -> Outgoing:
        """The first message on a connection."""
        return self._make(
            "hello",
            {
                "protocol": PROTOCOL_VERSION,
                "push_interval_s": self.push_interval,
                "stale_after_s": self.stale_after,
                "settings": self.settings_json,
                "views": [v for v in DATA_VIEWS if v in views],
                "queues": [] if "board" in views else list(selection),
                "board": selection[0] if "board" in views else None,
                "deltas": deltas,
            },
            0.0,
        )

    @property
    def broadcast_text(self) -> str:
        return self.control_state.broadcast.text

    @property
    def broadcast_set_at(self) -> str | None:
        return self.control_state.broadcast.set_at

    async def post_broadcast(self, text: str, by: str) -> BroadcastBody:
        """Set (or, with "", clear) the broadcast: stored in the control store, shown once read back from it.

        Every instance reading the same control topic shows it within a
        second; ``ControlError`` when it could not be stored.
        """
        key, value = encode_broadcast(Broadcast(text, self.server_time(), by))
        await self.control.write(key, value)
        return {"text": self.broadcast_text, "set_at": self.broadcast_set_at}

    def on_control_record(self, key: bytes | None, value: bytes | None) -> None:
        """A control record, in the control store's order: push the broadcast when it changed; restore alerts."""
        changed = self.control_state.apply(key, value)
        if changed == "broadcast":
            body: BroadcastBody = {"text": self.broadcast_text, "set_at": self.broadcast_set_at}
            self._broadcast = self._make("broadcast", body, time.perf_counter())
            self.hub.publish(self._broadcast)
        elif changed == "alert":
            for fired in self.control_state.fired.values():
                self.alerts.restore(fired.rule, fired.scope, fired.since, fired.fired_at)
            self._publish_alerts()
        elif changed == "ack":
            self._publish_alerts()

    def _publish_alerts(self) -> None:
        """Push the alerts message to every client when the list (states, values as shown, acks) changed."""
        rows = self.alerts_view()["alerts"] if self.alerts.rules else []
        if rows != self._alerts_body:
            self._alerts_body = rows
            self._alerts_msg = self._make("alerts", AlertsBody(alerts=rows), time.perf_counter())
            self.hub.publish(self._alerts_msg)

    async def control_writer(self) -> None:
        """Write the alerts' changes to the control store, in order, off the tick (a slow broker never delays it)."""
        while True:
            key, value = await self._control_writes.get()
            try:
                await self.control.write(key, value)
            except ControlError as exc:
                self.control_write_failures += 1
                log.warning("alert state not recorded in the control topic (%s); a restart may fire it again", exc)

    def _forget_selections(self) -> None:
        """Drop the newest messages of selections and boards no client watches any more (they would pile up)."""
        wanted = {(view, key) for view in KEYED_VIEWS for key in self.hub.selections(view)}
        for k in [k for k in self._current if k[0] in KEYED_VIEWS and k not in wanted]:
            del self._current[k]
        for k in [k for k in self._rebuilt if k[0] in KEYED_VIEWS and k not in wanted]:
            del self._rebuilt[k]

    def _on_sent(self, msg: Outgoing, seconds: float) -> None:
        if msg.born:
            self.metrics.push_latency.observe(seconds)

    # ----------------------------------------------------------------- tick

    def tick(self) -> None:
        """Advance the clock; publish the changed views (serialised once) or a heartbeat."""
        t0 = time.perf_counter()
        now = self.clock()
        self.seq += 1
        failing, self.tick_error = self.tick_error, None  # this tick's messages describe this tick
        try:
            advance(self.engine, int(now), self.source.status())
            key = self._state_key()
            if key != self._built_key:
                source = self.source_block(now)
                msgs = [
                    self._data_message(view, source, t0, now, tick=True)
                    for view in DATA_VIEWS
                    if view == "snapshot" or (view not in KEYED_VIEWS and self.hub.wants(view))
                ]
                msgs += [
                    self._data_message(view, source, t0, now, key)
                    for view in KEYED_VIEWS
                    for key in self.hub.selections(view)
                ]
                self._built_key = key
                self.data_seq = self.seq
                for msg in msgs:
                    self.hub.publish(msg)
            else:
                self.hub.publish(self.heartbeat())
            self._evaluate_alerts(key)
            self._forget_selections()
            if failing is not None:
                log.info("tick recovered after: %s", failing)
        except Exception as exc:
            # An engine bug must not stop the heartbeats: they now say the data is stale.
            if failing is None:
                log.exception("tick failed; the board shows its data as stale until a tick succeeds")
            self.tick_error = f"{type(exc).__name__}: {exc}"
            self._heartbeat = None
            with contextlib.suppress(Exception):  # a broken source.status() must not stop the loop
                self.hub.publish(self.heartbeat())
        self.hub.reap()
        if self.watchdog is not None and self.pump_state != "failed":
            self.watchdog.alive(time.monotonic())  # pings stop when /healthz fails: systemd restarts us
        self.metrics.tick_duration.observe(time.perf_counter() - t0)

    def _evaluate_alerts(self, key: tuple[int, int, int, int]) -> None:
        """Fold this tick's numbers into the alerts, once per second of the engine clock.

        The snapshot is taken again only when the state changed (between two
        changes only the longest wait moves, which ``measure`` takes at the
        second), as ``wallboard replay --alerts`` does, so the two agree.
        """
        if not self.alerts.rules:
            return
        if self.source_block()["state"] not in ("fresh", "quiet"):
            return  # numbers still loading, or stale: no alert fires or clears on them (docs/alerts.md)
        now = self.engine.now
        if self.alerts.last_at is not None and now <= self.alerts.last_at:
            return
        if self.sends_alerts() and not self._reconciled and self.control.status().ready:
            self._reconcile(now)
        if self._alert_snapshot is None or self._alert_snapshot[0] != key:
            cached = self._snapshot_cache
            snapshot = cached[1] if cached is not None and cached[0][:4] == key else self.engine.snapshot()
            self._alert_snapshot = (key, snapshot)
        changes = self.alerts.evaluate(now, measure(self._alert_snapshot[1], self.alerts.rules, now))
        self._publish_alerts()
        for change in changes:
            alert = change.alert
            log.warning(
                "alert %s: %s on %s (%s, since %s)",
                change.change,
                alert.key.rule,
                alert.key.scope,
                self.alerts.rules[alert.key.rule].severity,
                self.engine.days.iso(alert.since),
                extra={"alert": alert.key.rule, "scope": alert.key.scope, "change": change.change},
            )
            if self.sends_alerts():
                self._send(change)

    def on_sender_change(self, sender: bool) -> None:
        """This instance became (or stopped being) the sender: a new sender first catches up (``_reconcile``)."""
        self._reconciled = False

    def _reconcile(self, now: int) -> None:
        """What the last sender may not have sent: a firing it did not record, a resolution it did not see.

        Sent with the firing's own idempotency key, so a receiver that got it
        from the last sender drops it: the overlap of docs/alerts.md "One sender".
        """
        recorded = {AlertKey(f.rule, f.scope): f for f in self.control_state.fired.values()}
        firing = {a.key: a for a in self.alerts.firing()}
        for key, alert in firing.items():
            fired = recorded.get(key)
            if (fired is None or fired.fired_at != alert.fired_at) and self._last_sent.get(key) != (
                "fired",
                alert.fired_at,
            ):
                self._send(Transition("fired", alert, now))
        for key, fired in recorded.items():
            if key not in firing and self._last_sent.get(key) != ("resolved", fired.fired_at):
                self._send(Transition("resolved", Alert(key, "firing", fired.since, fired.fired_at, None), now))
        self._reconciled = True

    def _send(self, change: Transition) -> None:
        """The sender's part: post to the webhooks, and record the change in the control topic (both queued)."""
        alert = change.alert
        self._last_sent[alert.key] = (change.change, alert.fired_at)
        if self.webhooks is not None:
            self.webhooks.submit(change)
        if self.alert_topic is not None:
            self.alert_topic.submit(change)
        record: tuple[bytes, bytes | None]
        if change.change == "fired":
            assert alert.fired_at is not None
            record = encode_fired(FiredAlert(alert.key.rule, alert.key.scope, alert.since, alert.fired_at))
        else:
            record = encode_resolved(alert.key.rule, alert.key.scope)
        records = [record]
        if change.change == "resolved" and alert.idempotency_key in self.control_state.acks:
            records.append((f"{ACK_PREFIX}{alert.idempotency_key}".encode(), None))  # the firing is over
        for item in records:
            try:
                self._control_writes.put_nowait(item)
            except asyncio.QueueFull:
                self.control_write_failures += 1

    def alerts_view(self) -> AlertsView:
        """/api/alerts: the alerts breached at the engine clock."""
        acks = {key: (ack.by, ack.at) for key, ack in self.control_state.acks.items()}
        return alerts_view(self.alerts, self.settings, self.engine.days.iso(self.engine.now), acks, describe)

    async def acknowledge(self, idempotency_key: str, by: str) -> AlertRow | None:
        """Record that ``by`` acknowledged the firing ``idempotency_key`` (every instance shows it); None if no
        alert fires with that key.  ``ControlError`` when it could not be stored."""
        if not any(a.idempotency_key == idempotency_key for a in self.alerts.firing()):
            return None
        await self.control.write(*encode_ack(idempotency_key, Ack(by, self.server_time())))
        return next((row for row in self.alerts_view()["alerts"] if row["idempotency_key"] == idempotency_key), None)

    async def tick_loop(self) -> None:
        """Tick every push_interval on the monotonic clock; a late tick is not repeated (no bursts).

        Half-way between two ticks, when the pushes of the last one are out,
        the loop runs the garbage collector's full collections itself (see
        wallboard/web/gc_schedule.py), so that their pause never holds up a push.
        """
        loop = asyncio.get_running_loop()
        interval = self.push_interval
        next_at = loop.time() + interval
        last_full_gc = loop.time()
        while True:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            self.tick()
            next_at += interval
            if next_at < loop.time():
                next_at = loop.time() + interval
            if loop.time() - last_full_gc >= gc_schedule.FULL_GC_EVERY_S and gc.isenabled():
                await asyncio.sleep(max(0.0, next_at - interval / 2 - loop.time()))
                t0 = time.perf_counter()
                gc.collect()
                last_full_gc = loop.time()
                log.debug("full garbage collection between ticks: %.1f ms", (time.perf_counter() - t0) * 1000)

    # ----------------------------------------------------------------- pump

    async def pump(self) -> None:
        """Source batches -> ingest -> engine, until the source ends; a failure is logged once and kept."""
        self.pump_state = "running"
        try:
            async for batch in self.source.batches():
                result = ingest(self.engine, batch)
                self.metrics.pump_batches.inc()
                await self.source.ingested(result)
                # Let the tick and the sockets run between batches of a long catch-up.
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.pump_state = "failed"
            self.pump_error = f"{type(exc).__name__}: {exc}"
            log.exception("the source pump died; the board shows its data as stale from now on")
            raise SourceError(f"source pump died: {self.pump_error}") from exc
        self.pump_state = "finished"
        log.info("the source has no more batches; the board keeps its last state")

    # --------------------------------------------------------------- status

    def tasks(self) -> Tasks:
        """How the pump and the tick are doing now."""
        return Tasks(self.pump_state, self.pump_error, self.tick_error)

    def source_block(self, now: float | None = None) -> SourceBlock:
        """The ``source`` object of the messages and the API (wallboard/web/status.py)."""
        now = self.clock() if now is None else now
        return status.source_block(
            now, self.source.status(), self.engine.status()["last_event_ts"], self.tasks(), self.freshness
        )

    def health(self) -> tuple[bool, Health]:
        """/healthz (``status.health``)."""
        return status.health(self.tasks())

    def readiness(self) -> tuple[bool, Readiness]:
        """/readyz (``status.readiness``)."""
        return status.readiness(self.source_block(), self.tasks(), self.control_block())

    def control_block(self) -> ControlBlock:
        """What /readyz says of the control records."""
        c = self.control.status()
        return {
            "kind": c.kind,
            "topic": c.topic,
            "ready": c.ready,
            "connected": c.connected,
            "lag": c.lag,
            "records": c.records,
            "rejected": dict(self.control_state.rejected),
            "last_error": c.last_error,
            "sender": self.sends_alerts(),
        }

    def scrape(self) -> Scrape:
        """The figures /metrics reads at scrape time (``status.scrape``)."""
        hub = self.hub
        return status.scrape(
            self.clock(),
            self.engine.status(),
            self.source.status(),
            self.tasks(),
            self.freshness,
            clients=len(hub),
            seq=self.seq,
            direct_writes=hub.direct_writes,
        )

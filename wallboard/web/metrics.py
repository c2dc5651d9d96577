"""Prometheus metrics of one app, in a CollectorRegistry the app owns (never the global one).

Figures the engine and the source already keep (events, rejections, lag...)
are read at scrape time by a custom collector rather than mirrored into
counters on the hot path; only what exists nowhere else (latencies, tick
durations, drops) is recorded as it happens.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, TypedDict

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from wallboard.alerts import AlertBook
    from wallboard.notify.webhooks import Webhooks
    from wallboard.web.live import Live
    from wallboard.wire import ControlBlock

# Push latency: most pushes take a few ms; the goal is p99 < 100 ms at 5,000 clients.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TICK_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


class Scrape(TypedDict):
    """The figures read at scrape time (``Live.scrape``)."""

    events: int
    rejected: dict[str, int]
    duplicates: int
    orphans: int
    too_late: int
    lag: int
    ready: int
    connected: int
    stale: int
    catch_up: float
    pump_up: int
    clients: int
    last_event_age_s: float | None
    seq: int
    direct_writes: int


class WebMetrics:
    """The app's registry and the instruments recorded as things happen."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.push_latency = LoopHistogram(LATENCY_BUCKETS)
        """Observed once per client per tick: a plain histogram without prometheus_client's lock."""
        self.tick_duration = Histogram(
            "wallboard_tick_duration_seconds",
            "Time to advance the engine, build and serialise the views and publish them (one tick).",
            buckets=TICK_BUCKETS,
            registry=self.registry,
        )
        self.ws_connections = Counter(
            "wallboard_ws_connections",
            "WebSocket clients accepted.",
            registry=self.registry,
        )
        self.ws_dropped = Counter(
            "wallboard_ws_dropped",
            "WebSocket clients closed by the server, by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.ws_refused = Counter(
            "wallboard_ws_refused",
            "WebSocket clients refused at connect, by limit (server_full, client_full: docs/deployment.md Limits).",
            ["reason"],
            registry=self.registry,
        )
        self.pump_batches = Counter(
            "wallboard_source_batches",
            "Batches taken from the source and applied.",
            registry=self.registry,
        )

    def watch(self, live: Live) -> None:
        """Expose the engine's, the source's and the hub's own figures at scrape time."""
        self.registry.register(_LiveCollector(live.scrape, self.push_latency))
        self.registry.register(_ControlCollector(live.control_block))
        self.registry.register(_AlertCollector(live.alerts, live.webhooks))


class LoopHistogram:
    """A histogram for the event loop's hot path: one thread, so no lock; one bisect per observation.

    prometheus_client's Histogram takes a lock and costs several microseconds an
    observation, which at 5,000 clients a tick adds up to milliseconds of delay.
    """

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1  # bucket i holds bounds[i-1] < value <= bounds[i]
        self.sum += value

    def family(self, name: str, doc: str) -> HistogramMetricFamily:
        cumulative, total = [], 0
        for bound, n in zip((*self.bounds, float("inf")), self.counts, strict=True):
            total += n
            cumulative.append(("+Inf" if bound == float("inf") else repr(bound), float(total)))
        return HistogramMetricFamily(name, doc, buckets=cumulative, sum_value=self.sum)


class _LiveCollector(Collector):
    def __init__(self, scrape: Callable[[], Scrape], push_latency: LoopHistogram) -> None:
        self._scrape = scrape
        self._push_latency = push_latency

    def describe(self) -> list[Metric]:
        return []  # unchecked collector: read only at scrape time

    def collect(self) -> Iterator[Metric]:
        s = self._scrape()
        counters: dict[str, tuple[str, float]] = {
            "wallboard_events": ("Valid events applied to the engine since start.", s["events"]),
            "wallboard_duplicates": ("Events dropped as duplicates of one already applied.", s["duplicates"]),
            "wallboard_too_late": ("Events dropped for arriving more than late_horizon late.", s["too_late"]),
            "wallboard_ws_direct_writes": (
                "Messages written straight to an idle client's socket as a pre-built frame.",
                s["direct_writes"],
            ),
        }
        for name, (doc, value) in counters.items():
            yield CounterMetricFamily(name, doc, value=float(value))
        rejected = CounterMetricFamily(
            "wallboard_rejected", "Messages rejected by the event contract, by reason.", labels=["reason"]
        )
        for reason, n in s["rejected"].items():
            rejected.add_metric([reason], float(n))
        yield rejected
        age = s["last_event_age_s"]
        gauges: dict[str, tuple[str, float]] = {
            "wallboard_orphans": ("Interactions seen without their offered/answered events (now held).", s["orphans"]),
            "wallboard_consumer_lag": ("Messages the source is behind the end of its upstream (Kafka lag).", s["lag"]),
            "wallboard_source_ready": ("1 once the source has caught up and delivers live data.", s["ready"]),
            "wallboard_source_connected": ("1 while the source reaches its upstream.", s["connected"]),
            "wallboard_source_stale": ("1 while the board shows its data as stale.", s["stale"]),
            "wallboard_source_catch_up": ("Progress of the start-up replay, 0..1.", s["catch_up"]),
            "wallboard_pump_up": ("1 while the task feeding the engine runs; 0 once it died.", s["pump_up"]),
            "wallboard_ws_clients": ("Connected WebSocket clients.", s["clients"]),
            "wallboard_last_event_age_seconds": (
                "Server clock minus the ts of the newest event (NaN before one).",
                float("nan") if age is None else age,
            ),
            "wallboard_seq": ("The server's tick counter (seq of the last message).", s["seq"]),
        }
        for name, (doc, value) in gauges.items():
            yield GaugeMetricFamily(name, doc, value=float(value))
        yield self._push_latency.family(
            "wallboard_push_latency_seconds",
            "Time from the start of a tick to its message handed to a client's socket.",
        )


class _ControlCollector(Collector):
    """The control records' figures (wallboard/control.py): the broadcast's store, read at scrape time."""

    def __init__(self, block: Callable[[], ControlBlock]) -> None:
        self._block = block

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        c = self._block()
        yield GaugeMetricFamily(
            "wallboard_control_ready", "1 once the control records were read to their end.", value=float(c["ready"])
        )
        yield GaugeMetricFamily(
            "wallboard_control_connected", "1 while the control topic is followed.", value=float(c["connected"])
        )
        yield GaugeMetricFamily("wallboard_control_lag", "Control records not read yet.", value=float(c["lag"]))
        yield GaugeMetricFamily(
            "wallboard_alert_sender", "1 while this instance posts the alert webhooks.", value=float(c["sender"])
        )
        yield CounterMetricFamily("wallboard_control_records", "Control records read.", value=float(c["records"]))
        rejected = CounterMetricFamily(
            "wallboard_control_rejected", "Control records that changed nothing, by reason.", labels=["reason"]
        )
        for reason, n in c["rejected"].items():
            rejected.add_metric([reason], float(n))
        yield rejected


class _AlertCollector(Collector):
    """``wallboard_alert_active{rule,scope,severity}``: 1 for each alert firing now (as Prometheus' ALERTS)."""

    def __init__(self, book: AlertBook, webhooks: Webhooks | None) -> None:
        self._book = book
        self._webhooks = webhooks

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        active = GaugeMetricFamily(
            "wallboard_alert_active",
            "1 for each alert firing now (docs/alerts.md).",
            labels=["rule", "scope", "severity"],
        )
        for alert in self._book.firing():
            active.add_metric([alert.key.rule, alert.key.scope, self._book.rules[alert.key.rule].severity], 1.0)
        yield active
        deliveries = CounterMetricFamily(
            "wallboard_webhook_deliveries",
            "Alert changes posted to webhooks, by webhook and result (delivered, refused, failed, dropped).",
            labels=["webhook", "result"],
        )
        if self._webhooks is not None:
            for (name, result), n in sorted(self._webhooks.counts().items()):
                deliveries.add_metric([name, result], float(n))
        yield deliveries

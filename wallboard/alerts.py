"""Alerts: the rules of ``[alerts.rules]`` folded over the snapshot, second by second, into alert states.

Why a fold of its own: a supervisor watching one screen misses a breach on
another, so the board must say when a number has gone wrong *for a while* (a
``for`` duration) and when it is right again (a clear threshold and duration:
no flapping).  Like every number, an alert is a pure function of the event
stream and the clock: the live board folds the snapshot of each tick, and
``wallboard replay --alerts`` folds the snapshot of every second up to T, with
this same code (docs/alerts.md).

Numbers are compared as the board shows them (wallboard/levels.py): rates in
whole percent half up, waits in whole seconds (the longest wait floored, as it
ticks), so that an alert never fires on a number the screen shows as on target.
An undefined number (``None``: no calls in the window) is never a breach.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from wallboard.levels import round_half_up
from wallboard.settings import AlertRuleSettings, Settings
from wallboard.wire import AlertRow, AlertsView, AlertText, ChannelView, Snapshot

AlertState = Literal["pending", "firing"]
Change = Literal["fired", "resolved"]

RATES = frozenset({"service_level", "abandon_rate"})
"""Fractions the board shows in whole percent."""


@dataclass(frozen=True)
class AlertKey:
    """One alert: a rule on one scope (``total``, ``queue:信用卡``, ``group:个人业务``)."""

    rule: str
    scope: str


@dataclass(frozen=True)
class Alert:
    """An alert that is breached now: ``pending`` until its ``for`` is over, then ``firing``."""

    key: AlertKey
    state: AlertState
    since: int
    """When the breach began (Unix seconds): the start of ``pending``."""
    fired_at: int | None
    """When it fired (``since + for_s``, or later); None while pending."""
    value: float | None
    """The number now, as the board shows it."""
    clearing_since: int | None = None
    """Firing, but on the good side since then (it clears ``clear_for_s`` later unless breached again)."""

    @property
    def idempotency_key(self) -> str | None:
        """The same for one firing on every instance and every retry: (rule, scope, fired-at)."""
        return None if self.fired_at is None else idempotency_key(self.key, self.fired_at)


@dataclass(frozen=True)
class Transition:
    """An alert fired or resolved at ``at``: what notifications are about."""

    change: Change
    alert: Alert
    at: int


def idempotency_key(key: AlertKey, fired_at: int) -> str:
    """A short hash of (rule, scope, fired-at): a receiver drops a second delivery of the same firing."""
    text = f"{key.rule}\x1f{key.scope}\x1f{fired_at}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# ---------------------------------------------------------------- the numbers


def shown(metric: str, value: float | None) -> float | None:
    """The number as the board shows it: rates in whole percent (as a fraction), waits in whole seconds."""
    if value is None or not math.isfinite(value):
        return None
    leaf = metric.rsplit(".", 1)[-1]
    if leaf in RATES:
        return round_half_up(value * 100) / 100
    if leaf == "longest_wait_s":
        return float(math.floor(value))
    if leaf.endswith("_s"):
        return float(round_half_up(value))
    return value


def _threshold(metric: str, value: float) -> float:
    """A threshold in the unit compared: rates to hundredths of a percent, as levels.py takes targets."""
    if metric.rsplit(".", 1)[-1] in RATES:
        return round_half_up(value * 10000) / 10000
    return value


def _channel_value(view: ChannelView, metric: str, at_s: int) -> float | None:
    if metric == "waiting":
        return float(view["waiting"])
    if metric == "longest_wait_s":
        since = view.get("longest_wait_since")
        if since is None:
            return None
        return max(0.0, at_s - datetime.fromisoformat(since).timestamp())
    period, field = metric.split(".", 1)
    value = view["window" if period == "window" else "today"].get(field)
    return None if value is None else float(value)  # type: ignore[arg-type]


def _scopes(snapshot: Snapshot, rule: AlertRuleSettings) -> Iterator[tuple[str, Mapping[str, object]]]:
    """(scope label, the view with ``channels`` and ``agents``) of every scope the rule watches."""
    if rule.scope == "total":
        yield "total", snapshot["totals"]
        return
    table: Mapping[str, Mapping[str, object]]
    if rule.scope == "queue":
        table = snapshot["queues"]
    else:
        table = snapshot.get("groups", {})  # the configured groups (metrics.md "Groups")
    for name in rule.names or sorted(table):
        view = table.get(name)
        if view is not None and view.get("channels") is not None:
            yield f"{rule.scope}:{name}", view


def measure(snapshot: Snapshot, rules: Mapping[str, AlertRuleSettings], at_s: int) -> dict[AlertKey, float | None]:
    """Every watched number at ``at_s``, as the board shows it, by alert.

    A scope the snapshot does not list (a queue with no traffic today) is not
    measured: its alert, if any, clears.  The longest wait is taken at
    ``at_s`` from when the oldest waiting interaction came, as the TV ticks it.
    """
    values: dict[AlertKey, float | None] = {}
    for name, rule in rules.items():
        for scope, view in _scopes(snapshot, rule):
            if rule.metric.startswith("agents"):  # agents.STATE, agents_over_limit.STATE
                table, state = rule.metric.split(".", 1)
                agents = view.get(table)
                raw = None if not isinstance(agents, Mapping) else agents.get(state)
                value = None if raw is None else float(raw)
            else:
                channels = view["channels"]
                assert isinstance(channels, Mapping)
                channel = channels.get(rule.channel)
                value = None if channel is None else _channel_value(channel, rule.metric, at_s)
            values[AlertKey(name, scope)] = shown(rule.metric, value)
    return values


def breached(rule: AlertRuleSettings, value: float | None) -> bool:
    """On the bad side: ``above`` at or above the threshold, ``below`` under it (as the levels draw them)."""
    if value is None:
        return False
    limit = _threshold(rule.metric, rule.threshold)
    return value >= limit if rule.when == "above" else value < limit


def cleared(rule: AlertRuleSettings, value: float | None) -> bool:
    """Far enough on the good side to start clearing: past the threshold by the hysteresis; undefined clears."""
    if value is None:
        return True
    if rule.when == "above":
        return value < _threshold(rule.metric, rule.threshold - rule.hysteresis)
    return value >= _threshold(rule.metric, rule.threshold + rule.hysteresis)


# ---------------------------------------------------------------- the fold


class AlertBook:
    """The alerts breached now, folded from one evaluation per second (``evaluate``)."""

    def __init__(self, rules: Mapping[str, AlertRuleSettings]) -> None:
        self.rules = dict(rules)
        self.active: dict[AlertKey, Alert] = {}
        self.last_at: int | None = None

    def evaluate(self, at_s: int, values: Mapping[AlertKey, float | None]) -> list[Transition]:
        """Fold the numbers at ``at_s`` in (an instant at or after the last); what fired or resolved now.

        An alert missing from ``values`` (its scope is gone) counts as cleared.
        """
        if self.last_at is not None and at_s < self.last_at:
            raise ValueError(f"alerts are evaluated forward in time: {at_s} < {self.last_at}")
        self.last_at = at_s
        out: list[Transition] = []
        for key in sorted(set(values) | set(self.active), key=lambda k: (k.rule, k.scope)):
            rule = self.rules[key.rule]
            value = values.get(key)
            now = self.active.get(key)
            if now is None:
                if breached(rule, value):
                    now = Alert(key, "pending", at_s, None, value)
                else:
                    continue
            elif now.state == "pending":
                if not breached(rule, value):
                    del self.active[key]
                    continue
                now = Alert(key, "pending", now.since, None, value)
            else:  # firing
                clearing = None if not cleared(rule, value) else (now.clearing_since or at_s)
                if clearing is not None and at_s - clearing >= rule.clear_for_s:
                    del self.active[key]
                    out.append(Transition("resolved", Alert(key, "firing", now.since, now.fired_at, value), at_s))
                    continue
                now = Alert(key, "firing", now.since, now.fired_at, value, clearing)
            if now.state == "pending" and at_s - now.since >= rule.for_s:
                now = Alert(key, "firing", now.since, at_s, value)
                out.append(Transition("fired", now, at_s))
            self.active[key] = now
        return out

    def restore(self, rule: str, scope: str, since: int, fired_at: int) -> bool:
        """Take an alert as firing since ``fired_at``, as recorded by the sender before this fold began.

        A board that starts while an alert fires restores it from the control
        topic (wallboard/control.py), so the alert keeps its ``fired_at`` and
        its idempotency key instead of firing again later.  The earliest
        firing wins; a rule no longer configured is ignored.  True if taken.
        """
        if rule not in self.rules:
            return False
        key = AlertKey(rule, scope)
        now = self.active.get(key)
        if now is not None and now.fired_at is not None and now.fired_at <= fired_at:
            return False
        self.active[key] = Alert(key, "firing", since, fired_at, None if now is None else now.value)
        return True

    def firing(self) -> list[Alert]:
        """The alerts firing now, by rule then scope."""
        return [a for _, a in sorted(self.active.items(), key=lambda kv: (kv[0].rule, kv[0].scope)) if a.fired_at]


def alerts_view(
    book: AlertBook,
    settings: Settings,
    as_of: str,
    acks: Mapping[str, tuple[str, str]] | None = None,
    describe: Callable[[AlertRuleSettings, str, float | None], AlertText] | None = None,
) -> AlertsView:
    """The alerts breached now as JSON: firing first (critical first), then pending; by rule and scope.

    ``acks``: who acknowledged a firing and when, by its idempotency key.
    ``describe``: the words the pages show (``text``), when given.
    """
    acks = acks or {}
    zone = settings.metrics.zone

    def iso(t: int) -> str:
        return datetime.fromtimestamp(t, zone).isoformat()

    rows: list[AlertRow] = []
    for key, alert in book.active.items():
        rule = book.rules[key.rule]
        rows.append(
            {
                "rule": key.rule,
                "scope": key.scope,
                "metric": rule.metric,
                "channel": rule.channel or None,
                "severity": rule.severity,
                "when": rule.when,
                "threshold": rule.threshold,
                "state": alert.state,
                "since": iso(alert.since),
                "fired_at": None if alert.fired_at is None else iso(alert.fired_at),
                "value": alert.value,
                "idempotency_key": alert.idempotency_key,
                "acknowledged_by": None,
                "acknowledged_at": None,
            }
        )
        ack = acks.get(alert.idempotency_key or "")
        if ack is not None:
            rows[-1]["acknowledged_by"], rows[-1]["acknowledged_at"] = ack
        if describe is not None:
            rows[-1]["text"] = describe(rule, key.scope, alert.value)
    rows.sort(key=lambda r: (r["state"] != "firing", r["severity"] != "critical", r["rule"], r["scope"]))
    return {"as_of": as_of, "alerts": rows}

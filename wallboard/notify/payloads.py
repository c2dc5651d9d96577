"""The JSON posted for an alert change: the generic shape, and the WeCom and DingTalk robots' markdown.

Pure: the same change gives the same bytes on every instance and every retry,
so that a receiver can deduplicate on ``idempotency_key``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from wallboard.alerts import Alert, Transition, shown
from wallboard.settings import AlertRuleSettings, Lang, WebhookFormat
from wallboard.wire import AlertText

METRIC_NAMES: dict[str, tuple[str, str]] = {
    "waiting": ("排队数", "waiting"),
    "longest_wait_s": ("最长等待", "longest wait"),
    "window.service_level": ("服务水平(滚动)", "service level (window)"),
    "today.service_level": ("今日服务水平", "service level today"),
    "window.abandon_rate": ("放弃率(滚动)", "abandon rate (window)"),
    "today.abandon_rate": ("今日放弃率", "abandon rate today"),
    "window.asa_s": ("平均应答速度(滚动)", "ASA (window)"),
    "today.asa_s": ("今日平均应答速度", "ASA today"),
    "window.aht_s": ("平均处理时长(滚动)", "AHT (window)"),
    "today.aht_s": ("今日平均处理时长", "AHT today"),
    "agents.available": ("空闲坐席", "available agents"),
    "agents.busy": ("通话中坐席", "busy agents"),
    "agents.wrap_up": ("话后处理坐席", "agents in wrap-up"),
    "agents.break": ("小休坐席", "agents on break"),
    "agents_over_limit.available": ("空闲超时坐席", "agents available too long"),
    "agents_over_limit.busy": ("通话超时坐席", "agents busy too long"),
    "agents_over_limit.wrap_up": ("话后处理超时坐席", "agents in wrap-up too long"),
    "agents_over_limit.break": ("小休超时坐席", "agents on break too long"),
}
"""(zh-CN, en) names of the numbers, as the board's pages name them."""

CHANNEL_NAMES = {"call": ("电话", "calls"), "sms": ("短信", "SMS")}
SEVERITY_NAMES = {"critical": ("严重", "CRITICAL"), "warning": ("警告", "WARNING")}
CHANGE_NAMES = {"fired": ("告警", "alert"), "resolved": ("恢复", "resolved")}


def _iso(t: int | None, zone: ZoneInfo) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, zone).isoformat()


def display(metric: str, value: float | None) -> str:
    """A number as the board shows it: 94%, 1:05, 35 s, 12."""
    v = shown(metric, value)
    if v is None:
        return "–"
    leaf = metric.rsplit(".", 1)[-1]
    if leaf in ("service_level", "abandon_rate"):
        return f"{round(v * 100)}%"
    if leaf.endswith("_s"):
        whole = int(v)
        return f"{whole} s" if whole < 60 else f"{whole // 60}:{whole % 60:02d}"
    return f"{int(v):,}"


def scope_name(scope: str, lang: Lang) -> str:
    if scope == "total":
        return "全中心" if lang == "zh-CN" else "whole centre"
    kind, _, name = scope.partition(":")
    return name if lang == "zh-CN" or kind == "queue" else f"{name} (group)"


def label(rule: AlertRuleSettings, scope: str, lang: Lang) -> str:
    """What is watched, where: "信用卡 电话 服务水平(滚动)", "whole centre calls ASA (window)"."""
    i = 0 if lang == "zh-CN" else 1
    metric = METRIC_NAMES[rule.metric][i]
    if rule.channel:
        metric = f"{CHANNEL_NAMES.get(rule.channel, (rule.channel, rule.channel))[i]} {metric}"
    return f"{scope_name(scope, lang)} {metric}"


def describe(rule: AlertRuleSettings, scope: str, value: float | None) -> AlertText:
    """The words and numbers a page shows for an alert, in both languages, as the board writes them."""
    return {
        "label": {"zh-CN": label(rule, scope, "zh-CN"), "en": label(rule, scope, "en")},
        "shown": display(rule.metric, value),
        "limit": display(rule.metric, rule.threshold),
    }


def text(change: Transition, rule: AlertRuleSettings, lang: Lang, zone: ZoneInfo) -> tuple[str, str]:
    """(title, markdown body) of a change, for a person reading a chat."""
    i = 0 if lang == "zh-CN" else 1
    alert = change.alert
    what = label(rule, alert.key.scope, lang)
    limit = display(rule.metric, rule.threshold)
    now = display(rule.metric, alert.value)
    since = datetime.fromtimestamp(alert.since, zone).strftime("%H:%M:%S")
    title = f"[{SEVERITY_NAMES[rule.severity][i]}] {CHANGE_NAMES[change.change][i]}: {what}"
    if lang == "zh-CN":
        relation = "高于" if rule.when == "above" else "低于"
        state = f"当前 {now}，{relation} {limit}（自 {since} 起）"
        if change.change == "resolved":
            state = f"已恢复，当前 {now}（告警自 {since} 起）"
        body = f"**{title}**\n\n> {state}\n>\n> 规则：{alert.key.rule}"
    else:
        relation = "above" if rule.when == "above" else "below"
        state = f"now {now}, {relation} {limit} (since {since})"
        if change.change == "resolved":
            state = f"back to normal, now {now} (breached since {since})"
        body = f"**{title}**\n\n> {state}\n>\n> rule: {alert.key.rule}"
    return title, body


def generic(change: Transition, rule: AlertRuleSettings, lang: Lang, zone: ZoneInfo) -> dict[str, Any]:
    """The generic JSON: every fact of the alert, plus a line of text in ``lang``."""
    alert: Alert = change.alert
    title, _ = text(change, rule, lang, zone)
    return {
        "event": change.change,
        "idempotency_key": alert.idempotency_key,
        "rule": alert.key.rule,
        "scope": alert.key.scope,
        "metric": rule.metric,
        "channel": rule.channel or None,
        "severity": rule.severity,
        "when": rule.when,
        "threshold": rule.threshold,
        "value": alert.value,
        "since": _iso(alert.since, zone),
        "fired_at": _iso(alert.fired_at, zone),
        "resolved_at": _iso(change.at, zone) if change.change == "resolved" else None,
        "text": title,
    }


def payload(
    change: Transition, rule: AlertRuleSettings, fmt: WebhookFormat, lang: Lang, zone: ZoneInfo
) -> dict[str, Any]:
    """The body posted to a webhook of format ``fmt``."""
    if fmt == "generic":
        return generic(change, rule, lang, zone)
    title, body = text(change, rule, lang, zone)
    if fmt == "wecom":  # 企业微信群机器人: https://developer.work.weixin.qq.com/document/path/91770
        return {"msgtype": "markdown", "markdown": {"content": body}}
    # 钉钉自定义机器人: https://open.dingtalk.com/document/robots/custom-robot-access
    return {"msgtype": "markdown", "markdown": {"title": title, "text": body}}


def delivery_key(change: Transition) -> str:
    """The ``Idempotency-Key`` header: one firing's fired and resolved are two deliveries."""
    return f"{change.alert.idempotency_key}-{change.change}"

"""Alert webhooks (wallboard/notify/, docs/alerts.md "Webhooks"), against a real HTTP receiver on 127.0.0.1.

The receiver answers what each test scripts (500, 400, a hang, the robots'
errcodes) and records every request it got, headers and body.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.conftest import make_settings
from tests.servers import in_thread, wait_until
from tests.test_routes import PARKED, QUEUE, T0, TEST_HOSTS, ev, running
from wallboard.alerts import Alert, AlertKey, Transition
from wallboard.notify.payloads import display, payload, text
from wallboard.notify.webhooks import Webhooks, accepted, signed_url
from wallboard.settings import Settings, with_overrides

ZONE = ZoneInfo("Asia/Shanghai")
BASE = 1_796_000_000  # 2026-11-30T08:53:20+08:00
KEY = AlertKey("sl", "queue:信用卡")


@dataclass
class Receiver:
    """A webhook receiver: answers ``script`` in turn (then 200), records what it got."""

    script: list[Any] = field(default_factory=list)
    got: list[tuple[dict[str, str], Any, str]] = field(default_factory=list)

    async def endpoint(self, request: Request) -> Response:
        body = json.loads(await request.body())
        self.got.append((dict(request.headers), body, str(request.url)))
        answer = self.script.pop(0) if self.script else 200
        if isinstance(answer, float):  # hang this long
            await asyncio.sleep(answer)
            return Response(status_code=200)
        if isinstance(answer, dict):
            return JSONResponse(answer)
        return Response(status_code=answer)


@contextmanager
def receiving(receiver: Receiver) -> Iterator[str]:
    app = Starlette(routes=[Route("/hook", receiver.endpoint, methods=["POST"])])
    with in_thread(app) as address:
        yield f"http://127.0.0.1:{address.port}/hook"


def settings(url: str, **hook: Any) -> Settings:
    return make_settings(
        timezone="Asia/Shanghai",
        alerts={
            "rules": {
                "sl": {
                    "metric": "window.service_level",
                    "channel": "call",
                    "scope": "queue",
                    "threshold": 0.8,
                    "severity": "critical",
                    "notify": ["chat"],
                }
            },
            "webhooks": {"chat": {"url": url, "attempts": 3, "backoff_s": 0.0, "timeout_s": 1.0, **hook}},
        },
    )


FIRED = Transition("fired", Alert(KEY, "firing", BASE - 120, BASE, 0.52), BASE)
RESOLVED = Transition("resolved", Alert(KEY, "firing", BASE - 120, BASE, 0.9), BASE + 600)


def deliver(s: Settings, change: Transition) -> str:
    async def go() -> str:
        hooks = Webhooks(s.alerts, ZONE)
        hook = s.alerts.webhooks["chat"]
        async with httpx.AsyncClient(timeout=hook.timeout_s) as client:
            return await hooks.deliver(client, "chat", hook, change)

    return asyncio.run(go())


def test_the_generic_payload_says_everything_with_the_key() -> None:
    s = settings("https://example.invalid/hook")
    body = payload(FIRED, s.alerts.rules["sl"], "generic", "en", ZONE)
    assert body == {
        "event": "fired",
        "idempotency_key": FIRED.alert.idempotency_key,
        "rule": "sl",
        "scope": "queue:信用卡",
        "metric": "window.service_level",
        "channel": "call",
        "severity": "critical",
        "when": "below",
        "threshold": 0.8,
        "value": 0.52,
        "since": "2026-11-30T08:51:20+08:00",
        "fired_at": "2026-11-30T08:53:20+08:00",
        "resolved_at": None,
        "text": "[CRITICAL] alert: 信用卡 calls service level (window)",
    }
    resolved = payload(RESOLVED, s.alerts.rules["sl"], "generic", "zh-CN", ZONE)
    assert resolved["event"] == "resolved" and resolved["resolved_at"] == "2026-11-30T09:03:20+08:00"
    assert resolved["idempotency_key"] == body["idempotency_key"]  # the same firing


def test_the_robots_get_their_markdown_in_chinese() -> None:
    rule = settings("https://example.invalid/hook").alerts.rules["sl"]
    wecom = payload(FIRED, rule, "wecom", "zh-CN", ZONE)
    assert wecom == {
        "msgtype": "markdown",
        "markdown": {
            "content": "**[严重] 告警: 信用卡 电话 服务水平(滚动)**\n\n"
            "> 当前 52%，低于 80%（自 08:51:20 起）\n>\n> 规则：sl"
        },
    }
    ding = payload(RESOLVED, rule, "dingtalk", "zh-CN", ZONE)
    assert ding["msgtype"] == "markdown" and ding["markdown"]["title"] == "[严重] 恢复: 信用卡 电话 服务水平(滚动)"
    assert "已恢复，当前 90%" in ding["markdown"]["text"]


def test_numbers_read_as_on_the_board() -> None:
    assert display("window.service_level", 0.7996) == "80%"
    assert display("longest_wait_s", 65.9) == "1:05" and display("window.asa_s", 35.4) == "35 s"
    assert display("waiting", 63767) == "63,767" and display("window.asa_s", None) == "–"


def test_a_dingtalk_robot_with_a_secret_gets_its_signature() -> None:
    s = settings("https://oapi.dingtalk.com/robot/send?access_token=T", format="dingtalk", secret="SECabc")
    url = signed_url(s.alerts.webhooks["chat"], 1796000000123)
    expected = base64.b64encode(hmac.new(b"SECabc", b"1796000000123\nSECabc", hashlib.sha256).digest()).decode()
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query == {"access_token": ["T"], "timestamp": ["1796000000123"], "sign": [expected]}
    plain = settings("https://x.invalid/h").alerts.webhooks["chat"]
    assert signed_url(plain, 1) == "https://x.invalid/h"


def test_what_counts_as_delivered_refused_or_worth_a_retry() -> None:
    generic = settings("https://x.invalid/h").alerts.webhooks["chat"]
    robot = settings("https://x.invalid/h", format="wecom").alerts.webhooks["chat"]

    def answer(status: int, body: Any = None) -> httpx.Response:
        return httpx.Response(status, json=body)

    assert accepted(generic, answer(204)) is True
    assert accepted(generic, answer(400)) is False and accepted(generic, answer(404)) is False
    assert accepted(generic, answer(429)) is None and accepted(generic, answer(503)) is None
    assert accepted(robot, answer(200, {"errcode": 0})) is True
    assert accepted(robot, answer(200, {"errcode": 45009})) is None  # rate limited
    assert accepted(robot, answer(200, {"errcode": 93000})) is False  # bad key
    assert accepted(robot, httpx.Response(200, content=b"<html>")) is None


def test_retries_carry_the_same_key_and_stop_at_the_first_success() -> None:
    receiver = Receiver(script=[500, 503])
    with receiving(receiver) as url:
        assert deliver(settings(url), FIRED) == "delivered"
    assert len(receiver.got) == 3
    keys = {headers["idempotency-key"] for headers, _, _ in receiver.got}
    assert keys == {f"{FIRED.alert.idempotency_key}-fired"}
    assert all(body["idempotency_key"] == FIRED.alert.idempotency_key for _, body, _ in receiver.got)


def test_a_refusal_is_not_retried_and_a_dead_receiver_is_given_up() -> None:
    receiver = Receiver(script=[400])
    with receiving(receiver) as url:
        assert deliver(settings(url), FIRED) == "refused"
    assert len(receiver.got) == 1
    hanging = Receiver(script=[3.0, 3.0, 3.0])
    with receiving(hanging) as url:
        started = time.monotonic()
        assert deliver(settings(url, timeout_s=0.3), FIRED) == "failed"
        assert time.monotonic() - started < 2.5  # three attempts of 0.3 s, not three hangs of 3 s
    assert deliver(settings("http://127.0.0.1:1/hook"), FIRED) == "failed"  # nobody listens


def test_a_robot_rate_limit_is_retried() -> None:
    receiver = Receiver(script=[{"errcode": 45009, "errmsg": "api freq out of limit"}, {"errcode": 0}])
    with receiving(receiver) as url:
        assert deliver(settings(url, format="wecom"), FIRED) == "delivered"
    assert [body["msgtype"] for _, body, _ in receiver.got] == ["markdown", "markdown"]


def test_submit_never_waits_and_counts_what_it_drops(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("wallboard.notify.webhooks.QUEUE_SIZE", 2)

    async def go() -> dict[Any, int]:
        hooks = Webhooks(settings("https://x.invalid/h").alerts, ZONE)
        for _ in range(5):
            hooks.submit(FIRED)
        hooks.submit(Transition("fired", Alert(AlertKey("unknown", "total"), "firing", 1, 2, 0.0), 2))
        return dict(hooks.counts())

    assert asyncio.run(go()) == {("chat", "dropped"): 3}


def test_the_board_posts_a_firing_once_and_its_tick_never_waits_for_the_receiver() -> None:
    """The receiver hangs 2 s on the first attempt: the ticks go on meanwhile, the retry delivers, same key."""
    receiver = Receiver(script=[2.0])
    with receiving(receiver) as url:
        s = with_overrides(
            settings(url, timeout_s=0.5),
            web={"push_interval": PARKED, "allowed_hosts": TEST_HOSTS},
        )
        with running(s, batches=[[ev("call.offered", T0 - 100, "i9"), ev("call.abandoned", T0 - 50, "i9")]]) as board:
            board.settle()
            ticks = []
            for second in range(0, 70):
                board.clock.now = T0 + second
                started = time.perf_counter()
                board.tick()
                ticks.append(time.perf_counter() - started)
            hooks = board.live.webhooks
            assert hooks is not None
            # The receiver records a request before it answers, and the worker counts once the answer is in:
            # wait for the count (the retry's answer), not for the request.
            wait_until(lambda: hooks.counts().get(("chat", "delivered")) == 1, "the retry delivered", 10)
            counts = hooks.counts()
            scraped = board.client.get("/metrics").text
    assert max(ticks) < 0.25, max(ticks)  # a tick is a portal round trip: nowhere near the 0.5 s attempt
    bodies = [body for _, body, _ in receiver.got]
    assert [b["event"] for b in bodies] == ["fired", "fired"]  # the hung attempt, then the retry
    assert bodies[0]["scope"] == f"queue:{QUEUE}" and bodies[0]["value"] == 0.0
    assert len({b["idempotency_key"] for b in bodies}) == 1
    assert counts == {("chat", "delivered"): 1}
    assert 'wallboard_webhook_deliveries_total{result="delivered",webhook="chat"} 1.0' in scraped


def test_scopes_and_english_text() -> None:
    rule = settings("https://x.invalid/h").alerts.rules["sl"]
    total = Transition("resolved", Alert(AlertKey("sl", "total"), "firing", BASE - 60, BASE, 0.85), BASE + 60)
    title, body = text(total, rule, "en", ZONE)
    assert title == "[CRITICAL] resolved: whole centre calls service level (window)"
    assert "back to normal, now 85% (breached since 08:52:20)" in body
    assert text(total, rule, "zh-CN", ZONE)[0].startswith("[严重] 恢复: 全中心")
    group = Transition("fired", Alert(AlertKey("sl", "group:个人业务"), "firing", BASE, BASE, 0.5), BASE)
    assert text(group, rule, "en", ZONE)[0] == "[CRITICAL] alert: 个人业务 (group) calls service level (window)"

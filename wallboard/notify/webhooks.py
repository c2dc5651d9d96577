"""Posting alert changes to webhooks: a queue and a worker per webhook, timeouts, retries with backoff.

Why a worker per webhook: a receiver that hangs or refuses must delay neither
the tick (``submit`` only queues, and drops with a count when a queue is full)
nor the other receivers.  Every attempt of one change carries the same
``Idempotency-Key`` header (and key in the generic body), so a receiver that
got an attempt whose answer was lost drops the retry; the same key comes from
whichever instance sends (docs/alerts.md "One sender").
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from typing import Literal
from zoneinfo import ZoneInfo

import httpx
import orjson

from wallboard.alerts import Transition
from wallboard.notify.payloads import delivery_key, payload
from wallboard.settings import AlertSettings, WebhookSettings

log = logging.getLogger(__name__)

QUEUE_SIZE = 1000
"""Changes waiting per webhook; more are dropped (counted, logged): a receiver down for hours is not a leak."""
BACKOFF_MAX_S = 60.0

Result = Literal["delivered", "refused", "failed", "dropped"]
"""delivered: 2xx (and errcode 0 for the robots); refused: a 4xx a retry cannot fix; failed: gave up after
every attempt; dropped: the queue was full."""


def signed_url(hook: WebhookSettings, now_ms: int) -> str:
    """The URL to post to: a DingTalk robot with a secret wants ``timestamp`` and ``sign`` added."""
    if hook.format != "dingtalk" or not hook.secret:
        return hook.url
    digest = hmac.new(hook.secret.encode(), f"{now_ms}\n{hook.secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest).decode())
    return f"{hook.url}{'&' if '?' in hook.url else '?'}timestamp={now_ms}&sign={sign}"


def accepted(hook: WebhookSettings, response: httpx.Response) -> bool | None:
    """True: delivered; False: refused for good; None: worth another attempt."""
    status = response.status_code
    if 200 <= status < 300:
        if hook.format == "generic":
            return True
        try:
            code = orjson.loads(response.content).get("errcode", 0)
        except (orjson.JSONDecodeError, AttributeError):
            return None
        # The robots answer 200 with an errcode; a rate limit (WeCom 45009, DingTalk 130101) is worth a retry.
        if code == 0:
            return True
        return None if code in (45009, 130101, -1) else False
    if status in (408, 425, 429) or status >= 500:
        return None
    return False


class Webhooks:
    """The webhooks of ``[alerts.webhooks]``, each with its queue and worker (``run``)."""

    def __init__(
        self,
        settings: AlertSettings,
        zone: ZoneInfo,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.zone = zone
        self._sleep = sleep
        self._transport = transport
        self.queues: dict[str, asyncio.Queue[Transition]] = {
            name: asyncio.Queue(maxsize=QUEUE_SIZE) for name in settings.webhooks
        }
        self.results: dict[tuple[str, Result], int] = {}

    def submit(self, change: Transition) -> None:
        """Queue a change for every webhook its rule names; never waits."""
        rule = self.settings.rules.get(change.alert.key.rule)
        for name in () if rule is None else rule.notify:
            try:
                self.queues[name].put_nowait(change)
            except asyncio.QueueFull:
                self._count(name, "dropped")
                log.warning("webhook %s: queue full, alert %s %s dropped", name, change.alert.key, change.change)

    async def run(self) -> None:
        """A worker per webhook, until cancelled."""
        await asyncio.gather(*(self._worker(name, hook) for name, hook in self.settings.webhooks.items()))

    async def _worker(self, name: str, hook: WebhookSettings) -> None:
        async with httpx.AsyncClient(
            timeout=hook.timeout_s, follow_redirects=False, transport=self._transport
        ) as client:
            queue = self.queues[name]
            while True:
                change = await queue.get()
                self._count(name, await self.deliver(client, name, hook, change))

    async def deliver(self, client: httpx.AsyncClient, name: str, hook: WebhookSettings, change: Transition) -> Result:
        """Post one change, retrying what a retry can fix, with backoff doubling up to a minute."""
        rule = self.settings.rules[change.alert.key.rule]
        body = orjson.dumps(payload(change, rule, hook.format, hook.lang, self.zone))
        headers = {"Content-Type": "application/json", "Idempotency-Key": delivery_key(change)}
        pause = hook.backoff_s
        why = ""
        for attempt in range(1, hook.attempts + 1):
            try:
                response = await client.post(signed_url(hook, int(time.time() * 1000)), content=body, headers=headers)
                verdict = accepted(hook, response)
                why = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                verdict, why = None, type(exc).__name__
            if verdict is True:
                log.info(
                    "webhook %s: alert %s %s delivered (attempt %d)", name, rule_scope(change), change.change, attempt
                )
                return "delivered"
            if verdict is False:
                log.error("webhook %s: alert %s %s refused: %s", name, rule_scope(change), change.change, why)
                return "refused"
            if attempt < hook.attempts:
                await self._sleep(pause)
                pause = min(BACKOFF_MAX_S, max(pause * 2, 0.1))
        log.error(
            "webhook %s: alert %s %s not delivered after %d attempts (%s)",
            name,
            rule_scope(change),
            change.change,
            hook.attempts,
            why,
        )
        return "failed"

    def _count(self, name: str, result: Result) -> None:
        self.results[(name, result)] = self.results.get((name, result), 0) + 1

    def counts(self) -> Mapping[tuple[str, Result], int]:
        return dict(self.results)


def rule_scope(change: Transition) -> str:
    return f"{change.alert.key.rule}/{change.alert.key.scope}"

"""Two instances of `wallboard serve` behind a real nginx (deploy/nginx/wallboard.conf, two `server` lines).

No sticky sessions and no protocol between the instances: each is a replica of
the Kafka log (the event topics, and the control topic for what people set).
The test checks what docs/deployment.md "Several instances" promises: the
same snapshot at the same `as_of` on both; a broadcast through one reaches the
boards on the other; killing one moves its boards (the TV page in Chromium
among them) to the other, which serves live data within seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import signal
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from playwright.sync_api import sync_playwright
from websockets.sync.client import connect

from tests import nginx
from tests.kafka_broker import create_topic
from tests.servers import Address, AppProcess, answers, free_port, wait_until
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.kafka, pytest.mark.browser]

SUPERVISOR = "instances-test-supervisor-token-0123456789"
DISPLAY = "instances-test-display-token-0123456789ab"
BEARER = {"Authorization": f"Bearer {SUPERVISOR}"}


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def config(path: Path, bootstrap: str, prefix: str, origin: str) -> Path:
    path.write_text(
        f"""timezone = "Asia/Shanghai"
[kafka]
bootstrap_servers = "{bootstrap}"
topics = ["{prefix}calls"]
control_topic = "{prefix}board-control"
reconnect_backoff_max = 1.0
[web]
push_interval = 0.5
allowed_hosts = ["127.0.0.1", "localhost"]
allowed_origins = ["{origin}"]
[auth]
mode = "required"
session_secret = "{"s" * 48}"
trusted_proxies = ["127.0.0.1"]
[auth.tokens.wall]
role = "supervisor"
sha256 = "{sha(SUPERVISOR)}"
[auth.tokens.lobby]
role = "display"
sha256 = "{sha(DISPLAY)}"
""",
        encoding="utf-8",
    )
    return path


def produce(bootstrap: str, topic: str, events: list[dict[str, Any]]) -> None:
    async def go() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
        await producer.start()
        try:
            for e in events:
                await producer.send(topic, json.dumps(e).encode(), key=str(e["interaction_id"]).encode())
            await producer.flush()
        finally:
            await producer.stop()

    asyncio.run(go())


def calls(n: int, start_ms: int) -> list[dict[str, Any]]:
    """n calls on two queues: offered, half answered after 8 s, the others still waiting."""
    out: list[dict[str, Any]] = []
    for i in range(n):
        queue = "信用卡" if i % 2 else "个人网银"
        at = start_ms + i * 500
        out.append({"type": "call.offered", "event_id": f"o{i}", "ts": at, "interaction_id": f"c{i}", "queue": queue})
        if i % 2 == 0:
            out.append(
                {
                    "type": "call.answered",
                    "event_id": f"a{i}",
                    "ts": at + 8000,
                    "interaction_id": f"c{i}",
                    "queue": queue,
                    "agent_id": f"A{i}",
                }
            )
    return out


def snapshot(board: AppProcess) -> dict[str, Any]:
    request = urllib.request.Request(board.url + "/api/snapshot", headers=BEARER)
    with urllib.request.urlopen(request, timeout=5) as resp:
        data: dict[str, Any] = json.load(resp)
    data.pop("source")
    return data


@pytest.fixture
def tls(tmp_path: Path) -> nginx.TLSFiles:
    try:
        return nginx.tls_files(tmp_path / "tls-work")
    except (nginx.NginxError, OSError) as exc:  # pragma: no cover - scripts/install provides openssl
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def two(kafka_bootstrap: str, topic_prefix: str, tmp_path: Path, tls: nginx.TLSFiles) -> Iterator[Any]:
    """nginx in front of two board processes (A started first; B started by the test when it wants)."""
    asyncio.run(create_topic(kafka_bootstrap, f"{topic_prefix}calls", 1))
    ports = [free_port(), free_port()]
    with nginx.running([Address(p) for p in ports], tmp_path / "nginx", tls) as proxy:
        path = config(tmp_path / "wallboard.toml", kafka_bootstrap, topic_prefix, proxy.origin)
        boards = [
            AppProcess.wallboard(
                "serve",
                port=port,
                env={"WALLBOARD_CONFIG": str(path)},
                ready=answers("/readyz"),
                timeout_s=90,
                log=tmp_path / f"board-{name}.log",
            )
            for name, port in zip("ab", ports, strict=True)
        ]
        try:
            yield proxy, boards
        finally:
            for b in boards:
                b.stop()


def test_two_instances_behind_nginx_agree_share_the_broadcast_and_take_over(
    two: Any, kafka_bootstrap: str, topic_prefix: str
) -> None:
    proxy, (a, b) = two
    now_ms = int(time.time() * 1000)
    produce(kafka_bootstrap, f"{topic_prefix}calls", calls(20, now_ms - 60_000))
    a.start()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(ignore_https_errors=True).new_page()
            # B is down: nginx sends the TV to A (a display token link: a cookie, then /tv).
            page.goto(f"{proxy.origin}/tv?token={DISPLAY}&lang=en")
            page.wait_for_function("() => document.body.dataset.state === 'fresh'", timeout=20_000)
            b.start()  # nginx marked it failed at the page's first request: tried again 2 s later

            # 1. The same snapshot at the same as_of on both.
            def same_second() -> bool:
                left, right = snapshot(a), snapshot(b)
                return left["as_of"] == right["as_of"] and left == right

            wait_until(same_second, "A and B to show the same snapshot at one as_of", 20)
            totals = snapshot(a)["totals"]["channels"]["call"]
            assert totals["waiting"] == 10 and totals["today"]["offered"] == 20

            # 2. A broadcast posted through A reaches the boards on B, and every board behind nginx.
            with contextlib.ExitStack() as sockets:
                ws_b = sockets.enter_context(
                    connect(f"ws://127.0.0.1:{b.port}/ws?views=summary", additional_headers=BEARER)
                )
                behind = [
                    sockets.enter_context(proxy.connect_ws("/ws?views=summary", additional_headers=BEARER))
                    for _ in range(4)
                ]
                for ws in [ws_b, *behind]:
                    first = [json.loads(ws.recv(timeout=5)) for _ in range(3)]
                    assert [m["type"] for m in first] == ["hello", "summary", "broadcast"]
                request = urllib.request.Request(
                    a.url + "/api/broadcast",
                    data=json.dumps({"text": "Fire drill at 15:00"}).encode(),
                    headers={**BEARER, "Content-Type": "application/json"},
                    method="POST",
                )
                posted = time.monotonic()
                with urllib.request.urlopen(request, timeout=10) as resp:
                    assert resp.status == 200
                for ws in [ws_b, *behind]:
                    while (msg := json.loads(ws.recv(timeout=5)))["type"] != "broadcast":
                        pass
                    assert msg["text"] == "Fire drill at 15:00"
                assert time.monotonic() - posted < 1.5
            page.wait_for_function(
                "t => (document.querySelector('#ticker').textContent || '').includes(t)",
                arg="Fire drill at 15:00",
                timeout=5_000,
            )

            # 3. Kill A: the TV (on A) reconnects through nginx to B by itself and shows live data again.
            os.kill(a.pid, signal.SIGKILL)
            assert a.proc is not None
            a.proc.wait(10)
            a.proc = None
            killed = time.monotonic()
            current = "() => ['fresh', 'quiet'].includes(document.body.dataset.state)"  # quiet: no event for 60 s
            page.wait_for_function(f"() => !({current})()", timeout=10_000)
            page.wait_for_function(current, timeout=20_000)
            back = time.monotonic() - killed
            assert back < 10, back
            assert "Fire drill at 15:00" in (page.locator("#ticker").text_content() or "")  # B had it too
            # The TV shows B's numbers (its own: 10 calls waiting), and B's heartbeats keep it fresh.
            waiting = page.get_attribute('[data-channel="call"] .tile[data-metric="waiting"] .tile-value', "data-raw")
            assert waiting == "10"
            time.sleep(2)
            assert page.evaluate(current)
        finally:
            browser.close()

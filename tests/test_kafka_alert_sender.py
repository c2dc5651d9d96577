"""One alert sender among three instances of `wallboard serve`, elected by Kafka's group coordination.

Three real processes share a real broker; the one that owns the control
topic's partition in ``[kafka] sender_group`` posts the webhooks.  The test
kills it with SIGKILL: another takes over within the session timeout and
delivers what the dead one did not, with the same idempotency keys
(docs/alerts.md "One sender").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from tests.kafka_broker import create_topic, read_topic
from tests.servers import AppProcess, answers, wait_until
from tests.test_webhooks import Receiver, receiving

pytestmark = [pytest.mark.kafka]

SESSION_S = 6


def config(path: Path, bootstrap: str, prefix: str, hook: str) -> Path:
    path.write_text(
        f"""timezone = "Asia/Shanghai"
[kafka]
bootstrap_servers = "{bootstrap}"
topics = ["{prefix}calls"]
control_topic = "{prefix}board-control"
sender_group = "{prefix}sender"
sender_session_timeout = {SESSION_S}
reconnect_backoff_max = 1.0
[web]
push_interval = 1.0
[alerts]
topic = "{prefix}alerts"
[alerts.rules.waiting]
metric = "waiting"
channel = "call"
scope = "queue"
when = "above"
threshold = 1
for_s = 0
clear_for_s = 0
severity = "critical"
notify = ["hook"]
[alerts.webhooks.hook]
url = "{hook}"
backoff_s = 0.2
timeout_s = 2
""",
        encoding="utf-8",
    )
    return path


def produce(bootstrap: str, topic: str, *events: dict[str, object]) -> None:
    async def go() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        try:
            for e in events:
                await producer.send_and_wait(topic, json.dumps(e).encode(), key=str(e["interaction_id"]).encode())
        finally:
            await producer.stop()

    asyncio.run(go())


def call(kind: str, iid: str, **extra: object) -> dict[str, object]:
    return {
        "type": f"call.{kind}",
        "event_id": f"{kind}-{iid}",
        "ts": int(time.time() * 1000),
        "interaction_id": iid,
        "queue": "q1",
        **extra,
    }


def senders(boards: list[AppProcess]) -> list[AppProcess]:
    return [b for b in boards if b.get("/readyz")["control"]["sender"]]


def test_one_sender_among_three_and_another_takes_over_after_sigkill(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    asyncio.run(create_topic(kafka_bootstrap, f"{topic_prefix}calls", 1))
    receiver = Receiver()
    with receiving(receiver) as hook:
        path = config(tmp_path / "wallboard.toml", kafka_bootstrap, topic_prefix, hook)
        boards = [
            AppProcess.wallboard(
                "serve",
                env={"WALLBOARD_CONFIG": str(path)},
                ready=answers("/readyz"),
                timeout_s=90,
                log=tmp_path / f"board-{i}.log",
            )
            for i in range(3)
        ]
        try:
            for b in boards:
                b.start()
            stable: list[float] = []

            def one_sender_for_2_s() -> bool:
                if len(senders(boards)) != 1:
                    stable.clear()
                    return False
                stable.append(time.monotonic())
                return stable[-1] - stable[0] >= 2  # the group has settled: every member joined

            wait_until(one_sender_for_2_s, "one sender, settled", 40)
            (first,) = senders(boards)

            # A customer waits on q1: every instance folds the alert; the sender alone posts it.
            produce(kafka_bootstrap, f"{topic_prefix}calls", call("offered", "i1"))
            wait_until(lambda: len(receiver.got) >= 1, "the firing delivered", 20)
            time.sleep(3)  # any other instance that (wrongly) posted would have by now
            fired = [body for _, body, _ in receiver.got]
            assert [b["event"] for b in fired] == ["fired"], fired
            key = fired[0]["idempotency_key"]
            assert all(b.get("/api/alerts")["alerts"][0]["idempotency_key"] == key for b in boards)

            # The sender dies without a word; the customer is answered meanwhile.
            os.kill(first.pid, signal.SIGKILL)
            assert first.proc is not None
            first.proc.wait(10)
            first.proc = None
            killed = time.monotonic()
            produce(kafka_bootstrap, f"{topic_prefix}calls", call("answered", "i1", agent_id="a1"))
            survivors = [b for b in boards if b is not first]
            wait_until(lambda: len(senders(survivors)) == 1, "a new sender", SESSION_S + 20)
            took_over = time.monotonic() - killed
            wait_until(lambda: any(b["event"] == "resolved" for _, b, _ in receiver.got), "the resolution", 20)
            resolved = [b for _, b, _ in receiver.got if b["event"] == "resolved"]
            assert {b["idempotency_key"] for b in resolved} == {key}  # the firing's key, whoever sends
            assert took_over < SESSION_S + 15

            # The new sender posts the next firing, once.
            produce(kafka_bootstrap, f"{topic_prefix}calls", call("offered", "i2"))
            wait_until(lambda: sum(b["event"] == "fired" for _, b, _ in receiver.got) >= 2, "the second firing", 20)
            time.sleep(3)
            events = [(b["event"], b["idempotency_key"]) for _, b, _ in receiver.got]
            second = [k for e, k in events if e == "fired" and k != key]
            assert len(set(second)) == 1 and len(second) == 1, events
            # Every delivery of one change carries one key; a change is delivered at most twice (the overlap).
            per_change: dict[tuple[str, str], int] = {}
            for event, k in events:
                per_change[(event, k)] = per_change.get((event, k), 0) + 1
            assert max(per_change.values()) <= 2, per_change
            keys = {h["idempotency-key"] for h, _, _ in receiver.got}
            assert keys == {f"{k}-{e}" for e, k in per_change}
            # The same changes, in the alert topic, keyed by alert, for other systems.
            records = asyncio.run(read_topic(kafka_bootstrap, f"{topic_prefix}alerts"))
            written = [(json.loads(r.value)["event"], json.loads(r.value)["idempotency_key"]) for r in records]
            assert set(written) == set(per_change) and len(written) <= 2 * len(per_change)
            assert {r.key for r in records} == {b"waiting\x1fqueue:q1"}
        finally:
            for b in boards:
                b.stop()


def test_the_alert_topic_gets_each_change_keyed_by_alert(kafka_bootstrap: str, topic_prefix: str) -> None:
    from zoneinfo import ZoneInfo

    from tests.conftest import make_settings
    from wallboard.alerts import Alert, AlertKey, Transition
    from wallboard.notify.alert_topic import AlertTopic

    s = make_settings(
        alerts={"topic": f"{topic_prefix}alerts", "rules": {"w": {"metric": "waiting", "channel": "call"}}}
    )
    fired = Alert(AlertKey("w", "queue:信用卡"), "firing", 1_796_000_000, 1_796_000_060, 12.0)

    async def go() -> tuple[int, int]:
        topic = AlertTopic(s.alerts, ZoneInfo("Asia/Shanghai"), {"bootstrap_servers": kafka_bootstrap})
        task = asyncio.create_task(topic.run())
        topic.submit(Transition("fired", fired, 1_796_000_060))
        topic.submit(Transition("resolved", fired, 1_796_000_200))
        topic.submit(Transition("fired", Alert(AlertKey("gone", "total"), "firing", 1, 2, 0.0), 2))  # no rule
        deadline = time.monotonic() + 30
        while topic.sent < 2 and time.monotonic() < deadline and not task.done():  # noqa: ASYNC110 - its counter
            await asyncio.sleep(0.05)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return topic.sent, topic.failed

    assert asyncio.run(go()) == (2, 0)
    records = asyncio.run(read_topic(kafka_bootstrap, f"{topic_prefix}alerts"))
    assert [r.key for r in records] == ["w\x1fqueue:信用卡".encode()] * 2
    bodies = [json.loads(r.value) for r in records]
    assert [b["event"] for b in bodies] == ["fired", "resolved"]
    assert bodies[1]["resolved_at"] == "2026-11-30T08:56:40+08:00"
    assert dict(records[0].headers)["idempotency-key"] == f"{bodies[0]['idempotency_key']}-fired".encode()

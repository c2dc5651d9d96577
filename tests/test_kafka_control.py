"""The control topic on a real broker: a broadcast posted through one instance reaches every instance, and stays.

Several instances of the board serve one centre behind a load balancer; what a
person sets is written to the compacted control topic and read back by every
instance from its beginning (wallboard/control.py, docs/kafka.md "The control
topic").
"""

from __future__ import annotations

import asyncio
import json
import time
import warnings
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from starlette.exceptions import StarletteDeprecationWarning

from tests.conftest import make_settings
from tests.kafka_broker import create_topic, read_topic
from tests.servers import wait_until
from tests.test_routes import TEST_HOSTS
from wallboard.control import Broadcast, encode_broadcast
from wallboard.settings import Settings
from wallboard.sources.control import KafkaControl
from wallboard.sources.kafka import KafkaSource, client_options
from wallboard.web import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

pytestmark = [pytest.mark.kafka]


def settings_for(bootstrap: str, prefix: str, **kafka: Any) -> Settings:
    return make_settings(
        kafka={
            "bootstrap_servers": bootstrap,
            "topics": [f"{prefix}calls"],
            "control_topic": f"{prefix}board-control",
            "reconnect_backoff_max": 1.0,
            **kafka,
        },
        web={"allowed_hosts": TEST_HOSTS},
    )


@contextmanager
def instance(s: Settings) -> Iterator[TestClient]:
    """One board instance: the app over a Kafka source and the Kafka control topic, lifespan running."""
    source = KafkaSource(s.kafka, s.metrics)
    control = KafkaControl(s.kafka, client_options(s.kafka))
    with TestClient(create_app(s, source, control=control), base_url="http://localhost") as client:
        yield client


def ready(client: TestClient) -> bool:
    return bool(client.get("/readyz").status_code == 200)


def test_a_broadcast_through_one_instance_reaches_the_boards_of_another_within_a_second(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    s = settings_for(kafka_bootstrap, topic_prefix)
    asyncio.run(create_topic(kafka_bootstrap, f"{topic_prefix}calls", 1))
    with ExitStack() as stack:
        a = stack.enter_context(instance(s))
        b = stack.enter_context(instance(s))
        wait_until(lambda: ready(a) and ready(b), "both instances ready")
        with b.websocket_connect("/ws", headers={"Origin": "http://testserver"}) as ws:
            seen = [ws.receive_json() for _ in range(3)]  # hello, snapshot, broadcast
            assert seen[-1]["type"] == "broadcast" and seen[-1]["text"] == ""
            posted = time.monotonic()
            r = a.post("/api/broadcast", json={"text": "Fire drill at 15:00"})
            assert r.status_code == 200, r.text
            assert r.json()["text"] == "Fire drill at 15:00"  # the posting instance read its own write
            while (msg := ws.receive_json())["type"] != "broadcast":
                pass
            assert msg["text"] == "Fire drill at 15:00" and msg["set_at"] == r.json()["set_at"]
            assert time.monotonic() - posted < 1.0
        assert b.get("/api/broadcast").json() == r.json()


def test_a_restarted_instance_shows_the_broadcast_and_a_clear_is_kept_too(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    s = settings_for(kafka_bootstrap, topic_prefix)
    asyncio.run(create_topic(kafka_bootstrap, f"{topic_prefix}calls", 1))
    with instance(s) as a:
        wait_until(lambda: ready(a), "ready")
        a.post("/api/broadcast", json={"text": "first"})
        set_second = a.post("/api/broadcast", json={"text": "第二条：系统维护"}).json()
    with instance(s) as again:
        wait_until(lambda: ready(again), "ready after the restart")
        assert again.get("/api/broadcast").json() == set_second
        assert again.get("/readyz").json()["control"]["records"] == 2
        cleared = again.post("/api/broadcast", json={"text": ""}).json()
    with instance(s) as third:
        wait_until(lambda: ready(third), "ready after the second restart")
        assert third.get("/api/broadcast").json() == cleared and cleared["text"] == ""
        assert cleared["set_at"] is not None


def test_the_control_topic_is_created_compacted_with_one_partition(kafka_bootstrap: str, topic_prefix: str) -> None:
    s = settings_for(kafka_bootstrap, topic_prefix)
    asyncio.run(create_topic(kafka_bootstrap, f"{topic_prefix}calls", 1))
    with instance(s) as a:
        wait_until(lambda: ready(a), "ready")
        control = a.get("/readyz").json()["control"]
        assert control["kind"] == "kafka" and control["topic"] == f"{topic_prefix}board-control"
        assert control["connected"] and control["last_error"] is None

    async def described() -> tuple[int, str]:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            (meta,) = await admin.describe_topics([f"{topic_prefix}board-control"])
            (config,) = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, f"{topic_prefix}board-control", {"cleanup.policy": None})]
            )
        finally:
            await admin.close()
        entries = config.resources[0][4]
        policy = next(e[1] for e in entries if e[0] == "cleanup.policy")
        return len(meta["partitions"]), policy

    assert asyncio.run(described()) == (1, "compact")


def test_foreign_records_in_the_control_topic_are_counted_and_change_nothing(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    """Anyone who can write to the topic by mistake, or an older or newer board, cannot break the screens."""
    s = settings_for(kafka_bootstrap, topic_prefix, control_topic=f"{topic_prefix}ctl")
    asyncio.run(create_topic(kafka_bootstrap, f"{topic_prefix}calls", 1))
    asyncio.run(create_topic(kafka_bootstrap, f"{topic_prefix}ctl", 1, configs={"cleanup.policy": "compact"}))
    good_key, good_value = encode_broadcast(Broadcast("kept", "2026-11-30T09:00:00.000+08:00", "alice"))
    records = [
        (good_key, good_value),
        (b"broadcast", b"not json"),
        (b"broadcast", b'{"v":1,"text":"hidden\\u202etext","set_at":null,"by":null}'),
        (b"broadcast", b'{"v":1,"text":"' + b"x" * 6000 + b'","set_at":null,"by":null}'),
        (b"broadcast", b'{"v":99,"text":"from the future"}'),
        (b"acknowledgement/x", b"{}"),  # a key a later version may write (a compacted topic refuses no key)
    ]

    async def produce() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        try:
            for key, value in records:
                await producer.send_and_wait(f"{topic_prefix}ctl", value=value, key=key)
        finally:
            await producer.stop()

    asyncio.run(produce())
    with instance(s) as a:
        wait_until(lambda: ready(a), "ready")
        assert a.get("/api/broadcast").json() == {"text": "kept", "set_at": "2026-11-30T09:00:00.000+08:00"}
        control = a.get("/readyz").json()["control"]
        assert control["records"] == len(records)
        assert control["rejected"] == {
            "not_json": 1,
            "bad_text": 1,
            "too_long": 1,
            "newer_version": 1,
            "unknown_key": 1,
        }
        assert a.get("/healthz").status_code == 200
        scraped = a.get("/metrics").text
        assert 'wallboard_control_rejected_total{reason="not_json"} 1.0' in scraped
        assert "wallboard_control_ready 1.0" in scraped and "wallboard_control_records_total 6.0" in scraped


def test_what_is_written_to_the_control_topic(kafka_bootstrap: str, topic_prefix: str) -> None:
    """The record format of docs/kafka.md: key ``broadcast``, a JSON value with who set it (not on the wire)."""
    s = settings_for(kafka_bootstrap, topic_prefix)
    asyncio.run(create_topic(kafka_bootstrap, f"{topic_prefix}calls", 1))
    with instance(s) as a:
        wait_until(lambda: ready(a), "ready")
        set_at = a.post("/api/broadcast", json={"text": "午餐时间调整"}).json()["set_at"]
    (record,) = asyncio.run(read_topic(kafka_bootstrap, f"{topic_prefix}board-control"))
    assert record.key == b"broadcast"
    assert json.loads(record.value) == {"v": 1, "text": "午餐时间调整", "set_at": set_at, "by": "local"}


def test_a_broadcast_that_cannot_be_stored_is_refused_with_a_reason(kafka_bootstrap: str, topic_prefix: str) -> None:
    """The broker is gone: the supervisor is told, rather than shown a broadcast no other screen will get."""
    s = settings_for("127.0.0.1:1", topic_prefix, reconnect_backoff_max=0.5)
    source = KafkaSource(s.kafka, s.metrics)
    control = KafkaControl(s.kafka, client_options(s.kafka))
    with TestClient(create_app(s, source, control=control), base_url="http://localhost") as client:
        r = client.post("/api/broadcast", json={"text": "lost?"})
        assert r.status_code == 503 and r.json()["error"] == "not_stored", r.text
        assert client.get("/api/broadcast").json()["text"] == ""
        body = client.get("/readyz").json()
        assert body["ready"] is False and "control_not_ready" in body["reasons"]

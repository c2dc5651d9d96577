"""When the Kafka source fails, through the real app: what a retry can fix keeps /healthz up, the rest fails it.

A broker outage is retried with backoff while every page shows the data as
stale and /healthz answers 200 (restarting would not help).  Refused
credentials, a topic deleted under the board, or a record batch the client
cannot decode are not fixed by a retry: the board shows stale data, and
/healthz answers 503 so that systemd or Kubernetes restarts the process
(docs/deployment.md).
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from starlette.exceptions import StarletteDeprecationWarning

from tests.conftest import make_settings
from tests.kafka_broker import KafkaBroker, SecureKafkaBroker, create_topic
from wallboard.settings import Settings
from wallboard.sources.kafka import KafkaSource
from wallboard.web import create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

pytestmark = [pytest.mark.kafka]


def settings_for(bootstrap: str, topic: str, **kafka: Any) -> Settings:
    return make_settings(
        timezone="Asia/Shanghai",
        kafka={"bootstrap_servers": bootstrap, "topics": [topic], "reconnect_backoff_max": 1.0, **kafka},
    )


@contextmanager
def serving(s: Settings, now: float) -> Iterator[TestClient]:
    """The real app over a real KafkaSource, lifespan running (pump, tick)."""
    source = KafkaSource(s.kafka, s.metrics, clock=lambda: now)
    with TestClient(
        create_app(s, source, clock=lambda: now), base_url="http://localhost", raise_server_exceptions=False
    ) as client:
        yield client


def wait_for(client: TestClient, condition: Callable[[TestClient], bool], what: str, limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while not condition(client):
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out waiting for {what}: healthz {client.get('/healthz').json()}, "
                f"readyz {client.get('/readyz').json()}"
            )
        time.sleep(0.2)


def ready(client: TestClient) -> bool:
    return bool(client.get("/readyz").status_code == 200)


def unhealthy(client: TestClient) -> bool:
    return bool(client.get("/healthz").status_code == 503)


def kcat(bootstrap: str, topic: str, lines: list[str], *extra: str) -> None:
    subprocess.run(
        ["kcat", "-P", "-b", bootstrap, "-t", topic, "-K:", *extra],
        input="\n".join(lines).encode(),
        check=True,
        timeout=60,
    )


def offered(now: int, n: int) -> list[str]:
    return [
        f'c{i}:{{"type":"call.offered","event_id":"f{i}","ts":{now * 1000 - 30_000 + i},"interaction_id":"c{i}",'
        f'"queue":"q"}}'
        for i in range(n)
    ]


def assert_failed_for_good(client: TestClient, words: str) -> None:
    health = client.get("/healthz")
    assert health.status_code == 503
    body = health.json()
    assert body["status"] == "failed" and body["reason"] == "source_failed" and words in body["error"], body
    assert client.get("/readyz").status_code == 503
    source = client.get("/api/snapshot").json()["source"]
    assert source["stale"] is True and source["stale_reason"] == "pump_failed"


def test_a_broker_outage_is_retried_with_healthz_up_and_the_data_stale(
    broker_control: KafkaBroker, topic_prefix: str
) -> None:
    topic = f"{topic_prefix}calls"
    asyncio.run(create_topic(broker_control.bootstrap, topic, 1))
    now = int(time.time())
    kcat(broker_control.bootstrap, topic, offered(now, 3))
    with serving(settings_for(broker_control.bootstrap, topic), now) as client:
        wait_for(client, ready, "the catch-up")
        broker_control.stop()
        wait_for(
            client,
            lambda c: c.get("/api/snapshot").json()["source"]["stale_reason"] == "disconnected",
            "the outage to show",
        )
        for _ in range(10):  # a retriable error never fails the liveness check
            assert client.get("/healthz").status_code == 200
            time.sleep(0.3)
        broker_control.start()
        wait_for(client, lambda c: not c.get("/api/snapshot").json()["source"]["stale"], "the broker back")
        assert client.get("/healthz").status_code == 200
        assert client.get("/api/snapshot").json()["totals"]["channels"]["call"]["today"]["offered"] == 3


def test_refused_credentials_fail_healthz(secure_broker: SecureKafkaBroker, topic_prefix: str) -> None:
    user, _ = secure_broker.users[0]
    s = settings_for(
        secure_broker.sasl_bootstrap,
        f"{topic_prefix}calls",
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-256",
        sasl_username=user,
        sasl_password="not-the-password",
    )
    with serving(s, time.time()) as client:
        wait_for(client, unhealthy, "/healthz to fail")
        assert_failed_for_good(client, "refused by")
        assert "not-the-password" not in client.get("/healthz").text


def test_a_topic_deleted_under_a_running_board_fails_healthz(kafka_bootstrap: str, topic_prefix: str) -> None:
    topic = f"{topic_prefix}calls"
    asyncio.run(create_topic(kafka_bootstrap, topic, 1))
    now = int(time.time())
    kcat(kafka_bootstrap, topic, offered(now, 5))
    with serving(settings_for(kafka_bootstrap, topic), now) as client:
        wait_for(client, ready, "the catch-up")
        assert client.get("/api/snapshot").json()["totals"]["channels"]["call"]["today"]["offered"] == 5

        async def delete() -> None:
            admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
            await admin.start()
            try:
                await admin.delete_topics([topic])
            finally:
                await admin.close()

        asyncio.run(delete())
        # The broker may re-create it at once (auto.create.topics.enable, Kafka's default): either way it is gone.
        wait_for(client, unhealthy, "/healthz to fail", limit_s=90)
        health = client.get("/healthz").json()
        assert "deleted" in health["error"] or "went back" in health["error"], health


def test_a_record_batch_the_client_cannot_decode_fails_healthz(
    kafka_bootstrap: str, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stand-in decoder that cannot read gzip, as a missing codec library or a corrupt batch would do."""
    import aiokafka.codec

    topic = f"{topic_prefix}calls"
    asyncio.run(create_topic(kafka_bootstrap, topic, 1))
    now = int(time.time())
    kcat(kafka_bootstrap, topic, offered(now, 5), "-z", "gzip")
    monkeypatch.setattr(aiokafka.codec, "has_gzip", lambda: False)
    with serving(settings_for(kafka_bootstrap, topic), now) as client:
        wait_for(client, unhealthy, "/healthz to fail")
        assert_failed_for_good(client, "UnsupportedCodecError")
        assert client.get("/api/snapshot").json()["totals"]["channels"]["call"]["today"]["offered"] == 0

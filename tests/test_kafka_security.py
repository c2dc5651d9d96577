"""The Kafka source over SASL and TLS, against the project's real broker started with ``--secure``.

Each case configures only ``[kafka]`` settings (as a deployment would), produces a few events with
a producer built from the same ``client_options``, and checks that the engine counts them. The
failure cases check that a wrong credential shows as "not connected" and that no secret ever
reaches a log record, the status or the settings' repr.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from tests.conftest import make_settings
from tests.kafka_board import Board
from tests.kafka_broker import SecureKafkaBroker, create_topic
from wallboard.errors import SourceError
from wallboard.settings import Settings
from wallboard.sources.kafka import KafkaSource, client_options

pytestmark = [pytest.mark.kafka, pytest.mark.asyncio]

SCRAM = ("SCRAM-SHA-256", "SCRAM-SHA-512")
WRONG_PASSWORD = "Wr0ng-pa55word-9d4c"


def settings_for(bootstrap: str, topic: str, **kafka: Any) -> Settings:
    return make_settings(
        timezone="Asia/Shanghai",
        kafka={"bootstrap_servers": bootstrap, "topics": [topic], "reconnect_backoff_max": 1.0, **kafka},
    )


def events(prefix: str, count: int, now_s: int) -> list[bytes]:
    """``count`` valid call.offered messages stamped a minute ago (inside today's replay)."""
    ts = (now_s - 60) * 1000
    return [
        b'{"type":"call.offered","event_id":"%s-%d","ts":%d,"interaction_id":"%s-i%d","queue":"q1"}'
        % (prefix.encode(), i, ts, prefix.encode(), i)
        for i in range(count)
    ]


async def produce(s: Settings, raws: list[bytes]) -> None:
    """Publish through the secured listener with the very options the source uses."""
    producer = AIOKafkaProducer(linger_ms=5, **client_options(s.kafka))
    await producer.start()
    try:
        futures = [await producer.send(s.kafka.topics[0], raw, key=b"k%d" % i) for i, raw in enumerate(raws)]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def assert_never_shown(secret: str, s: Settings, source: KafkaSource, caplog: pytest.LogCaptureFixture) -> None:
    """The secret is in no log record (message, arguments or traceback), status, or settings repr."""
    assert caplog.records, "no log records were captured: the check would prove nothing"
    for record in caplog.records:
        assert secret not in record.getMessage(), record
        assert secret not in repr(record.args), record
    assert secret not in caplog.text
    status = source.status()
    assert secret not in repr(status)
    assert secret not in (status.last_error or "")
    assert secret not in repr(s) and secret not in repr(s.kafka) and secret not in str(s.kafka)


async def read_over(
    s: Settings, broker: SecureKafkaBroker, prefix: str, caplog: pytest.LogCaptureFixture, secret: str
) -> None:
    """Create the topic (plaintext, setup only), produce 5 events over the secured listener, read them back."""
    caplog.set_level(logging.DEBUG)  # aiokafka's DEBUG logs every request, the SASL ones included
    await create_topic(broker.bootstrap, s.kafka.topics[0], 2)
    now = int(time.time())
    await produce(s, events(prefix, 5, now))
    async with Board(s, lambda: now) as b:
        await b.until(lambda: b.source.status().ready and b.engine.events == 5, what="5 events")
        status = b.source.status()
        assert status.connected and status.last_error is None and status.lag == 0
        assert_never_shown(secret, s, b.source, caplog)


# ---------------------------------------------------------------- reading over each protocol


@pytest.mark.parametrize("mechanism", ["PLAIN", *SCRAM])
async def test_sasl_plaintext(
    secure_broker: SecureKafkaBroker, topic_prefix: str, mechanism: str, caplog: pytest.LogCaptureFixture
) -> None:
    user, password = secure_broker.users[0]
    s = settings_for(
        secure_broker.sasl_bootstrap,
        f"{topic_prefix}calls",
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism=mechanism,
        sasl_username=user,
        sasl_password=password,
    )
    await read_over(s, secure_broker, topic_prefix, caplog, password)


async def test_ssl_verifies_the_broker_with_the_ca_file(
    secure_broker: SecureKafkaBroker, topic_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    s = settings_for(
        secure_broker.ssl_bootstrap,
        f"{topic_prefix}calls",
        security_protocol="SSL",
        ssl_cafile=str(secure_broker.ca_file),
    )
    await read_over(s, secure_broker, topic_prefix, caplog, "alice-secret")


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-512"])
async def test_sasl_ssl(
    secure_broker: SecureKafkaBroker, topic_prefix: str, mechanism: str, caplog: pytest.LogCaptureFixture
) -> None:
    user, password = secure_broker.users[0]
    s = settings_for(
        secure_broker.sasl_ssl_bootstrap,
        f"{topic_prefix}calls",
        security_protocol="SASL_SSL",
        sasl_mechanism=mechanism,
        sasl_username=user,
        sasl_password=password,
        ssl_cafile=str(secure_broker.ca_file),
    )
    await read_over(s, secure_broker, topic_prefix, caplog, password)


async def test_mutual_tls_with_an_encrypted_client_key(
    secure_broker: SecureKafkaBroker, topic_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    s = settings_for(
        secure_broker.mtls_bootstrap,
        f"{topic_prefix}calls",
        security_protocol="SSL",
        ssl_cafile=str(secure_broker.ca_file),
        ssl_certfile=str(secure_broker.client_cert),
        ssl_keyfile=str(secure_broker.client_key),
        ssl_password=secure_broker.client_key_password,
    )
    await read_over(s, secure_broker, topic_prefix, caplog, secure_broker.client_key_password)


# ---------------------------------------------------------------- refusals


async def not_connected(s: Settings, caplog: pytest.LogCaptureFixture) -> KafkaSource:
    """Run a board on ``s`` until the source says it is not connected; return its source (still usable)."""
    caplog.set_level(logging.DEBUG)
    started = int(time.time())
    async with Board(s, lambda: started) as b:
        await b.until(lambda: b.source.status().last_error is not None, limit_s=30, what="a connection error")
        status = b.source.status()
        assert not status.connected and not status.ready
        # last_error is on every page and /readyz: no address in it; the log has it for the operators.
        assert "cannot reach the brokers" in (status.last_error or "")
        assert s.kafka.bootstrap_servers not in (status.last_error or "")
        assert any(
            s.kafka.bootstrap_servers in r.getMessage() for r in caplog.records if r.name.startswith("wallboard")
        )
        return b.source


async def refused(s: Settings, caplog: pytest.LogCaptureFixture) -> KafkaSource:
    """Run a source on ``s`` until it gives up with a SourceError (a retry cannot fix a refusal); return it."""
    caplog.set_level(logging.DEBUG)
    started = int(time.time())
    source = KafkaSource(s.kafka, s.metrics, clock=lambda: started)
    with pytest.raises(SourceError) as failure:
        async with asyncio.timeout(60):
            async for _ in source.batches():
                pass
    await source.close()
    status = source.status()
    assert not status.ready
    assert "refused by" in (status.last_error or "") and "refused by" in str(failure.value)
    logging.getLogger(__name__).info("the source gave up: %s", failure.value)
    return source


@pytest.mark.parametrize("mechanism", ["PLAIN", *SCRAM])
async def test_a_wrong_password_is_refused_for_good_and_never_shown(
    secure_broker: SecureKafkaBroker, topic_prefix: str, mechanism: str, caplog: pytest.LogCaptureFixture
) -> None:
    user, _ = secure_broker.users[0]
    s = settings_for(
        secure_broker.sasl_bootstrap,
        f"{topic_prefix}calls",
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism=mechanism,
        sasl_username=user,
        sasl_password=WRONG_PASSWORD,
    )
    source = await refused(s, caplog)
    # The reason is in the logs (aiokafka's), without the password.
    assert any("Authentication failed" in r.getMessage() for r in caplog.records), caplog.text
    assert_never_shown(WRONG_PASSWORD, s, source, caplog)


async def test_an_unknown_user_is_refused(
    secure_broker: SecureKafkaBroker, topic_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    _, password = secure_broker.users[0]
    s = settings_for(
        secure_broker.sasl_bootstrap,
        f"{topic_prefix}calls",
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-256",
        sasl_username="mallory",
        sasl_password=password,
    )
    source = await refused(s, caplog)
    assert_never_shown(password, s, source, caplog)


async def test_a_broker_not_signed_by_a_trusted_ca_is_refused(
    secure_broker: SecureKafkaBroker, topic_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    # No ssl_cafile: the system's CAs, which never signed the test broker's certificate.
    s = settings_for(secure_broker.ssl_bootstrap, f"{topic_prefix}calls", security_protocol="SSL")
    await refused(s, caplog)
    assert any("CERTIFICATE_VERIFY_FAILED" in r.getMessage() for r in caplog.records), caplog.text


async def test_mutual_tls_without_a_client_certificate_is_refused(
    secure_broker: SecureKafkaBroker, topic_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    s = settings_for(
        secure_broker.mtls_bootstrap,
        f"{topic_prefix}calls",
        security_protocol="SSL",
        ssl_cafile=str(secure_broker.ca_file),
    )
    await not_connected(s, caplog)


async def test_plaintext_to_a_sasl_listener_is_not_connected(
    secure_broker: SecureKafkaBroker, topic_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    s = settings_for(secure_broker.sasl_bootstrap, f"{topic_prefix}calls")
    await not_connected(s, caplog)


async def test_a_wrong_client_key_password_fails_without_showing_it(
    secure_broker: SecureKafkaBroker, topic_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    # A configuration error, not an outage: the source stops with an error instead of retrying.
    caplog.set_level(logging.DEBUG)
    s = settings_for(
        secure_broker.mtls_bootstrap,
        f"{topic_prefix}calls",
        security_protocol="SSL",
        ssl_cafile=str(secure_broker.ca_file),
        ssl_certfile=str(secure_broker.client_cert),
        ssl_keyfile=str(secure_broker.client_key),
        ssl_password=WRONG_PASSWORD,
    )
    source = KafkaSource(s.kafka, s.metrics)
    with pytest.raises((ssl.SSLError, SourceError)) as failure:
        async for _ in source.batches():
            pass
    await source.close()
    assert WRONG_PASSWORD not in str(failure.value) and WRONG_PASSWORD not in repr(failure.value)
    logging.getLogger(__name__).info("the source failed with %r", failure.value)  # one record at least
    assert_never_shown(WRONG_PASSWORD, s, source, caplog)

"""Pytest plugin: a real Apache Kafka broker for the tests, and helpers around it.

Registered from tests/conftest.py with ``pytest_plugins = ["tests.kafka_broker"]``.

Fixtures:

- ``kafka_bootstrap`` (session) -> ``"127.0.0.1:PORT"``: the broker to talk to. ``KAFKA_BOOTSTRAP``
  in the environment names an existing broker; otherwise the session starts the project's own
  (tests/broker.py, which ``scripts/kafka-broker`` runs) in a pytest tmp dir, on ports picked at run
  time, and stops it at the end. A broker that cannot start fails the tests with its log tail: it never skips them.
- ``kafka_broker`` (session) -> ``KafkaBroker | None``: the session's own broker, None when
  ``KAFKA_BOOTSTRAP`` names an external one.
- ``broker_control`` -> ``KafkaBroker``: a broker a test may stop and start again on the same ports
  and data dir (outage tests). The session broker when it is ours (restarted after the test if the
  test left it down), else a private one for this test. Use ``broker_control.bootstrap``.
- ``topic_prefix`` -> ``str``: unique per test, ends with a dot: ``f"{topic_prefix}cc.calls"``.
- ``kafka_admin`` (async) -> a started ``AIOKafkaAdminClient``; ``kafka_producer`` (async) -> a
  started ``AIOKafkaProducer``. Both are closed after the test.
- ``secure_broker`` (session) -> ``SecureKafkaBroker``: a broker of its own (``start --secure``) with
  SASL_PLAINTEXT, SSL, SASL_SSL and MTLS (SSL with a client certificate required) listeners besides
  PLAINTEXT, on free ports; its addresses, users, CA and client certificate files. Always ours, even
  with ``KAFKA_BOOTSTRAP`` set.

Helpers: ``await create_topic(bootstrap, name, partitions)`` and ``await read_topic(bootstrap, topic)``.

Every test that uses the broker gets the ``kafka`` marker, so ``-m "not kafka"`` leaves them out.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests import broker as runner
from tests.broker import BrokerError
from tests.servers import free_ports

# The broker's environment as it was when pytest started: tests that clear or patch variables
# (KAFKA_BROKER_CACHE among them) must not send a broker restart to another cache.
_ENV = dict(os.environ)

# Fixtures whose use means a test needs the broker (each pulls in `kafka_broker`).
_BROKER_FIXTURE = "kafka_broker"
# The secure broker is a separate one: its tests need Kafka too.
_SECURE_FIXTURE = "secure_broker"


@dataclass
class KafkaBroker:
    """One broker run by tests/broker.py from ``directory``, always on the same two ports.

    ``stop()`` then ``start()`` brings it back with its data (``start --keep``). The blocking
    methods have ``*_async`` twins for async tests, so the event loop keeps running meanwhile.
    """

    directory: Path
    port: int
    controller_port: int

    @classmethod
    def on_free_ports(cls, directory: Path) -> KafkaBroker:
        port, controller_port = free_ports(2)
        return cls(directory, port, controller_port)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def config(self) -> runner.Config:
        """Its settings for tests/broker.py: the environment pytest started with, this broker's ports."""
        return runner.Config.from_environ(
            {
                **_ENV,
                "KAFKA_PORT": str(self.port),
                "KAFKA_CONTROLLER_PORT": str(self.controller_port),
                # A test run that dies without its teardown takes its broker with it.
                "KAFKA_WATCH_PID": str(os.getpid()),
                **self._env(),
            }
        )

    def _env(self) -> dict[str, str]:
        """Extra settings (the secure broker's ports and users)."""
        return {}

    def start(self, *, keep: bool = True) -> None:
        """Start and wait until it serves; ``keep=False`` wipes the data dir first."""
        runner.start(self.directory, self.config(), keep=keep)

    def stop(self, *, kill: bool = False) -> None:
        """Stop it: SIGTERM (a clean shutdown) or, with ``kill=True``, SIGKILL (a crash)."""
        runner.stop(self.directory, self.config(), kill=kill)

    def restart(self, *, kill: bool = False) -> None:
        self.stop(kill=kill)
        self.start(keep=True)

    def is_running(self) -> bool:
        return runner.status(self.directory, self.config()) is not None

    async def start_async(self) -> None:
        await asyncio.to_thread(self.start, keep=True)

    async def stop_async(self, *, kill: bool = False) -> None:
        await asyncio.to_thread(self.stop, kill=kill)

    async def restart_async(self, *, kill: bool = False) -> None:
        await asyncio.to_thread(self.restart, kill=kill)


@dataclass
class SecureKafkaBroker(KafkaBroker):
    """A broker started with ``--secure``: SASL and TLS listeners besides PLAINTEXT (see docs/kafka-test-broker.md).

    Every user in ``users`` can log in with PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512, on SASL_PLAINTEXT
    and SASL_SSL. The broker's certificate (for 127.0.0.1 and localhost) is signed by ``ca_file``;
    the MTLS listener also requires a client certificate signed by it (``client_cert``, ``client_key``,
    the key encrypted with ``client_key_password``). There is no authorizer: any authenticated
    client may do anything.
    """

    sasl_port: int = 0
    ssl_port: int = 0
    sasl_ssl_port: int = 0
    mtls_port: int = 0
    users: tuple[tuple[str, str], ...] = (("alice", "alice-secret"),)
    client_key_password: str = "client-key-secret"

    @classmethod
    def on_free_ports(cls, directory: Path) -> SecureKafkaBroker:
        port, cport, sasl, ssl, sasl_ssl, mtls = free_ports(6)
        return cls(directory, port, cport, sasl, ssl, sasl_ssl, mtls)

    def _env(self) -> dict[str, str]:
        return {
            "KAFKA_SECURITY": "1",
            "KAFKA_SASL_PORT": str(self.sasl_port),
            "KAFKA_SSL_PORT": str(self.ssl_port),
            "KAFKA_SASL_SSL_PORT": str(self.sasl_ssl_port),
            "KAFKA_MTLS_PORT": str(self.mtls_port),
            "KAFKA_SASL_USERS": " ".join(f"{name}:{password}" for name, password in self.users),
            "KAFKA_TLS_KEY_PASSWORD": self.client_key_password,
        }

    @property
    def sasl_bootstrap(self) -> str:
        """SASL_PLAINTEXT listener."""
        return f"127.0.0.1:{self.sasl_port}"

    @property
    def ssl_bootstrap(self) -> str:
        """SSL listener (server certificate only)."""
        return f"127.0.0.1:{self.ssl_port}"

    @property
    def sasl_ssl_bootstrap(self) -> str:
        """SASL_SSL listener."""
        return f"127.0.0.1:{self.sasl_ssl_port}"

    @property
    def mtls_bootstrap(self) -> str:
        """SSL listener that requires a client certificate."""
        return f"127.0.0.1:{self.mtls_port}"

    @property
    def ca_file(self) -> Path:
        return self.directory / "tls" / "ca.pem"

    @property
    def client_cert(self) -> Path:
        return self.directory / "tls" / "client.crt"

    @property
    def client_key(self) -> Path:
        return self.directory / "tls" / "client.key"


_Broker = TypeVar("_Broker", bound=KafkaBroker)


def _start_or_fail(broker: _Broker) -> _Broker:
    try:
        broker.start(keep=False)
    except BrokerError as exc:
        error = exc
    else:
        return broker
    pytest.fail(f"the Kafka test broker did not start: {error}", pytrace=False)


# ---------------------------------------------------------------- hooks


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        names = getattr(item, "fixturenames", ())
        if _BROKER_FIXTURE in names or _SECURE_FIXTURE in names:
            item.add_marker(pytest.mark.kafka)


def pytest_collection_finish(session: pytest.Session) -> None:
    # Download the broker jars (first run only) before any test starts, so that the time it
    # takes counts against no test's timeout. A failure here shows again, in full, at start.
    if session.config.option.collectonly:
        return
    # With KAFKA_BOOTSTRAP, only broker_control still runs a broker of ours.
    wanted = (
        {"broker_control", _SECURE_FIXTURE} if os.environ.get("KAFKA_BOOTSTRAP") else {_BROKER_FIXTURE, _SECURE_FIXTURE}
    )
    if any(wanted.intersection(getattr(item, "fixturenames", ())) for item in session.items):
        with contextlib.suppress(BrokerError):
            runner.fetch(runner.Config.from_environ(_ENV))


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker | None]:
    """The session's own broker, or None when KAFKA_BOOTSTRAP names an existing one."""
    if os.environ.get("KAFKA_BOOTSTRAP"):
        yield None
        return
    broker = _start_or_fail(KafkaBroker.on_free_ports(tmp_path_factory.mktemp("kafka")))
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: KafkaBroker | None) -> str:
    """``host:port`` of the broker the tests use."""
    if kafka_broker is None:
        return os.environ["KAFKA_BOOTSTRAP"]
    return kafka_broker.bootstrap


@pytest.fixture
def broker_control(kafka_broker: KafkaBroker | None, tmp_path: Path) -> Iterator[KafkaBroker]:
    """A broker this test may stop and start again (same ports, same data)."""
    if kafka_broker is None:
        # Never stop somebody else's broker: this test gets one of its own.
        own = _start_or_fail(KafkaBroker.on_free_ports(tmp_path / "kafka"))
        try:
            yield own
        finally:
            own.stop()
        return
    try:
        yield kafka_broker
    finally:
        if not kafka_broker.is_running():
            kafka_broker.start(keep=True)


@pytest.fixture(scope="session")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureKafkaBroker]:
    """A session broker of its own with SASL and TLS listeners (``scripts/kafka-broker start --secure``)."""
    broker = _start_or_fail(SecureKafkaBroker.on_free_ports(tmp_path_factory.mktemp("kafka-secure")))
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def topic_prefix(request: pytest.FixtureRequest) -> str:
    """Unique per test, ending with a dot: ``f"{topic_prefix}cc.calls"``."""
    # Only [a-z0-9-] from the test name: Kafka warns about names that mix '.' and '_'.
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:60]
    return f"{name}-{uuid.uuid4().hex[:8]}."


@pytest_asyncio.fixture
async def kafka_admin(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


@pytest_asyncio.fixture
async def kafka_producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=5)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


# ---------------------------------------------------------------- helpers


async def create_topic(
    bootstrap: str,
    name: str,
    partitions: int = 3,
    *,
    configs: dict[str, str] | None = None,
    timeout_s: float = 30,
) -> None:
    """Create a topic (replication factor 1) and wait until every partition has a leader."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        response = await admin.create_topics([NewTopic(name, partitions, 1, topic_configs=configs or {})])
        for topic_error in response.topic_errors:
            topic, code = topic_error[0], topic_error[1]
            if code != 0:
                raise RuntimeError(f"creating topic {topic!r} failed: error code {code} {topic_error[2:]}")
        deadline = time.monotonic() + timeout_s
        while True:
            (meta,) = await admin.describe_topics([name])
            leaders = [p["leader"] for p in meta["partitions"] if p["error_code"] == 0]
            if meta["error_code"] == 0 and len(leaders) == partitions and min(leaders) >= 0:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"topic {name!r} has no leader for every partition after {timeout_s}s: {meta}")
            await asyncio.sleep(0.1)
    finally:
        await admin.close()


async def read_topic(bootstrap: str, topic: str, *, timeout_s: float = 30) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record now in ``topic`` (all partitions, from the beginning up to the end offsets
    read at the start), in partition then offset order. No consumer group is involved."""
    # The consumer only knows the partitions of topics it has fetched metadata for: ask an admin client.
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (meta,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if meta["error_code"] != 0 or not meta["partitions"]:
        raise RuntimeError(f"topic {topic!r}: no partitions (metadata error code {meta['error_code']})")
    tps = [TopicPartition(topic, p["partition"]) for p in sorted(meta["partitions"], key=lambda p: p["partition"])]

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        records: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]] = {tp: [] for tp in tps}
        deadline = time.monotonic() + timeout_s
        while [tp for tp in tps if await consumer.position(tp) < end[tp]]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic!r} did not reach the end offsets {end} in {timeout_s}s")
            batch = await consumer.getmany(timeout_ms=500)
            for tp, recs in batch.items():
                records[tp].extend(r for r in recs if r.offset < end[tp])
        return [r for tp in tps for r in records[tp]]
    finally:
        await consumer.stop()

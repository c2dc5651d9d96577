"""A real Apache Kafka broker for tests and development: one combined broker+controller node in KRaft mode,
listening on 127.0.0.1 only. The logic behind ``scripts/kafka-broker`` and the pytest plugin tests/kafka_broker.py.

    python tests/broker.py fetch                         download the broker jars into the cache (once)
    python tests/broker.py start [--keep] [--secure] [DIR]
                                                         start it in the background, wait until it answers;
                                                         --secure (or KAFKA_SECURITY=1): SASL and SSL listeners too
    python tests/broker.py stop [--kill] [DIR]           stop it (SIGTERM, then SIGKILL after KAFKA_STOP_TIMEOUT s)
    python tests/broker.py status [DIR]                  exit 0 when running, 3 when not

Everything (env vars, ports, cache, troubleshooting) is in docs/kafka-test-broker.md. In Python: ``Config.from_environ``
reads those variables once; ``fetch``, ``start``, ``stop`` and ``status`` take it; failures raise ``BrokerError``.

The standard library only (aiokafka, when importable, makes the readiness check stricter), so that any Python 3.11
runs it, and it runs as a file too (its ``_watch`` subcommand is started that way).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fcntl
import importlib.util
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("kafka-broker")

HOST = "127.0.0.1"
SCALA_VERSION = "2.13"
DEPENDENCY_PLUGIN_VERSION = "3.8.1"
# The listeners --secure adds, in this order, and the security protocol of each.
SECURE_LISTENERS = ("SASL_PLAINTEXT", "SSL", "SASL_SSL", "MTLS")
SECURE_PORT_VARIABLES = ("KAFKA_SASL_PORT", "KAFKA_SSL_PORT", "KAFKA_SASL_SSL_PORT", "KAFKA_MTLS_PORT")
SECURE_PORT_DEFAULTS = (19094, 19095, 19096, 19097)
SCRAM = ("SCRAM-SHA-256", "SCRAM-SHA-512")
# Exit status of `status` when no broker runs.
NOT_RUNNING = 3


class BrokerError(RuntimeError):
    """The broker could not be fetched, started or stopped; the message says why (with the logs' tail)."""


@dataclass(frozen=True)
class Config:
    """The broker's settings, from the ``KAFKA_*`` environment variables (docs/kafka-test-broker.md)."""

    version: str = "4.1.1"
    log4j_version: str = "2.24.3"
    cache: Path = Path.home() / ".cache" / "wallboard"
    start_timeout_s: float = 60
    stop_timeout_s: float = 30
    heap_opts: str = "-Xms128m -Xmx512m"
    jvm_opts: str = ""
    # Any base64 (URL-safe, unpadded) 16-byte UUID will do: this one spells "wallboard-test-1".
    cluster_id: str = "d2FsbGJvYXJkLXRlc3QtMQ"
    port: int | None = None
    controller_port: int | None = None
    secure: bool = False
    secure_ports: tuple[int, ...] = SECURE_PORT_DEFAULTS
    # --secure only: (name, password) pairs, each a user for SASL PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512
    # (no spaces, quotes, commas, brackets or '=' in them), and the password of the client TLS key.
    sasl_users: tuple[tuple[str, str], ...] = (("alice", "alice-secret"),)
    tls_key_password: str = "client-key-secret"
    java: str = "java"
    watch_pid: int | None = None
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Config:
        env = {k: v for k, v in environ.items() if v != ""}

        def number(name: str, default: float) -> float:
            try:
                return float(env.get(name, default))
            except ValueError:
                raise BrokerError(f"{name}={env[name]!r} is not a number") from None

        def integer(name: str) -> int | None:
            return int(number(name, 0)) or None

        users = []
        for pair in env.get("KAFKA_SASL_USERS", "alice:alice-secret").split():
            name, sep, password = pair.partition(":")
            if not sep or not name:
                raise BrokerError(f"KAFKA_SASL_USERS: {pair!r} is not name:password")
            users.append((name, password))
        java_home = env.get("JAVA_HOME")
        return cls(
            version=env.get("KAFKA_VERSION", cls.version),
            log4j_version=env.get("LOG4J_VERSION", cls.log4j_version),
            cache=Path(env["KAFKA_BROKER_CACHE"])
            if "KAFKA_BROKER_CACHE" in env
            else Path(env.get("HOME", str(Path.home()))) / ".cache" / "wallboard",
            start_timeout_s=number("KAFKA_START_TIMEOUT", cls.start_timeout_s),
            stop_timeout_s=number("KAFKA_STOP_TIMEOUT", cls.stop_timeout_s),
            heap_opts=env.get("KAFKA_HEAP_OPTS", cls.heap_opts),
            jvm_opts=env.get("KAFKA_JVM_OPTS", ""),
            cluster_id=env.get("KAFKA_CLUSTER_ID", cls.cluster_id),
            port=integer("KAFKA_PORT"),
            controller_port=integer("KAFKA_CONTROLLER_PORT"),
            secure=env.get("KAFKA_SECURITY", "0") != "0",
            secure_ports=tuple(
                integer(name) or default
                for name, default in zip(SECURE_PORT_VARIABLES, SECURE_PORT_DEFAULTS, strict=True)
            ),
            sasl_users=tuple(users),
            tls_key_password=env.get("KAFKA_TLS_KEY_PASSWORD", cls.tls_key_password),
            java=f"{java_home}/bin/java" if java_home else "java",
            watch_pid=integer("KAFKA_WATCH_PID"),
            environ=dict(environ),
        )

    @property
    def home(self) -> Path:
        """Where this version's jars and log4j configuration live."""
        return self.cache / f"kafka-{self.version}"

    @property
    def libs(self) -> Path:
        return self.home / "libs"

    @property
    def log4j_config(self) -> Path:
        return self.home / "log4j2.xml"

    @property
    def default_dir(self) -> Path:
        return self.cache / "kafka-run"

    @property
    def child_env(self) -> dict[str, str] | None:
        """The environment of the processes it starts: the one it was read from (None: this process's)."""
        return dict(self.environ) or None


@dataclass(frozen=True)
class Running:
    """A broker that runs from ``directory``: its pid, ports and, for a secure one, what clients need."""

    directory: Path
    pid: int
    port: int
    controller_port: int
    secure_ports: tuple[int, ...] = ()

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.port}"

    def lines(self, config: Config) -> list[str]:
        """``VAR=value`` lines: what ``start`` prints (the secure listeners, TLS files and users too)."""
        out = [f"KAFKA_BOOTSTRAP={self.bootstrap}"]
        if self.secure_ports:
            tls = self.directory / "tls"
            out += [
                f"KAFKA_{name}_BOOTSTRAP={HOST}:{port}"
                for name, port in zip(SECURE_LISTENERS, self.secure_ports, strict=True)
            ]
            out += [
                f"KAFKA_CA_FILE={tls / 'ca.pem'}",
                f"KAFKA_CLIENT_CERT={tls / 'client.crt'}",
                f"KAFKA_CLIENT_KEY={tls / 'client.key'}",
                f"KAFKA_CLIENT_KEY_PASSWORD={config.tls_key_password}",
                "KAFKA_SASL_USERS=" + " ".join(f"{n}:{p}" for n, p in config.sasl_users),
            ]
        return out


# ---------------------------------------------------------------- fetch

POM = """<?xml version="1.0" encoding="UTF-8"?>
<!-- Throwaway pom: only used to copy the broker and its runtime dependencies into libs/. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>wallboard</groupId>
  <artifactId>kafka-test-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_{scala}</artifactId>
      <version>{kafka}</version>
    </dependency>
    <!-- kafka_2.13 only brings slf4j-api; the distribution ships log4j2 as the backend. -->
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>{log4j}</version>
    </dependency>
  </dependencies>
</project>
"""

# Everything at INFO goes to DIR/logs/server.log (kafka.logs.dir is set by `start`); nothing to the console.
LOG4J_CONFIG = """<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <File name="file" fileName="${sys:kafka.logs.dir}/server.log" append="true">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </File>
  </Appenders>
  <Loggers>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="org.apache.kafka.clients" level="WARN"/>
    <Logger name="kafka.log.LogCleaner" level="WARN"/>
    <Root level="INFO">
      <AppenderRef ref="file"/>
    </Root>
  </Loggers>
</Configuration>
"""


def need_tools(config: Config) -> None:
    """Java 17+ and Maven: installed from Debian's packages when missing and we may (root + apt-get)."""
    if shutil.which("mvn") and shutil.which(config.java):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log.warning("installing Java and Maven (apt-get install default-jdk-headless maven)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], stdout=sys.stderr, check=False)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "default-jdk-headless", "maven"],
            env=env,
            stdout=sys.stderr,
            check=False,
        )
    if not shutil.which(config.java):
        raise BrokerError("Java 17+ is needed: apt-get install default-jdk-headless")
    if not shutil.which("mvn"):
        raise BrokerError("Maven (mvn) is needed to fetch Kafka: apt-get install maven")


def fetched(config: Config) -> bool:
    return (config.libs / ".complete").is_file() and config.log4j_config.is_file()


def fetch(config: Config) -> None:
    """Download ``kafka_2.13`` and its runtime dependencies with Maven into the cache, unless already there."""
    if fetched(config):
        return
    need_tools(config)
    config.home.mkdir(parents=True, exist_ok=True)
    # Two test runs may fetch at once: the first one does the work, the second waits for it.
    with open(config.home / ".fetch.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if fetched(config):
            return
        log.warning(
            "fetching Apache Kafka %s (kafka_%s) with Maven into %s", config.version, SCALA_VERSION, config.libs
        )
        work = Path(tempfile.mkdtemp(prefix="fetch.", dir=config.home))
        try:
            _fetch_into(config, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    log.warning("fetched %d jars", len(list(config.libs.glob("*.jar"))))


def _fetch_into(config: Config, work: Path) -> None:
    pom = work / "pom.xml"
    pom.write_text(POM.format(scala=SCALA_VERSION, kafka=config.version, log4j=config.log4j_version))
    plugin = f"org.apache.maven.plugins:maven-dependency-plugin:{DEPENDENCY_PLUGIN_VERSION}"
    artifact = f"org.apache.kafka:kafka_{SCALA_VERSION}:{config.version}"
    try:
        done = subprocess.run(
            [
                "mvn",
                "-q",
                "-B",
                "-f",
                str(pom),
                f"{plugin}:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={work / 'libs'}",
            ],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise BrokerError(f"mvn did not fetch {artifact} within 900s") from None
    if done.returncode != 0:
        raise BrokerError(f"{done.stdout}{done.stderr}\nmvn could not fetch {artifact} (see above)")
    if not (work / "libs" / f"kafka_{SCALA_VERSION}-{config.version}.jar").is_file():
        raise BrokerError(f"mvn did not copy kafka_{SCALA_VERSION}-{config.version}.jar itself")
    # .complete is written before the move: a half-finished fetch never sits in libs/.
    (work / "libs" / ".complete").touch()
    shutil.rmtree(config.libs, ignore_errors=True)
    (work / "libs").rename(config.libs)
    shutil.copyfile(pom, config.home / "pom.xml")
    tmp = config.log4j_config.with_suffix(".xml.tmp")
    tmp.write_text(LOG4J_CONFIG)
    tmp.rename(config.log4j_config)


# ---------------------------------------------------------------- processes and ports

# The processes this one started (the broker, its watcher): polled so that none stays a zombie.
_children: dict[int, subprocess.Popen[bytes]] = {}


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie (one whose parent never reaps it counts as gone)."""
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        del _children[pid]
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[:1]
    return bool(state) and state[0] not in ("Z", "X")


def running_pid(directory: Path) -> int | None:
    """The pid in DIR/kafka.pid, if that process is alive and is a Kafka broker."""
    try:
        pid = int((directory / "kafka.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    if not alive(pid):
        return None
    # Guard against a recycled pid: the process must be our java with kafka.Kafka.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return pid if b"kafka.Kafka" in cmdline else None


def port_in_use(port: int) -> bool:
    """Something accepts connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection((HOST, port), timeout=1):
            return True
    except OSError:
        return False


def wait_ports_free(timeout_s: float, ports: Iterable[int]) -> bool:
    """Waits up to ``timeout_s`` until none of ``ports`` accepts connections. A killed JVM's main thread is
    reaped before its other threads let go of the sockets."""
    deadline = time.monotonic() + timeout_s
    for port in ports:
        while port_in_use(port):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
    return True


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


# ---------------------------------------------------------------- server.properties


def read_properties(directory: Path) -> dict[str, str]:
    """DIR/server.properties as a dict (the last of a repeated key wins); empty when there is none."""
    props: dict[str, str] = {}
    with contextlib.suppress(FileNotFoundError):
        for line in (directory / "server.properties").read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and not key.startswith("#"):
                props[key.strip()] = value
    return props


def listener_ports(props: Mapping[str, str]) -> dict[str, int]:
    """Each advertised listener's port, by listener name (PLAINTEXT, SASL_PLAINTEXT, ...)."""
    ports = {}
    for listener in props.get("advertised.listeners", "").split(","):
        name, sep, address = listener.partition("://")
        if sep:
            ports[name] = int(address.rsplit(":", 1)[1])
    return ports


def dir_ports(directory: Path) -> tuple[int, int, tuple[int, ...]] | None:
    """The broker, controller and secure listeners' ports of DIR/server.properties (None without one)."""
    props = read_properties(directory)
    listeners = listener_ports(props)
    if "PLAINTEXT" not in listeners or "controller.quorum.bootstrap.servers" not in props:
        return None
    controller = int(props["controller.quorum.bootstrap.servers"].rsplit(":", 1)[1])
    return listeners["PLAINTEXT"], controller, tuple(listeners[n] for n in SECURE_LISTENERS if n in listeners)


def properties(directory: Path, port: int, controller_port: int, secure_ports: Sequence[int]) -> str:
    """server.properties for a single-node KRaft broker+controller (plus the secure listeners, if any)."""
    names = ["PLAINTEXT", *SECURE_LISTENERS[: len(secure_ports)]]
    advertised = ",".join(f"{name}://{HOST}:{p}" for name, p in zip(names, [port, *secure_ports], strict=True))
    protocols = ",".join(f"{name}:{'SSL' if name == 'MTLS' else name}" for name in names)
    return f"""# Written by scripts/kafka-broker: single-node KRaft broker+controller for tests.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers={HOST}:{controller_port}
listeners={advertised},CONTROLLER://{HOST}:{controller_port}
advertised.listeners={advertised}
listener.security.protocol.map={protocols},CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs={directory}/data

num.partitions=3
default.replication.factor=1
auto.create.topics.enable=true
delete.topic.enable=true
group.initial.rebalance.delay.ms=0

# One node: replication factor 1 for the internal topics, and few partitions so they come up fast.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# After a crash (SIGKILL) the restarted broker can only register once the old registration's
# session has expired (9 s by default): a short session makes crash-restart tests fast.
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=4000

# Tests produce records with explicit timestamps, days in the past or in the future:
# keep them all (no time-based retention) and accept any timestamp.
log.retention.ms=-1
log.message.timestamp.before.max.ms=9223372036854775807
log.message.timestamp.after.max.ms=9223372036854775807
"""


def secure_properties(directory: Path, config: Config) -> str:
    """The SASL and SSL settings for the listeners ``properties`` added with secure ports."""
    plain_users = "".join(f' user_{name}="{password}"' for name, password in config.sasl_users)
    lines = [
        "",
        "# --secure: SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and TLS listeners, no authorizer.",
        "sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
    ]
    for listener in ("sasl_plaintext", "sasl_ssl"):
        lines += [
            f"listener.name.{listener}.plain.sasl.jaas.config="
            f"org.apache.kafka.common.security.plain.PlainLoginModule required{plain_users};",
            *(
                f"listener.name.{listener}.{m.lower()}.sasl.jaas.config="
                "org.apache.kafka.common.security.scram.ScramLoginModule required;"
                for m in SCRAM
            ),
        ]
    lines += [
        "ssl.keystore.type=PEM",
        f"ssl.keystore.location={directory}/tls/broker.pem",
        "ssl.truststore.type=PEM",
        f"ssl.truststore.location={directory}/tls/ca.pem",
        "# MTLS: TLS with a client certificate signed by the test CA required.",
        "listener.name.mtls.ssl.client.auth=required",
    ]
    return "\n".join(lines) + "\n"


def scram_args(config: Config) -> list[str]:
    """The StorageTool arguments that create the SCRAM users (SCRAM credentials live in the metadata log)."""
    return [
        arg
        for name, password in config.sasl_users
        for mechanism in SCRAM
        for arg in ("--add-scram", f"{mechanism}=[name={name},password={password}]")
    ]


# ---------------------------------------------------------------- --secure: TLS files

EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
LEAF = ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature"]
KEY_IDS = ["subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid"]


def make_tls(directory: Path, config: Config) -> None:
    """A throwaway CA, a broker certificate for 127.0.0.1 and localhost, and a client certificate whose key
    is encrypted with the TLS key password, all PEM, in DIR/tls. EC P-256 keys: fast."""
    if not shutil.which("openssl"):
        raise BrokerError("--secure needs openssl (apt-get install openssl)")
    tls = directory / "tls"
    shutil.rmtree(tls, ignore_errors=True)
    tls.mkdir(parents=True)
    tls_log = directory / "logs" / "tls.log"
    ext = tls / "ext.cnf"

    with tls_log.open("w") as out:

        def openssl(*args: str) -> None:
            if subprocess.run(["openssl", *args], stdout=out, stderr=subprocess.STDOUT, check=False).returncode:
                out.flush()
                raise BrokerError(f"{tls_log.read_text()}\ncreating the TLS files in {tls} failed")

        def sign(name: str, *extensions: str) -> None:
            ext.write_text("\n".join(extensions) + "\n")
            openssl(
                "x509",
                "-req",
                "-in",
                f"{tls}/{name}.csr",
                "-CA",
                f"{tls}/ca.pem",
                "-CAkey",
                f"{tls}/ca.key",
                "-CAcreateserial",
                "-days",
                "3650",
                "-extfile",
                str(ext),
                "-out",
                f"{tls}/{name}.crt",
            )

        openssl(
            "req",
            "-x509",
            *EC_KEY,
            "-nodes",
            "-days",
            "3650",
            "-subj",
            "/CN=wallboard test CA",
            "-keyout",
            f"{tls}/ca.key",
            "-out",
            f"{tls}/ca.pem",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        )
        openssl(
            "req",
            "-new",
            *EC_KEY,
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            f"{tls}/broker.key",
            "-out",
            f"{tls}/broker.csr",
        )
        sign("broker", *LEAF, "extendedKeyUsage=serverAuth", "subjectAltName=IP:127.0.0.1,DNS:localhost", *KEY_IDS)
        openssl(
            "req",
            "-new",
            *EC_KEY,
            "-passout",
            f"pass:{config.tls_key_password}",
            "-subj",
            "/CN=wallboard-client",
            "-keyout",
            f"{tls}/client.key",
            "-out",
            f"{tls}/client.csr",
        )
        sign("client", *LEAF, "extendedKeyUsage=clientAuth", *KEY_IDS)
    # Kafka's PEM key store: the (unencrypted PKCS#8) key, then the certificate chain, in one file.
    parts = ("broker.key", "broker.crt", "ca.pem")
    (tls / "broker.pem").write_text("".join((tls / name).read_text() for name in parts))
    for leftover in [ext, *tls.glob("*.csr"), *tls.glob("*.srl")]:
        leftover.unlink()


# ---------------------------------------------------------------- readiness


def log_tail(directory: Path, lines: int = 40) -> str:
    """The last lines of the broker's logs, for an error message."""
    out = []
    for path in (directory / "logs" / "server.log", directory / "logs" / "console.log"):
        with contextlib.suppress(OSError):
            text = path.read_text(errors="replace")
            if text:
                out.append(f"---- last lines of {path} ----\n" + "\n".join(text.splitlines()[-lines:]))
    return "\n".join(out)


def _has_aiokafka() -> bool:
    return importlib.util.find_spec("aiokafka") is not None


async def _answers_metadata(bootstrap: str) -> bool:
    from aiokafka import AIOKafkaClient
    from aiokafka.errors import KafkaError

    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=2000)
    try:
        await client.bootstrap()
        return bool(client.cluster.brokers()) and client.cluster.controller is not None
    except (KafkaError, OSError, TimeoutError):
        return False
    finally:
        await client.close()


def _run_coroutine(coro: Coroutine[object, object, bool]) -> bool:
    """``asyncio.run`` it, in a thread of its own when this one already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(asyncio.run(coro)))
    thread.start()
    thread.join()
    return bool(result and result[0])


def ready(directory: Path, port: int, strict: bool) -> bool:
    """Ready = the broker logged "Kafka Server started", its port is open, and (``strict``: aiokafka is here)
    it answers a Metadata request listing itself and a controller. An open port alone is not enough: the
    port is bound before the broker can serve."""
    # The cheap checks first.
    try:
        if "Kafka Server started" not in (directory / "logs" / "server.log").read_text(errors="replace"):
            return False
    except OSError:
        return False
    if not port_in_use(port):
        return False
    return not strict or _run_coroutine(_answers_metadata(f"{HOST}:{port}"))


# ---------------------------------------------------------------- start / stop / status


def _java_tool(config: Config, directory: Path, *args: str, out: Path) -> int:
    """A short-lived Kafka tool (StorageTool): the C1 compiler alone starts it faster."""
    with out.open("w") as fh:
        return subprocess.run(
            [
                config.java,
                "-Xmx256m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={config.log4j_config}",
                f"-Dkafka.logs.dir={directory}/logs",
                "-cp",
                f"{config.libs}/*",
                *args,
            ],
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            check=False,
            env=config.child_env,
        ).returncode


def start(directory: Path | None, config: Config, *, keep: bool = False, secure: bool | None = None) -> Running:
    """Start a broker from ``directory`` in the background and return once it serves.

    ``keep``: a directory that holds a formatted broker starts again on the same ports with the same data
    (and secure or not, as it was); otherwise (and without one) it starts fresh: data, logs and TLS files
    wiped, ports from ``config``. ``secure`` (default ``config.secure``) adds the SASL and TLS listeners.
    """
    directory = (directory or config.default_dir).absolute()
    directory.mkdir(parents=True, exist_ok=True)
    directory = directory.resolve()
    secure = config.secure if secure is None else secure
    pid = running_pid(directory)
    if pid is not None:
        raise BrokerError(
            f"a broker is already running from {directory} (pid {pid}): 'scripts/kafka-broker stop {directory}' first"
        )
    if not shutil.which(config.java):
        need_tools(config)
    fetch(config)

    kept = dir_ports(directory) if keep and (directory / "data" / "meta.properties").is_file() else None
    if kept is not None:
        # Same ports and data as last time: the data dir's quorum knows its controller address.
        port, controller_port, secure_ports = kept
        if config.port is not None and config.port != port:
            log.warning(
                "--keep: reusing port %d from %s/server.properties (KAFKA_PORT=%d ignored)",
                port,
                directory,
                config.port,
            )
        # Secure or not, as last time (the SCRAM users are in the kept data).
        secure = bool(secure_ports)
    else:
        if keep:
            log.warning("--keep: nothing to keep in %s, starting fresh", directory)
        port = config.port or 19092
        controller_port = config.controller_port or 19093
        secure_ports = config.secure_ports if secure else ()
        for stale in ("data", "logs", "tls"):
            shutil.rmtree(directory / stale, ignore_errors=True)
        for stale in ("server.properties", "kafka.pid"):
            (directory / stale).unlink(missing_ok=True)
    ports = [port, controller_port, *secure_ports]
    if port == controller_port:
        raise BrokerError(f"broker and controller ports must differ (both {port})")
    if len(set(ports)) != len(ports):
        raise BrokerError(f"the six ports must differ: {' '.join(map(str, ports))}")
    if not wait_ports_free(10, ports):
        if secure_ports:
            raise BrokerError(
                f"one of the ports {' '.join(map(str, ports))} of {HOST} is already in use: stop what listens "
                "there, or set KAFKA_PORT / KAFKA_CONTROLLER_PORT / KAFKA_SASL_PORT / KAFKA_SSL_PORT / "
                "KAFKA_SASL_SSL_PORT / KAFKA_MTLS_PORT"
            )
        raise BrokerError(
            f"{HOST}:{port} or :{controller_port} is already in use: stop what listens there, "
            "or set KAFKA_PORT / KAFKA_CONTROLLER_PORT"
        )
    logs = directory / "logs"
    logs.mkdir(exist_ok=True)

    if kept is None:
        props = properties(directory, port, controller_port, secure_ports)
        format_args = []
        if secure_ports:
            make_tls(directory, config)
            props += secure_properties(directory, config)
            format_args = scram_args(config)
        (directory / "server.properties").write_text(props)
        if (
            _java_tool(
                config,
                directory,
                "kafka.tools.StorageTool",
                "format",
                "-t",
                config.cluster_id,
                "-c",
                str(directory / "server.properties"),
                "--standalone",
                *format_args,
                out=logs / "format.log",
            )
            != 0
        ):
            raise BrokerError(f"{(logs / 'format.log').read_text()}\nformatting the storage in {directory}/data failed")

    # Readiness reads this run's server.log: the previous run's (kept with --keep) moves aside.
    for name in ("server.log", "console.log"):
        if (logs / name).is_file():
            (logs / name).rename(logs / f"{name}.1")

    # The broker must not hold the caller's stdout/stderr (a caller reading them would wait for ever), and
    # outlives the caller: a session of its own, so no hangup or Ctrl+C of the caller's terminal reaches it.
    with (logs / "console.log").open("wb") as console:
        broker = subprocess.Popen(
            [
                config.java,
                *config.heap_opts.split(),
                "-XX:+UseSerialGC",
                "-Djava.awt.headless=true",
                *config.jvm_opts.split(),
                f"-Dlog4j2.configurationFile={config.log4j_config}",
                f"-Dkafka.logs.dir={logs}",
                "-cp",
                f"{config.libs}/*",
                "kafka.Kafka",
                str(directory / "server.properties"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=config.child_env,
        )
    _children[broker.pid] = broker
    (directory / "kafka.pid").write_text(f"{broker.pid}\n")
    if config.watch_pid:
        _start_watcher(config.watch_pid, broker.pid, directory, config)

    strict = _has_aiokafka()
    started = time.monotonic()
    while not ready(directory, port, strict):
        if not alive(broker.pid):
            (directory / "kafka.pid").unlink(missing_ok=True)
            raise BrokerError(f"{log_tail(directory)}\nthe broker exited during start-up (logs in {logs})")
        if time.monotonic() - started >= config.start_timeout_s:
            tail = log_tail(directory)
            _signal(broker.pid, signal.SIGKILL)
            (directory / "kafka.pid").unlink(missing_ok=True)
            raise BrokerError(
                f"{tail}\nthe broker did not answer on {HOST}:{port} within "
                f"{config.start_timeout_s:g}s (logs in {logs})"
            )
        time.sleep(0.3)
    log.info("broker ready in %.1fs (pid %d, dir %s)", time.monotonic() - started, broker.pid, directory)
    return Running(directory, broker.pid, port, controller_port, tuple(secure_ports))


def _start_watcher(watch_pid: int, pid: int, directory: Path, config: Config) -> None:
    """Tie the broker's life to another process (the test run): when that one is gone, so is the broker."""
    watcher = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "_watch", str(watch_pid), str(pid), str(directory)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**(config.child_env or os.environ), "KAFKA_STOP_TIMEOUT": f"{config.stop_timeout_s:g}"},
    )
    _children[watcher.pid] = watcher
    for child in list(_children):  # forget the watchers of brokers long stopped
        alive(child)


def _watch(watch_pid: int, pid: int, directory: Path, stop_timeout_s: float) -> None:
    while alive(watch_pid) and alive(pid):
        time.sleep(1)
    if running_pid(directory) == pid:
        _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + stop_timeout_s
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(1)
        if running_pid(directory) == pid:
            _signal(pid, signal.SIGKILL)


def stop(directory: Path | None, config: Config, *, kill: bool = False) -> None:
    """Stop the broker of ``directory``: SIGTERM (a clean shutdown), SIGKILL after the stop timeout; or, with
    ``kill``, SIGKILL at once (a crash). Nothing to do when none runs."""
    directory = directory or config.default_dir
    pid = running_pid(directory)
    if pid is None:
        (directory / "kafka.pid").unlink(missing_ok=True)
        log.info("not running (%s)", directory)
        return
    _signal(pid, signal.SIGKILL if kill else signal.SIGTERM)
    killed = kill
    deadline = time.monotonic() + config.stop_timeout_s
    while alive(pid):
        if time.monotonic() >= deadline:
            if killed:
                raise BrokerError(f"pid {pid} survived SIGKILL")
            log.warning("pid %d still running after %gs: SIGKILL", pid, config.stop_timeout_s)
            _signal(pid, signal.SIGKILL)
            killed = True
            deadline = time.monotonic() + 10
        time.sleep(0.1)
    (directory / "kafka.pid").unlink(missing_ok=True)
    kept = dir_ports(directory)
    if kept is not None and not wait_ports_free(10, [kept[0], kept[1], *kept[2]]):
        log.warning("the broker's ports are still taken 10s after it stopped")
    log.info("stopped (pid %d)", pid)


def status(directory: Path | None, config: Config) -> Running | None:
    """The broker running from ``directory``, or None."""
    directory = directory or config.default_dir
    pid = running_pid(directory)
    kept = dir_ports(directory)
    if pid is None or kept is None:
        return None
    return Running(directory.resolve(), pid, *kept)


# ---------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="kafka-broker", description=__doc__.split("\n\n")[0], epilog="See docs/kafka-test-broker.md."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{fetch,start,stop,status}")
    commands.add_parser("fetch", help="download the broker jars into the cache (skipped when already there)")
    start_cmd = commands.add_parser("start", help="start in the background and wait until it answers")
    start_cmd.add_argument("--keep", action="store_true", help="start a formatted DIR again: same ports and data")
    start_cmd.add_argument("--secure", action="store_true", help="SASL and TLS listeners too (KAFKA_SECURITY=1)")
    stop_cmd = commands.add_parser("stop", help="SIGTERM and wait (SIGKILL after KAFKA_STOP_TIMEOUT s)")
    stop_cmd.add_argument("--kill", action="store_true", help="SIGKILL at once (a crash)")
    commands.add_parser("status", help="exit 0 and 'running: ...', or 3 and 'not running'")
    for command in (start_cmd, stop_cmd, commands.choices["status"]):
        command.add_argument("dir", nargs="?", type=Path, metavar="DIR", help="run dir (default: CACHE/kafka-run)")
    watch = commands.add_parser("_watch")
    watch.add_argument("watch_pid", type=int)
    watch.add_argument("pid", type=int)
    watch.add_argument("dir", type=Path)
    args = parser.parse_args(argv)

    # The notes go to stderr as "kafka-broker: ...", for this call only (main() also runs in-process in tests).
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("kafka-broker: %(message)s"))
    level = log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        return _command(args, os.environ if environ is None else environ)
    except BrokerError as exc:
        log.error("%s", exc)
        return 1
    finally:
        log.removeHandler(handler)
        log.setLevel(level)


def _command(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    config = Config.from_environ(environ)
    if args.command == "fetch":
        fetch(config)
    elif args.command == "start":
        running = start(args.dir, config, keep=args.keep, secure=args.secure or None)
        print("\n".join(running.lines(config)))
    elif args.command == "stop":
        stop(args.dir, config, kill=args.kill)
    elif args.command == "status":
        found = status(args.dir, config)
        if found is None:
            print(f"not running ({args.dir or config.default_dir})")
            return NOT_RUNNING
        print(f"running: pid {found.pid}, KAFKA_BOOTSTRAP={found.bootstrap}, dir {found.directory}")
        if found.secure_ports:
            print("\n".join(found.lines(config)[1:]))
    else:
        _watch(args.watch_pid, args.pid, args.dir, config.stop_timeout_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())

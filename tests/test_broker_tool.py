"""tests/broker.py without a broker: its settings, the server.properties it writes and reads back, its CLI.

Starting, restarting and the secure listeners are proven against the real broker (test_kafka_broker.py,
test_kafka_security.py, the outage tests of test_kafka_source.py and test_kafka_failures.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import broker


def test_settings_default_as_documented() -> None:
    config = broker.Config.from_environ({"HOME": "/home/op"})
    assert (config.version, config.port, config.controller_port) == ("4.1.1", None, None)
    assert config.cache == Path("/home/op/.cache/wallboard")
    assert config.default_dir == Path("/home/op/.cache/wallboard/kafka-run")
    assert config.libs == Path("/home/op/.cache/wallboard/kafka-4.1.1/libs")
    assert config.secure_ports == (19094, 19095, 19096, 19097)
    assert config.sasl_users == (("alice", "alice-secret"),)
    assert (config.start_timeout_s, config.stop_timeout_s, config.java) == (60, 30, "java")
    assert not config.secure and config.watch_pid is None


def test_settings_from_the_environment() -> None:
    config = broker.Config.from_environ(
        {
            "KAFKA_BROKER_CACHE": "/c",
            "KAFKA_VERSION": "4.0.0",
            "KAFKA_PORT": "24092",
            "KAFKA_MTLS_PORT": "24097",
            "KAFKA_SECURITY": "1",
            "KAFKA_SASL_USERS": "alice:a bob:b",
            "JAVA_HOME": "/jdk",
            "KAFKA_START_TIMEOUT": "5",
            "KAFKA_CONTROLLER_PORT": "",  # empty: as if unset
        }
    )
    assert config.home == Path("/c/kafka-4.0.0")
    assert (config.port, config.controller_port) == (24092, None)
    assert config.secure_ports == (19094, 19095, 19096, 24097)
    assert config.secure and config.sasl_users == (("alice", "a"), ("bob", "b"))
    assert (config.java, config.start_timeout_s) == ("/jdk/bin/java", 5)


@pytest.mark.parametrize(("name", "value"), [("KAFKA_SASL_USERS", "alice"), ("KAFKA_STOP_TIMEOUT", "soon")])
def test_a_bad_setting_is_refused_with_its_name(name: str, value: str) -> None:
    with pytest.raises(broker.BrokerError, match=name):
        broker.Config.from_environ({name: value})


@pytest.mark.parametrize("secure_ports", [(), (24094, 24095, 24096, 24097)])
def test_the_ports_written_are_the_ports_read_back(tmp_path: Path, secure_ports: tuple[int, ...]) -> None:
    """What `start --keep` and `stop` read from server.properties is what a fresh `start` wrote."""
    props = broker.properties(tmp_path, 24092, 24093, secure_ports)
    if secure_ports:
        props += broker.secure_properties(tmp_path, broker.Config.from_environ({"KAFKA_SASL_USERS": "u:p"}))
        assert 'PlainLoginModule required user_u="p";' in props
        assert "listener.name.mtls.ssl.client.auth=required" in props
    (tmp_path / "server.properties").write_text(props)
    assert broker.dir_ports(tmp_path) == (24092, 24093, secure_ports)
    running = broker.Running(tmp_path, 1, 24092, 24093, secure_ports)
    lines = running.lines(broker.Config.from_environ({}))
    assert lines[0] == "KAFKA_BOOTSTRAP=127.0.0.1:24092"
    assert ("KAFKA_MTLS_BOOTSTRAP=127.0.0.1:24097" in lines) == bool(secure_ports)


def test_scram_users_are_created_for_both_mechanisms() -> None:
    config = broker.Config.from_environ({"KAFKA_SASL_USERS": "alice:a"})
    assert broker.scram_args(config) == [
        "--add-scram",
        "SCRAM-SHA-256=[name=alice,password=a]",
        "--add-scram",
        "SCRAM-SHA-512=[name=alice,password=a]",
    ]


def test_status_of_a_directory_without_a_broker_exits_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "kafka.pid").write_text("1\n")  # pid 1 is alive but no broker: a recycled pid
    assert broker.main(["status", str(tmp_path)], environ={}) == broker.NOT_RUNNING
    assert capsys.readouterr().out == f"not running ({tmp_path})\n"
    assert broker.main(["stop", str(tmp_path)], environ={}) == 0  # nothing to stop is no error
    assert not (tmp_path / "kafka.pid").exists()

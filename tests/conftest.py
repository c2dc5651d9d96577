from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from wallboard.settings import Settings, parse_settings

# No property test has a time limit: these shared 2-core machines are noisy, and speed belongs to bench/, not
# to the tests (a 200 ms deadline failed a levels test that took 280 ms once under load, 0.2 ms on a retry).
hypothesis_settings.register_profile("wallboard", deadline=None)
hypothesis_settings.load_profile("wallboard")

# The real Kafka broker fixture (session scoped, started on demand by tests that ask for it).
pytest_plugins = ["tests.kafka_broker"] if (Path(__file__).parent / "kafka_broker.py").exists() else []


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the developer's WALLBOARD_* variables."""
    for key in list(os.environ):
        if key.startswith("WALLBOARD_"):
            monkeypatch.delenv(key)
    yield


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """A command run in this process (CliRunner) configures logging (wallboard/logs.py): undo it after the test."""
    from wallboard.logs import AUDIT, OURS

    root = logging.getLogger()
    loggers = [logging.getLogger(name) for name in (*OURS, AUDIT)]
    saved = [(lg, list(lg.handlers), lg.level, lg.propagate) for lg in (root, *loggers)]
    yield
    for lg, handlers, level, propagate in saved:
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate = propagate


def make_settings(**data: object) -> Settings:
    base: dict[str, object] = {"timezone": "Asia/Shanghai"}
    base.update(data)
    return parse_settings(base, environ={})


@pytest.fixture
def settings() -> Settings:
    return make_settings()

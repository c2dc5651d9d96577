from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from wallboard.settings import Settings, parse_settings

# The real Kafka broker fixture (session scoped, started on demand by tests that ask for it).
pytest_plugins = ["tests.kafka_broker"] if (Path(__file__).parent / "kafka_broker.py").exists() else []


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the developer's WALLBOARD_* variables."""
    for key in list(os.environ):
        if key.startswith("WALLBOARD_"):
            monkeypatch.delenv(key)
    yield


def make_settings(**data: object) -> Settings:
    base: dict[str, object] = {"timezone": "Asia/Shanghai"}
    base.update(data)
    return parse_settings(base, environ={})


@pytest.fixture
def settings() -> Settings:
    return make_settings()

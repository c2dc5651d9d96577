"""`wallboard simulate --bootstrap`: the reference producer, read back by the Kafka source."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.engine_compare import numbers
from tests.kafka_board import Board
from tests.kafka_broker import create_topic, read_topic
from wallboard.cli import main
from wallboard.replay import read_lines, replay
from wallboard.settings import load_settings

pytestmark = [pytest.mark.kafka]


@pytest.mark.asyncio
async def test_simulated_traffic_through_kafka_equals_the_replay_of_the_same_day(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    config = tmp_path / "wallboard.toml"
    config.write_text(
        f'timezone = "Asia/Shanghai"\n[kafka]\nbootstrap_servers = "{kafka_bootstrap}"\n'
        f'topics = ["{topic_prefix}calls", "{topic_prefix}sms", "{topic_prefix}agents"]\n',
        encoding="utf-8",
    )
    s = load_settings(config, environ={})
    for topic in s.kafka.topics:
        await create_topic(kafka_bootstrap, topic, 3)
    common = ["--config", str(config), "--scenario", "small-centre", "--seed", "5", "--count", "2500"]
    runner = CliRunner()
    written = await asyncio.to_thread(runner.invoke, main, ["simulate", *common, "--out", str(tmp_path / "day.jsonl")])
    assert written.exit_code == 0, written.output
    sent = await asyncio.to_thread(
        runner.invoke, main, ["simulate", *common, "--bootstrap", kafka_bootstrap, "--speed", "0"]
    )
    assert sent.exit_code == 0, sent.output
    assert "sent 2,500 messages" in sent.output

    # Keys follow events.md: interaction_id for interaction events, agent_id for agent events.
    import json

    for record in (await read_topic(kafka_bootstrap, s.kafka.topics[2]))[:50]:
        assert record.key == json.loads(record.value)["agent_id"].encode()
    for record in (await read_topic(kafka_bootstrap, s.kafka.topics[0]))[:50]:
        body = json.loads(record.value)
        assert record.key == body["interaction_id"].encode()
        assert abs(record.timestamp - _ts_ms(body["ts"])) == 0

    now = int(time.time())
    s = load_settings(config, environ={})
    async with Board(s, lambda: now) as board:
        await board.until(lambda: board.source.status().ready)
        assert board.source.status().details["consumed"] == 2500
        expected = replay(read_lines(tmp_path / "day.jsonl"), s.metrics, now)
        assert board.snapshot() == numbers(expected.snapshot())


def _ts_ms(ts: str) -> int:
    from wallboard.events import parse_rfc3339_ms

    return parse_rfc3339_ms(ts)


def test_simulate_needs_exactly_one_destination(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["simulate", "--scenario", "small-centre"])
    assert result.exit_code == 2 and "exactly one of --out FILE or --bootstrap" in result.output
    result = CliRunner().invoke(main, ["simulate", "--scenario", "nope", "--out", str(tmp_path / "x")])
    assert result.exit_code == 1 and "nope" in result.output

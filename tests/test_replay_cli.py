"""`wallboard replay EVENTS_FILE --at TIME`: the board at any moment, from a file of raw events."""

from __future__ import annotations

import json
import random
from pathlib import Path

from click.testing import CliRunner

from tests.conftest import make_settings
from tests.engine_compare import assert_matches_reference
from tests.reference import reference
from tests.streams import random_stream, to_json
from wallboard.cli import main
from wallboard.engine import Engine
from wallboard.events import Event

BASE = 1_795_960_800  # 2026-11-29T22:00:00+08:00


def write_events(path: Path, seed: int = 7) -> list[Event]:
    rng = random.Random(seed)
    events = random_stream(rng, BASE, 6 * 3600, interactions=300)
    lines = [to_json(e, rng) for e in events]
    lines += [
        b"{broken",
        b"[]",
        b'{"type":"call.offered"}',
        b'{"type":"call.offered","event_id":"x","ts":"2026-11-29T10:00:00","interaction_id":"i","queue":"q"}',
    ]
    rng.shuffle(lines)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return events


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_replay_prints_the_snapshot_of_the_engine_at_that_time(tmp_path: Path) -> None:
    events = write_events(tmp_path / "day.jsonl")
    config = tmp_path / "wallboard.toml"
    config.write_text('timezone = "Asia/Shanghai"\n', encoding="utf-8")
    at = BASE + 5 * 3600
    code, out = run("replay", str(tmp_path / "day.jsonl"), "--at", "2026-11-30T03:00:00+08:00", "--config", str(config))
    assert code == 0, out
    snap = json.loads(out)
    assert snap["as_of"] == "2026-11-30T03:00:00+08:00"
    assert snap["status"]["rejected"] == {
        "bad_json": 1,
        "missing_field": 1,
        "not_object": 1,
        "timestamp_without_offset": 1,
    }
    s = make_settings()
    engine = Engine(s.metrics, at)
    for e in events:
        engine.apply(e)
    assert_matches_reference(engine, reference(events, s.metrics, at))
    expected = engine.snapshot()
    assert snap["queues"] == json.loads(json.dumps(expected["queues"]))
    assert snap["totals"] == json.loads(json.dumps(expected["totals"]))


def test_replay_at_local_time_and_other_views(tmp_path: Path) -> None:
    write_events(tmp_path / "day.jsonl")
    config = tmp_path / "wallboard.toml"
    config.write_text('timezone = "Asia/Shanghai"\ninterval = 1800\n', encoding="utf-8")
    base = ["replay", str(tmp_path / "day.jsonl"), "--config", str(config)]
    code, out = run(*base, "--at", "2026-11-30T00:30")
    assert code == 0 and json.loads(out)["as_of"] == "2026-11-30T00:30:00+08:00"
    code, out = run(*base, "--at", "2026-11-30T01:00:00+08:00", "--agents")
    rows = json.loads(out)["agents"]
    assert code == 0 and rows and {"agent_id", "state", "since", "handled_today"} <= set(rows[0])
    code, out = run(*base, "--at", "2026-11-30T01:00:00+08:00", "--intraday")
    intraday = json.loads(out)
    assert code == 0 and intraday["interval_s"] == 1800 and len(intraday["intervals"]) == 3


def test_replay_rejects_a_bad_time_clearly(tmp_path: Path) -> None:
    write_events(tmp_path / "day.jsonl")
    result = CliRunner().invoke(main, ["replay", str(tmp_path / "day.jsonl"), "--at", "teatime"])
    assert result.exit_code == 2 and "--at" in result.output and "not a time" in result.output


def test_replay_reports_bad_settings_clearly(tmp_path: Path) -> None:
    write_events(tmp_path / "day.jsonl")
    config = tmp_path / "bad.toml"
    config.write_text('timezone = "Atlantis/Capital"\nwindow = -5\n', encoding="utf-8")
    result = CliRunner().invoke(
        main, ["replay", str(tmp_path / "day.jsonl"), "--at", "1796000000", "--config", str(config)]
    )
    assert result.exit_code == 1
    assert "unknown time zone 'Atlantis/Capital'" in result.output and "window: must be at least 1" in result.output

"""Compare an engine snapshot with the brute-force reference, number by number."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from wallboard.engine import Engine
from wallboard.periods import PERIOD_FIELDS


def assert_matches_reference(engine: Engine, ref: dict[str, Any]) -> None:
    snap = engine.snapshot()
    assert list(snap["queues"]) == list(ref["queues"]), "the set of queues differs"
    for q, qref in ref["queues"].items():
        _compare_queue(snap["queues"][q], qref, where=q)
    _compare_queue(snap["totals"], ref["totals"], where="totals")
    agents = {row["agent_id"]: row for row in engine.agents()["agents"]}
    assert set(agents) == set(ref["agents"])
    for agent_id, row in ref["agents"].items():
        got = agents[agent_id]
        assert got["state"] == row["state"], agent_id
        assert got["since"] == engine.days.iso_ms(row["since_ms"]), agent_id
        assert got["queues"] == row["queues"]
        assert (got["name"], got["team"]) == (row["name"], row["team"])
        assert (got["reason"], got["limit_s"], got["over_limit"]) == (row["reason"], row["limit_s"], row["over_limit"])
        assert got["handled_today"] == ref["handled_today"].get(agent_id, {"call": 0, "sms": 0}), agent_id


def _compare_queue(got: Mapping[str, Any], ref: dict[str, Any], where: str) -> None:
    assert got["agents"] == ref["agents"], f"{where}: agents by state"
    assert got["agents_over_limit"] == ref["agents_over_limit"], f"{where}: agents over their limit"
    for ch, cref in ref["channels"].items():
        cgot = got["channels"][ch]
        at = f"{where}/{ch}"
        assert cgot["waiting"] == cref["waiting"], f"{at}: waiting"
        assert cgot["in_progress"] == cref["in_progress"], f"{at}: in_progress"
        assert cgot["longest_wait_s"] == _approx(cref["longest_wait_s"]), f"{at}: longest_wait_s"
        for period in ("window", "today"):
            for field in PERIOD_FIELDS:
                assert cgot[period][field] == _approx(cref[period][field]), f"{at}/{period}/{field}"


def _approx(value: Any) -> Any:
    return None if value is None else pytest.approx(value, rel=1e-9, abs=1e-6)


def fed(settings: Any, events: list[Any], now_s: int) -> Engine:
    """An engine at ``now_s`` with every event applied, in the order given, the clock never moving."""
    engine = Engine(settings.metrics, now_s)
    for e in events:
        engine.apply(e)
    return engine


def numbers(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """A snapshot without its ingestion status (which counts arrivals, not the set of events)."""
    return {k: v for k, v in snapshot.items() if k != "status"}


def assert_same_board(engine: Engine, expected: Engine) -> None:
    """Both engines show the same numbers, agents and intervals (how the events arrived aside)."""
    assert numbers(engine.snapshot()) == numbers(expected.snapshot())
    assert engine.agents() == expected.agents()
    assert engine.intraday() == expected.intraday()

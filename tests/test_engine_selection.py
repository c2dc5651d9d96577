"""Engine.selection: some queues added up exactly, from the counters (a TV showing ?queues=a,b)."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

from hypothesis import HealthCheck, assume, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tests.conftest import make_settings
from tests.engine_compare import fed
from tests.streams import random_stream
from wallboard.engine import Engine
from wallboard.events import AGENT_STATES, CHANNELS, AgentStateEvent, InteractionEvent

BASE = 1_795_960_800  # 2026-11-29T22:00:00+08:00: streams cross midnight
SPAN = 8 * 3600


def one_queue_each(events: list[Any]) -> list[Any]:
    """The stream without interactions offered to several queues (whose queue depends on which offered wins)."""
    queues: dict[tuple[str, str], set[str]] = defaultdict(set)
    for e in events:
        if isinstance(e, InteractionEvent):
            queues[(e.channel, e.interaction_id)].add(e.queue)
    return [e for e in events if not isinstance(e, InteractionEvent) or len(queues[(e.channel, e.interaction_id)]) == 1]


@given(
    seed=st.integers(0, 2**32),
    offset=st.integers(0, SPAN + 3600),
    formula=st.sampled_from(["abandons_negative", "abandons_ignored", "abandons_positive"]),
)
@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_two_queues_equal_an_engine_fed_only_their_events(seed: int, offset: int, formula: str) -> None:
    rng = random.Random(seed)
    s = make_settings(
        window=rng.choice([60, 900, 1800]),
        channels={"call": {"sl_formula": formula}, "sms": {"sl_formula": formula}},
        queues={"信用卡": {"call": {"sl_threshold": 30, "short_abandon": 2, "sl_formula": "abandons_positive"}}},
    )
    events = one_queue_each(random_stream(rng, BASE, SPAN, interactions=rng.randrange(0, 150)))
    at = BASE + offset
    everything = fed(s, events, at)
    known = list(everything.snapshot()["queues"])
    assume(len(known) >= 2)  # (one queue is the queue itself, with its own formula: the test below)
    picked = rng.sample(known, 2)
    only = fed(s, [e for e in events if not isinstance(e, InteractionEvent) or e.queue in picked], at)
    sel = everything.selection(picked)
    expected = only.snapshot()["totals"]
    found = picked
    assert (sel["queues"], sel["missing"]) == (picked, [])
    assert sel["channels"] is not None and expected["channels"] is not None
    # Exactly equal, floats included: the same integer counters, the same formula (the channel's: two queues).
    for ch in CHANNELS:
        assert sel["channels"][ch] == expected["channels"][ch], ch
    # Agents serving both queues count once.
    counts = dict.fromkeys(AGENT_STATES, 0)
    for row in everything.agents()["agents"]:
        if set(row["queues"]) & set(found):
            counts[row["state"]] += 1
    assert sel["agents"] == counts


@given(seed=st.integers(0, 2**32), offset=st.integers(0, SPAN))
@hsettings(max_examples=30, deadline=None)
def test_one_queue_is_the_queue_itself(seed: int, offset: int) -> None:
    """With its own formula and thresholds (信用卡 has an override)."""
    rng = random.Random(seed)
    s = make_settings(queues={"信用卡": {"call": {"sl_threshold": 30, "sl_formula": "abandons_ignored"}}})
    engine = fed(s, random_stream(rng, BASE, SPAN, interactions=80), BASE + offset)
    snap = engine.snapshot()
    for queue in snap["queues"]:
        sel = engine.selection([queue])
        assert sel["channels"] == snap["queues"][queue]["channels"]
        assert sel["agents"] == snap["queues"][queue]["agents"]


def test_the_names_asked_for_in_their_order_and_those_not_known() -> None:
    s = make_settings()
    engine = Engine(s.metrics, BASE)
    for n, queue in enumerate(("b", "a", "c")):
        engine.apply(InteractionEvent(f"e{n}", (BASE - 10) * 1000, "call", "offered", f"i{n}", queue, None))
    sel = engine.selection(["c", "nope", "a", "c"])
    assert (sel["queues"], sel["missing"]) == (["c", "a"], ["nope"])
    assert sel["channels"] is not None
    assert sel["channels"]["call"]["waiting"] == 2
    assert sel["channels"]["call"]["longest_wait_s"] == 10.0
    assert sel["channels"]["sms"]["waiting"] == 0
    assert engine.selection([]) == {
        "queues": [],
        "missing": [],
        "channels": None,
        "agents": None,
        "agents_over_limit": None,
    }
    assert engine.selection(["nope"]) == {
        "queues": [],
        "missing": ["nope"],
        "channels": None,
        "agents": None,
        "agents_over_limit": None,
    }
    # A queue seen since the last snapshot or selection is found (what is visible is not kept past a change).
    engine.snapshot()
    engine.apply(AgentStateEvent("s1", (BASE - 5) * 1000, "A1", "busy", ("nope",), None, None))
    sel = engine.selection(["nope"])
    assert sel["queues"] == ["nope"] and sel["agents"] is not None and sel["agents"]["busy"] == 1

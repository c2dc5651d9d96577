"""Limits on one message (docs/events.md "Limits"): a name longer than its limit, or an agent listing more queues
than its limit, is a rejection with its reason, on both parser paths, never a crash and never a shortened
value; at the limit the message is taken.  The settings' ``[limits]`` move the limits."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import make_settings
from wallboard.engine import Engine
from wallboard.errors import ContractError
from wallboard.events import (
    DEFAULT_LIMITS,
    LIST_MEMO_SIZE,
    MEMO_SIZE,
    REJECT_REASONS,
    AgentStateEvent,
    Contract,
    ContractLimits,
    InteractionEvent,
    contract_for,
    parse,
)
from wallboard.ingest import ingest
from wallboard.sources.base import RawMessage

TS_MS = 1_796_000_000_000


def msg(**fields: object) -> bytes:
    return json.dumps(fields, ensure_ascii=False).encode()


def answered(**over: object) -> dict[str, Any]:
    return {
        "type": "call.answered",
        "event_id": "e1",
        "ts": TS_MS,
        "interaction_id": "c1",
        "queue": "信用卡",
        "agent_id": "A1",
        **over,
    }


def agent(**over: object) -> dict[str, Any]:
    return {
        "type": "agent.state",
        "event_id": "a1",
        "ts": TS_MS,
        "agent_id": "A1",
        "state": "available",
        "queues": ["信用卡"],
        "name": "王小明",
        "team": "一组",
        **over,
    }


def outcome(fn: Any, raw: bytes) -> object:
    try:
        return fn(raw)
    except ContractError as exc:
        assert exc.reason in REJECT_REASONS and exc.detail
        return exc.reason


def reason(raw: bytes, contract: Contract | None = None) -> object:
    """The outcome on both paths, which must agree: the event, or the reason it is rejected for."""
    c = contract or Contract()
    fast, checked = outcome(c.parse, raw), outcome(c.parse_checked, raw)
    assert fast == checked
    return fast


LIMITS = [
    # (what, a message at the limit, the same one over it, the reason)
    ("queue", answered(queue="队" * 64), answered(queue="队" * 65), "bad_length"),
    ("agent_id of an answer", answered(agent_id="A" * 64), answered(agent_id="A" * 65), "bad_length"),
    ("agent_id of a state", agent(agent_id="A" * 64), agent(agent_id="A" * 65), "bad_length"),
    ("a queue in queues", agent(queues=["q" * 64]), agent(queues=["q" * 65]), "bad_length"),
    ("display name", agent(name="名" * 64), agent(name="名" * 65), "bad_length"),
    ("team", agent(team="组" * 64), agent(team="组" * 65), "bad_length"),
    ("reason", agent(reason="午" * 32), agent(reason="午" * 33), "bad_length"),
    ("queues listed", agent(queues=[f"q{i}" for i in range(16)]), agent(queues=[f"q{i}" for i in range(17)]), None),
]


@pytest.mark.parametrize(("what", "at_limit", "over", "why"), LIMITS, ids=[row[0] for row in LIMITS])
def test_each_limit_takes_a_message_at_it_and_rejects_one_over_it(what, at_limit, over, why):
    assert isinstance(reason(msg(**at_limit)), InteractionEvent | AgentStateEvent), what
    assert reason(msg(**over)) == (why or "queue_list_too_long"), what


def test_the_defaults_are_the_contracts_lengths_and_documented() -> None:
    assert DEFAULT_LIMITS == ContractLimits(64, 64, 64, 64, 16, 32)
    limits = make_settings().metrics.limits
    assert contract_for(limits).limits == DEFAULT_LIMITS
    assert contract_for(limits) is contract_for(make_settings().metrics.limits)  # built once


def test_the_security_reviews_messages_are_rejected() -> None:
    """One valid agent.state listing 6,500 queues (57 KB), and a display name of 60,000 characters."""
    review = msg(**agent(queues=[f"q{i}" for i in range(6500)]))
    assert len(review) < 64 * 1024
    assert reason(review) == "queue_list_too_long"
    with pytest.raises(ContractError, match="lists 6500 queues, at most 16 allowed"):
        parse(review)
    assert reason(msg(**agent(name="x" * 60_000))) == "bad_length"


def test_a_name_is_held_to_its_limit_as_sent_and_once_normalised() -> None:
    # 64 visible characters and a zero-width space are 65 as sent: the contract's length is of what is sent.
    assert reason(msg(**answered(queue="队" * 64 + "\u200b"))) == "bad_length"
    # A few characters grow under NFC (U+0958 is two code points composed): 40 of them are 80 once normalised.
    assert reason(msg(**answered(queue="\u0958" * 40))) == "bad_length"
    assert isinstance(reason(msg(**answered(queue="\u0958" * 32))), InteractionEvent)
    assert reason(msg(**agent(name="\u0958" * 40))) == "bad_length"
    assert reason(msg(**agent(team="\u0958" * 40))) == "bad_length"
    assert reason(msg(**agent(reason="\u0958" * 20))) == "bad_length"  # 20 as sent, 40 once normalised


def test_a_reason_is_normalised_like_the_names_and_blank_is_none() -> None:
    """Contract version 2: `reason` is optional; null, "", or nothing visible once normalised is no reason."""
    for blank in (None, "", " ", "\u200b"):
        ev = reason(msg(**agent(reason=blank)))
        assert isinstance(ev, AgentStateEvent) and ev.reason is None, blank
    ev = reason(msg(**agent(reason=" lunch\u200b ")))
    assert isinstance(ev, AgentStateEvent) and ev.reason == "lunch"
    assert reason(msg(**agent(reason="lun\nch"))) == "bad_characters"
    assert reason(msg(**agent(reason="\u2028"))) == "bad_characters"
    assert reason(msg(**agent(reason=3))) == "wrong_type"
    with pytest.raises(ContractError, match="`reason`"):
        parse(msg(**agent(reason="a\x07")))


def test_endless_new_names_do_not_grow_the_contracts_memory() -> None:
    """Each valid name is remembered (normalised once); a producer sending new names forever is bounded."""
    contract = Contract()
    for i in range(MEMO_SIZE + 10):
        ev = contract.parse(msg(**answered(queue=f"q{i}", event_id=f"e{i}")))
        assert isinstance(ev, InteractionEvent) and ev.queue == f"q{i}"
    assert 0 < len(contract._queues) <= MEMO_SIZE
    for i in range(LIST_MEMO_SIZE + 10):
        ev = contract.parse(msg(**agent(queues=[f"q{i}", "信用卡"], event_id=f"a{i}")))
        assert isinstance(ev, AgentStateEvent) and ev.queues == (f"q{i}", "信用卡")
    assert 0 < len(contract._queue_lists) <= LIST_MEMO_SIZE


def test_an_agent_listing_a_queue_twice_lists_it_once() -> None:
    ev = parse(msg(**agent(queues=["a", "b", "a", "b\u200b", " c "])))
    assert isinstance(ev, AgentStateEvent)
    assert ev.queues == ("a", "b", "c")


def test_the_settings_move_the_limits() -> None:
    limits = make_settings(
        limits={
            "max_queue_name": 8,
            "max_agent_id": 4,
            "max_agent_name": 3,
            "max_team_name": 2,
            "max_queues_per_agent": 2,
            "max_reason": 5,
        }
    ).metrics.limits
    strict = contract_for(limits)
    assert isinstance(reason(msg(**answered(queue="q" * 8, agent_id="A234")), strict), InteractionEvent)
    assert reason(msg(**answered(queue="q" * 9)), strict) == "bad_length"
    assert reason(msg(**answered(agent_id="A2345")), strict) == "bad_length"
    assert reason(msg(**agent(agent_id="A1", name="王小明", team="一组", queues=["a", "b"])), strict) != "bad_length"
    assert reason(msg(**agent(agent_id="A1", name="王小明x")), strict) == "bad_length"
    assert reason(msg(**agent(agent_id="A1", name=None, team="一组x")), strict) == "bad_length"
    assert reason(msg(**agent(agent_id="A1", queues=["a", "b", "c"])), strict) == "queue_list_too_long"
    assert isinstance(
        reason(msg(**agent(agent_id="A1", name=None, team=None, reason="lunch")), strict), AgentStateEvent
    )
    assert reason(msg(**agent(agent_id="A1", name=None, team=None, reason="lunch!")), strict) == "bad_length"
    # Raised above the contract's 64: longer names are taken (an extension; every v1 message stays valid).
    roomy = contract_for(make_settings(limits={"max_queue_name": 100}).metrics.limits)
    assert isinstance(reason(msg(**answered(queue="q" * 100)), roomy), InteractionEvent)


def test_a_rejection_reaches_the_dead_letter_path_with_its_reason() -> None:
    engine = Engine(make_settings().metrics, TS_MS // 1000)
    over = RawMessage(msg(**agent(queues=[f"q{i}" for i in range(17)])), topic="cc.agents", partition=0, offset=7)
    good = RawMessage(msg(**agent(event_id="a2")), topic="cc.agents", partition=0, offset=8)
    result = ingest(engine, [over, good])
    assert [(r.message.offset, r.reason) for r in result.rejected] == [(7, "queue_list_too_long")]
    assert "17 queues" in result.rejected[0].detail
    assert engine.status()["rejected"] == {"queue_list_too_long": 1}
    assert engine.events == 1


def test_ingest_applies_the_engines_limits_to_the_contract() -> None:
    settings = make_settings(limits={"max_queue_name": 4})
    engine = Engine(settings.metrics, TS_MS // 1000)
    result = ingest(engine, [RawMessage(msg(**answered(queue="abcde")))])
    assert [r.reason for r in result.rejected] == ["bad_length"]


NAMES = st.text(st.sampled_from(["a", "队", " ", "\u200b", "\u202e", "\x07", "\u0958", "é"]), max_size=7)


@given(
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["call.answered", "agent.state", "sms.offered"]),
            "event_id": st.just("e"),
            "ts": st.just(TS_MS),
            "interaction_id": st.just("i"),
            "state": st.just("busy"),
        },
        optional={
            "queue": NAMES,
            "agent_id": NAMES,
            "queues": st.lists(NAMES, max_size=5),
            "name": st.none() | NAMES,
            "team": st.none() | NAMES | st.integers(),
            "reason": st.none() | NAMES | st.integers(),
        },
    ),
    st.integers(1, 5),
    st.integers(1, 4),
)
def test_both_paths_agree_under_any_limits(obj, length, count):
    """Whatever the limits and the names (invisible, control and composing characters near the limits)."""
    contract = Contract(ContractLimits(length, length, length, length, count, length))
    reason(msg(**obj), contract)

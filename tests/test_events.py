"""The event contract (events.md): what is accepted, and the named reason for every rejection."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from wallboard.errors import ContractError
from wallboard.events import (
    MAX_MESSAGE_BYTES,
    REJECT_REASONS,
    AgentStateEvent,
    InteractionEvent,
    _parse_checked,
    parse,
)

TS = "2026-11-29T09:15:02.123+08:00"
TS_MS = 1_795_914_902_123  # date -u -d @1795914902 -> Sun Nov 29 01:15:02 UTC 2026


def msg(**fields: object) -> bytes:
    return json.dumps(fields, ensure_ascii=False).encode()


def offered(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "type": "call.offered",
        "event_id": "e1",
        "ts": TS,
        "interaction_id": "c1",
        "queue": "信用卡",
    }
    base.update(over)
    return base


def agent(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "type": "agent.state",
        "event_id": "a1",
        "ts": TS,
        "agent_id": "A1",
        "state": "available",
        "queues": ["信用卡", "credit-card"],
    }
    base.update(over)
    return base


def reason_of(raw: bytes) -> str:
    with pytest.raises(ContractError) as info:
        parse(raw)
    assert info.value.reason in REJECT_REASONS
    assert info.value.detail
    return info.value.reason


@pytest.mark.parametrize("kind", ["call", "sms"])
@pytest.mark.parametrize("phase", ["offered", "answered", "abandoned", "completed"])
def test_every_interaction_type_parses(kind: str, phase: str) -> None:
    ev = parse(msg(**offered(type=f"{kind}.{phase}", agent_id="A7")))
    assert isinstance(ev, InteractionEvent)
    assert (ev.channel, ev.phase, ev.interaction_id, ev.queue, ev.ts_ms) == (kind, phase, "c1", "信用卡", TS_MS)
    assert ev.agent_id == ("A7" if phase in ("answered", "completed") else None)


def test_agent_state_parses_with_optional_fields() -> None:
    ev = parse(msg(**agent(name="王小明", team="组长李")))
    assert ev == AgentStateEvent("a1", TS_MS, "A1", "available", ("信用卡", "credit-card"), "王小明", "组长李")
    bare = parse(msg(**agent()))
    assert isinstance(bare, AgentStateEvent) and bare.name is None and bare.team is None and bare.reason is None


def test_agent_state_reason_is_version_2_and_optional() -> None:
    """Version 2 added `reason`; a version-1 message (without it) is the same event as before."""
    ev = parse(msg(**agent(state="break", reason="lunch")))
    assert ev == AgentStateEvent("a1", TS_MS, "A1", "break", ("信用卡", "credit-card"), None, None, "lunch")
    assert _parse_checked(msg(**agent(state="break", reason="lunch"))) == ev
    v1 = parse(msg(**agent(name="王小明")))
    assert v1 == AgentStateEvent("a1", TS_MS, "A1", "available", ("信用卡", "credit-card"), "王小明", None)
    assert parse(msg(**agent(name="王小明", reason=None))) == v1


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        ("2026-11-29T09:15:02.123+08:00", TS_MS),
        ("2026-11-29T01:15:02.123Z", TS_MS),
        ("2026-11-29T01:15:02.123z", TS_MS),
        ("2026-11-29 01:15:02.123+00:00", TS_MS),
        ("2026-11-29T01:15:02.1239999Z", TS_MS),  # sub-millisecond digits are truncated
        ("2026-11-29T01:15:02Z", TS_MS - 123),
        ("2026-11-28T20:15:02.123-05:00", TS_MS),
        (TS_MS, TS_MS),
        (0, 0),
    ],
)
def test_timestamps_rfc3339_with_offset_or_epoch_ms(ts: object, expected: int) -> None:
    assert parse(msg(**offered(ts=ts))).ts_ms == expected


def test_unknown_extra_fields_are_ignored() -> None:
    ev = parse(msg(**offered(extra={"nested": [1, 2]}, agent_id=5, priority="high")))
    assert isinstance(ev, InteractionEvent)
    assert ev.interaction_id == "c1" and ev.agent_id is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "bad_json"),
        (b"\xff\xfe{}", "bad_json"),
        (b"", "bad_json"),
        (b"[1, 2]", "not_object"),
        (b'"call.offered"', "not_object"),
        (b"null", "not_object"),
        (msg(**{k: v for k, v in offered().items() if k != "type"}), "missing_field"),
        (msg(**offered(type="call.transferred")), "unknown_type"),
        (msg(**offered(type="CALL.OFFERED")), "unknown_type"),
        (msg(**offered(type=7)), "wrong_type"),
        (msg(**{k: v for k, v in offered().items() if k != "event_id"}), "missing_field"),
        (msg(**{k: v for k, v in offered().items() if k != "ts"}), "missing_field"),
        (msg(**{k: v for k, v in offered().items() if k != "queue"}), "missing_field"),
        (msg(**{k: v for k, v in offered().items() if k != "interaction_id"}), "missing_field"),
        (msg(**offered(type="call.answered")), "missing_field"),  # answered needs agent_id
        (msg(**offered(type="sms.completed")), "missing_field"),
        (msg(**offered(event_id=12)), "wrong_type"),
        (msg(**offered(queue=None)), "wrong_type"),
        (msg(**offered(queue=["信用卡"])), "wrong_type"),
        (msg(**offered(ts=1.5e12)), "wrong_type"),
        (msg(**offered(ts=True)), "wrong_type"),
        (msg(**offered(event_id="")), "bad_length"),
        (msg(**offered(event_id="x" * 129)), "bad_length"),
        (msg(**offered(interaction_id="x" * 129)), "bad_length"),
        (msg(**offered(queue="")), "bad_length"),
        (msg(**offered(queue="队" * 65)), "bad_length"),
        (msg(**offered(type="call.answered", agent_id="a" * 65)), "bad_length"),
        (msg(**offered(ts="2026-11-29T09:15:02.123")), "timestamp_without_offset"),
        (msg(**offered(ts="2026-11-29T09:15:02")), "timestamp_without_offset"),
        (msg(**offered(ts="2026-11-29")), "bad_timestamp"),
        (msg(**offered(ts="20261129T091502Z")), "bad_timestamp"),
        (msg(**offered(ts="2026-11-29T09:15:02+0800")), "bad_timestamp"),
        (msg(**offered(ts="2026-02-30T09:15:02Z")), "bad_timestamp"),
        (msg(**offered(ts="2026-11-29T24:15:02Z")), "bad_timestamp"),
        (msg(**offered(ts="2026-11-29T09:15:60Z")), "bad_timestamp"),
        (msg(**offered(ts="2026-11-29T09:15:02+25:00")), "bad_timestamp"),
        (msg(**offered(ts="1969-12-31T23:59:59Z")), "bad_timestamp"),
        (msg(**offered(ts="yesterday")), "bad_timestamp"),
        (msg(**offered(ts=-1)), "bad_timestamp"),
        (msg(**offered(ts=10**15)), "bad_timestamp"),
        (msg(**agent(state="lunch")), "bad_value"),
        (msg(**agent(state=1)), "wrong_type"),
        (msg(**{k: v for k, v in agent().items() if k != "queues"}), "missing_field"),
        (msg(**agent(queues="信用卡")), "wrong_type"),
        (msg(**agent(queues=["ok", 3])), "wrong_type"),
        (msg(**agent(queues=[""])), "bad_length"),
        (msg(**agent(name=42)), "wrong_type"),
        (msg(**agent(team=["a"])), "wrong_type"),
        (msg(**agent(reason=7)), "wrong_type"),
        (msg(**agent(reason=["lunch"])), "wrong_type"),
        (msg(**agent(reason="x" * 33)), "bad_length"),
        (msg(**agent(reason="a\tb")), "bad_characters"),
        (msg(**{k: v for k, v in agent().items() if k != "agent_id"}), "missing_field"),
    ],
)
def test_rejections_name_their_reason(raw: bytes, reason: str) -> None:
    assert reason_of(raw) == reason


def test_size_limit_is_64_kib() -> None:
    filler = "x" * MAX_MESSAGE_BYTES
    assert reason_of(msg(**offered(pad=filler))) == "too_large"
    just_fits = msg(**offered(pad=""))
    pad = MAX_MESSAGE_BYTES - len(just_fits)
    assert len(msg(**offered(pad="x" * pad))) == MAX_MESSAGE_BYTES
    ev = parse(msg(**offered(pad="x" * pad)))
    assert isinstance(ev, InteractionEvent) and ev.interaction_id == "c1"


def test_every_reason_is_documented() -> None:
    from pathlib import Path

    doc = (Path(__file__).parent.parent / "docs" / "events.md").read_text()
    for reason in REJECT_REASONS:
        assert f"`{reason}`" in doc, reason


@given(st.binary(max_size=300))
@hsettings(max_examples=500, deadline=None)
def test_fuzz_bytes_only_ever_reject(raw: bytes) -> None:
    try:
        parse(raw)
    except ContractError as exc:
        assert exc.reason in REJECT_REASONS


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
FIELDS = ["type", "event_id", "ts", "interaction_id", "queue", "agent_id", "state", "queues", "name", "team", "reason"]


@given(
    st.dictionaries(
        st.sampled_from(FIELDS),
        JSON
        | st.sampled_from(
            ["call.offered", "sms.answered", "agent.state", "call.completed", TS, "busy", "2026-11-29T09:15:02"]
        ),
        max_size=10,
    )
)
@hsettings(max_examples=1000, deadline=None)
def test_fuzz_objects_only_ever_parse_or_reject(obj: dict[str, object]) -> None:
    try:
        raw = orjson.dumps(obj)
    except TypeError:
        return
    try:
        ev = parse(raw)
    except ContractError as exc:
        assert exc.reason in REJECT_REASONS
    else:
        assert isinstance(ev, InteractionEvent | AgentStateEvent)


def outcome(fn: object, raw: bytes) -> object:
    try:
        return fn(raw)  # type: ignore[operator]
    except ContractError as exc:
        return exc.reason


@given(
    st.dictionaries(
        st.sampled_from(FIELDS),
        JSON
        | st.sampled_from(
            [
                "call.offered",
                "sms.answered",
                "agent.state",
                "call.completed",
                "sms.abandoned",
                TS,
                "busy",
                "x" * 64,
                "x" * 65,
                "x" * 32,
                "x" * 33,
                "lunch",
                " \u200b",
                "队" * 64,
                "队" * 65,
                "",
                ["q"],
                [],
                TS_MS,
                2**64,
                "2026-11-29T09:15:02.123Z",
            ]
        ),
        max_size=10,
    )
)
@hsettings(max_examples=1500, deadline=None)
def test_typed_fast_path_agrees_with_the_checked_path(obj: dict[str, object]) -> None:
    """parse() decodes valid messages in one typed pass; it accepts and rejects exactly as the checked path."""
    raw = json.dumps(obj, ensure_ascii=False).encode()
    assert outcome(parse, raw) == outcome(_parse_checked, raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Repeated keys: the last one counts, on both paths.
        (
            b'{"type":"agent.state","type":"call.offered","event_id":"e","ts":1,"interaction_id":"i","queue":"q"}',
            "event",
        ),
        (b'{"type":"call.offered","event_id":5,"event_id":"e","ts":1,"interaction_id":"i","queue":"q"}', "event"),
        (b'{"type":"call.offered","event_id":"e","event_id":5,"ts":1,"interaction_id":"i","queue":"q"}', "wrong_type"),
        # Nesting too deep for the decoder, even in a field the contract ignores.
        (
            b'{"type":"call.offered","event_id":"e","ts":1,"interaction_id":"i","queue":"q","x":'
            + b"[" * 5000
            + b"]" * 5000
            + b"}",
            "bad_json",
        ),
        (
            b'{"type":"call.offered","event_id":"e","ts":18446744073709551616,"interaction_id":"i","queue":"q"}',
            "bad_timestamp",
        ),
        (b'{"type":"call.offered","event_id":"e","ts":1e3,"interaction_id":"i","queue":"q"}', "wrong_type"),
        (b'{"type":"call.offered","event_id":"\\ud800","ts":1,"interaction_id":"i","queue":"q"}', "bad_json"),
        (b'\xef\xbb\xbf{"type":"call.offered","event_id":"e","ts":1,"interaction_id":"i","queue":"q"}', "bad_json"),
    ],
)
def test_edge_cases_of_json_decoding(raw: bytes, expected: str) -> None:
    for fn in (parse, _parse_checked):
        result = outcome(fn, raw)
        assert (result if isinstance(result, str) else "event") == expected, fn

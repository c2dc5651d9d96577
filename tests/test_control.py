"""The control records (wallboard/control.py): what a person sets, as every instance folds it from the topic."""

from __future__ import annotations

import asyncio
import json

from hypothesis import given
from hypothesis import strategies as st

from wallboard.control import (
    BROADCAST_KEY,
    Ack,
    Broadcast,
    ControlState,
    FiredAlert,
    broadcast_text,
    decode_broadcast,
    encode_ack,
    encode_broadcast,
    encode_fired,
    encode_resolved,
)
from wallboard.sources.control import MemoryControl

MAX = 280


def record(**value: object) -> bytes:
    return json.dumps({"v": 1, "text": "", "set_at": None, "by": None, **value}).encode()


def test_a_broadcast_round_trips_through_its_record() -> None:
    b = Broadcast("系统维护 15:00", "2026-11-30T09:00:00.000+08:00", "alice")
    key, value = encode_broadcast(b)
    assert key == BROADCAST_KEY.encode()
    assert decode_broadcast(value, MAX) == b
    assert json.loads(value) == {"v": 1, "text": "系统维护 15:00", "set_at": b.set_at, "by": "alice"}


def test_a_tombstone_clears_the_broadcast() -> None:
    assert decode_broadcast(None, MAX) == Broadcast()


def test_every_kind_of_bad_record_has_its_reason() -> None:
    cases: list[tuple[bytes, str]] = [
        (b"\xff\xfe", "not_json"),
        (b"{", "not_json"),
        (b"[1]", "not_an_object"),
        (b'{"text":"x"}', "bad_field"),
        (b'{"v":true,"text":"x"}', "bad_field"),
        (b'{"v":0,"text":"x"}', "bad_field"),
        (b'{"v":2,"text":"x"}', "newer_version"),
        (record(text=3), "bad_field"),
        (record(set_at=5), "bad_field"),
        (record(by=["x"]), "bad_field"),
        (record(text="a\u202eb"), "bad_text"),
        (record(text="a\x00b"), "bad_text"),
        (record(text="two\nlines"), "bad_text"),  # a POST folds it; a record must be as shown
        (record(text="x" * (MAX + 1)), "too_long"),
        (b" " * 70000, "too_large"),
    ]
    for value, reason in cases:
        assert decode_broadcast(value, MAX) == reason, value[:40]


def test_the_text_rule_is_the_posts() -> None:
    assert broadcast_text("  Fire drill\nat 15:00  ", MAX) == "Fire drill at 15:00"
    assert broadcast_text("x" * (MAX + 1), MAX) == ("too_long", f'"text" has {MAX + 1} characters; at most {MAX}')
    assert broadcast_text("\u200bhidden", MAX)[0] == "bad_text"


def test_a_record_of_another_key_or_no_key_changes_nothing_and_is_counted() -> None:
    state = ControlState(max_length=MAX)
    assert state.apply(b"broadcast", record(text="kept", set_at="t1")) == "broadcast"
    assert state.apply(b"acknowledgement/r1", b"{}") is None
    assert state.apply(None, b"{}") is None
    assert state.apply(b"broadcast", b"nonsense") is None
    assert state.broadcast == Broadcast("kept", "t1")
    assert state.records == 4 and state.rejected == {"unknown_key": 2, "not_json": 1}


def test_the_same_record_again_is_no_change() -> None:
    state = ControlState(max_length=MAX)
    assert state.apply(b"broadcast", record(text="a", set_at="t1")) == "broadcast"
    assert state.apply(b"broadcast", record(text="a", set_at="t1")) is None
    assert state.apply(b"broadcast", record(text="a", set_at="t2")) == "broadcast"  # posted again: a new set_at


def test_alerts_firing_are_recorded_and_a_tombstone_resolves_them() -> None:
    state = ControlState(max_length=MAX)
    fired = FiredAlert("sl", "queue:信用卡", 100, 160)
    key, value = encode_fired(fired)
    assert key == "alert/sl\x1fqueue:信用卡".encode()
    assert state.apply(key, value) == "alert" and state.fired == {key.decode(): fired}
    assert state.apply(*encode_resolved("sl", "queue:信用卡")) == "alert" and state.fired == {}
    assert state.apply(*encode_resolved("sl", "queue:信用卡")) is None  # nothing to resolve


def test_bad_alert_records_are_counted() -> None:
    state = ControlState(max_length=MAX)
    key = b"alert/sl\x1ftotal"
    for value in [
        b"[]",
        json.dumps({"v": 1, "rule": "sl", "scope": "total", "since": 5}).encode(),
        json.dumps({"v": 1, "rule": "sl", "scope": "total", "since": 5, "fired_at": 4}).encode(),
        json.dumps({"v": 1, "rule": "sl", "scope": "total", "since": True, "fired_at": 4}).encode(),
        json.dumps({"v": 1, "rule": 1, "scope": "total", "since": 1, "fired_at": 4}).encode(),
        json.dumps({"v": 1, "rule": "other", "scope": "total", "since": 1, "fired_at": 4}).encode(),  # not its key
    ]:
        assert state.apply(key, value) is None
    assert state.fired == {} and state.rejected == {"not_an_object": 1, "bad_field": 5}


records = st.one_of(
    st.builds(lambda t, at: (b"broadcast", record(text=t, set_at=at)), st.text(max_size=20), st.none() | st.text()),
    st.just((b"broadcast", None)),
    st.tuples(st.none() | st.binary(max_size=8), st.none() | st.binary(max_size=30)),
)


@given(st.lists(records, max_size=30))
def test_the_state_is_the_newest_valid_broadcast_record(log: list[tuple[bytes | None, bytes | None]]) -> None:
    """What every instance shows: the last record of the key ``broadcast`` that is valid, whatever came between."""
    state = ControlState(max_length=MAX)
    for key, value in log:
        state.apply(key, value)
    expected = Broadcast()
    for key, value in log:
        if key == b"broadcast":
            decoded = decode_broadcast(value, MAX)
            if isinstance(decoded, Broadcast):
                expected = decoded
    assert state.broadcast == expected
    assert state.records == len(log)
    assert sum(state.rejected.values()) <= len(log)


def test_memory_control_folds_writes_made_before_it_runs_then_at_once() -> None:
    async def scenario() -> list[tuple[bytes | None, bytes | None]]:
        seen: list[tuple[bytes | None, bytes | None]] = []
        control = MemoryControl()
        await control.write(b"broadcast", b"early")
        task = asyncio.create_task(control.run(lambda k, v: seen.append((k, v))))
        await asyncio.sleep(0)
        await control.write(b"broadcast", b"later")
        assert control.status().ready and control.status().records == 2
        task.cancel()
        await control.close()
        return seen

    assert asyncio.run(scenario()) == [(b"broadcast", b"early"), (b"broadcast", b"later")]


def test_acknowledgements_are_kept_by_firing_and_bad_ones_counted() -> None:
    state = ControlState(max_length=MAX)
    key, value = encode_ack("k1", Ack("alice", "2026-11-30T09:00:00+08:00"))
    assert key == b"ack/k1"
    assert state.apply(key, value) == "ack" and state.acks == {"k1": Ack("alice", "2026-11-30T09:00:00+08:00")}
    assert state.apply(b"ack/k2", json.dumps({"v": 1, "by": "", "at": "x"}).encode()) is None
    assert state.apply(b"ack/k2", b"{") is None
    assert state.apply(b"ack/k1", None) == "ack" and state.acks == {}
    assert state.apply(b"ack/k1", None) is None
    assert state.rejected == {"bad_field": 1, "not_json": 1}

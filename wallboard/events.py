"""The event contract (version 1, ../shared/spec/events.md, documented in docs/events.md).

``parse(raw)`` turns one Kafka message value into an event or raises
``ContractError`` with a stable reason code (``REJECT_REASONS``).  It never
raises anything else, whatever the input (tests/test_events.py fuzzes it).

Two paths, one contract.  A valid message (nearly all of them) is decoded and
validated in one pass by msgspec's typed decoder, in C, into a small struct per
event type.  Anything that decoder refuses goes through ``_parse_checked``, which
decodes it again untyped and checks field by field, in the order events.md
lists them, to name the exact reason.  Both use msgspec's JSON grammar, and
tests/test_events.py checks on generated messages that the two paths agree.

Events are ``NamedTuple``s rather than frozen dataclasses: the parser builds one
per message on the hot path, and a tuple is several times cheaper to build
while being just as immutable.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any, Final, Literal, NamedTuple, Union

import msgspec

from wallboard.errors import ContractError

MAX_MESSAGE_BYTES: Final = 64 * 1024
"""Messages larger than this are rejected (events.md: at most 64 KiB)."""

MAX_TS_MS: Final = 253402300799999
"""9999-12-31T23:59:59.999Z, the last instant an RFC 3339 timestamp can name."""

REJECT_REASONS: dict[str, str] = {
    "too_large": "the message is over 64 KiB",
    "bad_json": "the message is not valid UTF-8 JSON",
    "not_object": "the JSON value is not an object",
    "missing_field": "a required field is absent",
    "unknown_type": "`type` is not one of the event types",
    "wrong_type": "a field has the wrong JSON type",
    "bad_length": "a string field is empty or longer than its limit",
    "bad_value": "a field holds a value outside its allowed set (agent state)",
    "bad_timestamp": "`ts` is not an RFC 3339 timestamp or epoch milliseconds, or is out of range",
    "timestamp_without_offset": "`ts` is an RFC 3339 timestamp without a UTC offset",
}
"""Every reason a message can be rejected for, with its meaning (the board counts by these)."""

CHANNELS = ("call", "sms")
PHASES = ("offered", "answered", "abandoned", "completed")
AGENT_STATES = ("available", "busy", "wrap_up", "break", "offline")

INTERACTION_TYPES: dict[str, tuple[str, str]] = {
    f"{channel}.{phase}": (channel, phase) for channel in CHANNELS for phase in PHASES
}
AGENT_TYPE = "agent.state"
EVENT_TYPES = (*INTERACTION_TYPES, AGENT_TYPE)


class InteractionEvent(NamedTuple):
    """A call or SMS conversation entered a queue, was answered or abandoned, or was completed."""

    event_id: str
    """Unique per event; a producer that retries re-sends the same id."""
    ts_ms: int
    """When it happened, milliseconds since the Unix epoch."""
    channel: str
    """'call' or 'sms' (the prefix of ``type``)."""
    phase: str
    """'offered', 'answered', 'abandoned' or 'completed'."""
    interaction_id: str
    """One lifecycle per id (a transfer to another queue is a new interaction)."""
    queue: str
    """The queue / skill group, any Unicode text of 1..64 characters."""
    agent_id: str | None
    """The agent who took it (answered and completed only)."""


class AgentStateEvent(NamedTuple):
    """An agent's state changed (or was re-stated)."""

    event_id: str
    ts_ms: int
    agent_id: str
    state: str
    """One of AGENT_STATES."""
    queues: tuple[str, ...]
    """The queues this agent serves, as of this event."""
    name: str | None
    team: str | None


Event = InteractionEvent | AgentStateEvent

# The typed decoder's view of the contract: one struct per event type, tagged by `type`.
# Fields outside these are skipped, as events.md says unknown fields are.
_Id = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
_Name = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
_Ts = int | str  # the value is checked in parse() / by parse_rfc3339_ms, as on the checked path
_INTERACTION_FIELDS: list[tuple[str, Any]] = [("event_id", _Id), ("ts", _Ts), ("interaction_id", _Id), ("queue", _Name)]


def _typed_struct(kind: str, fields: Sequence[tuple[str, Any] | tuple[str, Any, Any]]) -> type[msgspec.Struct]:
    name = "_" + kind.title().replace(".", "").replace("_", "")
    return msgspec.defstruct(name, fields, tag_field="type", tag=kind, module=__name__)


_TYPED_KINDS: dict[type[msgspec.Struct], tuple[str, str, bool]] = {
    _typed_struct(kind, _INTERACTION_FIELDS + ([("agent_id", _Name)] if with_agent else [])): (
        channel,
        phase,
        with_agent,
    )
    for kind, (channel, phase) in INTERACTION_TYPES.items()
    for with_agent in [phase in ("answered", "completed")]
}
_TypedAgent = _typed_struct(
    AGENT_TYPE,
    [
        ("event_id", _Id),
        ("ts", _Ts),
        ("agent_id", _Name),
        ("state", Literal[AGENT_STATES]),
        ("queues", tuple[_Name, ...]),
        ("name", str | None, None),
        ("team", str | None, None),
    ],
)
_typed_decode = msgspec.json.Decoder(Union[(*_TYPED_KINDS, _TypedAgent)]).decode
_untyped_decode = msgspec.json.Decoder().decode
_DECODE_ERRORS = (msgspec.DecodeError, RecursionError)

_RFC3339 = re.compile(r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})?")
_intern = sys.intern


_tuple_new = tuple.__new__
_minute_bases: dict[str, int] = {}
"""Epoch ms of each minute prefix + offset seen in a valid RFC 3339 `ts` (filled by parse_rfc3339_ms)."""


def parse(raw: bytes | bytearray | memoryview | str) -> Event:
    """Parse and validate one message value; raise ContractError(reason, detail) if it breaks the contract."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise ContractError("too_large", f"message has {len(raw)} bytes, the limit is {MAX_MESSAGE_BYTES}")
    try:
        msg: Any = _typed_decode(raw)
    except _DECODE_ERRORS:
        return _parse_checked(raw)
    ts = msg.ts
    ts_ms = None
    if type(ts) is str:
        # The common layouts (...:SS.mmm+HH:MM, ...:SS.mmmZ) once their minute has been seen.  A key
        # only matches a text of 24 or 29 characters (the keys are 18 or 23 long).
        base = _minute_bases.get(ts[:17] + ts[23:])
        if base is not None and ts[19] == ".":
            tail = ts[17:19] + ts[20:23]
            if tail.isdigit() and tail.isascii() and ts[17] < "6":
                ts_ms = base + int(tail)
    if ts_ms is None:
        ts_ms = _timestamp_value(ts)
    spec = _TYPED_KINDS.get(type(msg))
    if spec is not None:
        channel, phase, with_agent = spec
        return _tuple_new(
            InteractionEvent,
            (
                msg.event_id,
                ts_ms,
                channel,
                phase,
                msg.interaction_id,
                _intern(msg.queue),
                msg.agent_id if with_agent else None,
            ),
        )
    # msgspec hands back the interned literal for `state`.
    return _tuple_new(AgentStateEvent, (msg.event_id, ts_ms, msg.agent_id, msg.state, msg.queues, msg.name, msg.team))


def _parse_checked(raw: bytes | bytearray | memoryview | str) -> Event:
    """The field-by-field path: the same contract, with the precise reason for whatever is wrong."""
    try:
        obj = _untyped_decode(raw)
    except msgspec.DecodeError as exc:
        raise ContractError("bad_json", str(exc)) from None
    except RecursionError:
        raise ContractError("bad_json", "JSON nested too deeply") from None
    if type(obj) is not dict:
        raise ContractError("not_object", f"expected a JSON object, got {_json_kind(obj)}")
    get = obj.get
    kind = get("type")
    if type(kind) is not str:
        if "type" not in obj:
            raise ContractError("missing_field", "`type` is required")
        raise ContractError("wrong_type", f"`type` must be a string, got {_json_kind(kind)}")
    event_id = _text(obj, "event_id", 128)
    ts_ms = _timestamp(obj)
    spec = INTERACTION_TYPES.get(kind)
    if spec is not None:
        channel, phase = spec
        iid = _text(obj, "interaction_id", 128)
        queue = _text(obj, "queue", 64)
        agent_id = _text(obj, "agent_id", 64) if phase == "answered" or phase == "completed" else None
        return _tuple_new(InteractionEvent, (event_id, ts_ms, channel, phase, iid, _intern(queue), agent_id))
    if kind == AGENT_TYPE:
        return _agent_state(obj, event_id, ts_ms)
    raise ContractError("unknown_type", f"unknown type {kind[:64]!r} (known: {', '.join(EVENT_TYPES)})")


def _agent_state(obj: dict[str, Any], event_id: str, ts_ms: int) -> AgentStateEvent:
    agent_id = _text(obj, "agent_id", 64)
    state = _text(obj, "state", 16)
    if state not in AGENT_STATES:
        raise ContractError("bad_value", f"`state` must be one of {', '.join(AGENT_STATES)}, got {state!r}")
    queues = obj.get("queues")
    if type(queues) is not list:
        if "queues" not in obj:
            raise ContractError("missing_field", "`queues` is required")
        raise ContractError("wrong_type", f"`queues` must be an array of strings, got {_json_kind(queues)}")
    for q in queues:
        if type(q) is not str:
            raise ContractError("wrong_type", f"`queues` must hold strings, found {_json_kind(q)}")
        if not 1 <= len(q) <= 64:
            raise ContractError("bad_length", f"a queue name in `queues` has {len(q)} characters (1..64)")
    return _tuple_new(
        AgentStateEvent,
        (
            event_id,
            ts_ms,
            agent_id,
            _intern(state),
            tuple(queues),
            _optional_text(obj, "name"),
            _optional_text(obj, "team"),
        ),
    )


def _text(obj: dict[str, Any], name: str, limit: int) -> str:
    value = obj.get(name)
    if type(value) is not str:
        if name not in obj:
            raise ContractError("missing_field", f"`{name}` is required")
        raise ContractError("wrong_type", f"`{name}` must be a string, got {_json_kind(value)}")
    if not 0 < len(value) <= limit:
        raise ContractError("bad_length", f"`{name}` has {len(value)} characters, allowed 1..{limit}")
    return value


def _optional_text(obj: dict[str, Any], name: str) -> str | None:
    # Optional display fields: absent or null both mean "not given".
    value = obj.get(name)
    if value is None or type(value) is str:
        return value
    raise ContractError("wrong_type", f"`{name}` must be a string, got {_json_kind(value)}")


def _timestamp_value(value: int | str) -> int:
    if type(value) is str:
        return parse_rfc3339_ms(value)
    if not 0 <= value <= MAX_TS_MS:  # type: ignore[operator]
        raise ContractError("bad_timestamp", f"`ts` {value} is outside 1970..9999 in epoch milliseconds")
    return value  # type: ignore[return-value]


def _timestamp(obj: dict[str, Any]) -> int:
    value = obj.get("ts")
    if type(value) is str or type(value) is int:
        return _timestamp_value(value)
    if "ts" not in obj:
        raise ContractError("missing_field", "`ts` is required")
    raise ContractError(
        "wrong_type", f"`ts` must be an RFC 3339 string or integer epoch milliseconds, got {_json_kind(value)}"
    )


def parse_rfc3339_ms(text: str) -> int:
    """RFC 3339 with an explicit offset -> epoch milliseconds (sub-millisecond digits are truncated)."""
    m = _RFC3339.fullmatch(text)
    if m is None:
        raise ContractError("bad_timestamp", f"`ts` {text[:40]!r} is not an RFC 3339 timestamp")
    date, hh, mm, ss, frac, offset = m.groups()
    if offset is None:
        raise ContractError("timestamp_without_offset", f"`ts` {text!r} has no UTC offset (add Z or +08:00)")
    seconds = int(ss)
    if seconds > 59:
        raise ContractError("bad_timestamp", f"`ts` {text!r} has seconds {ss} (leap seconds are not accepted)")
    base = _minute_ms(date, hh, mm, offset)
    if frac is not None and len(frac) == 3 and len(text) in (24, 29) and len(_minute_bases) < 100_000:
        # The validated minute prefix and offset, keyed for parse()'s shortcut.  Bounded: it holds one entry per
        # minute and offset seen, and is cleared if it ever grows large.
        _minute_bases[text[:17] + text[23:]] = base
    elif len(_minute_bases) >= 100_000:
        _minute_bases.clear()
    return base + seconds * 1000 + (int((frac + "00")[:3]) if frac else 0)


@lru_cache(maxsize=8192)
def _minute_ms(date: str, hh: str, mm: str, offset: str) -> int:
    # Events cluster in time, so the calendar arithmetic is done once per minute and offset.
    if offset in ("Z", "z"):
        offset = "+00:00"
    try:
        dt = datetime.fromisoformat(f"{date}T{hh}:{mm}:00{offset}")
    except ValueError as exc:
        raise ContractError("bad_timestamp", f"`ts` {date}T{hh}:{mm} {offset}: {exc}") from None
    ms = int(dt.timestamp()) * 1000
    if not 0 <= ms <= MAX_TS_MS:
        raise ContractError("bad_timestamp", f"`ts` {date}T{hh}:{mm}{offset} is before 1970")
    return ms


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"

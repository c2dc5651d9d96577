"""The event contract (version 2, ../shared/spec/events.md, documented in docs/events.md).

Version 2 added the optional ``reason`` of ``agent.state`` (docs/events.md "Versions"): a message
without it is read exactly as in version 1.

``parse(raw)`` turns one Kafka message value into an event or raises
``ContractError`` with a stable reason code (``REJECT_REASONS``).  It never
raises anything else, whatever the input (tests/test_events.py fuzzes it).

Two paths, one contract.  A valid message (nearly all of them) is decoded and
validated in one pass by msgspec's typed decoder, in C, into a small struct per
event type.  Anything that decoder refuses goes through ``parse_checked``, which
decodes it again untyped and checks field by field, in the order events.md
lists them, to name the exact reason.  Both use msgspec's JSON grammar, and
tests/test_events.py checks on generated messages that the two paths agree.

Limits and names.  The lengths of names and the number of queues an agent
lists are the settings' ``[limits]`` (``ContractLimits``): ``contract_for``
gives the ``Contract`` for them, and the module's ``parse`` is the one with
the defaults.  Every name (queue, agent id, display name, team, reason) leaves the
parser normalised (``wallboard.names``), so that two spellings that look the
same on a board are one queue, one agent.  What a producer can make the board
*hold* (distinct queues and agents) is the engine's limit, not the message's.

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
from typing import Annotated, Any, Final, Literal, NamedTuple, Protocol, Union

import msgspec

from wallboard.errors import ContractError
from wallboard.names import normalise

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
    "bad_characters": 'a name holds a control or layout character, or nothing visible (docs/events.md "Names")',
    "queue_list_too_long": "an agent.state lists more queues than [limits] max_queues_per_agent",
    "too_many_queues": "the event names a queue beyond the [limits] max_queues the board holds",
    "too_many_agents": "the event is from an agent beyond the [limits] max_agents the board holds",
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
    """The queue / skill group, any Unicode text, normalised (wallboard.names): 1..max_queue_name characters."""
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
    """The queues this agent serves, as of this event: normalised, each once, in the order first given."""
    name: str | None
    team: str | None
    reason: str | None = None
    """The reason code of the state (version 2: "lunch", "training"), normalised; None when not given."""


Event = InteractionEvent | AgentStateEvent


class ContractLimits(NamedTuple):
    """The limits one message is held to (settings ``[limits]``, docs/events.md "Limits").

    Lengths count characters (code points) of the name as sent and again once
    normalised (``wallboard.names``); over one, the message is a ``bad_length``.
    """

    max_queue_name: int = 64
    """A queue name (``queue``, each of ``queues``): the contract's 64."""
    max_agent_id: int = 64
    """``agent_id``: the contract's 64."""
    max_agent_name: int = 64
    """``name``, the agent's display name."""
    max_team_name: int = 64
    """``team``."""
    max_queues_per_agent: int = 16
    """Entries of one ``agent.state``'s ``queues`` (as sent); more is a ``queue_list_too_long``."""
    max_reason: int = 32
    """``reason``, an ``agent.state``'s reason code (version 2)."""


DEFAULT_LIMITS: Final = ContractLimits()


class HasContractLimits(Protocol):
    """What ``contract_for`` reads: the settings' ``[limits]`` (``LimitSettings``) has these and more."""

    @property
    def max_queue_name(self) -> int: ...
    @property
    def max_agent_id(self) -> int: ...
    @property
    def max_agent_name(self) -> int: ...
    @property
    def max_team_name(self) -> int: ...
    @property
    def max_queues_per_agent(self) -> int: ...
    @property
    def max_reason(self) -> int: ...


_Ts = int | str  # the value is checked in parse() / by parse_rfc3339_ms, as on the checked path
_Id = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


def _typed_struct(kind: str, fields: Sequence[tuple[str, Any] | tuple[str, Any, Any]]) -> type[msgspec.Struct]:
    name = "_" + kind.title().replace(".", "").replace("_", "")
    return msgspec.defstruct(name, fields, tag_field="type", tag=kind, module=__name__)


def _typed_decoder(limits: ContractLimits) -> tuple[dict[type[msgspec.Struct], tuple[str, str, bool]], Any]:
    """The typed decoder's view of the contract under ``limits``: one struct per event type, tagged by `type`.

    Fields outside these are skipped, as events.md says unknown fields are.
    """
    # Types built at run time: values (Any), not aliases, so that the compiled module (mypyc) keeps them too.
    queue: Any = Annotated[str, msgspec.Meta(min_length=1, max_length=limits.max_queue_name)]
    agent_id: Any = Annotated[str, msgspec.Meta(min_length=1, max_length=limits.max_agent_id)]
    queues: Any = Annotated[tuple.__class_getitem__((queue, ...)), msgspec.Meta(max_length=limits.max_queues_per_agent)]
    name: Any = Annotated[str, msgspec.Meta(max_length=limits.max_agent_name)] | None
    team: Any = Annotated[str, msgspec.Meta(max_length=limits.max_team_name)] | None
    reason: Any = Annotated[str, msgspec.Meta(max_length=limits.max_reason)] | None
    interaction_fields: list[tuple[str, Any]] = [
        ("event_id", _Id),
        ("ts", _Ts),
        ("interaction_id", _Id),
        ("queue", queue),
    ]
    kinds: dict[type[msgspec.Struct], tuple[str, str, bool]] = {
        _typed_struct(kind, interaction_fields + ([("agent_id", agent_id)] if with_agent else [])): (
            channel,
            phase,
            with_agent,
        )
        for kind, (channel, phase) in INTERACTION_TYPES.items()
        for with_agent in [phase in ("answered", "completed")]
    }
    agent = _typed_struct(
        AGENT_TYPE,
        [
            ("event_id", _Id),
            ("ts", _Ts),
            ("agent_id", agent_id),
            ("state", Literal[AGENT_STATES]),
            ("queues", queues),
            ("name", name, None),
            ("team", team, None),
            ("reason", reason, None),
        ],
    )
    return kinds, msgspec.json.Decoder(Union[(*kinds, agent)]).decode


_untyped_decode = msgspec.json.Decoder().decode
_DECODE_ERRORS = (msgspec.DecodeError, RecursionError)

_RFC3339 = re.compile(r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})?")


_tuple_new = tuple.__new__
_minute_bases: dict[str, int] = {}
"""Epoch ms of each minute prefix + offset seen in a valid RFC 3339 `ts` (filled by parse_rfc3339_ms)."""

MEMO_SIZE: Final = 8_192
"""Names remembered per field by a Contract, more than a board at its [limits] holds (3,000 agents); cleared when
full (a producer sending endless new names): ~4 MB a field at most (measured, names of 64 Chinese characters)."""
LIST_MEMO_SIZE: Final = 1_024
"""Agents' queue lists remembered by a Contract (a centre has far fewer distinct ones): ~4 MB at most."""


def _normal(value: str, field: str) -> str:
    """``value`` normalised (wallboard.names, interned); bad_characters if it cannot be shown."""
    try:
        return sys.intern(normalise(value))
    except ValueError as exc:
        raise ContractError("bad_characters", f"`{field}` {exc}") from None


def _required(value: str, field: str, limit: int) -> str:
    """A required name (queue, agent_id): normalised, not empty, within ``limit`` characters."""
    name = _normal(value, field)
    if not name:
        raise ContractError("bad_characters", f"`{field}` has no visible character (only spaces or invisible ones)")
    if len(name) > limit:
        raise ContractError("bad_length", f"`{field}` has {len(name)} characters once normalised (1..{limit})")
    return name


def _remember(memo: dict[Any, Any], key: object, value: object, size: int = MEMO_SIZE) -> None:
    if len(memo) >= size:
        memo.clear()
    memo[key] = value


class Contract:
    """The contract under given limits: ``parse(raw)`` -> an event, or ``ContractError(reason)``.

    Built once per set of limits (``contract_for``, cached); the module's
    ``parse`` is the one with the default limits.
    """

    def __init__(self, limits: ContractLimits = DEFAULT_LIMITS) -> None:
        self.limits = limits
        self._kinds, self._typed_decode = _typed_decoder(limits)
        # Each valid name as sent -> as normalised, per field (its limit): names repeat on nearly every message,
        # so each is normalised and checked once, and a message costs a dictionary lookup per name.
        self._queues: dict[str, str] = {}
        self._agent_ids: dict[str, str] = {}
        self._names: dict[str, str] = {}
        self._teams: dict[str, str] = {}
        self._reasons: dict[str, str | None] = {}
        self._queue_lists: dict[tuple[str, ...], tuple[str, ...]] = {}

    def _queue(self, value: str, field: str = "queue") -> str:
        """A queue name: normalised, not empty, within max_queue_name characters."""
        name = self._queues.get(value)
        if name is None:
            name = _required(value, field, self.limits.max_queue_name)
            _remember(self._queues, value, name)
        return name

    def _agent_id(self, value: str) -> str:
        name = self._agent_ids.get(value)
        if name is None:
            name = _required(value, "agent_id", self.limits.max_agent_id)
            _remember(self._agent_ids, value, name)
        return name

    def _queue_list(self, values: tuple[str, ...]) -> tuple[str, ...]:
        """An agent's queues, each normalised; a name given twice (also once normalised) counts once."""
        names = self._queue_lists.get(values)
        if names is None:
            names = tuple([self._queue(q, "queues") for q in values])
            if len(set(names)) != len(names):
                names = tuple(dict.fromkeys(names))
            _remember(self._queue_lists, values, names, LIST_MEMO_SIZE)
        return names

    def _label(self, value: str | None, field: str) -> str | None:
        """An optional display text (``name``, ``team``): normalised, within its limit; "" and None as given."""
        if not value:
            return value
        memo = self._names if field == "name" else self._teams
        name = memo.get(value)
        if name is None:
            name = _normal(value, field)
            limit = self.limits.max_agent_name if field == "name" else self.limits.max_team_name
            if len(name) > limit:
                raise ContractError("bad_length", f"`{field}` has {len(name)} characters once normalised (0..{limit})")
            _remember(memo, value, name)
        return name

    def _reason(self, value: str | None) -> str | None:
        """An ``agent.state``'s reason code: normalised, within max_reason; None when not given or blank."""
        if not value:
            return None
        if value in self._reasons:
            return self._reasons[value]
        reason: str | None = _normal(value, "reason")
        if reason and len(reason) > self.limits.max_reason:
            raise ContractError(
                "bad_length", f"`reason` has {len(reason)} characters once normalised (0..{self.limits.max_reason})"
            )
        reason = reason or None  # nothing visible once normalised: no reason, as "" and null
        _remember(self._reasons, value, reason)
        return reason

    def parse(self, raw: bytes | bytearray | memoryview | str) -> Event:
        """Parse and validate one message value; raise ContractError(reason, detail) if it breaks the contract."""
        if len(raw) > MAX_MESSAGE_BYTES:
            raise ContractError("too_large", f"message has {len(raw)} bytes, the limit is {MAX_MESSAGE_BYTES}")
        try:
            msg: Any = self._typed_decode(raw)
        except _DECODE_ERRORS:
            return self.parse_checked(raw)
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
        spec = self._kinds.get(type(msg))
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
                    self._queues.get(msg.queue) or self._queue(msg.queue),
                    (self._agent_ids.get(msg.agent_id) or self._agent_id(msg.agent_id)) if with_agent else None,
                ),
            )
        # msgspec hands back the interned literal for `state`.  Each name from its memo when seen before.
        name = msg.name
        team = msg.team
        reason = msg.reason
        return _tuple_new(
            AgentStateEvent,
            (
                msg.event_id,
                ts_ms,
                self._agent_ids.get(msg.agent_id) or self._agent_id(msg.agent_id),
                msg.state,
                self._queue_lists.get(msg.queues) or self._queue_list(msg.queues),
                (self._names.get(name) or self._label(name, "name")) if name else name,
                (self._teams.get(team) or self._label(team, "team")) if team else team,
                self._reason(reason) if reason else None,
            ),
        )

    def parse_checked(self, raw: bytes | bytearray | memoryview | str) -> Event:
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
        limits = self.limits
        spec = INTERACTION_TYPES.get(kind)
        if spec is not None:
            channel, phase = spec
            iid = _text(obj, "interaction_id", 128)
            queue = self._queue(_text(obj, "queue", limits.max_queue_name))
            agent_id = None
            if phase == "answered" or phase == "completed":
                agent_id = self._agent_id(_text(obj, "agent_id", limits.max_agent_id))
            return _tuple_new(InteractionEvent, (event_id, ts_ms, channel, phase, iid, queue, agent_id))
        if kind == AGENT_TYPE:
            return self._agent_state(obj, event_id, ts_ms)
        raise ContractError("unknown_type", f"unknown type {kind[:64]!r} (known: {', '.join(EVENT_TYPES)})")

    def _agent_state(self, obj: dict[str, Any], event_id: str, ts_ms: int) -> AgentStateEvent:
        limits = self.limits
        agent_id = self._agent_id(_text(obj, "agent_id", limits.max_agent_id))
        state = _text(obj, "state", 16)
        if state not in AGENT_STATES:
            raise ContractError("bad_value", f"`state` must be one of {', '.join(AGENT_STATES)}, got {state!r}")
        queues = obj.get("queues")
        if type(queues) is not list:
            if "queues" not in obj:
                raise ContractError("missing_field", "`queues` is required")
            raise ContractError("wrong_type", f"`queues` must be an array of strings, got {_json_kind(queues)}")
        most = limits.max_queues_per_agent
        if len(queues) > most:
            raise ContractError("queue_list_too_long", f"`queues` lists {len(queues)} queues, at most {most} allowed")
        limit = limits.max_queue_name
        for q in queues:
            if type(q) is not str:
                raise ContractError("wrong_type", f"`queues` must hold strings, found {_json_kind(q)}")
            if not 1 <= len(q) <= limit:
                raise ContractError("bad_length", f"a queue name in `queues` has {len(q)} characters (1..{limit})")
        served = self._queue_list(tuple(queues))
        return _tuple_new(
            AgentStateEvent,
            (
                event_id,
                ts_ms,
                agent_id,
                sys.intern(state),
                served,
                self._label(_optional_text(obj, "name", limits.max_agent_name), "name"),
                self._label(_optional_text(obj, "team", limits.max_team_name), "team"),
                self._reason(_optional_text(obj, "reason", limits.max_reason)),
            ),
        )


DEFAULT_CONTRACT: Final = Contract()
parse = DEFAULT_CONTRACT.parse
"""Parse and validate one message under the default limits (``Contract.parse``)."""
_parse_checked = DEFAULT_CONTRACT.parse_checked


@lru_cache(maxsize=8)
def _contract(limits: ContractLimits) -> Contract:
    return DEFAULT_CONTRACT if limits == DEFAULT_LIMITS else Contract(limits)


def contract_for(limits: HasContractLimits) -> Contract:
    """The contract under these limits (the settings' ``[limits]``), built once for each set of values."""
    return _contract(
        ContractLimits(
            limits.max_queue_name,
            limits.max_agent_id,
            limits.max_agent_name,
            limits.max_team_name,
            limits.max_queues_per_agent,
            limits.max_reason,
        )
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


def _optional_text(obj: dict[str, Any], name: str, limit: int) -> str | None:
    # Optional display fields: absent or null both mean "not given".
    value: Any = obj.get(name)
    if value is None:
        return None
    if type(value) is not str:
        raise ContractError("wrong_type", f"`{name}` must be a string, got {_json_kind(value)}")
    if len(value) > limit:
        raise ContractError("bad_length", f"`{name}` has {len(value)} characters, allowed 0..{limit}")
    return value


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

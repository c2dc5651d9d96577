"""The control records: what a person sets (the broadcast message), as it is kept in Kafka.

Why a log and not memory: several instances serve one centre behind a load
balancer, and a broadcast posted through one of them must reach the screens of
all, and survive a restart of any.  Every instance therefore writes what a
person sets to a compacted control topic (``[kafka] control_topic``), keyed by
what was set, reads that topic from its beginning at start and follows it:
the state shown is the fold of the topic, the same on every instance, as the
numbers are the fold of the event topics.  docs/kafka.md "The control topic".

This module is the record format and the fold: pure, no I/O.  A record that is
not one of ours is counted with its reason and changes nothing, never raises.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

BROADCAST_KEY = "broadcast"
"""The key of the broadcast message (one per centre: every board shows it)."""

ALERT_PREFIX = "alert/"
"""Keys of the alerts firing: ``alert/<rule>\\x1f<scope>`` (a tombstone when it resolved)."""

ACK_PREFIX = "ack/"
"""Keys of acknowledgements: ``ack/<idempotency key of the firing>`` (a tombstone once it resolved)."""

Applied = Literal["broadcast", "alert", "ack"] | None

CONTROL_VERSION = 1
"""``v`` of the records this version writes; a record of a later version is ignored, not misread."""

MAX_RECORD_BYTES = 65536
"""Longest control record value read; a broadcast is at most 5,000 characters."""

RejectReason = Literal[
    "not_json", "not_an_object", "bad_field", "bad_text", "too_long", "too_large", "unknown_key", "newer_version"
]

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
"""Zero-width and bidi controls: they could hide or reorder what the ticker shows."""
_SPACE = re.compile(r"\s+")


def broadcast_text(text: str, max_length: int) -> str | tuple[Literal["bad_text", "too_long"], str]:
    """The text as the ticker shows it (one line, spaces folded), or (reason, message) when it cannot be shown.

    The same rule for a POST and for a record read from the control topic, so
    that no writer, ours or not, can put on the boards what a POST could not.
    """
    if _CONTROL_CHARS.search(text) or _INVISIBLE.search(text):
        return "bad_text", '"text" holds control, bidi or zero-width characters; send plain text'
    text = _SPACE.sub(" ", text).strip()
    if len(text) > max_length:
        return "too_long", f'"text" has {len(text)} characters; at most {max_length}'
    return text


@dataclass(frozen=True)
class Broadcast:
    """The broadcast message: its text ("" = cleared), when and by whom it was set (None: never set)."""

    text: str = ""
    set_at: str | None = None
    by: str | None = None


def encode_broadcast(broadcast: Broadcast) -> tuple[bytes, bytes]:
    """The (key, value) of a control record that sets the broadcast."""
    value = {"v": CONTROL_VERSION, "text": broadcast.text, "set_at": broadcast.set_at, "by": broadcast.by}
    return BROADCAST_KEY.encode(), json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _object(value: bytes) -> dict[str, object] | RejectReason:
    """A record's value as a JSON object of a version we read, or why not."""
    if len(value) > MAX_RECORD_BYTES:
        return "too_large"
    try:
        data = json.loads(value)
    except (UnicodeDecodeError, ValueError):
        return "not_json"
    if not isinstance(data, dict):
        return "not_an_object"
    version = data.get("v")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        return "bad_field"
    if version > CONTROL_VERSION:
        return "newer_version"
    return data


def _dumps(value: Mapping[str, object]) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def decode_broadcast(value: bytes | None, max_length: int) -> Broadcast | RejectReason:
    """The broadcast a record's value sets, or why it sets nothing.

    A tombstone (``None``, what a compaction or an operator's delete leaves)
    clears the message.  The text must pass ``broadcast_text`` as it is.
    """
    if value is None:
        return Broadcast()
    data = _object(value)
    if isinstance(data, str):
        return data
    text, set_at, by = data.get("text"), data.get("set_at"), data.get("by")
    if not isinstance(text, str) or not (set_at is None or isinstance(set_at, str)):
        return "bad_field"
    if not (by is None or isinstance(by, str)):
        return "bad_field"
    shown = broadcast_text(text, max_length)
    if isinstance(shown, tuple):
        return shown[0]
    if shown != text:
        return "bad_text"
    return Broadcast(text, set_at, by)


@dataclass(frozen=True)
class FiredAlert:
    """An alert firing, as the sender recorded it: restored by an instance that starts while it fires."""

    rule: str
    scope: str
    since: int
    fired_at: int


def alert_key(rule: str, scope: str) -> str:
    """The control key of one alert (rule, scope): compaction keeps its newest record."""
    return f"{ALERT_PREFIX}{rule}\x1f{scope}"


def encode_fired(alert: FiredAlert) -> tuple[bytes, bytes]:
    """The record of an alert that fired."""
    value = {"v": CONTROL_VERSION, "rule": alert.rule, "scope": alert.scope, "since": alert.since}
    return alert_key(alert.rule, alert.scope).encode(), _dumps({**value, "fired_at": alert.fired_at})


def encode_resolved(rule: str, scope: str) -> tuple[bytes, None]:
    """The record of an alert that resolved: a tombstone, which compaction then removes."""
    return alert_key(rule, scope).encode(), None


def decode_fired(value: bytes) -> FiredAlert | RejectReason:
    data = _object(value)
    if isinstance(data, str):
        return data
    rule, scope, since, fired_at = data.get("rule"), data.get("scope"), data.get("since"), data.get("fired_at")
    if not (isinstance(rule, str) and isinstance(scope, str)):
        return "bad_field"
    if not all(isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in (since, fired_at)):
        return "bad_field"
    assert isinstance(since, int) and isinstance(fired_at, int)
    if fired_at < since:
        return "bad_field"
    return FiredAlert(rule, scope, since, fired_at)


@dataclass(frozen=True)
class Ack:
    """Someone acknowledged a firing: who, and when (RFC 3339)."""

    by: str
    at: str


def encode_ack(idempotency_key: str, ack: Ack) -> tuple[bytes, bytes]:
    return f"{ACK_PREFIX}{idempotency_key}".encode(), _dumps({"v": CONTROL_VERSION, "by": ack.by, "at": ack.at})


def decode_ack(value: bytes) -> Ack | RejectReason:
    data = _object(value)
    if isinstance(data, str):
        return data
    by, at = data.get("by"), data.get("at")
    if not (isinstance(by, str) and by and len(by) <= 256 and isinstance(at, str) and len(at) <= 64):
        return "bad_field"
    return Ack(by, at)


@dataclass
class ControlState:
    """The fold of the control topic: the newest record of each key, in the topic's order."""

    max_length: int
    """Longest broadcast shown (``[web] broadcast_max_length``)."""
    broadcast: Broadcast = field(default_factory=Broadcast)
    fired: dict[str, FiredAlert] = field(default_factory=dict)
    """The alerts recorded as firing, by control key."""
    acks: dict[str, Ack] = field(default_factory=dict)
    """Acknowledgements, by the idempotency key of the firing."""
    records: int = 0
    """Records read, ours or not."""
    rejected: dict[str, int] = field(default_factory=dict)
    """Records that changed nothing, by reason."""

    def apply(self, key: bytes | None, value: bytes | None) -> Applied:
        """Fold one record in; what changed (``None``: nothing)."""
        self.records += 1
        name = key.decode("utf-8", "replace") if key is not None else ""
        if name == BROADCAST_KEY:
            decoded = decode_broadcast(value, self.max_length)
            if isinstance(decoded, str):
                self._reject(decoded)
                return None
            changed = decoded != self.broadcast
            self.broadcast = decoded
            return "broadcast" if changed else None
        if name.startswith(ALERT_PREFIX):
            if value is None:
                return "alert" if self.fired.pop(name, None) is not None else None
            fired = decode_fired(value)
            if isinstance(fired, str):
                self._reject(fired)
                return None
            if alert_key(fired.rule, fired.scope) != name:
                self._reject("bad_field")
                return None
            self.fired[name] = fired
            return "alert"
        if name.startswith(ACK_PREFIX):
            firing = name[len(ACK_PREFIX) :]
            if value is None:
                return "ack" if self.acks.pop(firing, None) is not None else None
            ack = decode_ack(value)
            if isinstance(ack, str):
                self._reject(ack)
                return None
            self.acks[firing] = ack
            return "ack"
        self._reject("unknown_key")
        return None

    def _reject(self, reason: RejectReason) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1

"""Settings: one TOML file (``wallboard.toml``) plus ``WALLBOARD_*`` environment overrides.

Every setting is declared once, as a field of the frozen dataclass of its
table, with its name, type, default, bounds and help::

    window: int = setting(1800, "length of the rolling window, seconds", ge=1, le=86400)

``parse_settings`` decodes a settings tree by walking those fields: it checks
each value against its type and bounds, fills the defaults, and collects every
problem with the key that holds it (``SettingsError``); docs/configuration.md
is generated from the same fields (wallboard/settings_doc.py, checked by
tests/test_docs.py).  A table is a dataclass field (``[kafka]``); a table of
named entries is a ``Mapping[str, X]`` field declared with ``entries(...)``
(``[channels.call]``, ``[queues."信用卡".call]``).

Environment overrides use ``WALLBOARD_`` + the key path joined by ``__``::

    WALLBOARD_TIMEZONE=Asia/Shanghai
    WALLBOARD_CHANNELS__CALL__SL_THRESHOLD=20
    WALLBOARD_KAFKA__BOOTSTRAP_SERVERS=10.0.0.5:9092
    WALLBOARD_CONFIG=/etc/wallboard.toml   (the file itself)

Values are read as TOML values when they parse as one (``20``, ``0.8``, ``true``,
``["a", "b"]``) and as plain strings otherwise; a text setting takes the
variable's text as it is when it is not a TOML string (a password of digits).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import re
import tomllib
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

from wallboard.errors import SettingsError
from wallboard.events import AGENT_STATES, CHANNELS, DEFAULT_LIMITS
from wallboard.names import normalise

ENV_PREFIX = "WALLBOARD_"
SlFormula = Literal["abandons_negative", "abandons_ignored", "abandons_positive"]
SL_FORMULAS: tuple[SlFormula, ...] = get_args(SlFormula)
SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
Role = Literal["display", "supervisor", "admin", "monitor"]
AuthMode = Literal["none", "required"]


# ---------------------------------------------------------------------------
# How a field is declared: its metadata.


@dataclass(frozen=True)
class Setting:
    """What a value field says besides its name, type and default (``dataclasses.Field.metadata``)."""

    help: str
    ge: float | None = None
    """Least value (numbers)."""
    le: float | None = None
    """Greatest value (numbers)."""
    nonempty: bool = False
    """Text or list: must not be empty."""
    secret: bool = False
    """Never shown: not in repr, not in error messages."""
    by_name: Mapping[str, object] | None = None
    """The default of each entry of a table of named entries (``{"call": 20, "sms": 60}``)."""
    at_least: tuple[str, str] | None = None
    """(sibling field, why): a given value below the sibling's is a problem; a default below it is raised to it."""
    zero_off: bool = False
    """A value of 0 turns it off (a colour limit that colours nothing); ``at_least`` does not apply to it."""
    check: Callable[[object], str | None] | None = None
    """A check of its own, after the type's (returns the problem or None)."""
    default_from: Callable[[Mapping[str, str]], object] | None = None
    """A default taken from the environment at load (the machine's time zone)."""
    shown_default: str | None = None
    """The default as docs/configuration.md shows it, when it is not a plain value."""


@dataclass(frozen=True)
class Entries:
    """A table of named entries, ``Mapping[str, X]``: fixed names (the channels) or any names (queues)."""

    noun: str = "entry"
    """What an entry is, for messages ("unknown channel")."""
    names: tuple[str, ...] | None = None
    """The names every such table has (each entry defaulted when absent); None: any names."""
    max_name: int = 64
    """Longest name, when any names are allowed."""
    like: str | None = None
    """A sibling field whose shape each entry has and whose values its unset keys take (queues: like channels)."""
    normal_names: bool = False
    """Names are written as the board shows them (wallboard.names): a queue named otherwise would never match."""
    name_check: Callable[[str], str | None] | None = None
    """A check of each name of its own (a board's name is part of a URL), returning the problem or None."""
    max_entries: int | None = None
    """Most entries the table may hold (None: no limit)."""


@dataclass(frozen=True)
class Section:
    """A table of its own (``[kafka]``), or with ``inline`` the dataclass whose keys are its parent's."""

    title: str = ""
    """The heading of its table in docs/configuration.md (default: ``[name]``)."""
    inline: bool = False


_META = "wallboard"


def setting(
    default: object = dataclasses.MISSING,
    help: str = "",
    *,
    ge: float | None = None,
    le: float | None = None,
    nonempty: bool = False,
    secret: bool = False,
    by_name: Mapping[str, object] | None = None,
    at_least: tuple[str, str] | None = None,
    zero_off: bool = False,
    check: Callable[[object], str | None] | None = None,
    default_from: Callable[[Mapping[str, str]], object] | None = None,
    shown_default: str | None = None,
) -> Any:
    """A value field: ``name: type = setting(default, help, ge=..., le=..., ...)`` (see ``Setting``)."""
    spec = Setting(
        help=help,
        ge=ge,
        le=le,
        nonempty=nonempty,
        secret=secret,
        by_name=by_name,
        at_least=at_least,
        zero_off=zero_off,
        check=check,
        default_from=default_from,
        shown_default=shown_default,
    )
    return dataclasses.field(default=default, repr=not secret, metadata={_META: spec})


def entries(
    *,
    noun: str,
    names: tuple[str, ...] | None = None,
    max_name: int = 64,
    like: str | None = None,
    normal_names: bool = False,
    name_check: Callable[[str], str | None] | None = None,
    max_entries: int | None = None,
) -> Any:
    """A table of named entries: ``name: Mapping[str, X] = entries(noun=..., ...)`` (see ``Entries``)."""
    spec = Entries(
        noun=noun,
        names=names,
        max_name=max_name,
        like=like,
        normal_names=normal_names,
        name_check=name_check,
        max_entries=max_entries,
    )
    return dataclasses.field(metadata={_META: spec})


def section(title: str = "", *, inline: bool = False) -> Any:
    """A table: ``name: Cls = section(title)`` (``inline``: its keys are its parent's)."""
    return dataclasses.field(metadata={_META: Section(title=title, inline=inline)})


# ---------------------------------------------------------------------------
# Checks the declarations refer to.


def _zone(v: object) -> str | None:
    if not isinstance(v, str) or not v:
        return f"must be an IANA time zone name such as 'Asia/Shanghai', got {v!r}"
    try:
        zoneinfo.ZoneInfo(v)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {v!r} (use an IANA name such as 'Asia/Shanghai')"
    return None


def local_zone_name(environ: Mapping[str, str]) -> str:
    """The machine's IANA zone: $TZ, then /etc/localtime's link target, then /etc/timezone, then UTC."""
    tz = environ.get("TZ", "").lstrip(":")
    if tz and _zone(tz) is None:
        return tz
    try:
        target = os.readlink("/etc/localtime")
        if "zoneinfo/" in target:
            name = target.split("zoneinfo/", 1)[1]
            if _zone(name) is None:
                return name
    except OSError:
        pass
    try:
        name = Path("/etc/timezone").read_text().strip()
        if _zone(name) is None:
            return name
    except OSError:
        pass
    return "UTC"


def _shown_name(name: str, noun: str) -> str | None:
    """A problem unless ``name`` is written as the board shows names (wallboard.names)."""
    try:
        shown = normalise(name)
    except ValueError as exc:
        return f"the {noun} name {name!r}: {exc}"
    if shown != name:
        return f"the board shows the {noun} {name!r} as {shown!r}: write it so (docs/events.md)"
    return None


def _queue_list(v: object) -> str | None:
    """A list of queue (or group) names: each written as the board shows it, none twice, not too many."""
    names = v if isinstance(v, tuple) else ()
    if len(names) > MAX_LISTED:
        return f"lists at most {MAX_LISTED} names, got {len(names)}"
    for name in names:
        if len(name) > 256:
            return f"a name has at most 256 characters, got {len(name)}"
        problem = _shown_name(name, "name")
        if problem is not None:
            return problem
    twice = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if twice is not None:
        return f"lists {twice!r} twice"
    return None


def _title(v: object) -> str | None:
    if isinstance(v, str) and len(v) > 80:
        return f"a title has at most 80 characters, got {len(v)}"
    return _shown_name(v, "title") if isinstance(v, str) and v else None


BOARD_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
"""A board's name: part of its URL (``/tv/NAME``)."""
MAX_LISTED = 200
"""Most names one group's or board's list may hold."""


def _board_name(name: str) -> str | None:
    if BOARD_NAME.fullmatch(name) is None:
        return (
            "a board name is part of its URL (/tv/NAME): 1 to 40 lower-case letters a-z, digits, '-' and '_', "
            "starting with a letter or a digit"
        )
    return None


# ---------------------------------------------------------------------------
# The settings.


AMBER_FIRST = "a red limit below the amber one would skip amber (equal limits: no amber band)"
"""Why each ``*_alarm`` colour limit is at least its ``*_warn`` (``at_least``)."""


@dataclass(frozen=True, kw_only=True)
class ChannelSettings:
    """The per-channel settings of metrics.md (and the board's colour limits)."""

    sl_threshold: float = setting(
        help="answer within this wait (s) = within service level", ge=0, le=86400, by_name={"call": 20, "sms": 60}
    )
    short_abandon: float = setting(
        help="abandons with a wait below this (s) are short abandons", ge=0, le=86400, by_name={"call": 5, "sms": 0}
    )
    sl_formula: SlFormula = setting("abandons_negative", "service-level formula: " + ", ".join(SL_FORMULAS))
    sl_target: float = setting(0.80, "service-level goal (0..1); colours only", ge=0, le=1)
    sl_warn_margin: float = setting(
        0.05,
        "service level shown amber up to this far below sl_target (0.05 = 5 points), red further below",
        ge=0,
        le=1,
    )
    waiting_warn: int = setting(10, "waiting count shown amber at or above this", ge=0)
    waiting_alarm: int = setting(
        30, "waiting count shown red at or above this", ge=0, at_least=("waiting_warn", AMBER_FIRST)
    )
    longest_wait_warn: float = setting(
        help="longest wait (s) shown amber at or above this", ge=0, by_name={"call": 20, "sms": 60}
    )
    longest_wait_alarm: float = setting(
        help="longest wait (s) shown red at or above this",
        ge=0,
        by_name={"call": 60, "sms": 180},
        at_least=("longest_wait_warn", AMBER_FIRST),
    )
    # The defaults of the limits below: docs/metrics.md "Levels" says where each comes from.
    abandon_rate_warn: float = setting(
        0.05,
        "abandon rate (0..1, window and today) shown amber at or above this, compared in the whole percent shown; "
        "0 = off",
        ge=0,
        le=1,
        zero_off=True,
    )
    abandon_rate_alarm: float = setting(
        0.10,
        "abandon rate (0..1) shown red at or above this, compared in the whole percent shown; 0 = off",
        ge=0,
        le=1,
        zero_off=True,
        at_least=("abandon_rate_warn", AMBER_FIRST),
    )
    asa_warn: float = setting(
        help="ASA (s, window and today) shown amber at or above this, compared in the whole seconds shown; 0 = off",
        ge=0,
        le=86400,
        zero_off=True,
        by_name={"call": 15, "sms": 40},
    )
    asa_alarm: float = setting(
        help="ASA (s) shown red at or above this, compared in the whole seconds shown; 0 = off",
        ge=0,
        le=86400,
        zero_off=True,
        by_name={"call": 30, "sms": 60},
        at_least=("asa_warn", AMBER_FIRST),
    )
    aht_warn: float = setting(
        0,
        "AHT (s, window and today) shown amber at or above this, compared in the whole seconds shown; "
        "0 = off (the default: a coaching signal, set it per queue)",
        ge=0,
        le=86400,
        zero_off=True,
    )
    aht_alarm: float = setting(
        0,
        "AHT (s) shown red at or above this, compared in the whole seconds shown; 0 = off (the default)",
        ge=0,
        le=86400,
        zero_off=True,
        at_least=("aht_warn", AMBER_FIRST),
    )


@dataclass(frozen=True, kw_only=True)
class LimitSettings:
    """How much of producers' data the board takes (docs/events.md "Limits").

    An event over a limit is rejected with its reason: counted, sent to the
    dead-letter topic, and it changes no number.  The lengths and the queues per
    agent are checked on each message (wallboard/events.py); the queues and
    agents held, by the engine.  The defaults and what each costs a tick:
    docs/performance.md "Limits".
    """

    max_queue_name: int = setting(
        DEFAULT_LIMITS.max_queue_name, "longest queue name, characters (the contract's 64)", ge=1, le=256
    )
    max_agent_id: int = setting(
        DEFAULT_LIMITS.max_agent_id, "longest agent_id, characters (the contract's 64)", ge=1, le=256
    )
    max_agent_name: int = setting(
        DEFAULT_LIMITS.max_agent_name, "longest agent display name, characters", ge=1, le=1024
    )
    max_team_name: int = setting(DEFAULT_LIMITS.max_team_name, "longest team name, characters", ge=1, le=1024)
    max_queues_per_agent: int = setting(
        DEFAULT_LIMITS.max_queues_per_agent, "most queues one agent.state may list", ge=1, le=10_000
    )
    max_reason: int = setting(DEFAULT_LIMITS.max_reason, "longest agent.state reason code, characters", ge=1, le=256)
    max_queues: int = setting(
        200,
        "most distinct queues the board holds (since it started, [queues] included); "
        "an event naming one more is rejected as too_many_queues",
        ge=1,
        le=100_000,
    )
    max_agents: int = setting(
        3000,
        "most distinct agents the board holds (since it started); "
        "an agent.state from one more is rejected as too_many_agents",
        ge=1,
        le=1_000_000,
    )


LIMITED_STATES: tuple[str, ...] = tuple(s for s in AGENT_STATES if s != "offline")
"""The agent states that may have a time limit (``[agent_limits]``): offline has none."""


@dataclass(frozen=True, kw_only=True)
class ReasonLimit:
    limit: int = setting(
        0,
        "seconds an agent may stay in the state with this reason code (instead of the state's limit); 0: no limit",
        ge=0,
        le=86400,
    )


@dataclass(frozen=True, kw_only=True)
class StateLimit:
    """How long an agent may stay in one state before it counts as over its limit (docs/metrics.md)."""

    limit: int = setting(
        0,
        "seconds an agent may stay in this state before it counts as over its limit (a reason's own limit aside; "
        'offline takes none); 0: no limit (docs/metrics.md "Agents over their limit")',
        ge=0,
        le=86400,
    )
    reasons: Mapping[str, ReasonLimit] = entries(noun="reason", max_name=256, normal_names=True)


@dataclass(frozen=True, kw_only=True)
class GroupSettings:
    """A group of queues (a department, a site): its numbers are the engine's sums over its queues."""

    queues: tuple[str, ...] = setting(
        (),
        'the queues it adds up, written as the board shows them (docs/events.md "Names")',
        nonempty=True,
        check=_queue_list,
        shown_default="(required)",
    )


@dataclass(frozen=True, kw_only=True)
class MetricSettings:
    """Everything that changes a number on the board (the file's top level)."""

    timezone: str = setting(
        help="IANA zone; 'today' starts at local midnight there (default: the machine's zone)",
        check=_zone,
        default_from=local_zone_name,
        shown_default="machine's zone",
    )
    window: int = setting(1800, "length of the rolling window, seconds", ge=1, le=86400)
    interval: int = setting(900, "length of an intraday interval, seconds", ge=60, le=86400)
    late_horizon: int = setting(
        7200,
        "how late (seconds behind the newest event) an event may arrive and still be merged exactly; "
        "later ones are counted as too_late",
        ge=0,
        le=7 * 86400,
        at_least=("window", "so that the rolling window is always exact"),
    )
    channels: Mapping[str, ChannelSettings] = entries(noun="channel", names=CHANNELS)
    queues: Mapping[str, Mapping[str, ChannelSettings]] = entries(noun="queue", like="channels", normal_names=True)
    groups: Mapping[str, GroupSettings] = entries(noun="group", normal_names=True, max_entries=100)
    limits: LimitSettings = section("`[limits]`: what producers' data may make the board hold")
    agent_limits: Mapping[str, StateLimit] = entries(noun="agent state", names=LIMITED_STATES)

    def agent_limit(self, state: str, reason: str | None) -> int:
        """The limit in force (seconds, 0: none) for an agent in ``state`` with ``reason``.

        The reason's own limit when ``[agent_limits.STATE.reasons]`` names it, else the state's.
        """
        limits = self.agent_limits.get(state)
        if limits is None:
            return 0
        if reason is not None:
            own = limits.reasons.get(reason)
            if own is not None:
                return own.limit
        return limits.limit

    def limited_states(self) -> list[str]:
        """The states for which some limit is set (the keys of the views' ``agents_over_limit``)."""
        return [
            state
            for state, limits in self.agent_limits.items()
            if limits.limit or any(r.limit for r in limits.reasons.values())
        ]

    def channel(self, queue: str, channel: str) -> ChannelSettings:
        """The settings in force for one queue and channel (per-queue override or channel default)."""
        per_queue = self.queues.get(queue)
        if per_queue is not None:
            return per_queue[channel]
        return self.channels[channel]

    def for_queues(self, queues: Sequence[str], channel: str) -> ChannelSettings:
        """The settings in force for a view of some queues: one queue's own, else the channel's.

        Totals and selections of several queues use the channel's formula and limits:
        per-queue formulas cannot be mixed in one ratio.
        """
        if len(queues) == 1:
            return self.channel(queues[0], channel)
        return self.channels[channel]

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def named_queues(self) -> list[str]:
        """The queues the settings name: those with their own settings and those of the groups (listed from start)."""
        return list(dict.fromkeys([*self.queues, *(q for g in self.groups.values() for q in g.queues)]))


@dataclass(frozen=True, kw_only=True)
class KafkaSettings:
    bootstrap_servers: str = setting("127.0.0.1:9092", "broker list, host:port[,host:port]", nonempty=True)
    topics: tuple[str, ...] = setting(
        ("cc.calls", "cc.sms", "cc.agents"), "topics to read (all partitions of each)", nonempty=True
    )
    dead_letter: bool = setting(False, "forward rejected messages to dead_letter_topic")
    dead_letter_topic: str = setting("cc.deadletter", "topic for rejected messages", nonempty=True)
    control_topic: str = setting(
        "cc.board-control",
        "compacted topic keeping what people set (the broadcast), shared by every instance; "
        '"" keeps it in this process only (one instance, lost on restart)',
        shown_default='"cc.board-control"',
    )
    sender_group: str = setting(
        "wallboard-alert-sender",
        "consumer group on the control topic whose one member posts the alert webhooks (the others stand by)",
        nonempty=True,
    )
    sender_session_timeout: float = setting(
        10.0, "seconds before a dead sender's place is taken (the group's session timeout)", ge=1, le=300
    )
    lookback: int = setting(7200, "replay starts this many seconds before local midnight", ge=0, le=7 * 86400)
    client_id: str = setting("wallboard", "Kafka client id", nonempty=True)
    security_protocol: SecurityProtocol = setting("PLAINTEXT", "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
    sasl_mechanism: SaslMechanism = setting("PLAIN", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
    sasl_username: str = setting("", "SASL user name")
    sasl_password: str = setting("", "SASL password (never logged)", secret=True)
    ssl_cafile: str = setting("", "CA bundle (PEM) to verify the brokers")
    ssl_certfile: str = setting("", "client certificate (PEM) for mutual TLS")
    ssl_keyfile: str = setting("", "client private key (PEM)")
    ssl_password: str = setting("", "password of the client private key (never logged)", secret=True)
    ssl_check_hostname: bool = setting(True, "verify the broker's host name against its certificate")
    # 1 MiB (the Java consumer's default): aiokafka buffers a fetch of this size for every assigned partition,
    # and a partly read one that the catch-up pauses is dropped but lives on (a reference cycle) until a full
    # collection.  At 4 MiB a 919,000-message catch-up peaked at 300-360 MiB RSS, ~100 MiB of it such
    # buffers; at 256 KiB memory is lower still but the catch-up takes ~10% more CPU (docs/performance.md,
    # "Catch-up of wallboard serve").
    max_partition_fetch_bytes: int = setting(
        1024 * 1024,
        "bytes fetched per partition per request (the consumer buffers up to this much for every partition)",
        ge=65536,
    )
    fetch_max_records: int = setting(10000, "records handed to the engine per batch", ge=1)
    reconnect_backoff_max: float = setting(30.0, "longest pause between reconnect attempts, seconds", ge=0.1, le=3600)


def _origins(v: object) -> str | None:
    for item in v if isinstance(v, tuple) else ():
        if not item.startswith(("http://", "https://")) or item.count("/") != 2:
            return f"{item!r} is not an origin such as 'https://wallboard.example.com' (no path, no trailing slash)"
    return None


def _secret(v: object) -> str | None:
    if isinstance(v, str) and v and (len(v) < 32 or v != v.strip()):
        return "must have at least 32 characters and no surrounding spaces (`wallboard auth secret` makes one)"
    return None


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""The names of ``[web] opening_days``, Monday first (``date.weekday()`` is the index)."""


def opening_minutes(text: str) -> tuple[int, int]:
    """``"08:00-20:00"`` -> (480, 1200): opening and closing, minutes after local midnight (ValueError if bad).

    The closing time may be ``24:00``, or earlier than the opening (open past midnight: ``"22:00-06:00"``).
    """
    parts = text.split("-")
    if len(parts) != 2:
        raise ValueError(text)
    minutes = []
    for part in parts:
        hh, sep, mm = part.strip().partition(":")
        if not (sep and hh.isdigit() and mm.isdigit() and len(mm) == 2 and 1 <= len(hh) <= 2):
            raise ValueError(text)
        h, m = int(hh), int(mm)
        if h > 24 or m > 59 or (h == 24 and m != 0):
            raise ValueError(text)
        minutes.append(h * 60 + m)
    opens, closes = minutes
    if opens == 1440 or opens == closes:
        raise ValueError(text)
    return opens, closes


def _opening_hours(v: object) -> str | None:
    try:
        opening_minutes(str(v))
    except ValueError:
        return "must be opening and closing times such as '08:00-20:00' ('00:00-24:00': all day)"
    return None


def _weekdays(v: object) -> str | None:
    for item in v if isinstance(v, tuple) else ():
        if item not in WEEKDAYS:
            return f"{item!r} is not one of {', '.join(WEEKDAYS)}"
    return None


@dataclass(frozen=True, kw_only=True)
class WebSettings:
    host: str = setting("127.0.0.1", "address to listen on", nonempty=True)
    port: int = setting(8080, "port to listen on", ge=0, le=65535)
    push_interval: float = setting(1.0, "seconds between pushes to the boards (0.25 .. 60)", ge=0.25, le=60)
    stale_after: float = setting(
        15.0,
        "seconds without fresh data before the board turns red: no message from the server, or the feed not read "
        'to its end; keep it several push_intervals long (docs/board.md "Staleness")',
        ge=1,
        le=3600,
    )
    silence_alarm: float = setting(
        0.0,
        "seconds without any event, during opening hours, before the board turns red (the producers may have "
        "stopped); 0: off, a quiet feed read to its end is shown as quiet, not stale",
        ge=0,
        le=86400,
    )
    opening_hours: str = setting(
        "00:00-24:00",
        "local hours during which silence_alarm applies, every opening day ('08:00-20:00'; '22:00-06:00' runs "
        "past midnight); the silence counts from the opening",
        check=_opening_hours,
    )
    opening_days: tuple[str, ...] = setting(
        WEEKDAYS,
        "days on which the opening hours begin (mon .. sun)",
        check=_weekdays,
    )
    slow_client_timeout: float = setting(
        10.0, "a client that cannot take a message for this long is dropped", ge=0.5, le=600
    )
    broadcast_max_length: int = setting(280, "longest broadcast message, characters", ge=1, le=5000)
    allowed_hosts: tuple[str, ...] = setting(
        ("localhost", "127.0.0.1", "::1"),
        "host names the board answers to (the Host header; DNS-rebinding defence); add the public name, or '*'",
        nonempty=True,
    )
    allowed_origins: tuple[str, ...] = setting(
        (),
        "origins (scheme://host[:port]) besides the board's own that may open the socket and post",
        check=_origins,
    )


def _hex64(v: object) -> str | None:
    if len(str(v)) != 64 or any(c not in "0123456789abcdef" for c in str(v)):
        return "must be the token's SHA-256 in 64 lower-case hex digits (`wallboard auth token NAME` prints it)"
    return None


def _password_hash(v: object) -> str | None:
    if not (v == "" or str(v).startswith("$argon2id$")):
        return "must be an argon2id hash (`wallboard auth hash-password` prints one), or empty (no password login)"
    return None


@dataclass(frozen=True, kw_only=True)
class UserSettings:
    role: Role = setting("supervisor", "display, supervisor, admin or monitor")
    password_hash: str = setting(
        "", "argon2id hash of the password; empty: signs in only through the proxy header", check=_password_hash
    )


@dataclass(frozen=True, kw_only=True)
class TokenSettings:
    role: Role = setting("display", "display, supervisor, admin or monitor")
    sha256: str = setting("", "SHA-256 of the token, hex (the token itself is never stored)", check=_hex64)


def _networks(v: object) -> str | None:
    for item in v if isinstance(v, tuple) else ():
        try:
            ipaddress.ip_network(item, strict=False)
        except (TypeError, ValueError):
            return f"{item!r} is not an IP address or network (such as 127.0.0.1 or 10.0.0.0/8)"
    return None


@dataclass(frozen=True, kw_only=True)
class AuthSettings:
    mode: AuthMode = setting("none", "none (everyone is admin; only when [web] host is a loopback address) or required")
    session_secret: str = setting(
        "",
        "key that signs session cookies, 32+ characters; the same on every instance (never logged)",
        secret=True,
        check=_secret,
    )
    session_hours: float = setting(12.0, "a signed-in supervisor's session lasts this long, hours", ge=0.1, le=720)
    display_session_days: float = setting(
        400.0,
        "a display's session (made from its token link) lasts this long, days; 400 is browsers' cap",
        ge=1,
        le=400,
    )
    trusted_proxies: tuple[str, ...] = setting(
        (),
        "addresses or networks of reverse proxies whose X-Forwarded-For and identity header are believed",
        check=_networks,
    )
    proxy_user_header: str = setting(
        "", "header a trusted proxy sets to the signed-in user's name (SSO), e.g. X-Remote-User"
    )
    proxy_role: Role = setting("supervisor", "role of a proxy-signed-in user who is not in [auth.users]")
    login_free_failures: int = setting(
        5, "failed logins (per address and per user) before each further one doubles the wait", ge=1, le=100
    )
    login_backoff_max: float = setting(900.0, "longest wait after failed logins, seconds", ge=1, le=86400)
    broadcasts_per_minute: float = setting(6.0, "broadcasts one person may post per minute", ge=0.1, le=600)
    users: Mapping[str, UserSettings] = entries(noun="user", max_name=128)
    tokens: Mapping[str, TokenSettings] = entries(noun="token", max_name=64)


@dataclass(frozen=True, kw_only=True)
class ServerSettings:
    """What one client may take of the server (docs/deployment.md "Limits").

    (Producers' data has its own limits: ``[limits]``, part of the metric settings so that the replay runs
    the same contract.)"""

    max_ws_connections: int = setting(
        10000, "WebSocket connections in all; more are refused (close code 1013)", ge=1, le=1_000_000
    )
    max_ws_connections_per_client: int = setting(
        500,
        "WebSocket connections from one client address (IPv6: one /64); more are refused (close code 1013); "
        "0 = no limit",
        ge=0,
        le=1_000_000,
    )
    max_client_message_bytes: int = setting(
        4096,
        "longest WebSocket message a client may send, bytes (clients send only resync and ping); "
        "a longer one closes the socket (1009) before it is buffered whole",
        ge=256,
        le=1024 * 1024,
    )
    resync_interval: float = setting(
        1.0, "a socket's resync within this many seconds of its last one waits until then", ge=0, le=60
    )
    max_header_bytes: int = setting(
        16384, "longest HTTP request head (request line and headers), bytes; longer gets 431", ge=1024, le=1024 * 1024
    )
    header_timeout: float = setting(
        10.0,
        "seconds a connection may take to send a request's head, from connect or from the end of the "
        "previous response; then it is closed (408 if a head had begun)",
        ge=1,
        le=600,
    )
    body_timeout: float = setting(
        10.0, "seconds a request may take to send its body once its head is in; then 408", ge=1, le=600
    )


AlertMetric = Literal[
    "waiting",
    "longest_wait_s",
    "window.service_level",
    "today.service_level",
    "window.abandon_rate",
    "today.abandon_rate",
    "window.asa_s",
    "today.asa_s",
    "window.aht_s",
    "today.aht_s",
    "agents.available",
    "agents.busy",
    "agents.wrap_up",
    "agents.break",
    "agents_over_limit.available",
    "agents_over_limit.busy",
    "agents_over_limit.wrap_up",
    "agents_over_limit.break",
]
ALERT_METRICS: tuple[AlertMetric, ...] = get_args(AlertMetric)
AlertScope = Literal["total", "queue", "group"]
AlertWhen = Literal["above", "below"]
Severity = Literal["warning", "critical"]


@dataclass(frozen=True, kw_only=True)
class AlertRuleSettings:
    """One alert rule (docs/alerts.md): a number of the snapshot, compared for a while, with hysteresis."""

    metric: AlertMetric = setting(
        "window.service_level", "the number watched: " + ", ".join(ALERT_METRICS) + " (as the board shows it)"
    )
    channel: str = setting("", "the channel of a channel's number (call, sms); empty for agents.*")
    scope: AlertScope = setting("total", "total (the whole centre), queue or group")
    names: tuple[str, ...] = setting(
        (), "the queues (scope queue) or groups (scope group) watched, each on its own; empty: every one"
    )
    when: AlertWhen = setting("below", "breached when the number is above (at or above) or below the threshold")
    threshold: float = setting(
        0.8, "in the number's unit: a fraction for rates (0.8 = 80%), seconds for waits, a count for counts"
    )
    hysteresis: float = setting(0.0, "cleared only once this far on the good side of the threshold (no flapping)", ge=0)
    for_s: int = setting(60, "breached this long, seconds, before it fires", ge=0, le=86400)
    clear_for_s: int = setting(60, "on the good side this long, seconds, before it clears", ge=0, le=86400)
    severity: Severity = setting("warning", "warning or critical")
    notify: tuple[str, ...] = setting((), "the [alerts.webhooks] told when it fires and resolves")


WebhookFormat = Literal["generic", "wecom", "dingtalk"]
Lang = Literal["zh-CN", "en"]


def _webhook_url(v: object) -> str | None:
    if not isinstance(v, str) or not v.startswith(("https://", "http://")) or len(v) > 2000:
        return "must be an http:// or https:// URL of at most 2,000 characters"
    return None


@dataclass(frozen=True, kw_only=True)
class WebhookSettings:
    """Where alerts are posted (docs/alerts.md "Webhooks")."""

    url: str = setting(
        "",
        "the URL posted to (a WeCom or DingTalk robot's URL with its key; never logged)",
        check=_webhook_url,
        secret=True,
    )
    format: WebhookFormat = setting(
        "generic", "generic (JSON of the alert), wecom or dingtalk (their robots' markdown)"
    )
    lang: Lang = setting("zh-CN", "language of the message text: zh-CN or en")
    secret: str = setting("", "DingTalk robot's signing secret (SEC...), if the robot requires signing", secret=True)
    timeout_s: float = setting(5.0, "seconds one attempt may take", ge=0.1, le=60)
    attempts: int = setting(6, "attempts before giving up (1 = no retry)", ge=1, le=20)
    backoff_s: float = setting(1.0, "pause before the first retry, doubled each time (at most 60 s)", ge=0, le=60)


@dataclass(frozen=True, kw_only=True)
class AlertSettings:
    topic: str = setting(
        "", "Kafka topic the sender writes every alert change to (generic JSON, keyed by rule and scope); empty: none"
    )
    rules: Mapping[str, AlertRuleSettings] = entries(noun="alert rule", max_name=64)
    webhooks: Mapping[str, WebhookSettings] = entries(noun="webhook", max_name=64)


LogFormat = Literal["plain", "json"]
LogLevel = Literal["debug", "info", "warning", "error"]


@dataclass(frozen=True, kw_only=True)
class LogSettings:
    format: LogFormat = setting(
        "plain", "plain (time, level, logger, message) or json (one JSON object a line, with extra fields)"
    )
    level: LogLevel = setting(
        "info", "debug, info, warning or error: wallboard's and uvicorn's loggers (wallboard.audit: always info)"
    )


@dataclass(frozen=True, kw_only=True)
class SimulatorSettings:
    scenario: str = setting("bank-hotline", "scenario name (seeds/<name>.toml) or path", nonempty=True)
    seed: int = setting(1, "random seed; the same seed gives the same day")
    speed: float = setting(1.0, "simulated seconds per real second", ge=0.01, le=10000)


BoardLayout = Literal["grid", "channels"]
BoardOrder = Literal["worst_first", "as_listed"]


@dataclass(frozen=True, kw_only=True)
class BoardSettings:
    """A named TV board, served at ``/tv/NAME`` (docs/board.md "Named boards")."""

    title_zh: str = setting(
        "", "the header's title on a Chinese (zh-CN) page; empty: title_en, else the name", check=_title
    )
    title_en: str = setting("", "the header's title on an English page; empty: title_zh, else the name", check=_title)
    groups: tuple[str, ...] = setting((), "groups ([groups]) it shows, one grid row each, first", check=_queue_list)
    queues: tuple[str, ...] = setting((), "queues it shows, one grid row each, after the groups", check=_queue_list)
    layout: BoardLayout = setting(
        "grid", "grid (one row per group and queue) or channels (the /tv panels, over the sum of all it shows)"
    )
    order: BoardOrder = setting(
        "worst_first", "grid rows: worst_first (red, amber, green, none; as listed within a level) or as_listed"
    )
    rows_per_page: int = setting(15, "grid rows on one screen; more rows make pages (and need rotate_s)", ge=1, le=20)
    rotate_s: float = setting(0.0, "grid: seconds each page shows before the next; 0: one page only", ge=0, le=3600)


@dataclass(frozen=True, kw_only=True)
class Settings:
    metrics: MetricSettings = section("Metric settings (top level)", inline=True)
    kafka: KafkaSettings = section()
    web: WebSettings = section()
    auth: AuthSettings = section()
    server: ServerSettings = section("`[server]`: what one client may take of the server")
    log: LogSettings = section()
    simulator: SimulatorSettings = section()
    alerts: AlertSettings = section("`[alerts.rules.NAME]`: alert rules (docs/alerts.md)")
    boards: Mapping[str, BoardSettings] = entries(noun="board", max_name=40, name_check=_board_name, max_entries=100)


# ---------------------------------------------------------------------------
# The schema: the fields of a settings dataclass with their resolved types.


@dataclass(frozen=True)
class Field:
    name: str
    type: Any
    meta: Setting | Entries | Section
    field: dataclasses.Field[Any]

    def default(self, name: str | None = None) -> object:
        """The declared default (an entry's own when ``name`` is given and it has one)."""
        meta = self.meta
        if isinstance(meta, Setting) and meta.by_name is not None and name is not None:
            return meta.by_name[name]
        if self.field.default is dataclasses.MISSING:
            raise TypeError(f"the setting {self.name} has no default")  # a declaration to fix, not a user error
        return self.field.default


_FIELDS: dict[type[Any], tuple[Field, ...]] = {}


def fields_of(cls: type[Any]) -> tuple[Field, ...]:
    """Every field of a settings dataclass, in declaration order, with its type and metadata."""
    found = _FIELDS.get(cls)
    if found is None:
        hints = get_type_hints(cls)
        found = tuple(Field(f.name, hints[f.name], f.metadata[_META], f) for f in dataclasses.fields(cls))
        _FIELDS[cls] = found
    return found


def _keys(cls: type[Any]) -> dict[str, Field]:
    """The keys of a table of this class: its fields, with those of an inline section in their place."""
    keys: dict[str, Field] = {}
    for f in fields_of(cls):
        if isinstance(f.meta, Section) and f.meta.inline:
            keys.update(_keys(f.type))
        else:
            keys[f.name] = f
    return keys


# ---------------------------------------------------------------------------
# Decoding


@dataclass(frozen=True)
class _EnvText:
    """A value from an environment variable: its text, and what it reads as in TOML."""

    text: str
    value: object


def _plain(v: object) -> object:
    return v.value if isinstance(v, _EnvText) else v


def _got(v: object, secret: bool) -> str:
    return f"{type(v).__name__} (a secret: not shown)" if secret else f"{type(v).__name__} {v!r}"


def _shown(v: object, secret: bool) -> str:
    return "a value not shown (a secret)" if secret else repr(v)


def _check_value(tp: Any, meta: Setting, v: object) -> tuple[str | None, object]:
    """(problem or None, the value converted to the field's type)."""
    problem, v = _check_type(tp, meta, v)
    if problem is None and meta.check is not None:
        problem = meta.check(v)
    return problem, v


def _check_type(tp: Any, meta: Setting, v: object) -> tuple[str | None, object]:
    origin = get_origin(tp)
    secret = meta.secret
    if tp is bool:
        return (None if isinstance(v, bool) else f"must be true or false, got {_shown(v, secret)}"), v
    if tp is int or tp is float:
        integer = tp is int
        if (
            isinstance(v, bool)
            or not isinstance(v, int | float)
            or (integer and not isinstance(v, int))
            or (isinstance(v, float) and not math.isfinite(v))
        ):
            return f"must be {'an integer' if integer else 'a number'}, got {_got(v, secret)}", v
        if meta.ge is not None and v < meta.ge:
            return f"must be at least {meta.ge}, got {_shown(v, secret)}", v
        if meta.le is not None and v > meta.le:
            return f"must be at most {meta.le}, got {_shown(v, secret)}", v
        return None, v
    if tp is str or origin is Literal:
        if not isinstance(v, str):
            return f"must be a string, got {_got(v, secret)}", v
        if meta.nonempty and not v:
            return "must not be empty", v
        choices = get_args(tp)
        if choices and v not in choices:
            return f"must be one of {', '.join(choices)}, got {_shown(v, secret)}", v
        return None, v
    if origin is tuple:  # tuple[str, ...]: a list of names, from the environment maybe "a,b,c"
        if isinstance(v, str):
            v = [p.strip() for p in v.split(",") if p.strip()]
        if not isinstance(v, list | tuple) or (meta.nonempty and not v) or not all(isinstance(x, str) and x for x in v):
            return f"must be a {'non-empty ' if meta.nonempty else ''}list of names, got {_shown(v, secret)}", v
        return None, tuple(v)
    raise TypeError(f"a setting of type {tp!r} has no decoder")  # a declaration the decoder does not know


class _Decoder:
    """One pass over a settings tree: the values, and every problem found on the way."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.problems: list[str] = []

    def _table(self, data: Mapping[str, object], key: str, where: str) -> Mapping[str, object]:
        v = _plain(data.get(key, {}))
        if not isinstance(v, Mapping):
            self.problems.append(f"{where}{key}: must be a table, got {v!r}")
            return {}
        return v

    def table(
        self, cls: type[Any], data: Mapping[str, object], where: str, *, name: str | None = None, base: object = None
    ) -> Any:
        """An instance of ``cls`` from a table (None if any of its values is bad).

        ``name``: the table's own name in a table of named entries (its defaults
        may depend on it); ``base``: an instance whose values the unset keys take.
        """
        before = len(self.problems)
        keys = _keys(cls)
        for key in data:
            if key not in keys:
                self.problems.append(f"{where}{key}: unknown setting (known: {', '.join(sorted(keys))})")
        values: dict[str, object] = {}
        for f in fields_of(cls):
            meta = f.meta
            if isinstance(meta, Section):
                sub = (
                    {k: v for k, v in data.items() if k in _keys(f.type)}
                    if meta.inline
                    else self._table(data, f.name, where)
                )
                values[f.name] = self.table(f.type, sub, where if meta.inline else f"{where}{f.name}.")
            elif isinstance(meta, Entries):
                like = next(g for g in fields_of(cls) if g.name == meta.like) if meta.like else None
                values[f.name] = self.entries(
                    f,
                    self._table(data, f.name, where),
                    f"{where}{f.name}.",
                    like,
                    values.get(meta.like) if meta.like else None,
                )
            elif f.name in data:
                raw = data[f.name]
                if isinstance(raw, _EnvText):
                    raw = raw.text if f.type is str and not isinstance(raw.value, str) else raw.value
                problem, values[f.name] = _check_value(f.type, meta, raw)
                if problem is not None:
                    self.problems.append(f"{where}{f.name}: {problem}")
            elif base is not None:
                values[f.name] = getattr(base, f.name)
            elif meta.default_from is not None:
                values[f.name] = meta.default_from(self.environ)
            else:
                values[f.name] = f.default(name)
                if meta.nonempty and not values[f.name]:
                    self.problems.append(f"{where}{f.name}: required")
        for f in fields_of(cls):
            if isinstance(f.meta, Setting) and f.meta.at_least is not None:
                other, why = f.meta.at_least
                mine, theirs = values[f.name], values[other]
                if not (isinstance(mine, int | float) and isinstance(theirs, int | float)):
                    continue  # one of them is bad, and already said so
                sibling = keys[other].meta
                if (f.meta.zero_off and mine == 0) or (
                    isinstance(sibling, Setting) and sibling.zero_off and theirs == 0
                ):
                    continue  # one of them is off: nothing to compare
                if mine < theirs:
                    if f.name in data:
                        self.problems.append(f"{where}{f.name}: must be at least {other} ({theirs}), got {mine}: {why}")
                    else:
                        values[f.name] = theirs
        return cls(**values) if len(self.problems) == before else None

    def entries(
        self, f: Field, data: Mapping[str, object], where: str, like: Field | None, base: object
    ) -> dict[str, Any] | None:
        """A table of named entries: ``{name: value}`` (None if any is bad)."""
        meta = f.meta
        assert isinstance(meta, Entries)
        before = len(self.problems)
        out: dict[str, Any] = {}
        inner = get_args(f.type)[1]
        if meta.names is not None:
            for key in data:
                if key not in meta.names:
                    self.problems.append(f"{where}{key}: unknown {meta.noun} (known: {', '.join(meta.names)})")
            for name in meta.names:
                entry_base = base[name] if isinstance(base, Mapping) else None
                out[name] = self.table(
                    inner, self._table(data, name, where), f"{where}{name}.", name=name, base=entry_base
                )
        else:
            if meta.max_entries is not None and len(data) > meta.max_entries:
                self.problems.append(f"{where.rstrip('.')}: at most {meta.max_entries} {meta.noun}s, got {len(data)}")
            for name, raw in data.items():
                at = f'{where}"{name}"'
                if not 1 <= len(name) <= meta.max_name:
                    self.problems.append(f"{at}: a {meta.noun} name has 1 to {meta.max_name} characters")
                elif meta.normal_names:
                    self._normal_name(name, at, meta.noun)
                elif meta.name_check is not None and (problem := meta.name_check(name)) is not None:
                    self.problems.append(f"{at}: {problem}")
                entry = _plain(raw)
                if not isinstance(entry, Mapping):
                    if like is not None and isinstance(like.meta, Entries):
                        kind = f"{like.meta.noun}s"
                    else:
                        first = fields_of(inner)[0].name
                        kind = f"settings (known: {', '.join(sorted(_keys(inner)))}; e.g. {{ {first} = ... }})"
                    self.problems.append(f"{at}: must be a table of {kind}")
                    continue
                if like is not None:
                    out[name] = self.entries(like, entry, f"{at}.", None, base)
                else:
                    out[name] = self.table(inner, entry, f"{at}.", name=name)
        return out if len(self.problems) == before else None

    def _normal_name(self, name: str, at: str, noun: str) -> None:
        """A problem unless ``name`` is written as the board shows names (events would never match it)."""
        try:
            shown = normalise(name)
        except ValueError as exc:
            self.problems.append(f"{at}: the {noun} name {exc}")
            return
        if shown != name:
            self.problems.append(f"{at}: the board shows this {noun} as {shown!r}: write it so (docs/events.md)")


def parse_settings(data: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    """Validate a settings tree (file contents merged with overrides); raise SettingsError listing every problem."""
    decoder = _Decoder(os.environ if environ is None else environ)
    settings: Settings | None = decoder.table(Settings, data, "")
    if decoder.problems or settings is None:
        raise SettingsError(decoder.problems)
    problems = (
        _auth_problems(settings.auth)
        + _alert_problems(settings.alerts, settings.metrics.groups)
        + _agent_limit_problems(settings.metrics)
        + _board_problems(settings)
    )
    if problems:
        raise SettingsError(problems)
    return settings


def _agent_limit_problems(metrics: MetricSettings) -> list[str]:
    """Reason codes in [agent_limits] that no event could carry (longer than [limits] max_reason)."""
    most = metrics.limits.max_reason
    return [
        f'agent_limits.{state}.reasons."{reason}": a reason code has at most [limits] max_reason = {most} '
        "characters; no event could match this one"
        for state, limits in metrics.agent_limits.items()
        for reason in limits.reasons
        if len(reason) > most
    ]


def _auth_problems(auth: AuthSettings) -> list[str]:
    """What the [auth] table lacks as a whole (each value was checked on its own already)."""
    problems: list[str] = []
    signs_in = [f"auth.users.{n}" for n, u in auth.users.items() if u.password_hash] + [
        f"auth.tokens.{n}" for n, t in auth.tokens.items() if t.role == "display"
    ]
    if auth.mode == "required":
        if signs_in and not auth.session_secret:
            problems.append(
                f"auth.session_secret: required for session cookies ({signs_in[0]} signs in); "
                "`wallboard auth secret` makes one"
            )
        if not (auth.users or auth.tokens or auth.proxy_user_header):
            problems.append("auth.mode: 'required' needs [auth.users], [auth.tokens] or auth.proxy_user_header")
    for name, tok in auth.tokens.items():
        if not tok.sha256:
            problems.append(f"auth.tokens.{name}.sha256: required (`wallboard auth token {name}` prints it)")
    if auth.proxy_user_header and not auth.trusted_proxies:
        problems.append("auth.trusted_proxies: required with auth.proxy_user_header (only a proxy may set it)")
    return problems


def _board_problems(settings: Settings) -> list[str]:
    """What the groups and boards say that their own values cannot: unknown groups, lists over the limits."""
    problems: list[str] = []
    m = settings.metrics
    named = len(m.named_queues)
    if named > m.limits.max_queues:
        problems.append(
            f"groups: [queues] and the groups name {named} queues, more than limits.max_queues ({m.limits.max_queues})"
        )
    for name, group in m.groups.items():
        long = next((q for q in group.queues if len(q) > m.limits.max_queue_name), None)
        if long is not None:
            problems.append(
                f'groups."{name}".queues: {long!r} is longer than limits.max_queue_name ({m.limits.max_queue_name})'
            )
    for name, board in settings.boards.items():
        at = f"boards.{name}"
        unknown = [g for g in board.groups if g not in m.groups]
        if unknown:
            known = ", ".join(sorted(m.groups)) or 'none: declare them as [groups."NAME"] queues = [...]'
            problems.append(f"{at}.groups: unknown group {unknown[0]!r} (known: {known})")
        rows = len(board.groups) + len(board.queues)
        if rows == 0:
            problems.append(f"{at}: shows nothing; give it queues = [...] and/or groups = [...]")
        elif board.layout == "grid" and rows > board.rows_per_page and board.rotate_s == 0:
            problems.append(
                f"{at}: {rows} rows do not fit rows_per_page = {board.rows_per_page}; "
                "set rotate_s (seconds per page) or rows_per_page"
            )
        if board.layout == "channels" and board.rotate_s:
            problems.append(f'{at}.rotate_s: only a grid board rotates pages (layout = "grid")')
    return problems


def _alert_problems(alerts: AlertSettings, groups: Mapping[str, object]) -> list[str]:
    """What an alert rule says that cannot be watched (each value was checked on its own already)."""
    problems: list[str] = []
    for name, rule in alerts.rules.items():
        where = f"alerts.rules.{name}"
        if rule.metric.startswith("agents"):
            if rule.channel:
                problems.append(f"{where}.channel: {rule.metric} is not per channel; leave channel out")
        elif rule.channel not in CHANNELS:
            problems.append(
                f"{where}.channel: {rule.metric} is per channel: set channel to one of {', '.join(CHANNELS)}"
                + (f" (got {rule.channel!r})" if rule.channel else "")
            )
        if rule.scope == "total" and rule.names:
            problems.append(f"{where}.names: only with scope 'queue' or 'group'")
        if rule.scope == "group":
            if not groups:
                problems.append(f"{where}.scope: 'group' needs [groups] (docs/board.md \"Groups\")")
            for name in rule.names:
                if name not in groups:
                    problems.append(f"{where}.names: unknown group {name!r} (known: {', '.join(sorted(groups))})")
        if len(rule.names) > 200:
            problems.append(f"{where}.names: at most 200")
        for target in rule.notify:
            if target not in alerts.webhooks:
                known = ", ".join(sorted(alerts.webhooks)) or "none defined"
                problems.append(f"{where}.notify: no [alerts.webhooks.{target}] ({known})")
    for name, hook in alerts.webhooks.items():
        if not hook.url:
            problems.append(f"alerts.webhooks.{name}.url: required (the robot's or the receiver's URL)")
    if len(alerts.rules) > 100:
        problems.append(f"alerts.rules: at most 100 rules, got {len(alerts.rules)}")
    return problems


def exposure_problem(settings: Settings) -> str | None:
    """Why the web server must not start as configured: no authentication on an address others can reach."""
    host = settings.web.host
    if settings.auth.mode == "none" and host != "localhost":
        try:
            loopback = ipaddress.ip_address(host.strip("[]")).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            return (
                f"web.host {host!r} is reachable from other machines but auth.mode is 'none' (everyone would be "
                "admin): set auth.mode = 'required' with users or tokens (docs/security.md), or listen on 127.0.0.1"
            )
    return None


# ---------------------------------------------------------------------------
# Loading


def _env_value(raw: str) -> _EnvText:
    try:
        return _EnvText(raw, tomllib.loads(f"v = {raw}")["v"])
    except tomllib.TOMLDecodeError:
        return _EnvText(raw, raw)


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX) or key == ENV_PREFIX + "CONFIG":
            continue
        path = [part.lower() for part in key[len(ENV_PREFIX) :].split("__")]
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = _env_value(raw)
    return tree


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), Mapping) else v
    return out


def load_settings(path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings file (``path``, else $WALLBOARD_CONFIG, else ./wallboard.toml if present) and env overrides."""
    environ = os.environ if environ is None else environ
    if path is None:
        path = environ.get(ENV_PREFIX + "CONFIG") or None
        if path is None and Path("wallboard.toml").is_file():
            path = "wallboard.toml"
    data: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            raise SettingsError([f"settings file {os.fspath(path)!r} does not exist"]) from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError([f"settings file {os.fspath(path)!r} is not valid TOML: {exc}"]) from None
    return parse_settings(_merge(data, _env_overrides(environ)), environ)


def settings_tree(value: object) -> Any:
    """Settings (or any part of them) back as the tree they decode from: ``parse_settings(settings_tree(s)) == s``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        tree: dict[str, Any] = {}
        for f in fields_of(type(value)):
            sub = settings_tree(getattr(value, f.name))
            if isinstance(f.meta, Section) and f.meta.inline:
                tree.update(sub)
            else:
                tree[f.name] = sub
        return tree
    if isinstance(value, Mapping):
        return {k: settings_tree(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return list(value)
    return value


def with_overrides(settings: Settings, **sections: Mapping[str, Any]) -> Settings:
    """A copy of ``settings`` with some fields of some sections replaced (used by the CLI flags and tests).

    The result is decoded again, like a file: a bad value raises SettingsError.
    ``metrics=`` replaces top-level keys (the file's layout).
    """
    over: dict[str, Any] = {}
    for name, values in sections.items():
        f = next((g for g in fields_of(Settings) if g.name == name), None)
        if f is not None and isinstance(f.meta, Section) and f.meta.inline:
            over.update(values)
        else:
            over[name] = values
    return parse_settings(_merge(settings_tree(settings), over), environ={})

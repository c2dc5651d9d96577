"""Settings: one TOML file (``wallboard.toml``) plus ``WALLBOARD_*`` environment overrides.

Every setting is declared once, in the tables below (name, default, help), so that
validation, the environment mapping and docs/configuration.md cannot drift apart
(tests/test_docs.py checks the docs against these tables).  Settings are validated
at start: every bad value is reported at once, with the key that holds it.

Environment overrides use ``WALLBOARD_`` + the key path joined by ``__``::

    WALLBOARD_TIMEZONE=Asia/Shanghai
    WALLBOARD_CHANNELS__CALL__SL_THRESHOLD=20
    WALLBOARD_KAFKA__BOOTSTRAP_SERVERS=10.0.0.5:9092
    WALLBOARD_CONFIG=/etc/wallboard.toml   (the file itself)

Values are read as TOML values when they parse as one (``20``, ``0.8``, ``true``,
``["a", "b"]``) and as plain strings otherwise.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wallboard.errors import SettingsError

CHANNELS = ("call", "sms")
SL_FORMULAS = ("abandons_negative", "abandons_ignored", "abandons_positive")
ENV_PREFIX = "WALLBOARD_"


@dataclass(frozen=True)
class ChannelSettings:
    """The per-channel settings of metrics.md (and the board's colour limits)."""

    sl_threshold: float
    """An answer within this wait (seconds) counts as within service level."""
    short_abandon: float
    """Abandons with a wait below this (seconds) are short abandons."""
    sl_formula: str
    """One of SL_FORMULAS."""
    sl_target: float
    """The goal line (0..1); drives colours, never numbers."""
    waiting_warn: int
    waiting_alarm: int
    longest_wait_warn: float
    longest_wait_alarm: float


@dataclass(frozen=True)
class MetricSettings:
    """Everything that changes a number on the board."""

    timezone: str
    window: int
    interval: int
    late_horizon: int
    channels: Mapping[str, ChannelSettings]
    queues: Mapping[str, Mapping[str, ChannelSettings]] = field(default_factory=dict)

    def channel(self, queue: str, channel: str) -> ChannelSettings:
        """The settings in force for one queue and channel (per-queue override or channel default)."""
        per_queue = self.queues.get(queue)
        if per_queue is not None:
            return per_queue[channel]
        return self.channels[channel]

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap_servers: str
    topics: tuple[str, ...]
    dead_letter: bool
    dead_letter_topic: str
    lookback: int
    client_id: str
    security_protocol: str
    sasl_mechanism: str
    sasl_username: str
    sasl_password: str = field(repr=False)
    ssl_cafile: str
    ssl_certfile: str
    ssl_keyfile: str
    ssl_password: str = field(repr=False)
    ssl_check_hostname: bool
    max_partition_fetch_bytes: int
    fetch_max_records: int
    reconnect_backoff_max: float


@dataclass(frozen=True)
class WebSettings:
    host: str
    port: int
    push_interval: float
    stale_after: float
    slow_client_timeout: float
    broadcast_max_length: int
    supervisor_token: str = field(repr=False)


@dataclass(frozen=True)
class SimulatorSettings:
    scenario: str
    seed: int
    speed: float


@dataclass(frozen=True)
class Settings:
    metrics: MetricSettings
    kafka: KafkaSettings
    web: WebSettings
    simulator: SimulatorSettings


# ---------------------------------------------------------------------------
# The tables: (name, default, help, check).  A check returns an error text or None.

Check = Callable[[Any], "str | None"]


def _number(lo: float | None = None, hi: float | None = None, *, integer: bool = False) -> Check:
    def check(v: Any) -> str | None:
        kinds = (int,) if integer else (int, float)
        if isinstance(v, bool) or not isinstance(v, kinds):
            return f"must be {'an integer' if integer else 'a number'}, got {type(v).__name__} {v!r}"
        if lo is not None and v < lo:
            return f"must be at least {lo}, got {v!r}"
        if hi is not None and v > hi:
            return f"must be at most {hi}, got {v!r}"
        return None

    return check


def _text(*, choices: tuple[str, ...] | None = None, nonempty: bool = False) -> Check:
    def check(v: Any) -> str | None:
        if not isinstance(v, str):
            return f"must be a string, got {type(v).__name__} {v!r}"
        if nonempty and not v:
            return "must not be empty"
        if choices is not None and v not in choices:
            return f"must be one of {', '.join(choices)}, got {v!r}"
        return None

    return check


def _boolean(v: Any) -> str | None:
    return None if isinstance(v, bool) else f"must be true or false, got {v!r}"


def _string_list(v: Any) -> str | None:
    if not isinstance(v, list | tuple) or not v or not all(isinstance(x, str) and x for x in v):
        return f"must be a non-empty list of names, got {v!r}"
    return None


def _zone(v: Any) -> str | None:
    if not isinstance(v, str) or not v:
        return f"must be an IANA time zone name such as 'Asia/Shanghai', got {v!r}"
    try:
        zoneinfo.ZoneInfo(v)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {v!r} (use an IANA name such as 'Asia/Shanghai')"
    return None


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    check: Check


TOP_SETTINGS: tuple[Setting, ...] = (
    Setting("timezone", None, "IANA zone; 'today' starts at local midnight there (default: the machine's zone)", _zone),
    Setting("window", 1800, "length of the rolling window, seconds", _number(1, 86400, integer=True)),
    Setting("interval", 900, "length of an intraday interval, seconds", _number(60, 86400, integer=True)),
    Setting(
        "late_horizon",
        7200,
        "how late (seconds behind the newest event) an event may arrive and still be merged exactly; "
        "later ones are counted as too_late",
        _number(0, 7 * 86400, integer=True),
    ),
)

CHANNEL_SETTINGS: tuple[Setting, ...] = (
    Setting("sl_threshold", {"call": 20, "sms": 60}, "answer within this wait (s) = within service level",
            _number(0, 86400)),
    Setting("short_abandon", {"call": 5, "sms": 0}, "abandons with a wait below this (s) are short abandons",
            _number(0, 86400)),
    Setting("sl_formula", "abandons_negative", "service-level formula: " + ", ".join(SL_FORMULAS),
            _text(choices=SL_FORMULAS)),
    Setting("sl_target", 0.80, "service-level goal (0..1); colours only", _number(0, 1)),
    Setting("waiting_warn", 10, "waiting count shown amber at or above this", _number(0, integer=True)),
    Setting("waiting_alarm", 30, "waiting count shown red at or above this", _number(0, integer=True)),
    Setting("longest_wait_warn", {"call": 20, "sms": 60}, "longest wait (s) shown amber at or above this",
            _number(0)),
    Setting("longest_wait_alarm", {"call": 60, "sms": 180}, "longest wait (s) shown red at or above this",
            _number(0)),
)

KAFKA_SETTINGS: tuple[Setting, ...] = (
    Setting("bootstrap_servers", "127.0.0.1:9092", "broker list, host:port[,host:port]", _text(nonempty=True)),
    Setting("topics", ["cc.calls", "cc.sms", "cc.agents"], "topics to read (all partitions of each)", _string_list),
    Setting("dead_letter", False, "forward rejected messages to dead_letter_topic", _boolean),
    Setting("dead_letter_topic", "cc.deadletter", "topic for rejected messages", _text(nonempty=True)),
    Setting("lookback", 7200, "replay starts this many seconds before local midnight",
            _number(0, 7 * 86400, integer=True)),
    Setting("client_id", "wallboard", "Kafka client id", _text(nonempty=True)),
    Setting("security_protocol", "PLAINTEXT", "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
            _text(choices=("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"))),
    Setting("sasl_mechanism", "PLAIN", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512",
            _text(choices=("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"))),
    Setting("sasl_username", "", "SASL user name", _text()),
    Setting("sasl_password", "", "SASL password (never logged)", _text()),
    Setting("ssl_cafile", "", "CA bundle (PEM) to verify the brokers", _text()),
    Setting("ssl_certfile", "", "client certificate (PEM) for mutual TLS", _text()),
    Setting("ssl_keyfile", "", "client private key (PEM)", _text()),
    Setting("ssl_password", "", "password of the client private key (never logged)", _text()),
    Setting("ssl_check_hostname", True, "verify the broker's host name against its certificate", _boolean),
    # 1 MiB (the Java consumer's default): aiokafka buffers a fetch of this size for every assigned partition,
    # and a partly read one that the catch-up pauses is dropped but lives on (a reference cycle) until a full
    # collection.  At 4 MiB a 919,000-message catch-up peaked at 300-360 MiB RSS, ~100 MiB of it such
    # buffers; at 256 KiB memory is lower still but the catch-up takes ~10% more CPU (docs/performance.md,
    # "Catch-up of wallboard serve").
    Setting("max_partition_fetch_bytes", 1024 * 1024, "bytes fetched per partition per request (the consumer "
            "buffers up to this much for every partition)",
            _number(65536, integer=True)),
    Setting("fetch_max_records", 10000, "records handed to the engine per batch", _number(1, integer=True)),
    Setting("reconnect_backoff_max", 30.0, "longest pause between reconnect attempts, seconds", _number(0.1, 3600)),
)

WEB_SETTINGS: tuple[Setting, ...] = (
    Setting("host", "127.0.0.1", "address to listen on", _text(nonempty=True)),
    Setting("port", 8080, "port to listen on", _number(0, 65535, integer=True)),
    Setting("push_interval", 1.0, "seconds between pushes to the boards (0.25 .. 60)", _number(0.25, 60)),
    Setting("stale_after", 60.0, "seconds without fresh data before the board turns red", _number(1, 3600)),
    Setting("slow_client_timeout", 10.0, "a client that cannot take a message for this long is dropped",
            _number(0.5, 600)),
    Setting("broadcast_max_length", 280, "longest broadcast message, characters", _number(1, 5000, integer=True)),
    Setting("supervisor_token", "", "when set, posting a broadcast needs this token (never logged)", _text()),
)

SIMULATOR_SETTINGS: tuple[Setting, ...] = (
    Setting("scenario", "bank-hotline", "scenario name (seeds/<name>.toml) or path", _text(nonempty=True)),
    Setting("seed", 1, "random seed; the same seed gives the same day", _number(integer=True)),
    Setting("speed", 1.0, "simulated seconds per real second", _number(0.01, 10000)),
)

SECTIONS: dict[str, tuple[Setting, ...]] = {
    "kafka": KAFKA_SETTINGS,
    "web": WEB_SETTINGS,
    "simulator": SIMULATOR_SETTINGS,
}


# ---------------------------------------------------------------------------
# Loading


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


def _env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX) or key == ENV_PREFIX + "CONFIG":
            continue
        path = [part.lower() for part in key[len(ENV_PREFIX):].split("__")]
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = _env_value(raw)
    return tree


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
    return out


def _default(setting: Setting, channel: str | None = None) -> Any:
    d = setting.default
    return d[channel] if isinstance(d, dict) and channel else d


def _coerce_list(value: Any) -> Any:
    # From the environment a list may come as "a,b,c".
    return [p.strip() for p in value.split(",") if p.strip()] if isinstance(value, str) else value


def _read_table(
    data: Mapping[str, Any], table: tuple[Setting, ...], where: str, problems: list[str], channel: str | None = None,
    base: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    known = {s.name for s in table}
    for key in data:
        if key not in known:
            problems.append(f"{where}{key}: unknown setting (known: {', '.join(sorted(known))})")
    values: dict[str, Any] = {}
    for s in table:
        if s.name in data:
            v = data[s.name]
            if s.check is _string_list:
                v = _coerce_list(v)
            err = s.check(v)
            if err:
                problems.append(f"{where}{s.name}: {err}")
                continue
            values[s.name] = tuple(v) if isinstance(v, list) else v
        else:
            values[s.name] = base.get(s.name, _default(s, channel)) if base is not None else _default(s, channel)
            if isinstance(values[s.name], list):
                values[s.name] = tuple(values[s.name])
    return values


def _table(data: Mapping[str, Any], key: str, where: str, problems: list[str]) -> Mapping[str, Any]:
    v = data.get(key, {})
    if not isinstance(v, Mapping):
        problems.append(f"{where}{key}: must be a table, got {v!r}")
        return {}
    return v


def parse_settings(data: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    """Validate a settings tree (file contents merged with overrides); raise SettingsError listing every problem."""
    environ = os.environ if environ is None else environ
    problems: list[str] = []
    top_keys = {s.name for s in TOP_SETTINGS} | set(SECTIONS) | {"channels", "queues"}
    for key in data:
        if key not in top_keys:
            problems.append(f"{key}: unknown setting (known: {', '.join(sorted(top_keys))})")

    top = _read_table({k: v for k, v in data.items() if k in {s.name for s in TOP_SETTINGS}}, TOP_SETTINGS, "",
                      problems)
    if top.get("timezone", "") is None:
        top["timezone"] = local_zone_name(environ)

    channels_data = _table(data, "channels", "", problems)
    for key in channels_data:
        if key not in CHANNELS:
            problems.append(f"channels.{key}: unknown channel (known: call, sms)")
    channel_values: dict[str, dict[str, Any]] = {}
    for ch in CHANNELS:
        channel_values[ch] = _read_table(_table(channels_data, ch, "channels.", problems), CHANNEL_SETTINGS,
                                         f"channels.{ch}.", problems, channel=ch)

    queue_values: dict[str, dict[str, dict[str, Any]]] = {}
    for qname, qdata in _table(data, "queues", "", problems).items():
        where = f'queues."{qname}".'
        if not 1 <= len(qname) <= 64:
            problems.append(f"{where[:-1]}: a queue name has 1 to 64 characters")
        if not isinstance(qdata, Mapping):
            problems.append(f"{where[:-1]}: must be a table of channels")
            continue
        for key in qdata:
            if key not in CHANNELS:
                problems.append(f"{where}{key}: unknown channel (known: call, sms)")
        queue_values[qname] = {
            ch: _read_table(_table(qdata, ch, where, problems), CHANNEL_SETTINGS, f"{where}{ch}.", problems,
                            channel=ch, base=channel_values[ch])
            for ch in CHANNELS
        }

    sections = {name: _read_table(_table(data, name, "", problems), table, f"{name}.", problems)
                for name, table in SECTIONS.items()}
    if "late_horizon" in data and top.get("late_horizon", 0) < top.get("window", 0):
        problems.append("late_horizon: must be at least window, so that the rolling window is always exact")
    if problems:
        raise SettingsError(problems)

    if top["late_horizon"] < top["window"]:
        top["late_horizon"] = top["window"]
    metrics = MetricSettings(
        timezone=top["timezone"], window=top["window"], interval=top["interval"], late_horizon=top["late_horizon"],
        channels={ch: ChannelSettings(**v) for ch, v in channel_values.items()},
        queues={q: {ch: ChannelSettings(**v) for ch, v in per.items()} for q, per in queue_values.items()},
    )
    return Settings(
        metrics=metrics,
        kafka=KafkaSettings(**sections["kafka"]),
        web=WebSettings(**sections["web"]),
        simulator=SimulatorSettings(**sections["simulator"]),
    )


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


def with_overrides(settings: Settings, **sections: Mapping[str, Any]) -> Settings:
    """A copy of ``settings`` with some fields of some sections replaced (used by the CLI flags and tests)."""
    changes = {name: dataclasses.replace(getattr(settings, name), **values) for name, values in sections.items()}
    return dataclasses.replace(settings, **changes)

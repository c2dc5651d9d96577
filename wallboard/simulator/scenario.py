"""Scenario files: what a simulated contact centre looks like (seeds/<name>.toml, documented in seeds/README.md).

A scenario describes demand (daily volume per channel, its 24-hour curve, the
share of each queue), customers (patience, talk and reply times) and supply
(the agent roster: skill groups, shifts, rota, breaks).  It holds no randomness
and no date: the generator turns it into one particular day.

Loading validates everything at once and raises ``SettingsError`` listing every
problem with the key that holds it, because a scenario is hand-written and a
typo should be fixed in one go, not one error per run.
"""

from __future__ import annotations

import math
import os
import random
import tomllib
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wallboard.errors import SettingsError
from wallboard.events import CHANNELS
from wallboard.resources import seeds_dir

DISTRIBUTIONS = ("fixed", "uniform", "exponential", "lognormal")

Sampler = Callable[[random.Random], int]
"""Draws one duration in integer milliseconds."""


@dataclass(frozen=True)
class Distribution:
    """A duration distribution in seconds, clamped to [low, high]."""

    kind: str
    """One of DISTRIBUTIONS."""
    mean: float
    sd: float = 0.0
    low: float = 0.0
    high: float = math.inf

    def sampler(self) -> Sampler:
        """A fast closure drawing milliseconds; built once per run, called once per interaction."""
        lo, hi = self.low * 1000.0, self.high * 1000.0
        mean_ms = self.mean * 1000.0
        if self.kind == "fixed":
            value = int(min(max(mean_ms, lo), hi))
            return lambda rng: value
        if self.kind == "uniform":
            return lambda rng: int(rng.uniform(lo, hi))
        if self.kind == "exponential":
            rate = 1.0 / mean_ms if mean_ms > 0 else math.inf

            def exponential(rng: random.Random) -> int:
                return int(min(max(rng.expovariate(rate), lo), hi)) if rate != math.inf else int(lo)

            return exponential
        # lognormal from its mean and standard deviation
        sigma2 = math.log(1.0 + (self.sd / self.mean) ** 2)
        mu = math.log(mean_ms) - sigma2 / 2.0
        sigma = math.sqrt(sigma2)

        def lognormal(rng: random.Random) -> int:
            return int(min(max(rng.lognormvariate(mu, sigma), lo), hi))

        return lognormal


@dataclass(frozen=True)
class ChannelSpec:
    """Demand and customer behaviour of one channel ('call' or 'sms')."""

    name: str
    daily_volume: float
    """Expected interactions on a normal 24-hour day (before the weekday factor and scale)."""
    hourly: tuple[float, ...]
    """24 relative weights, one per local hour: the shape of the day."""
    weekday: tuple[float, ...]
    """7 multipliers of daily_volume, Monday first."""
    connect: Distribution
    """Routing to answered: ringing at the agent (call) or writing the first reply (sms)."""
    handle: Distribution
    """Answered to end of the talk / conversation."""
    wrap_up: Distribution
    """After-contact work; the interaction completes at its end."""
    patience: Distribution
    """How long a queued customer waits before leaving."""
    short_abandon_share: float
    """Share of customers who leave within short_abandon_max seconds if they have to queue at all."""
    short_abandon_max: float


@dataclass(frozen=True)
class QueueSpec:
    """One queue (skill group of the ACD) and its share of each channel's traffic."""

    name: str
    share: Mapping[str, float]
    """Relative weight per channel (normalised over the queues of that channel)."""
    handle_factor: float
    """Multiplies the channel's handle time (complaints take longer than balance enquiries)."""
    hourly: Mapping[str, tuple[float, ...]]
    """Optional per-channel override of the 24-hour curve."""


@dataclass(frozen=True)
class ShiftSpec:
    """A shift: local start time and length; the briefing comes before the start."""

    name: str
    start_minute: int
    """Minutes after local midnight."""
    hours: float


@dataclass(frozen=True)
class StaffGroup:
    """Agents with the same skills, split over shifts and into teams."""

    skill: str
    channels: tuple[str, ...]
    """The channels these agents take (their position: phone or SMS)."""
    queues: tuple[str, ...]
    """Every queue they serve (the ``queues`` of their agent.state events)."""
    primary: tuple[str, ...]
    """Queues they take first; the others only when none of these is waiting."""
    team_size: int
    rota: str
    """'1' = on duty, '0' = off, cycling day by day, staggered agent by agent."""
    shifts: Mapping[str, int]
    """Agents on the roster per shift name (before the rota and before scale)."""


@dataclass(frozen=True)
class AgentPolicy:
    """Roster-wide rules: naming, rota, breaks."""

    id_prefix: str
    team_label: str
    """Format of the team field, with {leader} (e.g. '{leader}组')."""
    rota: str
    briefing_minutes: float
    """Logged in, not ready, before the shift starts (the morning briefing)."""
    break_minutes_per_hour: float
    absence: float
    """Share of rostered agents absent on a given day (leave, sickness, training), drawn per day and seed."""
    max_on_break: float
    """At most this share of a skill group's logged-in agents on break at once; the others wait their turn."""
    roll_call: bool
    """Emit every agent's state at the start of the simulation, offline ones included."""
    surnames: tuple[str, ...]
    given_names: tuple[str, ...]
    separator: str
    """Between surname and given name ('' for Chinese names, ' ' for English ones)."""
    leaders: tuple[str, ...]


@dataclass(frozen=True)
class Surge:
    """A spell of extra demand (an outage, a marketing SMS): the rate is multiplied by ``factor``."""

    channel: str
    queues: tuple[str, ...]
    """Empty = every queue of the channel."""
    start_minute: int
    end_minute: int
    factor: float


@dataclass(frozen=True)
class Scenario:
    """A whole simulated contact centre, validated."""

    name: str
    title: str
    description: str
    timezone: str
    """The zone the scenario was written for (a default for callers that do not choose one)."""
    channels: Mapping[str, ChannelSpec]
    queues: Mapping[str, QueueSpec]
    shifts: Mapping[str, ShiftSpec]
    agents: AgentPolicy
    staff: tuple[StaffGroup, ...]
    surges: tuple[Surge, ...]
    source: str = ""
    """Where it was loaded from (for messages)."""

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def queue_names(self, channel: str) -> tuple[str, ...]:
        """The queues that receive traffic on ``channel``."""
        return tuple(q.name for q in self.queues.values() if q.share.get(channel, 0.0) > 0)


# ---------------------------------------------------------------------------
# Finding and loading


def list_scenarios() -> list[str]:
    """Names of the scenarios shipped in seeds/."""
    folder = seeds_dir()
    return sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []


def find_scenario(name_or_path: str | os.PathLike[str]) -> Path:
    """A scenario file: an existing path as given, else seeds/<name>.toml."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    text = str(name_or_path)
    if "/" not in text and "\\" not in text:
        candidate = seeds_dir() / (text if text.endswith(".toml") else f"{text}.toml")
        if candidate.is_file():
            return candidate
    known = ", ".join(list_scenarios()) or "none"
    raise SettingsError([f"scenario {text!r}: no such file, and no seeds/{path.stem}.toml (known: {known})"])


def load_scenario(name_or_path: str | os.PathLike[str]) -> Scenario:
    """Load and validate a scenario by name (seeds/<name>.toml) or path; SettingsError lists every problem."""
    path = find_scenario(name_or_path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError([f"{path}: cannot read: {exc}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError([f"{path}: not valid TOML: {exc}"]) from None
    return parse_scenario(data, name=path.stem, source=str(path))


def parse_scenario(data: Mapping[str, Any], *, name: str = "scenario", source: str = "") -> Scenario:
    """Validate a scenario given as a parsed TOML document."""
    return _Parser(source or name).scenario(data, name)


# ---------------------------------------------------------------------------
# Validation


class _Parser:
    """Walks the document, collecting every problem with its key path instead of stopping at the first."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def problem(self, where: str, text: str) -> None:
        self.problems.append(f"{where}: {text}")

    # --- primitives -------------------------------------------------------

    def table(self, value: Any, where: str, *, required: bool = True) -> dict[str, Any]:
        if value is None:
            if required:
                self.problem(where, "is missing (a table is required)")
            return {}
        if not isinstance(value, dict):
            self.problem(where, f"must be a table, got {_kind(value)}")
            return {}
        return value

    def known(self, table: Mapping[str, Any], where: str, keys: tuple[str, ...]) -> None:
        for key in table:
            if key not in keys:
                self.problem(f"{where}.{key}", f"unknown key (known: {', '.join(keys)})")

    def number(
        self,
        table: Mapping[str, Any],
        key: str,
        where: str,
        *,
        default: float | None = None,
        lo: float | None = None,
        hi: float | None = None,
        positive: bool = False,
    ) -> float:
        path = f"{where}.{key}"
        value = table.get(key)
        if value is None:
            if default is None:
                self.problem(path, "is missing (a number is required)")
                return 0.0
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.problem(path, f"must be a number, got {_kind(value)} {value!r}")
            return default if default is not None else 0.0
        if positive and value <= 0:
            self.problem(path, f"must be greater than 0, got {value!r}")
        if lo is not None and value < lo:
            self.problem(path, f"must be at least {lo}, got {value!r}")
        if hi is not None and value > hi:
            self.problem(path, f"must be at most {hi}, got {value!r}")
        return float(value)

    def integer(self, table: Mapping[str, Any], key: str, where: str, *, default: int, lo: int) -> int:
        path = f"{where}.{key}"
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(path, f"must be a whole number, got {_kind(value)} {value!r}")
            return default
        if value < lo:
            self.problem(path, f"must be at least {lo}, got {value!r}")
        return value

    def text(self, table: Mapping[str, Any], key: str, where: str, *, default: str | None = None) -> str:
        path = f"{where}.{key}"
        value = table.get(key, default)
        if value is None:
            self.problem(path, "is missing (a string is required)")
            return ""
        if not isinstance(value, str):
            self.problem(path, f"must be a string, got {_kind(value)} {value!r}")
            return default or ""
        return value

    def names(
        self, table: Mapping[str, Any], key: str, where: str, *, default: tuple[str, ...] | None = None, limit: int = 64
    ) -> tuple[str, ...]:
        path = f"{where}.{key}"
        value = table.get(key)
        if value is None:
            if default is None:
                self.problem(path, "is missing (a list of names is required)")
                return ()
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(path, f"must be a list of strings, got {value!r}")
            return ()
        for v in value:
            if not 1 <= len(v) <= limit:
                self.problem(path, f"{v!r} must have 1..{limit} characters")
        return tuple(value)

    def weights(self, value: Any, where: str, count: int) -> tuple[float, ...]:
        if not isinstance(value, list) or len(value) != count:
            got = f"{len(value)} values" if isinstance(value, list) else _kind(value)
            self.problem(where, f"must be a list of {count} numbers, got {got}")
            return (1.0,) * count
        if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value):
            self.problem(where, "must hold numbers only")
            return (1.0,) * count
        if any(v < 0 for v in value):
            self.problem(where, "must not hold negative numbers")
        if sum(value) <= 0:
            self.problem(where, "must not be all zero")
        return tuple(float(v) for v in value)

    def clock(self, table: Mapping[str, Any], key: str, where: str, *, allow_24: bool = False) -> int:
        text = self.text(table, key, where)
        parts = text.split(":")
        if len(parts) == 2 and all(p.isdigit() and len(p) == 2 for p in parts):
            hh, mm = int(parts[0]), int(parts[1])
            if (hh < 24 or (allow_24 and hh == 24 and mm == 0)) and mm < 60:
                return hh * 60 + mm
        if text:
            self.problem(f"{where}.{key}", f"must be a local time 'HH:MM', got {text!r}")
        return 0

    def distribution(self, value: Any, where: str) -> Distribution:
        table = self.table(value, where)
        if not table:
            return Distribution("fixed", 1.0)
        self.known(table, where, ("dist", "mean", "sd", "min", "max", "value"))
        kind = self.text(table, "dist", where)
        if kind and kind not in DISTRIBUTIONS:
            self.problem(f"{where}.dist", f"must be one of {', '.join(DISTRIBUTIONS)}, got {kind!r}")
            return Distribution("fixed", 1.0)
        low = self.number(table, "min", where, default=0.0, lo=0)
        high = self.number(table, "max", where, default=math.inf, lo=0)
        if high < low:
            self.problem(where, f"max ({high}) is below min ({low})")
        if kind == "fixed":
            return Distribution("fixed", self.number(table, "value", where, lo=0))
        if kind == "uniform":
            if "min" not in table or "max" not in table:
                self.problem(where, "a uniform distribution needs min and max")
            return Distribution("uniform", (low + high) / 2 if math.isfinite(high) else low, 0.0, low, high)
        if kind == "exponential":
            return Distribution("exponential", self.number(table, "mean", where, positive=True), 0.0, low, high)
        mean = self.number(table, "mean", where, positive=True)
        sd = self.number(table, "sd", where, positive=True)
        return Distribution("lognormal", mean or 1.0, sd or 1.0, low, high)

    # --- sections ---------------------------------------------------------

    def scenario(self, data: Mapping[str, Any], default_name: str) -> Scenario:
        self.known(data, "(top level)", ("scenario", "channels", "queues", "shifts", "agents", "staff", "surges"))
        head = self.table(data.get("scenario"), "scenario")
        self.known(head, "scenario", ("name", "title", "description", "timezone"))
        name = self.text(head, "name", "scenario", default=default_name)
        timezone = self.text(head, "timezone", "scenario", default="UTC")
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.problem(
                "scenario.timezone", f"unknown time zone {timezone!r} (use an IANA name such as 'Asia/Shanghai')"
            )
        channels_table = self.table(data.get("channels"), "channels")
        self.known(channels_table, "channels", CHANNELS)
        if channels_table and not any(c in channels_table for c in CHANNELS):
            self.problem("channels", "must define at least one of " + ", ".join(f"channels.{c}" for c in CHANNELS))
        channels = {c: self.channel(c, channels_table[c]) for c in CHANNELS if c in channels_table}
        queues = self.queues(data.get("queues"), channels)
        shifts = self.shifts(data.get("shifts"))
        agents = self.agents(data.get("agents"))
        staff = self.staff(data.get("staff"), channels, queues, shifts, agents.rota)
        surges = self.surges(data.get("surges"), channels, queues)
        self.coverage(channels, queues, staff)
        if self.problems:
            raise SettingsError([f"scenario {self.source}: {p}" for p in self.problems])
        return Scenario(
            name=name,
            title=self.text(head, "title", "scenario", default=name),
            description=self.text(head, "description", "scenario", default=""),
            timezone=timezone,
            channels=channels,
            queues=queues,
            shifts=shifts,
            agents=agents,
            staff=staff,
            surges=surges,
            source=self.source,
        )

    def channel(self, name: str, value: Any) -> ChannelSpec:
        where = f"channels.{name}"
        table = self.table(value, where)
        self.known(
            table,
            where,
            (
                "daily_volume",
                "hourly",
                "weekday",
                "connect",
                "handle",
                "wrap_up",
                "patience",
                "short_abandon_share",
                "short_abandon_max",
            ),
        )
        weekday = table.get("weekday")
        return ChannelSpec(
            name=name,
            daily_volume=self.number(table, "daily_volume", where, lo=0),
            hourly=self.weights(table.get("hourly"), f"{where}.hourly", 24),
            weekday=self.weights(weekday, f"{where}.weekday", 7) if weekday is not None else (1.0,) * 7,
            connect=self.distribution(table.get("connect"), f"{where}.connect"),
            handle=self.distribution(table.get("handle"), f"{where}.handle"),
            wrap_up=self.distribution(table.get("wrap_up"), f"{where}.wrap_up"),
            patience=self.distribution(table.get("patience"), f"{where}.patience"),
            short_abandon_share=self.number(table, "short_abandon_share", where, default=0.0, lo=0, hi=1),
            short_abandon_max=self.number(table, "short_abandon_max", where, default=5.0, lo=0),
        )

    def queues(self, value: Any, channels: Mapping[str, ChannelSpec]) -> dict[str, QueueSpec]:
        table = self.table(value, "queues")
        if value is not None and not table:
            self.problem("queues", "must define at least one queue")
        out: dict[str, QueueSpec] = {}
        for qname, qvalue in table.items():
            where = f'queues."{qname}"'
            if not 1 <= len(qname) <= 64:
                self.problem(where, "a queue name must have 1..64 characters (events.md)")
            q = self.table(qvalue, where)
            self.known(q, where, ("share", "handle_factor", "hourly"))
            share_table = self.table(q.get("share"), f"{where}.share")
            self.known(share_table, f"{where}.share", CHANNELS)
            share = {c: self.number(share_table, c, f"{where}.share", lo=0) for c in CHANNELS if c in share_table}
            for c, s in share.items():
                if s > 0 and c not in channels:
                    self.problem(f"{where}.share.{c}", f"channel {c!r} is not defined under [channels]")
            hourly_table = self.table(q.get("hourly"), f"{where}.hourly", required=False)
            self.known(hourly_table, f"{where}.hourly", CHANNELS)
            hourly = {c: self.weights(v, f"{where}.hourly.{c}", 24) for c, v in hourly_table.items() if c in CHANNELS}
            out[qname] = QueueSpec(
                qname, share, self.number(q, "handle_factor", where, default=1.0, positive=True), hourly
            )
        for c in channels:
            if out and sum(q.share.get(c, 0.0) for q in out.values()) <= 0:
                self.problem("queues", f"no queue has a share of channel {c!r} (set share.{c} on at least one)")
        return out

    def shifts(self, value: Any) -> dict[str, ShiftSpec]:
        table = self.table(value, "shifts")
        if value is not None and not table:
            self.problem("shifts", "must define at least one shift")
        out: dict[str, ShiftSpec] = {}
        for sname, svalue in table.items():
            where = f'shifts."{sname}"'
            s = self.table(svalue, where)
            self.known(s, where, ("start", "hours"))
            out[sname] = ShiftSpec(
                sname, self.clock(s, "start", where), self.number(s, "hours", where, positive=True, hi=16)
            )
        return out

    def agents(self, value: Any) -> AgentPolicy:
        where = "agents"
        t = self.table(value, where)
        self.known(
            t,
            where,
            (
                "id_prefix",
                "team_label",
                "rota",
                "absence",
                "briefing_minutes",
                "break_minutes_per_hour",
                "max_on_break",
                "roll_call",
                "surnames",
                "given_names",
                "separator",
                "leaders",
            ),
        )
        team_label = self.text(t, "team_label", where, default="Team {leader}")
        if "{leader}" not in team_label:
            self.problem(f"{where}.team_label", f"must contain {{leader}}, got {team_label!r}")
        roll_call = t.get("roll_call", True)
        if not isinstance(roll_call, bool):
            self.problem(f"{where}.roll_call", f"must be true or false, got {roll_call!r}")
            roll_call = True
        return AgentPolicy(
            id_prefix=self.text(t, "id_prefix", where, default="A"),
            team_label=team_label,
            rota=self.rota(t, where, "1"),
            absence=self.number(t, "absence", where, default=0.0, lo=0, hi=0.9),
            briefing_minutes=self.number(t, "briefing_minutes", where, default=0.0, lo=0, hi=120),
            break_minutes_per_hour=self.number(t, "break_minutes_per_hour", where, default=0.0, lo=0, hi=30),
            max_on_break=self.number(t, "max_on_break", where, default=1.0, positive=True, hi=1),
            roll_call=roll_call,
            surnames=self.names(t, "surnames", where, default=("Agent",)),
            given_names=self.names(t, "given_names", where, default=("",)) or ("",),
            separator=self.text(t, "separator", where, default=""),
            leaders=self.names(t, "leaders", where, default=()),
        )

    def rota(self, table: Mapping[str, Any], where: str, default: str) -> str:
        rota = self.text(table, "rota", where, default=default)
        if not rota or set(rota) - {"0", "1"} or "1" not in rota:
            self.problem(
                f"{where}.rota", f"must be a string of 0 and 1 with at least one 1 (e.g. '1100'), got {rota!r}"
            )
            return "1"
        return rota

    def staff(
        self,
        value: Any,
        channels: Mapping[str, ChannelSpec],
        queues: Mapping[str, QueueSpec],
        shifts: Mapping[str, ShiftSpec],
        default_rota: str,
    ) -> tuple[StaffGroup, ...]:
        if value is None:
            self.problem("staff", "is missing (at least one [[staff]] group is required)")
            return ()
        if not isinstance(value, list) or not value:
            self.problem("staff", "must be a non-empty array of tables ([[staff]])")
            return ()
        out: list[StaffGroup] = []
        for i, item in enumerate(value):
            where = f"staff[{i}]"
            t = self.table(item, where)
            self.known(t, where, ("skill", "channels", "queues", "primary", "team_size", "rota", "shifts"))
            skill = self.text(t, "skill", where, default=f"group {i + 1}")
            where = f"staff[{i}] ({skill})"
            chans = self.names(t, "channels", where)
            for c in chans:
                if c not in channels:
                    self.problem(f"{where}.channels", f"unknown channel {c!r} (defined: {', '.join(channels)})")
            qs = self.names(t, "queues", where)
            if not qs and "queues" in t:
                self.problem(f"{where}.queues", "must name at least one queue")
            for q in qs:
                if q not in queues:
                    self.problem(f"{where}.queues", f"unknown queue {q!r} (defined: {', '.join(queues)})")
            primary = self.names(t, "primary", where, default=qs)
            for q in primary:
                if q not in qs:
                    self.problem(f"{where}.primary", f"{q!r} is not in this group's queues")
            counts_table = self.table(t.get("shifts"), f"{where}.shifts")
            counts: dict[str, int] = {}
            for sname, n in counts_table.items():
                if sname not in shifts:
                    self.problem(f"{where}.shifts", f"unknown shift {sname!r} (defined: {', '.join(shifts)})")
                if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                    self.problem(f"{where}.shifts.{sname}", f"must be a whole number of agents >= 0, got {n!r}")
                    continue
                counts[sname] = n
            out.append(
                StaffGroup(
                    skill=skill,
                    channels=chans,
                    queues=qs,
                    primary=primary or qs,
                    team_size=self.integer(t, "team_size", where, default=15, lo=1),
                    rota=self.rota(t, where, default_rota),
                    shifts=counts,
                )
            )
        return tuple(out)

    def surges(
        self, value: Any, channels: Mapping[str, ChannelSpec], queues: Mapping[str, QueueSpec]
    ) -> tuple[Surge, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.problem("surges", "must be an array of tables ([[surges]])")
            return ()
        out: list[Surge] = []
        for i, item in enumerate(value):
            where = f"surges[{i}]"
            t = self.table(item, where)
            self.known(t, where, ("channel", "queues", "start", "end", "factor"))
            channel = self.text(t, "channel", where)
            if channel and channel not in channels:
                self.problem(f"{where}.channel", f"unknown channel {channel!r}")
            qs = self.names(t, "queues", where, default=())
            for q in qs:
                if q not in queues:
                    self.problem(f"{where}.queues", f"unknown queue {q!r}")
            start = self.clock(t, "start", where)
            end = self.clock(t, "end", where, allow_24=True)
            if end <= start:
                self.problem(where, "end must be after start (a surge cannot cross midnight)")
            out.append(Surge(channel, qs, start, end, self.number(t, "factor", where, lo=0)))
        return tuple(out)

    def coverage(
        self, channels: Mapping[str, ChannelSpec], queues: Mapping[str, QueueSpec], staff: tuple[StaffGroup, ...]
    ) -> None:
        """Traffic nobody can answer is almost always a typo in a queue list."""
        for c in channels:
            for q in queues.values():
                if q.share.get(c, 0.0) <= 0:
                    continue
                if not any(c in g.channels and q.name in g.queues and sum(g.shifts.values()) > 0 for g in staff):
                    self.problem(
                        f'queues."{q.name}"',
                        f"receives {c} traffic but no [[staff]] group with agents serves it on the {c} channel",
                    )


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__

"""A discrete-event simulation of a contact-centre day, yielding contract messages lazily.

Model (see seeds/README.md for the calibration):

* customers arrive per channel and queue (``arrivals.py``), each bringing its
  patience and the times its interaction will take;
* a new interaction goes to the longest-idle agent who serves its queue on its
  channel (agents whose *primary* queues include it first), else it waits in
  the queue's FIFO until an agent frees up or the customer's patience runs out;
* a freed agent takes the longest-waiting interaction of its primary queues,
  else of its other queues, else goes idle;
* agents log in for the briefing before their shift (state ``break``), are
  ``available`` from the shift start, ``busy`` from the answer, ``wrap_up``
  after the talk, take their minutes of break every hour (no more than
  ``max_on_break`` of their group at once), and log off (``offline``) at shift
  end once their current interaction is completed.

Every message is emitted at the simulated instant it describes, so the stream
comes out in non-decreasing ``ts`` order without sorting, and the simulation
holds only what is in flight (agents, waiting and in-progress interactions,
one pending arrival per stream): memory does not grow with the day.

Determinism: every random draw comes from ``random.Random`` instances seeded
from (seed, date, purpose); ties in the event heap are broken by insertion
order; nothing reads the wall clock.  The same scenario, seed, day, zone and
scale give byte-identical messages.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
from collections import deque
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from wallboard.events import CHANNELS, PHASES
from wallboard.localday import LocalDays
from wallboard.simulator.arrivals import ArrivalStream, Customer, local_hours
from wallboard.simulator.encode import TOPICS, TimestampFormatter, json_text
from wallboard.simulator.noise import Noise, add_noise
from wallboard.simulator.output import SimEvent, write_events_file
from wallboard.simulator.roster import RosterAgent, build_roster
from wallboard.simulator.scenario import Scenario

__all__ = ["SimEvent", "Simulator", "write_events_file"]

log = logging.getLogger(__name__)

# Heap entry kinds.
_DAY, _ARRIVAL, _ABANDON, _CONNECT, _TALK_END, _WRAP_END, _LOGIN, _SHIFT_START, _SHIFT_END, _BREAK, _BREAK_END = range(
    11
)

# Internal agent states (the board only sees the five contract states).
_OFF, _BRIEFING, _IDLE, _RESERVED, _BUSY, _WRAP, _ON_BREAK = range(7)

# Interaction states.
_WAITING, _ROUTED, _ABANDONED = range(3)

_BREAK_GAP_MS = 15 * 60_000
"""At least this long between two breaks, and no break starts this close to the shift end."""


class _Interaction:
    __slots__ = ("agent", "customer", "key", "offered_ms", "state", "tail", "topic", "types")

    def __init__(
        self, key: bytes, tail: str, types: dict[str, str], topic: str, offered_ms: int, customer: Customer
    ) -> None:
        self.key = key
        self.tail = tail
        """The interaction's own JSON fields, pre-serialised: ,"interaction_id":...,"queue":..."""
        self.types = types
        self.topic = topic
        self.offered_ms = offered_ms
        self.customer = customer
        self.state = _WAITING
        self.agent: _Agent | None = None


class _Agent:
    __slots__ = (
        "break_due",
        "break_end_token",
        "break_token",
        "breaks_taken",
        "current",
        "group",
        "id_json",
        "key",
        "last_break_end",
        "logout_due",
        "next_slot",
        "overflow_waits",
        "pools",
        "primary_waits",
        "roster",
        "shift_end",
        "shift_no",
        "shift_start",
        "state",
        "tail",
    )

    def __init__(self, roster: RosterAgent) -> None:
        self.roster = roster
        self.key = roster.agent_id.encode()
        self.id_json = json_text(roster.agent_id)
        queues = ",".join(json_text(q) for q in roster.queues)
        self.tail = f',"queues":[{queues}],"name":{json_text(roster.name)},"team":{json_text(roster.team)}}}'
        self.group = roster.group
        self.state = _OFF
        self.shift_no = 0
        self.shift_start = 0
        self.shift_end = 0
        self.next_slot = 0
        self.last_break_end = -(1 << 62)
        self.break_due = False
        self.logout_due = False
        self.break_token = 0
        self.break_end_token = 0
        self.breaks_taken = 0
        self.current: _Interaction | None = None
        self.pools: list[dict[_Agent, None]] = []
        self.primary_waits: list[deque[_Interaction]] = []
        self.overflow_waits: list[deque[_Interaction]] = []


class _Login(NamedTuple):
    agent: _Agent
    start: int
    end: int


class Simulator:
    """One simulated day (or, with ``stream()``, the days that follow it) of a scenario.

    ``scale`` multiplies both demand and every staff group's headcount, so the
    service level stays roughly where the scenario puts it (slightly better at
    larger scale: bigger pools are more efficient).  bank-hotline gives about
    half a million messages a day at scale 1 (six per answered call: three
    interaction events, three agent states); a million-message benchmark day
    is ``scale=2.1``.

    ``noise`` (off by default) adds duplicates, late delivery and broken
    messages (see ``wallboard.simulator.noise``); with late delivery the
    iterator is in delivery order and no longer sorted by ``ts``.
    """

    def __init__(
        self, scenario: Scenario, *, seed: int, day: date, tz: ZoneInfo, scale: float = 1.0, noise: Noise | None = None
    ) -> None:
        if not scale > 0:
            raise ValueError(f"scale must be greater than 0, got {scale!r}")
        self.scenario = scenario
        self.seed = seed
        self.day = day
        self.tz = tz
        self.scale = scale
        self.noise = noise
        self.roster: tuple[RosterAgent, ...] = build_roster(scenario, scale)
        self._days = LocalDays(tz)
        self.start_ms, self.end_ms = self.day_bounds(day)

    def day_bounds(self, d: date) -> tuple[int, int]:
        """[start, end) of local day ``d`` in Unix ms; 23 or 25 hours on DST days."""
        return self._days.start_of(d) * 1000, self._days.start_of(d + timedelta(days=1)) * 1000

    def events(self, start_ms: int | None = None, end_ms: int | None = None) -> Iterator[SimEvent]:
        """The day's messages with ``start_ms <= ts < end_ms``, lazily, in non-decreasing ts order.

        Defaults: the day's local midnight to the next one.  The simulation
        always runs from midnight (the state at ``start_ms`` depends on what
        happened before it), so asking for the afternoon costs the morning's
        simulation too, but nothing is kept.  An ``end_ms`` past the day's end
        continues seamlessly into the next days (as ``stream()`` does).
        Interactions still in progress at ``end_ms`` are cut: their remaining
        events fall after the end.
        """
        start = self.start_ms if start_ms is None else start_ms
        end = self.end_ms if end_ms is None else end_ms
        return self._noisy(_Run(self).run(start, end))

    def stream(self, start_ms: int | None = None) -> Iterator[SimEvent]:
        """An endless stream from local midnight of ``day`` across the following midnights.

        One continuous simulation: interactions in flight at midnight complete
        on the new day, the night shift carries on, and the next day's arrivals
        and logins start at its midnight.  (Day D+1 here is therefore not
        byte-identical to a fresh ``Simulator(day=D+1)``, which starts empty.)
        """
        start = self.start_ms if start_ms is None else start_ms
        return self._noisy(_Run(self).run(start, 1 << 62))

    def _noisy(self, events: Iterator[SimEvent]) -> Iterator[SimEvent]:
        if self.noise is None:
            return events
        return add_noise(events, self.noise, random.Random(f"{self.seed}:{self.day.isoformat()}:noise"))


class _Run:
    """The mutable state of one pass of the simulation."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        scenario = sim.scenario
        self.scenario = scenario
        self.tz = sim.tz
        self.heap: list[tuple[int, int, int, object, int]] = []
        self.seq = itertools.count()
        self.out: list[SimEvent] = []
        self.ts = TimestampFormatter(sim.tz)
        self.n = 0
        self.prefix = f"{sim.seed}-{sim.day:%Y%m%d}-"
        self.iv_count = 0
        self.agent_rng = random.Random(f"{sim.seed}:{sim.day.isoformat()}:agents")
        policy = scenario.agents
        self.briefing_ms = int(policy.briefing_minutes * 60_000)
        self.break_ms = policy.break_minutes_per_hour * 60_000
        self.max_on_break = policy.max_on_break
        self.group_logged_in = [0] * len(scenario.staff)
        self.group_on_break = [0] * len(scenario.staff)
        self.shift_cache: dict[tuple[str, date], tuple[int, int, int]] = {}
        self.absence = policy.absence
        self.absent_cache: dict[date, list[bool]] = {}
        self.handlers: tuple[Callable[[int, object, int], None], ...] = (
            self.on_day,
            self.on_arrival,
            self.on_abandon,
            self.on_connect,
            self.on_talk_end,
            self.on_wrap_end,
            self.on_login,
            self.on_shift_start,
            self.on_shift_end,
            self.on_break,
            self.on_break_end,
        )
        self.types = {c: {p: f"{c}.{p}" for p in PHASES} for c in CHANNELS}
        # Routing: idle agents (insertion order = longest idle first) and waiting interactions per channel+queue.
        self.pools: dict[tuple[str, str], tuple[dict[_Agent, None], dict[_Agent, None]]] = {}
        self.waits: dict[tuple[str, str], deque[_Interaction]] = {}
        self.queue_json = {q: json_text(q) for q in scenario.queues}
        for channel in scenario.channels:
            for queue in scenario.queue_names(channel):
                self.pools[(channel, queue)] = ({}, {})
                self.waits[(channel, queue)] = deque()
        self.agents = [_Agent(r) for r in sim.roster]
        for agent in self.agents:
            r = agent.roster
            for channel in r.channels:
                for queue in r.queues:
                    route = (channel, queue)
                    primary, overflow = self.pools.setdefault(route, ({}, {}))
                    wait = self.waits.setdefault(route, deque())
                    if queue in r.primary:
                        agent.pools.append(primary)
                        agent.primary_waits.append(wait)
                    else:
                        agent.pools.append(overflow)
                        agent.overflow_waits.append(wait)

    # --- the loop ---------------------------------------------------------------

    def push(self, t: int, kind: int, obj: object, tag: int = 0) -> None:
        heapq.heappush(self.heap, (t, next(self.seq), kind, obj, tag))

    def run(self, start_ms: int, end_ms: int) -> Iterator[SimEvent]:
        t0 = self.sim.start_ms
        log.debug(
            "simulating %s from %s (seed %s, scale %s)", self.scenario.name, self.sim.day, self.sim.seed, self.sim.scale
        )
        self.start(t0)
        out = self.out
        if t0 >= start_ms and t0 < end_ms:
            yield from out
        out.clear()
        heap = self.heap
        pop = heapq.heappop
        handlers = self.handlers
        while heap:
            t, _, kind, obj, tag = heap[0]
            if t >= end_ms:
                break
            pop(heap)
            handlers[kind](t, obj, tag)
            if out:
                if t >= start_ms:
                    yield from out
                out.clear()

    # --- emitting messages ----------------------------------------------------------

    def emit_interaction(self, t: int, iv: _Interaction, phase: str, agent: _Agent | None = None) -> None:
        self.n += 1
        if agent is None:
            text = f'{{"type":"{iv.types[phase]}","event_id":"{self.prefix}{self.n}","ts":"{self.ts(t)}"{iv.tail}}}'
        else:
            text = (
                f'{{"type":"{iv.types[phase]}","event_id":"{self.prefix}{self.n}","ts":"{self.ts(t)}"{iv.tail}'
                f',"agent_id":{agent.id_json}}}'
            )
        self.out.append(SimEvent(t, iv.key, text.encode(), iv.topic))

    def emit_agent(self, t: int, agent: _Agent, state: str) -> None:
        self.n += 1
        text = (
            f'{{"type":"agent.state","event_id":"{self.prefix}{self.n}","ts":"{self.ts(t)}",'
            f'"agent_id":{agent.id_json},"state":"{state}"{agent.tail}'
        )
        self.out.append(SimEvent(t, agent.key, text.encode(), "cc.agents"))

    # --- days and shifts ----------------------------------------------------------------

    def shift_times(self, r: RosterAgent, d: date) -> tuple[int, int, int]:
        """(login, start, end) in ms of ``r``'s shift starting on local date ``d``."""
        cache_key = (r.shift.name, d)
        times = self.shift_cache.get(cache_key)
        if times is None:
            minute = r.shift.start_minute
            local = datetime(d.year, d.month, d.day, minute // 60, minute % 60, tzinfo=self.tz)
            start = int(local.timestamp()) * 1000
            times = (start - self.briefing_ms, start, start + int(r.shift.hours * 3_600_000))
            if len(self.shift_cache) > 256:
                self.shift_cache.clear()
            self.shift_cache[cache_key] = times
        return times

    def works(self, agent: _Agent, d: date) -> bool:
        """On the rota for the shift starting on ``d`` and not absent that day."""
        if not agent.roster.on_duty(d):
            return False
        if not self.absence:
            return True
        absent = self.absent_cache.get(d)
        if absent is None:
            rng = random.Random(f"{self.sim.seed}:{d.isoformat()}:absence")
            absent = [rng.random() < self.absence for _ in self.agents]
            if len(self.absent_cache) > 8:
                self.absent_cache.clear()
            self.absent_cache[d] = absent
        return not absent[agent.roster.index]

    def start(self, t0: int) -> None:
        """The state at the first midnight: who is mid-shift (the night shift), then the roll call."""
        day = self.sim.day
        roll_call = self.scenario.agents.roll_call
        for agent in self.agents:
            r = agent.roster
            shift: tuple[int, int, int] | None = None
            for d in (day - timedelta(days=1), day):
                if self.works(agent, d):
                    login, start, end = self.shift_times(r, d)
                    if login < t0 < end:
                        shift = (login, start, end)
            if shift is not None:
                self.log_in(t0, agent, shift[1], shift[2])
            elif roll_call:
                self.emit_agent(t0, agent, "offline")
        self.push(t0, _DAY, day)

    def on_day(self, t: int, obj: object, tag: int) -> None:
        """Local midnight: start the day's arrival streams and schedule the logins that fall on it."""
        assert isinstance(obj, date)
        d = obj
        sim = self.sim
        day_start, day_end = sim.day_bounds(d)
        hours = local_hours(day_start, day_end, self.tz)
        for channel in self.scenario.channels:
            for queue in self.scenario.queue_names(channel):
                rng = random.Random(f"{sim.seed}:{d.isoformat()}:{channel}:{queue}")
                stream = ArrivalStream(self.scenario, channel, queue, d, day_start, day_end, hours, sim.scale, rng)
                first = stream.next_arrival()
                if first is not None:
                    self.push(first, _ARRIVAL, stream)
        for agent in self.agents:
            r = agent.roster
            for sd in (d, d + timedelta(days=1)):
                if self.works(agent, sd):
                    login, start, end = self.shift_times(r, sd)
                    if day_start <= login < day_end and login >= t:
                        self.push(login, _LOGIN, _Login(agent, start, end))
        self.push(day_end, _DAY, d + timedelta(days=1))

    def on_login(self, t: int, obj: object, tag: int) -> None:
        assert isinstance(obj, _Login)
        self.log_in(t, obj.agent, obj.start, obj.end)

    def log_in(self, t: int, agent: _Agent, start: int, end: int) -> None:
        agent.shift_no += 1
        agent.shift_start = start
        agent.shift_end = end
        agent.logout_due = False
        if agent.state != _OFF:
            # Still finishing the previous shift's last interaction: carry on into the new shift.
            self.push(end, _SHIFT_END, agent, agent.shift_no)
            return
        self.group_logged_in[agent.group] += 1
        self.push(end, _SHIFT_END, agent, agent.shift_no)
        if t < start:
            agent.state = _BRIEFING
            self.emit_agent(t, agent, "break")
            self.push(start, _SHIFT_START, agent, agent.shift_no)
        else:
            agent.next_slot = -(-(t - start) // 3_600_000)
            self.schedule_break(t, agent)
            self.become_available(t, agent)

    def on_shift_start(self, t: int, obj: object, tag: int) -> None:
        agent = obj
        assert isinstance(agent, _Agent)
        if tag != agent.shift_no or agent.state != _BRIEFING:
            return
        agent.next_slot = 0
        self.schedule_break(t, agent)
        self.become_available(t, agent)

    def on_shift_end(self, t: int, obj: object, tag: int) -> None:
        agent = obj
        assert isinstance(agent, _Agent)
        if tag != agent.shift_no or agent.state == _OFF:
            return
        agent.logout_due = True
        if agent.state == _IDLE:
            self.leave_pools(agent)
            self.log_off(t, agent)
        elif agent.state == _ON_BREAK:
            self.group_on_break[agent.group] -= 1
            agent.break_end_token += 1
            self.log_off(t, agent)
        elif agent.state == _BRIEFING:
            self.log_off(t, agent)
        # Reserved, busy or in wrap-up: logs off when the interaction completes (free()).

    def log_off(self, t: int, agent: _Agent) -> None:
        agent.state = _OFF
        agent.break_due = False
        agent.logout_due = False
        self.group_logged_in[agent.group] -= 1
        self.emit_agent(t, agent, "offline")

    # --- breaks ---------------------------------------------------------------------------

    def schedule_break(self, t: int, agent: _Agent) -> None:
        """The next break: once per hour of the shift, at a random minute, never back to back."""
        if self.break_ms <= 0:
            return
        rng = self.agent_rng
        while True:
            slot_start = agent.shift_start + agent.next_slot * 3_600_000
            if slot_start >= agent.shift_end:
                return
            agent.next_slot += 1
            at = max(slot_start + rng.randint(300_000, 2_700_000), agent.last_break_end + _BREAK_GAP_MS, t)
            if at < agent.shift_end - _BREAK_GAP_MS:
                agent.break_token += 1
                self.push(at, _BREAK, agent, agent.break_token)
                return

    def on_break(self, t: int, obj: object, tag: int) -> None:
        agent = obj
        assert isinstance(agent, _Agent)
        if tag != agent.break_token or agent.state in (_OFF, _BRIEFING, _ON_BREAK):
            return
        agent.break_due = True
        if agent.state == _IDLE:
            if self.break_allowed(agent):
                self.leave_pools(agent)
                self.start_break(t, agent)
            else:
                self.retry_break(t, agent)
        # Otherwise the break starts when the current interaction completes (free()).

    def break_allowed(self, agent: _Agent) -> bool:
        g = agent.group
        return self.group_on_break[g] < max(1, int(self.max_on_break * self.group_logged_in[g]))

    def retry_break(self, t: int, agent: _Agent) -> None:
        """Too many colleagues are out: wait for one to come back (the rotation of the source document)."""
        agent.break_token += 1
        self.push(t + self.agent_rng.randint(60_000, 180_000), _BREAK, agent, agent.break_token)

    def start_break(self, t: int, agent: _Agent) -> None:
        agent.break_due = False
        agent.state = _ON_BREAK
        self.group_on_break[agent.group] += 1
        self.emit_agent(t, agent, "break")
        agent.break_end_token += 1
        self.push(t + int(self.break_ms * self.agent_rng.uniform(0.6, 1.4)), _BREAK_END, agent, agent.break_end_token)

    def on_break_end(self, t: int, obj: object, tag: int) -> None:
        agent = obj
        assert isinstance(agent, _Agent)
        if tag != agent.break_end_token or agent.state != _ON_BREAK:
            return
        self.group_on_break[agent.group] -= 1
        agent.last_break_end = t
        agent.breaks_taken += 1
        self.schedule_break(t, agent)
        self.become_available(t, agent)

    # --- routing ------------------------------------------------------------------------

    def leave_pools(self, agent: _Agent) -> None:
        for pool in agent.pools:
            del pool[agent]

    def become_available(self, t: int, agent: _Agent) -> None:
        """Emit available, then take the longest-waiting interaction of the agent's queues, or go idle."""
        agent.state = _IDLE
        self.emit_agent(t, agent, "available")
        best: _Interaction | None = None
        best_wait: deque[_Interaction] | None = None
        for waits in (agent.primary_waits, agent.overflow_waits):
            for wait in waits:
                while wait and wait[0].state != _WAITING:
                    wait.popleft()
                if wait and (best is None or wait[0].offered_ms < best.offered_ms):
                    best = wait[0]
                    best_wait = wait
            if best is not None:
                break
        if best is not None and best_wait is not None:
            best_wait.popleft()
            self.assign(t, agent, best)
        else:
            for pool in agent.pools:
                pool[agent] = None

    def free(self, t: int, agent: _Agent) -> None:
        """The agent completed an interaction: log off, take a due break, or become available."""
        agent.current = None
        if agent.logout_due or t >= agent.shift_end:
            self.log_off(t, agent)
        elif agent.break_due:
            if self.break_allowed(agent):
                self.start_break(t, agent)
            else:
                self.retry_break(t, agent)
                self.become_available(t, agent)
        else:
            self.become_available(t, agent)

    def assign(self, t: int, agent: _Agent, iv: _Interaction) -> None:
        """Route ``iv`` to ``agent``: a call rings at the agent (who shows available until answering);
        an SMS agent is busy from picking it up, and it counts as answered when the first reply is sent."""
        iv.state = _ROUTED
        iv.agent = agent
        agent.current = iv
        if iv.topic == "cc.sms":
            agent.state = _BUSY
            self.emit_agent(t, agent, "busy")
        else:
            agent.state = _RESERVED
        self.push(t + iv.customer.connect_ms, _CONNECT, iv)

    def on_arrival(self, t: int, obj: object, tag: int) -> None:
        stream = obj
        assert isinstance(stream, ArrivalStream)
        self.iv_count += 1
        channel = stream.channel
        iid = f"{self.prefix}{channel[0]}{self.iv_count}"  # c1, s2...: ids are unique per channel (events.md)
        iv = _Interaction(
            iid.encode(),
            f',"interaction_id":"{iid}","queue":{self.queue_json[stream.queue]}',
            self.types[channel],
            TOPICS[channel],
            t,
            stream.customer(),
        )
        self.emit_interaction(t, iv, "offered")
        primary, overflow = self.pools[(channel, stream.queue)]
        if primary:
            agent = next(iter(primary))
        elif overflow:
            agent = next(iter(overflow))
        else:
            self.waits[(channel, stream.queue)].append(iv)
            self.push(t + iv.customer.patience_ms, _ABANDON, iv)
            agent = None
        if agent is not None:
            self.leave_pools(agent)
            self.assign(t, agent, iv)
        following = stream.next_arrival()
        if following is not None:
            self.push(following, _ARRIVAL, stream)

    def on_abandon(self, t: int, obj: object, tag: int) -> None:
        iv = obj
        assert isinstance(iv, _Interaction)
        if iv.state != _WAITING:
            return
        iv.state = _ABANDONED
        self.emit_interaction(t, iv, "abandoned")

    def on_connect(self, t: int, obj: object, tag: int) -> None:
        iv = obj
        assert isinstance(iv, _Interaction) and iv.agent is not None
        agent = iv.agent
        self.emit_interaction(t, iv, "answered", agent)
        if agent.state == _RESERVED:
            agent.state = _BUSY
            self.emit_agent(t, agent, "busy")
        self.push(t + iv.customer.handle_ms, _TALK_END, iv)

    def on_talk_end(self, t: int, obj: object, tag: int) -> None:
        iv = obj
        assert isinstance(iv, _Interaction) and iv.agent is not None
        iv.agent.state = _WRAP
        self.emit_agent(t, iv.agent, "wrap_up")
        self.push(t + iv.customer.wrap_ms, _WRAP_END, iv)

    def on_wrap_end(self, t: int, obj: object, tag: int) -> None:
        iv = obj
        assert isinstance(iv, _Interaction) and iv.agent is not None
        self.emit_interaction(t, iv, "completed", iv.agent)
        self.free(t, iv.agent)

"""Limits benchmark: what a hostile producer can make a tick cost, against the bank's ordinary board.

    python bench/limits.py                  # baseline, the review's attack, and the board filled to the limits
    python bench/limits.py --queues 1000 --agents 10000 --per-agent 100   # other limits than the defaults
    python bench/limits.py --attack-only    # just the review's message (run it on a tree without the fix too)

Every figure is one live tick as the app runs it (``Live.tick``: advance the
engine, build every view a client watches, serialise each once, hand it to the
hub), with clients watching ``snapshot``, ``summary``, ``agents``,
``intraday`` and three selections: a supervisor page and TVs.  Each tick
follows one agent state change, so every view is rebuilt.  The clock is at
23:50 local time, so ``intraday`` carries the day's 96 intervals (its
largest).  Sizes are the messages' text, as sent to each client.

* baseline: the bank (1,400 agents, 15 queues, 3 queues per agent, short
  Chinese names), with a little traffic in every queue;
* attack: the baseline plus the security review's message, one valid
  ``agent.state`` listing 6,500 queue names (57 KB), sent through ``ingest``
  like a Kafka batch (with the limits it is rejected);
* at the limits: the most a producer can make the board hold: ``max_queues``
  queues with names of ``max_queue_name`` Chinese characters (6 bytes each
  once escaped), ``max_agents`` agents, each listing ``max_queues_per_agent``
  queues, with names and teams of the longest length allowed.

Ratios are to the baseline measured in the same run (these machines are shared
and noisy).  The push interval is 1 s: a tick must stay well under it.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import orjson

ROOT = Path(__file__).resolve().parent.parent
if os.environ.get("WALLBOARD_BENCH_INSTALLED") != "1":
    sys.path.insert(0, str(ROOT))

import wallboard  # noqa: E402
from wallboard.ingest import ingest  # noqa: E402
from wallboard.settings import Settings, parse_settings  # noqa: E402
from wallboard.sources.base import RawMessage  # noqa: E402
from wallboard.sources.memory import ListSource  # noqa: E402
from wallboard.web.live import Live  # noqa: E402
from wallboard.web.metrics import WebMetrics  # noqa: E402

TZ = "Asia/Shanghai"
NOW = int(datetime(2026, 11, 27, 23, 50, tzinfo=ZoneInfo(TZ)).timestamp())
VIEWS = ("snapshot", "summary", "agents", "intraday")
HAN = [chr(0x4E00 + i) for i in range(0x5000)]  # CJK unified ideographs: 6 bytes each once JSON-escaped


def han_name(i: int, length: int) -> str:
    """A distinct Chinese name of exactly ``length`` characters (``i`` written in base 20,480 ideographs)."""
    digits = []
    while True:
        i, d = divmod(i, len(HAN))
        digits.append(HAN[d])
        if not i:
            break
    return ("队" * length + "".join(digits))[-length:]


class Feed:
    """Raw messages as a producer writes them (so that they take the contract's path, limits included)."""

    def __init__(self) -> None:
        self.n = 0

    def _id(self) -> str:
        self.n += 1
        return f"e{self.n}"

    def agent(self, agent_id: str, state: str, queues: list[str], name: str, team: str, ts_s: int) -> bytes:
        return orjson.dumps(
            {
                "type": "agent.state",
                "event_id": self._id(),
                "ts": ts_s * 1000,
                "agent_id": agent_id,
                "state": state,
                "queues": queues,
                "name": name,
                "team": team,
            }
        )

    def call(self, kind: str, iid: str, queue: str, ts_s: int, agent: str | None = None) -> bytes:
        body = {"type": kind, "event_id": self._id(), "ts": ts_s * 1000, "interaction_id": iid, "queue": queue}
        if agent is not None:
            body["agent_id"] = agent
        return orjson.dumps(body)

    def traffic(self, queues: list[str], agent: str) -> Iterator[bytes]:
        """In each queue and channel: one call answered and completed, one still waiting."""
        for q, queue in enumerate(queues):
            for ch in ("call", "sms"):
                iid = f"{ch}-{q}"
                yield self.call(f"{ch}.offered", iid, queue, NOW - 600)
                yield self.call(f"{ch}.answered", iid, queue, NOW - 590, agent)
                yield self.call(f"{ch}.completed", iid, queue, NOW - 400, agent)
                yield self.call(f"{ch}.offered", iid + "-w", queue, NOW - 30)

    def roster(self, agents: int, queues: list[str], per_agent: int, name_len: int, team_len: int) -> Iterator[bytes]:
        for a in range(agents):
            served = [queues[(a + k) % len(queues)] for k in range(min(per_agent, len(queues)))]
            yield self.agent(
                f"A{a:05d}", "available", served, han_name(a, name_len), han_name(a % 40, team_len), NOW - 3600
            )


def board_settings(limits: dict[str, int] | None) -> Settings:
    tree: dict[str, object] = {"timezone": TZ}
    if limits:
        tree["limits"] = limits
    return parse_settings(tree, environ={})


def has_limits() -> bool:
    """False on a tree from before the limits (to measure the attack there)."""
    return "limits" in {f.name for f in dataclasses.fields(board_settings(None).metrics)}


async def measure(settings: Settings, batches: list[list[bytes]], ticks: int) -> dict[str, float]:
    """Feed the batches through ``ingest``, then time ``ticks`` live ticks with every view watched."""
    live = Live(settings, ListSource(), clock=lambda: float(NOW), metrics=WebMetrics())
    rejected: dict[str, int] = {}
    started = time.perf_counter()
    for batch in batches:
        for r in ingest(live.engine, [RawMessage(m) for m in batch]).rejected:
            rejected[r.reason] = rejected.get(r.reason, 0) + 1
    ingest_s = time.perf_counter() - started
    queues = list(live.engine.snapshot()["queues"])
    selections = [tuple(queues[:1]), tuple(queues[:3]), tuple(queues[-2:])]
    feed = Feed()
    feed.n = 10**9
    durations = []
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(live.hub.subscribe(VIEWS))
        for sel in selections:
            await stack.enter_async_context(live.hub.subscribe(("selection",), selection=sel))
        live.tick()  # the first build (caches warm)
        for i in range(ticks):
            state = ("busy", "available")[i % 2]
            ingest(live.engine, [RawMessage(feed.agent("A00000", state, queues[:1], "张伟", "一组", NOW - 60 + i))])
            gc.collect()
            t0 = time.perf_counter()
            live.tick()
            durations.append(time.perf_counter() - t0)
    sizes = {view: len(live._current[(view, ())][1].text) for view in VIEWS}
    sizes["selection"] = max(len(live._current[("selection", s)][1].text) for s in selections)
    status = live.engine.status()
    return {
        "tick_median_ms": statistics.median(durations) * 1000,
        "tick_max_ms": max(durations) * 1000,
        "ingest_s": ingest_s,
        "queues": len(queues),
        "agents": len(live.engine.agents()["agents"]),
        "held_agent_events": status["held_agent_events"],
        **{f"{view}_bytes": float(n) for view, n in sizes.items()},
        "rejected": rejected,  # type: ignore[dict-item]
    }


def baseline_batches(feed: Feed) -> list[list[bytes]]:
    queues = [han_name(q, 4) for q in range(15)]
    return [list(feed.roster(1400, queues, 3, 3, 4)), list(feed.traffic(queues, "A00001"))]


def attack_message(feed: Feed) -> bytes:
    """The security review's message: one valid agent.state with 6,500 queue names, under 64 KiB."""
    queues = [f"q{i}" for i in range(6500)]
    raw = feed.agent("X1", "available", queues, "x", "x", NOW - 100)
    assert len(raw) < 64 * 1024, len(raw)
    return raw


def show(label: str, fig: dict[str, float], base: dict[str, float] | None) -> None:
    def ratio(key: str) -> str:
        return f" ({fig[key] / base[key]:.1f}x)" if base and base[key] else ""

    print(f"\n{label}: {fig['queues']} queues, {fig['agents']} agents; ingest {fig['ingest_s']:.2f} s")
    if fig["rejected"]:
        print(f"  rejected: {fig['rejected']}")
    print(f"  tick: median {fig['tick_median_ms']:.1f} ms{ratio('tick_median_ms')}, max {fig['tick_max_ms']:.1f} ms")
    for view in (*VIEWS, "selection"):
        key = f"{view}_bytes"
        print(f"  {view:<9} {fig[key] / 1e6:9.3f} MB{ratio(key)}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ticks", type=int, default=5)
    p.add_argument("--attack-only", action="store_true")
    p.add_argument("--queues", type=int, help="max_queues (default: the setting's default)")
    p.add_argument("--agents", type=int, help="max_agents")
    p.add_argument("--per-agent", type=int, help="max_queues_per_agent")
    args = p.parse_args()

    limited = has_limits()
    print(f"wallboard {wallboard.__version__}, {wallboard.build()}; limits {'on' if limited else 'absent (old tree)'}")
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs")
    over = {
        k: v
        for k, v in {
            "max_queues": args.queues,
            "max_agents": args.agents,
            "max_queues_per_agent": args.per_agent,
        }.items()
        if v is not None
    }
    settings = board_settings(over if limited else None)

    feed = Feed()
    base = asyncio.run(measure(settings, baseline_batches(feed), args.ticks))
    show("baseline (the bank)", base, None)
    attack = asyncio.run(measure(settings, [*baseline_batches(feed), [attack_message(feed)]], args.ticks))
    show("attack (one 6,500-queue agent.state)", attack, base)
    if args.attack_only:
        return

    if limited:
        lim = settings.metrics.limits  # type: ignore[attr-defined]
    else:  # a tree without limits: fill it as far as the arguments say (what the limits would allow)
        lim = SimpleNamespace(
            max_queues=args.queues or 500,
            max_agents=args.agents or 5000,
            max_queues_per_agent=args.per_agent or 50,
            max_queue_name=64,
            max_agent_name=128,
            max_team_name=128,
        )
    feed = Feed()
    extra = max(0, lim.max_queues - len(settings.metrics.queues))
    queues = [han_name(q, lim.max_queue_name) for q in range(extra)]
    agents = lim.max_agents
    batches = [
        list(feed.roster(agents, queues, lim.max_queues_per_agent, lim.max_agent_name, lim.max_team_name)),
        list(feed.traffic(queues, "A00001")),
    ]
    full = asyncio.run(measure(settings, batches, args.ticks))
    show(
        f"at the limits (max_queues {lim.max_queues}, max_agents {lim.max_agents}, "
        f"max_queues_per_agent {lim.max_queues_per_agent}, names {lim.max_queue_name}/{lim.max_agent_name}/"
        f"{lim.max_team_name} chars)",
        full,
        base,
    )


if __name__ == "__main__":
    main()

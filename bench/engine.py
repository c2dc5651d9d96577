"""Engine benchmark: parse + apply throughput, snapshot time, peak memory, on a generated day.

    python bench/engine.py                      # bank-hotline scaled to >= 1,000,000 events
    python bench/engine.py --scale 1 --quick    # a smaller day, fewer repetitions
    WALLBOARD_BENCH_INSTALLED=1 python bench/engine.py   # the installed wallboard (pip install .: compiled)

Goals (issue "Foundation"): >= 250,000 events/s parse+apply on one core, snapshot
< 5 ms with 50 queues, peak memory < 200 MB for the 1M-event day.  These
machines are noisy, so every throughput is also printed as a ratio to a
baseline measured in the same run: bare ``orjson.loads`` of the same messages.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import zlib
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson

ROOT = Path(__file__).resolve().parent.parent
if os.environ.get("WALLBOARD_BENCH_INSTALLED") != "1":  # else: the installed wallboard (e.g. the compiled wheel)
    sys.path.insert(0, str(ROOT))

from wallboard.engine import Engine  # noqa: E402
from wallboard.events import Event, InteractionEvent, parse  # noqa: E402
from wallboard.settings import parse_settings  # noqa: E402

DATA = ROOT / "bench" / ".data"
ZONE = "Asia/Shanghai"
DAY = date(2026, 11, 27)


def day_file(scenario: str, seed: int, scale: float) -> Path:
    """The generated day as raw messages, one per line, in arrival (ts) order; cached between runs."""
    from wallboard.simulator import Simulator, load_scenario

    path = DATA / f"{scenario}-{seed}-{scale}-{DAY}.jsonl"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    sim = Simulator(load_scenario(scenario), seed=seed, day=DAY, tz=ZoneInfo(ZONE), scale=scale)
    tmp = path.with_suffix(".tmp")
    started = time.perf_counter()
    with tmp.open("wb") as fh:
        for ev in sim.events():
            fh.write(ev.value + b"\n")
    tmp.rename(path)
    print(f"generated {path.name} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return path


def settings() -> object:
    return parse_settings({"timezone": ZONE}, environ={}).metrics


def run_live(lines: list[bytes], metrics: object) -> Engine:
    """The live path: parse each message, apply it, advance the clock once per new second of event time."""
    first = parse(lines[0]).ts_ms // 1000
    engine = Engine(metrics, first)  # type: ignore[arg-type]
    now = first
    apply, advance = engine.apply, engine.advance
    for raw in lines:
        event = parse(raw)
        second = event.ts_ms // 1000
        if second > now:
            advance(second)
            now = second
        apply(event)
    return engine


def best_rate(n: int, fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return n / min(times)


def feed_live(events: Iterable[Event], metrics: object) -> Engine | None:
    """Apply events in arrival order, the clock advanced once per new second of event time (as run_live,
    which stays inlined: it is the path measured); None for no events."""
    engine = None
    now = 0
    for event in events:
        second = event.ts_ms // 1000
        if engine is None:
            engine = Engine(metrics, second)  # type: ignore[arg-type]
            now = second
        elif second > now:
            engine.advance(second)
            now = second
        engine.apply(event)
    return engine


def fifty_queue_engine(lines: list[bytes], metrics: object) -> Engine:
    """The same day with its interactions spread over 50 queues (stable hash of the interaction id)."""

    def spread(event: Event) -> Event:
        if isinstance(event, InteractionEvent):
            return event._replace(queue=f"queue-{zlib.crc32(event.interaction_id.encode()) % 50:02d}")
        q = zlib.crc32(event.agent_id.encode()) % 50
        return event._replace(queues=tuple(f"queue-{(q + i) % 50:02d}" for i in range(3)))

    engine = feed_live((spread(parse(raw)) for raw in lines), metrics)
    assert engine is not None
    return engine


def time_call(fn: object, repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def _high_water_kb() -> int:
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec() from the forking parent.
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def memory_child(path: str) -> None:
    """Run in a fresh process: stream the file through parse + apply and report peak RSS."""
    metrics = settings()
    base = _high_water_kb()
    with open(path, "rb") as fh:
        engine = feed_live((parse(line.rstrip(b"\n")) for line in fh), metrics)
    peak = _high_water_kb()
    held = engine.status()["held_interactions"] if engine else 0
    print(json.dumps({"peak_rss_mb": peak / 1024, "baseline_rss_mb": base / 1024, "held_interactions": held}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", default="bank-hotline")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=float, default=2.0)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.memory_child:
        memory_child(args.memory_child)
        return

    path = day_file(args.scenario, args.seed, args.scale)
    lines = path.read_bytes().splitlines()
    n = len(lines)
    repeat = 1 if args.quick else 3
    metrics = settings()
    import wallboard

    print(
        f"day: {path.name}: {n:,} events ({path.stat().st_size / 1e6:.0f} MB); engine {wallboard.build()} "
        f"({Path(wallboard.__file__).parent})"
    )

    def decode_only() -> None:
        loads = orjson.loads
        for x in lines:
            loads(x)

    def parse_all() -> None:
        for x in lines:
            parse(x)

    baseline = best_rate(n, decode_only, repeat)
    parse_only = best_rate(n, parse_all, repeat)
    live = best_rate(n, lambda: run_live(lines, metrics), repeat)
    from wallboard.web.gc_schedule import scheduled_gc

    with scheduled_gc():  # the collector settings the app runs with
        live_app_gc = best_rate(n, lambda: run_live(lines, metrics), repeat)

    engine = fifty_queue_engine(lines, metrics)
    snap = engine.snapshot()
    queues = len(snap["queues"])
    snap_med, snap_p99 = time_call(engine.snapshot, 200)
    ser_med, _ = time_call(lambda: orjson.dumps(engine.snapshot()), 100)
    agents_med, _ = time_call(engine.agents, 20)
    intraday_med, _ = time_call(engine.intraday, 20)

    child = subprocess.run(
        [sys.executable, __file__, "--memory-child", str(path)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    mem = json.loads(child.stdout)

    rows = [
        ("baseline: orjson.loads only", f"{baseline:,.0f} ev/s", "1.00"),
        ("parse (contract)", f"{parse_only:,.0f} ev/s", f"{parse_only / baseline:.3f}"),
        ("parse + apply (live path), CPython's default gc", f"{live:,.0f} ev/s", f"{live / baseline:.3f}"),
        (
            "parse + apply (live path), the app's gc settings",
            f"{live_app_gc:,.0f} ev/s",
            f"{live_app_gc / baseline:.3f}",
        ),
        (f"snapshot, {queues} queues: median / p99", f"{snap_med:.2f} / {snap_p99:.2f} ms", ""),
        ("snapshot + orjson.dumps: median", f"{ser_med:.2f} ms", ""),
        (f"agents view ({len(engine.agents()['agents'])} agents): median", f"{agents_med:.2f} ms", ""),
        ("intraday view: median", f"{intraday_med:.2f} ms", ""),
        (
            "peak RSS, streaming the day (baseline)",
            f"{mem['peak_rss_mb']:.0f} MB ({mem['baseline_rss_mb']:.0f} MB)",
            "",
        ),
        ("interactions held at end of day", f"{mem['held_interactions']:,}", ""),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  {'value':>24}  ratio to baseline")
    for name, value, ratio in rows:
        print(f"{name:<{width}}  {value:>24}  {ratio}")
    print(
        json.dumps(
            {
                "build": wallboard.build(),
                "events": n,
                "baseline_eps": round(baseline),
                "parse_eps": round(parse_only),
                "parse_apply_eps": round(live),
                "parse_apply_app_gc_eps": round(live_app_gc),
                "snapshot_ms_median": round(snap_med, 3),
                "snapshot_ms_p99": round(snap_p99, 3),
                "peak_rss_mb": round(mem["peak_rss_mb"]),
            }
        )
    )


if __name__ == "__main__":
    main()

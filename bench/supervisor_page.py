"""The supervisor page in headless Chromium, against a live demo board: bytes, long tasks, main thread, fps.

    python bench/supervisor_page.py                         # the bank (1,400 agents), 30 s
    python bench/supervisor_page.py --agents 14000          # the bank scaled 10x (staff and traffic)
    python bench/supervisor_page.py --url http://127.0.0.1:8080/   # a board already running

A board (``wallboard demo``, the simulator's bank-hotline scenario at real speed, scaled to ``--agents``)
is started in a subprocess on 127.0.0.1 and, once it has caught up (``/readyz`` 200), one Chromium page
opens ``/supervisor`` at 1600x1000.  After ``--warmup`` seconds, measured over ``--duration`` seconds
of steady state:

* WebSocket bytes received per second (CDP ``Network.webSocketFrameReceived``: the frames' text,
  ASCII, so characters = bytes), in all and per message type;
* long tasks (``PerformanceObserver`` 'longtask', over 50 ms): count, p95 and longest;
* main-thread busy fraction: CDP ``Performance.getMetrics`` ``TaskDuration`` delta / wall time;
* the DOM's size (rows in the agent table) and the JS heap;

then, for ``--scroll`` seconds, the agent table is scrolled programmatically (down and back, a step per
animation frame) while the pushes go on, with the CDP Network and Performance domains off again:
frames per second (``requestAnimationFrame`` count) and the long tasks in that time.  Headless
Chromium paints at 60 Hz at most: 60 fps is the ceiling.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.servers import AppProcess, answers  # noqa: E402

BANK_AGENTS = 1400
CHROMIUM = os.environ.get("WALLBOARD_CHROMIUM", "/usr/bin/chromium")

OBSERVER = """
window.__longtasks = [];
try {
  new PerformanceObserver(function (list) {
    list.getEntries().forEach(function (e) { window.__longtasks.push([e.startTime, e.duration]); });
  }).observe({ type: "longtask", buffered: true });
} catch (e) { /* no longtask support */ }
"""

SCROLL = """
async (seconds) => {
  const wrap = document.querySelector(".agents-wrap");
  const frames = [];
  const end = performance.now() + seconds * 1000;
  let dir = 1;
  await new Promise((resolve) => {
    function step(t) {
      frames.push(t);
      const max = wrap.scrollHeight - wrap.clientHeight;
      let next = wrap.scrollTop + dir * 40;
      if (next >= max) { next = max; dir = -1; }
      if (next <= 0) { next = 0; dir = 1; }
      wrap.scrollTop = next;
      if (t < end) requestAnimationFrame(step); else resolve();
    }
    requestAnimationFrame(step);
  });
  const gaps = frames.slice(1).map((t, i) => t - frames[i]);
  return { frames: frames.length, seconds: (frames[frames.length - 1] - frames[0]) / 1000,
           worst_frame_ms: Math.max(...gaps), start: frames[0], end: frames[frames.length - 1] };
}
"""


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def long_tasks(entries: list[list[float]], start: float, end: float) -> dict[str, Any]:
    durations = [d for t, d in entries if start <= t < end]
    return {
        "count": len(durations),
        "p95_ms": round(pct(durations, 0.95), 1),
        "max_ms": round(max(durations, default=0.0), 1),
    }


def measure(url: str, args: argparse.Namespace) -> dict[str, Any]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        ctx = browser.new_context(viewport={"width": 1600, "height": 1000}, locale="en-US")
        page = ctx.new_page()
        page.add_init_script(OBSERVER)
        cdp = ctx.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Performance.enable")
        frames: list[tuple[float, int, str]] = []

        # Playwright's sync API delivers the CDP events only inside its calls: frames are counted between
        # two calls (each delivers every event before it), not by the time they are delivered at.
        def on_frame(ev: dict[str, Any]) -> None:
            data = ev["response"]["payloadData"]
            kind = data[9:40].split('"', 1)[0] if data.startswith('{"type":"') else "?"
            frames.append((0.0, len(data), kind))

        cdp.on("Network.webSocketFrameReceived", on_frame)
        sent: list[str] = []
        cdp.on("Network.webSocketFrameSent", lambda ev: sent.append(ev["response"]["payloadData"]))
        page.goto(url + "supervisor")
        page.wait_for_function(
            "() => document.querySelectorAll('#agent-table tbody tr').length > 0", timeout=args.timeout * 1000
        )
        time.sleep(args.warmup)
        # Steady state starts after a data tick: the first one after a connect may still carry a full view.
        settle = time.monotonic() + 60
        first = len(frames)
        while time.monotonic() < settle and not any(k == "snapshot" for _, _, k in frames[first:]):
            page.wait_for_timeout(200)
        page.wait_for_timeout(500)

        def task_duration() -> float:
            metrics = cdp.send("Performance.getMetrics")["metrics"]
            return float(next(m["value"] for m in metrics if m["name"] == "TaskDuration"))

        busy0, js0 = task_duration(), page.evaluate("performance.now()")
        t0, n0, s0 = time.monotonic(), len(frames), len(sent)
        time.sleep(args.duration)
        busy1, js1 = task_duration(), page.evaluate("performance.now()")
        t1, n1, s1 = time.monotonic(), len(frames), len(sent)
        window = frames[n0:n1]
        by_type: dict[str, int] = {}
        count_by_type: dict[str, int] = {}
        for _, n, kind in window:
            by_type[kind] = by_type.get(kind, 0) + n
            count_by_type[kind] = count_by_type.get(kind, 0) + 1
        seconds = t1 - t0
        dom = page.evaluate(
            "() => ({rows: document.querySelectorAll('#agent-table tbody tr').length,"
            " nodes: document.getElementsByTagName('*').length,"
            " heap_mb: performance.memory ? performance.memory.usedJSHeapSize / 1048576 : null,"
            " shown: (document.getElementById('agents-count') || {}).textContent})"
        )
        steady = {
            "seconds": round(seconds, 1),
            "ws_bytes_per_s": round(sum(n for _, n, _ in window) / seconds),
            "ws_bytes_per_s_by_type": {k: round(v / seconds) for k, v in sorted(by_type.items())},
            "messages": dict(sorted(count_by_type.items())),
            "page_sent": sent[s0:s1],
            "longtasks": long_tasks(page.evaluate("window.__longtasks"), js0, js1),
            "main_thread_busy": round((busy1 - busy0) / seconds, 3),
            "dom": dom,
        }
        # The scroll is measured without the CDP domains the steady state needed (their bookkeeping costs
        # the page a share of each frame).
        cdp.send("Network.disable")
        cdp.send("Performance.disable")
        scroll = page.evaluate(SCROLL, args.scroll)
        scroll_result = {
            "fps": round(scroll["frames"] / scroll["seconds"], 1) if scroll["seconds"] else 0.0,
            "worst_frame_ms": round(scroll["worst_frame_ms"], 1),
            "longtasks": long_tasks(page.evaluate("window.__longtasks"), scroll["start"], scroll["end"]),
        }
        browser.close()
        return {"steady": steady, "scroll": scroll_result}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agents", type=int, default=BANK_AGENTS, help="agents: the bank scaled to this staff")
    ap.add_argument("--duration", type=float, default=30.0, help="seconds of steady state measured")
    ap.add_argument("--warmup", type=float, default=10.0, help="seconds after the first rows before measuring")
    ap.add_argument("--scroll", type=float, default=10.0, help="seconds of scrolling the agent table")
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds for the board to catch up")
    ap.add_argument("--url", help="measure a board already running here instead of starting one")
    ap.add_argument("--env", action="append", default=[], help="NAME=VALUE for the board (repeatable)")
    args = ap.parse_args()
    scale = args.agents / BANK_AGENTS
    env = dict(item.partition("=")[::2] for item in args.env)
    if args.agents > 5000:
        env.setdefault("WALLBOARD_LIMITS__MAX_AGENTS", str(max(20000, 2 * args.agents)))
    header = {"agents": args.agents, "scale": round(scale, 3), "loadavg": os.getloadavg()}
    if args.url:
        print(json.dumps({**header, **measure(args.url.rstrip("/") + "/", args)}, indent=2))
        return
    server = AppProcess.wallboard(
        "demo", "--scale", f"{scale:g}", ready=answers("/readyz"), timeout_s=args.timeout, env=env
    )
    with server:
        result = measure(server.url.rstrip("/") + "/", args)
    print(json.dumps({**header, **result}, indent=2))


if __name__ == "__main__":
    main()

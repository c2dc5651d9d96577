"""Take the screenshots of docs/ from a simulator-fed board: the TV at 1080p and 4K and the supervisor page
(1920 wide, the whole page), in English and Chinese: docs/screenshots/tv-{en,zh-CN}-{1080p,4k}.png and
supervisor-{en,zh-CN}.png; with the bank scenario, its named board /tv/centre too: tv-grid-{en,zh-CN}-1080p.png
(--grid-only: only those).

    python scripts/screenshots.py                     # the bank-hotline scenario at 09:05 today (Asia/Shanghai)
    python scripts/screenshots.py --at 15:10 --lang zh-CN --out /tmp/shots
    python scripts/screenshots.py --url http://127.0.0.1:8080   # or shoot a board that is already running

Without --url it runs the real app (``create_app``) in a subprocess (tests/servers.py), fed by the built-in
simulator (``SimulatorSource``) started at a fixed time of day, so the pictures show the morning
ramp (some tiles amber or red) whenever the script is run.  Needs the ``playwright`` Python
package and a Chromium (default /usr/bin/chromium, or --chromium PATH).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import AppProcess  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BANK_BOARDS = ROOT / "seeds" / "settings" / "bank-boards.toml"
"""The bank scenario's groups and named boards."""
BROADCAST = (
    "Team leads: storm warning for Shanghai — expect heavy call volume 14:00–17:00 · 台风预警：下午来电量将大幅增加"
)


def simulated_app(scenario: str, zone: str, at: str, seed: str) -> Any:
    """The real app fed by the simulator started today at ``at`` (HH:MM) in ``zone``: run in a subprocess."""
    from wallboard.settings import load_settings, parse_settings, with_overrides
    from wallboard.sources.simulated import SimulatorSource
    from wallboard.web.app import create_app

    tz = ZoneInfo(zone)
    hh, mm = (int(x) for x in at.split(":"))
    start = datetime.now(tz).replace(hour=hh, minute=mm, second=0, microsecond=0).timestamp()
    source = SimulatorSource(scenario, tz=tz, seed=int(seed), start_at=start)
    settings = parse_settings({"timezone": zone}, environ={})
    if scenario == "bank-hotline":  # its groups and named boards (/tv/centre: the grid's screenshot)
        settings = with_overrides(load_settings(BANK_BOARDS, environ={}), metrics={"timezone": zone})
    return create_app(settings, source, clock=source.clock)


def caught_up(server: AppProcess) -> bool:
    """The simulator has replayed the day up to its start time."""
    return bool(server.get("/api/snapshot")["source"]["ready"])


@contextlib.contextmanager
def simulated_board(scenario: str, zone: str, at: str, seed: int) -> Iterator[str]:
    """The real app fed by the simulator, in a subprocess, once it has replayed the day up to `at`."""
    with AppProcess.factory(
        "scripts.screenshots:simulated_app", scenario, zone, at, str(seed), ready=caught_up, timeout_s=300
    ) as server:
        yield server.url


def post_broadcast(url: str, text: str, token: str) -> None:
    req = urllib.request.Request(
        url + "/api/broadcast",
        data=json.dumps({"text": text}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=5):
        pass


TV_SIZES = (("1080p", 1920, 1080), ("4k", 3840, 2160))


def shoot(url: str, out: Path, langs: list[str], chromium: str, token: str, grid_only: bool = False) -> None:
    out.mkdir(parents=True, exist_ok=True)
    post_broadcast(url, BROADCAST, token)
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            for lang in langs:
                # The bank's named board /tv/centre (seeds/settings/bank-boards.toml): one row per group and queue.
                grid = browser.new_context(viewport={"width": 1920, "height": 1080}, locale=lang).new_page()
                if grid.goto(f"{url}/tv/centre?lang={lang}" + (f"&token={token}" if token else "")).ok:
                    grid.wait_for_function("() => document.body.dataset.state === 'fresh'", timeout=30_000)
                    grid.wait_for_timeout(5000)
                    written.append(out / f"tv-grid-{lang}-1080p.png")
                    grid.screenshot(path=str(written[-1]))
                grid.context.close()
                if grid_only:
                    continue
                ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, locale=lang)
                page = ctx.new_page()
                for name, width, height in TV_SIZES:
                    page.set_viewport_size({"width": width, "height": height})
                    # With a token the link signs the browser in (a cookie) and reloads without it (docs/security.md).
                    page.goto(f"{url}/tv?lang={lang}" + (f"&token={token}" if token else ""))
                    page.wait_for_function("() => document.body.dataset.state === 'fresh'", timeout=30_000)
                    page.wait_for_function(
                        "() => document.querySelector('#ticker').dataset.active === '1'", timeout=10_000
                    )
                    page.wait_for_timeout(5000)  # let the ticker scroll in far enough to be read
                    written.append(out / f"tv-{lang}-{name}.png")
                    page.screenshot(path=str(written[-1]))
                page.set_viewport_size({"width": 1920, "height": 1080})
                page.goto(f"{url}/supervisor?lang={lang}")
                page.wait_for_function("() => document.body.dataset.state === 'fresh'", timeout=30_000)
                page.wait_for_selector("#agent-table tbody tr")
                page.wait_for_selector("#intraday-chart canvas")
                page.wait_for_timeout(1500)
                written.append(out / f"supervisor-{lang}.png")
                page.screenshot(path=str(written[-1]), full_page=True)  # every section
                ctx.close()
        finally:
            browser.close()
    print("wrote " + ", ".join(str(w) for w in written))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="a running board to shoot, instead of starting a simulated one")
    ap.add_argument("--scenario", default="bank-hotline", help="simulator scenario (seeds/<name>.toml)")
    ap.add_argument("--timezone", default="Asia/Shanghai")
    ap.add_argument("--at", default="09:05", help="local time of day the simulated board shows (HH:MM, today)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    ap.add_argument("--lang", default="all", choices=["en", "zh-CN", "all"], help="all: both languages")
    ap.add_argument("--chromium", default=os.environ.get("WALLBOARD_CHROMIUM", "/usr/bin/chromium"))
    ap.add_argument("--token", default="", help="a supervisor token of the board ([auth.tokens], with --url)")
    ap.add_argument("--grid-only", action="store_true", help="only the named board /tv/centre (tv-grid-*.png)")
    args = ap.parse_args()
    langs = ["en", "zh-CN"] if args.lang == "all" else [args.lang]
    if args.url:
        shoot(args.url.rstrip("/"), Path(args.out), langs, args.chromium, args.token, args.grid_only)
        return
    with simulated_board(args.scenario, args.timezone, args.at, args.seed) as url:
        shoot(url, Path(args.out), langs, args.chromium, "", args.grid_only)


if __name__ == "__main__":
    main()

"""``create_app``: one engine, one source, one hub, wired into a Starlette app.  Wiring only.

The lifespan starts three tasks and stops them on shutdown:

* the pump: ``source.batches()`` -> ``ingest`` -> engine (wallboard/web/live.py);
* the tick: every ``push_interval``, advance the engine clock to ``clock()``
  and publish the changed views, serialised once, or a heartbeat.  Advancing on
  every tick is what rolls the day over at midnight when no event comes;
* the control reader: the records of what people set (the broadcast), from
  the Kafka control topic every instance shares (wallboard/control.py).

If the pump dies it is logged once, and from then on /readyz answers 503 and
every message says ``source.stale`` (reason ``pump_failed``): the board never
keeps showing old numbers as fresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.templating import Jinja2Templates

from wallboard.errors import SettingsError, SourceError
from wallboard.resources import static_dir
from wallboard.settings import Settings, exposure_problem
from wallboard.sources.base import EventSource
from wallboard.sources.control import ControlChannel
from wallboard.sources.election import SenderElection
from wallboard.web.auth import Authenticator
from wallboard.web.gc_schedule import scheduled_gc
from wallboard.web.guard import Guard
from wallboard.web.http_limits import BodyTimeout
from wallboard.web.live import Clock, Live
from wallboard.web.metrics import WebMetrics
from wallboard.web.routes import StaticUrls, http_error, make_templates, routes, server_error
from wallboard.web.watchdog import Watchdog

log = logging.getLogger(__name__)

HASHING_AT_ONCE = 2
"""Password checks run at the same time (argon2id: 64 MiB and most of a core each, ~0.1-0.3 s)."""


class State(TypedDict):
    """What every request and WebSocket sees as ``request.state``."""

    live: Live
    auth: Authenticator
    hashing: anyio.Semaphore
    templates: Jinja2Templates
    static_urls: StaticUrls


def create_app(
    settings: Settings,
    source: EventSource,
    *,
    clock: Clock = time.time,
    watchdog: Watchdog | None = None,
    control: ControlChannel | None = None,
    election: SenderElection | None = None,
) -> Starlette:
    """The web app over ``source``.

    ``clock`` gives the server's time in Unix seconds: ``time.time`` in
    production, the simulator's clock (``SimulatorSource.clock``) when it runs
    faster than real time, a controllable one in tests.  It drives the engine
    clock, ``server_time`` and staleness; the tick cadence itself is real time.
    ``control`` keeps what a person sets (the broadcast): the Kafka control
    topic shared by every instance, or by default this process's memory.
    ``election`` says whether this instance posts the alerts (one sender among
    several: wallboard/sources/election.py); alone by default.
    """
    problem = exposure_problem(settings)
    if problem is not None:
        raise SettingsError([problem])
    metrics = WebMetrics()
    live = Live(settings, source, clock=clock, metrics=metrics, watchdog=watchdog, control=control, election=election)
    metrics.watch(live)
    auth = Authenticator(settings.auth)  # sessions expire in real time, whatever the board's clock
    state: State = {
        "live": live,
        "auth": auth,
        "hashing": anyio.Semaphore(HASHING_AT_ONCE),
        "templates": make_templates(),
        "static_urls": StaticUrls(static_dir()),
    }

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        if watchdog is not None:
            watchdog.ready()
        live.tick()  # a snapshot exists before the first client connects
        with scheduled_gc():
            tasks = [
                asyncio.create_task(live.pump(), name="wallboard-pump"),
                asyncio.create_task(live.tick_loop(), name="wallboard-tick"),
                asyncio.create_task(live.control.run(live.on_control_record), name="wallboard-control"),
                asyncio.create_task(live.control_writer(), name="wallboard-control-writer"),
                asyncio.create_task(live.election.run(live.on_sender_change), name="wallboard-sender-election"),
            ]
            if live.webhooks is not None:
                tasks.append(asyncio.create_task(live.webhooks.run(), name="wallboard-webhooks"))
            log.info("wallboard web started: push every %g s, source %s", live.push_interval, source.status().kind)
            try:
                yield state
            finally:
                # Writers end first (clients get 1012 "server restarting"), then the tasks, then the source.
                if watchdog is not None:
                    watchdog.stopping()
                live.hub.close()
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    # The pump's own failure was logged when it happened; here it is only collected.
                    with contextlib.suppress(asyncio.CancelledError, SourceError):
                        await task
                await source.close()
                await live.control.close()
                log.info("wallboard web stopped")

    app = Starlette(
        routes=routes(),
        middleware=[Middleware(Guard, settings=settings, auth=auth)],
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
    # A request's body must come within [server] body_timeout (the head's limits are uvicorn's protocol's).
    app.add_middleware(BodyTimeout, seconds=settings.server.body_timeout)
    app.state.live = live  # for tests and benchmarks; requests use the lifespan state
    app.state.auth = auth
    return app

"""The garbage collector's settings while the app runs: fewer collections, the full ones between ticks.

``scheduled_gc()`` is entered by the app's lifespan (and by bench/ to measure
what the app runs with); the tick loop (``Live.tick_loop``) runs a full
collection half-way between two ticks every ``FULL_GC_EVERY_S``.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

YOUNG_GC_THRESHOLD = 200_000
"""Allocations between two collections of the youngest generation (CPython's default: 700)."""
FULL_GC_EVERY_S = 30.0
"""How often the tick loop runs a full (generation 2) garbage collection between ticks."""


@contextlib.contextmanager
def scheduled_gc() -> Iterator[None]:
    """The collector settings of the running app: fewer, scheduled collections.

    * Full collections are left to the tick loop.  CPython starts one when
      enough objects survived; with the engine's day of state and thousands of
      sockets that is a 100-400 ms pause at a random moment, often in the middle
      of a fan-out (measured: push p99 of 460 ms at 1,000 clients, 120 ms
      without it).  The third threshold is raised; the tick loop collects
      between ticks every FULL_GC_EVERY_S.
    * The youngest generation is collected every 200,000 allocations instead
      of 700.  Kafka batches allocate tens of thousands of short-lived records
      at once, and each young collection also walks the engine's recently
      added state: measured with bench/kafka_ingest.py, a 1M-event catch-up
      took 12.4 s with the defaults and 7.8 s at 50,000; bench/engine.py's
      compiled parse + apply gains another ~5-10% from 50,000 to 200,000.  A
      young collection of 200,000 objects takes ~6 ms (measured: 200,000
      young lists), far from a push's budget (refcounting still frees almost
      everything at once; only reference cycles wait a little longer).

    Both are restored on shutdown.
    """
    before = gc.get_threshold()
    gc.set_threshold(YOUNG_GC_THRESHOLD, before[1], 1_000_000)
    try:
        yield
    finally:
        gc.set_threshold(*before)

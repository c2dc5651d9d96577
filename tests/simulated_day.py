"""A simulated stretch of today's traffic for the Kafka tests that write it with producers of their own.

The first ``count`` messages of small-centre's day (from midnight to the early
afternoon for a few thousand), calls, sms and agents mixed.  kcat stamps records
with the moment of sending, not the event's ts; the default late horizon (2 h,
less than the stretch) still loses nothing, because the catch-up follows the
partitions in event time (docs/kafka.md).
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from tests.conftest import make_settings
from wallboard.settings import Settings
from wallboard.simulator import SimEvent, Simulator, load_scenario
from wallboard.simulator.publish import topic_map


def kafka_settings(bootstrap: str, prefix: str, **kafka: Any) -> Settings:
    """Three topics (calls, sms, agents, the simulator's order) under the test's prefix."""
    return make_settings(
        timezone="Asia/Shanghai",
        kafka={
            "bootstrap_servers": bootstrap,
            "topics": [f"{prefix}calls", f"{prefix}sms", f"{prefix}agents"],
            "reconnect_backoff_max": 2.0,
            **kafka,
        },
    )


def simulated_day(s: Settings, count: int, seed: int) -> tuple[list[SimEvent], int]:
    """The first ``count`` messages of today (in the configured zone), on the configured topics, and a clock
    for the board: a minute after the last of them."""
    zone = s.metrics.zone
    sim = Simulator(load_scenario("small-centre"), seed=seed, day=datetime.now(zone).date(), tz=zone)
    topics = topic_map(s.kafka)
    events = [e._replace(topic=topics[e.topic]) for e in itertools.islice(sim.events(), count)]
    assert len(events) == count and {e.topic for e in events} == set(s.kafka.topics)
    return events, events[-1].ts_ms // 1000 + 60

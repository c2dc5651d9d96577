"""The built-in traffic simulator: a scenario file (seeds/*.toml) -> a deterministic day of contract messages.

    from wallboard.simulator import Simulator, load_scenario
    sim = Simulator(load_scenario("bank-hotline"), seed=1, day=date(2026, 11, 29), tz=ZoneInfo("Asia/Shanghai"))
    for event in sim.events():          # SimEvent(ts_ms, key, value, topic), in ts order
        ...

Used by the live demo (``wallboard.sources.simulated``), by ``wallboard simulate``
to write event files for ``wallboard replay``, by the engine benchmark, and by
tests that need realistic traffic.
"""

from __future__ import annotations

from wallboard.simulator.generator import Simulator
from wallboard.simulator.noise import INVALID_KINDS, Noise, add_noise
from wallboard.simulator.output import SimEvent, write_events_file
from wallboard.simulator.scenario import Scenario, find_scenario, list_scenarios, load_scenario, parse_scenario

__all__ = [
    "INVALID_KINDS",
    "Noise",
    "Scenario",
    "SimEvent",
    "Simulator",
    "add_noise",
    "find_scenario",
    "list_scenarios",
    "load_scenario",
    "parse_scenario",
    "write_events_file",
]

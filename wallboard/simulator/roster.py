"""The agent roster: who exists, in which team, on which shift, on which days.

Built from the scenario alone (no seed): the same scenario always has the same
people with the same ids and names, so a supervisor watching the demo for a
week sees familiar names, whatever seed drives the traffic.  ``scale`` changes
the number of agents per group and shift (and so every later id).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from wallboard.simulator.scenario import Scenario, ShiftSpec


@dataclass(frozen=True)
class RosterAgent:
    """One person on the roster."""

    index: int
    """Position on the roster; staggers the rota so that each day has the same headcount."""
    agent_id: str
    name: str
    team: str
    group: int
    """Index of the scenario's [[staff]] group."""
    shift: ShiftSpec
    rota: str
    channels: tuple[str, ...]
    queues: tuple[str, ...]
    primary: tuple[str, ...]

    def on_duty(self, day: date) -> bool:
        """Whether the rota puts this agent on the shift that starts on ``day``."""
        rota = self.rota
        return rota[(day.toordinal() + self.index) % len(rota)] == "1"


def scaled_count(count: int, scale: float) -> int:
    """Agents of one group and shift after scaling; a group that exists keeps at least one agent."""
    if count <= 0:
        return 0
    return max(1, round(count * scale))


def build_roster(scenario: Scenario, scale: float = 1.0) -> tuple[RosterAgent, ...]:
    """Every agent, group by group and shift by shift, in teams of the group's team_size.

    The first member of each team is its team leader (座席组长 take calls too),
    and the team is labelled after them with ``agents.team_label``.
    """
    policy = scenario.agents
    rng = random.Random(f"{scenario.name}:roster")
    leaders = list(policy.leaders)
    plan: list[tuple[int, ShiftSpec, int]] = []
    for g, group in enumerate(scenario.staff):
        for shift_name, count in group.shifts.items():
            n = scaled_count(count, scale)
            if n:
                plan.append((g, scenario.shifts[shift_name], n))
    total = sum(n for _, _, n in plan)
    width = max(4, len(str(total)))
    agents: list[RosterAgent] = []
    for g, shift, n in plan:
        group = scenario.staff[g]
        teams = -(-n // group.team_size)
        for t in range(teams):
            size = n // teams + (1 if t < n % teams else 0)
            leader = leaders.pop(0) if leaders else _name(rng, policy.surnames, policy.given_names, policy.separator)
            team = policy.team_label.format(leader=leader)
            for m in range(size):
                index = len(agents)
                name = leader if m == 0 else _name(rng, policy.surnames, policy.given_names, policy.separator)
                agents.append(
                    RosterAgent(
                        index=index,
                        agent_id=f"{policy.id_prefix}{index + 1:0{width}d}",
                        name=name,
                        team=team,
                        group=g,
                        shift=shift,
                        rota=group.rota,
                        channels=group.channels,
                        queues=group.queues,
                        primary=group.primary,
                    )
                )
    return tuple(agents)


def _name(rng: random.Random, surnames: tuple[str, ...], given: tuple[str, ...], separator: str) -> str:
    first = rng.choice(given)
    last = rng.choice(surnames)
    if not first:
        return last
    # Chinese order: surname first; Western order: given name first.
    return f"{last}{first}" if not separator else f"{first}{separator}{last}"

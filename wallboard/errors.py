"""The exceptions wallboard raises.

Our exception hierarchy::

    WallboardError
      ContractError    a message breaks the event contract (events.md); carries a reason code
      SettingsError    a setting is missing or invalid; carries every problem found
      SourceError      the event source cannot go on (what a retry can fix, the source retries itself)
"""

from __future__ import annotations


class WallboardError(Exception):
    """Base class of every error wallboard raises on purpose."""


class ContractError(WallboardError):
    """A message was rejected by the event contract; ``reason`` is a stable code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class SettingsError(WallboardError):
    """The settings file or environment holds invalid values (all of them are listed)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid settings:\n  - " + "\n  - ".join(problems))
        self.problems = problems


class SourceError(WallboardError):
    """The event source cannot go on: the board shows its data as stale and ``/healthz`` fails (a restart is due).

    Sources retry by themselves what a retry can fix (an unreachable broker); what
    reaches the caller as a ``SourceError`` is what it cannot (refused credentials,
    a deleted topic, data the client cannot decode).
    """

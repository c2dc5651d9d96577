"""The exceptions wallboard raises.

Our exception hierarchy::

    WallboardError
      ContractError    a message breaks the event contract (events.md); carries a reason code
      SettingsError    a setting is missing or invalid; carries every problem found
      SourceError      the event source failed; ``retriable`` says whether to reconnect
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
    """The event source failed; ``retriable`` errors are retried with backoff."""

    def __init__(self, message: str, *, retriable: bool) -> None:
        super().__init__(message)
        self.retriable = retriable

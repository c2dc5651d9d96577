"""Raw messages -> contract -> engine.  The one place sources hand their data over."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from wallboard.engine import Engine
from wallboard.errors import ContractError
from wallboard.events import parse
from wallboard.sources.base import RawMessage


class Rejected(NamedTuple):
    """A message the contract refused, with its reason code and a sentence for humans."""

    message: RawMessage
    reason: str
    detail: str


def ingest(engine: Engine, batch: Iterable[RawMessage]) -> list[Rejected]:
    """Parse and apply a batch; return the rejected messages (for the dead-letter topic). Never raises on data."""
    rejected: list[Rejected] = []
    apply = engine.apply
    for message in batch:
        try:
            event = parse(message.value)
        except ContractError as exc:
            engine.reject(exc.reason)
            rejected.append(Rejected(message, exc.reason, exc.detail))
            continue
        apply(event)
    return rejected

"""Turning simulated happenings into contract messages (events.md), fast.

A day at benchmark scale is over a million messages, so messages are built
from pre-serialised fragments with one f-string each instead of a dict and a
JSON encoder per event.  Every piece of free text (queue, name, team, ids) is
serialised once with the JSON encoder, so escaping stays correct.
"""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

TOPICS = {"call": "cc.calls", "sms": "cc.sms", "agent": "cc.agents"}
"""The default topic names of events.md."""


def json_text(text: str) -> str:
    """A JSON string literal (quotes included), UTF-8 kept as is."""
    return json.dumps(text, ensure_ascii=False)


class TimestampFormatter:
    """RFC 3339 with the zone's offset and milliseconds: 2026-11-29T09:15:02.123+08:00.

    Events come in time order, so the formatted second is cached and only the
    milliseconds change between consecutive calls; the offset is looked up per
    second, which keeps DST transitions exact.
    """

    __slots__ = ("_head", "_second", "_tail", "_zone")

    def __init__(self, zone: ZoneInfo) -> None:
        self._zone = zone
        self._second = -1 << 62
        self._head = ""
        self._tail = ""

    def __call__(self, ts_ms: int) -> str:
        second, ms = divmod(ts_ms, 1000)
        if second != self._second:
            text = datetime.fromtimestamp(second, self._zone).isoformat(timespec="seconds")
            self._second = second
            self._head = text[:19]
            # Offsets with seconds exist only in pre-1900 zone history; RFC 3339 allows hours and minutes.
            self._tail = text[19:25]
        return f"{self._head}.{ms:03d}{self._tail}"

"""Local days and intraday intervals in an IANA zone.

"Today" starts at local midnight (metrics.md); on DST days that day lasts 23 or
25 hours and holds 92 or 100 quarter-hours, because intervals are consecutive
spans of real time from midnight.  Where a zone skips midnight itself (clocks
jump from 23:59:59 to 01:00), the day starts at its first existing instant.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo


class Day(NamedTuple):
    """One local day as a half-open span of Unix seconds [start, end)."""

    start: int
    end: int
    date: date

    def interval_count(self, interval: int) -> int:
        return -(-(self.end - self.start) // interval)


class LocalDays:
    """Maps Unix seconds to local days; cached, because every event asks."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._last = Day(0, 0, date(1970, 1, 1))
        self._by_date: dict[date, Day] = {}

    def day_of(self, ts_s: int) -> Day:
        last = self._last
        if last.start <= ts_s < last.end:
            return last
        d = datetime.fromtimestamp(ts_s, self.zone).date()
        day = self._by_date.get(d)
        if day is None:
            day = Day(self.start_of(d), self.start_of(d + timedelta(days=1)), d)
            if len(self._by_date) > 64:
                self._by_date.clear()
            self._by_date[d] = day
        self._last = day
        return day

    def start_of(self, d: date) -> int:
        """The first Unix second whose local date is ``d``."""
        # fold=0 maps a nonexistent local midnight to the instant of the jump,
        # which is exactly the first instant of that date.
        guess = int(datetime(d.year, d.month, d.day, tzinfo=self.zone).timestamp())
        # Defensive: step to the exact boundary should a zone's rules surprise us.
        while (
            datetime.fromtimestamp(guess, self.zone).date() >= d
            and datetime.fromtimestamp(guess - 1, self.zone).date() >= d
        ):
            guess -= 3600
        while datetime.fromtimestamp(guess, self.zone).date() < d:
            guess += 1
        return guess

    def iso(self, ts_s: float) -> str:
        """RFC 3339 in the local zone, whole seconds."""
        return datetime.fromtimestamp(int(ts_s), self.zone).isoformat()

    def iso_ms(self, ts_ms: int) -> str:
        """RFC 3339 in the local zone, milliseconds."""
        return datetime.fromtimestamp(ts_ms / 1000, self.zone).isoformat(timespec="milliseconds")

"""Period counters and the metric formulas of metrics.md.

A period (rolling window, today, one intraday interval) of one queue and channel
is nine integers.  Waits and handle times are summed in integer milliseconds so
that adding and retracting contributions in any order gives bit-identical
results (float sums would depend on the order of arrival).
"""

from __future__ import annotations

from typing import Final

from wallboard.wire import Period

# The field indexes.  Final: the compiled build (setup.py) folds them into constants.
OFFERED: Final = 0
ANSWERED: Final = 1
ABANDONED: Final = 2
SHORT_ABANDONED: Final = 3
ANSWERED_IN_SL: Final = 4
ABANDONED_IN_SL: Final = 5
COMPLETED: Final = 6
WAIT_MS: Final = 7
HANDLE_MS: Final = 8
FIELD_COUNT: Final = 9
COUNT_FIELDS = ("offered", "answered", "abandoned", "short_abandoned", "answered_in_sl", "abandoned_in_sl", "completed")
PERIOD_FIELDS = (*COUNT_FIELDS, "service_level", "asa_s", "aht_s", "abandon_rate")
"""Every field of a period object in the snapshot, in the order metrics.md lists them."""

Counters = list[int]


def new_counters() -> Counters:
    return [0] * FIELD_COUNT


def add_into(total: Counters, part: Counters) -> None:
    for i in range(FIELD_COUNT):
        total[i] += part[i]


def service_level(c: Counters, formula: str) -> float | None:
    """The service level by one of the three classic formulas; None when its denominator is 0."""
    handled = c[ANSWERED] + c[ABANDONED] - c[SHORT_ABANDONED]
    if formula == "abandons_negative":
        num, den = c[ANSWERED_IN_SL], handled
    elif formula == "abandons_ignored":
        num, den = c[ANSWERED_IN_SL], handled - c[ABANDONED_IN_SL]
    elif formula == "abandons_positive":
        num, den = c[ANSWERED_IN_SL] + c[ABANDONED_IN_SL], handled
    else:
        raise ValueError(f"unknown service-level formula {formula!r}")
    return num / den if den > 0 else None


def period_metrics(c: Counters, formula: str) -> Period:
    """The period object of the snapshot: counts, then derived rates (None where undefined)."""
    answered, abandoned, short = c[ANSWERED], c[ABANDONED], c[SHORT_ABANDONED]
    counted = answered + abandoned - short
    return {
        "offered": c[OFFERED],
        "answered": answered,
        "abandoned": abandoned,
        "short_abandoned": short,
        "answered_in_sl": c[ANSWERED_IN_SL],
        "abandoned_in_sl": c[ABANDONED_IN_SL],
        "completed": c[COMPLETED],
        "service_level": service_level(c, formula),
        "asa_s": c[WAIT_MS] / answered / 1000 if answered else None,
        "aht_s": c[HANDLE_MS] / c[COMPLETED] / 1000 if c[COMPLETED] else None,
        "abandon_rate": (abandoned - short) / counted if counted > 0 else None,
    }


EMPTY = new_counters()

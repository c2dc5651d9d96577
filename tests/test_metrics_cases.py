"""Hand-computed cases for every metric and rule of metrics.md and events.md.

All times are Asia/Shanghai (UTC+8, no DST) unless a test says otherwise.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import make_settings
from wallboard.engine import Engine
from wallboard.events import AgentStateEvent, Event, InteractionEvent
from wallboard.wire import ChannelView

SH = ZoneInfo("Asia/Shanghai")


def t(hms: str, day: str = "2026-11-29", zone: ZoneInfo = SH) -> int:
    """Local time -> epoch ms."""
    return int(datetime.fromisoformat(f"{day}T{hms}").replace(tzinfo=zone).timestamp() * 1000)


class Day:
    """A small scripted day: call helpers, then look at the engine."""

    def __init__(self, **settings: object) -> None:
        self.settings = make_settings(**settings)
        self.events: list[Event] = []
        self.n = 0

    def _id(self) -> str:
        self.n += 1
        return f"e{self.n:04d}"

    def offered(self, iid: str, at: int, queue: str = "信用卡", channel: str = "call") -> None:
        self.events.append(InteractionEvent(self._id(), at, channel, "offered", iid, queue, None))

    def answered(self, iid: str, at: int, agent: str = "A1", queue: str = "信用卡", channel: str = "call") -> None:
        self.events.append(InteractionEvent(self._id(), at, channel, "answered", iid, queue, agent))

    def abandoned(self, iid: str, at: int, queue: str = "信用卡", channel: str = "call") -> None:
        self.events.append(InteractionEvent(self._id(), at, channel, "abandoned", iid, queue, None))

    def completed(self, iid: str, at: int, agent: str = "A1", queue: str = "信用卡", channel: str = "call") -> None:
        self.events.append(InteractionEvent(self._id(), at, channel, "completed", iid, queue, agent))

    def agent(self, agent: str, state: str, at: int, queues: tuple[str, ...] = ("信用卡",), **kw: str) -> None:
        self.events.append(AgentStateEvent(self._id(), at, agent, state, queues, kw.get("name"), kw.get("team")))

    def engine(self, at_ms: int) -> Engine:
        engine = Engine(self.settings.metrics, at_ms // 1000)
        for e in self.events:
            engine.apply(e)
        return engine

    def call(self, at_ms: int, queue: str = "信用卡", channel: str = "call") -> ChannelView:
        return self.engine(at_ms).snapshot()["queues"][queue]["channels"][channel]


def test_offered_answered_asa_and_service_level() -> None:
    d = Day()
    d.offered("c1", t("10:00:00"))
    d.answered("c1", t("10:00:12.500"))  # wait 12.5 s: within 20 s
    d.offered("c2", t("10:01:00"))
    d.answered("c2", t("10:01:20"))  # wait exactly 20 s: within (<=)
    d.offered("c3", t("10:02:00"))
    d.answered("c3", t("10:02:20.001"))  # 20.001 s: outside
    win = d.call(t("10:05:00"))["window"]
    assert (win["offered"], win["answered"], win["answered_in_sl"]) == (3, 3, 2)
    assert win["service_level"] == pytest.approx(2 / 3)
    assert win["asa_s"] == pytest.approx((12.5 + 20 + 20.001) / 3)


def test_abandons_short_and_within_threshold_and_all_three_formulas() -> None:
    events = [("a1", 3.0), ("a2", 5.0), ("a3", 15.0), ("a4", 40.0)]  # short (<5), not short, in SL, late
    results = {}
    for formula in ("abandons_negative", "abandons_ignored", "abandons_positive"):
        d = Day(channels={"call": {"sl_formula": formula}})
        for iid, wait in events:
            d.offered(iid, t("09:00:00"))
            d.abandoned(iid, t("09:00:00") + int(wait * 1000))
        for i in range(6):  # 6 answered, 4 within 20 s
            d.offered(f"c{i}", t("09:10:00"))
            d.answered(f"c{i}", t("09:10:00") + (10_000 if i < 4 else 30_000))
        results[formula] = d.call(t("09:20:00"))["today"]
    today = results["abandons_negative"]
    assert (today["abandoned"], today["short_abandoned"], today["abandoned_in_sl"]) == (4, 1, 2)
    # handled = answered + abandoned - short = 6 + 4 - 1 = 9
    assert results["abandons_negative"]["service_level"] == pytest.approx(4 / 9)
    assert results["abandons_ignored"]["service_level"] == pytest.approx(4 / (9 - 2))
    assert results["abandons_positive"]["service_level"] == pytest.approx((4 + 2) / 9)
    assert today["abandon_rate"] == pytest.approx(3 / 9)


def test_completed_and_aht_and_in_progress() -> None:
    d = Day()
    d.offered("c1", t("10:00:00"))
    d.answered("c1", t("10:00:05"))
    d.completed("c1", t("10:03:05.250"))  # handle 180.25 s
    d.offered("c2", t("10:00:00"))
    d.answered("c2", t("10:00:10"))
    d.completed("c2", t("10:02:10"))  # handle 120 s
    d.offered("c3", t("10:01:00"))
    d.answered("c3", t("10:01:02"))  # still talking
    view = d.call(t("10:05:00"))
    assert view["in_progress"] == 1
    assert view["window"]["completed"] == 2
    assert view["window"]["aht_s"] == pytest.approx(150.125)
    # At 10:01:30 all three have been answered and none completed: AHT is undefined.
    early = d.call(t("10:01:30"))
    assert early["in_progress"] == 3  # all three answered by 10:01:30, none completed
    assert early["window"]["aht_s"] is None


def test_waiting_and_longest_wait() -> None:
    d = Day()
    d.offered("c1", t("10:00:00.400"))
    d.offered("c2", t("10:00:30"))
    d.offered("c3", t("10:00:45"))
    d.answered("c3", t("10:00:50"))
    view = d.call(t("10:01:00"))
    assert view["waiting"] == 2
    assert view["longest_wait_s"] == pytest.approx(59.6)
    assert view["longest_wait_since"] == "2026-11-29T10:00:00.400+08:00"
    assert "信用卡" not in d.engine(t("09:59:00")).snapshot()["queues"]  # nothing seen yet at 09:59


def test_undefined_values_are_null_not_zero() -> None:
    d = Day()
    d.offered("c1", t("10:00:00"))
    view = d.call(t("10:00:10"))
    for field in ("service_level", "asa_s", "aht_s", "abandon_rate"):
        assert view["window"][field] is None, field
    sms = d.call(t("10:00:10"), channel="sms")
    assert sms["waiting"] == 0 and sms["longest_wait_s"] is None and sms["today"]["offered"] == 0


def test_only_short_abandons_leave_service_level_undefined() -> None:
    d = Day()
    d.offered("c1", t("10:00:00"))
    d.abandoned("c1", t("10:00:02"))
    w = d.call(t("10:01:00"))["window"]
    assert (w["abandoned"], w["short_abandoned"], w["service_level"], w["abandon_rate"]) == (1, 1, None, None)


def test_window_edge_is_open_at_the_start_and_closed_at_the_end() -> None:
    d = Day(window=60)
    d.offered("edge", t("10:00:00.999"))  # floor -> 10:00:00 = as_of - window: outside
    d.offered("in", t("10:00:01"))  # inside
    d.offered("now", t("10:01:00.900"))  # floor -> as_of: inside
    d.offered("later", t("10:01:01"))  # after as_of: not yet
    w = d.call(t("10:01:00"))["window"]
    assert w["offered"] == 2


def test_period_membership_follows_each_phase_ts() -> None:
    """Offered in one interval, answered in the next: each counts where its own event lies."""
    d = Day(window=600, interval=900)
    d.offered("c1", t("10:14:50"))
    d.answered("c1", t("10:15:10"))
    engine = d.engine(t("10:20:00"))
    intraday = engine.intraday()["queues"]["信用卡"]["channels"]["call"]
    slot = (t("10:00:00") - t("00:00:00")) // 900_000
    assert intraday[slot]["offered"] == 1 and intraday[slot]["answered"] == 0
    assert intraday[slot + 1]["offered"] == 0 and intraday[slot + 1]["answered"] == 1
    assert intraday[slot + 1]["asa_s"] == pytest.approx(20.0)


def test_today_starts_at_local_midnight() -> None:
    d = Day(window=1800)
    d.offered("late", t("23:50:00", day="2026-11-28"))
    d.answered("late", t("00:00:05", day="2026-11-29"))  # answered after midnight: counts today
    d.offered("new", t("00:00:00", day="2026-11-29"))
    view = d.call(t("00:10:00"))
    assert view["today"]["offered"] == 1  # only 'new'
    assert view["today"]["answered"] == 1  # 'late' answered today
    assert view["window"]["offered"] == 2  # the window crosses midnight
    assert view["today"]["answered_in_sl"] == 0  # waited 10 min 5 s


def test_queue_depth_counts_waiting_from_yesterday() -> None:
    d = Day()
    d.offered("old", t("23:59:00", day="2026-11-28"))
    view = d.call(t("00:05:00"))
    assert view["waiting"] == 1 and view["today"]["offered"] == 0
    assert view["longest_wait_s"] == 360.0


@pytest.mark.parametrize(("day", "hours", "intervals"), [("2026-03-08", 23, 92), ("2026-11-01", 25, 100)])
def test_dst_days_have_23_or_25_hours_of_intervals(day: str, hours: int, intervals: int) -> None:
    ny = ZoneInfo("America/New_York")
    d = Day(timezone="America/New_York")
    d.offered("first", t("00:00:00", day=day, zone=ny))
    end_of_day = t("00:00:00", day=day, zone=ny) + hours * 3600_000 - 1000
    d.offered("last", end_of_day)
    engine = d.engine(end_of_day)
    intraday = engine.intraday()
    assert intraday["interval_count"] == intervals
    assert len(intraday["intervals"]) == intervals
    series = intraday["queues"]["信用卡"]["channels"]["call"]
    assert series[0]["offered"] == 1 and series[-1]["offered"] == 1
    assert engine.snapshot()["queues"]["信用卡"]["channels"]["call"]["today"]["offered"] == 2


def test_per_queue_overrides() -> None:
    d = Day(queues={"信用卡": {"call": {"sl_threshold": 30, "short_abandon": 10}}})
    for q in ("信用卡", "网银"):
        d.offered(f"{q}1", t("10:00:00"), queue=q)
        d.answered(f"{q}1", t("10:00:25"), queue=q)
        d.offered(f"{q}2", t("10:00:00"), queue=q)
        d.abandoned(f"{q}2", t("10:00:07"), queue=q)
    snap = d.engine(t("10:05:00")).snapshot()
    credit = snap["queues"]["信用卡"]["channels"]["call"]["today"]
    web = snap["queues"]["网银"]["channels"]["call"]["today"]
    assert (credit["answered_in_sl"], credit["short_abandoned"]) == (1, 1)
    assert (web["answered_in_sl"], web["short_abandoned"], web["abandoned_in_sl"]) == (0, 0, 1)
    total = snap["totals"]["channels"]["call"]["today"]
    assert (total["answered_in_sl"], total["short_abandoned"], total["offered"]) == (1, 1, 4)


def test_same_event_id_twice_counts_once() -> None:
    d = Day()
    d.offered("c1", t("10:00:00"))
    d.events.append(d.events[-1])
    engine = d.engine(t("10:01:00"))
    assert engine.snapshot()["queues"]["信用卡"]["channels"]["call"]["today"]["offered"] == 1
    assert engine.duplicates == 1


def test_answered_and_abandoned_earliest_wins() -> None:
    d = Day()
    d.offered("c1", t("10:00:00"))
    d.answered("c1", t("10:00:30"))
    d.abandoned("c1", t("10:00:10"))  # earlier: the customer had gone
    view = d.call(t("10:01:00"))
    assert (view["today"]["answered"], view["today"]["abandoned"], view["in_progress"]) == (0, 1, 0)


def test_ties_go_to_the_smaller_event_id() -> None:
    d = Day()
    d.events.append(InteractionEvent("b", t("10:00:00"), "call", "offered", "c1", "queue-b", None))
    d.events.append(InteractionEvent("a", t("10:00:00"), "call", "offered", "c1", "queue-a", None))
    snap = d.engine(t("10:01:00")).snapshot()
    assert snap["queues"]["queue-a"]["channels"]["call"]["waiting"] == 1
    assert snap["queues"]["queue-b"]["channels"]["call"]["waiting"] == 0


def test_events_before_their_offered_are_held_and_orphans_counted() -> None:
    d = Day()
    d.answered("c1", t("10:00:10"))
    d.completed("c1", t("10:02:00"))
    engine = d.engine(t("10:05:00"))
    view = engine.snapshot()["queues"]["信用卡"]["channels"]["call"]
    assert view["today"]["answered"] == 0 and view["in_progress"] == 0
    assert engine.snapshot()["status"]["orphans"] == 1
    engine.apply(InteractionEvent("late-offer", t("10:00:00"), "call", "offered", "c1", "信用卡", None))
    view = engine.snapshot()["queues"]["信用卡"]["channels"]["call"]
    assert (view["today"]["offered"], view["today"]["answered"], view["today"]["completed"]) == (1, 1, 1)
    assert engine.snapshot()["status"]["orphans"] == 0


def test_completed_without_answered_is_an_orphan() -> None:
    d = Day()
    d.offered("c1", t("10:00:00"))
    d.abandoned("c1", t("10:00:30"))
    d.completed("c1", t("10:01:00"))
    engine = d.engine(t("10:05:00"))
    assert engine.snapshot()["queues"]["信用卡"]["channels"]["call"]["today"]["completed"] == 0
    assert engine.snapshot()["status"]["orphans"] == 1


def test_negative_waits_and_handle_times_count_as_zero() -> None:
    d = Day()
    d.offered("c1", t("10:00:05"))
    d.answered("c1", t("10:00:03"))  # skew: answered 2 s "before" offered
    d.completed("c1", t("10:00:02"))  # and completed before answered
    view = d.call(t("10:05:00"))["today"]
    assert (view["asa_s"], view["aht_s"], view["answered_in_sl"]) == (0.0, 0.0, 1)


def test_late_event_lands_in_its_own_period() -> None:
    d = Day(window=600)
    engine = d.engine(t("11:00:00"))
    engine.apply(InteractionEvent("x1", t("10:00:00"), "call", "offered", "c1", "信用卡", None))
    engine.apply(InteractionEvent("x2", t("10:00:05"), "call", "abandoned", "c1", "信用卡", None))
    view = engine.snapshot()["queues"]["信用卡"]["channels"]["call"]
    assert view["today"]["offered"] == 1 and view["window"]["offered"] == 0


def test_events_after_as_of_do_not_count_until_their_time() -> None:
    d = Day()
    d.offered("c1", t("10:00:00"))
    d.answered("c1", t("10:00:20"))
    engine = d.engine(t("10:00:10"))
    assert engine.snapshot()["queues"]["信用卡"]["channels"]["call"]["waiting"] == 1
    engine.advance(t("10:00:20") // 1000)
    assert engine.snapshot()["queues"]["信用卡"]["channels"]["call"]["waiting"] == 0


def test_agent_state_since_and_repeats() -> None:
    d = Day()
    d.agent("A1", "available", t("09:00:00"), name="王小明", team="组长李")
    d.agent("A1", "busy", t("09:05:00"))
    d.agent("A1", "busy", t("09:07:00"))  # repeats the state: does not reset since
    d.agent("A2", "break", t("09:06:00"), queues=("信用卡", "网银"))
    engine = d.engine(t("09:10:00"))
    rows = {r["agent_id"]: r for r in engine.agents()["agents"]}
    assert rows["A1"]["state"] == "busy" and rows["A1"]["since"] == "2026-11-29T09:05:00.000+08:00"
    assert (rows["A1"]["name"], rows["A1"]["team"]) == ("王小明", "组长李")
    snap = engine.snapshot()
    assert snap["queues"]["信用卡"]["agents"] == {"available": 0, "busy": 1, "wrap_up": 0, "break": 1, "offline": 0}
    assert snap["queues"]["网银"]["agents"]["break"] == 1
    assert snap["totals"]["agents"] == {"available": 0, "busy": 1, "wrap_up": 0, "break": 1, "offline": 0}


def test_agent_state_ties_go_to_the_larger_event_id() -> None:
    d = Day()
    d.events.append(AgentStateEvent("b", t("09:00:00"), "A1", "break", (), None, None))
    d.events.append(AgentStateEvent("a", t("09:00:00"), "A1", "available", (), None, None))
    assert d.engine(t("09:01:00")).agents()["agents"][0]["state"] == "break"


def test_handled_today_per_channel() -> None:
    d = Day()
    d.offered("y", t("23:59:00", day="2026-11-28"))
    d.answered("y", t("23:59:30", day="2026-11-28"), agent="A1")  # yesterday: not today
    for i, ch in enumerate(("call", "call", "sms")):
        d.offered(f"c{i}", t("09:00:00"), channel=ch)
        d.answered(f"c{i}", t("09:00:10"), agent="A1", channel=ch)
    d.agent("A1", "busy", t("09:00:10"))
    row = d.engine(t("09:10:00")).agents()["agents"][0]
    assert row["handled_today"] == {"call": 2, "sms": 1}


def test_every_queue_seen_today_appears_with_both_channels() -> None:
    d = Day(queues={"configured": {"call": {"sl_threshold": 10}}})
    d.offered("s1", t("09:00:00"), queue="短信", channel="sms")
    d.agent("A1", "available", t("08:00:00"), queues=("staffed-only",))
    snap = d.engine(t("09:10:00")).snapshot()
    assert set(snap["queues"]) == {"短信", "staffed-only", "configured"}
    for q in snap["queues"].values():
        assert set(q["channels"]) == {"call", "sms"}
    assert snap["as_of"] == "2026-11-29T09:10:00+08:00" and snap["window_s"] == 1800


def test_day_rollover_with_no_events() -> None:
    d = Day()
    d.offered("c1", t("23:00:00", day="2026-11-28"))
    d.abandoned("c1", t("23:00:30", day="2026-11-28"))
    engine = d.engine(t("23:30:00", day="2026-11-28"))
    assert engine.snapshot()["queues"]["信用卡"]["channels"]["call"]["today"]["abandoned"] == 1
    engine.advance(t("00:00:00", day="2026-11-29") // 1000)
    snap = engine.snapshot()
    assert snap["as_of"] == "2026-11-29T00:00:00+08:00"
    assert "信用卡" not in snap["queues"] or snap["queues"]["信用卡"]["channels"]["call"]["today"]["offered"] == 0


def test_too_late_events_are_counted_not_applied() -> None:
    d = Day(window=600, late_horizon=3600)
    engine = d.engine(t("12:00:00"))
    engine.apply(InteractionEvent("n1", t("11:59:00"), "call", "offered", "now", "信用卡", None))
    engine.advance(t("12:00:01") // 1000)
    engine.apply(InteractionEvent("o1", t("10:00:00"), "call", "offered", "old", "信用卡", None))
    assert engine.too_late == 1
    assert engine.snapshot()["queues"]["信用卡"]["channels"]["call"]["today"]["offered"] == 1


def test_agent_events_are_folded_while_the_horizon_lags() -> None:
    """During a catch-up the horizon moves once a tick, held back by the slowest partition, which may still be
    at the replay start while the agents' partition is hours ahead.  Folds then forget nothing; once the
    slowest partition moves, each agent keeps only its events within reach of the horizon again (plus at most
    64 not yet folded), not the rest of its day (doubling the fold interval after each fold held it all)."""
    d = Day(window=600, late_horizon=1800)
    engine = d.engine(t("23:59:00"))
    states = ("available", "busy")
    for i in range(480):  # one agent, an event a minute for 8 hours
        ts = t("00:00:00") + i * 60_000
        engine.apply(AgentStateEvent(f"e{i:04d}", ts, "A1", states[i % 2], ("信用卡",), None, None))
        if i % 10 == 9:  # a tick: the slowest partition at the replay start for 5 hours, then 30 min behind
            engine.advance(engine.now, watermark_ms=t("00:00:00") if i < 300 else ts - 1800_000)
    # within reach: 30 min behind + the 30 min horizon + a tick = 70 events, and at most 64 more
    assert 60 <= engine.status()["held_agent_events"] <= 70 + 64
    assert [(a["agent_id"], a["state"]) for a in engine.agents()["agents"]] == [("A1", "busy")]


def test_finished_interactions_are_forgotten_after_the_horizon() -> None:
    d = Day(window=600, late_horizon=600)
    engine = d.engine(t("10:00:00"))
    engine.apply(InteractionEvent("o", t("10:00:00"), "call", "offered", "c1", "信用卡", None))
    engine.apply(InteractionEvent("b", t("10:00:10"), "call", "abandoned", "c1", "信用卡", None))
    engine.apply(InteractionEvent("w", t("10:00:00"), "call", "offered", "c2", "信用卡", None))
    assert engine.status()["held_interactions"] == 2
    engine.apply(InteractionEvent("o3", t("10:20:00"), "call", "offered", "c3", "信用卡", None))
    engine.advance(t("10:20:00") // 1000)
    assert engine.status()["held_interactions"] == 2  # c1 forgotten; c2 still waits; c3 new
    view = engine.snapshot()["queues"]["信用卡"]["channels"]["call"]
    assert view["today"]["abandoned"] == 1 and view["waiting"] == 2
    # A re-send of c1's events now is too late, and changes nothing.
    engine.apply(InteractionEvent("o", t("10:00:00"), "call", "offered", "c1", "信用卡", None))
    assert engine.too_late == 1 and engine.snapshot()["queues"]["信用卡"]["channels"]["call"]["waiting"] == 2

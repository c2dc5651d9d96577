"""Alert rules (wallboard/alerts.py, docs/alerts.md): breached for a while, then fired; cleared with hysteresis.

The fold is checked against a second, naive reading of the rule over the same
seconds (``expected_transitions``), for any sequence of numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import make_settings
from wallboard.alerts import AlertBook, AlertKey, Transition, breached, cleared, idempotency_key, measure, shown
from wallboard.cli import main
from wallboard.engine import Engine
from wallboard.errors import SettingsError
from wallboard.events import Event, parse
from wallboard.replay import replay_alerts
from wallboard.settings import AlertRuleSettings

BASE = 1_795_960_800  # 2026-11-29T22:00:00+08:00
KEY = AlertKey("sl", "total")


def rule(**kw: object) -> AlertRuleSettings:
    base: dict[str, object] = {"metric": "window.service_level", "channel": "call", "threshold": 0.8}
    base.update(kw)
    return make_settings(alerts={"rules": {"r": base}}).alerts.rules["r"]


def run(book: AlertBook, values: list[float | None], start: int = BASE) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for i, v in enumerate(values):
        out += [(t.change, t.at) for t in book.evaluate(start + i, {KEY: v})]
    return out


def test_a_breach_fires_once_it_lasted_for_s_and_resolves_after_clear_for_s() -> None:
    book = AlertBook({"sl": rule(for_s=3, clear_for_s=2)})
    values: list[float | None] = [0.9, 0.7, 0.7, 0.7, 0.7, 0.9, 0.9, 0.9]
    assert run(book, values) == [("fired", BASE + 4), ("resolved", BASE + 7)]
    assert book.active == {}


def test_a_breach_shorter_than_for_s_never_fires() -> None:
    book = AlertBook({"sl": rule(for_s=3)})
    assert run(book, [0.7, 0.7, 0.7, 0.9, 0.7, 0.7, 0.7]) == []
    (alert,) = book.active.values()
    assert alert.state == "pending" and alert.since == BASE + 4 and alert.idempotency_key is None


def test_hysteresis_keeps_it_firing_inside_the_band() -> None:
    """SL below 80% fires; it clears only at 82% or more, held clear_for_s: 80% and 81% keep it firing."""
    book = AlertBook({"sl": rule(for_s=0, clear_for_s=0, hysteresis=0.02)})
    assert run(book, [0.75]) == [("fired", BASE)]
    assert run(book, [0.80, 0.81, 0.79, 0.81], BASE + 1) == []
    assert run(book, [0.82], BASE + 5) == [("resolved", BASE + 5)]


def test_going_back_into_the_band_restarts_the_clearing() -> None:
    book = AlertBook({"sl": rule(for_s=0, clear_for_s=2, hysteresis=0.02)})
    run(book, [0.5])
    assert run(book, [0.9, 0.81, 0.9, 0.9, 0.9], BASE + 1) == [("resolved", BASE + 5)]


def test_an_undefined_number_is_not_a_breach_and_clears() -> None:
    """No call in the window at night: nothing to be alarmed about."""
    book = AlertBook({"sl": rule(for_s=0, clear_for_s=1)})
    assert run(book, [0.5, None, None]) == [("fired", BASE), ("resolved", BASE + 2)]
    assert run(book, [None, None], BASE + 3) == []


def test_a_scope_that_is_gone_clears() -> None:
    book = AlertBook({"sl": rule(for_s=0, clear_for_s=0)})
    assert [t.change for t in book.evaluate(BASE, {KEY: 0.1})] == ["fired"]
    assert [t.change for t in book.evaluate(BASE + 1, {})] == ["resolved"]


def test_time_only_goes_forward() -> None:
    book = AlertBook({"sl": rule()})
    book.evaluate(BASE, {})
    book.evaluate(BASE, {})
    with pytest.raises(ValueError, match="forward"):
        book.evaluate(BASE - 1, {})


def test_numbers_are_compared_as_the_board_shows_them() -> None:
    sl = rule(threshold=0.8)
    assert shown("window.service_level", 0.7996) == 0.8 and not breached(sl, shown("x.service_level", 0.7996))
    assert breached(sl, shown("window.service_level", 0.7949))
    assert shown("longest_wait_s", 59.99) == 59.0 and shown("window.asa_s", 20.5) == 21.0
    assert shown("waiting", 3) == 3 and shown("window.asa_s", None) is None
    assert shown("window.asa_s", float("nan")) is None
    above = rule(metric="waiting", when="above", threshold=10, hysteresis=3)
    assert breached(above, 10) and not breached(above, 9)
    assert not cleared(above, 8) and cleared(above, 6.9) and cleared(above, None)


def test_the_idempotency_key_names_one_firing() -> None:
    assert idempotency_key(KEY, BASE) == idempotency_key(AlertKey("sl", "total"), BASE)
    assert (
        len({idempotency_key(KEY, BASE), idempotency_key(KEY, BASE + 1), idempotency_key(AlertKey("x", "total"), BASE)})
        == 3
    )


def expected_transitions(values: list[float | None], r: AlertRuleSettings) -> list[tuple[str, int]]:
    """The rule read naively: fire at the first second where the last for_s+1 values all breach; then resolve
    at the first second where the last clear_for_s+1 values all clear; then start again."""
    out: list[tuple[str, int]] = []
    firing = False
    since = None
    for i in range(len(values)):
        if not firing:
            if not breached(r, values[i]):
                since = None
                continue
            since = i if since is None else since
            if i - since >= r.for_s:
                firing = True
                out.append(("fired", BASE + i))
        else:
            window = values[max(0, i - r.clear_for_s) : i + 1]
            start = i - r.clear_for_s
            if start >= 0 and all(cleared(r, v) for v in window) and start > fired_index(out):
                firing = False
                since = None
                out.append(("resolved", BASE + i))
    return out


def fired_index(out: list[tuple[str, int]]) -> int:
    return out[-1][1] - BASE


numbers = st.lists(st.one_of(st.none(), st.sampled_from([0.5, 0.7, 0.79, 0.8, 0.81, 0.82, 0.9])), max_size=60)


@given(numbers, st.integers(0, 5), st.integers(0, 5), st.sampled_from([0.0, 0.02]))
def test_the_fold_is_the_rule_read_second_by_second(
    values: list[float | None], for_s: int, clear_for_s: int, hysteresis: float
) -> None:
    r = rule(for_s=for_s, clear_for_s=clear_for_s, hysteresis=hysteresis)
    assert run(AlertBook({"sl": r}), values) == expected_transitions(values, r)


@given(numbers, st.integers(0, 5), st.integers(0, 5))
def test_no_flapping_fired_and_resolved_alternate_and_are_apart(
    values: list[float | None], for_s: int, clear_for_s: int
) -> None:
    changes = run(AlertBook({"sl": rule(for_s=for_s, clear_for_s=clear_for_s, hysteresis=0.02)}), values)
    assert [c for c, _ in changes] == ["fired", "resolved"] * (len(changes) // 2) + ["fired"] * (len(changes) % 2)
    for (_, fired), (_, resolved) in zip(changes[::2], changes[1::2], strict=False):
        assert resolved - fired >= max(1, clear_for_s)


def call(kind: str, i: int, ts_s: float, queue: str = "信用卡") -> Event:
    data = {"type": f"call.{kind}", "event_id": f"{kind}-{i}", "ts": int(ts_s * 1000), "interaction_id": f"c{i}"}
    return parse(json.dumps({**data, "queue": queue}).encode())


def test_measure_reads_the_snapshot_per_scope() -> None:
    s = make_settings(
        alerts={
            "rules": {
                "waiting": {"metric": "waiting", "channel": "call", "scope": "queue", "when": "above", "threshold": 2},
                "wait": {"metric": "longest_wait_s", "channel": "call", "when": "above", "threshold": 30},
                "avail": {"metric": "agents.available", "when": "below", "threshold": 1},
                "named": {
                    "metric": "waiting",
                    "channel": "call",
                    "scope": "queue",
                    "names": ["借记卡", "nosuch"],
                    "when": "above",
                    "threshold": 2,
                },
                "sms-wait": {"metric": "longest_wait_s", "channel": "sms", "when": "above", "threshold": 30},
                "sl": {"metric": "window.service_level", "channel": "call"},
                "asa": {"metric": "today.asa_s", "channel": "call", "when": "above", "threshold": 30},
            }
        }
    )
    engine = Engine(s.metrics, BASE)
    for i in range(3):
        engine.apply(call("offered", i, BASE - 40 + i))
    engine.apply(call("offered", 9, BASE - 5, queue="借记卡"))
    engine.apply(call("offered", 20, BASE - 100, queue="借记卡"))
    engine.apply(call("abandoned", 20, BASE - 70, queue="借记卡"))
    values = measure(engine.snapshot(), s.alerts.rules, BASE + 10)
    assert values == {
        AlertKey("waiting", "queue:信用卡"): 3,
        AlertKey("waiting", "queue:借记卡"): 1,
        AlertKey("wait", "total"): 50.0,  # at the instant asked, as the TV ticks it
        AlertKey("avail", "total"): 0.0,
        AlertKey("named", "queue:借记卡"): 1,
        AlertKey("sms-wait", "total"): None,  # nobody waits
        AlertKey("sl", "total"): 0.0,  # the one call in the window was abandoned after 30 s
        AlertKey("asa", "total"): None,  # none answered today
    }


def test_rules_that_cannot_be_watched_are_refused_with_the_key() -> None:
    with pytest.raises(SettingsError) as caught:
        make_settings(
            alerts={
                "rules": {
                    "a": {"metric": "window.service_level"},
                    "b": {"metric": "agents.available", "channel": "call"},
                    "c": {"metric": "waiting", "channel": "fax", "names": ["x"]},
                }
            }
        )
    text = str(caught.value)
    assert "alerts.rules.a.channel: window.service_level is per channel" in text
    assert "alerts.rules.b.channel: agents.available is not per channel" in text
    assert "alerts.rules.c.channel" in text and "(got 'fax')" in text
    assert "alerts.rules.c.names: only with scope 'queue' or 'group'" in text


def test_replay_folds_every_second_and_says_since_when(tmp_path: Path) -> None:
    """Three calls wait from BASE; 'longest wait at or above 30 s, for 10 s' fires at BASE+40 and stays."""
    lines = [
        json.dumps(
            {
                "type": "call.offered",
                "event_id": f"o{i}",
                "ts": BASE * 1000 + i,
                "interaction_id": f"c{i}",
                "queue": "信用卡",
            }
        )
        for i in range(3)
    ]
    answered = {
        "type": "call.answered",
        "event_id": "a0",
        "ts": (BASE + 100) * 1000,
        "interaction_id": "c0",
        "queue": "信用卡",
        "agent_id": "a1",
    }
    (tmp_path / "day.jsonl").write_text("\n".join([*lines, json.dumps(answered)]) + "\n", encoding="utf-8")
    config = tmp_path / "wallboard.toml"
    config.write_text(
        'timezone = "Asia/Shanghai"\n'
        "[alerts.rules.wait]\n"
        'metric = "longest_wait_s"\nchannel = "call"\nwhen = "above"\nthreshold = 30\nfor_s = 10\n'
        'severity = "critical"\n',
        encoding="utf-8",
    )
    s = make_settings(
        alerts={
            "rules": {
                "wait": {"metric": "longest_wait_s", "channel": "call", "when": "above", "threshold": 30, "for_s": 10}
            }
        }
    )
    _, book = replay_alerts([line.encode() for line in lines], s, BASE + 39)
    assert [a.state for a in book.active.values()] == ["pending"]
    result = CliRunner().invoke(
        main, ["replay", str(tmp_path / "day.jsonl"), "--at", str(BASE + 200), "--config", str(config), "--alerts"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["as_of"] == "2026-11-29T22:03:20+08:00"
    (alert,) = out["alerts"]
    assert alert | {"value": None, "idempotency_key": None} == {
        "acknowledged_by": None,
        "acknowledged_at": None,
        "rule": "wait",
        "scope": "total",
        "metric": "longest_wait_s",
        "channel": "call",
        "severity": "critical",
        "when": "above",
        "threshold": 30,
        "state": "firing",
        "since": "2026-11-29T22:00:30+08:00",
        "fired_at": "2026-11-29T22:00:40+08:00",
        "value": None,
        "idempotency_key": None,
    }
    assert alert["value"] == 199.0  # c1 waits on after c0 was answered
    assert alert["idempotency_key"] == idempotency_key(AlertKey("wait", "total"), BASE + 40)


def test_transitions_carry_the_alert() -> None:
    book = AlertBook({"sl": rule(for_s=0)})
    (t,) = book.evaluate(BASE, {KEY: 0.5})
    assert t == Transition("fired", book.active[KEY], BASE)
    assert book.firing() == [book.active[KEY]]


def test_a_restored_firing_keeps_its_fired_at_and_the_earliest_wins() -> None:
    book = AlertBook({"sl": rule(for_s=5, clear_for_s=2)})
    assert book.restore("gone", "total", 1, 2) is False  # a rule no longer configured
    assert book.restore("sl", "total", BASE - 100, BASE - 90) is True
    assert run(book, [0.5, 0.5]) == []  # still breached: firing since before, nothing fires again
    assert book.active[KEY].fired_at == BASE - 90
    assert book.restore("sl", "total", BASE - 50, BASE - 40) is False  # later than ours
    assert book.restore("sl", "total", BASE - 200, BASE - 150) is True  # earlier: the sender's
    assert book.active[KEY].idempotency_key == idempotency_key(KEY, BASE - 150)
    assert run(book, [0.9, 0.9, 0.9], BASE + 2) == [("resolved", BASE + 4)]


def test_agents_over_their_limit_can_be_watched() -> None:
    """'More than 2 agents on break too long, for a minute': the count of [agent_limits], per queue or total."""
    s = make_settings(
        agent_limits={"break": {"limit": 900}},
        alerts={
            "rules": {
                "breaks": {"metric": "agents_over_limit.break", "when": "above", "threshold": 1, "scope": "queue"}
            }
        },
    )
    engine = Engine(s.metrics, BASE)
    raw = {"type": "agent.state", "ts": (BASE - 1000) * 1000, "state": "break", "queues": ["信用卡"]}
    for i in range(2):
        engine.apply(parse(json.dumps({**raw, "event_id": f"b{i}", "agent_id": f"A{i}"}).encode()))
    engine.advance(BASE)
    assert measure(engine.snapshot(), s.alerts.rules, BASE) == {AlertKey("breaks", "queue:信用卡"): 2.0}


def test_group_rules_name_groups_that_exist_and_watch_their_exact_numbers() -> None:
    with pytest.raises(SettingsError) as caught:
        make_settings(alerts={"rules": {"g": {"metric": "waiting", "channel": "call", "scope": "group"}}})
    assert "alerts.rules.g.scope: 'group' needs [groups]" in str(caught.value)
    with pytest.raises(SettingsError) as caught:
        make_settings(
            groups={"个人业务": {"queues": ["信用卡"]}},
            alerts={"rules": {"g": {"metric": "waiting", "channel": "call", "scope": "group", "names": ["x"]}}},
        )
    assert "alerts.rules.g.names: unknown group 'x' (known: 个人业务)" in str(caught.value)
    s = make_settings(
        groups={"个人业务": {"queues": ["信用卡", "借记卡"]}},
        alerts={"rules": {"g": {"metric": "waiting", "channel": "call", "scope": "group", "when": "above"}}},
    )
    engine = Engine(s.metrics, BASE)
    engine.apply(call("offered", 1, BASE - 10))
    engine.apply(call("offered", 2, BASE - 5, queue="借记卡"))
    assert measure(engine.snapshot(), s.alerts.rules, BASE) == {AlertKey("g", "group:个人业务"): 2.0}

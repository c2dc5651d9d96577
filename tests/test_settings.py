"""Settings: the TOML layout of metrics.md, environment overrides, and a clear message for every bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from wallboard.errors import SettingsError
from wallboard.settings import load_settings, local_zone_name, parse_settings, settings_tree, with_overrides

EXAMPLE = """
timezone = "Asia/Shanghai"
window = 1800          # seconds
interval = 900         # seconds

[channels.call]
sl_threshold = 20
short_abandon = 5
sl_formula = "abandons_negative"
sl_target = 0.80

[channels.sms]
sl_threshold = 60
short_abandon = 0

[queues."信用卡".call]  # per-queue override of any channel setting
sl_threshold = 30
"""


def test_the_layout_of_metrics_md_loads(tmp_path: Path) -> None:
    path = tmp_path / "wallboard.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    s = load_settings(path, environ={})
    m = s.metrics
    assert (m.timezone, m.window, m.interval) == ("Asia/Shanghai", 1800, 900)
    assert m.channel("信用卡", "call").sl_threshold == 30
    assert m.channel("信用卡", "call").short_abandon == 5  # inherited from [channels.call]
    assert m.channel("信用卡", "sms").sl_threshold == 60
    assert m.channel("other", "call").sl_threshold == 20
    assert m.channels["sms"].sl_formula == "abandons_negative" and m.channels["sms"].sl_target == 0.8


def test_defaults_follow_metrics_md() -> None:
    m = parse_settings({"timezone": "UTC"}, environ={}).metrics
    assert (m.window, m.interval) == (1800, 900)
    assert (m.channels["call"].sl_threshold, m.channels["call"].short_abandon) == (20, 5)
    assert (m.channels["sms"].sl_threshold, m.channels["sms"].short_abandon) == (60, 0)
    assert m.channels["call"].sl_formula == "abandons_negative" and m.channels["call"].sl_target == 0.8


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = tmp_path / "w.toml"
    path.write_text(EXAMPLE, encoding="utf-8")
    env = {
        "WALLBOARD_WINDOW": "900",
        "WALLBOARD_CHANNELS__CALL__SL_FORMULA": "abandons_ignored",
        "WALLBOARD_KAFKA__TOPICS": "a.calls,a.agents",
        "WALLBOARD_WEB__PUSH_INTERVAL": "0.25",
        "WALLBOARD_KAFKA__DEAD_LETTER": "true",
    }
    s = load_settings(path, environ=env)
    assert s.metrics.window == 900 and s.metrics.channels["call"].sl_formula == "abandons_ignored"
    assert s.kafka.topics == ("a.calls", "a.agents") and s.web.push_interval == 0.25 and s.kafka.dead_letter


def test_config_path_from_environment(tmp_path: Path) -> None:
    path = tmp_path / "elsewhere.toml"
    path.write_text('timezone = "Europe/Paris"\n', encoding="utf-8")
    assert load_settings(environ={"WALLBOARD_CONFIG": str(path)}).metrics.timezone == "Europe/Paris"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone: unknown time zone 'Mars/Olympus_Mons'"),
        ({"window": -60}, "window: must be at least 1"),
        ({"window": "1800"}, "window: must be an integer, got str"),
        ({"interval": 0}, "interval: must be at least 60"),
        ({"channels": {"call": {"sl_threshold": "20"}}}, "channels.call.sl_threshold: must be a number, got str"),
        ({"channels": {"call": {"sl_threshold": True}}}, "channels.call.sl_threshold: must be a number, got bool"),
        ({"channels": {"sms": {"sl_formula": "abandons_whatever"}}}, "channels.sms.sl_formula: must be one of"),
        ({"channels": {"call": {"sl_target": 80}}}, "channels.call.sl_target: must be at most 1"),
        ({"channels": {"fax": {}}}, "channels.fax: unknown channel"),
        ({"queues": {"信用卡": {"call": {"sl_treshold": 30}}}}, 'queues."信用卡".call.sl_treshold: unknown setting'),
        ({"queues": {"x": {"call": {"short_abandon": -1}}}}, 'queues."x".call.short_abandon: must be at least 0'),
        ({"windw": 1800}, "windw: unknown setting"),
        ({"kafka": {"security_protocol": "TLS"}}, "kafka.security_protocol: must be one of"),
        ({"kafka": {"topics": []}}, "kafka.topics: must be a non-empty list"),
        ({"web": {"push_interval": 0.1}}, "web.push_interval: must be at least 0.25"),
        ({"web": {"port": 70000}}, "web.port: must be at most 65535"),
        ({"late_horizon": 60, "window": 1800}, "late_horizon: must be at least window (1800), got 60"),
        # Every red colour limit is at least its amber one.
        (
            {"channels": {"call": {"waiting_warn": 5, "waiting_alarm": 4}}},
            "waiting_alarm: must be at least waiting_warn",
        ),
        (
            {"channels": {"sms": {"longest_wait_alarm": 30}}},
            "sms.longest_wait_alarm: must be at least longest_wait_warn (60)",
        ),
        ({"channels": {"call": {"asa_alarm": 10}}}, "channels.call.asa_alarm: must be at least asa_warn (15), got 10"),
        (
            {"channels": {"call": {"aht_warn": 400, "aht_alarm": 300}}},
            "call.aht_alarm: must be at least aht_warn (400)",
        ),
        (
            {"channels": {"call": {"abandon_rate_warn": 0.2}}, "queues": {"x": {"call": {"abandon_rate_alarm": 0.15}}}},
            'queues."x".call.abandon_rate_alarm: must be at least abandon_rate_warn (0.2), got 0.15',
        ),
        ({"channels": {"call": {"abandon_rate_warn": 5}}}, "channels.call.abandon_rate_warn: must be at most 1"),
        ({"channels": {"call": {"asa_warn": -1}}}, "channels.call.asa_warn: must be at least 0"),
        ({"web": {"push_interval": float("nan")}}, "web.push_interval: must be a number, got float nan"),
        ({"queues": {"": {"call": {}}}}, 'queues."": a queue name has 1 to 64 characters'),
        ({"queues": {"x": 5}}, 'queues."x": must be a table of channels'),
    ],
)
def test_every_bad_value_gets_a_clear_message(data: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError) as info:
        parse_settings({"timezone": "UTC", **data}, environ={})
    assert any(message in p for p in info.value.problems), info.value.problems


def test_colour_limits_pair_up_a_limit_of_0_is_off_and_an_unset_red_limit_follows_the_amber_one() -> None:
    s = parse_settings(
        {
            "timezone": "UTC",
            "channels": {"call": {"asa_warn": 40, "aht_warn": 300}, "sms": {"waiting_warn": 50}},
            "queues": {"x": {"call": {"aht_alarm": 420, "abandon_rate_warn": 0, "abandon_rate_alarm": 0.02}}},
        },
        environ={},
    )
    call, sms, x = s.metrics.channels["call"], s.metrics.channels["sms"], s.metrics.channel("x", "call")
    assert (call.asa_warn, call.asa_alarm) == (40, 40)  # the default red limit (30) raised to the amber one
    assert (sms.waiting_warn, sms.waiting_alarm) == (50, 50)
    assert (call.aht_warn, call.aht_alarm) == (300, 0)  # red off: amber only
    assert (x.aht_warn, x.aht_alarm) == (300, 420)  # the queue's own red limit, the channel's amber one
    assert (x.abandon_rate_warn, x.abandon_rate_alarm) == (0, 0.02)  # amber off: any red limit will do
    defaults = parse_settings({"timezone": "UTC"}, environ={}).metrics.channels
    assert (defaults["call"].aht_warn, defaults["call"].aht_alarm) == (0, 0)  # AHT: no colour unless asked
    assert (defaults["call"].asa_warn, defaults["call"].asa_alarm) == (15, 30)
    assert (defaults["sms"].asa_warn, defaults["sms"].asa_alarm) == (40, 60)
    assert (defaults["sms"].abandon_rate_warn, defaults["sms"].abandon_rate_alarm) == (0.05, 0.10)


def test_all_problems_are_reported_at_once() -> None:
    with pytest.raises(SettingsError) as info:
        parse_settings(
            {"timezone": "Nowhere/Town", "window": -1, "channels": {"call": {"sl_formula": "x"}}}, environ={}
        )
    assert len(info.value.problems) == 3
    assert "invalid settings:" in str(info.value)


def test_unreadable_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(tmp_path / "missing.toml", environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text("window = = 3", encoding="utf-8")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(bad, environ={})


def test_secrets_are_not_in_repr() -> None:
    s = parse_settings(
        {
            "timezone": "UTC",
            "kafka": {"sasl_password": "hunter2", "ssl_password": "p@ss"},
            "auth": {"session_secret": "tok3n" * 8},
        },
        environ={},
    )
    text = repr(s)
    assert "hunter2" not in text and "p@ss" not in text and "tok3n" not in text


def test_secrets_are_not_in_error_messages() -> None:
    with pytest.raises(SettingsError) as info:
        parse_settings(
            {
                "timezone": "UTC",
                "kafka": {"sasl_password": 74839201, "ssl_password": ["p@ss"]},
                "auth": {"session_secret": 31415926},
            },
            environ={},
        )
    text = str(info.value)
    assert "74839201" not in text and "p@ss" not in text and "31415926" not in text
    assert "kafka.sasl_password: must be a string, got int (a secret: not shown)" in info.value.problems
    assert len(info.value.problems) == 3


def test_a_text_setting_takes_the_variable_as_written() -> None:
    """A password or a client id of digits reads as TOML's integer; a text setting takes the text instead."""
    env = {
        "WALLBOARD_AUTH__SESSION_SECRET": "74839201" * 4,
        "WALLBOARD_KAFKA__CLIENT_ID": "007",
        "WALLBOARD_KAFKA__SASL_PASSWORD": '"quoted"',
        "WALLBOARD_WEB__PORT": "9000",
    }
    s = load_settings(environ=env)
    assert s.auth.session_secret == "74839201" * 4 and s.kafka.client_id == "007"
    assert s.kafka.sasl_password == "quoted" and s.web.port == 9000


def test_overrides_are_validated_like_the_file() -> None:
    s = parse_settings({"timezone": "UTC", "window": 900, "queues": {"q": {"sms": {"sl_threshold": 90}}}}, environ={})
    t = with_overrides(s, web={"push_interval": 60, "port": 9000}, kafka={"bootstrap_servers": "k:9092"})
    assert (t.web.push_interval, t.web.port, t.kafka.bootstrap_servers) == (60, 9000, "k:9092")
    assert (t.metrics, t.simulator, t.web.host) == (s.metrics, s.simulator, s.web.host)
    assert with_overrides(s, metrics={"window": 600}).metrics.window == 600
    with pytest.raises(SettingsError) as info:
        with_overrides(s, web={"push_interval": 3600, "prot": 1}, metrics={"interval": 1})
    assert sorted(p.split(":")[0] for p in info.value.problems) == ["interval", "web.prot", "web.push_interval"]


def test_settings_decode_back_from_their_tree() -> None:
    s = parse_settings(
        {
            "timezone": "Asia/Shanghai",
            "queues": {"信用卡": {"call": {"sl_threshold": 30}}},
            "kafka": {"topics": ["a", "b"], "sasl_password": "x"},
        },
        environ={},
    )
    tree = settings_tree(s)
    assert tree["kafka"]["topics"] == ["a", "b"] and tree["queues"]["信用卡"]["call"]["sl_threshold"] == 30
    assert parse_settings(tree, environ={}) == s


def test_machine_zone_from_tz_variable() -> None:
    assert local_zone_name({"TZ": "Asia/Shanghai"}) == "Asia/Shanghai"
    assert parse_settings({}, environ={"TZ": "Europe/Berlin"}).metrics.timezone == "Europe/Berlin"


def test_one_list_of_channels() -> None:
    """Adding a channel to wallboard.events.CHANNELS is the one change the code needs; this lists the rest:
    its defaults, its topic in the simulator, and (tests/test_pages_render.py) its labels."""
    from wallboard.events import CHANNELS
    from wallboard.settings import ChannelSettings, Setting, fields_of
    from wallboard.simulator.encode import TOPICS

    for f in fields_of(ChannelSettings):
        assert isinstance(f.meta, Setting)
        if f.meta.by_name is not None:
            assert set(f.meta.by_name) == set(CHANNELS), f.name
    assert set(CHANNELS) <= set(TOPICS)
    with pytest.raises(SettingsError) as info:
        parse_settings({"channels": {"fax": {}}}, environ={})
    assert f"(known: {', '.join(CHANNELS)})" in str(info.value)


def test_command_line_flags_are_checked_like_the_file(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from wallboard.cli import main

    config = tmp_path / "wallboard.toml"
    config.write_text('timezone = "UTC"\n', encoding="utf-8")
    result = CliRunner().invoke(
        main, ["simulate", "--config", str(config), "--scenario", "small-centre", "--bootstrap", ""]
    )
    assert result.exit_code == 1 and "kafka.bootstrap_servers: must not be empty" in result.output

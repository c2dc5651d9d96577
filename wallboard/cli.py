"""The ``wallboard`` command: thin click wrappers over the library.

Settings come from the settings file and ``WALLBOARD_*`` environment overrides
(wallboard/settings.py); flags override both for one run.  (click's
auto_envvar_prefix is deliberately not used: its ``WALLBOARD_<COMMAND>_<FLAG>``
names would collide with the settings' own variables.)  Start-up errors become
one clear message and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import click
import orjson

from wallboard import __version__, build, logs
from wallboard.errors import SettingsError, WallboardError
from wallboard.settings import Settings, load_settings, with_overrides

if TYPE_CHECKING:
    from wallboard.sources.base import EventSource
    from wallboard.sources.control import ControlChannel
    from wallboard.sources.election import SenderElection
    from wallboard.web.live import Clock

log = logging.getLogger(__name__)
CONTEXT = {"help_option_names": ["-h", "--help"]}


def _settings(config: str | None) -> Settings:
    """The settings, and logging configured from their ``[log]`` table (the first thing every command does)."""
    try:
        settings = load_settings(config)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    logs.configure(settings.log)
    return settings


def _override(settings: Settings, **sections: Mapping[str, object]) -> Settings:
    """The settings with some flags' values in place, checked like the file's."""
    try:
        return with_overrides(settings, **sections)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _print_json(data: object) -> None:
    sys.stdout.buffer.write(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()


config_option = click.option(
    "--config",
    "-c",
    type=click.Path(dir_okay=False),
    default=None,
    help="Settings file (TOML). Default: $WALLBOARD_CONFIG, else ./wallboard.toml if present.",
)


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="wallboard")
def main() -> None:
    """wallboard: a real-time supervisor wallboard for contact centres."""


@main.command()
@click.argument("events_file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--at",
    "at",
    required=True,
    help="The moment to show: 2026-11-29T10:15:00+08:00, a local 2026-11-29T10:15 (configured zone), or Unix seconds.",
)
@config_option
@click.option("--agents", "view", flag_value="agents", help="Print the per-agent rows instead of the snapshot.")
@click.option("--intraday", "view", flag_value="intraday", help="Print today's intervals instead of the snapshot.")
@click.option(
    "--alerts",
    "view",
    flag_value="alerts",
    help="Print the alerts active at --at and since when ([alerts.rules], folded over every second).",
)
def replay(events_file: str, at: str, config: str | None, view: str | None) -> None:
    """Print what the board showed at --at, computed from EVENTS_FILE (one raw message per line, any order)."""
    from wallboard.replay import parse_time, read_lines, replay_alerts
    from wallboard.replay import replay as run_replay

    settings = _settings(config)
    try:
        at_s = parse_time(at, settings.metrics)
    except WallboardError as exc:
        raise click.BadParameter(str(exc), param_hint="--at") from None
    if view == "alerts":
        from wallboard.alerts import alerts_view

        engine, book = replay_alerts(read_lines(events_file), settings, at_s)
        _print_json(alerts_view(book, settings, engine.days.iso(at_s)))
        return
    engine = run_replay(read_lines(events_file), settings.metrics, at_s)
    if view == "agents":
        _print_json(engine.agents())
    elif view == "intraday":
        _print_json(engine.intraday())
    else:
        _print_json(engine.snapshot())


# Further commands (demo, serve, simulate) are registered below this line.


@main.command()
@config_option
@click.option(
    "--out", "out", type=click.Path(dir_okay=False), help="Write the day's events to this file (replay format)."
)
@click.option(
    "--bootstrap", help="Publish to this Kafka broker (host:port[,host:port]); overrides [kafka] bootstrap_servers."
)
@click.option("--scenario", help="Scenario name (seeds/) or path. Default: [simulator] scenario.")
@click.option("--seed", type=int, help="Random seed. Default: [simulator] seed.")
@click.option(
    "--scale",
    type=click.FloatRange(min=0.01),
    default=1.0,
    show_default=True,
    help="Multiply the traffic and the staff.",
)
@click.option("--date", "day", help="The day to simulate, YYYY-MM-DD (default: today in the configured zone).")
@click.option(
    "--speed",
    type=click.FloatRange(min=0),
    help="Kafka only: simulated seconds per real second after the "
    "day so far has been sent (0 = all at once). Default: [simulator] speed.",
)
@click.option("--count", type=click.IntRange(min=1), help="Stop after this many messages.")
@click.option("--duplicates", type=click.FloatRange(0, 1), default=0.0, help="Noise: share of messages re-sent.")
@click.option("--late", type=click.FloatRange(0, 1), default=0.0, help="Noise: share of messages delivered late.")
@click.option("--invalid", type=click.FloatRange(0, 1), default=0.0, help="Noise: share of broken messages added.")
def simulate(
    config: str | None,
    out: str | None,
    bootstrap: str | None,
    scenario: str | None,
    seed: int | None,
    scale: float,
    day: str | None,
    speed: float | None,
    count: int | None,
    duplicates: float,
    late: float,
    invalid: float,
) -> None:
    """Generate a simulated contact-centre day: write it to a file (--out) or publish it to Kafka (--bootstrap)."""
    import asyncio
    import itertools
    from datetime import date, datetime

    from wallboard.simulator import Noise, Simulator, load_scenario, write_events_file
    from wallboard.simulator.publish import publish

    if (out is None) == (bootstrap is None):
        raise click.UsageError("give exactly one of --out FILE or --bootstrap HOST:PORT")
    settings = _settings(config)
    zone = settings.metrics.zone
    try:
        the_day = date.fromisoformat(day) if day else datetime.now(zone).date()
    except ValueError:
        raise click.BadParameter(f"{day!r} is not a date (YYYY-MM-DD)", param_hint="--date") from None
    try:
        loaded = load_scenario(scenario or settings.simulator.scenario)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    noise = (
        Noise(duplicate_rate=duplicates, reorder_rate=late, invalid_rate=invalid)
        if duplicates or late or invalid
        else None
    )
    sim = Simulator(
        loaded, seed=settings.simulator.seed if seed is None else seed, day=the_day, tz=zone, scale=scale, noise=noise
    )
    if out is not None:
        events = sim.events()
        written = write_events_file(out, itertools.islice(events, count) if count else events)
        click.echo(f"wrote {written:,} messages of {loaded.name} on {the_day} to {out}", err=True)
        return
    kafka = _override(settings, kafka={"bootstrap_servers": bootstrap}).kafka

    def progress(sent: int, ts_ms: int) -> None:
        click.echo(f"sent {sent:,} messages, up to {datetime.fromtimestamp(ts_ms / 1000, zone):%H:%M:%S}", err=True)

    try:
        sent = asyncio.run(
            publish(
                sim.stream(),
                kafka,
                speed=settings.simulator.speed if speed is None else speed,
                limit=count,
                progress=progress,
            )
        )
    except KeyboardInterrupt:
        return
    except Exception as exc:  # noqa: BLE001 - one clear line for the user, not a traceback
        raise click.ClickException(f"publishing to {kafka.bootstrap_servers} failed: {exc!r}") from None
    click.echo(f"sent {sent:,} messages to {kafka.bootstrap_servers}", err=True)


_F = TypeVar("_F", bound=Callable[..., Any])


def _web_options(f: _F) -> _F:
    f = click.option("--port", type=click.IntRange(0, 65535), help="Port to listen on. Default: [web] port (8080).")(f)
    f = click.option("--host", help="Address to listen on. Default: [web] host (127.0.0.1).")(f)
    return config_option(f)


def _run_web(
    settings: Settings,
    source: EventSource,
    clock: Clock,
    host: str | None,
    port: int | None,
    what: str,
    control: ControlChannel | None = None,
    election: SenderElection | None = None,
) -> None:
    import uvicorn

    from wallboard.web.app import create_app
    from wallboard.web.serving import uvicorn_options

    web: dict[str, object] = {}
    if host is not None:
        web["host"] = host
    if port is not None:
        web["port"] = port
    if web:
        settings = _override(settings, web=web)
    import os

    from wallboard.web.watchdog import Watchdog

    try:
        app = create_app(
            settings,
            source,
            clock=clock,
            watchdog=Watchdog.from_environ(os.environ),
            control=control,
            election=election,
        )
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    base = f"http://{settings.web.host}:{settings.web.port}"
    log.info("wallboard %s: the wall TV at %s/tv, supervisors at %s/supervisor (Ctrl+C stops)", what, base, base)
    log.info("wallboard %s, engine %s (docs/deployment.md)", __version__, build())
    # uvicorn_options(): the WebSocket protocol, the limits, no proxy headers (wallboard/web/serving.py).
    uvicorn.run(
        app,
        host=settings.web.host,
        port=settings.web.port,
        log_config=None,  # logging is configured already (wallboard/logs.py), uvicorn's loggers included
        **uvicorn_options(settings),
    )


@main.command()
@_web_options
@click.option("--scenario", help="Scenario name (seeds/) or path. Default: [simulator] scenario (bank-hotline).")
@click.option("--seed", type=int, help="Random seed. Default: [simulator] seed.")
@click.option(
    "--scale",
    type=click.FloatRange(min=0.01),
    default=1.0,
    show_default=True,
    help="Multiply the traffic and the staff.",
)
@click.option(
    "--speed",
    type=click.FloatRange(min=0.01, max=10000),
    help="Simulated seconds per real second. Default: [simulator] speed (1).",
)
def demo(
    config: str | None,
    host: str | None,
    port: int | None,
    scenario: str | None,
    seed: int | None,
    scale: float,
    speed: float | None,
) -> None:
    """Run the board fed by the built-in traffic simulator (no Kafka needed)."""
    from wallboard.simulator import load_scenario
    from wallboard.sources.simulated import SimulatorSource

    settings = _settings(config)
    try:
        loaded = load_scenario(scenario or settings.simulator.scenario)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    source = SimulatorSource(
        loaded,
        tz=settings.metrics.zone,
        seed=settings.simulator.seed if seed is None else seed,
        scale=scale,
        speed=settings.simulator.speed if speed is None else speed,
    )
    _run_web(settings, source, source.clock, host, port, f"demo ({loaded.name})")


@main.command()
@_web_options
def serve(config: str | None, host: str | None, port: int | None) -> None:
    """Run the board fed by Kafka ([kafka] settings; see docs/kafka.md)."""
    import time

    from wallboard.sources.control import KafkaControl
    from wallboard.sources.election import KafkaSenderElection
    from wallboard.sources.kafka import KafkaSource, client_options

    settings = _settings(config)
    source = KafkaSource(settings.kafka, settings.metrics)
    control = election = None
    if settings.kafka.control_topic:
        control = KafkaControl(settings.kafka, client_options(settings.kafka))
        if settings.alerts.rules:
            election = KafkaSenderElection(settings.kafka, client_options(settings.kafka))
    else:
        log.warning("[kafka] control_topic is empty: a broadcast reaches this instance only, and a restart loses it")
    what = f"serve (Kafka {settings.kafka.bootstrap_servers})"
    _run_web(settings, source, time.time, host, port, what, control, election)


@main.group()
def auth() -> None:
    """Make the credentials [auth] holds: password hashes, tokens, the session secret (docs/security.md)."""


@auth.command("hash-password")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
def hash_password(password_stdin: bool) -> None:
    """Print the argon2id hash of a password, for [auth.users.NAME] password_hash."""
    from argon2 import PasswordHasher

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 12:
        raise click.ClickException("a password has at least 12 characters")
    click.echo(PasswordHasher().hash(password))


@auth.command("token")
@click.argument("name")
@click.option(
    "--role",
    type=click.Choice(["display", "supervisor", "admin", "monitor"]),
    default="display",
    show_default=True,
    help="What the token may do.",
)
def make_token(name: str, role: str) -> None:
    """Make a token NAME (e.g. lobby-tv): prints the token once, and the settings lines that hold its hash."""
    from wallboard.web.auth import new_token, token_hash

    if not 1 <= len(name) <= 64 or not all(c.isalnum() or c in "-_." for c in name):
        raise click.ClickException("a token name has 1 to 64 letters, digits, '-', '_' or '.'")
    token = new_token()
    click.echo(f"token (shown once; a display opens /tv?token=...): {token}", err=True)
    click.echo(f'[auth.tokens.{name}]\nrole = "{role}"\nsha256 = "{token_hash(token)}"')


@auth.command("secret")
def make_secret() -> None:
    """Print a new auth.session_secret (the same on every instance; changing it signs everyone out)."""
    import secrets

    click.echo(secrets.token_urlsafe(48))

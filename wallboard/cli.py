"""The ``wallboard`` command: thin click wrappers over the library.

Every flag can also be given as an environment variable (``WALLBOARD_<FLAG>``
through click's auto_envvar_prefix); settings proper come from the settings
file and ``WALLBOARD_*`` overrides (wallboard/settings.py).  Start-up errors
become one clear message and exit status 2, never a traceback.
"""

from __future__ import annotations

import sys
from typing import Any

import click
import orjson

from wallboard import __version__
from wallboard.errors import SettingsError, WallboardError
from wallboard.settings import Settings, load_settings

CONTEXT = {"auto_envvar_prefix": "WALLBOARD", "help_option_names": ["-h", "--help"]}


def _settings(config: str | None) -> Settings:
    try:
        return load_settings(config)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def _print_json(data: Any) -> None:
    sys.stdout.buffer.write(orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()


config_option = click.option(
    "--config", "-c", type=click.Path(dir_okay=False), default=None,
    help="Settings file (TOML). Default: $WALLBOARD_CONFIG, else ./wallboard.toml if present.",
)


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="wallboard")
def main() -> None:
    """wallboard: a real-time supervisor wallboard for contact centres."""


@main.command()
@click.argument("events_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--at", "at", required=True,
              help="The moment to show: 2026-11-29T10:15:00+08:00, a local 2026-11-29T10:15 (configured zone), "
                   "or Unix seconds.")
@config_option
@click.option("--agents", "view", flag_value="agents", help="Print the per-agent rows instead of the snapshot.")
@click.option("--intraday", "view", flag_value="intraday", help="Print today's intervals instead of the snapshot.")
def replay(events_file: str, at: str, config: str | None, view: str | None) -> None:
    """Print what the board showed at --at, computed from EVENTS_FILE (one raw message per line, any order)."""
    from wallboard.replay import parse_time, read_lines
    from wallboard.replay import replay as run_replay

    settings = _settings(config)
    try:
        at_s = parse_time(at, settings.metrics)
    except WallboardError as exc:
        raise click.BadParameter(str(exc), param_hint="--at") from None
    engine = run_replay(read_lines(events_file), settings.metrics, at_s)
    if view == "agents":
        _print_json(engine.agents())
    elif view == "intraday":
        _print_json(engine.intraday())
    else:
        _print_json(engine.snapshot())


# Further commands (demo, serve, simulate) are registered below this line.

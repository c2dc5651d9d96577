"""Writes docs/configuration.md from the settings tables (run: ``python -m wallboard.settings_doc``).

tests/test_docs.py fails when the committed page differs from this output, so
the documented settings can never drift from the code.
"""

from __future__ import annotations

import sys
from typing import Any

from wallboard.settings import CHANNEL_SETTINGS, SECTIONS, TOP_SETTINGS, Setting

INTRO = '# Configuration\n\nSettings come from one TOML file plus environment overrides, and are validated\nat start: every bad value is listed at once, with its key, and the command\nexits with status 1 (`wallboard: invalid settings: ...`). The tables below are\ngenerated from `wallboard/settings.py` (`scripts/gen-config-doc`), and\n`tests/test_docs.py` checks that every setting is documented here.\n\n## Where settings come from\n\n1. The file: `--config FILE`, else `$WALLBOARD_CONFIG`, else `./wallboard.toml` if it exists, else defaults.\n2. Environment overrides: `WALLBOARD_` + the key path in capitals joined by `__`:\n   `WALLBOARD_TIMEZONE=Asia/Shanghai`, `WALLBOARD_WINDOW=900`,\n   `WALLBOARD_CHANNELS__CALL__SL_THRESHOLD=20`, `WALLBOARD_KAFKA__BOOTSTRAP_SERVERS=10.1.2.3:9092`,\n   `WALLBOARD_KAFKA__TOPICS=cc.calls,cc.sms,cc.agents`, `WALLBOARD_WEB__PORT=8080`.\n   Values are read as TOML values when they are one (`20`, `0.8`, `true`, `["a","b"]`), else as text.\n   Per-queue overrides can only be set in the file.\n3. Command-line flags of `wallboard demo` / `serve` (host, port, ...) override both.\n\nSecrets (`kafka.sasl_password`, `kafka.ssl_password`, `web.supervisor_token`) are never logged or shown.\n\n## Example\n\n```toml\ntimezone = "Asia/Shanghai"\nwindow = 1800          # seconds\ninterval = 900         # seconds\n\n[channels.call]\nsl_threshold = 20\nshort_abandon = 5\nsl_formula = "abandons_negative"\nsl_target = 0.80\n\n[channels.sms]\nsl_threshold = 60\nshort_abandon = 0\n\n[queues."信用卡".call]  # per-queue override of any channel setting\nsl_threshold = 30\n\n[kafka]\nbootstrap_servers = "kafka1:9092,kafka2:9092"\ndead_letter = true\n\n[web]\nport = 8080\npush_interval = 1.0\n```\n\n## Metric settings (top level)\n\n'

CHANNEL_INTRO = """
## Channel settings: `[channels.call]`, `[channels.sms]`, and per queue `[queues."NAME".call]` / `.sms`

A per-queue table overrides any of these for one queue; unset keys fall back to the channel's value.
"""


def _default(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    if value is None:
        return "machine's zone"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


def _table(settings: tuple[Setting, ...]) -> list[str]:
    rows = ["| setting | default | meaning |", "|---|---|---|"]
    rows += [f"| `{s.name}` | {_default(s.default)} | {s.help} |" for s in settings]
    return rows


def render() -> str:
    out = [INTRO.rstrip("\n") + "\n", *_table(TOP_SETTINGS), CHANNEL_INTRO, *_table(CHANNEL_SETTINGS)]
    for name, table in SECTIONS.items():
        out += [f"\n## `[{name}]`\n", *_table(table)]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())

"""Writes docs/configuration.md from the settings tables (run: ``python -m wallboard.settings_doc``).

tests/test_docs.py fails when the committed page differs from this output, so
the documented settings can never drift from the code.
"""

from __future__ import annotations

import sys
from typing import Any

from wallboard.settings import CHANNEL_SETTINGS, SECTIONS, TOP_SETTINGS, Setting

INTRO = """\
# Configuration

Settings come from one TOML file plus environment overrides, and are validated
at start: every bad value is listed at once, with its key, and the command
exits with status 1 (`wallboard: invalid settings: ...`). The tables below are
generated from `wallboard/settings.py` (`scripts/gen-config-doc`), and
`tests/test_docs.py` checks that every setting is documented here.

## Where settings come from

1. The file: `--config FILE`, else `$WALLBOARD_CONFIG`, else `./wallboard.toml` if it exists, else defaults.
2. Environment overrides: `WALLBOARD_` + the key path in capitals joined by `__`:
   `WALLBOARD_TIMEZONE=Asia/Shanghai`, `WALLBOARD_WINDOW=900`,
   `WALLBOARD_CHANNELS__CALL__SL_THRESHOLD=20`, `WALLBOARD_KAFKA__BOOTSTRAP_SERVERS=10.1.2.3:9092`,
   `WALLBOARD_KAFKA__TOPICS=cc.calls,cc.sms,cc.agents`, `WALLBOARD_WEB__PORT=8080`.
   Values are read as TOML values when they are one (`20`, `0.8`, `true`, `["a","b"]`), else as text.
   Per-queue overrides can only be set in the file.
3. Command-line flags of `wallboard demo` / `serve` (host, port, ...) override both.

Secrets (`kafka.sasl_password`, `kafka.ssl_password`, `web.supervisor_token`) are never logged or shown.

## Example

```toml
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

[kafka]
bootstrap_servers = "kafka1:9092,kafka2:9092"
dead_letter = true

[web]
port = 8080
push_interval = 1.0
```

## Metric settings (top level)

"""

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

"""Writes docs/configuration.md from the settings' declarations (run: ``python -m wallboard.settings_doc``).

Every table below is generated from the fields of the settings dataclasses
(wallboard/settings.py): their names, defaults and help.  tests/test_docs.py
fails when the committed page differs from this output, so the documented
settings can never drift from the code.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import get_args

from wallboard.settings import Entries, Field, Section, Setting, Settings, fields_of

INTRO = """\
# Configuration

Settings come from one TOML file plus environment overrides, and are validated
at start: every bad value is listed at once, with its key, and the command
exits with status 1 (`wallboard: invalid settings: ...`); a secret's value is
never shown. Command-line flags are checked the same way. The tables below are
generated from the declarations in `wallboard/settings.py` (`scripts/gen-config-doc`),
and `tests/test_docs.py` checks that every setting is documented here.

## Where settings come from

1. The file: `--config FILE`, else `$WALLBOARD_CONFIG`, else `./wallboard.toml` if it exists, else defaults.
2. Environment overrides: `WALLBOARD_` + the key path in capitals joined by `__`:
   `WALLBOARD_TIMEZONE=Asia/Shanghai`, `WALLBOARD_WINDOW=900`,
   `WALLBOARD_CHANNELS__CALL__SL_THRESHOLD=20`, `WALLBOARD_KAFKA__BOOTSTRAP_SERVERS=10.1.2.3:9092`,
   `WALLBOARD_KAFKA__TOPICS=cc.calls,cc.sms,cc.agents`, `WALLBOARD_WEB__PORT=8080`.
   Values are read as TOML values when they are one (`20`, `0.8`, `true`, `["a","b"]`), else as text;
   a text setting takes the variable as written unless it is a TOML string
   (`WALLBOARD_KAFKA__SASL_PASSWORD=74839201` is the text `74839201`).
   Per-queue overrides can only be set in the file.
3. Command-line flags of `wallboard demo` / `serve` (host, port, ...) override both.

Secrets (`kafka.sasl_password`, `kafka.ssl_password`, `auth.session_secret`) are never logged or shown;
[auth] holds only hashes of passwords and tokens (docs/security.md).

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

[agent_limits.break]   # agents over their limit are counted (docs/metrics.md); default: no limit
limit = 900            # seconds
reasons = { lunch = { limit = 3600 }, training = { limit = 0 } }  # reason codes' own; 0: no limit

[agent_limits.wrap_up]
limit = 120

[kafka]
bootstrap_servers = "kafka1:9092,kafka2:9092"
dead_letter = true

[web]
port = 8080
push_interval = 1.0
```
"""


def _default(f: Field) -> str:
    meta = f.meta
    assert isinstance(meta, Setting)
    if meta.shown_default is not None:
        return meta.shown_default
    value = meta.by_name if meta.by_name is not None else f.default()
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple):
        return str(list(value))
    return str(value)


def _meaning(meta: Setting) -> str:
    """The help, and the rule against a sibling (``at_least``) that a value must follow."""
    if meta.at_least is None:
        return meta.help
    off = " unless either is 0" if meta.zero_off else ""
    return f"{meta.help}; at least `{meta.at_least[0]}`{off} (left unset: raised to it)"


def _table(cls: type[object]) -> list[str]:
    rows = ["| setting | default | meaning |", "|---|---|---|"]
    rows += [
        f"| `{f.name}` | {_default(f)} | {_meaning(f.meta)} |" for f in fields_of(cls) if isinstance(f.meta, Setting)
    ]
    return rows


def _entries(fields: Sequence[Field]) -> list[str]:
    """A table of each kind of named entries (``[channels.call]``), with the tables shaped like it (queues)."""
    out: list[str] = []
    for f in fields:
        meta = f.meta
        if not isinstance(meta, Entries) or meta.like is not None or meta.names is None:
            continue
        names = meta.names
        heading = f"## {meta.noun.capitalize()} settings: " + ", ".join(f"`[{f.name}.{n}]`" for n in names)
        notes = []
        for like in fields:
            lm = like.meta
            if isinstance(lm, Entries) and lm.like == f.name:
                heading += f', and per {lm.noun} `[{like.name}."NAME".{names[0]}]`'
                heading += "".join(f" / `.{n}`" for n in names[1:])
                notes.append(
                    f"A per-{lm.noun} table overrides any of these for one {lm.noun}; "
                    f"unset keys fall back to the {meta.noun}'s value."
                )
        inner = get_args(f.type)[1]
        out += ["", heading, "", *([*notes, ""] if notes else []), *_table(inner)]
        out += _named(f"{f.name}.STATE", fields_of(inner))  # its own named entries ([agent_limits.STATE.reasons])
    return out


def _named(section: str, fields: Sequence[Field], level: str = "###") -> list[str]:
    """Tables of entries with any names inside a section (``[auth.users."NAME"]``; ``[groups."NAME"]`` at the top)."""
    out: list[str] = []
    prefix = f"{section}." if section else ""
    for f in fields:
        meta = f.meta
        if isinstance(meta, Entries) and meta.names is None and meta.like is None:
            inner = get_args(f.type)[1]
            doc = (inner.__doc__ or "").strip()
            doc = "" if doc.startswith(f"{inner.__name__}(") else doc  # the dataclass's own signature
            out += ["", f'{level} `[{prefix}{f.name}."NAME"]`: one per {meta.noun}', ""]
            out += [doc, ""] if doc else []
            out += _table(get_args(f.type)[1])
    return out


def render() -> str:
    out = [INTRO.rstrip("\n")]
    for f in fields_of(Settings):
        meta = f.meta
        if isinstance(meta, Entries):  # [boards.NAME]: a table of named entries at the top level
            out += _named("", [f], "##")
            continue
        assert isinstance(meta, Section)
        title = meta.title or f"`[{f.name}]`"
        out += [f"\n## {title}\n", *_table(f.type)]
        if meta.inline:
            out += _entries(fields_of(f.type))
            # Its own tables ([limits]), at the file's top level like its keys.
            for sub in fields_of(f.type):
                if isinstance(sub.meta, Section):
                    out += [f"\n## {sub.meta.title or f'`[{sub.name}]`'}\n", *_table(sub.type)]
        out += _named("" if meta.inline else f.name, fields_of(f.type))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())

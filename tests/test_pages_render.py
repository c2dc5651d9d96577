"""The page templates and static files, checked without a browser (tests/test_browser.py drives them).

Rendering with a hostile context, the i18n dictionaries against every key the pages use,
and guards against the patterns that would let event data in as markup.
"""

from __future__ import annotations

import html.parser
import json
import re
from pathlib import Path
from typing import Any

import jinja2
import pytest

from wallboard.events import CHANNELS

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"
OWN_JS = tuple(sorted(p.name for p in STATIC.glob("*.js")))  # every script of ours (uPlot is in vendor/)
EVIL = "<img src=x onerror=alert(1)>"


def _env() -> jinja2.Environment:
    # The same autoescaping the app's Jinja2Templates uses (on for .html).
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=jinja2.select_autoescape(["html"]))


def _ctx(settings: dict[str, Any] | None = None, lang: str = "en") -> dict[str, Any]:
    settings = (
        settings
        if settings is not None
        else {
            "channels": {"call": {"sl_threshold": 20, "sl_formula": "abandons_negative", "sl_target": 0.8}},
            "queues": {EVIL: {"call": {"sl_threshold": 30}}, '"><script>alert(2)</script>': {}},
        }
    )
    return {
        "lang": lang,
        "static_url": lambda path: f"/static/{path}?v=test",
        "push_interval_s": 1.0,
        "stale_after_s": 60.0,
        "settings_json": json.dumps(settings, ensure_ascii=False),
        "channels": CHANNELS,
    }


class _Collector(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.script_text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.script_text.append(data)


def _parse(page: str) -> _Collector:
    c = _Collector()
    c.feed(page)
    return c


def _i18n() -> dict[str, dict[str, str]]:
    """The two dictionaries of static/i18n.js, read with a regex (keys are plain identifiers)."""
    text = (STATIC / "i18n.js").read_text(encoding="utf-8")
    en_part, zh_part = text.split("var zh = {", 1)
    entry = re.compile(r'^\s{4}(\w+):\s*"((?:[^"\\]|\\.)*)"', re.M)
    return {"en": dict(entry.findall(en_part)), "zh-CN": dict(entry.findall(zh_part))}


@pytest.mark.parametrize("page", ["tv.html", "supervisor.html"])
@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_page_renders_and_escapes_the_context(page: str, lang: str) -> None:
    out = _env().get_template(page).render(_ctx(lang=lang))
    assert "<script>alert" not in out
    assert EVIL not in out  # only ever as &lt;img ...
    body = next(attrs for tag, attrs in _parse(out).elements if tag == "body")
    # The settings reach the scripts through an escaped attribute and come back intact.
    settings = json.loads(body["data-settings"] or "")
    assert EVIL in settings["queues"]
    assert body["data-lang"] == lang
    assert float(body["data-push-interval"] or 0) == 1.0
    assert float(body["data-stale-after"] or 0) == 60.0
    # Until the first snapshot arrives the page says it has no data.
    assert body["data-state"] == "waiting"  # no numbers until the first data


@pytest.mark.parametrize("page", ["tv.html", "supervisor.html"])
def test_no_inline_script_style_or_handlers(page: str) -> None:
    parsed = _parse(_env().get_template(page).render(_ctx()))
    assert parsed.script_text == []
    for tag, attrs in parsed.elements:
        assert "style" not in attrs, tag
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        if tag == "script":
            assert (attrs.get("src") or "").startswith("/static/")
        for name in ("src", "href"):
            assert not (attrs.get(name) or "").startswith(("http:", "https:", "//")), "no CDN: boards run offline"


def test_both_languages_have_the_same_keys_and_no_empty_text() -> None:
    d = _i18n()
    assert len(d["en"]) > 100
    assert set(d["en"]) == set(d["zh-CN"])
    assert all(v.strip() for lang in d.values() for v in lang.values())
    # The Chinese dictionary is Chinese: labels differ from English apart from a few symbols.
    assert sum(d["en"][k] != d["zh-CN"][k] for k in d["en"]) > 0.9 * len(d["en"])


def test_every_label_the_pages_use_is_translated() -> None:
    keys = set(_i18n()["en"])
    used: set[str] = set()
    for page in ("tv.html", "supervisor.html"):
        out = _env().get_template(page).render(_ctx())
        for _tag, attrs in _parse(out).elements:
            for name, value in attrs.items():
                if name.startswith("data-i18n") and value:
                    used.add(value)
    for name in OWN_JS:
        # WB.t("key") with a whole literal; WB.t("state_" + s) is covered by the list below.
        used.update(re.findall(r'WB\.t\("(\w+)"\s*[,)]', (STATIC / name).read_text(encoding="utf-8")))
    # Keys built at run time: "state_" + state, "ch_" + channel, "status_" + state, "sl_formula_" + formula.
    used.update(f"state_{s}" for s in ("available", "busy", "wrap_up", "break", "offline"))
    used.update(f"ch_{c}" for c in CHANNELS)
    used.update(f"col_handled_{c}" for c in CHANNELS)
    used.update(f"status_{s}" for s in ("waiting", "fresh", "quiet", "ageing", "stale"))
    used.update(f"sl_formula_{f}" for f in ("abandons_negative", "abandons_ignored", "abandons_positive"))
    reasons = ("disconnected", "lagging", "no_recent_events", "pump_failed", "tick_failed")
    used.update(f"reason_source_{r}" for r in reasons)
    missing = used - keys
    assert not missing, f"labels without a translation: {sorted(missing)}"


@pytest.mark.parametrize("name", OWN_JS)
def test_scripts_never_build_markup_from_strings(name: str) -> None:
    code = (STATIC / name).read_text(encoding="utf-8")
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", code, flags=re.S)  # comments may name what is banned
    for banned in (
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        'setAttribute("style"',
        "DOMParser",
        "createContextualFragment",
    ):
        assert banned not in code, f"{name} uses {banned}"


def test_own_static_files_load_nothing_from_outside() -> None:
    for path in [*(STATIC / n for n in OWN_JS), STATIC / "board.css", STATIC / "supervisor.css"]:
        text = re.sub(r"/\*.*?\*/|//[^\n]*", "", path.read_text(encoding="utf-8"), flags=re.S)
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", text), path
        assert "@import" not in text, path


def test_uplot_is_vendored_with_its_licence_and_version() -> None:
    vendor = STATIC / "vendor" / "uplot"
    head = (vendor / "uPlot.iife.min.js").read_text(encoding="utf-8")[:120]
    version = re.search(r"\(v(\d+\.\d+\.\d+)\)", head)
    assert version, head
    assert f"| {version.group(1)} |" in (STATIC / "vendor" / "README.md").read_text(encoding="utf-8")
    assert "MIT License" in (vendor / "LICENSE").read_text(encoding="utf-8")
    assert (vendor / "uPlot.min.css").stat().st_size > 1000

"""Names (docs/events.md "Names"): one spelling for every name that looks the same, so that a supervisor never
sees two rows that look alike; what cannot be shown is refused (``bad_characters``)."""

from __future__ import annotations

import re
import sys
import unicodedata

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import make_settings
from wallboard.engine import Engine
from wallboard.errors import ContractError, SettingsError
from wallboard.events import AgentStateEvent, parse
from wallboard.names import IGNORABLE, normalise

T0 = 1_796_000_000
BIDI = "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"


@pytest.mark.parametrize(
    ("sent", "shown"),
    [
        ("信用卡\u200b", "信用卡"),  # the review's second 信用卡 row
        ("\u202e信用卡", "信用卡"),  # a right-to-left override
        ("信用\u2066卡\u2069", "信用卡"),  # an isolate
        ("\u200e信用卡\u200f", "信用卡"),  # directional marks
        ("\ufeffcredit-card", "credit-card"),  # a byte-order mark glued to the front
        ("cre\u00addit", "credit"),  # a soft hyphen
        ("信用卡\ufe0f", "信用卡"),  # a variation selector
        ("\u3164", ""),  # a Hangul filler is all there is: nothing visible
        ("  credit   card ", "credit card"),  # padding and runs of spaces
        ("信用卡\u3000白金", "信用卡 白金"),  # an ideographic space is a space
        ("credit\u00a0card", "credit card"),  # so is a no-break space
        ("Cafe\u0301", "Café"),  # composed (NFC)
        ("信用卡", "信用卡"),
        ("ＶＩＰ", "ＶＩＰ"),  # full-width letters are other characters, kept
        ("credit-\u0441ard", "credit-\u0441ard"),  # so is a Cyrillic с
    ],
)
def test_invisible_characters_and_spacing_are_removed(sent: str, shown: str) -> None:
    assert normalise(sent) == shown


@pytest.mark.parametrize(
    ("sent", "what"),
    [
        ("a\x00b", "control character (U+0000)"),
        ("a\tb", "control character (U+0009)"),
        ("a\nb", "control character (U+000A)"),
        ("a\x1bb", "control character (U+001B)"),
        ("a\x7fb", "control character (U+007F)"),
        ("a\x85b", "control character (U+0085)"),  # C1
        ("a\x9fb", "control character (U+009F)"),
        ("a\u2028b", "line or paragraph separator (U+2028)"),
        ("a\u2029b", "line or paragraph separator (U+2029)"),
        ("a\ufff9b", "format character"),  # interlinear annotation: changes the layout around it
        ("a\u0600b", "format character"),
    ],
)
def test_control_and_layout_characters_are_refused(sent: str, what: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"holds a {what}")):
        normalise(sent)


def test_every_control_format_and_separator_code_point_is_removed_or_refused() -> None:
    """All of Unicode: nothing of the Cc, Cf, Cs, Zl, Zp categories ever reaches the board; every space is one."""
    for code in range(sys.maxunicode + 1):
        ch = chr(code)
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            try:
                shown = normalise(f"a{ch}b")
            except ValueError:
                assert ch not in IGNORABLE
            else:
                assert ch in IGNORABLE and shown == "ab", hex(code)
        elif category == "Zs":
            assert normalise(f"a{ch}b") == "a b", hex(code)


CLEAN = st.text(
    st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp", "Zs")) | st.just(" "), min_size=1, max_size=12
).map(lambda t: normalise(t) if not set(t) & IGNORABLE else "x")
INVISIBLE = st.sampled_from(sorted(set(BIDI + ZERO_WIDTH) | {"\u2063", "\U000e0041", "\ufe0e", "\u034f"}))


@given(CLEAN, st.lists(st.tuples(st.integers(0, 12), INVISIBLE), max_size=6), st.integers(0, 2), st.integers(0, 2))
def test_a_name_with_inserted_invisible_characters_is_the_clean_name(clean, inserts, lead, trail):
    if not clean:
        return
    dirty = clean
    for at, ch in inserts:
        dirty = dirty[:at] + ch + dirty[at:]
    dirty = " " * lead + dirty + "\u3000" * trail
    assert normalise(dirty) == normalise(clean) == clean


@given(st.text(max_size=20))
def test_normalising_twice_changes_nothing(text):
    try:
        once = normalise(text)
    except ValueError:
        return
    assert normalise(once) == once
    assert once == once.strip() and "  " not in once
    assert unicodedata.is_normalized("NFC", once)


# ------------------------------------------------------------- through the contract and the engine


def offered(iid: str, queue: str, ts_s: int) -> bytes:
    return orjson.dumps(
        {"type": "call.offered", "event_id": f"o-{iid}", "ts": ts_s * 1000, "interaction_id": iid, "queue": queue}
    )


def agent_state(agent_id: str, queues: list[str], name: str | None = None, team: str | None = None) -> bytes:
    body = {
        "type": "agent.state",
        "event_id": f"s-{agent_id}",
        "ts": T0 * 1000,
        "agent_id": agent_id,
        "state": "available",
        "queues": queues,
        "name": name,
        "team": team,
    }
    return orjson.dumps(body)


@given(st.lists(st.tuples(st.integers(0, 3), INVISIBLE), max_size=4), st.sampled_from(["信用卡", "VIP 白金", "loans"]))
def test_spellings_that_look_the_same_are_one_queue_on_the_board(inserts, queue):
    dirty = queue
    for at, ch in inserts:
        dirty = dirty[:at] + ch + dirty[at:]
    engine = Engine(make_settings().metrics, T0)
    for i, name in enumerate([queue, dirty, " " + dirty]):
        engine.apply(parse(offered(f"c{i}", name, T0)))
    engine.apply(parse(agent_state("A1", [dirty, queue, queue + "\u200b"])))
    snap = engine.snapshot()
    assert list(snap["queues"]) == [queue]
    row = snap["queues"][queue]
    assert row["channels"]["call"]["today"]["offered"] == 3
    assert row["agents"]["available"] == 1  # one agent, listed once, though named three ways
    assert engine.agents()["agents"][0]["queues"] == [queue]


def test_agent_ids_names_and_teams_are_normalised_too() -> None:
    ev = parse(agent_state("A1\u200b", ["q"], name=" 王小明\u202e ", team="一组\u2060"))
    assert isinstance(ev, AgentStateEvent)
    assert (ev.agent_id, ev.name, ev.team) == ("A1", "王小明", "一组")
    blank = parse(agent_state("A2", ["q"], name="\u200b", team=""))  # a display name may be empty, as in v1
    assert isinstance(blank, AgentStateEvent)
    assert (blank.name, blank.team) == ("", "")


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (offered("c1", "信用卡\x07", T0), "`queue` holds a control character (U+0007)"),
        (offered("c1", "\u200b\u200b", T0), "`queue` has no visible character"),
        (offered("c1", "   ", T0), "`queue` has no visible character"),
        (agent_state("A\n1", ["q"]), "`agent_id` holds a control character (U+000A)"),
        (agent_state("A1", ["q", "\u202e"]), "`queues` has no visible character"),
        (agent_state("A1", ["q"], name="Li\x00Lei"), "`name` holds a control character (U+0000)"),
        (agent_state("A1", ["q"], team="T\u20281"), "`team` holds a line or paragraph separator (U+2028)"),
    ],
)
def test_a_name_that_cannot_be_shown_is_rejected_with_its_reason(raw: bytes, detail: str) -> None:
    with pytest.raises(ContractError) as info:
        parse(raw)
    assert info.value.reason == "bad_characters"
    assert info.value.detail.startswith(detail)


def test_queue_names_in_the_settings_are_written_as_the_board_shows_them() -> None:
    assert "信用卡" in make_settings(queues={"信用卡": {"call": {"sl_threshold": 30}}}).metrics.queues
    with pytest.raises(SettingsError) as info:
        make_settings(queues={"信用卡\u200b": {"call": {"sl_threshold": 30}}, "a\tb": {}})
    problems = "\n".join(info.value.problems)
    assert "the board shows this queue as '信用卡': write it so" in problems
    assert "the queue name holds a control character (U+0009)" in problems

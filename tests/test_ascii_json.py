from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from wallboard.web.ascii_json import dumps_ascii


def test_messages_are_ascii_json() -> None:
    text = dumps_ascii({"q": "信用卡 😀 é", "n": 1})
    assert text.isascii()
    assert orjson.loads(text) == {"q": "信用卡 😀 é", "n": 1}
    assert dumps_ascii({"a": "plain"}) == '{"a":"plain"}'


def test_escapes_are_json_unicode_escapes_and_surrogate_pairs() -> None:
    assert dumps_ascii(["é信😀"]) == '["\\u00e9\\u4fe1\\ud83d\\ude00"]'


@given(st.text())
def test_ascii_json_round_trips_any_text(s: str) -> None:
    text = dumps_ascii({s: [s, 1]})
    assert text.isascii()
    assert orjson.loads(text) == {s: [s, 1]}

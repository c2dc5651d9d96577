"""Names as a supervisor sees them: one spelling per name that looks the same (docs/events.md "Names").

Queue names, agent ids, display names and team names arrive as any Unicode
text, and text that renders the same can differ in code points: ``信用卡`` and
``信用卡\\u200b`` (a zero-width space after it) would be two rows of the board
that look identical, with the numbers split between them.  ``normalise``
maps every such spelling to one:

* **removed**: the code points that render as nothing, Unicode's
  Default_Ignorable_Code_Point set (``IGNORABLE``): zero-width spaces and
  joiners, the bidirectional marks, embeddings, overrides and isolates
  (U+200E/F, U+202A-E, U+2066-9, U+061C), the soft hyphen, variation
  selectors, the Hangul fillers, tag characters;
* **white space**: every space character (Unicode Zs: U+00A0, U+3000, ...)
  becomes U+0020, runs of them become one, and none is kept at either end
  (a padded ``"信用卡  "`` from a fixed-width database column is ``"信用卡"``);
* **composed**: the result in Unicode NFC (``e`` + U+0301 is ``é``).

What cannot be made harmless is refused (``ValueError``, the contract's
``bad_characters``): control characters (Unicode Cc: C0, DEL and C1, tab and
newline included), line and paragraph separators (U+2028, U+2029), the
format characters (Cf) that are not simply invisible (they change how the
text around them is laid out), and surrogates.  Letters that merely look
alike (Latin ``a`` and Cyrillic ``а``, full-width ``Ａ``) are distinct
characters that render differently in most fonts; they are kept as sent.

Pure; ``normalise`` is idempotent (tests/test_names.py).
"""

from __future__ import annotations

import unicodedata
from typing import Final

_IGNORABLE_RANGES: Final = (
    # Default_Ignorable_Code_Point, DerivedCoreProperties.txt (Unicode 14, as Python 3.11's unicodedata).
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x061C, 0x061C),  # Arabic letter mark
    (0x115F, 0x1160),  # Hangul choseong / jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors, vowel separator
    (0x200B, 0x200F),  # zero-width space, non-joiner, joiner; left-to-right and right-to-left marks
    (0x202A, 0x202E),  # bidirectional embeddings and overrides (U+202E: right-to-left override)
    (0x2060, 0x206F),  # word joiner, invisible operators, bidirectional isolates (U+2066-9), deprecated formats
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFEFF, 0xFEFF),  # zero-width no-break space (byte-order mark)
    (0xFFA0, 0xFFA0),  # half-width Hangul filler
    (0xFFF0, 0xFFF8),  # reserved
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol format controls
    (0xE0000, 0xE0FFF),  # tags, variation selectors supplement, reserved
)
IGNORABLE: Final = frozenset(chr(c) for lo, hi in _IGNORABLE_RANGES for c in range(lo, hi + 1))
"""The code points ``normalise`` removes: they render as nothing."""


def normalise(text: str) -> str:
    """The name as the board keeps and shows it; ValueError (saying what is wrong) if it cannot be shown.

    May return "" (a name made only of invisible characters and spaces): the
    caller decides whether an empty name is allowed.
    """
    if text.isascii() and text.isprintable():
        # Nothing to remove or compose in printable ASCII: only the spaces to tidy.
        if text[:1] != " " and text[-1:] != " " and "  " not in text:
            return text
        return " ".join(text.split())
    kept: list[str] = []
    for ch in text:
        if ch in IGNORABLE:
            continue
        category = unicodedata.category(ch)
        if category == "Zs":
            ch = " "
        elif category in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            raise ValueError(_refused(ch, category))
        kept.append(ch)
    # Every white space left is U+0020 now (the others were refused or mapped): split() drops the runs and ends.
    return unicodedata.normalize("NFC", " ".join("".join(kept).split()))


def _refused(ch: str, category: str) -> str:
    code = f"U+{ord(ch):04X}"
    if category == "Cc":
        return f"holds a control character ({code})"
    if category in ("Zl", "Zp"):
        return f"holds a line or paragraph separator ({code})"
    if category == "Cs":
        return f"holds a lone surrogate ({code})"
    return f"holds a format character that changes the layout of the text around it ({code})"

"""Visible marks for characters that would not show: spaces, the end of the sentence, no-break spaces.

This is the one mapping for every view (the per-step strip, its table and the heatmap), so a
character looks the same everywhere. Where one glyph stands alone (the strip, a heatmap label) a
character shows as its mark, and its name goes in the label or tooltip. Where characters are listed
side by side (alternatives, table cells, tooltips) `written` tells apart those that share a mark, so
a no-break space and a narrow no-break space never both read "⍽".
"""

from __future__ import annotations

import unicodedata

VISIBLE_MARKS = {" ": "␣", "\n": "⏎", "\t": "⇥", "\u00a0": "⍽", "\u202f": "⍽", "\u2009": "⍽"}
MARK_NAMES = {"␣": "space", "⏎": "end of sentence", "⇥": "tab", "⍽": "non-breaking space",
              "◌": "invisible character"}
# The characters that share a mark with the one its name describes, with their own names and the
# word `written` adds to the mark. French writes U+202F before ? ! ; : (the bundled models do).
OWN_NAMES = {"\u202f": ("narrow non-breaking space", "narrow"), "\u2009": ("thin space", "thin")}
# Unlisted characters from these Unicode categories would show as nothing or as a gap: other spaces
# get the space-like mark, control and format characters (the bundled model's French vocabulary
# holds U+200B ZERO WIDTH SPACE) a generic one.
_SPACE_CATEGORIES, _INVISIBLE_CATEGORIES = {"Zs"}, {"Cc", "Cf", "Zl", "Zp"}


def visible(char: str) -> str:
    """The character itself, or its mark if it would not show (space, end, non-breaking spaces)."""
    if char in VISIBLE_MARKS:
        return VISIBLE_MARKS[char]
    if len(char) == 1:
        category = unicodedata.category(char)
        if category in _SPACE_CATEGORIES:
            return "⍽"
        if category in _INVISIBLE_CATEGORIES:
            return "◌"
    return char


def mark_name(char: str) -> str | None:
    """What a marked character is, in words ("space", "narrow non-breaking space"); None for a visible one."""
    if char in OWN_NAMES:
        return OWN_NAMES[char][0]
    mark = visible(char)
    return MARK_NAMES.get(mark) if mark != char else None


def written(char: str) -> str:
    """The character as text among others: its mark, plus a word or its code point when another
    character shares the mark ("⍽" for U+00A0, "⍽ narrow" for U+202F, "◌ U+200B")."""
    mark = visible(char)
    if mark == char or VISIBLE_MARKS.get(char) == mark and char not in OWN_NAMES:
        return mark
    word = OWN_NAMES[char][1] if char in OWN_NAMES else f"U+{ord(char):04X}"
    return f"{mark} {word}"

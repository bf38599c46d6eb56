"""The alignment heatmap: for each French character, how much attention each English character got.

Rendered as a small HTML table rather than an image so that every cell has a tooltip, the labels
are real (selectable, zoomable) characters, a 50 x 60 grid stays legible by scrolling, and hovering
a character in the probability view can highlight its row (cells carry `data-step`). Everything the
model produced is escaped: a translation is untrusted text.
"""

from __future__ import annotations

import html
import unicodedata
from pathlib import Path
from typing import Sequence

# Characters that would otherwise be invisible in a label, and the mark shown instead. This is the
# one mapping for every view (steps.py uses it too), so a character looks the same everywhere.
VISIBLE_MARKS = {" ": "␣", "\n": "⏎", "\t": "⇥", "\u00a0": "⍽", "\u202f": "⍽", "\u2009": "⍽"}
MARK_NAMES = {"␣": "space", "⏎": "end of sentence", "⇥": "tab", "⍽": "non-breaking space",
              "◌": "invisible character"}
# Unlisted characters from these Unicode categories would show as nothing or as a gap: other spaces
# get the space-like mark, control and format characters (the bundled model's French vocabulary
# holds U+200B ZERO WIDTH SPACE) a generic one.
_SPACE_CATEGORIES, _INVISIBLE_CATEGORIES = {"Zs"}, {"Cc", "Cf", "Zl", "Zp"}

# A sequential scale from white (weight 0) to deep blue (weight 1), readable in print and for the
# common colour-vision deficiencies; text turns white on the darker half.
_LOW, _HIGH = (255, 255, 255), (8, 48, 107)


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
    """What a marked character is, in words ("space", "end of sentence"); None for a visible one."""
    mark = visible(char)
    return MARK_NAMES.get(mark) if mark != char else None


def colour(weight: float) -> str:
    weight = min(max(float(weight), 0.0), 1.0)
    r, g, b = (round(lo + (hi - lo) * weight) for lo, hi in zip(_LOW, _HIGH))
    return f"rgb({r},{g},{b})"


def _cell(weight: float) -> str:
    """A cell's printed weight: ".25" (the leading 0 dropped to fit the cell), "1", or "" below 0.005."""
    text = format(weight, ".2f")
    # Rounding decides, not the raw weight: 0.996 prints as "1", never as ".00".
    return "" if text == "0.00" else "1" if text.startswith("1") else text[1:]


def _label(char: str) -> str:
    name = mark_name(char)
    title = f' title="{name}"' if name else ""
    return f"<span{title}>{html.escape(visible(char))}</span>"


def heatmap_html(source: str, output_chars: Sequence[str], weights: Sequence[Sequence[float]] | None) -> str:
    """An HTML heatmap: French characters down the side, English characters along the bottom.

    Args:
        source: the English sentence as the model read it (one column per character).
        output_chars: the French characters produced, END included (one row each).
        weights: per output character, the attention weights over `source`; None for a model
            without attention, which gets a sentence saying so instead of a grid.
    """
    if weights is None:
        return ('<div class="alignment-none" role="note">This model has no attention, so there is no '
                'alignment to show: its decoder sees the English only through one fixed-size state. '
                'Choose an attention model to see which English characters each French character read.</div>')
    rows = []
    for step, (char, row) in enumerate(zip(output_chars, weights)):
        cells = "".join(
            f'<td style="background:{colour(w)};color:{"#fff" if w > 0.5 else "#111"}" '
            f'title="{html.escape(visible(char))} ← {html.escape(visible(source[i]))}: {w:.2f}">'
            f'{_cell(w)}</td>'
            for i, w in enumerate(row[: len(source)])
        )
        rows.append(f'<tr data-step="{step}"><th scope="row">{_label(char)}</th>{cells}</tr>')
    columns = "".join(f'<th scope="col">{_label(c)}</th>' for c in source)
    legend = (
        '<div class="alignment-legend" aria-hidden="true"><span>0</span>'
        f'<span class="alignment-scale" style="background:linear-gradient(to right,{colour(0)},{colour(1)})"></span>'
        "<span>1</span> attention weight</div>"
    )
    return (
        '<figure class="alignment">'
        '<figcaption>Alignment: each row is a French character, each column the English character it read; '
        "darker means more attention (weights in a row sum to 1).</figcaption>"
        '<div class="alignment-scroll"><table class="alignment-grid">'
        f"<tbody>{''.join(rows)}</tbody>"
        f'<tfoot><tr><th scope="col" aria-label="French / English"></th>{columns}</tr></tfoot>'
        f"</table></div>{legend}</figure>"
    )


# The heatmap's styles, for the page's CSS (launch(css=...)).
CSS = (Path(__file__).parents[1] / "static" / "alignment.css").read_text(encoding="utf-8")

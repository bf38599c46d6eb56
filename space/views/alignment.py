"""The alignment heatmap: for each character of the translation, how much attention each input character got.

Rendered as a small HTML table rather than an image so that every cell has a tooltip, the labels
are real (selectable, zoomable) characters, a 50 x 60 grid stays legible by scrolling, and hovering
a character in the probability view can highlight its row (cells carry `data-step`). Everything the
model produced is escaped: a translation is untrusted text.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Sequence

from ..wording import DEFAULT_WORDING, Wording
from .colours import css, ink, scale
from .marks import mark_name, visible, written

GIVEN = "given by you"  # as the per-step strip (steps.py) says it
# A sequential scale from white (weight 0) to deep blue (weight 1), readable in print and for the
# common colour-vision deficiencies; each cell's number is black or white, whichever reads better.
STOPS = ((255, 255, 255), (8, 48, 107))


def colour(weight: float) -> str:
    return css(scale(STOPS, weight))


def _cell(weight: float) -> str:
    """A cell's printed weight: ".25" (the leading 0 dropped to fit the cell), "1", or "" below 0.005."""
    text = format(weight, ".2f")
    # Rounding decides, not the raw weight: 0.996 prints as "1", never as ".00".
    return "" if text == "0.00" else "1" if text.startswith("1") else text[1:]


def _label(char: str, given: bool = False) -> str:
    name = mark_name(char)
    words = ", ".join(w for w in (name, GIVEN if given else None) if w)
    title = f' title="{words}"' if words else ""
    # A screen reader reads the row header: it says "given by you" too, as the strip's label does.
    spoken = f'<span class="sr-only"> ({GIVEN})</span>' if given else ""
    return f"<span{title}>{html.escape(visible(char))}</span>{spoken}"


def heatmap_html(source: str, output_chars: Sequence[str], weights: Sequence[Sequence[float]] | None,
                 given: int = 0, label: str = "Alignment heatmap", words: Wording = DEFAULT_WORDING) -> str:
    """An HTML heatmap: the translation's characters down the side, the input's along the bottom.

    Args:
        source: the input sentence as the model read it (one column per character).
        output_chars: the characters produced, END included (one row each).
        weights: per output character, the attention weights over `source`; None for a model
            without attention, which gets a sentence saying so instead of a grid.
        given: how many leading characters were given by the visitor (a prefix): their row labels
            are marked, and the legend says how.
        label: the scroll box's accessible name; two heatmaps on one page need two names.
        words: the page's language names (the caption, the axes).
    """
    if weights is None:
        return f'<div class="alignment-none" role="note">{html.escape(words.no_attention)}</div>'
    rows = []
    for step, (char, row) in enumerate(zip(output_chars, weights)):
        cells = "".join(
            f'<td style="background:{colour(w)};color:{ink(scale(STOPS, w))}" '
            f'title="{html.escape(written(char))} ← {html.escape(written(source[i]))}: {w:.2f}">'
            f'{_cell(w)}</td>'
            for i, w in enumerate(row[: len(source)])
        )
        mark = ' class="alignment-given"' if step < given else ""
        rows.append(f'<tr data-step="{step}"><th scope="row"{mark}>{_label(char, step < given)}</th>{cells}</tr>')
    columns = "".join(f'<th scope="col">{_label(c)}</th>' for c in source)
    legend = (
        '<div class="alignment-legend" aria-hidden="true"><span>0</span>'
        f'<span class="alignment-scale" style="background:linear-gradient(to right,{colour(0)},{colour(1)})"></span>'
        "<span>1</span> attention weight"
        + (f'<span class="alignment-given-key">a</span> row of a character {GIVEN}' if given else "")
        + "</div>"
    )
    return (
        '<figure class="alignment">'
        f"<figcaption>{html.escape(words.alignment_caption)}</figcaption>"
        # The scroll box takes keyboard focus (arrow keys scroll it), and says what it holds.
        f'<div class="alignment-scroll" tabindex="0" role="region" aria-label="{html.escape(label)}">'
        '<table class="alignment-grid">'
        f"<tbody>{''.join(rows)}</tbody>"
        # The corner cell names both axes for screen readers (an empty header cell is announced as nothing).
        f'<tfoot><tr><th scope="col"><span class="sr-only">{html.escape(words.alignment_axes)}</span></th>'
        f"{columns}</tr></tfoot>"
        f"</table></div>{legend}</figure>"
    )


# The heatmap's styles, for the page's CSS (launch(css=...)).
CSS = (Path(__file__).parents[1] / "static" / "alignment.css").read_text(encoding="utf-8")

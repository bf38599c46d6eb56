"""The Compare view: one input sentence through every model and method, as an HTML table.

HTML rather than a Dataframe so the best chrF can be marked in words (not only colour) and the
translation keeps its typographic spaces; every value from a model or a person is escaped. The
column and line that name a language take the page's Wording (space/wording.py).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from model import compare

from ..wording import DEFAULT_WORDING, Wording


def _number(value: Any, digits: int) -> str:
    return "—" if value is None else f"{float(value):.{digits}f}"


NUMBER, WARNED = ' class="num"', ' class="warned"'
NO_REFERENCE = "No reference for this sentence, so no chrF."
DRAW_ONE = " The held-out sentences have references: draw one with Random held-out sentence."


def _french_cell(row: dict, lang: str) -> str:
    """The translation, flagged when the run warned (it stands, with its figures); the error when it failed."""
    if compare.failed(row):
        return f'<em class="compare-error">error: {html.escape(str(row["error"]))}</em>'
    french = f'<span lang="{html.escape(lang)}">{html.escape(row["french"])}</span>'
    warning = compare.warning(row)
    if warning:
        french += f'<span class="compare-warning" role="note">⚠ warning: {html.escape(warning)}</span>'
    return french


def _row_html(row: dict, best: float | None, words: Wording) -> str:
    mark = " ★ best" if best is not None and row.get("chrf") == best else ""
    cells = (html.escape(row["model"]), html.escape(row["method"]), _french_cell(row, words.target_code),
             _number(row.get("log_prob"), 3), _number(row.get("mean_confidence"), 3), _number(row.get("chrf"), 1) + mark)
    # data-label names each cell where a phone shows the row as a card (static/compare.css).
    tds = [f'<td data-label="{html.escape(header)}"{NUMBER if i > 2 else ""}>{cell}</td>'
           for i, (header, cell) in enumerate(zip(words.compare_headers, cells))]
    return f'<tr{WARNED if compare.warning(row) else ""}>' + "".join(tds) + "</tr>"


def _table(rows: list, caption: str, words: Wording) -> str:
    scored = [row["chrf"] for row in rows if row.get("chrf") is not None]
    best = max(scored) if scored else None
    return (f'<table class="compare-table"><caption class="sr-only">{html.escape(caption)}</caption>'
            "<thead><tr>" + "".join(f'<th scope="col">{html.escape(h)}</th>' for h in words.compare_headers)
            + "</tr></thead><tbody>" + "".join(_row_html(row, best, words) for row in rows) + "</tbody></table>")


def _references(references, words: Wording, heldout: bool, whole: bool = False) -> str:
    if not references:
        text = NO_REFERENCE.replace("this sentence", "the whole input") if whole else NO_REFERENCE
        return f"<p><em>{text}{DRAW_ONE if heldout else ''}</em></p>"
    return (f"<p><strong>Reference {html.escape(words.target)}:</strong> "
            + " · ".join(html.escape(r) for r in references) + "</p>")


def compare_html(result: dict, words: Wording = DEFAULT_WORDING, heldout: bool = True) -> str:
    """The Compare view: one row per model and method, with the reference translations above the table;
    for an input of several sentences, the whole input first, then each sentence with its own table.

    HTML rather than a Dataframe so the best chrF can be marked in words (not only colour), a warning
    can sit under the translation it concerns, and the translation keeps its typographic spaces; every
    value from a model or a person is escaped.

    Args:
        result: what the compare handler returns (english, references, rows, sentences).
        words: the page's language names.
        heldout: the page can draw held-out sentences, which have references: a missing reference
            says so.
    """
    sentences = result.get("sentences") or []
    english = html.escape(result.get("english", "")).replace("\n", "<br>")
    head = (f"<p><strong>{html.escape(words.source)}:</strong> {english}</p>"
            + _references(result.get("references"), words, heldout, whole=len(sentences) > 1))
    if len(sentences) <= 1:
        return (f'<div class="compare" aria-live="polite">{head}'
                f'{_table(result.get("rows") or [], "Every model and method on one sentence", words)}</div>')
    parts = [f'<h3 class="compare-head">The whole input ({len(sentences)} sentences)</h3>{head}'
             f'{_table(result.get("rows") or [], "Every model and method on the whole input", words)}']
    for i, sentence in enumerate(sentences, start=1):
        parts.append(f'<h3 class="compare-head">Sentence {i}: {html.escape(sentence["english"])}</h3>'
                     f'{_references(sentence.get("references"), words, heldout)}'
                     f'{_table(sentence["rows"], f"Every model and method on sentence {i}", words)}')
    return f'<div class="compare" aria-live="polite">{"".join(parts)}</div>'


# The table's styles, for the page's CSS (launch(css=...)).
CSS = (Path(__file__).parents[1] / "static" / "compare.css").read_text(encoding="utf-8")

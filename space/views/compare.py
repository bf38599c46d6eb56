"""The Compare view: one English sentence through every model and method, as an HTML table.

HTML rather than a Dataframe so the best chrF can be marked in words (not only colour) and the
French keeps its typographic spaces; every value from a model or a person is escaped.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from model import compare

def _number(value: Any, digits: int) -> str:
    return "—" if value is None else f"{float(value):.{digits}f}"


HEADERS = ("Model", "Method", "French", "log-probability", "mean confidence", "chrF")
NUMBER, WARNED = ' class="num"', ' class="warned"'
NO_REFERENCE = ("No reference for this sentence, so no chrF. The held-out sentences have references: draw one "
                "with Random held-out sentence.")


def _french_cell(row: dict) -> str:
    """The French, flagged when the run warned (it stands, with its figures); the error when it failed."""
    if compare.failed(row):
        return f'<em class="compare-error">error: {html.escape(str(row["error"]))}</em>'
    french = f'<span lang="fr">{html.escape(row["french"])}</span>'
    warning = compare.warning(row)
    if warning:
        french += f'<span class="compare-warning" role="note">⚠ warning: {html.escape(warning)}</span>'
    return french


def _row_html(row: dict, best: float | None) -> str:
    mark = " ★ best" if best is not None and row.get("chrf") == best else ""
    cells = (html.escape(row["model"]), html.escape(row["method"]), _french_cell(row),
             _number(row.get("log_prob"), 3), _number(row.get("mean_confidence"), 3), _number(row.get("chrf"), 1) + mark)
    # data-label names each cell where a phone shows the row as a card (static/compare.css).
    tds = [f'<td data-label="{header}"{NUMBER if i > 2 else ""}>{cell}</td>'
           for i, (header, cell) in enumerate(zip(HEADERS, cells))]
    return f'<tr{WARNED if compare.warning(row) else ""}>' + "".join(tds) + "</tr>"


def _table(rows: list, caption: str) -> str:
    scored = [row["chrf"] for row in rows if row.get("chrf") is not None]
    best = max(scored) if scored else None
    return (f'<table class="compare-table"><caption class="sr-only">{html.escape(caption)}</caption>'
            "<thead><tr>" + "".join(f'<th scope="col">{h}</th>' for h in HEADERS) + "</tr></thead>"
            "<tbody>" + "".join(_row_html(row, best) for row in rows) + "</tbody></table>")


def _references(references, whole: bool = False) -> str:
    if not references:
        text = NO_REFERENCE.replace("this sentence", "the whole input") if whole else NO_REFERENCE
        return f"<p><em>{text}</em></p>"
    return "<p><strong>Reference French:</strong> " + " · ".join(html.escape(r) for r in references) + "</p>"


def compare_html(result: dict) -> str:
    """The Compare view: one row per model and method, with the reference French above the table; for
    an input of several sentences, the whole input first, then each sentence with its own table.

    HTML rather than a Dataframe so the best chrF can be marked in words (not only colour), a warning
    can sit under the French it concerns, and the French keeps its typographic spaces; every value
    from a model or a person is escaped.
    """
    sentences = result.get("sentences") or []
    english = html.escape(result.get("english", "")).replace("\n", "<br>")
    head = f"<p><strong>English:</strong> {english}</p>" + _references(result.get("references"), len(sentences) > 1)
    if len(sentences) <= 1:
        return (f'<div class="compare" aria-live="polite">{head}'
                f'{_table(result.get("rows") or [], "Every model and method on one sentence")}</div>')
    parts = [f'<h3 class="compare-head">The whole input ({len(sentences)} sentences)</h3>{head}'
             f'{_table(result.get("rows") or [], "Every model and method on the whole input")}']
    for i, sentence in enumerate(sentences, start=1):
        parts.append(f'<h3 class="compare-head">Sentence {i}: {html.escape(sentence["english"])}</h3>'
                     f'{_references(sentence.get("references"))}'
                     f'{_table(sentence["rows"], f"Every model and method on sentence {i}")}')
    return f'<div class="compare" aria-live="polite">{"".join(parts)}</div>'


# The table's styles, for the page's CSS (launch(css=...)).
CSS = (Path(__file__).parents[1] / "static" / "compare.css").read_text(encoding="utf-8")

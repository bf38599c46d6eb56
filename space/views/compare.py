"""The Compare view: one English sentence through every model and method, as an HTML table.

HTML rather than a Dataframe so the best chrF can be marked in words (not only colour) and the
French keeps its typographic spaces; every value from a model or a person is escaped.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

def _number(value: Any, digits: int) -> str:
    return "—" if value is None else f"{float(value):.{digits}f}"


def compare_html(result: dict) -> str:
    """The Compare view: one row per model and method, with the reference French above the table.

    HTML rather than a Dataframe so the best chrF can be marked in words (not only colour) and the
    French keeps its typographic spaces; every value from a model or a person is escaped.
    """
    references = result.get("references") or []
    rows = result.get("rows") or []
    scored = [row["chrf"] for row in rows if row.get("chrf") is not None]
    best = max(scored) if scored else None
    head = (f"<p><strong>English:</strong> {html.escape(result.get('english', ''))}</p>"
            + (("<p><strong>Reference French:</strong> " + " · ".join(html.escape(r) for r in references) + "</p>")
               if references else "<p><em>No reference for this sentence: chrF is shown for held-out sentences "
                                  "(use the random button) and the examples.</em></p>"))
    body = []
    for row in rows:
        mark = " ★ best" if best is not None and row.get("chrf") == best else ""
        french = (html.escape(row["french"]) if not row.get("error")
                  else f"<em>error: {html.escape(str(row['error']))}</em>")
        body.append(
            "<tr>" f"<td>{html.escape(row['model'])}</td><td>{html.escape(row['method'])}</td><td lang=\"fr\">{french}</td>"
            f"<td class=\"num\">{_number(row.get('log_prob'), 3)}</td>"
            f"<td class=\"num\">{_number(row.get('mean_confidence'), 3)}</td>"
            f"<td class=\"num\">{_number(row.get('chrf'), 1)}{mark}</td></tr>"
        )
    table = ('<table class="compare-table"><caption class="sr-only">Every model and method on one sentence</caption>'
             "<thead><tr><th scope=\"col\">Model</th><th scope=\"col\">Method</th><th scope=\"col\">French</th>"
             "<th scope=\"col\">log-probability</th><th scope=\"col\">mean confidence</th>"
             "<th scope=\"col\">chrF</th></tr></thead><tbody>" + "".join(body) + "</tbody></table>")
    return f'<div class="compare" aria-live="polite">{head}{table}</div>'


# The table's styles, for the page's CSS (launch(css=...)).
CSS = (Path(__file__).parents[1] / "static" / "compare.css").read_text(encoding="utf-8")

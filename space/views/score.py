"""The score view: how likely the model finds the visitor's own translation, character by character.

The handler scores the translation by forced decoding (Translator.score_batch through the
BatchingEngine): the decoder reads the input, is fed the visitor's translation one character at a
time, then the end, and
says at each step how likely it found the visitor's character and what it would have written itself.
This module shows that as

- a summary (Markdown): the score of the visitor's translation beside the model's own translation and
  its score, in total and per character, with one line saying what a log-probability is;
- the translation as the per-step view's strip (steps.strip_html: the same colours, underlines, marks,
  tooltips and legend), without the "given" mark, since every character here is the visitor's;
- where the model would have written something else: each step where its first choice was another
  character, with the translation before it, as a table whose rows highlight their character in the strip
  (they share its `data-step`, as the heatmap's rows do);
- for attention models, the alignment heatmap of the visitor's translation, folded away.

The words that name a language come from the page's Wording (space/wording.py). Everything the
visitor or the model wrote is escaped. No gradio import.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Sequence

from model.translator import DecodeOptions, Translation

from ..wording import DEFAULT_WORDING, Wording
from .alignment import heatmap_html
from .marks import mark_name, visible
from .results import method_text, model_name, notes, plain
from .steps import legend, number, strip_html

CONTEXT_CHARS = 12  # how much of the translation before a disagreement the table shows
HEADERS = ("Character", "After", "You wrote (p)", "The model's choice (p)")
NUMBER = ' class="num"'


def per_character(translation: Translation) -> float:
    """The score per step, end included (Translation.normalized_score where the Translator set it)."""
    if translation.normalized_score is not None:
        return translation.normalized_score
    return translation.score / max(len(translation.steps), 1)


def _figures(translation: Translation) -> str:
    return (f"log-probability **{translation.score:.3f}** in all, **{per_character(translation):.3f}** per "
            f"character ({len(translation.steps)} characters, the end included)")


def _verdict(scored: Translation, own: Translation, words: Wording) -> str:
    gap = own.score - scored.score
    if scored.translation == own.translation:
        return "Yours is the model's own translation, character for character."
    if gap > 0:
        return f"The model finds its own translation more likely than yours, by {gap:.3f} in log-probability."
    return f"The model finds yours more likely than its own, by {-gap:.3f} in log-probability: {words.search_missed}."


def score_summary(scored: Translation, own: Translation, source: str, options: DecodeOptions, *,
                  from_own: bool, sentences: Sequence[str] = (), words: Wording = DEFAULT_WORDING) -> str:
    """Markdown above the score view: the visitor's score beside the model's own translation and score.

    Args:
        scored: the visitor's translation, scored (Translator.score).
        own: the model's own translation of the same English, decoded with `options`.
        source: the model, for its name.
        options: how `own` was decoded (its method is named).
        from_own: no translation was given, so `scored` is `own` scored: one line says so, and there is
            nothing to compare.
        sentences: for an input of several sentences (scored and own then cover all of them), one
            line per sentence (`sentence_lines`), listed under the totals.
        words: the page's language names.
    """
    method = method_text(options)
    head = f"Scored by **{plain(model_name(source))}** as a translation of “{plain(scored.input)}”."
    if from_own:
        lines = [head, "",
                 f"**The model's own translation** ({plain(method)}), {words.own_scored}: "
                 f"{_figures(scored)}. Edit it and press Enter to score your own {words.target}."]
    else:
        lines = [head, "",
                 f"**{words.yours}** {_figures(scored)}.", "",
                 f"**The model's own** ({plain(method)}): “{plain(own.translation)}”, {_figures(own)}.", "",
                 _verdict(scored, own, words)]
    if sentences:
        lines += ["", *sentences]
    lines += ["", words.score_explained]
    extra = notes(scored.warnings)
    if extra:
        lines += [""] + extra
    return "\n".join(lines)


def _char(char: str) -> str:
    """A character in the table: its mark, and its name where the mark alone would not say ("␣ space")."""
    name = mark_name(char)
    return f'<span class="score-char">{html.escape(visible(char))}</span>' + (f" {html.escape(name)}" if name else "")


def _context(steps, t: int, lang: str) -> str:
    before = "".join(step.char for step in steps[:t])
    if not before:
        return "<em>(the start)</em>"
    shown = before[-CONTEXT_CHARS:]
    return (f'<span lang="{html.escape(lang)}">' + ("…" if len(before) > CONTEXT_CHARS else "") + html.escape(shown) + "</span>")


def disagreements_html(scored: Translation, part: str = "", words: Wording = DEFAULT_WORDING) -> str:
    """Where the model's first choice was another character than the visitor's: a table, or a sentence
    saying there is no such step."""
    found = scored.disagreements or []
    total = len(scored.steps)
    if not found:
        return ('<p class="score-head">Nowhere would the model have written something else: each of your '
                'characters, and the end, was its first choice.</p>')
    rows = []
    for d in found:
        t = int(d["step"])
        cells = (str(t + 1), _context(scored.steps, t, words.target_code), f"{_char(d['char'])} {number(d['prob'])}",
                 f"{_char(d['model'])} {number(d['model_prob'])}")
        # data-label names each cell where a phone shows the row as a card (static/score.css).
        tds = [f'<td data-label="{h}"{NUMBER if i == 0 else ""}>{c}</td>' for i, (h, c) in enumerate(zip(HEADERS, cells))]
        rows.append(f'<tr data-step="{t}">' + "".join(tds) + "</tr>")
    head = f"score-disagreements-head{part}"  # one id per sentence's table
    return (f'<p class="score-head" id="{head}">Where the model would have written something '
            f'else: {len(found)} of {total} steps</p>'
            f'<table class="score-table" aria-labelledby="{head}"><thead><tr>'
            + "".join(f'<th scope="col">{h}</th>' for h in HEADERS) + "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def score_html(scored: Translation, *, has_attention: bool, part: str = "", words: Wording = DEFAULT_WORDING) -> str:
    """The scored translation as the per-step strip, the legend, the disagreements and, for attention
    models, the alignment heatmap (folded).

    Args:
        scored: the result of Translator.score (every step given; `disagreements` set).
        has_attention: whether the model has attention (Translator.has_attention).
        part: a suffix that keeps the view's element ids unique where several sentences' views share a page.
        words: the page's language names.
    """
    steps = scored.steps
    weights = [s.attention for s in steps] if has_attention else None
    grid = ""
    if weights is not None and all(w is not None for w in weights):
        heatmap = heatmap_html(source=scored.input, output_chars=[s.char for s in steps], weights=weights,
                               label=words.score_heatmap, words=words)
        grid = (f'<details class="score-alignment"><summary>{html.escape(words.score_alignment_summary)}</summary>'
                f'{heatmap}</details>')
    return (f'<div class="step-view score-view"><p class="pv-note" role="note">{html.escape(words.score_note)}</p>'
            f'{strip_html(steps, mark_given=False)}{legend(subject="your character")}'
            f'{disagreements_html(scored, part, words)}{grid}</div>')


# The view's styles, for the page's CSS (launch(css=...)); the strip's come with steps.CSS.
CSS = (Path(__file__).parents[1] / "static" / "score.css").read_text(encoding="utf-8")


def paragraph_score_html(scored: Sequence[Translation], *, has_attention: bool,
                         words: Wording = DEFAULT_WORDING) -> str:
    """Each sentence's score view under a heading naming it; one sentence: its view alone."""
    if len(scored) == 1:
        return score_html(scored[0], has_attention=has_attention, words=words)
    lang = html.escape(words.target_code)
    return "".join(f'<section class="score-sentence" aria-label="Sentence {i + 1}"><h3 class="score-sentence-head">'
                   f'Sentence {i + 1}: <span lang="{lang}">{html.escape(s.translation)}</span></h3>'
                   f'{score_html(s, has_attention=has_attention, part=f"-{i + 1}", words=words)}</section>'
                   for i, s in enumerate(scored))


def sentence_lines(scored: Sequence[Translation], own: Sequence[Translation] | None) -> list[str]:
    """Markdown lines, one per sentence: its score per character, beside the model's own where it differs."""
    lines = []
    for i, s in enumerate(scored):
        line = f"- Sentence {i + 1}, “{plain(s.translation)}”: **{per_character(s):.3f}** per character"
        if own is not None and own[i].translation != s.translation:
            line += f"; the model's own, “{plain(own[i].translation)}”: {per_character(own[i]):.3f}"
        lines.append(line)
    return lines

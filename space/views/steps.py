"""The per-step view: how sure the model was of each character it wrote, and what it read to write it.

One `<div class="step-view">` holds a strip of the translation, one element per decoding step (the
END step included, shown as ⏎), and for attention models the alignment heatmap of alignment.py.
Each character carries three signals, so none depends on seeing colour: a background from a
sequential light-to-strong scale (light = sure), an underline whose style gets heavier as the
probability falls, and a tooltip (on hover, and on keyboard focus or a tap on phones) with the
probability and the alternatives, which screen readers get as the element's label. Every number is
written one way, with 3 decimals. Invisible characters get the marks of marks.py, so a
non-breaking space shows as ⍽ in the strip, the table and the heatmap alike.

Characters the visitor gave (a prefix the model was made to start with, `Step.given`) carry
a fourth mark: a bar above them, a legend entry and "given by you" in their tooltip and label; their
heatmap rows are marked too (alignment.py). The score view (score.py) reuses the strip and the
legend for a translation that is all given, and leaves that mark off.

Hovering or focusing a character highlights its heatmap row with CSS alone: both carry the same
0-based `data-step`, and static rules generated per step (see CSS) match them with `:has()`.

This is a hand-made view rather than gr.HighlightedText because that component has no tooltips,
no keyboard focus and a -1..+1 legend. Everything from the model or the user is untrusted text and
goes through html.escape. No gradio import: the handlers hand the strings to gr.HTML and gr.Dataframe.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any, Sequence

from model.translator import Step, Translation

from ..wording import DEFAULT_WORDING, Wording
from .alignment import CSS as ALIGNMENT_CSS
from .alignment import heatmap_html
from .colours import css, ink, scale
from .marks import mark_name, visible, written

# The longest French sentence of fra-eng has 360 characters, plus the END step; steps past this
# still get tooltips, only not the heatmap-row highlight (whose rules are generated per step).
MAX_STEPS = 400
# Characters after which a line may break. No-break spaces are absent on purpose: French puts
# U+00A0/U+202F before "?", "!", ":" precisely so that "Quoi ?" stays on one line.
BREAKING = {" ", "\t"}
# Underline tiers, heaviest first: (probability below which it applies, style). Thresholds apply to
# the probability as printed (3 decimals), so a character shown as 0.900 never has a dotted line.
UNDERLINES = ((0.3, "wavy"), (0.6, "dashed"), (0.9, "dotted"))
# Light (sure) to strong (unsure): ColorBrewer's OrRd stops, whose lightness falls monotonically, so
# the order survives greyscale and the common colour-vision deficiencies. A different hue from the
# heatmap's blues, so the two scales are not read as one.
# The character on it is black or white, whichever contrasts more (colours.ink).
STOPS = ((255, 247, 236), (252, 141, 89), (127, 0, 0))
GIVEN = "given by you"  # what the given characters' mark means, in the legend, the tooltips and the table


def number(p: float) -> str:
    """A probability as every view writes it: 3 decimals ("0.873", "1.000")."""
    return f"{p:.3f}"


def _hesitation(p: float) -> float:
    """1 - p clamped to [0, 1]; a non-finite probability counts as no confidence at all."""
    return 1.0 - min(max(p, 0.0), 1.0) if math.isfinite(p) else 1.0


def colour(p: float) -> str:
    """The background for a character written with probability p: light when sure, strong when not."""
    return css(scale(STOPS, _hesitation(p)))


def underline(p: float) -> str:
    """The underline style for probability p ("wavy", "dashed", "dotted"), or "none" when sure."""
    shown = float(number(p)) if math.isfinite(p) else 0.0
    return next((style for below, style in UNDERLINES if shown < below), "none")


def _spoken(char: str) -> str:
    # Screen readers say "open box" for ␣, so labels use the mark's name instead.
    return mark_name(char) or char


def _alternatives(step: Step) -> list[tuple[str, float]]:
    # The chosen character is shown once, with its own probability; the rest of the top-k follows.
    return [(c, p) for c, p in step.top if c != step.char]


def _char_html(index: int, step: Step, mark_given: bool = True) -> str:
    alternatives = _alternatives(step)
    given = mark_given and step.given
    label = f"{_spoken(step.char)}: {GIVEN}, " if given else f"{_spoken(step.char)}: "
    label += f"probability {number(step.prob)}"
    if alternatives:
        label += "; alternatives " + ", ".join(f"{_spoken(c)} {number(p)}" for c, p in alternatives)
    tip = [f'<span class="pv-tip-head">{GIVEN}</span>'] if given else []
    tip.append(f'<span class="pv-tip-p">p {number(step.prob)}</span>')
    if alternatives:
        tip.append('<span class="pv-tip-head">alternatives</span>')
        tip += [f"<span>{html.escape(written(c))} {number(p)}</span>" for c, p in alternatives]
    background = scale(STOPS, _hesitation(step.prob))
    return (
        f'<span class="pv-char pv-{underline(step.prob)}{" pv-given" if given else ""}" tabindex="0" role="img" '
        f'data-step="{index}" aria-label="{html.escape(label)}" style="background:{css(background)};color:{ink(background)}">'
        f'<span class="pv-glyph">{html.escape(visible(step.char))}</span>'
        f'<span class="pv-tip">{"".join(tip)}</span></span>'
    )




def _note(method: str, temperature: float) -> str:
    if method == "sample":
        # decoding.run_sample draws from the temperature-scaled distribution inside `choose`, but
        # _decode_per_row keeps the step's own `probs` (step_probs.append(probs)), and Step.prob
        # and Step.top are read from those: the unscaled distribution.
        return (f"Sampled at temperature {temperature:g}: each character was drawn from the model's "
                f"probabilities rescaled by the temperature, but the probabilities shown are the model's "
                f"own (temperature 1, before rescaling), so a drawn character may show a low probability.")
    if method == "beam":
        return ("Beam search: shown are the model's own probabilities for the best-scoring sentence's "
                "characters, so a character need not be the most likely one at its step.")
    return "Greedy decoding: shown are the model's own probabilities; each character is the most likely one at its step."


def legend(given: bool = False, subject: str = "the character it wrote") -> str:
    """The strip's legend: the colour scale, the underline tiers and, when `given`, the given mark.

    Args:
        given: add the key of the given characters' mark.
        subject: what the colour is the probability of ("your character" when scoring).
    """
    tiers = []
    lower = 0.0
    for below, style in UNDERLINES:
        span = f"below {number(below)}" if lower == 0.0 else f"{number(lower)} to {number(below)}"
        tiers.append(f'<span class="pv-sample pv-{style}" aria-hidden="true"><span class="pv-glyph">a</span></span> {span}')
        lower = below
    tiers.append(f"no underline from {number(lower)}")
    return (
        '<div class="pv-legend">'
        f"<span>Colour: probability the model gave {subject} (1 = certain)</span> "
        '<span class="pv-scale-row"><span class="pv-end">0</span>'
        f'<span class="pv-scale" role="img" aria-label="colour scale from 0, strong, to 1, light" '
        f'style="background:linear-gradient(to right,{colour(0)},{colour(0.5)},{colour(1)})"></span>'
        '<span class="pv-end">1</span></span> '
        f'<span class="pv-tiers">Underline: {"; ".join(tiers)}.</span> '
        + (f'<span><span class="pv-sample pv-given" aria-hidden="true"><span class="pv-glyph">a</span></span> '
           f"bar above: {GIVEN}</span> " if given else "")
        + "<span>Hover, tap or tab to a character to see its alternatives.</span></div>"
    )


def given_steps(translation: Translation) -> int:
    """How many leading steps were given (a prefix), not chosen by the model."""
    return sum(1 for step in translation.steps if step.given)


def strip_html(steps: Sequence[Step], mark_given: bool = True) -> str:
    """The characters of `steps` as a `pv-strip`: one focusable element each, coloured, underlined and
    with a tooltip (and, when `mark_given`, the given ones marked).

    Args:
        steps: one element each, END included; its `data-step` is its index.
        mark_given: mark the steps that were given (off where every character is, as when scoring).
    """
    # Runs of non-breaking characters go in one nowrap inline-block, so a phone breaks lines only
    # between words ("très", never "trè|s"); breaking spaces stand alone between the runs.
    parts, word = [], []
    for index, step in enumerate(steps):
        if step.char in BREAKING:
            if word:
                parts.append(f'<span class="pv-word">{"".join(word)}</span>')
                word = []
            parts.append(_char_html(index, step, mark_given))
        else:
            word.append(_char_html(index, step, mark_given))
    if word:
        parts.append(f'<span class="pv-word">{"".join(word)}</span>')
    strip = "".join(parts) or '<span class="pv-empty">No characters were produced.</span>'
    return f'<div class="pv-strip">{strip}</div>'


def probability_html(translation: Translation, *, method: str, temperature: float,
                     words: Wording = DEFAULT_WORDING) -> str:
    """The translation as a strip of characters coloured and underlined by their probability.

    Args:
        translation: the result to show; one element per entry of `translation.steps`, END included.
        method: the decoding method ("greedy", "beam" or "sample"): the note says what the numbers are.
        temperature: the sampling temperature, quoted in the note when `method == "sample"`.
        words: the page's language names (the note on given characters names the prefix's field).
    """
    given = given_steps(translation)
    note = _note(method, temperature) + (words.given_note(given) if given else "")
    return (f'<div class="pv"><p class="pv-note" role="note">{html.escape(note)}</p>'
            f'{strip_html(translation.steps)}{legend(given=bool(given))}</div>')


def steps_table(translation: Translation, top_k: int) -> tuple[list[str], list[list[Any]]]:
    """Headers and rows for a gr.Dataframe: one row per step, the chosen character with its
    probability once, then the other characters of the top-k, each as "c 0.061".

    Args:
        translation: the result; END is the last row, shown as ⏎.
        top_k: how many of each step's most likely characters to consider (the chosen one included).
    """
    rows = []
    for n, step in enumerate(translation.steps, start=1):
        others = [(c, p) for c, p in step.top[:top_k] if c != step.char]
        wrote = f"{written(step.char)} {number(step.prob)}" + (f" ({GIVEN})" if step.given else "")
        rows.append([n, wrote] + [f"{written(c)} {number(p)}" for c, p in others])
    width = max((len(r) for r in rows), default=2)
    rows = [r + [""] * (width - len(r)) for r in rows]
    return ["step", "wrote (p)"] + [f"alternative {i}" for i in range(1, width - 1)], rows


def step_view_html(translation: Translation, *, method: str, temperature: float, has_attention: bool,
                   words: Wording = DEFAULT_WORDING) -> str:
    """The whole per-step panel: the probability strip, then the alignment heatmap (or, for a model
    without attention, a sentence saying there is none).

    Args:
        translation: the result to show.
        method, temperature: how it was decoded (see probability_html).
        has_attention: whether the model has attention (Translator.has_attention).
        words: the page's language names.
    """
    steps = translation.steps
    weights = [s.attention for s in steps] if has_attention else None
    if weights is not None and any(w is None for w in weights):
        weights = None  # a hand-made or partial result: no grid rather than a broken one
    # Row i of the heatmap is steps[i], as is the strip's data-step="i": the CSS pairs them.
    grid = heatmap_html(source=translation.input, output_chars=[s.char for s in steps], weights=weights,
                        given=given_steps(translation), words=words)
    strip = probability_html(translation, method=method, temperature=temperature, words=words)
    return f'<div class="step-view">{strip}{grid}</div>'


def _highlight_rules(max_steps: int) -> str:
    # One rule per step: while either element of step i (its character or its heatmap row) is hovered
    # or focused, both get --pv-hi: 1, which the styles below turn into a highlight (a row's cells
    # inherit it from the row). No commas inside :has() or :is(): Gradio copies custom CSS with each
    # selector prefixed, splitting the selector list on every comma, parentheses or not.
    return "\n".join(
        f'.step-view:has([data-step="{i}"]:hover) [data-step="{i}"],'
        f'.step-view:has([data-step="{i}"]:focus) [data-step="{i}"] {{ --pv-hi: 1; }}'
        for i in range(max_steps)
    )


# For the page's CSS (launch(css=...)): the heatmap's styles, the strip's, and the per-step highlight rules (~55 kB).
CSS = ALIGNMENT_CSS + (Path(__file__).parents[1] / "static" / "steps.css").read_text(encoding="utf-8") + _highlight_rules(MAX_STEPS) + "\n"

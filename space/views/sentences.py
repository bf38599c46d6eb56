"""The sentences of a translated input: how sure the model was of each, at a glance, and a picker.

The French of an input of several sentences is shown twice: as text with the input's shape (the
French box, to read and copy), and as one highlighted span per sentence whose colour says how unsure
the model was (gr.HighlightedText in its scores mode: the stronger the red, the lower the sentence's
mean confidence), with the separators between them uncoloured. Clicking a sentence there, or
choosing it in the picker (a radio group that a keyboard and a screen reader reach), shows its
per-step view, table and n-best list. No gradio import: the handlers wrap these values.
"""

from __future__ import annotations

from typing import Any

from model.compare import mean_confidence
from model.paragraph import ParagraphTranslation, quoted

# The picker's and the highlight's labels.
HIGHLIGHT_LABEL = "How sure the model was, sentence by sentence (redder = less sure; click one to inspect it)"
PICKER_LABEL = "Inspect a sentence: its per-step view, table and n-best list"


def confidence(result: ParagraphTranslation, index: int) -> float:
    """A sentence's mean confidence (0-1; see model.compare.mean_confidence)."""
    try:
        return mean_confidence(result.sentences[index])
    except ValueError:  # no steps: nothing was decoded
        return 0.0


def highlighted(result: ParagraphTranslation) -> list[tuple[str, float]]:
    """HighlightedText tokens, one per sentence: its French and the separator after it (kept in the
    token: a token of its own would be a button with no words, which a screen reader cannot name),
    scored by the sentence's unsureness (1 - confidence, 0-1). Token k is sentence k."""
    return [((sentence.translation or "∅") + separator, round(1.0 - confidence(result, i), 3))
            for i, (sentence, separator) in enumerate(zip(result.sentences, [*result.segmented.separators, ""]))]


def sentence_of_token(index: int | None) -> int:
    """The sentence a clicked HighlightedText token shows."""
    return max(0, int(index or 0))


def picker_choices(result: ParagraphTranslation) -> list[tuple[str, int]]:
    """(label, index) per sentence: its number, its English and how sure the model was."""
    return [(f"{i + 1}. {quoted(s.input)} · {confidence(result, i):.0%} sure", i)
            for i, s in enumerate(result.sentences)]


def state(result: ParagraphTranslation, options: Any, has_attention: bool) -> dict[str, Any]:
    """What the page keeps of a result, to show any sentence's views without translating again."""
    return {"sentences": list(result.sentences), "options": options, "attention": has_attention}

"""What the page says about a result: the summary under a translation, the summary that replaces it
after an error, the n-best list, the reference translations and the summary of a translated file.

Text from an error message or a model's output is escaped for Markdown (`plain`).
"""

from __future__ import annotations

from typing import Any, Sequence

from model import batch_files
from model.batch_files import BatchRow
from model.compare import mean_confidence
from model.translator import DecodeOptions, Translation

from model.normalize import is_change

from ..wording import DEFAULT_WORDING, Wording
from .models import MODEL_NAMES

# Marks with a glyph in the fonts a stock Linux browser has (DejaVu Sans): "⛔" had none and showed
# as an empty box. Each mark is followed by words, so none carries meaning alone.
ERROR_MARK, WARNING_MARK = "✖", "⚠"


def method_text(options: DecodeOptions) -> str:
    """The decoding method and its settings, as the summary line states them."""
    if options.method == "beam":
        return f"beam search, width {options.beam_size}" + (", length-normalised" if options.length_normalize else "")
    if options.method == "sample":
        return f"sampling, temperature {options.temperature:g}, seed {options.seed}"
    return "greedy (the most likely character at each step)"


def nbest_table(translation: Translation) -> tuple[list[str], list[list[Any]]]:
    """Beam search's n-best list: rank, translation, log-probability."""
    return ["rank", "translation", "log-probability"], [
        [rank, entry["translation"], f"{float(entry['score']):.3f}"] for rank, entry in enumerate(translation.nbest, start=1)
    ]


def model_name(source: str) -> str:
    """A model's human name (MODEL_NAMES), or its source string."""
    return MODEL_NAMES.get(source, (source,))[0]


def notes(warnings: Sequence[str]) -> list[str]:
    """Markdown list lines for a result's warnings: first what was changed in the input (as the
    options asked: nothing is wrong), then every real warning (marked ⚠)."""
    changes = [w for w in warnings if is_change(w)]
    problems = [w for w in warnings if not is_change(w)]
    return [f"- {plain(n)}" for n in changes] + [f"- {WARNING_MARK} {plain(w)}" for w in problems]


def _given_line(translation: Translation, words: Wording) -> list[str]:
    given = "".join(step.char for step in translation.steps if step.given)
    if not given:
        return []
    return [words.given_line(plain(given))]


def summary(translation: Translation, source: str, options: DecodeOptions, sentences: int = 1,
            words: Wording = DEFAULT_WORDING) -> str:
    """Markdown under the result: model, method and settings, score, then the prefix the visitor
    gave, what was changed in the input and every warning (marked ⚠).

    Args:
        translation: the result (for several sentences, their `ParagraphTranslation.as_translation()`:
            score and confidence over every character, warnings naming their sentence).
        sentences: how many sentences the input had.
        words: the page's language names.
    """
    count = f" · {sentences} sentences" if sentences > 1 else ""
    text = (f"**{model_name(source)}** · {method_text(options)}{count} · "
            f"log-probability {translation.score:.3f} · mean confidence {mean_confidence(translation):.3f}")
    warnings = list(translation.warnings)
    if not translation.translation:
        warnings.append("the model wrote no characters for this input (it emitted only spaces or the end mark)")
    lines = _given_line(translation, words) + notes(warnings)
    if lines:
        text += "\n\n" + "\n".join(lines)
    return text


def sentence(text: str) -> str:
    """`text` as a sentence: its first letter upper-case (an error's detail starts lower-case)."""
    text = str(text)
    return text[:1].upper() + text[1:] if text[:1].islower() else text


def error_summary(title: str, detail: str) -> str:
    """What the summary shows instead of a result when a request failed (the outputs are cleared)."""
    return f"**{ERROR_MARK} {title}.** {plain(sentence(detail))}"


def references_text(references: Sequence[str]) -> str:
    """The reference translations of an example or a held-out sentence, one per line."""
    return "\n".join(references)


def plain(text: str) -> str:
    """Text shown in Markdown with its Markdown and HTML characters escaped, so it reads as typed."""
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!|<>~" else c for c in str(text))


def batch_summary(rows: Sequence[BatchRow], filename: str) -> str:
    """Markdown under a translated file: how many rows translated, blank rows, and the first few errors."""
    blank = batch_files.blank_rows(rows)
    bad = [r for r in rows if r.error and not r.error.startswith("warning:") and not r.blank]
    sentences = len(rows) - len(blank)
    text = f"Translated {sentences - len(bad)} of {sentences} sentences from `{filename.replace('`', '')}`."
    if blank:
        listed = ", ".join(str(n) for n in blank[:10]) + (" …" if len(blank) > 10 else "")
        text += f" Skipped {len(blank)} blank row{'s' if len(blank) > 1 else ''} (row {listed}); they are in the CSV, marked blank."
    if bad:
        shown = "\n".join(f"- row {r.row}: {plain(r.error)}" for r in bad[:5])
        more = f"\n- … and {len(bad) - 5} more (see the `error` column)" if len(bad) > 5 else ""
        text += f" {len(bad)} could not be translated:\n{shown}{more}"
    return text

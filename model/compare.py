"""Rows for the Compare view: one English sentence through every model, greedy and beam, side by side.

The caller translates (however it likes: threads, the app's engine) and hands over what came back,
one (model label, method label, Translation or the exception raised) per run. This module turns
them into plain rows for a table: the French, the model's own score (the sum of log-probabilities
`Translation.score` reports), the mean probability of the emitted characters, and, when the
sentence's French references are known (the bundled held-out sample, `model.samples`), its
sentence-level chrF. A run that failed is a row with its message and no figures, so one broken
model never hides the others.

Sentence chrF is sacrebleu's `CHRF().sentence_score`, the same metric (character 6-grams, beta 2,
whitespace ignored) as the corpus figures of `model.evaluation`, scored against the best-matching
of the references. On one short sentence it is noisy: it says which output is closer to a human
translation, not which model is better overall.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from sacrebleu.metrics import CHRF

from .translator import Translation

LOG_PROB_DIGITS = 4  # as the batch files' score column
CONFIDENCE_DIGITS = 4
CHRF_DIGITS = 2  # as model.evaluation's figures
ROW_KEYS = ("model", "method", "french", "log_prob", "mean_confidence", "chrf", "error")
# A row whose `error` starts so is a run that worked, with warnings (an input longer than the model
# was trained on, dropped characters): its French and figures stand. Any other error is a failed run.
WARNING = "warning: "


def sentence_chrf(hypothesis: str, references: Sequence[str] | None) -> float | None:
    """sacrebleu's sentence-level chrF of `hypothesis`, in percent (0-100); None without references.

    Args:
        hypothesis: the model's French.
        references: every French reference of the sentence; the best-matching one counts.
    """
    if not references:
        return None
    # A new metric per call: cheap, and no state shared between the app's threads.
    return float(CHRF().sentence_score(hypothesis, list(references)).score)


def mean_confidence(translation: Translation) -> float:
    """The mean probability of the emitted steps, END included.

    END counts because choosing to stop is one of the model's decisions: a translation cut short
    (or run on) shows up as an unsure END, and `Translation.score` includes END too, so the two
    columns describe the same steps. A translation of one character therefore averages two steps.

    Raises:
        ValueError: the translation has no steps (only a hand-made one can have none).
    """
    steps = translation.steps
    if not steps:
        raise ValueError("a translation without steps has no mean confidence")
    return sum(float(step.prob) for step in steps) / len(steps)


def failed(row: dict[str, Any]) -> bool:
    """Whether a row's run failed (no French, no figures), rather than worked, perhaps with warnings."""
    error = row.get("error") or ""
    return bool(error) and not error.startswith(WARNING)


def warning(row: dict[str, Any]) -> str:
    """The warnings of a run that worked, in one line ("" for a clean run or a failed one)."""
    error = row.get("error") or ""
    return error[len(WARNING):] if error.startswith(WARNING) else ""


def _error_row(model: str, method: str, error: str) -> dict[str, Any]:
    return {"model": model, "method": method, "french": "", "log_prob": None, "mean_confidence": None,
            "chrf": None, "error": error}


def compare_rows(results: Iterable[tuple[str, str, Translation | BaseException]],
                 references: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """One row per run, in the order given, with the keys ROW_KEYS.

    Args:
        results: (model label, method label, the Translation or the exception that run raised).
        references: the sentence's French references; without them every `chrf` is None.

    Returns:
        dicts of model, method, french, log_prob (rounded to LOG_PROB_DIGITS), mean_confidence
        (CONFIDENCE_DIGITS), chrf (CHRF_DIGITS; None without references) and error: "" when the run
        worked, "warning: ..." when it worked with warnings (dropped characters), else the
        exception's message, and then french is "" and every figure None.
    """
    rows = []
    for model, method, result in results:
        if isinstance(result, BaseException):
            rows.append(_error_row(model, method, str(result) or type(result).__name__))
            continue
        if not isinstance(result, Translation):
            rows.append(_error_row(model, method, f"expected a Translation or an exception, got {type(result).__name__}"))
            continue
        try:
            confidence = round(mean_confidence(result), CONFIDENCE_DIGITS)
        except ValueError:
            confidence = None
        chrf = sentence_chrf(result.translation, references)
        rows.append({
            "model": model,
            "method": method,
            "french": result.translation,
            "log_prob": round(float(result.score), LOG_PROB_DIGITS),
            "mean_confidence": confidence,
            "chrf": None if chrf is None else round(chrf, CHRF_DIGITS),
            "error": WARNING + "; ".join(result.warnings) if result.warnings else "",
        })
    return rows

"""Compare rows: sentence chrF against hand-computed values, mean confidence, and rows for failed runs."""

from __future__ import annotations

import math

import pytest

from model.compare import ROW_KEYS, compare_rows, failed, mean_confidence, sentence_chrf, warning
from model.translator import InputError, Step, Translation
from model.vocab import END


def _translation(text: str, probs: list[float], warnings: list[str] | None = None) -> Translation:
    """A hand-built translation: one step per character of `text`, then END; score = sum of log-probs."""
    chars = list(text) + [END]
    assert len(chars) == len(probs)
    steps = [Step(c, p, [(c, p)]) for c, p in zip(chars, probs)]
    return Translation("input", text, sum(math.log(p) for p in probs), steps, warnings=warnings or [])


# chrF (character n-grams up to 6, beta 2, whitespace removed), worked by hand for hypothesis "ab" and
# reference "abc": unigrams P 2/2, R 2/3; bigrams P 1/1, R 1/2; no longer n-grams in the hypothesis,
# so sacrebleu averages over those two orders: P = 1, R = 7/12, F2 = 5PR / (4P + R) = 7/11.
AB_VS_ABC = 100 * 7 / 11


@pytest.mark.parametrize("hypothesis, references, want", [
    ("Je vois un chat.", ["Je vois un chat."], 100.0),
    ("Je vois un chat.", ["Je  vois un\tchat."], 100.0),  # whitespace is not scored
    ("xyz", ["Va !"], 0.0),  # no character in common
    ("", ["Va !"], 0.0),
    ("ab", ["abc"], AB_VS_ABC),
    ("ab", ["xyz", "abc"], AB_VS_ABC),  # the best-matching reference counts
    ("ab", ["abc", "ab"], 100.0),
])
def test_sentence_chrf_matches_values_worked_by_hand(hypothesis, references, want):
    assert sentence_chrf(hypothesis, references) == pytest.approx(want, abs=1e-9)


@pytest.mark.parametrize("references", [None, []])
def test_no_references_no_chrf(references):
    assert sentence_chrf("Va !", references) is None


def test_mean_confidence_averages_every_step_end_included():
    assert mean_confidence(_translation("Va", [0.9, 0.6, 0.3])) == pytest.approx(0.6)
    assert mean_confidence(_translation("", [0.25])) == 0.25  # an empty translation is one END step
    with pytest.raises(ValueError, match="without steps"):
        mean_confidence(Translation("input", "", 0.0, []))


def test_rows_for_every_run_in_order_with_their_figures():
    greedy = _translation("ab", [0.5, 0.8, 0.9])
    beam = _translation("abc", [0.5, 0.9, 0.9, 1.0], warnings=["dropped 'ü'"])
    rows = compare_rows([("attention", "greedy", greedy), ("attention", "beam 4", beam)], references=["abc"])
    assert [tuple(r) for r in rows] == [ROW_KEYS, ROW_KEYS]
    assert rows[0] == {"model": "attention", "method": "greedy", "french": "ab", "log_prob": round(greedy.score, 4),
                       "mean_confidence": round((0.5 + 0.8 + 0.9) / 3, 4), "chrf": round(AB_VS_ABC, 2), "error": ""}
    assert rows[1]["chrf"] == 100.0 and rows[1]["mean_confidence"] == 0.825
    assert rows[1]["error"] == "warning: dropped 'ü'" and rows[1]["french"] == "abc"
    assert rows[1]["log_prob"] == pytest.approx(math.log(0.5) + 2 * math.log(0.9), abs=1e-4)


def test_without_references_every_chrf_is_none():
    rows = compare_rows([("fast", "greedy", _translation("ab", [0.5, 0.5, 0.5]))])
    assert rows[0]["chrf"] is None and rows[0]["mean_confidence"] == 0.5


def test_a_failed_run_is_a_row_with_its_message_and_no_figures():
    rows = compare_rows([
        ("recipe", "greedy", InputError("the input has characters this model does not know: 'ü'")),
        ("hub", "beam 4", TimeoutError()),
        ("fast", "greedy", _translation("ab", [1.0, 1.0, 1.0])),
        ("odd", "greedy", "not a translation"),
    ], references=["ab"])
    assert rows[0] == {"model": "recipe", "method": "greedy", "french": "", "log_prob": None, "mean_confidence": None,
                       "chrf": None, "error": "the input has characters this model does not know: 'ü'"}
    assert rows[1]["error"] == "TimeoutError" and rows[1]["chrf"] is None  # an exception without a message
    assert rows[2]["chrf"] == 100.0 and rows[2]["log_prob"] == 0.0 and rows[2]["error"] == ""
    assert rows[3]["error"] == "expected a Translation or an exception, got str" and rows[3]["french"] == ""


def test_a_translation_without_steps_has_no_confidence_but_keeps_its_other_figures():
    row = compare_rows([("m", "greedy", Translation("input", "ab", -1.5, []))], references=["ab"])[0]
    assert row["mean_confidence"] is None and row["log_prob"] == -1.5 and row["chrf"] == 100.0


def test_a_warning_is_not_a_failure():
    """An input longer than a model was trained on still gets its French: the row carries a warning."""
    long = _translation("ab", [0.5, 0.8, 0.9], warnings=["input is 60 characters long but the model was trained "
                                                        "on at most 16; expect a poor translation", "dropped 'ü'"])
    rows = compare_rows([("recipe", "greedy", long), ("fast", "greedy", InputError("the input is empty")),
                         ("attention", "greedy", _translation("ab", [1.0, 1.0, 1.0]))], references=["ab"])
    assert [failed(r) for r in rows] == [False, True, False]
    assert warning(rows[0]) == ("input is 60 characters long but the model was trained on at most 16; expect a poor "
                                "translation; dropped 'ü'")
    assert warning(rows[1]) == "" and warning(rows[2]) == ""
    assert rows[0]["french"] == "ab" and rows[0]["chrf"] == 100.0

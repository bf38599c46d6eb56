"""What the page says about a result (space/views/results.py): the summary names the method and its
settings, the score shown is the sum of the step log-probabilities, the n-best list has one number format."""

from __future__ import annotations

import math

import pytest

from model import DecodeOptions
from space.views import results

from tests.space.live import GOOD


def test_views_of_a_translation(translator):
    result = translator.translate(GOOD, DecodeOptions(method="beam", beam_size=3, top_k=4))
    headers, nbest = results.nbest_table(result)
    assert headers == ["rank", "translation", "log-probability"]
    assert len(nbest) == 3 and nbest[0][1] == result.translation
    assert [float(row[2]) for row in nbest] == sorted((float(row[2]) for row in nbest), reverse=True)
    assert all(len(row[2].split(".")[1]) == 3 for row in nbest)  # one number format: 3 decimals


@pytest.mark.parametrize("options, words", [
    (DecodeOptions(), "greedy"),
    (DecodeOptions(method="beam", beam_size=7), "beam search, width 7"),
    (DecodeOptions(method="sample", temperature=0.7, seed=12), "sampling, temperature 0.7, seed 12"),
])
def test_the_summary_always_names_the_method_and_its_settings(translator, options, words):
    result = translator.translate(GOOD, options)
    text = results.summary(result, "fast", options)
    assert words in text and "Masked LSTM (fast)" in text
    assert f"mean confidence {sum(s.prob for s in result.steps) / len(result.steps):.3f}" in text


def test_the_score_shown_is_the_sum_of_the_step_log_probabilities(translator):
    for options in (DecodeOptions(), DecodeOptions(method="sample", seed=3)):
        result = translator.translate(GOOD, options)
        assert result.score == pytest.approx(sum(math.log(step.prob) for step in result.steps), abs=1e-4)
        assert f"log-probability {result.score:.3f}" in results.summary(result, "m", options)


def test_an_error_reads_as_a_sentence_under_a_mark_every_browser_can_draw():
    text = results.error_summary("Can't translate this input", "the input is empty: type an English sentence, e.g. 'Go.'")
    assert text == "**✖ Can't translate this input.** The input is empty: type an English sentence, e\\.g\\. 'Go\\.'"
    assert results.error_summary("Model unavailable", "'x' is not offered").endswith("'x' is not offered")
    assert "⛔" not in text  # no glyph for it in DejaVu, the fonts of a stock Linux browser


def test_normalisation_is_a_note_and_only_problems_get_the_warning_mark(translator):
    options = DecodeOptions(capitalize=True)
    result = translator.translate("go.", options)
    text = results.summary(result, "fast", options)
    assert "- capitalised the first letter: g → G" in text and "⚠" not in text
    long = translator.translate("go " * 20, DecodeOptions(capitalize=True))
    text = results.summary(long, "fast", options)
    assert "- capitalised the first letter" in text
    assert f"- ⚠ input is {len(long.input)} characters long" in text.replace("\\", "")

"""Input normalisation (model/normalize.py): each step on its own, its report, and its switch."""

from __future__ import annotations

import pytest

from model import normalize

ASCII_LETTERS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ .,!?'\"-")


def known(char: str) -> bool:
    return char in ASCII_LETTERS


@pytest.mark.parametrize(
    "typed, plain",
    [
        ("I\u2019m happy.", "I'm happy."),  # a phone's curly apostrophe
        ("\u201cHello,\u201d she said.", '"Hello," she said.'),  # curly double quotes
        ("\u00abBonjour\u00bb", '"Bonjour"'),  # guillemets
        ("Wait \u2014 no.", "Wait - no."),  # em dash
        ("Well\u2026", "Well..."),  # ellipsis
        ("Hi\u00a0Tom\u202f!", "Hi Tom !"),  # non-breaking and narrow no-break spaces
        ("\ufb01ne", "fine"),  # NFKC: the fi ligature
        ("\uff27o.", "Go."),  # NFKC: a full-width letter
    ],
)
def test_typography_becomes_what_the_model_was_trained_on(typed, plain):
    result = normalize.normalize(typed, known)
    assert result.text == plain
    assert result.changes, "every change is reported"


def test_unchanged_input_reports_nothing():
    assert normalize.normalize("I'm happy.", known) == normalize.Normalized("I'm happy.", [])


def test_report_names_the_characters_replaced():
    (line,) = normalize.typography("I\u2019m").changes
    assert "\u2019 → '" in line


def test_accents_outside_the_vocabulary_fold_to_their_base_letter():
    result = normalize.normalize("I live in Z\u00fcrich.", known)
    assert result.text == "I live in Zurich."
    assert any("ü → u" in change for change in result.changes)


def test_accents_the_vocabulary_has_are_kept():
    with_e_acute = lambda c: known(c) or c == "\u00e9"  # noqa: E731
    assert normalize.normalize("caf\u00e9", with_e_acute).text == "caf\u00e9"
    # A decomposed é (e + combining acute) is composed by NFKC, then kept.
    assert normalize.normalize("cafe\u0301", with_e_acute).text == "caf\u00e9"


def test_characters_without_a_known_base_are_left_for_the_vocabulary_check():
    assert normalize.normalize("I like \u2603.", known).text == "I like \u2603."


def test_capitalize_is_off_by_default_and_reported_when_on():
    assert normalize.normalize("i am happy.", known).text == "i am happy."
    result = normalize.normalize("i am happy.", known, capitalize=True)
    assert result.text == "I am happy." and result.changes == ["capitalised the first letter: i → I"]
    assert normalize.normalize('"why?"', known, capitalize=True).text == '"Why?"'


def test_each_step_can_be_switched_off():
    text = "Z\u00fcrich\u2019s"
    assert normalize.normalize(text, known, typography_on=False).text == "Zurich\u2019s"
    assert normalize.normalize(text, known, diacritics_on=False).text == "Z\u00fcrich's"
    assert normalize.normalize(text, known, typography_on=False, diacritics_on=False).text == text


def test_starts_lowercase_looks_at_the_first_letter():
    assert normalize.starts_lowercase("i am.") and normalize.starts_lowercase('"why?"')
    assert not normalize.starts_lowercase("I am.") and not normalize.starts_lowercase("123")

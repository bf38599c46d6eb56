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


# --- what the vocabulary has decides what may change ------------------------------------------------


def test_a_known_typographic_character_is_replaced_when_its_ascii_form_is_known_too():
    # The fra-eng vocabularies hold "’" (37 times in the English side, "'" 57,778 times): the ASCII
    # form is the one the model learned, so it is used.
    both = lambda c: known(c) or c == "\u2019"  # noqa: E731
    assert normalize.normalize("I\u2019m.", both).text == "I'm."


def test_a_known_typographic_character_whose_ascii_form_is_unknown_is_kept():
    curly_only = lambda c: (known(c) and c not in "'\"") or c in "\u2019\u201c\u201d"  # noqa: E731
    assert normalize.normalize("\u201cI\u2019m.\u201d", curly_only) == normalize.Normalized("\u201cI\u2019m.\u201d", [])


def test_an_unknown_typographic_character_whose_ascii_form_is_unknown_too_is_left_for_the_refusal():
    # Replacing it would make the refusal name a character the visitor never typed.
    no_quotes = lambda c: known(c) and c != '"'  # noqa: E731
    assert normalize.normalize("\u201cGo.\u201d", no_quotes).text == "\u201cGo.\u201d"


def test_nfkc_touches_only_characters_the_vocabulary_lacks_and_names_them():
    result = normalize.normalize("\ufb01ne \uff27o", known)
    assert result.text == "fine Go"
    (line,) = result.changes
    assert "NFKC" in line and "\ufb01 → fi" in line and "\uff27 → G" in line
    with_ordinal = lambda c: known(c) or c == "\u00ba"  # noqa: E731  # "º", in the attention vocabulary
    assert normalize.normalize("N\u00ba 5", with_ordinal).text == "N\u00ba 5"
    assert normalize.typography("N\u00ba 5").text == "No 5"  # without a vocabulary, everything is folded


def test_capitalize_never_writes_a_capital_the_vocabulary_lacks():
    no_x = lambda c: known(c) and c != "X"  # noqa: E731
    assert normalize.normalize("xylophones.", no_x, capitalize=True) == normalize.Normalized("xylophones.", [])


def test_a_leading_digit_is_not_a_lower_case_start():
    # The training data writes "5 is less than 8.": capitalising "is" would be wrong.
    assert not normalize.starts_lowercase("5 is less than 8.")
    assert normalize.normalize("5 is less than 8.", known, capitalize=True).text == "5 is less than 8."
    assert normalize.starts_lowercase("(i think so.)")


def test_every_change_message_starts_with_one_of_the_declared_beginnings():
    # space/views/results.py lists these as notes, not warnings, by their beginnings.
    known = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ '\".,-").__contains__
    result = normalize.normalize("zürich’s “ﬁne” day", known, capitalize=True)
    assert len(result.changes) == 4
    assert all(normalize.is_change(change) for change in result.changes), result.changes
    assert [c.startswith(prefix) for c, prefix in zip(result.changes, normalize.CHANGES)] == [True] * 4
    assert not normalize.is_change("dropped characters outside the input vocabulary: '€'")

"""Request checks (model/validation.py): every option's bounds and types, the normalisation switches,
the text limit, and reading an option from a link's text."""

from __future__ import annotations

import inspect
import math

import pytest

from model import validation
from model.translator import DecodeOptions, InputError

SWITCHES = ("typography", "fold_accents", "capitalize")


def test_the_switches_come_after_the_existing_arguments():
    # Callers pass them positionally in RULES order (the API's order): it must never change.
    names = list(inspect.signature(validation.decode_options).parameters)
    assert names == ["method", "beam_size", "temperature", "seed", "top_k", "drop_unknown", *SWITCHES]
    assert validation.decode_options("beam", 3, 0.7, 5, 4, True) == DecodeOptions(
        method="beam", beam_size=3, temperature=0.7, seed=5, top_k=4, drop_unknown=True)


@pytest.mark.parametrize("name", SWITCHES)
def test_each_switch_takes_a_boolean_and_none_means_its_default(name):
    default = getattr(DecodeOptions(), name)
    assert getattr(validation.decode_options(**{name: None}), name) is default
    for value in (True, False):
        assert getattr(validation.decode_options(**{name: value}), name) is value


@pytest.mark.parametrize("name", SWITCHES)
@pytest.mark.parametrize("value, shown", [("yes", "text 'yes'"), (1, "int 1"), (0.0, "float 0.0"),
                                          ([True], "a list [True]"), ({"on": True}, "an object")])
def test_anything_but_a_boolean_is_refused_naming_the_field(name, value, shown):
    with pytest.raises(InputError) as caught:
        validation.decode_options(**{name: value})
    assert str(caught.value).startswith(f"{name} must be true or false, got {shown}")


def test_defaults_switch_typography_and_accents_on_and_capitalising_off():
    options = validation.decode_options()
    assert (options.typography, options.fold_accents, options.capitalize) == (True, True, False)


def test_decode_options_bounds_and_types():
    options = validation.decode_options("beam", 3.0, 0.7, 5.0, 4, True)
    assert options == DecodeOptions(method="beam", beam_size=3, temperature=0.7, seed=5, top_k=4, drop_unknown=True)
    assert validation.decode_options(typography=None, fold_accents=False, capitalize=True) == DecodeOptions(
        typography=True, fold_accents=False, capitalize=True)
    for bad, words in [
        (dict(method="nucleus"), "method must be one of greedy, beam, sample, got 'nucleus'"),
        (dict(method=["beam"]), "method must be one of"),
        (dict(beam_size=0), f"beam width must be a whole number from 1 to {validation.MAX_BEAM_SIZE}, got 0"),
        (dict(beam_size=10_000), "got 10000"),
        (dict(beam_size=2.5), "beam width must be a whole number"),
        (dict(beam_size="4"), "beam width must be a whole number from 1 to 16, got text '4'; send a JSON number"),
        (dict(beam_size=True), "got true/false True"),
        (dict(temperature=0), f"temperature must be a number from {validation.MIN_TEMPERATURE}"),
        (dict(temperature="hot"), "temperature must be a number .* got text 'hot'"),
        (dict(temperature=math.inf), "got inf"),
        (dict(seed=-1), "seed must be a whole number from 0 to 4294967295, got -1"),
        (dict(seed="abc"), "seed must be a whole number .* got text 'abc'"),
        (dict(seed=math.nan), "seed must be a whole number .* got nan"),
        (dict(seed=1e308), r"got 1e\+308$"),
        (dict(seed=10**308), r"got 10{29}… \(309 characters\)"),
        (dict(top_k=99), "top-k must be a whole number from 1 to 10"),
        (dict(drop_unknown="yes"), "drop_unknown must be true or false, got text 'yes'"),
        (dict(typography=1), "typography must be true or false, got int 1"),
        (dict(fold_accents="no"), "fold_accents must be true or false, got text 'no'"),
        (dict(capitalize=[True]), "capitalize must be true or false, got a list"),
    ]:
        with pytest.raises(InputError, match=words) as caught:
            validation.decode_options(**bad)
        assert len(str(caught.value)) < 200


def test_check_text_enforces_the_limit():
    limit = validation.MAX_PARAGRAPH_CHARS
    assert validation.check_text("a" * limit) == "a" * limit
    assert validation.check_text(None) == ""
    with pytest.raises(InputError, match=f"{limit + 1:,} characters long; the limit is {limit:,}"):
        validation.check_text("a" * (limit + 1))
    with pytest.raises(InputError, match="text must be a string, got int 42"):
        validation.check_text(42)


def test_the_length_limit_counts_what_the_model_reads_after_normalisation():
    """1,000 x "ⅷ" is 1,000 characters as typed but 4,000 once NFKC has written each as "viii"."""
    from model.translator import Translator
    from tests.random_models import random_vocabulary

    limit = validation.MAX_PARAGRAPH_CHARS
    with pytest.raises(InputError) as caught:
        validation.check_text("ⅷ" * limit)
    assert str(caught.value) == (f"the input is {limit:,} characters long but {4 * limit:,} once normalised (ⅷ → viii); "
                                 f"the limit is {limit:,}, counted after normalisation. Shorten it, or split it into "
                                 f"several requests.")
    assert validation.check_text("ⅷ" * (limit // 4)) == "ⅷ" * (limit // 4)  # exactly the limit once normalised
    with pytest.raises(InputError, match=f"{limit // 4 + 1} characters long but {limit + 1:,} once normalised"):
        validation.check_text("ⅷ" * (limit // 4) + "a")
    with pytest.raises(InputError, match=rf"but {3 * (limit // 3 + 1):,} once normalised \(… → \.\.\.\)"):
        validation.check_text("…" * (limit // 3 + 1))

    # The translator's own normalisation, with the vocabulary, reads what check_text counted.
    translator = Translator(random_vocabulary(), None, None)  # prepare() needs only the vocabulary
    for text in ("ⅲ" * (limit // 3), "…" * (limit // 3) + "a", "Hi, Tom… ⅱ"):
        read = translator.prepare(validation.check_text(text), DecodeOptions()).text
        assert len(read) == len(validation.normalize.typography(text).text) <= limit
    for text in ("ⅲ" * (limit // 3 + 1), "a…" * (limit // 4 + 1)):
        assert len(translator.prepare(text, DecodeOptions()).text) > limit  # what it would have put in
        with pytest.raises(InputError, match="once normalised"):
            validation.check_text(text)


def test_options_left_out_and_fields_without_a_rule_come_from_the_base():
    base = DecodeOptions(method="beam", beam_size=6, length_normalize=True)
    options = validation.check_options({"top_k": 3}, base=base)
    assert options == DecodeOptions(method="beam", beam_size=6, length_normalize=True, top_k=3)
    assert "length_normalize" not in validation.RULES  # not a request option: the caller's base decides


@pytest.mark.parametrize("name, text, value", [
    ("method", "greedy", "greedy"), ("beam_size", "6", 6), ("beam_size", "6.0", 6), ("temperature", "0.5", 0.5),
    ("seed", "9", 9), ("top_k", "3", 3), ("capitalize", "TRUE", True), ("typography", "false", False),
])
def test_a_links_text_is_read_as_the_option_it_names(name, text, value):
    parsed = validation.RULES[name].parse(text)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize("name, text, words", [
    ("seed", "x", "seed must be a whole number from 0 to 4294967295, got 'x'"),
    ("seed", "-1", "seed must be a whole number from 0 to 4294967295, got -1"),
    ("beam_size", "2.5", "beam width must be a whole number from 1 to 16, got 2.5"),
    ("beam_size", "99", "beam width must be a whole number from 1 to 16, got 99"),
    ("temperature", "hot", "temperature must be a number from 0.1 to 2.0, got 'hot'"),
    ("temperature", "nan", "temperature must be a number from 0.1 to 2.0, got nan"),
    ("capitalize", "maybe", "capitalize must be true or false, got 'maybe'"),
    ("method", "nucleus", "method must be one of greedy, beam, sample, got 'nucleus'"),
])
def test_a_links_bad_text_says_what_is_accepted_in_words(name, text, words):
    with pytest.raises(InputError) as caught:
        validation.RULES[name].parse(text)
    assert str(caught.value) == words
    assert "invalid literal" not in str(caught.value) and "JSON" not in str(caught.value)


def test_french_given_to_the_decoder_is_checked_for_type_and_length_only():
    assert validation.check_french("Je ") == "Je " and validation.check_french(None) == ""  # taken as sent
    assert validation.check_french("Ça €") == "Ça €"  # whether the model writes them: the Translator's check
    with pytest.raises(InputError, match=r"^the prefix must be text, got a list \['Je'\]$"):
        validation.check_french(["Je"], "prefix")
    with pytest.raises(InputError, match="the French is 401 characters long; the limit is 400"):
        validation.check_french("a" * (validation.MAX_FRENCH_CHARS + 1))

"""Request checks (model/validation.py) for the input-normalisation switches; the other fields are
tested with the app's handlers in tests/test_app.py."""

from __future__ import annotations

import inspect

import pytest

from model import validation
from model.translator import DecodeOptions, InputError

SWITCHES = ("typography", "fold_accents", "capitalize")


def test_the_switches_come_after_the_existing_arguments():
    # app.py passes the first six positionally: their order must never change.
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


def test_the_length_limit_counts_what_the_model_reads_after_normalisation():
    """100 x "ⅷ" is 100 characters as typed but 400 once NFKC has written each as "viii"."""
    from model.translator import Translator
    from tests.random_models import random_vocabulary

    limit = validation.MAX_INPUT_CHARS
    with pytest.raises(InputError) as caught:
        validation.check_text("ⅷ" * limit)
    assert str(caught.value) == (f"the input is {limit} characters long but {4 * limit} once normalised (ⅷ → viii); "
                                 f"the limit is {limit}, counted after normalisation. Shorten it to one sentence.")
    assert validation.check_text("ⅷ" * (limit // 4)) == "ⅷ" * (limit // 4)  # exactly the limit once normalised
    with pytest.raises(InputError, match=f"{limit // 4 + 1} characters long but {limit + 1} once normalised"):
        validation.check_text("ⅷ" * (limit // 4) + "a")
    with pytest.raises(InputError, match=r"but 102 once normalised \(… → \.\.\.\)"):
        validation.check_text("…" * 34)

    # The translator's own normalisation, with the vocabulary, reads what check_text counted.
    translator = Translator(random_vocabulary(), None, None)  # prepare() needs only the vocabulary
    for text in ("ⅲ" * 33, "…" * 33 + "a", "Hi, Tom… ⅱ"):
        read = translator.prepare(validation.check_text(text), DecodeOptions()).text
        assert len(read) == len(validation.normalize.typography(text).text) <= limit
    for text in ("ⅲ" * 34, "a…" * 26):
        assert len(translator.prepare(text, DecodeOptions()).text) > limit  # what it would have put in
        with pytest.raises(InputError, match="once normalised"):
            validation.check_text(text)

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

"""The options table (space/options.py): one row per request option, read by the API's signature, the
page's widgets and the share link, with the page's defaults."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect

from model.translator import DecodeOptions
from model.validation import RULES
from space.deep_link import LINK_NAMES
from space.options import APP_DEFAULT_OPTIONS, NAMES, OPTIONS, PREFIX, as_values, request_options, with_options


def test_one_row_per_request_option_in_the_api_order():
    assert NAMES == tuple(RULES)
    fields = {f.name for f in dataclasses.fields(DecodeOptions)}
    assert set(NAMES) <= fields and fields - set(NAMES) == {"length_normalize"}  # fixed by APP_DEFAULT_OPTIONS
    assert LINK_NAMES == ("text", "prefix", "model", *(o.link or o.name for o in OPTIONS))
    assert [o.link_name for o in OPTIONS if o.link] == ["beam"]  # the one name kept from the first links


def test_with_options_lists_each_option_as_a_parameter_with_the_page_default():
    @with_options
    def handler(text: str, model: str | None = None, options: dict | None = None, extra: int = 1):
        return text, model, options, extra

    params = inspect.signature(handler).parameters
    assert list(params) == ["text", "model", *NAMES, "extra"]
    assert [params[n].default for n in NAMES] == [getattr(APP_DEFAULT_OPTIONS, n) for n in NAMES]
    assert inspect.get_annotations(handler)["beam_size"] is int and inspect.get_annotations(handler)["method"] is str
    text, model, options, extra = handler("Go.", "m", "sample", 3, extra=2)
    assert (text, model, extra) == ("Go.", "m", 2)
    assert options == {**as_values(APP_DEFAULT_OPTIONS), "method": "sample", "beam_size": 3}
    assert handler("Go.", top_k=2)[2]["top_k"] == 2


def test_with_options_keeps_a_coroutine_a_coroutine():
    @with_options
    async def handler(text: str, options: dict | None = None):
        return options["method"]

    assert inspect.iscoroutinefunction(handler)  # Gradio awaits it instead of running it in a thread
    assert asyncio.run(handler("Go.", "greedy")) == "greedy"


def test_the_prefix_is_a_field_of_the_sentence_not_a_decoding_option():
    assert PREFIX.name not in NAMES and PREFIX.name not in {f.name for f in dataclasses.fields(DecodeOptions)}
    assert (PREFIX.link_name, PREFIX.default, PREFIX.elem_id) == ("prefix", "", "prefix")


def test_request_options_start_from_the_page_defaults():
    assert request_options({}) == APP_DEFAULT_OPTIONS
    assert request_options({"method": "greedy"}) == dataclasses.replace(APP_DEFAULT_OPTIONS, method="greedy")

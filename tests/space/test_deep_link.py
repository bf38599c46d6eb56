"""Share links (space/deep_link.py, through the page's load handlers): a link fills the text, the model
and the options, says what it cut or ignored, and opening the page shows the linked model's card."""

from __future__ import annotations

import asyncio

import gradio as gr

from model import validation
from space.deep_link import LINK_NAMES, Link, copy_link_js, link_defaults, read_link
from space.handlers import PAGE_OUTPUTS
from tests.space.live import named
from space.views import models as model_views


def _link(handlers, **query):
    text, prefix, model, method, beam, temperature, seed, top_k, drop, typography, accents, capitalize, notice = (
        handlers.fill_from_link(gr.Request(query_params=query)))
    return dict(text=text, prefix=prefix, model=model, method=method, beam=beam, temperature=temperature, seed=seed,
                top_k=top_k, drop_unknown=drop, typography=typography, fold_accents=accents, capitalize=capitalize,
                notice=notice)


def test_deep_link_fills_the_textbox_the_model_and_the_options(handlers, registry, recipe_path):
    plain = _link(handlers, text="Go.")
    assert plain["text"] == "Go." and plain["model"] == gr.skip() and plain["notice"]["visible"] is False
    assert _link(handlers)["text"] == gr.skip()  # no text in the link: the box is left alone
    full = _link(handlers, text="Go.", model=recipe_path, method="beam", beam="6", temperature="0.5", seed="9",
                 top_k="3", drop_unknown="true", typography="false", fold_accents="false", capitalize="true")
    assert (full["model"], full["method"], full["beam"], full["temperature"], full["seed"], full["top_k"]) == (
        recipe_path, "beam", 6, 0.5, 9, 3)
    assert (full["drop_unknown"], full["typography"], full["fold_accents"], full["capitalize"]) == (True, False, False, True)
    skipped = asyncio.run(handlers.translate_link(None, registry.active))
    assert len(skipped) == PAGE_OUTPUTS and all(s == gr.skip() for s in skipped)


def test_a_deep_link_with_bad_values_says_what_it_ignored(handlers):
    bad = _link(handlers, text="Go.", model="/etc/passwd", beam="99", seed="x", capitalize="maybe")
    assert bad["model"] == gr.skip() and bad["beam"] == gr.skip() and bad["seed"] == gr.skip()
    notice = bad["notice"]["value"]
    assert bad["notice"]["visible"] is True
    for words in ("does not offer", "beam", "whole number from 1 to 16", "seed", "capitalize", "true or false"):
        assert words in notice.replace("\\", ""), words


def test_a_long_deep_link_is_cut_at_a_word_and_the_page_says_so(handlers):
    words = "the cat sat on the mat " * 50  # 1,150 characters
    linked = _link(handlers, text=words)
    assert len(linked["text"]) <= validation.MAX_PARAGRAPH_CHARS and words.startswith(linked["text"])
    assert linked["text"].endswith(("the", "cat", "sat", "on", "mat"))  # never mid-word
    assert "was 1150 characters long" in linked["notice"]["value"]


def test_a_link_keeps_the_line_breaks_of_its_text(handlers):
    text = "Dear Anna,\nThank you! See you soon.\n\nTom"
    assert _link(handlers, text=text)["text"] == text


def test_opening_the_page_shows_the_failure_notice_and_the_linked_model(handlers, registry, translator, recipe_path):
    notice, card, trained, text, prefix, model, *_, linked = handlers.open_page(gr.Request(query_params={}))
    assert linked is None  # nothing for translate_link to translate, whatever the box holds by then
    assert notice["visible"] is True and "no-such-checkpoint" in notice["value"]
    assert model == registry.active and card == model_views.describe_model(registry.active, translator)
    assert trained == translator.vocab.max_encoder_seq_length and text == gr.skip() and prefix == gr.skip()
    _, card, trained, text, prefix, model, *_, linked = handlers.open_page(
        gr.Request(query_params={"text": "Go.", "prefix": "Va ", "model": recipe_path}))
    recipe = registry.get(recipe_path)
    assert (text, prefix, model, linked) == ("Go.", "Va ", recipe_path, "Go.")
    assert card == model_views.describe_model(recipe_path, recipe)
    assert trained == recipe.vocab.max_encoder_seq_length


SOURCES = ("default", "fast")


def test_read_link_takes_each_option_by_its_link_name():
    link = read_link({"text": "Go.", "model": "fast", "method": "greedy", "beam": "3", "top_k": "2",
                      "capitalize": "true"}, SOURCES)
    assert (link.text, link.model, link.notes) == ("Go.", "fast", [])
    assert link.options == {"method": "greedy", "beam_size": 3, "top_k": 2, "capitalize": True}
    assert read_link({}, SOURCES) == Link()


def test_an_empty_value_in_a_link_counts_as_left_out():
    link = read_link({"text": "Go.", "model": "", "seed": "", "method": ""}, SOURCES)
    assert link.model is None and link.options == {} and link.notes == []


def test_a_link_carries_the_french_prefix_as_written(handlers, registry, translator):
    link = read_link({"text": "Go.", "prefix": "Va "}, SOURCES)
    assert (link.text, link.prefix, link.notes) == ("Go.", "Va ", [])  # its trailing space is part of it
    assert read_link({"text": "Go.", "prefix": ""}, SOURCES).prefix is None  # empty: no prefix
    long = read_link({"prefix": "Je suis " * 60}, SOURCES)
    assert len(long.prefix) <= validation.MAX_FRENCH_CHARS and "French prefix was 480 characters long" in long.notes[0]
    linked = _link(handlers, text="Go.", prefix="Va")
    assert linked["prefix"] == "Va" and _link(handlers, text="Go.")["prefix"] == gr.skip()
    # The page translates what the link filled in: the French starts with the prefix.
    page = named(asyncio.run(handlers.translate_link("Go.", registry.active, "greedy", 4, 1.0, 0, 5, False,
                                                     True, True, False, "Va")))
    french, step_view = page["french"], page["step_view"]
    assert french == translator.translate("Go.", prefix="Va").translation and french.startswith("Va")
    assert step_view.count("pv-given") >= 2


def test_a_bad_value_in_a_link_says_what_was_wrong_and_what_is_accepted():
    link = read_link({"seed": "abc", "model": "/etc"}, SOURCES)
    assert link.options == {} and link.model is None
    assert link.notes[0] == "The link asks for model “/etc”, which this Space does not offer; using the default."
    assert link.notes[1] == ("Ignored the link's seed='abc': seed must be a whole number from 0 to 4294967295, "
                             "got 'abc'.")
    assert "invalid literal" not in " ".join(link.notes)


def test_an_old_link_that_says_greedy_still_gets_greedy(handlers):
    assert read_link({"text": "Go.", "method": "greedy"}, SOURCES).options == {"method": "greedy"}
    assert _link(handlers, text="Go.", method="greedy")["method"] == "greedy"


def test_links_leave_out_the_page_defaults():
    defaults = link_defaults("default")
    assert (defaults["model"], defaults["method"], defaults["beam"]) == ("default", "beam", 4)
    assert set(defaults) == set(LINK_NAMES) - {"text"} and defaults["prefix"] == ""  # no prefix: left out
    script = copy_link_js(defaults)
    assert script.lstrip().startswith("(...values) =>") and '"beam": 4' in script and "SETTINGS" not in script

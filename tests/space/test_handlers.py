"""The Space's handlers called directly, as the page's events and the API call them: JSON and page
updates that match what the Translator gives, errors that name the problem and clear the page, the
busy timeout, the model selector and the batch file handler."""

from __future__ import annotations

import asyncio
import csv
import re
import time
from dataclasses import replace
from pathlib import Path

import gradio as gr
import pytest

from model import DecodeOptions
from space import Handlers
from space.options import APP_DEFAULT_OPTIONS, as_values
from space.batch_results import OUTPUT_FOLDER
from space.views import models as model_views, results

from tests.space.live import GOOD, UNKNOWN, named


def test_translate_handler_returns_the_translation_as_json(handlers, translator, registry):
    result = asyncio.run(handlers.translate(GOOD, registry.active, method="greedy"))
    expected = translator.translate(GOOD)
    assert result["translation"] == expected.translation and result["score"] == pytest.approx(expected.score, abs=1e-4)
    assert [s["char"] for s in result["steps"]] == [s.char for s in expected.steps]
    assert result["model"] == registry.active and result["options"]["method"] == "greedy"
    assert result["nbest"] == []  # greedy has no n-best list


def test_a_request_without_a_method_gets_the_app_default_and_greedy_stays_selectable(handlers, translator, registry):
    result = asyncio.run(handlers.translate(GOOD, registry.active))
    assert result["options"] == {**as_values(APP_DEFAULT_OPTIONS), "length_normalize": True}
    assert (result["options"]["method"], result["options"]["beam_size"]) == ("beam", 4)
    assert result["translation"] == translator.translate(GOOD, APP_DEFAULT_OPTIONS).translation and result["nbest"]
    greedy = asyncio.run(handlers.translate(GOOD, registry.active, method="greedy"))
    assert greedy["options"]["method"] == "greedy" and greedy["translation"] == translator.translate(GOOD).translation


def test_the_page_handler_fills_every_output(handlers, translator, registry):
    page = named(asyncio.run(handlers.translate_page(GOOD, registry.active, "beam", 3, 1.0, 0, 4, False, True, True,
                                                     False)))
    french, step_view, steps, nbest, summary, capitalize = (
        page[k] for k in ("french", "step_view", "steps", "nbest", "summary", "capitalize"))
    assert page["sentences"]["visible"] is False and page["picker"]["visible"] is False  # one sentence
    assert page["kept"]["sentences"][0].translation == french
    expected = translator.translate(GOOD, DecodeOptions(method="beam", beam_size=3, top_k=4, length_normalize=True))
    assert french == expected.translation
    assert step_view.count('class="pv-char ') == len(expected.steps)
    assert len(steps["data"]) == len(expected.steps)
    assert nbest["visible"] is True and [r[1] for r in nbest["value"]["data"]] == [e["translation"] for e in expected.nbest]
    assert "beam search, width 3" in summary and f"{expected.score:.3f}" in summary
    assert capitalize["visible"] is False


def test_translate_handler_errors_name_the_problem(handlers, registry):
    for text, words in [("", "the input is empty"), (UNKNOWN, "'€'"), ("x" * 1500, "1,500 characters long"),
                        ("?! ...", "only punctuation and spaces"), ("Go. " * 21, "21 sentences; the limit is 20")]:
        with pytest.raises(gr.Error, match=words) as caught:
            asyncio.run(handlers.translate(text, registry.active))
        assert caught.value.title == "Can't translate this input"
        assert caught.value.message.startswith("Can't translate this input — ")
    with pytest.raises(gr.Error, match="not offered") as caught:
        asyncio.run(handlers.translate(GOOD, "/etc/passwd"))
    assert caught.value.title == "Model unavailable"


def test_an_error_on_the_page_clears_every_output_of_the_last_result(handlers, registry):
    options = ("greedy", 4, 1.0, 0, 5, False, True, True, False)
    good = named(asyncio.run(handlers.translate_page(f"{GOOD} {GOOD}", registry.active, *options)))
    assert good["sentences"]["visible"] is True and good["kept"]
    page = named(asyncio.run(handlers.translate_page(UNKNOWN, registry.active, *options)))
    french, step_view, steps, nbest, summary, capitalize = (
        page[k] for k in ("french", "step_view", "steps", "nbest", "summary", "capitalize"))
    assert french == "" and step_view == "" and steps["value"] is None
    assert page["sentences"] is None and page["picker"]["visible"] is False and page["kept"] is None
    assert nbest == {"__type__": "update", "value": None, "visible": False}
    assert summary.startswith("**✖ Can't translate this input.** Characters outside") and "€" in summary
    assert capitalize["visible"] is False


def test_a_translation_that_waits_too_long_gets_a_busy_error(registry, translator):
    class Stuck:
        def translate_batch(self, texts, options=None):
            time.sleep(1.0)
            return translator.translate_batch(texts, options)

    stuck = Handlers(registry, timeout=0.1)
    stuck.registry = type("OneModel", (), {"get": lambda self, model: Stuck()})()
    with pytest.raises(gr.Error, match="Server busy — no translation within 0 s") as caught:
        asyncio.run(stuck.translate(GOOD, "any"))
    assert caught.value.title == "Server busy"


def test_unknown_characters_can_be_dropped(handlers, registry, translator):
    result = asyncio.run(handlers.translate(UNKNOWN, registry.active, drop_unknown=True))
    assert result["translation"] == translator.translate(UNKNOWN, replace(APP_DEFAULT_OPTIONS, drop_unknown=True)).translation
    assert any("dropped characters" in w for w in result["warnings"])


def test_selecting_a_broken_model_falls_back(handlers, registry, translator):
    broken = next(s for s in registry.sources if "no-such-checkpoint" in s)
    model, card, _, trained = handlers.select_model(broken)
    assert model == registry.active and card == model_views.describe_model(registry.active, translator)
    assert trained == translator.vocab.max_encoder_seq_length


def test_batch_handler_writes_a_csv_in_gradios_cache(handlers, registry, translator, tmp_path):
    upload = tmp_path / "in.txt"
    upload.write_text(f"{GOOD}\n{UNKNOWN}\nHi.\n", encoding="utf-8")
    path, summary, preview = handlers.translate_batch(str(upload), registry.active, progress=lambda *a, **k: None)
    assert Path(path).is_relative_to(Path(gr.utils.get_upload_folder()) / OUTPUT_FOLDER)
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["english"] for r in rows] == [GOOD, UNKNOWN, "Hi."]
    assert preview["data"] and GOOD in preview["data"][0]
    assert rows[0]["french"] == translator.translate(GOOD, APP_DEFAULT_OPTIONS).translation and not rows[0]["error"].startswith("the")
    assert not rows[1]["french"] and "'€'" in rows[1]["error"]
    assert "Translated 2 of 3" in summary and "row 2" in summary


# --- a French prefix, and scoring the visitor's French ---------------------------------------------

GREEDY = ("greedy", 4, 1.0, 0, 5, False, True, True, False)  # the page's option widgets, in table order


def test_the_page_translates_with_a_prefix_and_marks_its_characters_as_given(handlers, translator, registry):
    page = named(asyncio.run(
        handlers.translate_page(GOOD, registry.active, "beam", 3, 1.0, 0, 5, False, True, True, False, "Va")))
    french, step_view, steps, nbest, summary = (page[k] for k in ("french", "step_view", "steps", "nbest", "summary"))
    expected = translator.translate(GOOD, DecodeOptions(method="beam", beam_size=3, length_normalize=True), prefix="Va")
    assert french == expected.translation and french.startswith("Va")
    assert len(re.findall(r'class="pv-char [^"]*pv-given"', step_view)) == 2
    assert "bar above: given by you" in step_view  # the legend's entry
    assert [row[1].endswith("(given by you)") for row in steps["data"][:3]] == [True, True, False]
    assert [r[1] for r in nbest["value"]["data"]] == [e["translation"] for e in expected.nbest]
    assert all(r[1].startswith("Va") for r in nbest["value"]["data"])
    assert "starts with “Va”, as you asked" in summary


def test_a_prefix_the_model_cannot_write_clears_the_page_and_names_its_characters(handlers, registry):
    page = named(asyncio.run(handlers.translate_page(GOOD, registry.active, *GREEDY, "Ça")))
    french, step_view, summary = page["french"], page["step_view"], page["summary"]
    assert french == "" and step_view == ""
    assert summary.startswith("**✖ Can't translate this input.** The prefix has characters outside the model's "
                              "French vocabulary: 'Ç'")
    with pytest.raises(gr.Error, match="the prefix has characters outside .*'Ç'.* The model writes only these"):
        asyncio.run(handlers.translate(GOOD, registry.active, prefix="Ça"))


def test_the_score_handler_returns_the_forced_decoding_record(handlers, translator, registry):
    result = asyncio.run(handlers.score(GOOD, "Va !", top_k=2))
    expected = translator.score(GOOD, "Va !", replace(APP_DEFAULT_OPTIONS, top_k=2))
    assert result["translation"] == "Va !" and result["score"] == pytest.approx(expected.score, abs=1e-5)
    assert result["normalized_score"] == pytest.approx(expected.score / len(expected.steps), abs=1e-6)
    assert [d["step"] for d in result["disagreements"]] == [d["step"] for d in expected.disagreements]
    assert all(s["given"] and len(s["top"]) == 2 for s in result["steps"])
    assert (result["model"], result["options"]) == (registry.active, {"top_k": 2})


def test_the_score_panel_shows_the_visitors_french_beside_the_models_own(handlers, translator, registry):
    box, summary, view = asyncio.run(handlers.score_page(GOOD, registry.active, "Va !", *GREEDY))
    scored, own = translator.score(GOOD, "Va !"), translator.translate(GOOD)
    assert box == gr.skip()  # the visitor's French stays as typed
    assert f"**Your French:** log-probability **{scored.score:.3f}** in all, **{scored.normalized_score:.3f}**" in summary
    assert f"“{results.plain(own.translation)}”, log-probability **{own.score:.3f}**" in summary
    assert "greedy" in summary and "Log-probability adds up the logarithm" in summary
    strip = re.findall(r'<span class="pv-char [^"]*" tabindex="0" role="img" data-step="(\d+)"', view)
    assert [int(i) for i in strip] == list(range(len(scored.steps))) and "pv-given" not in view
    table = re.findall(r'<tr data-step="(\d+)">', view)
    assert [int(i) for i in table] == [d["step"] for d in scored.disagreements]


def test_the_score_panel_scores_the_models_own_translation_when_the_box_is_empty(handlers, translator, registry):
    box, summary, view = asyncio.run(handlers.score_page(GOOD, registry.active, "  ", *GREEDY))
    own = translator.translate(GOOD)
    assert box == own.translation  # filled in, for the visitor to edit
    assert "since the French box was empty" in summary and f"**{own.score:.3f}**" in summary
    assert "Your French:" not in summary
    assert "Nowhere would the model have written something else" in view  # greedy: every character its first choice


def test_a_score_error_says_what_is_wrong_and_clears_the_last_score(handlers, registry):
    for text, french, words in [(GOOD, "Tu es là.", "The French has characters outside the model's French "
                                                    "vocabulary: 'à'"),
                                ("", "Va !", "The input is empty")]:
        box, summary, view = asyncio.run(handlers.score_page(text, registry.active, french, *GREEDY))
        assert box == gr.skip() and view == ""
        assert summary.startswith(f"**✖ Can't score this input.** {words}"), summary


# --- several sentences -------------------------------------------------------------------------------


def test_the_counter_counts_characters_and_sentences_as_the_request_will(handlers):
    assert handlers.counter("", 12) == '<span class="counter">0 / 1,000 characters · 0 / 20 sentences</span>'
    two = handlers.counter("Go. Hi, Tom!\nWho?", 12)
    assert two == '<span class="counter">17 / 1,000 characters · 3 / 20 sentences</span>'
    long = handlers.counter("Go. I won, Tom, go away. Hi. I won, Tom, go away.", 12)
    assert long.startswith('<span class="counter long">') and "sentences 2, 4 are longer than the 12 characters" in long
    assert "it is longer than the 12" in handlers.counter("I won, Tom, go away.", 12)
    assert handlers.counter("I won, Tom, go away.", None) == '<span class="counter">20 / 1,000 characters · 1 / 20 sentences</span>'
    over = handlers.counter("a" * 1001, 12)
    assert over.startswith('<span class="counter over">1,001 / 1,000 characters') and "1,000-character limit" in over
    assert "20-sentence limit" in handlers.counter("Go. " * 21, 12)


def test_a_paragraph_fills_the_sentences_the_picker_and_the_first_sentences_views(handlers, translator, registry):
    text = "Go. Hi, Tom!\n\nWho?"
    page = named(asyncio.run(handlers.translate_page(text, registry.active, *GREEDY)))
    sentences = [translator.translate(s) for s in ("Go.", "Hi, Tom!", "Who?")]
    assert page["french"] == f"{sentences[0].translation} {sentences[1].translation}\n\n{sentences[2].translation}"
    tokens = page["sentences"]["value"]
    assert [t for t, _ in tokens] == [f"{sentences[0].translation or '∅'} ", f"{sentences[1].translation or '∅'}\n\n",
                                      sentences[2].translation or "∅"]
    for (_, unsure), s in zip(tokens, sentences):
        assert unsure == pytest.approx(1 - sum(step.prob for step in s.steps) / len(s.steps), abs=1e-3)
    picker = page["picker"]
    assert picker["visible"] is True and picker["value"] == 0 and [i for _, i in picker["choices"]] == [0, 1, 2]
    assert picker["choices"][1][0].startswith("2. “Hi, Tom!” · ")
    assert page["step_view"].count('class="pv-char ') == len(sentences[0].steps)
    assert "3 sentences" in page["summary"]
    # The picker, or a click on the third sentence's French (token 2), shows that sentence's views.
    step_view, steps, nbest = handlers.show_sentence(2, page["kept"])
    assert step_view.count('class="pv-char ') == len(sentences[2].steps) and len(steps["data"]) == len(sentences[2].steps)
    clicked = handlers.select_sentence(page["kept"], gr.SelectData(None, {"index": 2, "value": tokens[2]}))
    assert clicked[0] == 2 and clicked[1] == step_view
    assert handlers.show_sentence(5, page["kept"]) == (gr.skip(), gr.skip(), gr.skip())


def test_the_api_returns_a_record_per_sentence_and_the_joined_french(handlers, translator, registry):
    result = asyncio.run(handlers.translate("Go.\nWho?", registry.active, method="greedy"))
    go, who = translator.translate("Go."), translator.translate("Who?")
    assert result["translation"] == f"{go.translation}\n{who.translation}"
    assert result["score"] == pytest.approx(go.score + who.score, abs=1e-4)
    assert [s["translation"] for s in result["sentences"]] == [go.translation, who.translation]
    assert [s["separator"] for s in result["sentences"]] == ["\n", ""] and result["steps"] == []


def test_scoring_several_sentences_pairs_them_or_names_both_counts(handlers, translator, registry):
    box, summary, view = asyncio.run(handlers.score_page("Go. Who?", registry.active, "Va ! Tu es bon ?", *GREEDY))
    assert "- Sentence 1, “Va \\!”" in summary and "- Sentence 2, “Tu es bon ?”" in summary.replace("\\?", "?")
    assert view.count('<section class="score-sentence"') == 2
    ids = re.findall(r' id="([^"]+)"', view)
    assert len(ids) == len(set(ids))  # two sentences' views, no id twice on the page
    _, error, view = asyncio.run(handlers.score_page("Go. Who? Run!", registry.active, "Va ! Tu es bon ?", *GREEDY))
    assert error.startswith("**✖ Can't score this input.** The English has 3 sentences and the French 2 sentences")
    assert view == ""
    result = asyncio.run(handlers.score("Go. Who?", "Va ! Tu es bon ?"))
    assert [s["translation"] for s in result["sentences"]] == ["Va !", "Tu es bon ?"]
    assert result["score"] == pytest.approx(translator.score("Go.", "Va !").score
                                            + translator.score("Who?", "Tu es bon ?").score, abs=1e-4)


def test_compare_shows_the_whole_input_and_each_sentence(handlers, registry):
    result = asyncio.run(handlers.compare("Go. Who?"))
    assert result["english"] == "Go. Who?" and [s["english"] for s in result["sentences"]] == ["Go.", "Who?"]
    whole = {(r["model"], r["method"]): r for r in result["rows"]}
    for i, sentence in enumerate(result["sentences"]):
        for row in sentence["rows"]:
            if not row["error"] or row["error"].startswith("warning"):
                joined = whole[(row["model"], row["method"])]["french"]
                assert row["french"] in joined
    html = asyncio.run(handlers.compare_page("Go. Who?"))
    assert "The whole input (2 sentences)" in html and "Sentence 2: Who?" in html

"""The Space on seeded random-weight models, tested as a visitor and an API client meet it: handlers
called directly, and live servers driven by gradio_client (translation, the probability payload,
every bad input, batch files, cancelled requests, a Hub source that never answers).

Nothing here depends on what a model happens to write: results are compared with what the
Translator gives for the same input, and scores with the per-step probabilities.
"""

from __future__ import annotations

import asyncio
import csv
import json
import math
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gradio as gr
import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

import app
from space.views import models as model_views, results
from model import DecodeOptions, InputError, load_source, validation
from model.batch_files import MAX_BATCH_BYTES
from model.registry import ModelRegistry

from tests.hanging_server import HangingServer
from tests.random_models import SENTENCES

GOOD = "Go."
UNKNOWN = "Go ü€"  # characters outside the fixtures' input vocabulary
REPO = Path(app.__file__).parent


@pytest.fixture(scope="module")
def fast_path(random_fast_checkpoint) -> str:
    return str(random_fast_checkpoint)


@pytest.fixture(scope="module")
def recipe_path(random_checkpoint) -> str:
    return str(random_checkpoint)


@pytest.fixture(scope="module")
def translator(fast_path):
    """The app's active model in these tests."""
    return load_source(fast_path)


@pytest.fixture(scope="module")
def attention_path(random_attention_checkpoint) -> str:
    return str(random_attention_checkpoint)


@pytest.fixture(scope="module")
def registry(fast_path, recipe_path, attention_path, tmp_path_factory):
    missing = str(tmp_path_factory.mktemp("gone") / "no-such-checkpoint")
    reg = ModelRegistry([fast_path, recipe_path, attention_path, missing], active=fast_path, fallback=fast_path)
    reg.warm_up(120)
    yield reg
    reg.close()


@pytest.fixture(scope="module")
def handlers(registry):
    return app.Handlers(registry)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(demo: gr.Blocks) -> str:
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=_free_port(), quiet=True,
                            **app.LAUNCH_OPTIONS)
    return url


@pytest.fixture(scope="module")
def server(handlers):
    demo = app.build_demo(handlers)
    yield _launch(demo)
    demo.close()


@pytest.fixture(scope="module")
def client(server):
    return Client(server, verbose=False, download_files=False)


def _call(client, text, model, method="greedy", beam_size=4, temperature=1.0, seed=0, top_k=5, drop_unknown=False,
          **normalisation) -> dict:
    return client.predict(text, model, method, beam_size, temperature, seed, top_k, drop_unknown,
                          **normalisation, api_name="/translate")


def _wait_for(condition, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} not met within {timeout} s"
        time.sleep(0.05)


# --- request checks (model.validation) ---------------------------------------------------------


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
    limit = validation.MAX_INPUT_CHARS
    assert validation.check_text("a" * limit) == "a" * limit
    assert validation.check_text(None) == ""
    with pytest.raises(InputError, match=f"{limit + 1} characters long; the limit is {limit}"):
        validation.check_text("a" * (limit + 1))
    with pytest.raises(InputError, match="text must be a string, got int 42"):
        validation.check_text(42)


# --- views ---------------------------------------------------------------------------------------


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


@pytest.mark.parametrize("name", ["recipe", "fast"])
def test_model_panel_shows_the_bundled_figures_and_where_they_came_from(name):
    """The panel, the bundled metadata and the README agree: the panel prints what metadata.json holds."""
    from model import checkpoint

    translator = checkpoint.load(checkpoint.bundled_path(name))
    card = model_views.describe_model(name, translator)
    evaluation = translator.metadata["evaluation"]
    for run in ("greedy", "beam4"):
        figures = evaluation[run]
        assert f"Held-out {run} ({evaluation['sentences']} sentences): chrf {figures['chrf']}," in card
        assert f"16–30 characters: chrf {figures['tiers']['16-30']['chrf']}" in card
    assert f"`{evaluation['provenance']['commit']['sha'][:7]}`" in card
    assert "Held-out heldout" not in card and "provenance" not in card
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert f"| {evaluation['greedy']['chrf']} |" in readme or f"| **{evaluation['greedy']['chrf']}** |" in readme


def test_describe_model_shows_metadata(translator):
    card = model_views.describe_model("tiny", translator)
    assert f"recipe `{translator.metadata['recipe']}`" in card
    assert f"{translator.vocab.num_encoder_tokens} English / {translator.vocab.num_decoder_tokens} French" in card
    assert "Held-out scores: not recorded" in card
    original = translator.metadata
    try:
        translator.metadata = {**original, "train_config": {"epochs": 30, "latent_dim": 8}, "epochs_run": 12,
                               "evaluation": {"split": "heldout", "greedy": {"chrf": 31.5, "bleu": 9.1}}}
        card = model_views.describe_model("tiny", translator)
        assert "Epochs: 12 of 30 planned; latent_dim 8" in card and "Held-out greedy: chrf 31.5, bleu 9.1" in card
    finally:
        translator.metadata = original


def test_notice_names_the_failed_source_and_the_next_attempt(registry):
    notice = model_views.notice(registry)
    assert "no-such-checkpoint" in notice and "no such path" in notice and "next attempt in" in notice


# --- handlers called directly ------------------------------------------------------------------


def test_sessions_build_the_page_config_lazily_and_identically(handlers):
    """A REST call is a new Gradio session; app.py makes its per-block config snapshot lazy (see
    _LazyConfigValues). Read whole, the snapshot must equal the one Gradio builds eagerly."""
    from gradio import state_holder

    demo = app.build_demo(handlers)
    lazy = state_holder.SessionState(demo)
    assert isinstance(lazy.config_values, app._LazyConfigValues)
    assert dict.__len__(lazy.config_values) == 0  # nothing built at session start
    eager = object.__new__(state_holder.SessionState)
    state_holder.SessionState.__init__.__wrapped__(eager, demo)  # Gradio's own constructor
    assert json.dumps(dict(lazy.config_values.items()), sort_keys=True, default=str) == json.dumps(
        eager.config_values, sort_keys=True, default=str)
    assert len(list(lazy.components)) == len(list(eager.components)) > 50
    # Other Blocks keep Gradio's behaviour.
    with gr.Blocks() as other:
        gr.Textbox()
    assert type(state_holder.SessionState(other).config_values) is dict


def test_translate_handler_returns_the_translation_as_json(handlers, translator, registry):
    result = asyncio.run(handlers.translate(GOOD, registry.active))
    expected = translator.translate(GOOD)
    assert result["translation"] == expected.translation and result["score"] == pytest.approx(expected.score, abs=1e-4)
    assert [s["char"] for s in result["steps"]] == [s.char for s in expected.steps]
    assert result["model"] == registry.active and result["options"]["method"] == "greedy"
    assert result["nbest"] == []  # greedy has no n-best list


def test_the_page_handler_fills_every_output(handlers, translator, registry):
    french, step_view, steps, nbest, summary, capitalize = asyncio.run(
        handlers.translate_page(GOOD, registry.active, "beam", 3, 1.0, 0, 4, False, True, True, False))
    expected = translator.translate(GOOD, DecodeOptions(method="beam", beam_size=3, top_k=4))
    assert french == expected.translation
    assert step_view.count('class="pv-char ') == len(expected.steps)
    assert len(steps["data"]) == len(expected.steps)
    assert nbest["visible"] is True and [r[1] for r in nbest["value"]["data"]] == [e["translation"] for e in expected.nbest]
    assert "beam search, width 3" in summary and f"{expected.score:.3f}" in summary
    assert capitalize["visible"] is False


def test_translate_handler_errors_name_the_problem(handlers, registry):
    for text, words in [("", "the input is empty"), (UNKNOWN, "'€'"), ("x" * 500, "500 characters long")]:
        with pytest.raises(gr.Error, match=words) as caught:
            asyncio.run(handlers.translate(text, registry.active))
        assert caught.value.title == "Can't translate this input"
        assert caught.value.message.startswith("Can't translate this input — ")
    with pytest.raises(gr.Error, match="not offered") as caught:
        asyncio.run(handlers.translate(GOOD, "/etc/passwd"))
    assert caught.value.title == "Model unavailable"


def test_an_error_on_the_page_clears_every_output_of_the_last_result(handlers, registry):
    options = ("greedy", 4, 1.0, 0, 5, False, True, True, False)
    good = asyncio.run(handlers.translate_page(GOOD, registry.active, *options))
    assert good[0] != "" or good[4]
    french, step_view, steps, nbest, summary, capitalize = asyncio.run(
        handlers.translate_page(UNKNOWN, registry.active, *options))
    assert french == "" and step_view == "" and steps["value"] is None
    assert nbest == {"__type__": "update", "value": None, "visible": False}
    assert summary.startswith("**⛔ Can't translate this input.**") and "€" in summary
    assert capitalize["visible"] is False


def test_a_translation_that_waits_too_long_gets_a_busy_error(registry, translator):
    class Stuck:
        def translate_batch(self, texts, options=None):
            time.sleep(1.0)
            return translator.translate_batch(texts, options)

    stuck = app.Handlers(registry, timeout=0.1)
    stuck.registry = type("OneModel", (), {"get": lambda self, model: Stuck()})()
    with pytest.raises(gr.Error, match="Server busy — no translation within 0 s") as caught:
        asyncio.run(stuck.translate(GOOD, "any"))
    assert caught.value.title == "Server busy"


def test_unknown_characters_can_be_dropped(handlers, registry, translator):
    result = asyncio.run(handlers.translate(UNKNOWN, registry.active, drop_unknown=True))
    assert result["translation"] == translator.translate(UNKNOWN, DecodeOptions(drop_unknown=True)).translation
    assert any("dropped characters" in w for w in result["warnings"])


def _link(handlers, **query):
    text, model, method, beam, temperature, seed, top_k, drop, typography, accents, capitalize, notice = (
        handlers.fill_from_link(gr.Request(query_params=query)))
    return dict(text=text, model=model, method=method, beam=beam, temperature=temperature, seed=seed, top_k=top_k,
                drop_unknown=drop, typography=typography, fold_accents=accents, capitalize=capitalize, notice=notice)


def test_deep_link_fills_the_textbox_the_model_and_the_options(handlers, registry, recipe_path):
    plain = _link(handlers, text="Go.")
    assert plain["text"] == "Go." and plain["model"] == gr.skip() and plain["notice"]["visible"] is False
    assert _link(handlers)["text"] == gr.skip()  # no text in the link: the box is left alone
    full = _link(handlers, text="Go.", model=recipe_path, method="beam", beam="6", temperature="0.5", seed="9",
                 top_k="3", drop_unknown="true", typography="false", fold_accents="false", capitalize="true")
    assert (full["model"], full["method"], full["beam"], full["temperature"], full["seed"], full["top_k"]) == (
        recipe_path, "beam", 6, 0.5, 9, 3)
    assert (full["drop_unknown"], full["typography"], full["fold_accents"], full["capitalize"]) == (True, False, False, True)
    skipped = asyncio.run(handlers.translate_link("", registry.active))
    assert len(skipped) == 6 and all(s == gr.skip() for s in skipped)


def test_a_deep_link_with_bad_values_says_what_it_ignored(handlers):
    bad = _link(handlers, text="Go.", model="/etc/passwd", beam="99", seed="x", capitalize="maybe")
    assert bad["model"] == gr.skip() and bad["beam"] == gr.skip() and bad["seed"] == gr.skip()
    notice = bad["notice"]["value"]
    assert bad["notice"]["visible"] is True
    for words in ("does not offer", "beam", "whole number from 1 to 16", "seed", "capitalize", "true or false"):
        assert words in notice.replace("\\", ""), words


def test_a_long_deep_link_is_cut_at_a_word_and_the_page_says_so(handlers):
    words = "the cat sat on the mat " * 10  # 230 characters
    linked = _link(handlers, text=words)
    assert len(linked["text"]) <= validation.MAX_INPUT_CHARS and words.startswith(linked["text"])
    assert linked["text"].endswith(("the", "cat", "sat", "on", "mat"))  # never mid-word
    assert "was 230 characters long" in linked["notice"]["value"]


def test_opening_the_page_shows_the_failure_notice_and_the_linked_model(handlers, registry, translator, recipe_path):
    notice, card, trained, text, model, *_ = handlers.open_page(gr.Request(query_params={}))
    assert notice["visible"] is True and "no-such-checkpoint" in notice["value"]
    assert model == registry.active and card == model_views.describe_model(registry.active, translator)
    assert trained == translator.vocab.max_encoder_seq_length and text == gr.skip()
    _, card, trained, text, model, *_ = handlers.open_page(gr.Request(query_params={"text": "Go.", "model": recipe_path}))
    recipe = registry.get(recipe_path)
    assert (text, model) == ("Go.", recipe_path) and card == model_views.describe_model(recipe_path, recipe)
    assert trained == recipe.vocab.max_encoder_seq_length


def test_selecting_a_broken_model_falls_back(handlers, registry, translator):
    broken = next(s for s in registry.sources if "no-such-checkpoint" in s)
    model, card, _, trained = handlers.select_model(broken)
    assert model == registry.active and card == model_views.describe_model(registry.active, translator)
    assert trained == translator.vocab.max_encoder_seq_length


def test_batch_handler_writes_a_csv_in_gradios_cache(handlers, registry, translator, tmp_path):
    upload = tmp_path / "in.txt"
    upload.write_text(f"{GOOD}\n{UNKNOWN}\nHi.\n", encoding="utf-8")
    path, summary, preview = handlers.translate_batch(str(upload), registry.active, progress=lambda *a, **k: None)
    assert Path(path).is_relative_to(Path(gr.utils.get_upload_folder()) / app.OUTPUT_FOLDER)
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["english"] for r in rows] == [GOOD, UNKNOWN, "Hi."]
    assert preview["data"] and GOOD in preview["data"][0]
    assert rows[0]["french"] == translator.translate(GOOD).translation and not rows[0]["error"].startswith("the")
    assert not rows[1]["french"] and "'€'" in rows[1]["error"]
    assert "Translated 2 of 3" in summary and "row 2" in summary


# --- the live server, driven by gradio_client --------------------------------------------------


def test_api_lists_the_named_endpoints(client):
    api = client.view_api(print_info=False, return_format="dict")
    assert {"/translate", "/compare", "/translate_batch"} <= set(api["named_endpoints"])
    params = [p["parameter_name"] for p in api["named_endpoints"]["/translate"]["parameters"]]
    assert params == ["text", "model", "method", "beam_size", "temperature", "seed", "top_k", "drop_unknown",
                      "typography", "fold_accents", "capitalize"]
    assert [p["parameter_name"] for p in api["named_endpoints"]["/compare"]["parameters"]] == ["text", "references"]


def test_engine_stats_count_every_translation_and_stay_out_of_the_api_docs(client, registry):
    before = client.predict(api_name="/engine_stats")
    for _ in range(3):
        _call(client, GOOD, registry.active)
    after = client.predict(api_name="/engine_stats")
    assert after["requests"] - before["requests"] == 3
    assert 1 <= after["batches"] - before["batches"] <= 3
    assert "/engine_stats" not in client.view_api(print_info=False, return_format="dict")["named_endpoints"]


def test_api_translate(client, registry, translator):
    result = _call(client, GOOD, registry.active)
    expected = translator.translate(GOOD)
    assert result["translation"] == expected.translation and result["input"] == GOOD
    # The step data: per character, its probability and the top alternatives, as the CLI's JSONL.
    assert [s["char"] for s in result["steps"]] == [s.char for s in expected.steps]
    assert [s["prob"] for s in result["steps"]] == [pytest.approx(s.prob, abs=1e-6) for s in expected.steps]
    assert all(len(s["top"]) == 5 and s["top"][0][0] == s["char"] for s in result["steps"])
    assert "attention" not in result["steps"][0]  # this model has none
    assert result["score"] == pytest.approx(expected.score, abs=1e-4) and result["warnings"] == []


def test_api_translate_with_keyword_defaults(client, translator):
    assert client.predict(text=GOOD, api_name="/translate")["translation"] == translator.translate(GOOD).translation


def test_api_beam_search_returns_the_nbest_list(client, registry, translator):
    nbest = _call(client, GOOD, registry.active, method="beam", beam_size=3)["nbest"]
    expected = translator.translate(GOOD, DecodeOptions(method="beam", beam_size=3))
    assert [e["translation"] for e in nbest] == [e["translation"] for e in expected.nbest]
    assert [e["score"] for e in nbest] == [pytest.approx(e["score"], abs=1e-4) for e in expected.nbest]


def test_api_steps_carry_attention_for_an_attention_model(client, attention_path):
    result = _call(client, "Hi, Tom!", attention_path)
    expected = load_source(attention_path).translate("Hi, Tom!")
    assert result["translation"] == expected.translation
    for step, want in zip(result["steps"], expected.steps, strict=True):
        assert len(step["attention"]) == len("Hi, Tom!")
        assert step["attention"] == pytest.approx(want.attention, abs=1e-6)
        assert sum(step["attention"]) == pytest.approx(1.0, abs=1e-4)


def test_api_normalisation_is_reported_and_switchable(client, registry, translator):
    curly = _call(client, "Hi, Tom’s.", registry.active)
    assert curly["input"] == "Hi, Tom's." and curly["translation"] == translator.translate("Hi, Tom's.").translation
    assert any("’ → '" in w for w in curly["warnings"])
    assert curly["options"]["typography"] is True
    lower = _call(client, "go.", registry.active)
    assert lower["suggest_capitalize"] is True and any("capitalise" in w for w in lower["warnings"])
    capital = _call(client, "go.", registry.active, capitalize=True)
    assert capital["input"] == "Go." and capital["suggest_capitalize"] is False
    with pytest.raises(AppError, match="'’'"):
        _call(client, "Hi, Tom’s.", registry.active, typography=False)
    with pytest.raises(AppError, match="fold_accents must be true or false, got text 'no'"):
        _call(client, GOOD, registry.active, fold_accents="no")


def test_api_compare_runs_every_offered_model_with_greedy_and_beam(client, registry):
    result = client.predict(text=GOOD, references=["Va !", "Bouge !"], api_name="/compare")
    assert result["english"] == GOOD and result["references"] == ["Va !", "Bouge !"]
    rows = result["rows"]
    loaded = [s for s in registry.sources if "no-such-checkpoint" not in s]
    assert len(rows) == 2 * len(loaded) + 1  # a model that failed to load is one row, saying why
    for source in loaded:
        translator = load_source(source)
        greedy = translator.translate(GOOD, DecodeOptions(top_k=1))
        beam = translator.translate(GOOD, DecodeOptions(method="beam", beam_size=app.COMPARE_BEAM, top_k=1))
        mine = [r for r in rows if r["model"] == model_views.model_label(source)]
        assert [r["method"] for r in mine] == ["greedy", f"beam {app.COMPARE_BEAM}"]
        assert [r["french"] for r in mine] == [greedy.translation, beam.translation]
        assert mine[0]["log_prob"] == pytest.approx(greedy.score, abs=1e-3)
        assert all(r["chrf"] is not None and 0 <= r["chrf"] <= 100 for r in mine)
    failed = [r for r in rows if "no-such-checkpoint" in r["model"]]
    assert failed and all(r["error"] and r["french"] == "" for r in failed)


def test_api_compare_finds_references_in_the_held_out_sample(client, handlers):
    entry = handlers.sample.examples[0]
    result = client.predict(text=entry["english"], api_name="/compare")
    assert result["references"] == list(entry["references"])
    with pytest.raises(AppError, match="references must be a list of strings"):
        client.predict(text=GOOD, references="Va !", api_name="/compare")


def test_api_sampling_is_reproducible_with_a_seed(client, registry, translator):
    first = _call(client, GOOD, registry.active, method="sample", temperature=1.5, seed=3)["translation"]
    assert _call(client, GOOD, registry.active, method="sample", temperature=1.5, seed=3)["translation"] == first
    assert first == translator.translate(GOOD, DecodeOptions(method="sample", temperature=1.5, seed=3)).translation


def test_api_other_allowed_model(client, recipe_path):
    result = _call(client, GOOD, recipe_path)
    assert result["translation"] == load_source(recipe_path).translate(GOOD).translation
    assert result["model"] == recipe_path


@pytest.mark.parametrize("kwargs, words", [
    (dict(text=""), "Can't translate this input — the input is empty"),
    (dict(text="   "), "the input is empty"),
    (dict(text=UNKNOWN), "'€'"),
    (dict(text="a" * (validation.MAX_INPUT_CHARS + 1)), "the limit is 100"),
    (dict(method="beam", beam_size=0), "beam width must be a whole number from 1 to 16, got 0"),
    (dict(method="beam", beam_size=500), "beam width must be a whole number from 1 to 16, got 500"),
    (dict(beam_size="4"), "beam width must be a whole number from 1 to 16, got text '4'; send a JSON number"),
    (dict(method="sample", temperature=0), "temperature must be a number from 0.1 to 2.0, got 0"),
    (dict(seed="abc"), "seed must be a whole number from 0 to 4294967295, got text 'abc'"),
    (dict(seed=1e308), r"seed must be a whole number from 0 to 4294967295, got 1e\+308$"),
    (dict(seed=10**308), r"got 10{29}… \(309 characters\)"),
    (dict(top_k=0), "top-k must be a whole number from 1 to 10, got 0"),
    (dict(drop_unknown="yes"), "drop_unknown must be true or false"),
    (dict(method="nucleus"), "method must be one of greedy, beam, sample, got 'nucleus'"),
    (dict(model="/etc"), "Model unavailable — model '/etc' is not offered by this app; choose one of"),
    (dict(model="active-as-list"), r"Model unavailable — model list \[.* is not offered by this app"),
    (dict(model="broken"), "Model unavailable — model '.*no-such-checkpoint' could not be loaded: .*no such path"),
])
def test_api_bad_input_gets_a_clear_error_and_the_server_keeps_serving(client, registry, kwargs, words):
    args = dict(text=GOOD, model=registry.active)
    args.update(kwargs)
    if args["model"] == "broken":
        args["model"] = next(s for s in registry.sources if "no-such-checkpoint" in s)
    if args["model"] == "active-as-list":
        args["model"] = [registry.active]  # used to pass the Dropdown (every item is a choice) and be a TypeError
    text, model = args.pop("text"), args.pop("model")
    with pytest.raises(AppError, match=words) as caught:
        _call(client, text, model, **args)
    assert "Traceback" not in str(caught.value) and "verbose error reporting" not in str(caught.value)
    assert len(caught.value.message) < 400
    assert _call(client, GOOD, registry.active)["translation"] is not None  # still serving


def test_rest_nan_seed_gets_a_message_not_null(server, registry):
    """A NaN over REST (JSON's NaN literal) used to come back as {"error": null}."""
    body = ('{"data": ["Go.", %s, "sample", 4, 1.0, NaN, 5, false, true, true, false]}' % json.dumps(registry.active))
    with httpx.Client(base_url=server, timeout=30) as http:
        event = http.post("/gradio_api/call/translate", content=body, headers={"Content-Type": "application/json"})
        assert event.status_code == 200, event.text
        stream = http.get(f"/gradio_api/call/translate/{event.json()['event_id']}").text
    assert "event: error" in stream
    assert "seed must be a whole number from 0 to 4294967295, got nan" in stream


def test_api_error_titles_and_file_names_are_kept_as_written(client, registry, tmp_path):
    upload = tmp_path / "wrong.csv"
    upload.write_text("french\nVa !\n", encoding="utf-8")
    with pytest.raises(AppError) as caught:
        client.predict(handle_file(str(upload)), registry.active, "greedy", 4, 1.0, 0, 5, False, api_name="/translate_batch")
    assert caught.value.title == "Can't use this file"
    assert caught.value.message == "Can't use this file — wrong.csv: no column named 'english' (found: french)"
    assert _call(client, GOOD, registry.active)["translation"] is not None


def test_api_concurrent_requests_are_batched(client, registry, handlers, translator):
    before = sum(n * count for n, count in handlers.engine.batch_sizes.items() if n > 1)
    texts = SENTENCES[:4] * 8
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda t: _call(client, t, registry.active)["translation"], texts))
    assert results == [translator.translate(t).translation for t in texts]
    after = sum(n * count for n, count in handlers.engine.batch_sizes.items() if n > 1)
    assert after > before  # at least some of those requests shared an engine call


def test_api_batch_file_round_trip(client, registry, translator, tmp_path):
    upload = tmp_path / "sentences.csv"
    upload.write_text(f'english,note\n"{GOOD}",a\n"{UNKNOWN}",b\n"Hi.",c\n"=HYPERLINK(""http://x"",""y"")",d\n',
                      encoding="utf-8")
    local = Client(client.src, verbose=False, download_files=str(tmp_path / "dl"))
    path, summary, preview = local.predict(file=handle_file(str(upload)), api_name="/translate_batch")  # the README's form
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["row"] for r in rows] == ["1", "2", "3", "4"]
    assert rows[0]["french"] == translator.translate(GOOD).translation
    assert rows[2]["french"] == translator.translate("Hi.").translation and "'€'" in rows[1]["error"]
    assert rows[3]["english"] == "'=HYPERLINK(\"http://x\",\"y\")"  # neutralised: a spreadsheet shows it as text
    assert "Translated 2 of 4" in summary


# --- cancelled requests, files left behind, a Hub source that never answers ----------------------


class Gated:
    """A real Translator whose engine calls wait for `gate`: holds the engine busy so requests queue."""

    def __init__(self, translator):
        self.translator, self.gate, self.entered = translator, threading.Event(), threading.Event()

    def translate_batch(self, texts, options=None):
        self.entered.set()
        assert self.gate.wait(60), "the test never opened the gate"
        return self.translator.translate_batch(texts, options)


def test_cancelling_half_a_burst_never_freezes_the_app(fast_path, translator):
    """gradio_client's job.cancel() (POST /gradio_api/cancel, no authentication) on requests queued in
    the engine used to kill its worker: every other request of the batch, and later ones, hung."""
    gated = Gated(translator)
    registry = ModelRegistry(["gated"], active=fast_path, fallback=fast_path,
                             loader=lambda s: gated if s == "gated" else load_source(s))
    registry.warm_up(60)
    handlers = app.Handlers(registry)
    demo = app.build_demo(handlers)
    url = _launch(demo)
    try:
        keep = Client(url, verbose=False, download_files=False)
        doomed = Client(url, verbose=False, download_files=False)  # /cancel acts on a whole session
        texts = [SENTENCES[i % len(SENTENCES)] for i in range(15)]
        first = keep.submit(texts[0], "gated", api_name="/translate")
        assert gated.entered.wait(30)  # the engine is busy with `first`: the burst queues behind it
        kept = [keep.submit(t, "gated", api_name="/translate") for t in texts[1:]]
        cancelled = [doomed.submit(t, "gated", api_name="/translate") for t in texts]
        _wait_for(lambda: handlers.engine.pending() == 29, what="29 requests queued in the engine")
        for job in cancelled:
            job.cancel()
        gated.gate.set()
        results = [job.result(timeout=60)["translation"] for job in [first, *kept]]
        assert results == [translator.translate(t).translation for t in texts]
        assert handlers.engine.dropped == 15 and handlers.engine.is_alive() and handlers.engine.workers_started == 1
        fresh = Client(url, verbose=False, download_files=False)
        assert fresh.predict("Hi.", "gated", api_name="/translate")["translation"] == translator.translate("Hi.").translation
        assert httpx.get(url, timeout=10).status_code == 200
    finally:
        gated.gate.set()
        demo.close()
        registry.close()


def _files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def test_uploads_and_results_are_deleted_and_big_uploads_refused(handlers, tmp_path):
    demo = app.build_demo(handlers, delete_cache=(1, 1))
    url = _launch(demo)
    cache = Path(gr.utils.get_upload_folder())
    try:
        client = Client(url, verbose=False, download_files=False)
        before = _files_under(cache)
        results = []
        for i in range(3):
            upload = tmp_path / f"batch{i}.txt"
            upload.write_text("Go.\nHi.\n", encoding="utf-8")
            out, _, _ = client.predict(file=handle_file(str(upload)), api_name="/translate_batch")
            results.append(Path(out["path"] if isinstance(out, dict) else out))
        assert all(p.is_file() for p in results)
        created = _files_under(cache) - before
        assert len(created) >= 6  # three uploads and three results
        _wait_for(lambda: not (created & _files_under(cache)), timeout=15, what="uploads and results deleted")

        big = tmp_path / "big.txt"
        big.write_bytes(b"Go.\n" * (MAX_BATCH_BYTES // 4 + 1))
        before = _files_under(cache)
        with pytest.raises(ValueError, match=f"exceeds the maximum file size of {MAX_BATCH_BYTES} bytes"):
            client.predict(file=handle_file(str(big)), api_name="/translate_batch")  # gradio_client checks first
        with open(big, "rb") as handle:  # the server refuses it too, before storing it
            refused = httpx.post(f"{url}gradio_api/upload", files={"files": (big.name, handle)}, timeout=30)
        assert refused.status_code == 413 and f"maximum allowed size of {MAX_BATCH_BYTES} bytes" in refused.text
        assert not (_files_under(cache) - before)  # nothing of it was kept
    finally:
        demo.close()


def _start_app(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen:
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
           "GRADIO_ANALYTICS_ENABLED": "False", **env}
    for name in ("MODEL_SOURCE", "MODEL_SOURCES", "HF_TOKEN", "HF_HUB_OFFLINE"):
        if name not in env or env[name] is None:
            env.pop(name, None)
    return subprocess.Popen([sys.executable, "app.py", *args], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _first_answer(proc, port: int, model: str, timeout: float = 180.0) -> Client:
    """Connect once the server listens, and wait (retrying) until `model` has loaded and answers."""
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, proc.stderr.read()[-3000:]
        assert time.monotonic() < deadline, f"app.py gave no translation with {model} within {timeout} s"
        try:
            client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=False)
            client.predict(text=GOOD, model=model, api_name="/translate")
            return client
        except Exception:  # not listening yet, or "still loading"
            time.sleep(0.5)


@pytest.mark.slow
def test_a_hub_source_that_never_answers_leaves_default_serving(tmp_path):
    """`--models hf://evil/m` against an endpoint that accepts connections and never answers: many
    visitors choosing it get a quick, clear error, and `default` keeps answering everyone else."""
    with HangingServer() as hub:
        port = _free_port()
        proc = _start_app(["--models", "hf://evil/m"], {
            "HF_ENDPOINT": hub.url, "HF_HUB_ETAG_TIMEOUT": "2", "HF_HUB_DOWNLOAD_TIMEOUT": "2",
            "HF_HUB_CACHE": str(tmp_path / "hub-cache"), "HF_HUB_DISABLE_TELEMETRY": "1"}, port)
        try:
            _first_answer(proc, port, "default")
            _wait_for(lambda: hub.connections, what="a connection to the hanging Hub")

            def call(model: str):
                client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=False)
                began = time.monotonic()
                try:
                    out = client.predict(text=GOOD, model=model, api_name="/translate")
                except AppError as err:
                    out = err
                return model, out, time.monotonic() - began

            models = (["hf://evil/m"] * 3 + ["default"]) * 20
            with ThreadPoolExecutor(16) as pool:
                answers = list(pool.map(call, models))
            for model, out, seconds in answers:
                if model == "default":
                    assert isinstance(out, dict) and isinstance(out["translation"], str), out
                else:
                    assert isinstance(out, AppError), out
                    assert out.title == "Model unavailable"
                    assert "model 'hf://evil/m' is still loading" in out.message or "could not be loaded" in out.message
                assert seconds < 15, f"{model} took {seconds:.1f} s"
            assert call("default")[1]["translation"] is not None  # a fresh request still answers
            assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
        finally:
            proc.terminate()
            proc.wait(20)


def test_main_parses_space_options(monkeypatch):
    monkeypatch.setenv("GRADIO_SERVER_NAME", "127.0.0.2")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "9999")
    args = app.parse_args([])
    assert (args.host, args.port, args.share, args.model) == ("127.0.0.2", 9999, False, None)
    args = app.parse_args(["--host", "0.0.0.0", "--port", "7861", "--share", "--model", "recipe", "--models", "a,b"])
    assert (args.host, args.port, args.share, args.model, args.models) == ("0.0.0.0", 7861, True, "recipe", "a,b")
    monkeypatch.setenv("MODEL_SOURCE", "some/dir")
    monkeypatch.setenv("MODEL_SOURCES", "hf://me/x, other/dir")
    reg = app.registry_from()
    assert reg.active == "some/dir" and reg.sources[0] == "some/dir"
    assert {"default", "hf://me/x", "other/dir"} <= set(reg.sources)
    assert app.registry_from("cli/dir", "").active == "cli/dir"


@pytest.mark.slow
def test_python_app_py_honours_the_environment(fast_path, recipe_path):
    """`python app.py` as a Space runs it: host, port and models from the environment."""
    port = _free_port()
    proc = _start_app([], {"MODEL_SOURCE": fast_path, "MODEL_SOURCES": recipe_path}, port)
    try:
        client = _first_answer(proc, port, fast_path)
        expected = load_source(fast_path).translate(GOOD).translation
        assert client.predict(text=GOOD, api_name="/translate")["translation"] == expected  # MODEL_SOURCE is the default
        other = load_source(recipe_path).translate(GOOD).translation
        _wait_for(lambda: _answers(client, recipe_path), timeout=60, what=f"{recipe_path} loaded")
        assert client.predict(text=GOOD, model=recipe_path, api_name="/translate")["translation"] == other
        with pytest.raises(AppError):
            client.predict(text=GOOD, model="/etc", api_name="/translate")
    finally:
        proc.terminate()
        proc.wait(20)


def _answers(client, model) -> bool:
    try:
        client.predict(text=GOOD, model=model, api_name="/translate")
        return True
    except AppError as err:
        assert "still loading" in err.message, err.message
        return False

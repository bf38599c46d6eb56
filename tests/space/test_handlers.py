"""The Space's handlers called directly, as the page's events and the API call them: JSON and page
updates that match what the Translator gives, errors that name the problem and clear the page, the
busy timeout, the model selector and the batch file handler."""

from __future__ import annotations

import asyncio
import csv
import time
from dataclasses import replace
from pathlib import Path

import gradio as gr
import pytest

from model import DecodeOptions
from space import Handlers
from space.options import APP_DEFAULT_OPTIONS, as_values
from space.batch_results import OUTPUT_FOLDER
from space.views import models as model_views

from tests.space.live import GOOD, UNKNOWN


def test_translate_handler_returns_the_translation_as_json(handlers, translator, registry):
    result = asyncio.run(handlers.translate(GOOD, registry.active, method="greedy"))
    expected = translator.translate(GOOD)
    assert result["translation"] == expected.translation and result["score"] == pytest.approx(expected.score, abs=1e-4)
    assert [s["char"] for s in result["steps"]] == [s.char for s in expected.steps]
    assert result["model"] == registry.active and result["options"]["method"] == "greedy"
    assert result["nbest"] == []  # greedy has no n-best list


def test_a_request_without_a_method_gets_the_app_default_and_greedy_stays_selectable(handlers, translator, registry):
    result = asyncio.run(handlers.translate(GOOD, registry.active))
    assert result["options"] == as_values(APP_DEFAULT_OPTIONS)
    assert (result["options"]["method"], result["options"]["beam_size"]) == ("beam", 4)
    assert result["translation"] == translator.translate(GOOD, APP_DEFAULT_OPTIONS).translation and result["nbest"]
    greedy = asyncio.run(handlers.translate(GOOD, registry.active, method="greedy"))
    assert greedy["options"]["method"] == "greedy" and greedy["translation"] == translator.translate(GOOD).translation


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

"""What the page says about the models (space/views/models.py): the Model panel prints what a
checkpoint's metadata holds, and the notice names the source that failed to load."""

from __future__ import annotations

from pathlib import Path

import pytest

from space.views import models as model_views


@pytest.mark.parametrize("name", ["recipe", "fast", "large", "long"])
def test_model_panel_shows_the_bundled_figures_and_where_they_came_from(name):
    """The panel, the bundled metadata and the README agree: the panel prints what metadata.json holds."""
    from model import checkpoint

    translator = checkpoint.load(checkpoint.bundled_path(name))
    card = model_views.describe_model(name, translator)
    evaluation = translator.metadata["evaluation"]
    for run in ("greedy", "beam4"):
        figures = evaluation[run]
        assert f"Held-out {run} ({evaluation['sentences']} sentences): chrf {figures['chrf']}," in card
    rows = [line for line in card.split("\n") if line.startswith("| ")]
    assert rows[0] == "| English length | sentences | greedy chrF | greedy exact % | beam 4 chrF | beam 4 exact % |"
    recorded = {tier: figures for tier, figures in evaluation["greedy"]["tiers"].items() if "chrf" in figures}
    assert len(rows) == 1 + len(recorded) >= 3  # every tier with sentences, and no other row
    for tier, figures in recorded.items():
        beam = evaluation["beam4"]["tiers"][tier]
        row = (f"| {tier.replace('-', '–')} | {figures['sentences']:,} | {figures['chrf']} | {figures['exact_match']} | "
               f"{beam['chrf']} | {beam['exact_match']} |")
        assert row in rows
    assert f"`{evaluation['provenance']['commit']['sha'][:7]}`" in card
    assert "Held-out heldout" not in card and "provenance" not in card
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
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


def _with_metadata(translator, metadata):
    """The card of `translator` with its metadata replaced by `metadata` (a copy: the fixture is shared)."""
    original = translator.metadata
    try:
        translator.metadata = metadata
        return model_views.describe_model("tiny", translator)
    finally:
        translator.metadata = original


HELD_OUT = {"split": "heldout", "sentences": 2163, "greedy": {"chrf": 48.18, "bleu": 26.63}, "beam4": {"chrf": 50.98}}
VISITOR = {"split": "visitor", "sentences": 60, "provenance": {"commit": {"sha": "bbb0821" + "0" * 33},
                                                             "decoder_version": 3, "command": "python -m model evaluate"},
           "greedy": {"chrf": 41.04, "bleu": 12.3, "exact_match": 5.0, "sentences": 60, "tiers": {}},
           "beam4": {"chrf": 48.35, "bleu": 15.1, "exact_match": 8.3, "sentences": 60, "tiers": {}}}


def test_the_model_panel_shows_the_visitor_sets_chrf_greedy_and_beam_when_recorded(translator):
    card = _with_metadata(translator, {"evaluation": HELD_OUT, "evaluation_visitor": VISITOR})
    line = ("- chrF on everyday sentences written for this project, outside the corpus (60 sentences): "
            "greedy 41.0, beam 4 48.4")
    assert line in card.split("\n")
    assert "- Everyday sentences scored at commit `bbb0821`, decoder version 3" in card
    assert "Held-out greedy (2163 sentences): chrf 48.18, bleu 26.63" in card  # the held-out figures stay


@pytest.mark.parametrize("visitor", [None, {}, {"split": "visitor", "sentences": 60}, {"greedy": {"chrf": None}}])
def test_no_visitor_figures_no_visitor_line(translator, visitor):
    metadata = {"evaluation": HELD_OUT, **({} if visitor is None else {"evaluation_visitor": visitor})}
    card = _with_metadata(translator, metadata)
    assert "everyday" not in card.lower() and "Held-out greedy" in card


def test_the_selector_and_the_intro_name_the_everyday_figure_only_when_recorded():
    both = {"evaluation": HELD_OUT, "evaluation_visitor": VISITOR}
    assert model_views.model_label("default", both) == "Long attention (default) · chrF 48.2 held-out · 41.0 everyday"
    assert model_views.model_label("default", {"evaluation": HELD_OUT}) == "Long attention (default) · chrF 48.2 held-out"
    assert model_views.model_label("default", None) == "Long attention (default)"
    assert model_views.model_label("attention", None) == "Attention"
    assert ("On everyday sentences written for this project, outside the corpus, it scores **41.0**."
            in model_views.intro(both))
    assert "everyday" not in model_views.intro({"evaluation": HELD_OUT})


def test_model_panel_names_the_decoding_engine(translator, monkeypatch):
    """Which engine serves (compiled kernels or the NumPy fallback) is on the panel, as backends says."""
    from model import backends

    monkeypatch.setenv(backends.ENV, "numpy")
    card = model_views.describe_model("tiny", translator)
    assert "- Decoding engine: the NumPy engine (CL_S2S_ENGINE=numpy)" in card
    monkeypatch.setenv(backends.ENV, "numba")
    backends.start_loading()
    assert backends.wait(120), "the compiled kernels did not load"
    card = model_views.describe_model("tiny", translator)
    assert "- Decoding engine: compiled kernels (numba)" in card
    assert "Decoding engine: the NumPy engine (CL_S2S_ENGINE=numpy)" not in card
    assert "two cores" not in card  # a tiny model's decoder fits in any L2 cache
    if backends._split_kernels is not None:  # a model beyond L2 (here: any, with the threshold at 0)
        monkeypatch.setattr(backends, "l2_cache_bytes", lambda: 0)
        card = model_views.describe_model("tiny", translator.with_backend("numba"))
        assert ("- Decoding engine: compiled kernels (numba), a translation running alone on two cores "
                "(its decoder weights exceed a core's L2 cache)") in card


def test_the_model_panel_says_how_long_training_took_and_how_it_ended(translator):
    metadata = {"training_time_s": 14823.5, "best_epoch": 26, "resumptions": 2,
                "checkpoint_averaging": {"epochs": [27, 28, 29], "kept": True}}
    card = _with_metadata(translator, metadata)
    assert ("- Training: 4.1 h, best epoch 26, weights averaged over epochs 27–29, resumed 2 times"
            in card.split("\n"))
    short = _with_metadata(translator, {"training_time_s": 1794.0, "resumptions": 1,
                                        "checkpoint_averaging": {"epochs": [3, 4], "kept": False}})
    assert "- Training: 30 min, resumed 1 time" in short.split("\n")  # averaging tried but not kept: not claimed
    assert "Training:" not in _with_metadata(translator, {})


def test_the_card_shows_paragraphs_cut_into_sentences_beside_read_whole():
    from space.views.models import _paragraph_lines

    evaluation = {"split": "paragraphs", "inputs": {"heldout": 120, "visitor": 60},
                  "greedy": {"segmented": {"chrf": 64.74}, "whole": {"chrf": 41.34}, "alone": {"chrf": 64.63}},
                  "beam4": {"segmented": {"chrf": 65.5}, "whole": {"chrf": 42.0}, "alone": {"chrf": 65.4}},
                  "provenance": {"commit": {"sha": "abcdef1234"}, "decoder_version": 3, "command": "python -m model x"}}
    lines = _paragraph_lines(evaluation)
    assert lines[0] == ("- chrF on inputs of two or three sentences (180 inputs): greedy 64.7 cut into sentences, "
                        "41.3 read whole; beam 4 65.5 cut into sentences, 42.0 read whole")
    assert lines[1].startswith("- Paragraphs scored at commit `abcdef1`")
    assert _paragraph_lines({}) == [] and _paragraph_lines({"greedy": {"segmented": {"chrf": "x"}}}) == []


def test_the_intro_and_the_card_name_the_models_language_pair(translator):
    from model.languages import ENGLISH, Language, LanguagePair

    spanish = LanguagePair(ENGLISH, Language("Spanish", "es")).to_dict()
    assert "writes Spanish one character at a time" in model_views.intro({"languages": spanish})
    assert "writes French one character at a time" in model_views.intro(None)  # no field: English -> French
    card = model_views.describe_model("tiny", translator)
    assert "English → French" in card and "English / " in card and " French characters" in card
    from model.translator import Translator

    as_spanish = Translator(translator.vocab, translator.config, translator.weights,
                            {**translator.metadata, "languages": spanish}, backend="numpy")
    card = model_views.describe_model("tiny", as_spanish)
    assert "English → Spanish" in card and " Spanish characters" in card and "French" not in card

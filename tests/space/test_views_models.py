"""What the page says about the models (space/views/models.py): the Model panel prints what a
checkpoint's metadata holds, and the notice names the source that failed to load."""

from __future__ import annotations

from pathlib import Path

import pytest

from space.views import models as model_views


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

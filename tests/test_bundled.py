"""The bundled checkpoints: produced by train.py from the shared data, and the default beats the recipe.

The figures compared here are the ones train.py measured on the held-out split and stored in each
checkpoint's metadata; both checkpoints must have been scored on the very same sentences.
"""

from __future__ import annotations

import hashlib

import pytest

from model import checkpoint, load_source
from model.vocab import END

NAMES = sorted(set(checkpoint.BUNDLED))


@pytest.mark.parametrize("name", NAMES)
def test_bundled_checkpoint_was_trained_by_train_py_on_the_shared_data(name, shared_data):
    path = checkpoint.bundled_path(name)
    metadata = checkpoint.read_metadata(path)
    assert metadata["command"].startswith("python train.py ")
    assert metadata["data"]["sha256"] == hashlib.sha256(shared_data.read_bytes()).hexdigest()
    assert not metadata["interrupted"]
    assert (path / checkpoint.CURVES_FILE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(metadata["history"]["loss"]) == metadata["epochs_run"]


@pytest.mark.parametrize("name", NAMES)
def test_bundled_checkpoint_translates_a_training_sentence(name):
    result = load_source(name).translate("Go.")
    assert result.translation.strip()
    assert result.steps[-1].char == END


def test_default_beats_the_recipe_on_the_same_heldout_split():
    default = checkpoint.read_metadata(checkpoint.bundled_path("default"))["evaluation"]
    recipe = checkpoint.read_metadata(checkpoint.bundled_path("recipe"))["evaluation"]
    assert default["sentences_fingerprint"] == recipe["sentences_fingerprint"]
    assert default["greedy"]["chrf"] >= recipe["greedy"]["chrf"] + 8
    assert default["beam4"]["chrf"] > default["greedy"]["chrf"]

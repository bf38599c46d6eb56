"""Shared fixtures: the shared data file, and tiny checkpoints trained for real in seconds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data" / "fra-eng" / "fra.txt"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The 2019 fra-eng release, as laid out beside the repository (see ../shared/data/README.md)."""
    if not SHARED_DATA.is_file():
        pytest.fail(f"shared data missing at {SHARED_DATA}; tests read the fra-eng pairs from there")
    return SHARED_DATA


def _train_tiny(out: Path, shared_data: Path, recipe: str) -> Path:
    from model import checkpoint, data, training
    from model.config import TrainConfig

    pairs = data.read_pairs(shared_data, limit=400)
    config = TrainConfig(recipe=recipe, num_samples=300, epochs=3, latent_dim=16, batch_size=32,
                         embedding_dim=8 if recipe == "fast" else 0, optimizer="adam" if recipe == "fast" else "rmsprop",
                         learning_rate=0.01, seed=7)
    result = training.train(pairs, config, verbose=0)
    metadata = {"recipe": recipe, "train_config": config.to_dict(), "history": result.history,
                "data": {"source": str(shared_data), **result.data_info}, "command": "tests/conftest.py tiny fixture"}
    checkpoint.save(out, result.model, result.vocab, result.model_config, metadata)
    return out


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, shared_data) -> Path:
    """A keras-io recipe checkpoint (one-hot, space padding) trained for 3 epochs on 300 pairs."""
    return _train_tiny(tmp_path_factory.mktemp("tiny-recipe"), shared_data, "keras-io")


@pytest.fixture(scope="session")
def tiny_fast_checkpoint(tmp_path_factory, shared_data) -> Path:
    """A fast-recipe checkpoint (embeddings, masking, bucketing) trained for 3 epochs on 300 pairs."""
    return _train_tiny(tmp_path_factory.mktemp("tiny-fast"), shared_data, "fast")


@pytest.fixture(scope="session")
def small_checkpoint(tmp_path_factory, shared_data) -> Path:
    """A keras-io recipe checkpoint trained long enough (20 epochs, latent_dim 32) to emit varied,
    END-terminated translations, so decoding tests see real choices rather than a run of spaces."""
    from model import checkpoint, data, training
    from model.config import TrainConfig

    out = tmp_path_factory.mktemp("small-recipe")
    pairs = data.read_pairs(shared_data, limit=300)
    config = TrainConfig(num_samples=300, epochs=20, latent_dim=32, batch_size=32, learning_rate=0.01, seed=7)
    result = training.train(pairs, config, verbose=0)
    metadata = {"recipe": "keras-io", "train_config": config.to_dict(), "history": result.history,
                "data": {"source": str(shared_data), **result.data_info}, "command": "tests/conftest.py small fixture"}
    checkpoint.save(out, result.model, result.vocab, result.model_config, metadata)
    return out

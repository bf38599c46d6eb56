"""Training (model/training.py): the recipe's compile settings, its data selection, seeded runs."""

from __future__ import annotations

import numpy as np
import pytest

from model import data, training
from model.config import TrainConfig
from model.data import HeldoutSpec, Pair


def _tiny(recipe="keras-io", **changes):
    values = dict(recipe=recipe, num_samples=120, epochs=1, latent_dim=8, batch_size=32, seed=11)
    if recipe == "fast":
        values.update(embedding_dim=4, optimizer="adam", validation_split=0.1, dropout=0.1)
    values.update(changes)
    return TrainConfig(**values)


@pytest.fixture(scope="module")
def pairs(shared_data):
    return data.read_pairs(shared_data, limit=200)


@pytest.fixture(scope="module")
def op_determinism():
    """TensorFlow's deterministic kernels, for this module only: without them a sum split over threads
    may add up in another order from one run to the next, and two runs with one seed differ."""
    import tensorflow as tf
    from tensorflow.python.framework import config as tf_config

    was_enabled = tf_config.is_op_determinism_enabled()
    tf.config.experimental.enable_op_determinism()
    yield
    if not was_enabled:
        tf_config.disable_op_determinism()


@pytest.fixture(scope="module")
def runs(pairs, op_determinism):
    """Two runs of each recipe with the same seed, and one keras-io run with another seed."""
    return {
        "keras-io": [training.train(pairs, _tiny(), verbose=0) for _ in range(2)],
        "fast": [training.train(pairs, _tiny("fast"), verbose=0) for _ in range(2)],
        "other-seed": training.train(pairs, _tiny(seed=12), verbose=0),
    }


@pytest.mark.slow
def test_recipe_compiles_like_the_keras_io_example(runs, pairs):
    import keras

    result = runs["keras-io"][0]
    model = result.model
    assert isinstance(model.optimizer, keras.optimizers.RMSprop)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.001)  # RMSprop's default, the recipe's
    assert model.loss == "categorical_crossentropy"
    assert set(result.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}  # lr: RunState records it
    # Keras' validation_split: the last 20% of the 120 pairs, unshuffled.
    assert (result.data_info["num_training_pairs"], result.data_info["num_validation_pairs"]) == (96, 24)
    assert result.model_config.input_encoding == "onehot" and result.model_config.encoder_padding == "spaces"
    assert result.vocab == type(result.vocab).from_texts(
        [p.english for p in pairs[:120]], [data.wrap_target(p.french) for p in pairs[:120]])


@pytest.mark.slow
def test_fast_recipe_compiles_with_sparse_targets(runs):
    import keras

    result = runs["fast"][0]
    assert isinstance(result.model.optimizer, keras.optimizers.Adam)
    assert result.model.loss == "sparse_categorical_crossentropy"
    assert result.model_config.input_encoding == "embedding" and result.model_config.encoder_padding == "masked"
    assert result.data_info["num_validation_pairs"] == 12


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["keras-io", "fast"])
def test_same_seed_gives_the_same_weights(runs, recipe):
    # Bit for bit, dropout included, for two runs on one machine: keras.utils.set_random_seed seeds
    # Python, NumPy and TensorFlow, and op determinism (the fixture) fixes the order of every sum.
    # Another machine may round differently, so nothing here compares with a stored result.
    first, second = runs[recipe]
    for a, b in zip(first.model.get_weights(), second.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert first.history == second.history


@pytest.mark.slow
def test_another_seed_gives_other_weights(runs):
    first, other = runs["keras-io"][0], runs["other-seed"]
    assert any(not np.array_equal(a, b) for a, b in zip(first.model.get_weights(), other.model.get_weights()))


def test_training_pairs_are_the_first_lines_minus_the_heldout_split():
    pairs = [Pair(f"s{i}", f"f{i}", i + 1) for i in range(50)]
    spec = HeldoutSpec(start_line=5, end_line=40, per_mille=300)
    chosen, heldout = training.select_training_pairs(pairs, _tiny(num_samples=30), spec)
    held = {p.english for p in heldout}
    assert held and not held & {p.english for p in chosen}
    assert [p.line for p in chosen] == [p.line for p in pairs[:30] if p.english not in held]
    # The recipe's own 10,000 lines are never held out by the default split.
    assert all(not HeldoutSpec().is_heldout(f"s{i}", i) for i in range(1, 10001, 97))


def test_max_input_length_drops_long_english():
    pairs = [Pair("a" * n, "b", n) for n in range(1, 21)]
    chosen, _ = training.select_training_pairs(pairs, _tiny(max_input_length=8), HeldoutSpec(start_line=10**6))
    assert [len(p.english) for p in chosen] == list(range(1, 9))
    with pytest.raises(ValueError, match="no training pairs"):
        training.select_training_pairs(pairs, _tiny(max_input_length=0, num_samples=5),
                                       HeldoutSpec(start_line=1, end_line=100, per_mille=1000))


def test_subset_is_a_seeded_sample_of_the_selected_pairs_in_file_order():
    pairs = [Pair("a" * (1 + i % 90), f"f{i}", i + 1) for i in range(2000)]
    spec = HeldoutSpec(start_line=10**6)
    config = _tiny(num_samples=0, max_input_length=60, subset=300)
    chosen, _ = training.select_training_pairs(pairs, config, spec)
    again, _ = training.select_training_pairs(pairs, config, spec)
    other, _ = training.select_training_pairs(pairs, _tiny(num_samples=0, max_input_length=60, subset=300, seed=2), spec)
    assert chosen == again and chosen != other
    assert len(chosen) == 300 and len(set(chosen)) == 300
    assert [p.line for p in chosen] == sorted(p.line for p in chosen)
    assert max(len(p.english) for p in chosen) == 60  # the length limit first, then the sample
    assert max(p.line for p in chosen) > 1500  # drawn from the whole file, not its first lines
    everything, _ = training.select_training_pairs(pairs, _tiny(num_samples=0, subset=5000), spec)
    assert len(everything) == 2000  # a subset larger than the pairs keeps them all
    with pytest.raises(ValueError, match="subset must be a positive integer"):
        _tiny(subset=-1).validate()


def test_validation_split_recipe_tail_and_fast_shuffled():
    train_idx, val_idx = training._validation_split(10, 0.2, seed=1, shuffled=False)
    assert train_idx.tolist() == list(range(8)) and val_idx.tolist() == [8, 9]
    train_idx, val_idx = training._validation_split(100, 0.1, seed=1, shuffled=True)
    assert len(val_idx) == 10 and sorted(set(train_idx) | set(val_idx)) == list(range(100))
    assert val_idx.tolist() != list(range(90, 100))
    again = training._validation_split(100, 0.1, seed=1, shuffled=True)[1]
    assert again.tolist() == val_idx.tolist()


@pytest.mark.parametrize("name", ["recipe", "fast", "attention", "large"])
def test_each_recipes_network_is_the_one_its_bundled_checkpoint_records(name):
    """training.model_config_for builds what each recipe trained (the snapshot command rebuilds networks with it)."""
    from model import checkpoint
    from model.config import ModelConfig, TrainConfig
    from model.training import model_config_for
    from model.vocab import Vocabulary

    directory = checkpoint.bundled_path(name)
    metadata = checkpoint.read_metadata(directory)
    vocab = Vocabulary.from_dict(checkpoint.read_json(directory / checkpoint.VOCAB_FILE, root=directory))
    built = model_config_for(TrainConfig.from_dict(metadata["train_config"]), vocab)
    assert built == ModelConfig.from_dict(metadata["model_config"])

"""The vocabulary and vectorizing (model/vocab.py, model/data.py) against the keras.io recipe's own code."""

from __future__ import annotations

import numpy as np
import pytest

from model import data
from model.config import ModelConfig, TrainConfig
from model.vocab import END, PAD, START, Vocabulary
from tests.recipe_reference import recipe_vectorize


@pytest.fixture(scope="module")
def recipe(shared_data):
    return recipe_vectorize(shared_data)


@pytest.fixture(scope="module")
def ours(shared_data):
    pairs = data.read_pairs(shared_data, limit=10000)
    input_texts = [p.english for p in pairs]
    target_texts = [data.wrap_target(p.french) for p in pairs]
    vocab = Vocabulary.from_texts(input_texts, target_texts)
    return input_texts, target_texts, vocab


def test_vocabulary_matches_the_recipe_on_shared_data(recipe, ours):
    input_texts, target_texts, vocab = ours
    assert input_texts == recipe["input_texts"]
    assert target_texts == recipe["target_texts"]
    assert list(vocab.input_characters) == recipe["input_characters"]
    assert list(vocab.target_characters) == recipe["target_characters"]
    assert vocab.max_encoder_seq_length == recipe["max_encoder_seq_length"]
    assert vocab.max_decoder_seq_length == recipe["max_decoder_seq_length"]
    # The figures the issue states for this data.
    assert (vocab.num_encoder_tokens, vocab.num_decoder_tokens) == (70, 93)
    assert (vocab.max_encoder_seq_length, vocab.max_decoder_seq_length) == (16, 59)


def test_onehot_arrays_equal_the_recipe(recipe, ours):
    input_texts, target_texts, vocab = ours
    encoder_input, decoder_input, decoder_target = data.vectorize_onehot(input_texts, target_texts, vocab)
    for name, array in (("encoder_input_data", encoder_input), ("decoder_input_data", decoder_input),
                        ("decoder_target_data", decoder_target)):
        assert array.dtype == np.float32, name
        assert array.shape == recipe[name].shape, name
        assert np.array_equal(array, recipe[name]), name


def test_special_tokens_and_indices(ours):
    _, _, vocab = ours
    assert (START, END, PAD) == ("\t", "\n", " ")
    assert vocab.target_characters[vocab.start_index] == "\t"
    assert vocab.target_characters[vocab.end_index] == "\n"
    assert vocab.input_characters[vocab.input_pad_index] == " "
    assert list(vocab.target_characters) == sorted(vocab.target_characters)
    assert all(vocab.target_token_index[c] == i for i, c in enumerate(vocab.target_characters))


def test_vectorize_hand_built_vocabulary():
    vocab = Vocabulary.from_texts(["ab", "b"], ["\tx\n", "\txy\n"])
    assert vocab.input_characters == (" ", "a", "b")
    assert vocab.target_characters == ("\t", "\n", " ", "x", "y")
    assert (vocab.max_encoder_seq_length, vocab.max_decoder_seq_length) == (2, 4)
    enc, dec_in, dec_out = data.vectorize_onehot(["ab", "b"], ["\tx\n", "\txy\n"], vocab)
    assert enc.argmax(-1).tolist() == [[1, 2], [2, 0]]  # "b" then a space
    assert dec_in.argmax(-1).tolist() == [[0, 3, 1, 2], [0, 3, 4, 1]]
    assert dec_out.argmax(-1).tolist() == [[3, 1, 2, 2], [3, 4, 1, 2]]  # shifted left, padded with spaces
    assert (enc.sum(-1) == 1).all() and (dec_in.sum(-1) == 1).all() and (dec_out.sum(-1) == 1).all()


def test_vectorize_masked_shifts_ids_and_marks_padding():
    vocab = Vocabulary.from_texts(["ab", "b"], ["\tx\n", "\txy\n"])
    enc, dec_in, dec_out = data.vectorize_masked(["ab", "b"], ["\tx\n", "\txy\n"], vocab)
    assert enc.tolist() == [[2, 3], [3, 0]]  # ids + 1, 0 = masked padding
    assert dec_in.tolist() == [[1, 4, 0], [1, 4, 5]]  # reads START..last char
    assert dec_out.tolist() == [[3, 1, -1], [3, 4, 1]]  # predicts first char..END, -1 = no loss


def test_vocabulary_json_round_trip_keeps_index_order():
    vocab = Vocabulary.from_texts(["Hé !"], ["\tÇa\u202f!\n"])
    again = Vocabulary.from_dict(vocab.to_dict())
    assert again == vocab
    assert again.target_token_index == vocab.target_token_index
    assert vocab.to_dict()["start_token"] == "\t" and vocab.to_dict()["end_token"] == "\n"


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(start_token="<s>"), "start_token"),
        (dict(target_characters=["\t", "a", " "]), "END"),
        (dict(input_characters=["a", "a"]), "duplicate"),
        (dict(input_characters=["ab"]), "single characters"),
    ],
)
def test_vocabulary_rejects_bad_json(change, message):
    good = Vocabulary.from_texts(["a"], ["\tb\n"]).to_dict()
    with pytest.raises(ValueError, match=message):
        Vocabulary.from_dict({**good, **change})


def test_unknown_input_characters_in_order_of_appearance():
    vocab = Vocabulary.from_texts(["abc"], ["\tx\n"])
    assert vocab.unknown_input_characters("zaxbzy") == ["z", "x", "y"]
    assert vocab.unknown_input_characters("a b") == []


# --- config (model/config.py) -----------------------------------------------------------------


def test_train_config_defaults_are_the_recipe():
    config = TrainConfig()
    assert (config.batch_size, config.epochs, config.latent_dim, config.num_samples, config.validation_split) == (
        64, 100, 256, 10000, 0.2)
    assert config.optimizer == "rmsprop" and config.recipe == "keras-io"
    config.validate()


@pytest.mark.parametrize(
    "field, value",
    [("epochs", 0), ("epochs", -3), ("batch_size", 0), ("num_samples", -1), ("latent_dim", 1.5),
     ("validation_split", 1.0), ("dropout", -0.1), ("learning_rate", 0.0), ("optimizer", "sgd"), ("recipe", "nope")],
)
def test_train_config_rejects_impossible_settings(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value}).validate()


def test_num_samples_zero_means_every_line():
    TrainConfig(num_samples=0).validate()  # accepted: 0 reads the whole file


def test_configs_round_trip_through_json():
    import json

    model_config = ModelConfig(70, 93, latent_dim=8)
    assert ModelConfig.from_dict(json.loads(json.dumps(model_config.to_dict()))) == model_config
    train_config = TrainConfig(epochs=3, bucket_boundaries=[8, 16])
    assert TrainConfig.from_dict(json.loads(json.dumps(train_config.to_dict()))) == train_config
    with pytest.raises(ValueError, match="unknown model config keys"):
        ModelConfig.from_dict({**model_config.to_dict(), "layers": 3})
    with pytest.raises(ValueError, match="embedding_dim"):
        ModelConfig(70, 93, input_encoding="embedding")

"""The equivalence test: this engine's greedy decoding against the keras.io recipe's own predict loop.

On at least 200 sentences the NumPy engine (model/inference.py + model/decoding.py, driven by the
Translator) is compared with what the recipe's `decode_sequence` computes with
`decoder_model.predict` (tests/recipe_reference.py, which loads the checkpoint's model.keras itself),
on the committed recipe model and on one with seeded random weights (tests/random_models.py).

TensorFlow and NumPy round differently, so the comparison follows each sentence step by step: the
whole distribution of every step must agree within PROB_ATOL, and where the two chose different
characters, that step's top-2 margin must have been a near-tie (< NEAR_TIE); the rest of that
sentence is then not compared, as the two loops no longer feed the same characters
(`tests.conftest.compare_free_running`).
"""

from __future__ import annotations

import numpy as np
import pytest

from model import checkpoint, data
from model.translator import DecodeOptions
from tests.conftest import REPO, compare_free_running
from tests.random_models import random_sentences
from tests.recipe_reference import RecipeInference, recipe_encoder_input_data, recipe_vectorize

BUNDLED = REPO / "checkpoints" / "recipe"
MAX_PARTED = 0.02  # near-ties are rare: at most 2% of sentences may part before their end


def _sentences(vocab, shared_data, count, lines):
    """`count` distinct English sentences from the first `lines` lines that the recipe can encode."""
    chosen = []
    for pair in data.read_pairs(shared_data, limit=lines):
        text = pair.english
        if text in chosen or vocab.unknown_input_characters(text) or len(text) > vocab.max_encoder_seq_length:
            continue
        chosen.append(text)
    step = max(1, len(chosen) // count)
    return chosen[::step][:count]


def _full(vocab, step) -> np.ndarray:
    """One step's whole distribution, from a Step reported with top_k = the vocabulary size."""
    full = np.zeros(vocab.num_decoder_tokens)
    for char, p in step.top:
        full[vocab.target_token_index[char]] = p
    return full


def _compare(vocab, ours, want_chars, want_probs):
    """compare_free_running on a Translation (top_k = vocabulary size) and the reference's loop."""
    return compare_free_running([s.char for s in ours.steps], [_full(vocab, s) for s in ours.steps],
                                list(want_chars), want_probs)


@pytest.fixture(scope="module", params=["bundled", "random"])
def model_under_test(request):
    """The real bundled recipe model, and the recipe's network with seeded random weights."""
    if request.param == "bundled":
        if not (BUNDLED / checkpoint.MODEL_FILE).is_file():
            pytest.fail(f"no bundled recipe model at {BUNDLED}; it is committed with the repository")
        return BUNDLED
    return request.getfixturevalue("random_checkpoint")


@pytest.mark.slow
def test_greedy_equals_the_recipe_predict_loop(model_under_test, request):
    path = model_under_test
    translator = checkpoint.load(path)
    vocab = translator.vocab
    if path == BUNDLED:
        # The checkpoint's vocabulary is the one the recipe's own code builds from its training lines.
        shared_data = request.getfixturevalue("shared_data")
        recipe = recipe_vectorize(shared_data, num_samples=10000)
        assert list(vocab.input_characters) == recipe["input_characters"]
        assert list(vocab.target_characters) == recipe["target_characters"]
        assert vocab.max_encoder_seq_length == recipe["max_encoder_seq_length"]
        assert vocab.max_decoder_seq_length == recipe["max_decoder_seq_length"]
        texts = _sentences(vocab, shared_data, 200, 10000)
    else:
        texts = random_sentences(200)
    assert len(texts) >= 200

    reference = RecipeInference(path / checkpoint.MODEL_FILE, translator.config.latent_dim,
                                list(vocab.target_characters), vocab.max_decoder_seq_length)
    # The recipe finds its layers by position; make sure those are the layers it means.
    assert [layer.name for layer in reference.model.layers[2:5]] == ["encoder_lstm", "decoder_lstm", "decoder_dense"]

    encoder_input_data = recipe_encoder_input_data(texts, vocab.input_token_index, vocab.max_encoder_seq_length)
    expected, expected_probs = reference.decode_batch(encoder_input_data)
    # Everything is reported, so the whole distribution of every step can be compared.
    ours = translator.translate_batch(texts, DecodeOptions(top_k=vocab.num_decoder_tokens))

    parted = 0
    for want, want_probs, got in zip(expected, expected_probs, ours):
        if _compare(vocab, got, want, want_probs) is not None:
            parted += 1
            continue
        # The translation is the recipe's decoded sentence without END and the padding spaces.
        assert got.translation == want.rstrip("\n").rstrip(" ")
    assert parted <= MAX_PARTED * len(texts), f"{parted} of {len(texts)} sentences parted at a near-tie"
    # Both models end most sentences with END rather than running to the limit (the random one by
    # construction: see tests/random_models.py).
    assert sum(want.endswith("\n") for want in expected) >= 0.9 * len(texts)

    # The literal per-sentence loop, for a handful, must agree with the lockstep version above.
    for i in (0, 123):
        decoded_sentence, probs = reference.decode_sequence(encoder_input_data[i : i + 1])
        compare_free_running(list(decoded_sentence), probs, list(expected[i]), expected_probs[i])


@pytest.mark.slow
def test_bundled_model_is_the_one_its_metadata_describes(shared_data):
    """The committed weights are the recipe run its metadata records: the recipe's data and settings,
    and its final validation loss and accuracy, recomputed here on the recipe's validation rows."""
    import hashlib

    if not (BUNDLED / checkpoint.MODEL_FILE).is_file():
        pytest.fail(f"no bundled recipe model at {BUNDLED}; it is committed with the repository")
    metadata = checkpoint.read_metadata(BUNDLED)
    settings = metadata["train_config"]
    assert (settings["recipe"], settings["num_samples"], settings["epochs"], settings["batch_size"],
            settings["latent_dim"], settings["validation_split"], settings["optimizer"]) == (
        "keras-io", 10000, 100, 64, 256, 0.2, "rmsprop")
    assert metadata["data"]["sha256"] == hashlib.sha256(shared_data.read_bytes()).hexdigest()
    assert len(metadata["history"]["val_loss"]) == 100 and not metadata["interrupted"]
    assert {"greedy", "beam4"} <= set(metadata["evaluation"])
    assert (BUNDLED / checkpoint.CURVES_FILE).read_bytes()[:4] == b"\x89PNG"

    recipe = recipe_vectorize(shared_data, num_samples=10000)
    model = checkpoint.load_keras(BUNDLED)[0]
    model.compile(loss="categorical_crossentropy", metrics=["accuracy"])
    val = slice(8000, None)  # Keras' validation_split=0.2: the last 2,000 rows, never trained on
    figures = model.evaluate([recipe["encoder_input_data"][val], recipe["decoder_input_data"][val]],
                             recipe["decoder_target_data"][val], batch_size=500, verbose=0, return_dict=True)
    assert figures["loss"] == pytest.approx(metadata["history"]["val_loss"][-1], rel=1e-4)
    assert figures["accuracy"] == pytest.approx(metadata["history"]["val_accuracy"][-1], abs=1e-4)


def _keras_masked_greedy(model, config, vocab, texts):
    """Greedy decoding with the Keras inference models of the fast recipe, lockstep over a batch.
    Ids are shifted by one for the Keras layers (0 is masked padding); the input is padded with 0."""
    from model import network

    encoder_model, decoder_model = network.build_inference_models(model, config)
    length = max(len(t) for t in texts)
    enc = np.zeros((len(texts), length), dtype="int32")
    for row, text in enumerate(texts):
        enc[row, : len(text)] = [vocab.input_token_index[c] + 1 for c in text]
    h, c = encoder_model.predict(enc, verbose=0)
    tokens = np.full((len(texts), 1), vocab.start_index + 1)
    decoded = [[] for _ in texts]
    probs_seen = [[] for _ in texts]
    stopped = np.zeros(len(texts), dtype=bool)
    while not stopped.all():
        probs, h, c = decoder_model.predict([tokens, h, c], verbose=0)
        sampled = probs[:, -1].argmax(axis=1)
        for i in np.flatnonzero(~stopped):
            decoded[i].append(vocab.target_characters[sampled[i]])
            probs_seen[i].append(probs[i, -1])
            if sampled[i] == vocab.end_index or len(decoded[i]) > vocab.max_decoder_seq_length:
                stopped[i] = True
        tokens = sampled[:, None] + 1
    return ["".join(d) for d in decoded], probs_seen


@pytest.mark.slow
def test_fast_recipe_engine_equals_its_keras_inference_models(random_fast_checkpoint):
    model, vocab, config, _ = checkpoint.load_keras(random_fast_checkpoint)
    translator = checkpoint.load(random_fast_checkpoint)
    texts = random_sentences(200)
    # Masked models take no padding, so sentences of different lengths share one batch.
    assert len({len(t) for t in texts}) > 5
    expected, expected_probs = _keras_masked_greedy(model, config, vocab, texts)
    ours = translator.translate_batch(texts, DecodeOptions(top_k=vocab.num_decoder_tokens))
    parted = sum(_compare(vocab, got, want, want_probs) is not None
                 for want, want_probs, got in zip(expected, expected_probs, ours))
    assert parted <= MAX_PARTED * len(texts), f"{parted} of {len(texts)} sentences parted at a near-tie"


@pytest.mark.slow
def test_input_longer_than_training_runs_the_encoder_over_every_character(random_checkpoint):
    """The recipe cannot take such input (its array is max_encoder_seq_length wide); the engine must
    give what the recipe's encoder_model gives when fed the whole, unpadded sentence."""
    translator = checkpoint.load(random_checkpoint)
    vocab = translator.vocab
    text = "Go away. Hi, Tom! I won."
    assert len(text) > vocab.max_encoder_seq_length
    recipe = RecipeInference(random_checkpoint / checkpoint.MODEL_FILE, translator.config.latent_dim,
                             list(vocab.target_characters), vocab.max_decoder_seq_length)
    decoded, probs = recipe.decode_sequence(recipe_encoder_input_data([text], vocab.input_token_index, len(text)))
    result = translator.translate(text, DecodeOptions(top_k=vocab.num_decoder_tokens))
    _compare(vocab, result, decoded, probs)
    assert any("trained on at most" in w for w in result.warnings)
    # Padded to the training length, as the recipe pads, the first 12 characters alone give another state.
    short = translator.translate(text[: vocab.max_encoder_seq_length], DecodeOptions(top_k=vocab.num_decoder_tokens))
    assert not np.allclose(_full(vocab, short.steps[0]), _full(vocab, result.steps[0]), atol=1e-3)

"""The equivalence test: this engine's greedy decoding against the keras.io recipe's own predict loop.

On at least 200 sentences the NumPy engine (model/inference.py + model/decoding.py, driven by the
Translator) must produce, character for character, what the recipe's `decode_sequence` produces with
`decoder_model.predict`, and the probabilities of every step must agree within 1e-4. The reference
code is the recipe's (tests/recipe_reference.py); it loads the checkpoint's model.keras itself.
"""

from __future__ import annotations

import numpy as np
import pytest

from model import checkpoint, data
from model.translator import DecodeOptions
from tests.conftest import REPO
from tests.recipe_reference import RecipeInference, recipe_encoder_input_data, recipe_vectorize

BUNDLED = REPO / "checkpoints" / "recipe"
PROB_TOLERANCE = 1e-4


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


@pytest.fixture(scope="module", params=["bundled", "small"])
def model_under_test(request, shared_data):
    """(checkpoint directory, number of training lines): the real bundled recipe model, and a small
    one trained here, so the test also runs where the bundled model is being retrained."""
    if request.param == "bundled":
        if not (BUNDLED / checkpoint.MODEL_FILE).is_file():
            pytest.fail(f"no bundled recipe model at {BUNDLED}; it is committed with the repository")
        return BUNDLED, 10000
    return request.getfixturevalue("small_checkpoint"), 300


@pytest.mark.slow
def test_greedy_equals_the_recipe_predict_loop(model_under_test, shared_data):
    path, lines = model_under_test
    translator = checkpoint.load(path)
    vocab = translator.vocab
    # The checkpoint's vocabulary is the one the recipe's own code builds from its training lines.
    recipe = recipe_vectorize(shared_data, num_samples=lines)
    assert list(vocab.input_characters) == recipe["input_characters"]
    assert list(vocab.target_characters) == recipe["target_characters"]
    assert vocab.max_encoder_seq_length == recipe["max_encoder_seq_length"]
    assert vocab.max_decoder_seq_length == recipe["max_decoder_seq_length"]

    reference = RecipeInference(path / checkpoint.MODEL_FILE, translator.config.latent_dim,
                                recipe["target_characters"], recipe["max_decoder_seq_length"])
    # The recipe finds its layers by position; make sure those are the layers it means.
    assert [layer.name for layer in reference.model.layers[2:5]] == ["encoder_lstm", "decoder_lstm", "decoder_dense"]

    texts = _sentences(vocab, shared_data, 200, max(lines, 3000))
    assert len(texts) >= 200
    encoder_input_data = recipe_encoder_input_data(texts, {c: i for i, c in enumerate(recipe["input_characters"])},
                                                   recipe["max_encoder_seq_length"])
    expected, expected_probs = reference.decode_batch(encoder_input_data)
    # Everything is reported, so the whole distribution of every step can be compared.
    ours = translator.translate_batch(texts, DecodeOptions(top_k=vocab.num_decoder_tokens))

    mismatches = []
    for text, want, want_probs, got in zip(texts, expected, expected_probs, ours):
        decoded = "".join(step.char for step in got.steps)
        if decoded != want:
            mismatches.append((text, want, decoded))
            continue
        for step, probs in zip(got.steps, want_probs):
            assert abs(step.prob - probs[vocab.target_token_index[step.char]]) <= PROB_TOLERANCE
            full = np.zeros(vocab.num_decoder_tokens)
            for char, p in step.top:
                full[vocab.target_token_index[char]] = p
            np.testing.assert_allclose(full, probs, atol=PROB_TOLERANCE, rtol=0)
        # The translation is the recipe's decoded sentence without END and the padding spaces.
        assert got.translation == want.rstrip("\n").rstrip(" ")
    assert not mismatches, f"{len(mismatches)} of {len(texts)} differ from the recipe, e.g. {mismatches[:3]}"
    # A real model ends most sentences with END rather than running to the limit.
    if path == BUNDLED:
        assert sum(want.endswith("\n") for want in expected) >= 190

    # The literal per-sentence loop, for a handful, must agree with the lockstep version above.
    for i in (0, 123):
        decoded_sentence, probs = reference.decode_sequence(encoder_input_data[i : i + 1])
        assert decoded_sentence == expected[i]
        np.testing.assert_allclose(np.array(probs), np.array(expected_probs[i]), atol=1e-6)


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
def test_fast_recipe_engine_equals_its_keras_inference_models(tiny_fast_checkpoint, shared_data):
    model, vocab, config, _ = checkpoint.load_keras(tiny_fast_checkpoint)
    translator = checkpoint.load(tiny_fast_checkpoint)
    texts = _sentences(vocab, shared_data, 200, 2000)
    assert len(texts) >= 200
    # Masked models take no padding, so sentences of different lengths share one batch.
    assert len({len(t) for t in texts}) > 5
    expected, expected_probs = _keras_masked_greedy(model, config, vocab, texts)
    ours = translator.translate_batch(texts, DecodeOptions(top_k=1))
    for text, want, want_probs, got in zip(texts, expected, expected_probs, ours):
        assert "".join(s.char for s in got.steps) == want, text
        for step, probs in zip(got.steps, want_probs):
            assert abs(step.prob - probs[vocab.target_token_index[step.char]]) <= PROB_TOLERANCE


@pytest.mark.slow
def test_input_longer_than_training_runs_the_encoder_over_every_character(small_checkpoint):
    """The recipe cannot take such input (its array is max_encoder_seq_length wide); the engine must
    give what the recipe's encoder_model gives when fed the whole, unpadded sentence."""
    translator = checkpoint.load(small_checkpoint)
    vocab = translator.vocab
    text = ("Go on. " * 5).strip()
    assert len(text) > vocab.max_encoder_seq_length
    recipe = RecipeInference(small_checkpoint / checkpoint.MODEL_FILE, translator.config.latent_dim,
                             vocab.target_characters, vocab.max_decoder_seq_length)
    decoded, _ = recipe.decode_sequence(recipe_encoder_input_data([text], vocab.input_token_index, len(text)))
    result = translator.translate(text)
    assert "".join(s.char for s in result.steps) == decoded
    assert any("trained on at most" in w for w in result.warnings)

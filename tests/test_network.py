"""The network (model/network.py): the recipe's layers and shapes, named, and its inference models."""

from __future__ import annotations

import numpy as np
import pytest

from model import backends, checkpoint, data, network
from model.config import ModelConfig
from tests.conftest import PROB_ATOL
from tests.random_models import SENTENCES

# French-like targets over the random models' target alphabet, one per sentence of SENTENCES.
TARGETS = ["Va !", "Tout va.", "Vite !", "Tom ?", "Attends !", "J'ai bu.", "Je suis venu.", "Tom !", "Tu es bon.",
           "Je l'aime."]

keras = pytest.importorskip("keras")


def _layer_names(model):
    return {layer.name for layer in model.layers}


def test_recipe_network_layers_and_shapes():
    config = ModelConfig(num_encoder_tokens=70, num_decoder_tokens=93, latent_dim=256)
    model = network.build_training_model(config)
    assert _layer_names(model) == {"encoder_inputs", "decoder_inputs", "encoder_lstm", "decoder_lstm", "decoder_dense"}
    encoder_inputs, decoder_inputs = model.inputs
    assert tuple(encoder_inputs.shape) == (None, None, 70)
    assert tuple(decoder_inputs.shape) == (None, None, 93)
    assert tuple(model.output.shape) == (None, None, 93)

    encoder = model.get_layer("encoder_lstm")
    decoder = model.get_layer("decoder_lstm")
    dense = model.get_layer("decoder_dense")
    assert encoder.units == decoder.units == 256
    assert encoder.return_state and not encoder.return_sequences
    assert decoder.return_state and decoder.return_sequences
    assert dense.units == 93 and dense.activation.__name__ == "softmax"
    # The recipe's weights: (tokens, 4u) kernels, (u, 4u) recurrent kernels, (4u,) biases.
    assert [w.shape for w in encoder.get_weights()] == [(70, 1024), (256, 1024), (1024,)]
    assert [w.shape for w in decoder.get_weights()] == [(93, 1024), (256, 1024), (1024,)]
    assert [w.shape for w in dense.get_weights()] == [(256, 93), (93,)]
    # The recipe's parameter count for 70/93 characters and latent_dim=256.
    assert model.count_params() == (70 + 256 + 1) * 1024 + (93 + 256 + 1) * 1024 + 257 * 93


def test_decoder_is_seeded_with_the_encoder_states():
    # If the decoder ignored the encoder, changing the English input would not change the output.
    config = ModelConfig(num_encoder_tokens=5, num_decoder_tokens=6, latent_dim=8)
    keras.utils.set_random_seed(1)
    model = network.build_training_model(config)
    eye_in, eye_out = np.eye(5, dtype="float32"), np.eye(6, dtype="float32")
    decoder_input = eye_out[[[0, 3, 4]]]
    a = model.predict([eye_in[[[1, 2, 3]]], decoder_input], verbose=0)
    b = model.predict([eye_in[[[4, 4, 0]]], decoder_input], verbose=0)
    assert a.shape == (1, 3, 6)
    np.testing.assert_allclose(a.sum(-1), 1.0, rtol=1e-5)
    assert not np.allclose(a, b)


def test_fast_network_embeds_and_masks():
    config = ModelConfig(num_encoder_tokens=5, num_decoder_tokens=6, latent_dim=8, input_encoding="embedding",
                         embedding_dim=3, encoder_padding="masked", dropout=0.1)
    keras.utils.set_random_seed(2)
    model = network.build_training_model(config)
    assert {"encoder_embedding", "decoder_embedding", "decoder_dropout"} <= _layer_names(model)
    assert model.get_layer("encoder_embedding").get_weights()[0].shape == (6, 3)  # + the padding row
    assert model.get_layer("decoder_embedding").get_weights()[0].shape == (7, 3)
    # Masked padding (id 0) at the end of the English input changes nothing.
    dec = np.array([[1, 4, 5]])
    short = model.predict([np.array([[2, 3]]), dec], verbose=0)
    padded = model.predict([np.array([[2, 3, 0, 0]]), dec], verbose=0)
    np.testing.assert_allclose(short, padded, atol=1e-6)


@pytest.fixture(scope="module")
def random_keras(random_checkpoint):
    model, vocab, config, _ = checkpoint.load_keras(random_checkpoint)
    return model, vocab, config


def _teacher_forcing_data(vocab, vectorize):
    return vectorize(SENTENCES, [data.wrap_target(t) for t in TARGETS], vocab)


def test_inference_models_reuse_the_trained_layers(random_keras):
    model, vocab, config = random_keras
    encoder_model, decoder_model = network.build_inference_models(model, config)
    for name in ("decoder_lstm", "decoder_dense"):
        assert decoder_model.get_layer(name) is model.get_layer(name)
    assert encoder_model.get_layer("encoder_lstm") is model.get_layer("encoder_lstm")
    assert [tuple(t.shape) for t in decoder_model.inputs] == [(None, None, vocab.num_decoder_tokens),
                                                              (None, config.latent_dim), (None, config.latent_dim)]
    assert [tuple(t.shape) for t in decoder_model.outputs] == [(None, None, vocab.num_decoder_tokens),
                                                               (None, config.latent_dim), (None, config.latent_dim)]


def test_inference_models_step_by_step_equal_the_training_model(random_keras):
    """Teacher forcing one character at a time through encoder_model/decoder_model gives the
    training model's own probabilities: the inference models really are the trained network."""
    model, vocab, config = random_keras
    encoder_model, decoder_model = network.build_inference_models(model, config)
    enc, dec_in, _ = _teacher_forcing_data(vocab, data.vectorize_onehot)
    expected = model.predict([enc, dec_in], verbose=0)
    h, c = encoder_model.predict(enc, verbose=0)
    for t in range(dec_in.shape[1]):
        probs, h, c = decoder_model.predict([dec_in[:, t : t + 1], h, c], verbose=0)
        np.testing.assert_allclose(probs[:, 0], expected[:, t], atol=PROB_ATOL, rtol=0)


def test_engine_weights_teacher_forced_equal_the_training_model(random_keras, engine_backend):
    """The engine (model/inference.py's NumPy step, and the compiled one) computes the training model's
    whole distributions."""
    model, vocab, config = random_keras
    weights = backends.engine_for(network.engine_weights(model, config), engine_backend)
    enc, dec_in, _ = _teacher_forcing_data(vocab, data.vectorize_onehot)
    expected = model.predict([enc, dec_in], verbose=0)
    enc_ids, dec_ids = enc.argmax(-1), dec_in.argmax(-1)
    h, c, _ = weights.start(enc_ids, np.full(len(SENTENCES), enc_ids.shape[1]))
    for t in range(dec_ids.shape[1]):
        probs, h, c = weights.decode_step(dec_ids[:, t], h, c)
        np.testing.assert_allclose(probs, expected[:, t], atol=PROB_ATOL, rtol=0)
    # The random weights give real choices to compare, not a uniform or a one-hot distribution.
    assert 0.2 < expected.max(-1).mean() < 0.95


def test_fast_engine_weights_equal_the_masked_training_model(random_fast_checkpoint, engine_backend):
    model, vocab, config = checkpoint.load_keras(random_fast_checkpoint)[:3]
    weights = backends.engine_for(network.engine_weights(model, config), engine_backend)
    enc, dec_in, _ = _teacher_forcing_data(vocab, data.vectorize_masked)
    expected = model.predict([enc, dec_in], verbose=0)
    lengths = (enc > 0).sum(1)
    # The engine takes plain ids; the masked model's ids are shifted by one (0 = padding).
    h, c, _ = weights.start(np.maximum(enc - 1, 0), lengths)
    for t in range(dec_in.shape[1]):
        probs, h, c = weights.decode_step(np.maximum(dec_in[:, t] - 1, 0), h, c)
        real = dec_in[:, t] > 0  # after a row's END its steps are padding: nothing to compare
        np.testing.assert_allclose(probs[real], expected[real, t], atol=PROB_ATOL, rtol=0)

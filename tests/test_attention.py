"""Attention models: the NumPy engine equals the Keras network, and translations carry alignments.

Built on seeded random weights (tests/random_models.py), so every assertion holds on any machine;
the bundled attention checkpoint is checked the same way in tests/test_bundled.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from model import backends, checkpoint, data, network
from model.translator import DecodeOptions, Translator

from .random_models import make_random_checkpoint, random_config, random_model, random_vocabulary

SOURCES = ["Go.", "Hi, Tom!", "I like it.", "Wait!"]
TARGETS = ["\tVa !\n", "\tTom !\n", "\tJe t'aime.\n", "\tAttends !\n"]


@pytest.fixture(scope="module", params=["attention", "large"])
def keras_and_engine(request):
    """attention: one bidirectional encoder layer; large: two, the second reading the first's outputs."""
    vocab = random_vocabulary()
    config = random_config(request.param, vocab)
    model = random_model(config, vocab, seed=3)
    return model, vocab, config, network.engine_weights(model, config)


@pytest.fixture(scope="module")
def attention_dir(tmp_path_factory):
    return make_random_checkpoint(tmp_path_factory.mktemp("attention"), "attention", seed=5)


def teacher_forced(weights, vocab, sources, targets):
    """The engine's step probabilities and attention weights when fed the reference targets."""
    enc, dec_in, dec_out = data.vectorize_masked(sources, targets, vocab)
    lengths = np.array([len(s) for s in sources])
    h, c, context = weights.start(np.maximum(enc - 1, 0), lengths)
    probs, attention = [], []
    for t in range(dec_in.shape[1]):
        p, h, c, a = weights.decode_step(np.maximum(dec_in[:, t] - 1, 0), h, c, *context)
        probs.append(p)
        attention.append(a)
    return enc, dec_in, dec_out, np.stack(probs, axis=1), np.stack(attention, axis=1)


def test_engine_equals_keras_teacher_forced_probabilities_and_attention(keras_and_engine, engine_backend):
    model, vocab, config, weights = keras_and_engine
    engine = backends.engine_for(weights, engine_backend)
    enc, dec_in, dec_out, probs, attention = teacher_forced(engine, vocab, SOURCES, TARGETS)
    probe = network.build_training_model(config, with_attention_scores=True)
    probe.set_weights(model.get_weights())
    keras_probs, keras_attention = probe.predict([enc, dec_in], verbose=0)
    valid = dec_out >= 0  # steps past a target's end are padding in the batch
    np.testing.assert_allclose(probs[valid], keras_probs[valid], atol=1e-4)
    np.testing.assert_allclose(attention[valid], keras_attention[valid], atol=1e-4)


def test_attention_weights_cover_only_the_input_and_sum_to_one(keras_and_engine):
    _, vocab, _, weights = keras_and_engine
    enc, _, dec_out, _, attention = teacher_forced(weights, vocab, SOURCES, TARGETS)
    lengths = np.array([len(s) for s in SOURCES])
    for row, length in enumerate(lengths):
        steps = attention[row][dec_out[row] >= 0]
        np.testing.assert_allclose(steps.sum(axis=1), 1.0, atol=1e-5)
        assert np.all(steps[:, length:] == 0.0), "padding positions must get exactly zero weight"


def test_bidirectional_encoder_reads_each_sentence_alone(keras_and_engine):
    """Padding a sentence in a batch with a longer one changes nothing it computes."""
    _, vocab, _, weights = keras_and_engine
    alone = teacher_forced(weights, vocab, SOURCES[:1], TARGETS[:1])
    batched = teacher_forced(weights, vocab, SOURCES, TARGETS)
    steps = alone[3].shape[1]
    np.testing.assert_allclose(batched[3][0, :steps], alone[3][0], atol=1e-5)
    np.testing.assert_allclose(batched[4][0, :steps, : len(SOURCES[0])], alone[4][0], atol=1e-5)


def test_saved_checkpoint_translates_like_the_in_memory_model(keras_and_engine, tmp_path):
    model, vocab, config, weights = keras_and_engine
    checkpoint.save(tmp_path / "ckpt", model, vocab, config, {"recipe": "attention"})
    loaded = checkpoint.load(tmp_path / "ckpt")
    live = Translator(vocab, config, weights)
    for text in SOURCES:
        a, b = loaded.translate(text), live.translate(text)
        np.testing.assert_allclose([s.prob for s in a.steps], [s.prob for s in b.steps], atol=1e-6)
        assert a.translation == b.translation


def test_translations_carry_one_attention_row_per_step(attention_dir):
    translator = checkpoint.load(attention_dir)
    assert translator.has_attention
    for options in (DecodeOptions(), DecodeOptions(method="beam", beam_size=3), DecodeOptions(method="sample", seed=2)):
        result = translator.translate("Hi, Tom!", options).to_dict()
        assert result["steps"], options
        for step in result["steps"]:
            assert len(step["attention"]) == len("Hi, Tom!")
            assert abs(sum(step["attention"]) - 1.0) < 1e-4
            assert set(step) == {"char", "prob", "top", "attention"}


def test_width_one_beam_is_greedy_with_the_same_alignments(attention_dir):
    translator = checkpoint.load(attention_dir)
    for text in SOURCES:
        greedy = translator.translate(text)
        beam = translator.translate(text, DecodeOptions(method="beam", beam_size=1))
        assert beam.translation == greedy.translation
        np.testing.assert_allclose([s.attention for s in beam.steps], [s.attention for s in greedy.steps], atol=1e-6)


def test_models_without_attention_add_no_field(tmp_path):
    translator = checkpoint.load(make_random_checkpoint(tmp_path / "fast", "fast", seed=1))
    assert not translator.has_attention
    assert all("attention" not in step for step in translator.translate("Go.").to_dict()["steps"])


def test_cli_jsonl_steps_carry_attention_over_the_input(attention_dir):
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "model", "translate", "--model", str(attention_dir), "--jsonl",
                           "Hi, Tom!"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    (line,) = [json.loads(row) for row in done.stdout.splitlines() if row.strip()]
    assert line["steps"] and all(len(step["attention"]) == len("Hi, Tom!") for step in line["steps"])


def test_bundled_attention_model_equals_keras_teacher_forced(shared_data):
    """The shipped attention checkpoint: engine and Keras agree within 1e-4 on held-out sentences."""
    from model import splits

    path = checkpoint.bundled_path("attention")
    model, vocab, config, metadata = checkpoint.load_keras(path)
    translator = checkpoint.load(path)
    pairs = data.read_pairs(shared_data)
    _, heldout = data.split_pairs(pairs, splits.heldout_spec(metadata))
    known = [p for p in heldout if not vocab.unknown_input_characters(p.english)
             and all(c in vocab.target_token_index for c in p.french)][:24]
    sources, targets = [p.english for p in known], [data.wrap_target(p.french) for p in known]
    enc, dec_in, dec_out, probs, attention = teacher_forced(translator.weights, vocab, sources, targets)
    probe = network.build_training_model(config, with_attention_scores=True)
    probe.set_weights(model.get_weights())
    keras_probs, keras_attention = probe.predict([enc, dec_in], verbose=0)
    valid = dec_out >= 0
    np.testing.assert_allclose(probs[valid], keras_probs[valid], atol=1e-4)
    np.testing.assert_allclose(attention[valid], keras_attention[valid], atol=1e-4)

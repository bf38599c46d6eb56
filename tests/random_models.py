"""Checkpoints with seeded random weights, made without training: identical on every machine.

A model trained inside a test gives different floats on another CPU, so anything the engine, the
translator or the app is tested on is built here instead: the real Keras network for a config, its
weights drawn from a seeded NumPy generator, saved through the real `checkpoint.save`.

The vocabulary is hand-built and small. The weights are scaled up (Keras' initialisers give nearly
uniform outputs) so that decoding makes real, varied choices, and the END token's output bias is
raised so that most sentences finish well before the length limit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# A small English/French alphabet: enough for sentences like "Go." and "Hi, Tom!".
INPUT_CHARACTERS = list(" !',.?ABGHIJRTWabcdeghiklmnorstuwy")
TARGET_CHARACTERS = ["\t", "\n"] + list(" !',.?ABJTVabcdeilmnorstuvzéè")
SENTENCES = ["Go.", "Hi.", "Run!", "Who?", "Wait!", "I won.", "Hi, Tom!", "Be kind.", "I like it.", "Go away."]

KINDS = {
    # The keras.io recipe's network: one-hot characters, encoder input padded with spaces.
    "recipe": dict(input_encoding="onehot", encoder_padding="spaces"),
    # The fast recipe's: embedded characters with masked padding.
    "fast": dict(input_encoding="embedding", embedding_dim=6, encoder_padding="masked"),
    # The attention recipe's: bidirectional encoder and Luong attention.
    "attention": dict(input_encoding="embedding", embedding_dim=6, encoder_padding="masked",
                      attention=True, bidirectional=True),
}


def random_vocabulary(max_encoder_seq_length: int = 12, max_decoder_seq_length: int = 20):
    from model.vocab import Vocabulary

    return Vocabulary(
        input_characters=INPUT_CHARACTERS,
        target_characters=sorted(TARGET_CHARACTERS),
        max_encoder_seq_length=max_encoder_seq_length,
        max_decoder_seq_length=max_decoder_seq_length,
    )


def random_config(kind: str, vocab, latent_dim: int = 8):
    from model.config import ModelConfig

    return ModelConfig(num_encoder_tokens=vocab.num_encoder_tokens, num_decoder_tokens=vocab.num_decoder_tokens,
                       latent_dim=latent_dim, **KINDS[kind])


def random_model(config, vocab, seed: int = 0, scale: float = 1.0, end_bias: float = 0.0):
    """The Keras training network for `config`, its weights drawn from a generator seeded by `seed`.

    Input kernels and embeddings are N(0, scale^2) (one row per character, so each character moves
    the state visibly); square kernels are N(0, scale^2 / rows) so the state neither dies nor saturates.
    """
    from model.network import DECODER_DENSE, build_training_model

    model = build_training_model(config)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        drawn = []
        for w in weights:
            spread = scale / np.sqrt(w.shape[0]) if w.ndim > 1 and w.shape[0] >= config.latent_dim // 2 else scale
            drawn.append(rng.normal(0.0, spread, w.shape).astype("float32"))
        if layer.name == DECODER_DENSE:
            drawn[1][vocab.end_index] += end_bias
        layer.set_weights(drawn)
    return model


def make_random_checkpoint(out: Path, kind: str = "recipe", seed: int = 0, latent_dim: int = 8) -> Path:
    """Write a checkpoint directory for `kind` (see KINDS) with seeded random weights."""
    from model import checkpoint

    vocab = random_vocabulary()
    config = random_config(kind, vocab, latent_dim)
    model = random_model(config, vocab, seed)
    recipe = {"recipe": "keras-io"}.get(kind, kind)
    metadata = {"recipe": recipe, "command": f"tests/random_models.py kind={kind} seed={seed}",
                "data": {"source": "hand-built vocabulary"}, "random_weights": True}
    checkpoint.save(out, model, vocab, config, metadata)
    return out

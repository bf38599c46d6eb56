"""Checkpoints with seeded random weights, made without training: identical on every machine.

A model trained inside a test gives different floats on another CPU, so anything the engine, the
translator or the app is tested on is built here instead: the real Keras network for a config, its
weights drawn from a seeded NumPy generator, saved through the real `checkpoint.save`.

Plain Gaussian weights make a poor test model: the decoder soon falls into a fixed point, writing one
character over and over, and never ends a sentence. Three choices avoid that:

  * the decoder's input kernel is large (a character adds N(0, 1.5^2) to each gate, where Keras'
    initialiser adds ~0.2), so the character fed back at every step moves the state and the output
    varies from step to step;
  * decoder unit 0 is a clock: its gates are saturated open (input, forget, output ~ 1) and its
    candidate is a constant, so its cell grows by CLOCK_RATE a step whatever the input, and the END
    logit grows with it through the output layer's row 0, until it beats every other character:
    sentences end, most of them well before the length limit;
  * the clock starts from encoder unit 0, whose cell holds only its last candidate (forget ~ 0), a
    function of the sentence, so different sentences end after different numbers of characters.

The START character gets a large negative output bias: a model never writes it. Everything else is
an ordinary Gaussian draw, so the step distributions are varied and rarely near a tie.
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
    # The large recipe's: the same with a second, stacked encoder layer.
    "large": dict(input_encoding="embedding", embedding_dim=6, encoder_padding="masked",
                  attention=True, bidirectional=True, encoder_layers=2),
}

# Standard deviations of the draws (before `scale`), per character or per unit of fan-in.
ENCODER_INPUT_STD = 1.0  # one character's contribution to each encoder gate
DECODER_INPUT_STD = 1.5  # larger: the fed-back character must move the decoder's state
RECURRENT_STD = 1.5  # h U over latent_dim units: the state carries the sentence without saturating
BIAS_STD = 0.2
FORGET_BIAS = 2.0  # forget gate ~0.88: the state remembers the sentence over the recipe's padding
OUTPUT_STD = 5.0  # logits of a few nats: confident but not one-hot distributions
# The clock (decoder unit 0) and its seed (encoder unit 0).
SATURATED = 8.0  # a gate bias of 8 gives sigmoid 0.9997: open; -8 closed
CLOCK_RATE = 0.2  # the clock cell's growth per step (the candidate is tanh(arctanh(0.2)))
CLOCK_START = -1.2  # bias of encoder unit 0's candidate: the clock starts near tanh(-1.2 +- noise)
CLOCK_START_STD = 1.0  # how much the sentence moves the start, per unit of fan-in
END_WEIGHT = 25.0  # END logit per unit of the clock's output: beats any other logit near the end
END_OFFSET = -12.0  # END bias: END is unlikely while the clock's output is below ~0.5
ATTENTION_CLOCK = 3.0  # attention models: the clock reaches the output through h~_0 = tanh(3 h_0)


def random_sentences(count: int, seed: int = 0, max_length: int = 12) -> list[str]:
    """SENTENCES, then distinct made-up ones over INPUT_CHARACTERS, `count` in all: the same on every machine."""
    rng = np.random.default_rng(seed)
    letters = [c for c in INPUT_CHARACTERS if c != " "]
    chosen = list(dict.fromkeys(SENTENCES))[:count]
    while len(chosen) < count:
        length = int(rng.integers(1, max_length + 1))
        text = "".join(rng.choice(INPUT_CHARACTERS, length)).strip() or str(rng.choice(letters))
        if text not in chosen:
            chosen.append(text)
    return chosen


def random_vocabulary(max_encoder_seq_length: int = 12, max_decoder_seq_length: int = 20,
                      input_characters=None, target_characters=None):
    """The hand-built vocabulary (or the characters given; target ones must hold START, END and PAD)."""
    from model.vocab import Vocabulary

    return Vocabulary(
        input_characters=tuple(input_characters or INPUT_CHARACTERS),
        target_characters=tuple(sorted(target_characters or TARGET_CHARACTERS)),
        max_encoder_seq_length=max_encoder_seq_length,
        max_decoder_seq_length=max_decoder_seq_length,
    )


def random_config(kind: str, vocab, latent_dim: int = 8):
    from model.config import ModelConfig

    return ModelConfig(num_encoder_tokens=vocab.num_encoder_tokens, num_decoder_tokens=vocab.num_decoder_tokens,
                       latent_dim=latent_dim, **KINDS[kind])


def random_model(config, vocab, seed: int = 0, scale: float = 1.0, end_bias: float = 0.0):
    """The Keras training network for `config`, its weights drawn from a generator seeded by `seed`.

    Args:
        config: the network's shapes (see `random_config`).
        vocab: gives the START and END ids, whose output biases are set (see the module doc).
        seed: seeds the NumPy generator; the same seed gives the same weights on every machine.
        scale: multiplies every drawn kernel (not the clock): larger gives more peaked distributions.
        end_bias: added to the END logit: positive ends sentences sooner, negative later.
    """
    from model import network

    model = network.build_training_model(config)
    rng = np.random.default_rng(seed)
    u = config.latent_dim
    embedded = config.input_encoding == "embedding"
    # One character's input vector: a one-hot row (fan-in 1) or an N(0, 1) embedding row.
    char_fan_in = config.embedding_dim if embedded else 1

    def normal(shape, std):
        return rng.normal(0.0, std, shape).astype("float32")

    def lstm(arrays, input_std, fan_in=char_fan_in):
        kernel, recurrent, bias = (np.asarray(a) for a in arrays)
        units = recurrent.shape[0]
        bias = normal(bias.shape, BIAS_STD)
        bias[units : 2 * units] += FORGET_BIAS
        return [normal(kernel.shape, scale * input_std / np.sqrt(fan_in)),
                normal(recurrent.shape, scale * RECURRENT_STD / np.sqrt(units)), bias]

    drawn: dict[str, list[np.ndarray]] = {}
    for layer in model.layers:  # the network's construction order: the same draws every time
        weights = layer.get_weights()
        if not weights:
            continue
        if layer.name in (network.ENCODER_EMBEDDING, network.DECODER_EMBEDDING):
            drawn[layer.name] = [normal(weights[0].shape, 1.0)]
        elif layer.name == network.ENCODER_LSTM:  # 3 arrays, or 6 for a bidirectional encoder
            drawn[layer.name] = [a for i in range(0, len(weights), 3) for a in lstm(weights[i : i + 3], ENCODER_INPUT_STD)]
        elif layer.name.startswith(network.ENCODER_LSTM + "_"):  # a stacked layer: inputs are the layer below's outputs
            fan_in = weights[0].shape[0]
            drawn[layer.name] = [a for i in range(0, len(weights), 3)
                                 for a in lstm(weights[i : i + 3], ENCODER_INPUT_STD, fan_in)]
        elif layer.name == network.DECODER_LSTM:
            drawn[layer.name] = lstm(weights, DECODER_INPUT_STD)
        elif layer.name == network.DECODER_DENSE:
            kernel, bias = weights
            drawn[layer.name] = [normal(kernel.shape, scale * OUTPUT_STD / np.sqrt(kernel.shape[0])),
                                 normal(bias.shape, 0.5)]
        else:  # attention keys and combination: plain Glorot-sized draws
            drawn[layer.name] = [normal(w.shape, scale / np.sqrt(w.shape[0])) if w.ndim > 1 else normal(w.shape, BIAS_STD)
                                 for w in weights]

    # The decoder starts from the top encoder layer's state, so that layer's unit 0 seeds the clock.
    top = network.encoder_layer_name(config.encoder_layers - 1)
    _seed_the_clock(drawn[top][:3], rng, char_fan_in if top == network.ENCODER_LSTM else drawn[top][0].shape[0])
    _wind_the_clock(drawn[network.DECODER_LSTM])
    kernel, bias = drawn[network.DECODER_DENSE]
    kernel[0] = 0.0
    kernel[0, vocab.end_index] = END_WEIGHT
    bias[vocab.end_index] = END_OFFSET + end_bias
    bias[vocab.start_index] = -SATURATED
    if config.attention:
        # The output layer reads h~ = tanh([context; h] W_c + b_c): route the clock through h~_0.
        combine_kernel, combine_bias = drawn[network.ATTENTION_COMBINE]
        combine_kernel[:, 0] = 0.0
        combine_kernel[combine_kernel.shape[0] - u, 0] = ATTENTION_CLOCK  # the row of h_0 (context rows first)
        combine_bias[0] = 0.0

    for layer in model.layers:
        if layer.name in drawn:
            layer.set_weights(drawn[layer.name])
    return model


def _gate_columns(units: int) -> dict[str, int]:
    """Unit 0's column in each gate block of a Keras LSTM (gate order i, f, g, o)."""
    return {"i": 0, "f": units, "g": 2 * units, "o": 3 * units}


def _seed_the_clock(arrays: list[np.ndarray], rng, char_fan_in: int) -> None:
    """Encoder unit 0 keeps only its last candidate, a function of the sentence near tanh(CLOCK_START)."""
    kernel, recurrent, bias = arrays
    columns = _gate_columns(recurrent.shape[0])
    for gate, gate_bias in (("i", SATURATED), ("f", -SATURATED), ("o", SATURATED)):
        kernel[:, columns[gate]] = recurrent[:, columns[gate]] = 0.0
        bias[columns[gate]] = gate_bias
    g = columns["g"]
    kernel[:, g] = rng.normal(0.0, CLOCK_START_STD / np.sqrt(char_fan_in), kernel.shape[0])
    recurrent[:, g] = rng.normal(0.0, CLOCK_START_STD / np.sqrt(recurrent.shape[0]), recurrent.shape[0])
    bias[g] = CLOCK_START


def _wind_the_clock(arrays: list[np.ndarray]) -> None:
    """Decoder unit 0 ignores its inputs and adds CLOCK_RATE to its cell at every step."""
    kernel, recurrent, bias = arrays
    columns = _gate_columns(recurrent.shape[0])
    for gate, gate_bias in (("i", SATURATED), ("f", SATURATED), ("g", np.arctanh(CLOCK_RATE)), ("o", SATURATED)):
        kernel[:, columns[gate]] = recurrent[:, columns[gate]] = 0.0
        bias[columns[gate]] = gate_bias


def make_random_checkpoint(out: Path, kind: str = "recipe", seed: int = 0, latent_dim: int = 8, vocab=None,
                           **weights) -> Path:
    """Write a checkpoint directory for `kind` (see KINDS) with seeded random weights.

    Args:
        out: the directory to write (created).
        kind: "recipe", "fast", "attention" or "large".
        seed: seeds the weights.
        latent_dim: LSTM units.
        vocab: a Vocabulary; default the hand-built one (`random_vocabulary()`).
        **weights: `scale` and `end_bias`, passed to `random_model`.
    """
    from model import checkpoint

    vocab = vocab or random_vocabulary()
    config = random_config(kind, vocab, latent_dim)
    model = random_model(config, vocab, seed, **weights)
    recipe = {"recipe": "keras-io"}.get(kind, kind)
    metadata = {"recipe": recipe, "command": f"tests/random_models.py kind={kind} seed={seed}",
                "data": {"source": "hand-built vocabulary"}, "random_weights": True}
    checkpoint.save(out, model, vocab, config, metadata)
    return out

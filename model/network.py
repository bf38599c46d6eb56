"""The training network and the recipe's inference encoder/decoder, with every layer named.

The network is the keras.io recipe's: an encoder LSTM reads the English characters and hands its
final (h, c) states to a decoder LSTM, which reads the French target shifted right by one step
("teacher forcing") and predicts the next character through a softmax Dense layer.

The improved recipe changes only how characters enter the LSTMs (a learned embedding whose id 0 is
masked padding, instead of one-hot vectors padded with spaces) and adds dropout. Inference always
looks layers up by name, never by position.
"""

from __future__ import annotations

import numpy as np

from .config import ModelConfig
from .inference import AttentionWeights, LSTMWeights, Seq2SeqWeights

# Layer names: the checkpoint loader and the Hub's legacy importer rely on them.
ENCODER_INPUTS = "encoder_inputs"
DECODER_INPUTS = "decoder_inputs"
ENCODER_EMBEDDING = "encoder_embedding"
DECODER_EMBEDDING = "decoder_embedding"
ENCODER_LSTM = "encoder_lstm"  # the first (or only) encoder layer; stacked ones are encoder_layer_name(k)
DECODER_LSTM = "decoder_lstm"
DECODER_DROPOUT = "decoder_dropout"
DECODER_DENSE = "decoder_dense"
# Attention models only (Luong et al. 2015, "general" score).
ATTENTION_KEYS = "attention_keys"  # W_a: encoder outputs -> keys, computed once per sentence
ATTENTION = "attention"  # softmax(h_t . keys) over the unmasked English characters -> context
ATTENTION_COMBINE = "attention_combine"  # tanh([context; h_t] W_c + b_c): Luong's attentional state


def encoder_layer_name(index: int) -> str:
    """Name of encoder layer `index` (0-based): "encoder_lstm", then "encoder_lstm_2", "encoder_lstm_3", ..."""
    return ENCODER_LSTM if index == 0 else f"{ENCODER_LSTM}_{index + 1}"


def _embedded_inputs(config: ModelConfig):
    """Integer inputs and their embeddings: (encoder_inputs, decoder_inputs, encoder_x, decoder_x).

    Ids are shifted by one: 0 is padding, masked so the LSTMs skip it and the loss ignores it.
    """
    import keras

    encoder_inputs = keras.Input(shape=(None,), dtype="int32", name=ENCODER_INPUTS)
    decoder_inputs = keras.Input(shape=(None,), dtype="int32", name=DECODER_INPUTS)
    encoder_x = keras.layers.Embedding(
        config.num_encoder_tokens + 1, config.embedding_dim, mask_zero=True, name=ENCODER_EMBEDDING
    )(encoder_inputs)
    decoder_x = keras.layers.Embedding(
        config.num_decoder_tokens + 1, config.embedding_dim, mask_zero=True, name=DECODER_EMBEDDING
    )(decoder_inputs)
    return encoder_inputs, decoder_inputs, encoder_x, decoder_x


def build_training_model(config: ModelConfig, with_attention_scores: bool = False, output_dtype: str | None = None):
    """The teacher-forced training model: [encoder_inputs, decoder_inputs] -> next-char probabilities.

    Args:
        config: the network's shapes; `config.attention` picks `build_attention_model`.
        with_attention_scores: attention models only: also output the attention weights
            (batch, decoder steps, encoder steps), for the equivalence tests and the alignment plot.
        output_dtype: the softmax layer's dtype policy (attention models; None: the global one).
    """
    if config.attention:
        return build_attention_model(config, with_attention_scores, output_dtype)
    import keras

    onehot = config.input_encoding == "onehot"
    if onehot:
        encoder_inputs = keras.Input(shape=(None, config.num_encoder_tokens), name=ENCODER_INPUTS)
        decoder_inputs = keras.Input(shape=(None, config.num_decoder_tokens), name=DECODER_INPUTS)
        encoder_x, decoder_x = encoder_inputs, decoder_inputs
    else:
        encoder_inputs, decoder_inputs, encoder_x, decoder_x = _embedded_inputs(config)
    encoder = keras.layers.LSTM(config.latent_dim, return_state=True, dropout=config.dropout, name=ENCODER_LSTM)
    _, state_h, state_c = encoder(encoder_x)
    decoder_lstm = keras.layers.LSTM(
        config.latent_dim, return_sequences=True, return_state=True, dropout=config.dropout, name=DECODER_LSTM
    )
    decoder_outputs, _, _ = decoder_lstm(decoder_x, initial_state=[state_h, state_c])
    if config.dropout:
        decoder_outputs = keras.layers.Dropout(config.dropout, name=DECODER_DROPOUT)(decoder_outputs)
    decoder_dense = keras.layers.Dense(config.num_decoder_tokens, activation="softmax", name=DECODER_DENSE)
    outputs = decoder_dense(decoder_outputs)
    return keras.Model([encoder_inputs, decoder_inputs], outputs, name="seq2seq")


def build_attention_model(config: ModelConfig, with_attention_scores: bool = False, output_dtype: str | None = None):
    """The `attention` recipe's network: the recipe's encoder-decoder plus Luong attention.

    What changes from the recipe, in reading order:
      1. the encoder returns its output at *every* English character (not just its final state),
         reading the sentence both ways when `config.bidirectional`;
      2. the decoder LSTM is seeded from the encoder's final states, exactly as in the recipe;
      3. at each French step t, the decoder output h_t scores every English position s against
         keys k_s = W_a e_s ("general" score h_t . k_s), padding masked; a softmax over s gives the
         alignment weights a_ts, and the context c_t = sum_s a_ts e_s;
      4. Luong's attentional state  h~_t = tanh(W_c [c_t; h_t] + b_c)  replaces h_t as the input of
         the softmax layer.
    All of it runs over the whole target sequence at once (teacher forcing), no Python loop.
    """
    import keras

    encoder_inputs, decoder_inputs, encoder_x, decoder_x = _embedded_inputs(config)
    encoder_outputs = encoder_x
    for index in range(config.encoder_layers):  # the keras.io recipe and `attention` have one layer
        name = encoder_layer_name(index)
        encoder_lstm = keras.layers.LSTM(
            config.encoder_units, return_sequences=True, return_state=True, dropout=config.dropout, name=name
        )
        if config.bidirectional:
            encoder_lstm = keras.layers.Bidirectional(encoder_lstm, merge_mode="concat", name=name)
            encoder_outputs, fwd_h, fwd_c, bwd_h, bwd_c = encoder_lstm(encoder_outputs)
        else:
            encoder_outputs, state_h, state_c = encoder_lstm(encoder_outputs)
    if config.bidirectional:  # the top layer's two final states, side by side, seed the decoder
        state_h = keras.layers.Concatenate(name="encoder_state_h")([fwd_h, bwd_h])
        state_c = keras.layers.Concatenate(name="encoder_state_c")([fwd_c, bwd_c])
    decoder_lstm = keras.layers.LSTM(
        config.latent_dim, return_sequences=True, return_state=True, dropout=config.dropout, name=DECODER_LSTM
    )
    decoder_outputs, _, _ = decoder_lstm(decoder_x, initial_state=[state_h, state_c])
    keys = keras.layers.Dense(config.latent_dim, use_bias=False, name=ATTENTION_KEYS)(encoder_outputs)
    # Padding is masked explicitly (not left to mask propagation) so the weights over it are exactly 0.
    encoder_mask = keras.ops.not_equal(encoder_inputs, 0)
    decoder_mask = keras.ops.not_equal(decoder_inputs, 0)
    context, scores = keras.layers.Attention(name=ATTENTION)(
        [decoder_outputs, encoder_outputs, keys], mask=[decoder_mask, encoder_mask], return_attention_scores=True
    )
    combined = keras.layers.Concatenate(name="attention_concat")([context, decoder_outputs])
    attentional = keras.layers.Dense(config.latent_dim, activation="tanh", name=ATTENTION_COMBINE)(combined)
    if config.dropout:
        attentional = keras.layers.Dropout(config.dropout, name=DECODER_DROPOUT)(attentional)
    outputs = keras.layers.Dense(config.num_decoder_tokens, activation="softmax", name=DECODER_DENSE,
                                 dtype=output_dtype)(attentional)
    model_outputs = [outputs, scores] if with_attention_scores else outputs
    return keras.Model([encoder_inputs, decoder_inputs], model_outputs, name="seq2seq_attention")


def build_inference_models(model, config: ModelConfig):
    """The recipe's `encoder_model` and `decoder_model`, sharing the trained layers.

    encoder_model: encoder input -> [h, c]
    decoder_model: [one decoder step, h, c] -> [probabilities, h, c]
    These are what the keras.io example calls `predict` on once per character; the engine in
    `model.inference` computes the same thing without Keras (see `engine_weights`).
    """
    import keras

    encoder_inputs = model.get_layer(ENCODER_INPUTS).output
    _, state_h_enc, state_c_enc = model.get_layer(ENCODER_LSTM).output
    encoder_model = keras.Model(encoder_inputs, [state_h_enc, state_c_enc], name="encoder_model")

    latent = config.latent_dim
    if config.input_encoding == "onehot":
        step_input = keras.Input(shape=(None, config.num_decoder_tokens), name="decoder_step_input")
        x = step_input
    else:
        step_input = keras.Input(shape=(None,), dtype="int32", name="decoder_step_input")
        x = model.get_layer(DECODER_EMBEDDING)(step_input)
    state_h = keras.Input(shape=(latent,), name="decoder_state_h")
    state_c = keras.Input(shape=(latent,), name="decoder_state_c")
    outputs, h, c = model.get_layer(DECODER_LSTM)(x, initial_state=[state_h, state_c])
    probs = model.get_layer(DECODER_DENSE)(outputs)
    decoder_model = keras.Model([step_input, state_h, state_c], [probs, h, c], name="decoder_model")
    return encoder_model, decoder_model


def expected_shapes(config: ModelConfig) -> dict[str, list[tuple[int, ...]]]:
    """Every weight the network built from `config` has, by layer name, in Keras' order.

    The checkpoint reader compares a model file against this before trusting it, so a kernel of the
    wrong size (or two same-shaped layers swapped) is refused by name rather than failing mid-matmul.
    """
    n_in, n_out, u = config.num_encoder_tokens, config.num_decoder_tokens, config.latent_dim

    def lstm(inputs: int, units: int) -> list[tuple[int, ...]]:
        return [(inputs, 4 * units), (units, 4 * units), (4 * units,)]

    embedded = config.input_encoding == "embedding"
    enc_in = config.embedding_dim if embedded else n_in
    dec_in = config.embedding_dim if embedded else n_out
    directions = 2 if config.bidirectional else 1
    shapes = {
        ENCODER_LSTM: lstm(enc_in, config.encoder_units) * directions,
        DECODER_LSTM: lstm(dec_in, u),
        DECODER_DENSE: [(u, n_out), (n_out,)],
    }
    if embedded:
        shapes[ENCODER_EMBEDDING] = [(n_in + 1, config.embedding_dim)]
        shapes[DECODER_EMBEDDING] = [(n_out + 1, config.embedding_dim)]
    encoder_output = config.encoder_units * directions
    for index in range(1, config.encoder_layers):  # stacked layers read the layer below's outputs
        shapes[encoder_layer_name(index)] = lstm(encoder_output, config.encoder_units) * directions
    if config.attention:
        shapes[ATTENTION_KEYS] = [(encoder_output, u)]
        shapes[ATTENTION_COMBINE] = [(encoder_output + u, u), (u,)]
    return shapes


def _lstm_weights(lstm: list[np.ndarray], embedding: list[np.ndarray] | None = None) -> LSTMWeights:
    """One LSTM's engine weights: characters enter through a table of rows (one-hot or embedded ids);
    for a stacked layer, whose inputs are vectors, the table is the kernel itself."""
    kernel, recurrent_kernel, bias = (np.asarray(w, dtype=np.float32) for w in lstm)
    if embedding is not None:
        # Row 0 of the embedding is the masked padding id; real token i lives in row i + 1.
        table = np.asarray(embedding[0], dtype=np.float32)[1:] @ kernel
    else:
        table = kernel  # a one-hot row times the kernel selects that row
    return LSTMWeights(np.ascontiguousarray(table), recurrent_kernel, bias)


def layer_arrays(model) -> dict[str, list[np.ndarray]]:
    """Each named layer's weights as NumPy arrays, in Keras' order (kernel, recurrent_kernel, bias)."""
    return {layer.name: [np.asarray(w) for w in layer.get_weights()] for layer in model.layers}


def engine_weights_from_arrays(
    layers: dict[str, list[np.ndarray]], config: ModelConfig
) -> Seq2SeqWeights | AttentionWeights:
    """Build the engine's weights from per-layer arrays, looked up by layer name."""
    if config.attention:
        return _attention_weights(layers, config)
    embedded = config.input_encoding == "embedding"
    encoder = _lstm_weights(layers[ENCODER_LSTM], layers[ENCODER_EMBEDDING] if embedded else None)
    decoder = _lstm_weights(layers[DECODER_LSTM], layers[DECODER_EMBEDDING] if embedded else None)
    dense_kernel, dense_bias = (np.asarray(w, dtype=np.float32) for w in layers[DECODER_DENSE])
    return Seq2SeqWeights(encoder, decoder, dense_kernel, dense_bias)


def _attention_weights(layers: dict[str, list[np.ndarray]], config: ModelConfig) -> AttentionWeights:
    encoder = layers[ENCODER_LSTM]
    forward = _lstm_weights(encoder[:3], layers[ENCODER_EMBEDDING])
    # Keras' Bidirectional lists the forward layer's weights, then the backward layer's.
    backward = _lstm_weights(encoder[3:6], layers[ENCODER_EMBEDDING]) if config.bidirectional else None
    as_float = lambda arrays: [np.ascontiguousarray(a, dtype=np.float32) for a in arrays]  # noqa: E731
    (keys_kernel,) = as_float(layers[ATTENTION_KEYS])
    combine_kernel, combine_bias = as_float(layers[ATTENTION_COMBINE])
    dense_kernel, dense_bias = as_float(layers[DECODER_DENSE])
    stack = []
    for index in range(1, config.encoder_layers):
        arrays = layers[encoder_layer_name(index)]
        stack.append((_lstm_weights(arrays[:3]), _lstm_weights(arrays[3:6]) if config.bidirectional else None))
    return AttentionWeights(forward, backward, _lstm_weights(layers[DECODER_LSTM], layers[DECODER_EMBEDDING]),
                            keys_kernel, combine_kernel, combine_bias, dense_kernel, dense_bias, tuple(stack))


def engine_weights(model, config: ModelConfig) -> Seq2SeqWeights:
    """Take the engine's weights from a trained Keras model's named layers."""
    return engine_weights_from_arrays(layer_arrays(model), config)

"""The inference encoder and decoder step, in NumPy, from a trained network's weights.

The keras.io recipe runs inference by calling `decoder_model.predict` once per character, which
costs milliseconds of framework overhead per call. Here the same LSTM equations run directly on the
trained weights, for a whole batch at once:

    z = x W + h U + b                   (x: the character, one-hot or embedded)
    i, f, g, o = sigmoid(z_i), sigmoid(z_f), tanh(z_g), sigmoid(z_o)   (Keras' gate order)
    c' = f * c + i * g
    h' = o * tanh(c')
    p  = softmax(h' V + d)              (the Dense layer, decoder only)

A one-hot character times W is just a row of W, and an embedded one is a row of E W, so each
character's input contribution is precomputed as a table row. The results match the Keras models
to float32 rounding (the equivalence test checks the recipe's own predict loop).

Attention models (`AttentionWeights`, Luong et al. 2015) keep the encoder's output e_s at every
English position s, computed once per sentence together with the keys k_s = e_s W_a. Each decoder
step then adds, after the LSTM step above:

    a_s = softmax_s(h' . k_s)            (padding positions get weight 0)
    ctx = sum_s a_s e_s
    h~  = tanh([ctx; h'] W_c + b_c)
    p   = softmax(h~ V + d)

A bidirectional encoder runs a second LSTM from each sentence's last character back to its first;
its outputs sit beside the forward ones, and the two final states, concatenated, seed the decoder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # Split by sign so exp never overflows; equals 1 / (1 + exp(-x)) everywhere.
    out = np.empty_like(x)
    positive = x >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-x[positive]))
    e = np.exp(x[~positive])
    out[~positive] = e / (1.0 + e)
    return out


@dataclass
class LSTMWeights:
    """One LSTM layer: per-token input rows (num_tokens, 4u), recurrent kernel (u, 4u), bias (4u,)."""

    input_table: np.ndarray
    recurrent_kernel: np.ndarray
    bias: np.ndarray

    @property
    def units(self) -> int:
        return self.recurrent_kernel.shape[0]

    def step(self, token_ids: np.ndarray, h: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u = self.units
        z = self.input_table[token_ids] + h @ self.recurrent_kernel + self.bias
        i = _sigmoid(z[:, :u])
        f = _sigmoid(z[:, u : 2 * u])
        g = np.tanh(z[:, 2 * u : 3 * u])
        o = _sigmoid(z[:, 3 * u :])
        c = f * c + i * g
        return o * np.tanh(c), c


@dataclass
class Seq2SeqWeights:
    """The trained weights the engine needs, taken from the network's named layers."""

    encoder: LSTMWeights
    decoder: LSTMWeights
    dense_kernel: np.ndarray  # (u, num_decoder_tokens)
    dense_bias: np.ndarray  # (num_decoder_tokens,)

    def encode(self, token_ids: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run the encoder over a batch; row r stops (keeps its state) after `lengths[r]` steps.

        Args:
            token_ids: (batch, time) input ids; steps past a row's length are ignored.
            lengths: (batch,) number of steps to run for each row.
        """
        batch = token_ids.shape[0]
        h = np.zeros((batch, self.encoder.units), dtype=np.float32)
        c = np.zeros_like(h)
        for t in range(token_ids.shape[1]):
            h_new, c_new = self.encoder.step(token_ids[:, t], h, c)
            active = (t < lengths)[:, None]
            h = np.where(active, h_new, h)
            c = np.where(active, c_new, c)
        return h, c

    def decode_step(
        self, token_ids: np.ndarray, h: np.ndarray, c: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One decoder step for a batch: (next-character probabilities, h, c)."""
        h, c = self.decoder.step(token_ids, h, c)
        return _softmax(h @ self.dense_kernel + self.dense_bias), h, c

    def start(self, token_ids: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple]:
        """(h, c, context) to decode from; the recipe's decoder needs no context beyond its state."""
        h, c = self.encode(token_ids, lengths)
        return h, c, ()


def _softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(axis=-1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=-1, keepdims=True)
    return probs


def run_lstm(lstm: LSTMWeights, token_ids: np.ndarray, lengths: np.ndarray, backwards: bool = False):
    """Run `lstm` over each row's first `lengths[r]` ids; returns (outputs (batch, time, units), h, c).

    Forwards, row r reads positions 0 .. len-1; backwards, len-1 .. 0, which is what Keras' masked
    `go_backwards` LSTM computes: the padding it meets first is masked and leaves the zero state alone.
    """
    batch, time = token_ids.shape
    h = np.zeros((batch, lstm.units), dtype=np.float32)
    c = np.zeros_like(h)
    outputs = np.zeros((batch, time, lstm.units), dtype=np.float32)
    for t in (range(time - 1, -1, -1) if backwards else range(time)):
        h_new, c_new = lstm.step(token_ids[:, t], h, c)
        active = (t < lengths)[:, None]
        h = np.where(active, h_new, h)
        c = np.where(active, c_new, c)
        outputs[:, t] = h
    return outputs, h, c


@dataclass
class AttentionWeights:
    """An attention model's weights: (bi)directional encoder, decoder LSTM, Luong attention, output layer."""

    encoder_forward: LSTMWeights
    encoder_backward: LSTMWeights | None  # None: a one-way encoder
    decoder: LSTMWeights
    keys_kernel: np.ndarray  # W_a: (encoder output size, latent_dim)
    combine_kernel: np.ndarray  # W_c: (encoder output size + latent_dim, latent_dim), context rows first
    combine_bias: np.ndarray
    dense_kernel: np.ndarray  # (latent_dim, num_decoder_tokens)
    dense_bias: np.ndarray

    def encode(self, token_ids: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(encoder outputs at every position, decoder's initial h, c) for a batch of id rows."""
        outputs, h, c = run_lstm(self.encoder_forward, token_ids, lengths)
        if self.encoder_backward is not None:
            back, h_back, c_back = run_lstm(self.encoder_backward, token_ids, lengths, backwards=True)
            outputs = np.concatenate([outputs, back], axis=2)
            h = np.concatenate([h, h_back], axis=1)
            c = np.concatenate([c, c_back], axis=1)
        return outputs, h, c

    def start(self, token_ids: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple]:
        """(h, c, context): the context rows (encoder outputs, keys, padding mask) never change while decoding."""
        outputs, h, c = self.encode(token_ids, lengths)
        keys = outputs @ self.keys_kernel
        mask = np.arange(token_ids.shape[1])[None, :] < np.asarray(lengths)[:, None]
        return h, c, (outputs, keys, mask)

    def decode_step(
        self, token_ids: np.ndarray, h: np.ndarray, c: np.ndarray,
        outputs: np.ndarray, keys: np.ndarray, mask: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One decoder step: (next-character probabilities, h, c, attention weights over input positions)."""
        h, c = self.decoder.step(token_ids, h, c)
        scores = np.einsum("btd,bd->bt", keys, h)
        weights = _softmax(np.where(mask, scores, -np.inf))
        context = np.einsum("bt,btd->bd", weights, outputs)
        attentional = np.tanh(np.concatenate([context, h], axis=1) @ self.combine_kernel + self.combine_bias)
        return _softmax(attentional @ self.dense_kernel + self.dense_bias), h, c, weights

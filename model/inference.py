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
        logits = h @ self.dense_kernel + self.dense_bias
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        return probs, h, c

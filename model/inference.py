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
character's input contribution is precomputed as a table row, with the bias folded in. The results
match the Keras models to float32 rounding (the equivalence test checks the recipe's own predict loop).

The step is written for speed, because it runs once per character. sigmoid(x) = 0.5 + 0.5 tanh(x/2)
is stable for any x without splitting by sign, and halving the i, f and o columns of the weights
(exact: a power of two) lets one tanh over all four gates give every gate at once. The gate columns
are reordered to i, f, o, g so the three sigmoids are one contiguous slice.

Attention models (`AttentionWeights`, Luong et al. 2015) keep the encoder's output e_s at every
English position s, computed once per sentence together with the keys k_s = e_s W_a. Each decoder
step then adds, after the LSTM step above:

    a_s = softmax_s(h' . k_s)            (padding positions get weight 0)
    ctx = sum_s a_s e_s
    h~  = tanh([ctx; h'] W_c + b_c)
    p   = softmax(h~ V + d)

Split W_c into its context rows C and its h rows H: [ctx; h'] W_c = sum_s a_s (e_s C) + h' H. The
projections e_s C are computed once per sentence beside the keys, so a step multiplies h' by H
(units x units) instead of [ctx; h'] by W_c (twice or three times the rows).

A bidirectional encoder runs a second LSTM from each sentence's last character back to its first;
its outputs sit beside the forward ones, and the two final states, concatenated, seed the decoder.
A stacked encoder (the `large` recipe) repeats that over the layer below's outputs instead of the
characters; the top layer's outputs are attended over and its final states seed the decoder.
Encoders run their batch sorted by length, longest first, so the rows still reading at a step are a
prefix of the batch and finished rows cost nothing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property

import numpy as np

# BLAS threads while the engine runs. Its matrices are small (a few hundred rows at most) and every
# step waits for the last: on the 2-core machine with a training job beside it, two threads made
# steps 2-10x slower at batch 4 and up and saved nothing at batch 1 (benchmarks/engine_speed.py).
BLAS_THREADS = 1
GEMV_BELOW = 8  # fewer rows than this are multiplied row by row (see `matmul`)


class _BlasThreads:
    """Context manager: BLAS uses BLAS_THREADS threads from the first batch on, and keeps them.

    Each entry checks the setting (a call or two into the library) and sets it where it differs;
    nothing is restored on exit. Restoring BLAS's own setting after every batch, as this used to,
    made OpenBLAS (0.3.31 here) slow to a crawl once two threads multiplied at once, which the
    engine's split batches and a server's concurrent callers do: OpenBLAS's idle worker thread spun
    on a core while they ran. Two threads each multiplying (128 x 256) by (256 x 1024) 60 times, 30
    times over, took 56 s instead of 1.8 s, the spinning thread burning 25 s of CPU; and three runs
    in ten of `python -m model translate` on 3,000 lines took 6-40 s instead of 2.5 s. Left at one
    thread, the same work takes 1.8 s every time. So a process that translates keeps BLAS on
    BLAS_THREADS threads; code in it that wants more sets them (threadpoolctl.threadpool_limits).
    Uses threadpoolctl when it is installed; without it, BLAS keeps its own setting.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._libraries: list | None = None

    def _blas_libraries(self) -> list:
        if self._libraries is None:
            try:
                from threadpoolctl import ThreadpoolController
            except ImportError:
                self._libraries = []
            else:
                self._libraries = ThreadpoolController().select(user_api="blas").lib_controllers
        return self._libraries

    def __enter__(self) -> None:
        with self._lock:
            for lib in self._blas_libraries():
                if lib.get_num_threads() != BLAS_THREADS:
                    lib.set_num_threads(BLAS_THREADS)

    def __exit__(self, *exc) -> None:
        pass


blas_threads = _BlasThreads()  # `with blas_threads:` around a batch's encode and decode


@dataclass
class _FusedLSTM:
    """An LSTM's weights laid out for the step: gates i, f, o, g; i, f, o columns halved; bias in the table."""

    table: np.ndarray  # (num_tokens, 4u): input row + bias, per token
    recurrent_kernel: np.ndarray  # (u, 4u)
    units: int


@dataclass
class LSTMWeights:
    """One LSTM layer: per-token input rows (num_tokens, 4u), recurrent kernel (u, 4u), bias (4u,).

    The arrays are read once, on the first step, into the engine's layout; don't modify them after.
    """

    input_table: np.ndarray
    recurrent_kernel: np.ndarray
    bias: np.ndarray

    @property
    def units(self) -> int:
        return self.recurrent_kernel.shape[0]

    def _layout(self) -> tuple[np.ndarray, np.ndarray]:
        """(column order, column scale) of the engine's layout."""
        u = self.units
        order = np.r_[0 : 2 * u, 3 * u : 4 * u, 2 * u : 3 * u]  # Keras' i, f, g, o -> i, f, o, g
        scale = np.ones(4 * u, dtype=np.float32)
        scale[: 3 * u] = 0.5  # sigmoid(z) = 0.5 + 0.5 tanh(z / 2); halving is exact in floating point
        return order, scale

    @cached_property
    def fused(self) -> _FusedLSTM:
        order, scale = self._layout()
        table = (np.asarray(self.input_table, np.float32) + np.asarray(self.bias, np.float32))[:, order] * scale
        kernel = np.asarray(self.recurrent_kernel, np.float32)[:, order] * scale
        return _FusedLSTM(np.ascontiguousarray(table), np.ascontiguousarray(kernel), self.units)

    @cached_property
    def fused_kernel(self) -> tuple[np.ndarray, np.ndarray]:
        """(input kernel, bias) in the engine's layout, for a layer whose inputs are vectors (a stacked
        encoder layer reads the layer below's outputs): there `input_table` is the (inputs, 4u) kernel."""
        order, scale = self._layout()
        kernel = np.asarray(self.input_table, np.float32)[:, order] * scale
        return np.ascontiguousarray(kernel), np.asarray(self.bias, np.float32)[order] * scale

    def step(self, token_ids: np.ndarray, h: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One step for a batch: (h', c'). The inputs are left unchanged."""
        fused = self.fused
        z = matmul(h, fused.recurrent_kernel)
        z += _input_rows(fused.table, token_ids)
        return _cell(z, c, fused.units)


def _cell(z: np.ndarray, c: np.ndarray | None, u: int, table: np.ndarray | None = None,
          tokens: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The LSTM cell from the fused pre-activations `z` (overwritten); c=None is the zero state.

    With `table`, z = h U gets each row's input row table[tokens[r]] added first."""
    if table is not None:
        z += table[tokens]
    np.tanh(z, out=z)
    sig = z[:, : 3 * u]
    sig *= 0.5
    sig += 0.5
    c_new = z[:, : u] * z[:, 3 * u :]  # i * g
    if c is not None:
        c_new += z[:, u : 2 * u] * c  # + f * c
    h_new = np.tanh(c_new)
    h_new *= z[:, 2 * u : 3 * u]
    return h_new, c_new


def _softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, computed in place in `logits` (which it returns)."""
    # The ufuncs' reduce directly: ndarray.max / .sum add a Python-level wrapper to each call.
    logits -= np.maximum.reduce(logits, axis=-1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= np.add.reduce(logits, axis=-1, keepdims=True)
    return logits


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b, computed as the engine computes it (and the benchmark's floor, so the two compare alike).

    With 2-7 rows, one matrix-vector product per row (one call, a stacked matmul) is 1.2-2.5x faster
    than OpenBLAS' GEMM, which packs all of `b` for so few rows; from 8 rows on GEMM wins.
    """
    if 1 < a.shape[0] < GEMV_BELOW:
        return np.matmul(a[:, None, :], b)[:, 0]
    return a @ b


def _input_rows(table: np.ndarray, token_ids: np.ndarray) -> np.ndarray:
    # One row by plain indexing (a view): a fancy-index gather costs more than the add it feeds.
    return table[int(token_ids[0])] if len(token_ids) == 1 else table[token_ids]


def run_lstm(lstm: LSTMWeights, token_ids: np.ndarray | None, lengths: np.ndarray, backwards: bool = False,
             outputs: bool = True, features: np.ndarray | None = None, cell=None):
    """Run `lstm` over each row's first `lengths[r]` ids; returns (outputs (batch, time, units), h, c).

    A stacked layer reads `features` (batch, time, inputs), the layer below's outputs, instead of ids.
    `cell` replaces `_cell` (same contract), for a backend with its own (model/backends.py).

    Forwards, row r reads positions 0 .. len-1; backwards, len-1 .. 0, which is what Keras' masked
    `go_backwards` LSTM computes: the padding it meets first is masked and leaves the zero state alone.
    A row's output past its length is its last state (forwards) or zero (backwards). With
    `outputs=False` only (None, h, c) is computed.
    """
    lengths = np.asarray(lengths)
    batch, time = (np.shape(token_ids) if features is None else features.shape[:2])
    u = lstm.units
    # Longest rows first, so the rows still reading at any step are a prefix: no masking, no gathers.
    order = np.argsort(-lengths, kind="stable")
    sorted_lengths = np.minimum(lengths[order], time)
    active = (sorted_lengths[None, :] > np.arange(time)[:, None]).sum(axis=1).tolist()  # rows reading at step t
    if features is None:
        # (time, batch) ids; each step's input rows are added inside `cell`: gathering them all at
        # once would write and read back a (time, batch, 4u) array, 12.6 MB for 128 rows of 16
        # characters of the large model, 1.5x the time of a gather per step.
        table, ids = lstm.fused.table, np.ascontiguousarray(np.asarray(token_ids, dtype=np.int64)[order].T)
        inputs = None
    else:  # one 2-D product for every position of every row
        kernel_in, bias_in = lstm.fused_kernel
        rows = np.ascontiguousarray(features[order].transpose(1, 0, 2)).reshape(time * batch, -1)
        inputs = (rows @ kernel_in).reshape(time, batch, 4 * u)
        inputs += bias_in
    kernel = lstm.fused.recurrent_kernel
    cell = cell or _cell
    h = np.zeros((batch, u), dtype=np.float32)
    c = np.zeros_like(h)
    out = np.zeros((batch, time, u), dtype=np.float32) if outputs else None
    first = True
    for t in (range(time - 1, -1, -1) if backwards else range(time)):
        n = active[t]
        if n:
            if first:  # every state is still zero: h U = 0 and f c = 0, so skip both
                z = table[ids[t, :n]] if inputs is None else inputs[t, :n]  # inputs[t] is not read again
                h_new, c_new = cell(z, None, u)
                first = False
            else:
                z = matmul(h[:n], kernel)
                if inputs is None:  # the cell adds the input rows
                    h_new, c_new = cell(z, c[:n], u, table, ids[t, :n])
                else:
                    z += inputs[t, :n]
                    h_new, c_new = cell(z, c[:n], u)
            if n == batch:
                h, c = h_new, c_new
            else:
                h[:n], c[:n] = h_new, c_new
        if out is not None:
            out[:, t] = h
    if (order == np.arange(batch)).all():
        return out, h, c
    inverse = np.empty_like(order)
    inverse[order] = np.arange(batch)
    return (None if out is None else out[inverse]), h[inverse], c[inverse]


@dataclass
class Seq2SeqWeights:
    """The trained weights the engine needs, taken from the network's named layers."""

    has_attention = False  # steps return (probs, h, c)

    encoder: LSTMWeights
    decoder: LSTMWeights
    dense_kernel: np.ndarray  # (u, num_decoder_tokens)
    dense_bias: np.ndarray  # (num_decoder_tokens,)

    def encode(self, token_ids: np.ndarray, lengths: np.ndarray, run=run_lstm) -> tuple[np.ndarray, np.ndarray]:
        """Run the encoder over a batch; row r stops (keeps its state) after `lengths[r]` steps.

        Args:
            token_ids: (batch, time) input ids; steps past a row's length are ignored.
            lengths: (batch,) number of steps to run for each row.
            run: the LSTM run, `run_lstm` or a backend's own with its contract.
        """
        _, h, c = run(self.encoder, token_ids, lengths, outputs=False)
        return h, c

    def decode_step(
        self, token_ids: np.ndarray, h: np.ndarray, c: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One decoder step for a batch: (next-character probabilities, h, c)."""
        fused = self.decoder.fused  # LSTMWeights.step, inlined: this runs once per character
        z = matmul(h, fused.recurrent_kernel)
        z += _input_rows(fused.table, token_ids)
        h, c = _cell(z, c, fused.units)
        logits = matmul(h, self.dense_kernel)
        logits += self.dense_bias
        return _softmax(logits), h, c

    def start(self, token_ids: np.ndarray, lengths: np.ndarray, run=run_lstm) -> tuple[np.ndarray, np.ndarray, tuple]:
        """(h, c, context) to decode from; the recipe's decoder needs no context beyond its state."""
        h, c = self.encode(token_ids, lengths, run)
        return h, c, ()


@dataclass
class AttentionWeights:
    """An attention model's weights: (bi)directional encoder, decoder LSTM, Luong attention, output layer."""

    has_attention = True  # steps return (probs, h, c, attention weights)

    encoder_forward: LSTMWeights
    encoder_backward: LSTMWeights | None  # None: a one-way encoder
    decoder: LSTMWeights
    keys_kernel: np.ndarray  # W_a: (encoder output size, latent_dim)
    combine_kernel: np.ndarray  # W_c: (encoder output size + latent_dim, latent_dim), context rows first
    combine_bias: np.ndarray
    dense_kernel: np.ndarray  # (latent_dim, num_decoder_tokens)
    dense_bias: np.ndarray
    # Stacked encoder layers above the first, bottom up, each (forward, backward or None); their
    # LSTMWeights.input_table is the kernel over the layer below's outputs.
    encoder_stack: tuple[tuple[LSTMWeights, LSTMWeights | None], ...] = ()

    def encode(self, token_ids: np.ndarray, lengths: np.ndarray, run=run_lstm, run_pair=None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(top encoder layer's outputs at every position, decoder's initial h, c) for a batch of id rows.

        `run` is the LSTM run, `run_lstm` or a backend's own with its contract; `run_pair`, where
        given, runs a bidirectional layer's two LSTMs, (forward, backward, token_ids, lengths,
        features) -> (run's result forwards, run's result backwards), for a backend that runs them
        side by side."""
        layer = dict(run=run, run_pair=run_pair)
        outputs, h, c = self._encoder_layer(self.encoder_forward, self.encoder_backward, token_ids, lengths, None, **layer)
        for forward, backward in self.encoder_stack:  # each layer reads the one below at every position
            outputs, h, c = self._encoder_layer(forward, backward, None, lengths, outputs, **layer)
        return outputs, h, c

    @staticmethod
    def _encoder_layer(forward: LSTMWeights, backward: LSTMWeights | None, token_ids, lengths, features, run,
                       run_pair=None):
        if backward is not None and run_pair is not None:
            (outputs, h, c), (back, h_back, c_back) = run_pair(forward, backward, token_ids, lengths, features)
        else:
            outputs, h, c = run(forward, token_ids, lengths, features=features)
        if backward is not None:
            if run_pair is None:
                back, h_back, c_back = run(backward, token_ids, lengths, backwards=True, features=features)
            outputs = np.concatenate([outputs, back], axis=2)
            h = np.concatenate([h, h_back], axis=1)
            c = np.concatenate([c, c_back], axis=1)
        return outputs, h, c

    @cached_property
    def _combine_parts(self) -> tuple[np.ndarray, np.ndarray]:
        """W_c split into its context rows and its h rows (contiguous, for the step's matrix products)."""
        split = self.keys_kernel.shape[0]
        return (np.ascontiguousarray(self.combine_kernel[:split]), np.ascontiguousarray(self.combine_kernel[split:]))

    def start(self, token_ids: np.ndarray, lengths: np.ndarray, run=run_lstm, run_pair=None
              ) -> tuple[np.ndarray, np.ndarray, tuple]:
        """(h, c, context): per-row arrays that never change while decoding (`run`, `run_pair`: as for `encode`).

        The context is (projected, keys, bias): projected_s = e_s W_c(context rows), so that a step's
        [ctx; h] W_c = sum_s a_s projected_s + h W_c(h rows) costs a (time x units) product per row
        instead of an (encoder output + units) x units one; keys k_s = e_s W_a; bias 0 on the input's
        positions and -inf on padding, added to the scores so padding gets weight 0.
        """
        outputs, h, c = self.encode(token_ids, lengths, run, run_pair)
        batch, time, size = outputs.shape
        rows = outputs.reshape(batch * time, size)  # one 2-D product: a stacked 3-D one is up to 1.7x slower
        keys = (rows @ self.keys_kernel).reshape(batch, time, -1)
        projected = (rows @ self._combine_parts[0]).reshape(batch, time, -1)
        inside = np.arange(token_ids.shape[1])[None, :] < np.asarray(lengths)[:, None]
        bias = np.where(inside, np.float32(0), np.float32(-np.inf))
        return h, c, (projected, keys, bias)

    def decode_step(
        self, token_ids: np.ndarray, h: np.ndarray, c: np.ndarray,
        projected: np.ndarray, keys: np.ndarray, bias: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One decoder step: (next-character probabilities, h, c, attention weights over input positions)."""
        h, c = self.decoder.step(token_ids, h, c)
        scores = np.matmul(keys, h[:, :, None])[:, :, 0]
        scores += bias
        weights = _softmax(scores)
        attentional = np.matmul(weights[:, None, :], projected)[:, 0, :]  # ctx W_c(context rows)
        attentional += matmul(h, self._combine_parts[1])
        attentional += self.combine_bias
        np.tanh(attentional, out=attentional)
        logits = matmul(attentional, self.dense_kernel)
        logits += self.dense_bias
        return _softmax(logits), h, c, weights

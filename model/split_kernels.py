"""The decoder's kernels with each step split across two cores, for a translation that runs alone.

At batch 1 a decoder step is a chain of matrix-vector products, and on one core the `large` model's
recurrent kernel (384 x 1,536 floats, 2.4 MB) does not fit in the core's L2 cache (2 MB here): every
step streams it from L3, 48 microseconds of a step's 100. Split by columns across two cores, each
core's half stays in its own L2 and the product takes 23 microseconds. These kernels split every
step's products so:

  part p of SPLIT computes, for units p*h .. (p+1)*h - 1 (h = units / SPLIT), the four gates, the
  cell and the new state; then, for the attentional units p*a .. (p+1)*a - 1 (a = A / SPLIT), the
  product with h, the context (both parts compute the same attention scores and weights) and tanh;
  then one core computes the output layer, its softmax and the next character.

Each output column is summed in the same order as in model/kernels.py, by the same helpers, so the
floats are bit for bit those of the one-core kernels (tests/test_split_kernels.py checks it). The
weights come split in advance (`split_weights`): part p's columns contiguous, in the layout the
one-core kernels use for the whole.

Two parallel regions a step, on numba's threading layer (OpenMP here; about 2 microseconds to start
one). Only a threadsafe layer will do: a server calls the kernels from several threads at once, and
numba's fallback layer (workqueue) aborts the process when two threads launch parallel work. This
module sets the layer to "threadsafe"; where neither OpenMP nor TBB loads, importing it fails and
the one-core kernels serve (model/backends.py). Whether a translation runs split is decided per
batch in backends.CompiledEngine: split only while it is the process's only translation, so that
under load every request keeps a core of its own.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange, types

from .kernels import (F1, F2, F3, I1, I2, OPTIONS, ZERO, _add_product, _add_products, _attend, _cell,
                      _bias_softmax, _flatten, _next_token, _output_rows, _tanh, lstm_rows)

SPLIT = 2  # parts (and cores) a step's products are split into

numba.config.THREADING_LAYER = "threadsafe"  # OpenMP or TBB, never workqueue (see the module doc)

# prange loops only: no other array expression becomes parallel work.
PARALLEL = dict(OPTIONS, parallel=dict(prange=True, numpy=False, setitem=False, reduction=False,
                                       comprehension=False, stencil=False, fusion=False, inplace_binop=False))

F4 = types.Array(types.float32, 4, "C")
# Split weights (split_weights): table (SPLIT, tokens, 4h), recurrent kernel (SPLIT, u, 4h), combine_h
# (SPLIT, u, a), combine_bias (SPLIT, a), and the output layer whole: dense kernel (A or u, vocab),
# dense bias (vocab,). Without attention combine_h is (SPLIT, 0, 0).
SPLIT_WEIGHTS = (F3, F3, F3, F2, F2, F1)
# Split context: projected (rows, SPLIT, input length, a), keys_t (rows, u, input length), bias (rows,
# input length).
SPLIT_CONTEXT = (F4, F3, F2)


# The context of a model without attention (kernels take arrays with no rows).
NO_CONTEXT = (np.empty((0, SPLIT, 0, 0), np.float32), np.empty((0, 0, 0), np.float32), np.empty((0, 0), np.float32))


def _gate_columns(units: int, part: int) -> np.ndarray:
    """The fused gate columns (i, f, o, g blocks of `units`) of part `part`'s units, in gate order."""
    h = units // SPLIT
    return np.concatenate([np.arange(g * units + part * h, g * units + (part + 1) * h) for g in range(4)])


def can_split(units: int, attentional_units: int) -> bool:
    return units % SPLIT == 0 and attentional_units % SPLIT == 0


def split_weights(table, kernel, combine_h, combine_bias, dense_kernel, dense_bias) -> tuple:
    """The one-core kernels' weights (kernels.WEIGHTS) in the split layout (SPLIT_WEIGHTS)."""
    units = kernel.shape[0]
    gates = [_gate_columns(units, p) for p in range(SPLIT)]
    attentional = [np.array_split(np.arange(combine_h.shape[1]), SPLIT)[p] for p in range(SPLIT)]
    contiguous = np.ascontiguousarray
    if combine_h.shape[0]:
        combine_s = contiguous(np.stack([combine_h[:, a] for a in attentional]))
        bias_s = contiguous(np.stack([combine_bias[a] for a in attentional]))
    else:
        combine_s, bias_s = np.empty((SPLIT, 0, 0), np.float32), np.empty((SPLIT, 0), np.float32)
    return (contiguous(np.stack([table[:, g] for g in gates])), contiguous(np.stack([kernel[:, g] for g in gates])),
            combine_s, bias_s, dense_kernel, dense_bias)


def split_projected(projected: np.ndarray) -> np.ndarray:
    """Context projections (rows, time, A) as (rows, SPLIT, time, a): each part's columns contiguous."""
    rows, time, width = projected.shape
    return np.ascontiguousarray(projected.reshape(rows, time, SPLIT, width // SPLIT).transpose(0, 2, 1, 3))


@njit(types.void(I1, F2, F2, *SPLIT_CONTEXT, I1, *SPLIT_WEIGHTS, F2, F2, F2, F2), **PARALLEL)
def step_rows(tokens, h, c, projected, keys_t, bias, at, table, kernel, combine_h, combine_bias, dense_kernel,
              dense_bias, probs, h_out, c_out, weights):
    """kernels.step_rows with its products split across SPLIT cores: the same outputs, bit for bit."""
    rows = tokens.shape[0]
    half = kernel.shape[2] // 4
    width = combine_h.shape[2]
    attention = combine_h.shape[1] > 0
    z = np.empty((SPLIT, rows, 4 * half), dtype=np.float32)
    top = np.zeros((SPLIT, rows, width), dtype=np.float32)
    part_weights = np.empty((SPLIT, rows, bias.shape[1]), dtype=np.float32)
    for p in prange(SPLIT):
        units = slice(p * half, (p + 1) * half)
        for r in range(rows):
            z[p, r] = table[p, tokens[r]]
        _add_products(z[p], h, kernel[p])
        for r in range(rows):
            _cell(z[p, r], c[r, units], h_out[r, units], c_out[r, units])
    if attention:
        for p in prange(SPLIT):
            _add_products(top[p], h_out, combine_h[p])
            for r in range(rows):
                att = top[p, r]
                i = at[r]
                _attend(h_out[r], keys_t[i], bias[i], projected[i, p], att, part_weights[p, r])
                for a in range(width):
                    att[a] = _tanh(att[a] + combine_bias[p, a])
        weights[:] = part_weights[0]
        whole = np.empty((rows, SPLIT * width), dtype=np.float32)
        for r in range(rows):
            for p in range(SPLIT):
                whole[r, p * width:(p + 1) * width] = top[p, r]
    else:
        whole = h_out
    _output_rows(probs, whole, dense_kernel, dense_bias)


@njit(types.Tuple((F2, F2, I1, I2, I2, F2, I1))(F2, F2, *SPLIT_CONTEXT, *SPLIT_WEIGHTS, types.int64, types.int64,
                                               types.int64, I2, I1), **PARALLEL)
def greedy(h0, c0, projected, keys_t, bias, table, kernel, combine_h, combine_bias, dense_kernel, dense_bias,
           start_id, end_id, max_steps, forced_ids, forced_lengths):
    """kernels.greedy with each step's products split across SPLIT cores: the same outputs, bit for bit."""
    batch, units = h0.shape
    half = kernel.shape[2] // 4
    width = combine_h.shape[2]
    vocab = dense_bias.shape[0]
    attention = combine_h.shape[1] > 0
    time = bias.shape[1] if attention else 0
    all_probs = np.empty((batch, max_steps, vocab), dtype=np.float32)
    all_weights = np.empty((batch, max_steps, time), dtype=np.float32)
    chosen_ids = np.zeros((batch, max_steps), dtype=np.int64)
    lengths = np.zeros(batch, dtype=np.int64)
    z = np.empty((SPLIT, 4 * half), dtype=np.float32)
    att = np.empty((SPLIT, width), dtype=np.float32)
    part_weights = np.empty((SPLIT, time), dtype=np.float32)
    whole = np.empty(SPLIT * width, dtype=np.float32)
    h = np.empty(units, dtype=np.float32)
    c = np.empty(units, dtype=np.float32)
    h_new = np.empty(units, dtype=np.float32)
    c_new = np.empty(units, dtype=np.float32)
    for r in range(batch):
        h[:] = h0[r]
        c[:] = c0[r]
        token = start_id
        for t in range(max_steps):
            for p in prange(SPLIT):
                zp = z[p]
                zp[:] = table[p, token]
                _add_product(zp, h, kernel[p])
                _cell(zp, c[p * half:(p + 1) * half], h_new[p * half:(p + 1) * half], c_new[p * half:(p + 1) * half])
            h[:] = h_new
            c[:] = c_new
            probs = all_probs[r, t]
            probs[:] = ZERO
            if attention:
                for p in prange(SPLIT):
                    ap = att[p]
                    ap[:] = ZERO
                    _add_product(ap, h, combine_h[p])
                    _attend(h, keys_t[r], bias[r], projected[r, p], ap, part_weights[p])
                    for a in range(width):
                        ap[a] = _tanh(ap[a] + combine_bias[p, a])
                all_weights[r, t] = part_weights[0]
                for p in range(SPLIT):
                    whole[p * width:(p + 1) * width] = att[p]
                _add_product(probs, whole, dense_kernel)
            else:
                _add_product(probs, h, dense_kernel)
            _bias_softmax(probs, dense_bias)
            token = _next_token(probs, t, forced_ids[r], forced_lengths[r])
            chosen_ids[r, t] = token
            lengths[r] = t + 1
            if token == end_id:
                break
    return _flatten(all_probs, all_weights, chosen_ids, lengths)


@njit(types.void(F3, F3, I1, F2, F2, F3, F2, F2, F3, F2, F2), **PARALLEL)
def lstm_pair(inputs_forward, inputs_backward, lengths, kernel_forward, kernel_backward,
              out_forward, h_forward, c_forward, out_backward, h_backward, c_backward):
    """A bidirectional encoder layer: kernels.lstm_rows forwards and backwards, side by side on two cores."""
    for direction in prange(2):
        if direction == 0:
            lstm_rows(inputs_forward, lengths, kernel_forward, False, out_forward, h_forward, c_forward)
        else:
            lstm_rows(inputs_backward, lengths, kernel_backward, True, out_backward, h_backward, c_backward)


def check() -> None:
    """Run a split step once on random weights: starts the threading layer (an error if none is
    threadsafe) and checks the split against the one-core kernel, bit for bit."""
    from . import kernels

    rng = np.random.default_rng(0)
    units, width, vocab, time, rows = 8, 4, 5, 3, 2
    weights = (rng.standard_normal((vocab, 4 * units), dtype=np.float32),
               rng.standard_normal((units, 4 * units), dtype=np.float32),
               rng.standard_normal((units, width), dtype=np.float32), rng.standard_normal(width, dtype=np.float32),
               rng.standard_normal((width, vocab), dtype=np.float32), rng.standard_normal(vocab, dtype=np.float32))
    projected = rng.standard_normal((rows, time, width), dtype=np.float32)
    context = (projected, rng.standard_normal((rows, units, time), dtype=np.float32), np.zeros((rows, time), np.float32))
    state = [rng.standard_normal((rows, units), dtype=np.float32) for _ in range(2)]
    tokens = np.arange(rows, dtype=np.int64)
    def outputs():
        return (np.empty((rows, vocab), np.float32), np.empty((rows, units), np.float32),
                np.empty((rows, units), np.float32), np.empty((rows, time), np.float32))

    whole, split = outputs(), outputs()
    at = np.arange(rows, dtype=np.int64)[::-1].copy()  # each row reads the other's context
    kernels.step_rows(tokens, *state, *context, at, *weights, *whole)
    step_rows(tokens, *state, split_projected(projected), *context[1:], at, *split_weights(*weights), *split)
    if not all(np.array_equal(a, b) for a, b in zip(whole, split)):
        raise RuntimeError("the split decoder step differs from the one-core step")

"""The engine's compiled kernels (numba): a fused decoder step, a whole greedy loop, encoder LSTM runs.

The NumPy step (model/inference.py) spends most of a batch-1 step calling NumPy: about 35 calls of
roughly a microsecond each, around 30 microseconds of matrix-vector products. Here each piece of
work is one compiled call that does all of it, with no Python in between:

  step_rows    one decoder step for every row: the LSTM cell, attention scores, their softmax, the
               context, the attentional layer, the output layer and its softmax;
  greedy       the whole greedy loop for a batch, step after step until every row has ended, with
               forced tokens for rows that have a prefix (or a target to score); it returns the
               arrays `decoding.Decoded` is made of;
  lstm_rows    an encoder LSTM over each row's characters, forwards or backwards.

Every row is computed on its own, by the same code, in a fixed order: a row's floats are the same
whichever rows share its batch, and the same in `greedy` as in `step_rows`, so a forced decoding
reproduces a free one exactly. Products are accumulated one input unit at a time
(out[j] += v[k] * m[k, j], k = 0, 1, ..., four terms per pass over out), which vectorises over j
without reassociating any sum: no `fastmath`, so nothing depends on how LLVM happens to vectorise a
loop. Attention scores, a product over only 10-50 input positions, keep 8 (or 4) positions' sums in
registers instead (`_scores`): the same order, so the same floats.

For big batches the matrix products are better done by BLAS (GEMM reuses each weight across rows):
the engine then multiplies with NumPy and calls the element-wise kernels below (`lstm_cell`,
`lstm_cell_tokens`, which also adds each row's input row, `attend_rows`, `softmax_rows`), one call
each per step instead of a dozen NumPy passes. A step kernel reads each row's context through an
index (`at`), so rows that finish leave the batch without the context being copied.

tanh. NumPy's float32 tanh is scalar code here (about 3 ns a value) and the gates need one per
value. `tanh` below is a rational approximation (Eigen's float tanh: an odd polynomial of degree 13
over an even one of degree 6, inputs clamped to +-7.9, where float32 tanh is 1 to 3e-7), built only
of multiplications, additions, a division and a clamp, so LLVM vectorises it. Its error is within a
few float32 ulps of the true tanh (tests/test_backends.py checks it against NumPy's); sigmoid is
0.5 + 0.5 tanh(x / 2) with the halving already in the weights, as in the NumPy step.

Every kernel is compiled for one signature, eagerly, when this module is imported (`cache=True`
loads it from numba's cache after the first time), and releases the GIL (`nogil=True`), so that a
server's event loop and the translator's other threads run beside it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types

# Options of every kernel: no GIL while it runs, compiled once and cached on disk, NumPy's error
# model (a division by zero gives inf, as in NumPy, instead of a Python exception and its checks).
OPTIONS = dict(nogil=True, cache=True, error_model="numpy", boundscheck=False)

F1 = types.Array(types.float32, 1, "C")
F2 = types.Array(types.float32, 2, "C")
F3 = types.Array(types.float32, 3, "C")
I1 = types.Array(types.int64, 1, "C")
I2 = types.Array(types.int64, 2, "C")

# Constants as float32, so that float32 arithmetic stays float32 (a Python float would widen it).
HALF = np.float32(0.5)
ZERO = np.float32(0.0)
ONE = np.float32(1.0)
# Eigen's generic_fast_tanh_float (no-FMA variant): clamp, then p(x) / q(x).
TANH_CLAMP = np.float32(7.90531110763549805)
A1, A3, A5, A7 = (np.float32(4.89352455891786e-03), np.float32(6.37261928875436e-04),
                  np.float32(1.48572235717979e-05), np.float32(5.12229709037114e-08))
A9, A11, A13 = np.float32(-8.60467152213735e-11), np.float32(2.00018790482477e-13), np.float32(-2.76076847742355e-16)
B0, B2, B4, B6 = (np.float32(4.89352518554385e-03), np.float32(2.26843463243900e-03),
                  np.float32(1.18534705686654e-04), np.float32(1.19825839466702e-06))

ROW_TILE = 4  # rows whose products share each weight row (4 x a 1,024-wide gate row: 16 KB of L1)

_helper = njit(nogil=True, error_model="numpy", boundscheck=False)  # compiled into the kernels that call them


@_helper
def _tanh(x):
    clamped = min(max(x, -TANH_CLAMP), TANH_CLAMP)
    x2 = clamped * clamped
    p = x2 * A13 + A11
    p = x2 * p + A9
    p = x2 * p + A7
    p = x2 * p + A5
    p = x2 * p + A3
    p = x2 * p + A1
    p = clamped * p
    q = x2 * B6 + B4
    q = x2 * q + B2
    q = x2 * q + B0
    return p / q  # near 0 that is x (1 - 1.3e-7): Eigen's branch for |x| < 4e-4 costs more than it gains


@_helper
def _tanh_inplace(values):
    for j in range(values.shape[0]):
        values[j] = _tanh(values[j])


@_helper
def _add_rows4(out, a0, r0, a1, r1, a2, r2, a3, r3):
    """out += a0 r0 + a1 r1 + a2 r2 + a3 r3, added to each out[j] one term at a time, left to right:
    the floats of four `out[j] += a * r[j]` passes, with out read and written once instead of four
    times (the loop is bound by those loads and stores: 1.3x faster on a 384 x 1,536 product here)."""
    for j in range(out.shape[0]):
        out[j] = (((out[j] + a0 * r0[j]) + a1 * r1[j]) + a2 * r2[j]) + a3 * r3[j]


@_helper
def _add_product(out, v, m):
    """out += v @ m, one row of m at a time (k = 0, 1, ...): every out[j] sums in the same order."""
    inner = m.shape[0]
    k = 0
    while k + 4 <= inner:
        _add_rows4(out, v[k], m[k], v[k + 1], m[k + 1], v[k + 2], m[k + 2], v[k + 3], m[k + 3])
        k += 4
    for k in range(k, inner):
        vk = v[k]
        row = m[k]
        for j in range(out.shape[0]):
            out[j] += vk * row[j]


@_helper
def _add_products(out, v, m):
    """out[r] += v[r] @ m for every row, as `_add_product` computes it, rows in tiles of ROW_TILE
    sharing each four rows of m while they are in the L1 cache."""
    rows = out.shape[0]
    for r0 in range(0, rows, ROW_TILE):
        r1 = min(r0 + ROW_TILE, rows)
        inner = m.shape[0]
        k = 0
        while k + 4 <= inner:
            for r in range(r0, r1):
                vr = v[r]
                _add_rows4(out[r], vr[k], m[k], vr[k + 1], m[k + 1], vr[k + 2], m[k + 2], vr[k + 3], m[k + 3])
            k += 4
        for k in range(k, inner):
            row = m[k]
            for r in range(r0, r1):
                vk = v[r, k]
                o = out[r]
                for j in range(o.shape[0]):
                    o[j] += vk * row[j]


@_helper
def _cell(z, c, h_out, c_out):
    """The LSTM cell from fused pre-activations z (gates i, f, o halved, then g; overwritten)."""
    u = c.shape[0]
    _tanh_inplace(z)
    for j in range(u):
        i = HALF + HALF * z[j]
        f = HALF + HALF * z[u + j]
        o = HALF + HALF * z[2 * u + j]
        c_new = i * z[3 * u + j] + f * c[j]
        c_out[j] = c_new
        h_out[j] = o * _tanh(c_new)


@_helper
def _softmax(x):
    """Softmax of x in place: exp(x - max) / sum."""
    n = x.shape[0]
    top = x[0]
    for j in range(1, n):
        if x[j] > top:
            top = x[j]
    total = ZERO
    for j in range(n):
        e = math.exp(x[j] - top)
        x[j] = e
        total += e
    for j in range(n):
        x[j] = x[j] / total


@_helper
def _argmax(x):
    """The first index of the largest value, as ndarray.argmax."""
    best = 0
    for j in range(1, x.shape[0]):
        if x[j] > x[best]:
            best = j
    return best


@_helper
def _bias_softmax(logits, bias):
    """softmax(logits + bias), in place: the output layer's tail after its product."""
    for v in range(logits.shape[0]):
        logits[v] += bias[v]
    _softmax(logits)


@_helper
def _next_token(probs, t, forced_ids, forced_length):
    """The token greedy decoding feeds after step t: the forced one inside a row's prefix, else the argmax."""
    if t < forced_length:
        return forced_ids[t]
    return _argmax(probs)


@_helper
def _scores8(h, keys_t, out, s):
    """out[s:s + 8] = h @ keys_t[:, s:s + 8], each summed over k = 0, 1, ... in eight registers."""
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = ZERO
    for k in range(h.shape[0]):
        x, row = h[k], keys_t[k]
        a0 = a0 + x * row[s]
        a1 = a1 + x * row[s + 1]
        a2 = a2 + x * row[s + 2]
        a3 = a3 + x * row[s + 3]
        a4 = a4 + x * row[s + 4]
        a5 = a5 + x * row[s + 5]
        a6 = a6 + x * row[s + 6]
        a7 = a7 + x * row[s + 7]
    out[s], out[s + 1], out[s + 2], out[s + 3] = a0, a1, a2, a3
    out[s + 4], out[s + 5], out[s + 6], out[s + 7] = a4, a5, a6, a7


@_helper
def _scores4(h, keys_t, out, s):
    """out[s:s + 4] = h @ keys_t[:, s:s + 4], as _scores8."""
    a0 = a1 = a2 = a3 = ZERO
    for k in range(h.shape[0]):
        x, row = h[k], keys_t[k]
        a0 = a0 + x * row[s]
        a1 = a1 + x * row[s + 1]
        a2 = a2 + x * row[s + 2]
        a3 = a3 + x * row[s + 3]
    out[s], out[s + 1], out[s + 2], out[s + 3] = a0, a1, a2, a3


@_helper
def _scores(h, keys_t, out):
    """out = h @ keys_t, each out[s] summed over k = 0, 1, ... (the floats of zeroing out and _add_product).

    An input holds only 10-50 positions, too few for a loop over them to vectorise: _add_product ran
    them one float at a time, 4x slower (a batch of 128 rows, 16 positions: 740 against 185 us). Here
    the sums for 8 (or 4) positions stay in registers while one pass reads h and keys_t once. From
    about 48 positions on, _add_product's passes are as fast (128 rows, 50 positions: 806 against 815 us)."""
    positions = out.shape[0]
    if positions >= 48:
        out[:] = ZERO
        _add_product(out, h, keys_t)
        return
    s = 0
    while s + 8 <= positions:
        _scores8(h, keys_t, out, s)
        s += 8
    if s + 4 <= positions:
        _scores4(h, keys_t, out, s)
        s += 4
    while s < positions:  # at most 3 left
        total = ZERO
        for k in range(h.shape[0]):
            total = total + h[k] * keys_t[k, s]
        out[s] = total
        s += 1


@_helper
def _attend(h, keys_t, bias, projected, att, weights):
    """att += sum_s a_s projected_s with a = softmax(h . k_s + bias); writes the weights a."""
    _scores(h, keys_t, weights)  # keys_t: (units, input length)
    for s in range(weights.shape[0]):
        weights[s] += bias[s]
    _softmax(weights)
    _add_product(att, weights, projected)


@_helper
def _step_row(token, h, c, table, kernel, projected, keys_t, bias, combine_h, combine_bias,
              dense_kernel, dense_bias, probs, h_out, c_out, weights, z, att, attention):
    """One decoder step for one row; z (4 units) and att (attentional units) are scratch space."""
    x = table[token]
    for j in range(z.shape[0]):
        z[j] = x[j]
    _add_product(z, h, kernel)
    _cell(z, c, h_out, c_out)
    if attention:
        for a in range(att.shape[0]):
            att[a] = ZERO
        _add_product(att, h_out, combine_h)
        _attend(h_out, keys_t, bias, projected, att, weights)
        for a in range(att.shape[0]):
            att[a] = _tanh(att[a] + combine_bias[a])
        top = att
    else:
        top = h_out
    for v in range(probs.shape[0]):
        probs[v] = ZERO
    _add_product(probs, top, dense_kernel)
    _bias_softmax(probs, dense_bias)


@_helper
def _flatten(all_probs, all_weights, chosen_ids, lengths):
    """`greedy`'s outputs from every row's steps (all_probs, all_weights: (batch, max_steps, ...)):
    step t's rows in one array from offsets[t], as `decoding.Decoded.from_flat` reads them."""
    batch, _, vocab = all_probs.shape
    time = all_weights.shape[2]
    steps = 0
    for r in range(batch):
        steps = max(steps, lengths[r])
    sizes = np.zeros(steps, dtype=np.int64)
    positions = np.zeros((batch, steps), dtype=np.int64)
    for r in range(batch):
        for t in range(lengths[r]):
            positions[r, t] = sizes[t]
            sizes[t] += 1
    offsets = np.zeros(steps, dtype=np.int64)
    total = 0
    for t in range(steps):
        offsets[t] = total
        total += sizes[t]
    flat_probs = np.empty((total, vocab), dtype=np.float32)
    flat_weights = np.empty((total, time), dtype=np.float32)
    tokens = np.zeros((batch, steps), dtype=np.int64)
    chosen = np.ones((batch, steps), dtype=np.float32)
    for r in range(batch):
        for t in range(lengths[r]):
            row = offsets[t] + positions[r, t]
            flat_probs[row] = all_probs[r, t]
            flat_weights[row] = all_weights[r, t]
            tokens[r, t] = chosen_ids[r, t]
            chosen[r, t] = all_probs[r, t, chosen_ids[r, t]]
    return flat_probs, flat_weights, offsets, tokens, positions, chosen, lengths


@_helper
def _output_rows(probs, top, dense_kernel, dense_bias):
    """probs[r] = softmax(top[r] @ dense_kernel + dense_bias) for every row: the output layer of a step."""
    probs[:] = ZERO
    _add_products(probs, top, dense_kernel)
    for r in range(probs.shape[0]):
        _bias_softmax(probs[r], dense_bias)


# The weights every decoder kernel takes, in this order (see backends.CompiledEngine):
# table (tokens, 4u), recurrent kernel (u, 4u), combine_h (u, A), combine_bias (A,), dense kernel
# (A or u, vocab), dense bias (vocab,). A model without attention passes combine_h of shape (0, 0).
WEIGHTS = (F2, F2, F2, F1, F2, F1)
# Per-row context: projected (rows, input length, A), keys_t (rows, u, input length), bias (rows,
# input length); without attention, arrays with no rows.
CONTEXT = (F3, F3, F2)
# A step kernel's context also says which context row each of its rows reads (`at`, int64): as rows
# finish, a batch's live rows are a subset of those `start` encoded, and indexing spares copying the
# context (2 x 3 MB for 128 rows of the large model) each time one finishes.


@njit(types.void(I1, F2, F2, *CONTEXT, I1, *WEIGHTS, F2, F2, F2, F2), **OPTIONS)
def step_rows(tokens, h, c, projected, keys_t, bias, at, table, kernel, combine_h, combine_bias, dense_kernel,
              dense_bias, probs, h_out, c_out, weights):
    """One decoder step for every row: probs, h_out, c_out, weights (attention) written; row r reads
    context row at[r].

    Each row's arithmetic is `_step_row`'s, operation for operation (the greedy loop's); only the
    products run over tiles of rows (`_add_products`), so that a weight row is read once per tile.
    """
    rows = tokens.shape[0]
    attention = combine_h.shape[0] > 0
    z = np.empty((rows, kernel.shape[1]), dtype=np.float32)
    for r in range(rows):
        z[r] = table[tokens[r]]
    _add_products(z, h, kernel)
    for r in range(rows):
        _cell(z[r], c[r], h_out[r], c_out[r])
    if attention:
        top = np.zeros((rows, combine_h.shape[1]), dtype=np.float32)
        _add_products(top, h_out, combine_h)
        for r in range(rows):
            att = top[r]
            i = at[r]
            _attend(h_out[r], keys_t[i], bias[i], projected[i], att, weights[r])
            for a in range(att.shape[0]):
                att[a] = _tanh(att[a] + combine_bias[a])
    else:
        top = h_out
    _output_rows(probs, top, dense_kernel, dense_bias)


@njit(types.Tuple((F2, F2, I1, I2, I2, F2, I1))(F2, F2, *CONTEXT, *WEIGHTS, types.int64, types.int64, types.int64,
                                               I2, I1), **OPTIONS)
def greedy(h0, c0, projected, keys_t, bias, table, kernel, combine_h, combine_bias, dense_kernel, dense_bias,
           start_id, end_id, max_steps, forced_ids, forced_lengths):
    """Greedy decoding of every row, each on its own, with `step_rows`' arithmetic.

    A row inside its forced tokens (t < forced_lengths[r]) is fed forced_ids[r, t] instead of its argmax.

    Returns, like the arrays of `decoding.Decoded` (steps = the longest row's):
        flat_probs (rows computed over all steps, vocab): step t's rows, in input order, from offsets[t];
        flat_weights (the same rows, input length): attention weights, no columns without attention;
        offsets (steps,); tokens, positions (batch, steps); chosen (batch, steps) the chosen tokens'
        probabilities, 1 past a row's length; lengths (batch,).
    """
    batch, units = h0.shape
    vocab = dense_bias.shape[0]
    attention = combine_h.shape[0] > 0
    time = bias.shape[1] if attention else 0
    all_probs = np.empty((batch, max_steps, vocab), dtype=np.float32)
    all_weights = np.empty((batch, max_steps, time), dtype=np.float32)
    chosen_ids = np.zeros((batch, max_steps), dtype=np.int64)
    lengths = np.zeros(batch, dtype=np.int64)
    z = np.empty(kernel.shape[1], dtype=np.float32)
    att = np.empty(combine_h.shape[1], dtype=np.float32)
    h = np.empty(units, dtype=np.float32)
    c = np.empty(units, dtype=np.float32)
    h_new = np.empty(units, dtype=np.float32)
    c_new = np.empty(units, dtype=np.float32)
    empty2 = np.empty((0, 0), dtype=np.float32)
    empty1 = np.empty(0, dtype=np.float32)
    for r in range(batch):
        h[:] = h0[r]
        c[:] = c0[r]
        token = start_id
        for t in range(max_steps):
            if attention:
                _step_row(token, h, c, table, kernel, projected[r], keys_t[r], bias[r], combine_h, combine_bias,
                          dense_kernel, dense_bias, all_probs[r, t], h_new, c_new, all_weights[r, t], z, att, True)
            else:
                _step_row(token, h, c, table, kernel, empty2, empty2, empty1, combine_h, combine_bias,
                          dense_kernel, dense_bias, all_probs[r, t], h_new, c_new, empty1, z, att, False)
            h[:] = h_new
            c[:] = c_new
            token = _next_token(all_probs[r, t], t, forced_ids[r], forced_lengths[r])
            chosen_ids[r, t] = token
            lengths[r] = t + 1
            if token == end_id:
                break

    return _flatten(all_probs, all_weights, chosen_ids, lengths)


@njit(types.void(F3, I1, F2, types.boolean, F3, F2, F2), **OPTIONS)
def lstm_rows(inputs, lengths, kernel, backwards, out, h_out, c_out):
    """An LSTM over each row's first lengths[r] input rows, each row on its own.

    Args:
        inputs: (time, batch, 4u) each position's input contribution with the bias, engine layout.
        lengths: (batch,) positions to read (at most `time`).
        kernel: (u, 4u) the recurrent kernel, engine layout.
        backwards: read positions len-1 .. 0 (Keras' masked go_backwards).
        out: (batch, time, u) the output at every position (a row past its length: its last state
            forwards, zero backwards), or an array with no rows: outputs not wanted.
        h_out, c_out: (batch, u) the final states.
    """
    time, batch, width = inputs.shape
    units = kernel.shape[0]
    outputs = out.shape[0] > 0
    z = np.empty(width, dtype=np.float32)
    for r in range(batch):
        h, c = h_out[r], c_out[r]
        h[:] = ZERO
        c[:] = ZERO
        n = min(lengths[r], time)
        for i in range(n):
            t = n - 1 - i if backwards else i
            x = inputs[t, r]
            for j in range(width):
                z[j] = x[j]
            if i > 0:  # the first step starts from zero states: h U = 0
                _add_product(z, h, kernel)
            _cell(z, c, h, c)
            if outputs:
                out[r, t] = h
        if outputs:
            for t in range(n, time):
                for j in range(units):
                    out[r, t, j] = ZERO if backwards else h[j]


@njit(types.void(F2, F2, F2, F2), **OPTIONS)
def lstm_cell(z, c, h_out, c_out):
    """The LSTM cell for every row from its pre-activations z = x + h U (engine layout; overwritten)."""
    for r in range(z.shape[0]):
        _cell(z[r], c[r], h_out[r], c_out[r])


@njit(types.void(F2, F2, I1, F2, F2, F2), **OPTIONS)
def lstm_cell_tokens(z, table, tokens, c, h_out, c_out):
    """lstm_cell after a BLAS product z = h U: adds each row's input row table[tokens[r]] first.

    The same floats as z += table[tokens] then lstm_cell, without the gathered (rows, 4u) copy
    (128 rows of the large model: a 786 kB array a step)."""
    for r in range(z.shape[0]):
        row, x = z[r], table[tokens[r]]
        for j in range(row.shape[0]):
            row[j] += x[j]
        _cell(row, c[r], h_out[r], c_out[r])


@njit(types.void(F2, *CONTEXT, I1, F2, F1, F2), **OPTIONS)
def attend_rows(h, projected, keys_t, bias, at, pre, combine_bias, weights):
    """For every row after a BLAS product pre = h W_c(h rows): pre = tanh(pre + context W_c + b_c); writes
    weights. Row r reads context row at[r]."""
    for r in range(h.shape[0]):
        row, i = pre[r], at[r]
        _attend(h[r], keys_t[i], bias[i], projected[i], row, weights[r])
        for a in range(row.shape[0]):
            row[a] = _tanh(row[a] + combine_bias[a])


@njit(types.void(F2, F1), **OPTIONS)
def softmax_rows(logits, bias):
    """For every row after a BLAS product logits = x V: softmax(logits + bias), in place."""
    for r in range(logits.shape[0]):
        _bias_softmax(logits[r], bias)


@njit(types.void(F1, F1), **OPTIONS)
def tanh(x, out):
    """out = tanh(x) with the kernels' approximation (for tests and the benchmark)."""
    for j in range(x.shape[0]):
        out[j] = _tanh(x[j])

"""The compiled engine (model/kernels.py, model/backends.py) against the NumPy reference, and how one is chosen.

Both engines run on checkpoints with seeded random weights (tests/random_models.py) of every kind
and through every method: greedy, beam search (summed and length-normalised scores), sampling,
forced scoring and a French prefix. They compute the same floats up to float32 rounding, so
characters must agree except after a near-tie (conftest.compare_steps), probabilities and attention
within PROB_ATOL. Batches of 1, 5 and 24 rows take each of the compiled engine's paths: the whole
greedy loop in one call, one compiled call per step, and BLAS products with compiled element-wise
kernels (backends.GEMM_FROM rows and up).

Within the compiled engine, arithmetic is per row and fixed, so its greedy loop and the step loop of
model/decoding.py over its step give identical arrays, bit for bit.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest

from model import backends, checkpoint, decoding
from model.translator import DecodeOptions
from tests.conftest import NEAR_TIE, PROB_ATOL, REPO, compare_steps
from tests.random_models import make_random_checkpoint, random_sentences

KINDS = ["recipe", "fast", "attention", "large"]
TEXTS = random_sentences(24, seed=9)
BATCHES = [1, 5, 24]  # the compiled greedy loop, one compiled call per step, BLAS + element-wise kernels
assert BATCHES[1] < backends.GEMM_FROM <= BATCHES[2]


@pytest.fixture(scope="module")
def kernels():
    if not backends.wait():
        pytest.skip(f"the compiled engine is off ({backends.ENV}={os.environ.get(backends.ENV)}) or unavailable")
    return backends._kernels


@pytest.fixture(scope="module", params=KINDS)
def translators(request, tmp_path_factory, kernels):
    """(NumPy, compiled) translators over one random checkpoint of each kind."""
    loaded = checkpoint.load(make_random_checkpoint(tmp_path_factory.mktemp(request.param), request.param, seed=6))
    return loaded.with_backend("numpy"), loaded.with_backend("numba")


@pytest.fixture(scope="module", params=["attention", "large"])
def attention_translators(request, tmp_path_factory, kernels):
    """`translators` for the kinds with attention, whose steps read a per-row context."""
    loaded = checkpoint.load(make_random_checkpoint(tmp_path_factory.mktemp(request.param), request.param, seed=6))
    return loaded.with_backend("numpy"), loaded.with_backend("numba")


def _same_translation(reference, compiled, attention: bool) -> bool:
    """Characters, probabilities and top-k as compare_steps checks them; attention within PROB_ATOL
    on the steps both took. Whether the two parted at a near-tie."""
    parted = compare_steps(reference.steps, compiled.steps)
    if attention:
        for ours, theirs in list(zip(reference.steps, compiled.steps))[:parted]:
            np.testing.assert_allclose(ours.attention, theirs.attention, atol=PROB_ATOL, rtol=0)
    else:
        assert all(s.attention is None for s in compiled.steps)
    if parted is None:
        assert compiled.score == pytest.approx(reference.score, abs=1e-4)
    return parted is not None


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("options", [DecodeOptions(top_k=3), DecodeOptions(method="sample", temperature=1.2, seed=4, top_k=3)],
                         ids=["greedy", "sample"])
def test_greedy_and_sampling_agree(translators, options, batch):
    numpy_engine, compiled = translators
    texts = TEXTS[:batch]
    parted = sum(_same_translation(a, b, numpy_engine.has_attention)
                 for a, b in zip(numpy_engine.translate_batch(texts, options), compiled.translate_batch(texts, options)))
    assert parted <= max(1, batch // 10)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("length_normalize", [False, True], ids=["sum", "normalized"])
def test_beam_search_agrees(translators, length_normalize, batch):
    numpy_engine, compiled = translators
    options = DecodeOptions(method="beam", beam_size=3, length_normalize=length_normalize, top_k=3)
    texts = TEXTS[:batch]
    differ = 0
    for a, b in zip(numpy_engine.translate_batch(texts, options), compiled.translate_batch(texts, options)):
        if [n["translation"] for n in a.nbest] != [n["translation"] for n in b.nbest]:
            differ += 1  # a near-tie among candidates, somewhere in the search
            continue
        np.testing.assert_allclose([n["score"] for n in b.nbest], [n["score"] for n in a.nbest], atol=1e-4)
        _same_translation(a, b, numpy_engine.has_attention)
    assert differ <= max(1, batch // 10)


@pytest.mark.parametrize("batch", BATCHES)
def test_forced_scoring_agrees(translators, batch):
    numpy_engine, compiled = translators
    greedy = numpy_engine.translate_batch(TEXTS[:batch], DecodeOptions(top_k=2))
    # The model's own output and a sentence it would not write: forced either way, never parted.
    pairs = [(text, french) for text, result in zip(TEXTS, greedy) for french in (result.translation, "Va !")]
    options = DecodeOptions(top_k=3)
    for a, b in zip(numpy_engine.score_batch(pairs, options), compiled.score_batch(pairs, options)):
        assert not _same_translation(a, b, numpy_engine.has_attention)
        assert b.normalized_score == pytest.approx(a.normalized_score, abs=1e-5)
        assert [d["step"] for d in b.disagreements] == [d["step"] for d in a.disagreements] or any(
            s.top[0][1] - s.top[1][1] < NEAR_TIE for s in a.steps)


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("method", ["greedy", "beam", "sample"])
def test_prefixes_agree(translators, method, batch):
    numpy_engine, compiled = translators
    texts = TEXTS[:batch]
    prefixes = ["", "Je ", "Va", "T'"] * (batch // 4 + 1)
    options = DecodeOptions(method=method, beam_size=3, temperature=0.9, seed=1, top_k=3)
    parted = 0
    for prefix, a, b in zip(prefixes, numpy_engine.translate_batch(texts, options, prefixes[:batch]),
                            compiled.translate_batch(texts, options, prefixes[:batch])):
        assert b.translation.startswith(prefix) and [s.given for s in b.steps][: len(prefix)] == [True] * len(prefix)
        parted += _same_translation(a, b, numpy_engine.has_attention) if method != "beam" else (a.translation != b.translation)
    assert parted <= max(1, batch // 10)


# --- the engines' arrays ----------------------------------------------------------------------------


def _engines(translators):
    numpy_engine, compiled = translators
    return numpy_engine, numpy_engine.engine, compiled.engine


@pytest.mark.parametrize("rows", [1, 3, backends.GEMM_FROM - 1, backends.GEMM_FROM, 20])
def test_compiled_start_and_step_equal_the_numpy_ones(translators, rows):
    """Encoder states, context and teacher-forced steps (random tokens, 12 steps) agree within PROB_ATOL."""
    translator, reference, compiled = _engines(translators)
    ids, lengths = translator._encoder_batch([translator.prepare(t) for t in TEXTS[:rows]])
    with reference.threads:
        h, c, context = reference.start(ids, lengths)
        h2, c2, context2 = compiled.start(ids, lengths)
        np.testing.assert_allclose(h2, h, atol=PROB_ATOL, rtol=0)
        np.testing.assert_allclose(c2, c, atol=PROB_ATOL, rtol=0)
        if context:  # the compiled engine keeps the keys laid out by unit
            np.testing.assert_allclose(context2[0], context[0], atol=PROB_ATOL, rtol=0)
            np.testing.assert_allclose(context2[1], context[1].transpose(0, 2, 1), atol=PROB_ATOL, rtol=0)
            np.testing.assert_array_equal(context2[2], context[2])
        rng = np.random.default_rng(rows)
        tokens = np.full(rows, translator.vocab.start_index)
        for _ in range(12):
            want, got = reference.decode_step(tokens, h, c, *context), compiled.decode_step(tokens, h2, c2, *context2)
            assert len(got) == len(want) == (4 if compiled.has_attention else 3)
            for a, b in zip(want, got):
                assert b.dtype == np.float32 and b.shape == a.shape
                np.testing.assert_allclose(b, a, atol=PROB_ATOL, rtol=0)
            _, h, c, *_ = want
            _, h2, c2, *_ = got
            tokens = rng.integers(0, translator.vocab.num_decoder_tokens, rows)


@pytest.mark.parametrize("rows", [3, backends.GEMM_FROM + 2])
def test_a_step_that_indexes_the_context_equals_one_on_the_gathered_context(attention_translators, rows):
    """decode_step(..., rows=idx) reads context row idx[r] for row r: bit for bit the step on the
    context gathered by idx, on the per-row kernel (3 rows) and on the BLAS path, with rows out of
    order and repeated (as beams of one sentence share it)."""
    translator, _, compiled = _engines(attention_translators)
    assert decoding.indexes_context(compiled.decode_step)
    sentences = rows + 3
    ids, lengths = translator._encoder_batch([translator.prepare(t) for t in TEXTS[:sentences]])
    with compiled.threads:
        h, c, context = compiled.start(ids, lengths)
        idx = np.random.default_rng(rows).integers(0, sentences, rows)
        idx[:2] = [sentences - 1, sentences - 1]
        tokens = np.arange(rows) % translator.vocab.num_decoder_tokens
        state = h[idx], c[idx]
        indexed = compiled.decode_step(tokens, *state, *context, rows=idx)
        gathered = compiled.decode_step(tokens, *state, *(a[idx] for a in context[:3]))
    for a, b in zip(gathered, indexed):
        np.testing.assert_array_equal(b, a)
    for wrong in ([sentences] * rows, [-1] * rows, list(range(rows - 1))):  # past the end, negative, too few
        with pytest.raises(IndexError, match=f"each of the step's {rows} rows a context row in 0..{sentences - 1}"):
            compiled.decode_step(tokens, *state, *context, rows=np.array(wrong))


def _assert_same_decoded(a: decoding.Decoded, b: decoding.Decoded):
    for name in ("tokens", "positions", "lengths", "probs", "scores"):
        np.testing.assert_array_equal(getattr(b, name), getattr(a, name), err_msg=name)
        assert getattr(b, name).dtype == getattr(a, name).dtype, name
    assert (a.given is None) == (b.given is None)
    if a.given is not None:
        np.testing.assert_array_equal(b.given, a.given)
    assert len(a.step_probs) == len(b.step_probs)
    for t, (x, y) in enumerate(zip(a.step_probs, b.step_probs)):
        np.testing.assert_array_equal(y, x, err_msg=f"step {t}")
    for x, y in zip(a.step_attention, b.step_attention):
        assert (x is None) == (y is None)
        if x is not None:
            np.testing.assert_array_equal(y, x)
    for i in range(len(a.lengths)):
        np.testing.assert_array_equal(b.full_probs(i), a.full_probs(i))


@pytest.mark.parametrize("batch", [1, backends.GEMM_FROM - 1])
def test_the_compiled_greedy_loop_equals_the_step_loop_bit_for_bit(translators, batch):
    """One compiled call for the whole loop, and decoding.run_greedy over the compiled step: the same
    arrays exactly, with and without prefixes; run_forced too. So scoring reproduces greedy's floats."""
    translator, _, compiled = _engines(translators)
    vocab = translator.vocab
    ids, lengths = translator._encoder_batch([translator.prepare(t) for t in TEXTS[:batch]])
    with compiled.threads:
        h, c, context = compiled.start(ids, lengths)
        common = dict(h=h, c=c, start_id=vocab.start_index, end_id=vocab.end_index,
                      max_steps=vocab.max_decoder_seq_length + 1, context=context)
        looped = compiled.run_greedy(**common)
        stepped = decoding.run_greedy(compiled.decode_step, **common)
        _assert_same_decoded(stepped, looped)
        prefixes = [looped.token_list(i)[: i % 4] for i in range(batch)]
        _assert_same_decoded(decoding.run_greedy(compiled.decode_step, **common, prefixes=prefixes),
                             compiled.run_greedy(**common, prefixes=prefixes))
        del common["max_steps"]
        targets = [looped.token_list(i)[:-1] for i in range(batch)]  # greedy's output, END forced after it
        forced = decoding.run_forced(compiled.decode_step, **common, targets=targets)
    ended = [i for i in range(batch) if looped.token_list(i)[-1] == vocab.end_index]
    for i in ended:
        np.testing.assert_array_equal(forced.full_probs(i), looped.full_probs(i))
        assert forced.scores[i] == looped.scores[i]


# --- the kernels themselves ---------------------------------------------------------------------------


def test_fast_tanh_equals_numpys_to_float32_rounding(kernels):
    """The kernels' rational tanh against NumPy's float32 tanh and the float64 truth, over every scale."""
    grid = np.linspace(-12, 12, 480_001, dtype=np.float32)
    scales = np.float32(10.0) ** np.arange(-40, 3, 0.05, dtype=np.float32)
    x = np.concatenate([grid, scales, -scales, [0.0, np.float32(1e4), np.float32(-1e30), np.float32(3e38)]]).astype(np.float32)
    got = np.empty_like(x)
    kernels.tanh(x, got)
    truth = np.tanh(x.astype(np.float64))
    assert np.abs(got - np.tanh(x)).max() <= 4e-7  # NumPy's own error is up to 6e-8 here
    assert np.abs(got - truth).max() <= 4e-7  # a few float32 ulps of 1: 6e-8 each
    # Near 0, relative; below 1e-35 the numerator x * 0.0049 goes subnormal and loses digits (harmless).
    small = (np.abs(x) < 0.5) & (np.abs(x) >= 1e-35)
    assert (np.abs(got[small] - truth[small]) <= 1e-6 * np.abs(truth[small])).all()  # relative: a few ulps
    assert np.all(np.abs(got) <= 1.0) and np.all(np.sign(got) == np.sign(x))


@pytest.mark.parametrize("positions", [1, 3, 4, 7, 8, 12, 15, 16, 17, 23, 31, 47, 48, 50, 80])
def test_attention_scores_are_sums_in_order_for_any_input_length(kernels, positions):
    """kernels._scores sums h[k] keys[k, s] over k = 0, 1, ... in registers, 8 and 4 positions at a
    time: every position count (blocks, remainders, the long-input path) gives the float32 sums of a
    plain loop over k, bit for bit."""
    import numba

    scores = numba.njit(lambda h, keys_t, out: kernels._scores(h, keys_t, out))
    rng = np.random.default_rng(positions)
    h = rng.standard_normal(37, dtype=np.float32)
    keys_t = rng.standard_normal((37, positions), dtype=np.float32)
    got = np.full(positions, np.nan, np.float32)
    scores(h, keys_t, got)
    expected = np.zeros(positions, np.float32)
    for k in range(h.shape[0]):
        expected = expected + h[k] * keys_t[k]  # float32 product, then float32 sum: the kernels' order
    np.testing.assert_array_equal(got, expected)


def test_the_cell_that_adds_the_input_rows_equals_adding_them_first(kernels):
    """lstm_cell_tokens (the batched step's cell, which reads each row's input row itself) gives the
    floats of gathering table[tokens] into z and running lstm_cell, bit for bit."""
    rng = np.random.default_rng(3)
    rows, units, vocab = 19, 6, 11
    table = rng.standard_normal((vocab, 4 * units), dtype=np.float32)
    tokens = rng.integers(0, vocab, rows).astype(np.int64)
    z = rng.standard_normal((rows, 4 * units), dtype=np.float32)
    c = rng.standard_normal((rows, units), dtype=np.float32)
    gathered = [np.empty((rows, units), np.float32) for _ in range(2)]
    kernels.lstm_cell(z + table[tokens], c, *gathered)
    inside = [np.empty((rows, units), np.float32) for _ in range(2)]
    kernels.lstm_cell_tokens(z.copy(), table, tokens, c, *inside)
    for expected, got in zip(gathered, inside):
        np.testing.assert_array_equal(got, expected)


def test_every_kernel_is_compiled_once_cached_and_releases_the_gil(kernels):
    from numba.core.registry import CPUDispatcher

    dispatchers = {name: f for name, f in vars(kernels).items() if isinstance(f, CPUDispatcher) and not name.startswith("_")}
    assert {"step_rows", "greedy", "lstm_rows", "lstm_cell", "lstm_cell_tokens", "attend_rows", "softmax_rows", "tanh"} <= set(dispatchers)
    for name, kernel in dispatchers.items():
        assert kernel.targetoptions.get("nogil") is True, name
        assert len(kernel.signatures) == 1 and not kernel._can_compile, f"{name} may compile at a request"
        assert type(kernel._cache).__name__ == "FunctionCache", f"{name} is not cached on disk"


# --- choosing the backend -----------------------------------------------------------------------------


def _run(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env})


@pytest.fixture(scope="module")
def fast_dir(tmp_path_factory):
    return make_random_checkpoint(tmp_path_factory.mktemp("fast"), "fast", seed=1)


def test_the_environment_variable_forces_the_numpy_engine(fast_dir):
    done = _run(f"import sys; from model import checkpoint; t = checkpoint.load({str(fast_dir)!r}); "
                "r = t.translate('Go.'); print(t.backend, 'numba' in sys.modules, bool(r.steps))", CL_S2S_ENGINE="numpy")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["numpy", "False", "True"]


def test_numba_requested_serves_the_first_request_compiled(fast_dir):
    done = _run(f"from model import checkpoint, backends; t = checkpoint.load({str(fast_dir)!r}); "
                "t.translate('Go.'); print(t.backend, t.engine.backend, backends.status()['backend'])",
                CL_S2S_ENGINE="numba")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["numba", "numba", "numba"]


def test_auto_serves_numpy_until_the_kernels_are_loaded_then_numba(fast_dir, monkeypatch):
    """By default the kernels load in the background; a translator serves from NumPy meanwhile."""
    if os.environ.get(backends.ENV) == "numpy":
        pytest.skip(f"{backends.ENV}=numpy: numba is never imported")
    assert backends.wait(), f"numba is a requirement, yet the compiled engine is unavailable: {backends.status()}"
    monkeypatch.delenv(backends.ENV)  # the default, auto
    translator = checkpoint.load(fast_dir)
    assert translator.backend == "numba" and translator.engine.backend == "numba"
    assert backends.status()["description"] == "compiled kernels (numba)"
    monkeypatch.setattr(backends, "_kernels", None)  # as while they load
    assert translator.backend == "numpy" and translator.engine.backend == "numpy"
    assert translator.translate("Go.").translation == translator.with_backend("numpy").translate("Go.").translation


def test_an_unknown_engine_name_is_refused_with_the_choices(monkeypatch, fast_dir):
    monkeypatch.setenv(backends.ENV, "fortran")
    with pytest.raises(ValueError, match=r"CL_S2S_ENGINE='fortran': expected one of auto, numba, numpy"):
        checkpoint.load(fast_dir).translate("Go.")
    monkeypatch.setenv(backends.ENV, " NumPy ")
    assert backends.requested() == "numpy"


def test_the_cache_moves_to_a_user_directory_when_the_package_is_read_only(monkeypatch, tmp_path):
    package, home = tmp_path / "site-packages" / "model", tmp_path / "home-cache"
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    assert backends.cache_dir(package) is None  # writable: numba's own place, beside the kernels
    read_only = {package / "__pycache__"}
    writable = backends._writable
    monkeypatch.setattr(backends, "_writable", lambda directory: directory not in read_only and writable(directory))
    assert backends.cache_dir(package) == str(home / "cl_s2s" / "numba")
    read_only.add(home / "cl_s2s" / "numba")
    assert backends.cache_dir(package) == str(tmp_path / "tmp" / "cl_s2s" / "numba")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "chosen"))
    assert backends.cache_dir(package) is None  # the user's choice stands where numba can write to it
    read_only.add(tmp_path / "chosen")
    assert backends.cache_dir(package) == str(tmp_path / "tmp" / "cl_s2s" / "numba")


def test_auto_in_a_fresh_process_translates_whichever_engine_serves(fast_dir):
    done = _run(f"from model import checkpoint, backends; t = checkpoint.load({str(fast_dir)!r}); "
                "print(t.backend, bool(t.translate('Go.').steps), backends.requested())", CL_S2S_ENGINE="")
    assert done.returncode == 0, done.stderr
    backend, translated, requested = done.stdout.split()
    assert backend in ("numba", "numpy") and translated == "True" and requested == "auto"


def test_the_engine_command_compiles_and_says_what_serves():
    import json

    done = subprocess.run([sys.executable, "-m", "model", "engine"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    want = "numpy" if backends.requested() == "numpy" else "numba"
    assert report["backend"] == want and report["requested"] == backends.requested() and report["load_s"] >= 0
    assert report["compiled_ready"] == (want == "numba") and report["error"] is None

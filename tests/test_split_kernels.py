"""The decoder split across two cores (model/split_kernels.py) against the one-core kernels, and when it runs.

A split step computes each output column with the same helpers, in the same order, as the one-core
kernels, so translations must be identical bit for bit: characters, probabilities, attention and
scores, for every architecture (random seeded weights, tests/random_models.py) and every method.
Whether it runs is decided per batch (backends.CompiledEngine): small batches, while no other batch
runs in the process, for a model whose decoder weights outgrow a core's L2 cache. The bundled
models are far smaller than a machine's L2 in these random versions, so the tests lower the
threshold (backends.l2_cache_bytes) to 0 for the split engine they build.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from model import backends, checkpoint
from model import translator as translator_module
from model.translator import DecodeOptions
from tests.random_models import make_random_checkpoint, random_sentences

KINDS = ["recipe", "fast", "attention", "large"]
TEXTS = random_sentences(6, seed=21)
BIG = random_sentences(backends.GEMM_FROM + 4, seed=22)  # starts on BLAS products, ends below GEMM_FROM rows
METHODS = {
    "greedy": DecodeOptions(top_k=3),
    "beam": DecodeOptions(method="beam", beam_size=3, top_k=3),
    "beam_normalized": DecodeOptions(method="beam", beam_size=4, length_normalize=True, top_k=3),
    "sample": DecodeOptions(method="sample", temperature=1.3, seed=8, top_k=3),
}


@pytest.fixture(scope="module")
def split_kernels():
    if not backends.wait():
        pytest.skip(f"the compiled engine is off ({backends.ENV}) or unavailable")
    if backends._split_kernels is None:
        pytest.skip(f"the split kernels are unavailable here: {backends.status()['split_error']}")
    return backends._split_kernels


def _engines(kind: str, directory, split_kernels) -> tuple:
    translator = checkpoint.load(make_random_checkpoint(directory, kind, seed=3))
    translator = translator.with_backend("numba")
    one_core = backends.CompiledEngine(translator.weights, backends._kernels, None)
    patch = pytest.MonkeyPatch()
    patch.setattr(backends, "l2_cache_bytes", lambda: 0)  # every model "outgrows" L2: split where alone
    split = backends.CompiledEngine(translator.weights, backends._kernels, split_kernels)
    patch.undo()
    assert split.splits_steps and not one_core.splits_steps
    return translator, one_core, split


@pytest.fixture(scope="module", params=KINDS)
def engines(request, tmp_path_factory, split_kernels):
    """(translator, its one-core engine, the same weights' engine with split steps)."""
    return _engines(request.param, tmp_path_factory.mktemp(request.param), split_kernels)


@pytest.fixture(scope="module", params=["attention", "large"])
def bidirectional_engines(request, tmp_path_factory, split_kernels):
    """`engines` for the kinds whose encoder reads both ways."""
    return _engines(request.param, tmp_path_factory.mktemp(request.param), split_kernels)


def _translate(translator, engine, texts, options):
    translator._engines["numba"] = engine  # the engine this translator runs its batches on
    return translator.translate_batch(texts, options)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("batch", [1, 2])
def test_split_translations_equal_one_core_translations_bit_for_bit(engines, method, batch):
    translator, one_core, split = engines
    options = METHODS[method]
    for begin in range(0, len(TEXTS), batch):
        texts = TEXTS[begin: begin + batch]
        want = _translate(translator, one_core, texts, options)
        got = _translate(translator, split, texts, options)
        for a, b in zip(want, got):
            assert b.translation == a.translation
            assert b.score == a.score
            for x, y in zip(a.steps, b.steps):
                assert (y.char, y.prob, y.top) == (x.char, x.prob, x.top)
                assert y.attention == x.attention  # lists of floats: None for models without attention


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_a_batch_that_starts_big_decodes_as_on_one_core(engines, method):
    """Rows leave a batch as they finish; a batch that started with BLAS products keeps one core."""
    translator, one_core, split = engines
    want = [(t.translation, t.score) for t in _translate(translator, one_core, BIG, METHODS[method])]
    assert [(t.translation, t.score) for t in _translate(translator, split, BIG, METHODS[method])] == want


def test_forced_scoring_and_prefixes_are_identical_on_split_steps(engines):
    translator, one_core, split = engines
    french = [t.translation for t in _translate(translator, one_core, TEXTS, METHODS["greedy"])]
    runs = {}
    for name, engine in (("one_core", one_core), ("split", split)):
        translator._engines["numba"] = engine
        scored = translator.score_batch(list(zip(TEXTS, french)))
        prefixed = [translator.translate(text, prefix=target[:2]) for text, target in zip(TEXTS, french)]
        runs[name] = [[(s.char, s.prob, s.given, s.attention) for s in t.steps] + [t.score]
                      for t in [*scored, *prefixed]]
    assert runs["split"] == runs["one_core"]
    assert any(step[2] for steps in runs["split"] for step in steps[:-1])  # the prefixes were given


def test_a_batch_splits_only_while_no_other_batch_runs(engines):
    _, _, split = engines
    translator = engines[0]
    ids, lengths = translator._encoder_batch([translator.prepare(t) for t in TEXTS[:1]])
    with backends.translating:
        _, _, context = split.start(ids, lengths)
        assert split._splits(1, context) and split._two_cores(1)  # the encoder's directions side by side too
        assert not split._splits(backends.GEMM_FROM, context)  # big batches: BLAS products instead
        assert not split._two_cores(backends.GEMM_FROM)
        with backends.translating:  # a second batch, as a server's second request
            assert not split._splits(1, context) and not split._two_cores(1)
        assert split._splits(1, context)
    assert backends.translating.running == 0


def test_a_lone_small_batch_encodes_its_two_directions_on_the_pair_kernel(bidirectional_engines, split_kernels,
                                                                          monkeypatch):
    """A translation alone in the process, of a model with a bidirectional encoder, runs every encoder
    layer's two directions side by side (split_kernels.lstm_pair, counted by a wrapper that calls it),
    and its states are the one-direction-at-a-time kernels' bit for bit."""
    translator, one_core, split = bidirectional_engines
    weights = translator.weights
    assert weights.encoder_backward is not None
    calls = []
    pair_kernel = split_kernels.lstm_pair
    monkeypatch.setattr(split_kernels, "lstm_pair", lambda *args: calls.append(1) or pair_kernel(*args))
    got = _translate(translator, split, TEXTS[:1], METHODS["greedy"])[0]
    assert len(calls) == 1 + len(weights.encoder_stack)
    want = _translate(translator, one_core, TEXTS[:1], METHODS["greedy"])[0]
    assert len(calls) == 1 + len(weights.encoder_stack)  # the one-core engine never runs it
    assert (got.translation, got.score) == (want.translation, want.score)
    ids, lengths = translator._encoder_batch([translator.prepare(t) for t in TEXTS[:2]])
    with backends.translating:
        pair = split._run_pair(weights.encoder_forward, weights.encoder_backward, ids, lengths, None)
        apart = one_core._run_pair(weights.encoder_forward, weights.encoder_backward, ids, lengths, None)
    for a, b in zip(apart, pair):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(y, x)


def test_the_split_kernels_are_compiled_once_cached_and_release_the_gil(split_kernels):
    from numba.core.registry import CPUDispatcher

    dispatchers = {n: f for n, f in vars(split_kernels).items() if isinstance(f, CPUDispatcher)
                   and f.py_func.__module__ == split_kernels.__name__}  # not the one-core kernels it calls
    assert {"step_rows", "greedy", "lstm_pair"} <= set(dispatchers)
    for name, kernel in dispatchers.items():
        assert kernel.targetoptions.get("nogil") is True, name
        assert "parallel" in kernel.targetoptions, name  # its options dict may read back empty
        assert len(kernel.signatures) == 1 and not kernel._can_compile, f"{name} may compile at a request"
        assert type(kernel._cache).__name__ == "FunctionCache", f"{name} is not cached on disk"
    import numba

    assert numba.threading_layer() in ("omp", "tbb")  # never workqueue: a server calls from many threads


def test_two_threads_translating_at_once_get_one_core_results(engines):
    """Two requests at once (a server's threads): both run, on one core each, with the same output."""
    translator, one_core, split = engines
    want = [t.translation for t in _translate(translator, one_core, TEXTS, METHODS["greedy"])]
    translator._engines["numba"] = split
    results: dict[int, list[str]] = {}

    def run(k):
        results[k] = [translator.translate(t).translation for t in TEXTS]

    threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results[0] == results[1] == want


def test_l2_cache_size_is_read_from_sysfs(tmp_path):
    for index, (level, size) in enumerate([("1", "48K"), ("2", "2048K"), ("3", "105M")]):
        directory = tmp_path / f"index{index}"
        directory.mkdir()
        (directory / "level").write_text(level + "\n")
        (directory / "size").write_text(size + "\n")
    assert backends.l2_cache_bytes(tmp_path) == 2048 * 1024
    assert backends.l2_cache_bytes(tmp_path / "missing") == backends.DEFAULT_L2_BYTES


def test_slices_of_a_batch_split_across_threads_never_take_the_second_core(engines, monkeypatch):
    """OpenMP gives every calling thread a team of its own, and two teams on two cores made every later
    lone translation 3.5x slower (backends.Translating): a slice never calls the two-core kernels, even
    when it is the last one running, and the whole batch's results are still the one-core ones."""
    translator, one_core, split = engines
    monkeypatch.setattr(translator_module, "PARALLEL_THREADS", 2)
    monkeypatch.setattr(translator_module, "PARALLEL_MIN_ROWS", 2)
    monkeypatch.setattr(translator_module, "_pool", None)
    callers = []
    for name in ("step_rows", "greedy"):
        kernel = getattr(split.split, name)
        monkeypatch.setattr(split.split, name, lambda *a, kernel=kernel: callers.append(threading.current_thread().name)
                            or kernel(*a))
    texts = TEXTS * 3  # long enough that one slice finishes while the other still runs
    for options in METHODS.values():
        ours = _translate(translator, split, texts, options)
        theirs = _translate(translator, one_core, texts, options)
        assert [t.translation for t in ours] == [t.translation for t in theirs]
    assert callers == []
    with backends.translating.slice(), backends.translating:
        assert not backends.translating.alone()
    with backends.translating:
        assert backends.translating.alone()
    _translate(translator, split, TEXTS[:1], METHODS["greedy"])  # a lone sentence still splits
    assert callers and set(callers) == {threading.current_thread().name}

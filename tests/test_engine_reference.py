"""The fast engine (model/inference.py, model/decoding.py, model/translator.py) equals a plain one.

The plain reference below is the model written out the slow, obvious way: one sentence at a time,
one step at a time, in float64, with the Keras gate order and sigmoid = 1 / (1 + exp(-x)), the
attention as a loop over input positions, and greedy, beam search and sampling as loops over
Python lists. It shares nothing with the engine except the weight arrays and the vocabulary.

Both run on checkpoints with seeded random weights (tests/random_models.py) of every kind, so the
comparison means the same on every machine. Probabilities must agree to PROB_TOLERANCE (float32
against float64). Tokens must agree exactly, except where the reference itself saw a near-tie: two
candidates closer than TIE_MARGIN (probability for greedy and sampling draws, log-probability for
beam search), where float32 rounding may legitimately pick the other one. Such rows are counted
and must stay rare.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import threading

from model import checkpoint, decoding, translator as translator_module
from model.inference import AttentionWeights
from model.translator import DecodeOptions

from .random_models import SENTENCES, make_random_checkpoint

PROB_TOLERANCE = 2e-5
TIE_MARGIN = 1e-4
KINDS = ["recipe", "fast", "attention", "large"]


def _texts() -> list[str]:
    # The hand-built sentences plus longer ones, some past max_encoder_seq_length (12).
    rng = np.random.default_rng(7)
    words = ["Go", "Hi", "Tom", "Wait", "I", "won", "like", "it", "be", "kind", "away", "Run", "Who"]
    extra = [" ".join(rng.choice(words, size=int(rng.integers(1, 5)))) + str(rng.choice([".", "!", "?"]))
             for _ in range(22)]
    return SENTENCES + extra


@pytest.fixture(scope="module", params=KINDS)
def translator(request, tmp_path_factory):
    directory = make_random_checkpoint(tmp_path_factory.mktemp(request.param), request.param, seed=11)
    return checkpoint.load(directory)


@pytest.fixture(params=[False, True], ids=["one-thread", "split"])
def split_batches(request, monkeypatch):
    """Runs the test twice: batches on one thread, and split across 3 threads from 4 rows on (the
    engine's parallel path, which real batches take from 2 * PARALLEL_MIN_ROWS rows on any machine
    with 2 or more cores)."""
    threads: list[str] = []
    if request.param:
        monkeypatch.setattr(translator_module, "PARALLEL_THREADS", 3)
        monkeypatch.setattr(translator_module, "PARALLEL_MIN_ROWS", 4)
        monkeypatch.setattr(translator_module, "_pool", None)  # a pool with 2 workers for this test
        original = translator_module.Translator._decode_slice

        def recording(self, prepared, options, engine):
            threads.append(threading.current_thread().name)
            return original(self, prepared, options, engine)

        monkeypatch.setattr(translator_module.Translator, "_decode_slice", recording)
    yield threads
    if request.param and request.node.callspec.params.get("batched", True):  # one sentence is never split
        # A batch's slices ran on this thread and on pool threads (a fast worker may take two).
        assert any(name.startswith("decode") for name in threads), f"slices decoded on {threads}"


# --- the plain reference ------------------------------------------------------------------------


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def _lstm_step(lstm, token, h, c):
    """Keras' LSTM step for one row: gates i, f, g, o in that order. `token` is an id, or the input
    vector of a stacked layer (whose input_table is its kernel)."""
    u = lstm.recurrent_kernel.shape[0]
    x = lstm.input_table[token] if np.ndim(token) == 0 else token @ lstm.input_table.astype(np.float64)
    z = x.astype(np.float64) + h @ lstm.recurrent_kernel.astype(np.float64) + lstm.bias
    i, f, g, o = _sigmoid(z[:u]), _sigmoid(z[u : 2 * u]), np.tanh(z[2 * u : 3 * u]), _sigmoid(z[3 * u :])
    c = f * c + i * g
    return o * np.tanh(c), c


class PlainModel:
    """One sentence at a time, in float64."""

    def __init__(self, translator):
        self.t = translator
        self.w = translator.weights

    def input_ids(self, text: str) -> list[int]:
        ids = list(self.t.prepare(text).ids)
        if self.t.config.encoder_padding == "spaces":  # the recipe ran over space padding in training
            ids += [self.t.vocab.input_pad_index] * max(0, self.t.vocab.max_encoder_seq_length - len(ids))
        return ids

    def start(self, text: str):
        ids = self.input_ids(text)
        if not isinstance(self.w, AttentionWeights):
            u = self.w.encoder.units
            h, c = np.zeros(u), np.zeros(u)
            for token in ids:
                h, c = _lstm_step(self.w.encoder, token, h, c)
            return h, c, None
        inputs = ids
        layers = [(self.w.encoder_forward, self.w.encoder_backward), *self.w.encoder_stack]
        for forward_lstm, backward_lstm in layers:  # each stacked layer reads the outputs of the one below
            u = forward_lstm.units
            h, c, forward = np.zeros(u), np.zeros(u), []
            for token in inputs:
                h, c = _lstm_step(forward_lstm, token, h, c)
                forward.append(h)
            outputs = np.array(forward)
            if backward_lstm is not None:
                hb, cb, backward = np.zeros(u), np.zeros(u), []
                for token in reversed(inputs):
                    hb, cb = _lstm_step(backward_lstm, token, hb, cb)
                    backward.append(hb)
                outputs = np.concatenate([outputs, np.array(backward[::-1])], axis=1)
                h, c = np.concatenate([h, hb]), np.concatenate([c, cb])
            inputs = list(outputs)
        return h, c, outputs

    def step(self, token: int, h, c, outputs):
        """(probabilities, h, c, attention weights or None) after feeding `token`."""
        h, c = _lstm_step(self.w.decoder, token, h, c)
        if outputs is None:
            return _softmax(h @ self.w.dense_kernel + self.w.dense_bias), h, c, None
        keys = outputs @ self.w.keys_kernel
        scores = np.array([keys[s] @ h for s in range(len(outputs))])
        weights = _softmax(scores)
        context = sum(weights[s] * outputs[s] for s in range(len(outputs)))
        attentional = np.tanh(np.concatenate([context, h]) @ self.w.combine_kernel + self.w.combine_bias)
        return _softmax(attentional @ self.w.dense_kernel + self.w.dense_bias), h, c, weights

    @property
    def max_steps(self) -> int:
        return self.t.vocab.max_decoder_seq_length + 1

    def greedy(self, text: str):
        """(tokens, per-step probabilities, per-step attention, smallest top-2 margin on the path)."""
        h, c, outputs = self.start(text)
        token, tokens, probs, attention, margin = self.t.vocab.start_index, [], [], [], math.inf
        for _ in range(self.max_steps):
            p, h, c, a = self.step(token, h, c, outputs)
            top2 = np.sort(p)[-2:]
            margin = min(margin, top2[1] - top2[0])
            token = int(np.argmax(p))
            tokens.append(token)
            probs.append(p)
            attention.append(a)
            if token == self.t.vocab.end_index:
                break
        return tokens, probs, attention, margin

    def sample(self, text: str, temperature: float, seed: int):
        """Generator.choice per step, as the engine's contract says; also the closest draw to a boundary."""
        rng, twin = np.random.default_rng(seed), np.random.default_rng(seed)
        h, c, outputs = self.start(text)
        token, tokens, probs, margin = self.t.vocab.start_index, [], [], math.inf
        for _ in range(self.max_steps):
            p, h, c, _ = self.step(token, h, c, outputs)
            logits = np.log(np.maximum(p, 1e-30)) / temperature
            weights = _softmax(logits)
            token = int(rng.choice(len(weights), p=weights))
            draw = twin.random()  # the uniform draw choice used: how close was it to a boundary?
            margin = min(margin, np.abs(np.cumsum(weights) - draw).min())
            tokens.append(token)
            probs.append(p)
            if token == self.t.vocab.end_index:
                break
        return tokens, probs, margin

    def beam(self, text: str, k: int, length_normalize: bool = False):
        """Beam search as its docstring states it, for one sentence: (n-best [(tokens, score)], margin)."""
        end = self.t.vocab.end_index
        h, c, outputs = self.start(text)
        beams = [([], 0.0, h, c)]  # (tokens, score, h, c), best first
        finished, margin = [], math.inf
        for t in range(self.max_steps):
            candidates = []
            for j, (tokens, score, bh, bc) in enumerate(beams):
                p, nh, nc, _ = self.step(tokens[-1] if tokens else self.t.vocab.start_index, bh, bc, outputs)
                logp = np.log(np.maximum(p, 1e-30))
                candidates += [(score + logp[x], j, x, nh, nc, tokens) for x in range(len(p))]
            # Best first; ties: lower beam, then lower token (they cannot tie here but for rounding).
            candidates.sort(key=lambda cand: (-cand[0], cand[1], cand[2]))
            best = candidates[: 2 * k + 1]
            margin = min([margin] + [a[0] - b[0] for a, b in zip(best, best[1:])])
            beams = []
            for rank, (score, _, x, nh, nc, tokens) in enumerate(candidates[: 2 * k]):
                if x == end or t == self.max_steps - 1:
                    if rank < k:
                        finished.append((score / (t + 1) if length_normalize else score, score, tokens + [x]))
                elif len(beams) < k:
                    beams.append((tokens + [x], score, nh, nc))
            if len(finished) >= k:
                ranks = sorted((f[0] for f in finished), reverse=True)
                if length_normalize or max((b[1] for b in beams), default=-math.inf) <= ranks[k - 1]:
                    break
            if not beams:
                break
        finished.sort(key=lambda f: -f[0])
        ranks = [f[0] for f in finished[: k + 1]]
        margin = min([margin] + [a - b for a, b in zip(ranks, ranks[1:])])
        return [(f[2], f[1]) for f in finished[:k]], margin


# --- the comparisons ----------------------------------------------------------------------------


def _assert_steps_match(result, tokens, probs, attention, top_k, vocab):
    steps = result.steps
    assert [vocab.target_token_index[s.char] for s in steps] == tokens
    for step, token, p, a in zip(steps, tokens, probs, attention):
        assert step.prob == pytest.approx(p[token], abs=PROB_TOLERANCE)
        want = np.argsort(-p, kind="stable")[:top_k]
        got = [vocab.target_token_index[char] for char, _ in step.top]
        # The alternatives are the reference's top-k, in its order, up to near-ties among them.
        for g, w in zip(got, want):
            assert g == w or abs(p[g] - p[w]) < TIE_MARGIN
        np.testing.assert_allclose([prob for _, prob in step.top], p[got], atol=PROB_TOLERANCE)
        if a is None:
            assert step.attention is None
        else:
            np.testing.assert_allclose(step.attention, a, atol=PROB_TOLERANCE)


@pytest.mark.parametrize("batched", [True, False], ids=["batch", "one-by-one"])
def test_greedy_equals_the_plain_reference(translator, batched, split_batches):
    plain, texts = PlainModel(translator), _texts()
    options = DecodeOptions(top_k=4)
    results = (translator.translate_batch(texts, options) if batched
               else [translator.translate(text, options) for text in texts])
    near_ties = 0
    for text, result in zip(texts, results):
        tokens, probs, attention, margin = plain.greedy(text)
        if margin < TIE_MARGIN:
            near_ties += 1
            continue
        _assert_steps_match(result, tokens, probs, attention, 4, translator.vocab)
        assert result.score == pytest.approx(sum(math.log(p[t]) for t, p in zip(tokens, probs)), abs=1e-4)
        assert result.to_dict()["steps"] == [
            {"char": s.char, "prob": s.prob, "top": [list(t) for t in s.top],
             **({} if s.attention is None else {"attention": s.attention})} for s in result.steps]
    assert near_ties <= len(texts) // 10, f"{near_ties} of {len(texts)} rows had near-ties"


@pytest.mark.parametrize("length_normalize", [False, True], ids=["sum", "normalized"])
def test_beam_search_equals_the_plain_reference(translator, length_normalize, split_batches):
    plain, texts = PlainModel(translator), _texts()
    options = DecodeOptions(method="beam", beam_size=3, length_normalize=length_normalize, top_k=3)
    results = translator.translate_batch(texts, options)
    near_ties = 0
    for text, result in zip(texts, results):
        nbest, margin = plain.beam(text, 3, length_normalize)
        if margin < TIE_MARGIN:
            near_ties += 1
            continue
        assert [n["translation"] for n in result.nbest] == [translator._text(tokens) for tokens, _ in nbest]
        np.testing.assert_allclose([n["score"] for n in result.nbest], [score for _, score in nbest], atol=1e-4)
        assert [translator.vocab.target_token_index[s.char] for s in result.steps] == nbest[0][0]
    assert near_ties <= len(texts) // 5, f"{near_ties} of {len(texts)} rows had near-ties"
    # The same search one sentence at a time gives the same n-best.
    for text, together in zip(texts[:6], results):
        alone = translator.translate(text, options).nbest
        assert [n["translation"] for n in alone] == [n["translation"] for n in together.nbest]
        np.testing.assert_allclose([n["score"] for n in alone], [n["score"] for n in together.nbest], atol=1e-5)


def test_sampling_equals_the_plain_reference(translator, split_batches):
    plain, texts = PlainModel(translator), _texts()
    options = DecodeOptions(method="sample", temperature=0.8, seed=3)
    results = translator.translate_batch(texts, options)
    near_ties = 0
    for text, result in zip(texts, results):
        tokens, probs, margin = plain.sample(text, 0.8, 3)
        if margin < TIE_MARGIN:
            near_ties += 1
            continue
        assert [translator.vocab.target_token_index[s.char] for s in result.steps] == tokens
        np.testing.assert_allclose([s.prob for s in result.steps], [p[t] for t, p in zip(tokens, probs)],
                                   atol=PROB_TOLERANCE)
    assert near_ties <= len(texts) // 10, f"{near_ties} of {len(texts)} rows had near-ties"


def test_decoding_functions_give_what_the_translator_gives(translator, monkeypatch):
    """The Hypothesis API (decoding.greedy / beam_search / sample) and the Translator's arrays agree."""
    # One slice, as the direct calls below decode: beam search's 16 rows would otherwise be split in
    # two, whose smaller products round differently.
    monkeypatch.setattr(translator_module, "PARALLEL_MIN_ROWS", 10**6)
    texts = _texts()[:8]
    vocab, weights = translator.vocab, translator.engine  # the engine the Translator runs on
    ids, lengths = translator._encoder_batch([translator.prepare(t) for t in texts])
    with weights.threads:  # as the Translator runs it, so that both compute exactly the same floats
        h, c, context = weights.start(ids, lengths)
        args = dict(start_id=vocab.start_index, end_id=vocab.end_index, max_steps=vocab.max_decoder_seq_length + 1,
                    context=context)
        runs = [
            (decoding.greedy(weights.decode_step, h, c, top_k=3, **args), DecodeOptions(top_k=3)),
            (decoding.beam_search(weights.decode_step, h, c, beam_size=2, top_k=3, **args),
             DecodeOptions(method="beam", beam_size=2, top_k=3)),
            (decoding.sample(weights.decode_step, h, c, temperature=1.3, seed=5, top_k=3, **args),
             DecodeOptions(method="sample", temperature=1.3, seed=5, top_k=3)),
        ]
        no_alternatives = decoding.greedy(weights.decode_step, h, c, top_k=0, **args)
    for hyps, options in runs:
        for hyp, result in zip(hyps, translator.translate_batch(texts, options)):
            assert [vocab.target_characters[t] for t in hyp.tokens] == [s.char for s in result.steps]
            assert hyp.probs == [s.prob for s in result.steps]
            assert hyp.score == result.score
            for top_ids, top_probs, step in zip(hyp.top_ids, hyp.top_probs, result.steps):
                assert [(vocab.target_characters[i], float(p)) for i, p in zip(top_ids, top_probs)] == step.top
            if translator.has_attention:
                assert len(hyp.attention) == len(hyp.tokens)
            for n, best in zip(hyp.nbest, result.nbest):
                assert (translator._text(n.tokens), n.score) == (best["translation"], best["score"])
    assert all(ids.size == 0 for hyp in no_alternatives for ids in hyp.top_ids)


def test_top_k_equals_a_stable_sort_even_with_ties():
    rng = np.random.default_rng(0)
    for trial in range(300):
        rows, n = int(rng.integers(1, 9)), int(rng.integers(1, 120))
        # Few distinct values: ties everywhere, including at the k-th place.
        values = rng.integers(0, int(rng.integers(1, 6)), size=(rows, n)).astype(np.float32) / 7
        for k in (0, 1, 2, 5, n // 2, n, n + 3):
            ids, top = decoding.top_k(values, k)
            want = np.argsort(-values, axis=1, kind="stable")[:, : min(k, n)]
            np.testing.assert_array_equal(ids, want)
            np.testing.assert_array_equal(top, np.take_along_axis(values, want, axis=1))


def test_blas_threads_are_limited_while_translating_and_stay_limited():
    # Restoring BLAS's own setting after each batch made OpenBLAS's idle worker spin whenever two
    # threads multiplied at once (see inference._BlasThreads), so the setting stays once made.
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from model import inference

    def current():
        return [lib["num_threads"] for lib in threadpoolctl.threadpool_info() if lib["user_api"] == "blas"]

    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):  # as a process that wants more would set
        with inference.blas_threads:
            assert set(current()) <= {inference.BLAS_THREADS}
            with inference.blas_threads:  # nested (or concurrent) entries
                pass
            assert set(current()) <= {inference.BLAS_THREADS}
        assert set(current()) <= {inference.BLAS_THREADS}

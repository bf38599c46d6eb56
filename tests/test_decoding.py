"""Decoding strategies (model/decoding.py): greedy, beam search, sampling, batches, the stop rule.

Two kinds of model drive them. A hand-made "tree" language model, whose next-token distribution is a
fixed random function of the whole prefix, is small enough to enumerate every possible output, so
beam search can be checked against the exact answer. A small checkpoint trained for real checks the
same properties through the NumPy engine and the Translator.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from model import checkpoint, data, decoding
from model.translator import DecodeOptions

START, END = 0, 1


class TreeLM:
    """A step function whose probabilities depend on the whole prefix, which it carries in `h`.

    h[:, 0] holds a code of the prefix (unique per prefix); `c` is unused. Tokens: 0 START, 1 END,
    2.. ordinary characters.
    """

    def __init__(self, vocab_size=4, seed=0, end_bias=0.0):
        self.vocab_size, self.seed, self.end_bias = vocab_size, seed, end_bias
        self.calls = 0

    def distribution(self, prefix: tuple[int, ...]) -> np.ndarray:
        rng = np.random.default_rng([self.seed, len(prefix), *(t + 1 for t in prefix)])
        logits = rng.normal(0.0, 2.0, self.vocab_size)
        logits[END] += self.end_bias
        p = np.exp(logits - logits.max())
        return (p / p.sum()).astype(np.float32)

    def step(self, token_ids, h, c):
        self.calls += 1
        codes = h[:, 0].astype(np.int64) * (self.vocab_size + 1) + np.asarray(token_ids) + 1
        probs = np.stack([self.distribution(self._prefix(code)) for code in codes])
        return probs, np.stack([codes.astype(np.float64)], axis=1), c

    def _prefix(self, code: int) -> tuple[int, ...]:
        # Decode the base-(V+1) code back into the tokens fed so far (START first).
        digits = []
        while code:
            code, d = divmod(int(code), self.vocab_size + 1)
            digits.append(d - 1)
        return tuple(reversed(digits))

    def initial(self, batch: int, offsets=None):
        # Different rows get different "sentences" by starting from different prefix codes.
        offsets = np.zeros(batch) if offsets is None else np.asarray(offsets, dtype=np.float64)
        return offsets[:, None].copy(), np.zeros((batch, 1))

    def enumerate(self, max_steps: int, offset: int = 0):
        """Every possible output (ending with END, or cut at max_steps) with its exact log-probability."""
        root = self._prefix(offset)
        outputs = []

        def walk(tokens, logp):
            prefix = root + (START,) + tuple(tokens)
            p = self.distribution(prefix)
            for token in range(self.vocab_size):
                new = tokens + [token]
                score = logp + math.log(float(p[token]))
                if token == END or len(new) == max_steps:
                    outputs.append((new, score))
                else:
                    walk(new, score)

        walk([], 0.0)
        return outputs


def _run_greedy(lm, max_steps, batch=1, offsets=None, top_k=3):
    h, c = lm.initial(batch, offsets)
    return decoding.greedy(lm.step, h, c, START, END, max_steps, top_k=top_k)


def _run_beam(lm, max_steps, beam_size, batch=1, offsets=None, length_normalize=False):
    h, c = lm.initial(batch, offsets)
    return decoding.beam_search(lm.step, h, c, START, END, max_steps, beam_size, length_normalize=length_normalize)


# --- the tree model: exact answers -------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("length_normalize", [False, True], ids=["sum", "normalized"])
def test_wide_beam_finds_the_exact_nbest(seed, length_normalize):
    lm, max_steps = TreeLM(seed=seed), 4
    exact = lm.enumerate(max_steps)  # 3 live tokens per step: 121 outputs in all

    def rank(tokens, score):
        return score / len(tokens) if length_normalize else score

    exact.sort(key=lambda o: rank(*o), reverse=True)
    beam = _run_beam(lm, max_steps, beam_size=200, length_normalize=length_normalize)[0]
    assert len(beam.nbest) == len(exact)
    for hyp, (tokens, score) in zip(beam.nbest, exact):
        assert hyp.tokens == tokens
        assert hyp.score == pytest.approx(score, abs=1e-5)
    ranks = [rank(h.tokens, h.score) for h in beam.nbest]
    assert ranks == sorted(ranks, reverse=True)
    assert beam is beam.nbest[0]


@pytest.mark.parametrize("seed", range(6))
def test_beam_hypotheses_carry_their_own_step_probabilities(seed):
    lm = TreeLM(seed=seed)
    for hyp in _run_beam(lm, 5, beam_size=3)[0].nbest:
        prefix = (START,)
        for token, prob, top_ids, top_probs in zip(hyp.tokens, hyp.probs, hyp.top_ids, hyp.top_probs):
            p = lm.distribution(prefix)
            assert prob == pytest.approx(float(p[token]), rel=1e-6)
            assert list(top_ids) == list(np.argsort(-p, kind="stable")[: len(top_ids)])
            np.testing.assert_allclose(top_probs, p[top_ids], rtol=1e-6)
            prefix += (token,)
        assert hyp.score == pytest.approx(sum(math.log(p) for p in hyp.probs), abs=1e-5)


@pytest.mark.parametrize("seed", range(40))
def test_beam_of_width_one_is_greedy(seed):
    # An END that is only the runner-up must not beat the greedy path later: with width 1 the
    # search keeps one hypothesis, exactly like argmax decoding.
    lm = TreeLM(seed=seed, end_bias=1.0)
    greedy = _run_greedy(lm, 6)[0]
    beam = _run_beam(lm, 6, beam_size=1)[0]
    assert beam.tokens == greedy.tokens
    assert beam.score == pytest.approx(greedy.score, abs=1e-6)
    assert len(beam.nbest) == 1


def test_greedy_is_the_argmax_path_with_sorted_top_k():
    lm = TreeLM(seed=3, vocab_size=6)
    hyp = _run_greedy(lm, 7, top_k=4)[0]
    prefix = (START,)
    for token, prob, top_ids, top_probs in zip(hyp.tokens, hyp.probs, hyp.top_ids, hyp.top_probs):
        p = lm.distribution(prefix)
        assert token == int(np.argmax(p)) == int(top_ids[0])
        assert prob == pytest.approx(float(p.max()))
        assert len(top_ids) == 4 and list(top_probs) == sorted(top_probs, reverse=True)
        np.testing.assert_allclose(top_probs, np.sort(p)[::-1][:4], rtol=1e-6)
        prefix += (token,)


def test_stop_rule_end_or_max_steps():
    never_ends = TreeLM(seed=1, end_bias=-50.0)
    always_ends = TreeLM(seed=1, end_bias=50.0)
    for hyp in _run_greedy(never_ends, 9, batch=3, offsets=[0, 7, 11]):
        assert len(hyp.tokens) == 9 and END not in hyp.tokens
    for hyp in _run_greedy(always_ends, 9, batch=2, offsets=[0, 5]):
        assert hyp.tokens == [END]
    for hyp in _run_beam(never_ends, 9, beam_size=3)[0].nbest:
        assert len(hyp.tokens) == 9 and END not in hyp.tokens
    for hyp in _run_beam(TreeLM(seed=2), 9, beam_size=4)[0].nbest:
        assert END not in hyp.tokens[:-1]
        assert hyp.tokens[-1] == END or len(hyp.tokens) == 9


def test_finished_rows_stop_costing_steps():
    lm = TreeLM(seed=1, end_bias=50.0)
    _run_greedy(lm, 30, batch=4, offsets=[1, 2, 3, 4])
    assert lm.calls == 1  # every row ended at the first step: no more work
    lm = TreeLM(seed=1, end_bias=50.0)
    _run_beam(lm, 30, beam_size=3)
    assert lm.calls <= 3


def test_batch_equals_one_by_one_on_the_tree_model():
    offsets = [0, 3, 17, 40, 41]
    lm = TreeLM(seed=4)
    batch = _run_greedy(lm, 6, batch=len(offsets), offsets=offsets)
    beams = _run_beam(lm, 6, 3, batch=len(offsets), offsets=offsets)
    for i, offset in enumerate(offsets):
        alone = _run_greedy(lm, 6, offsets=[offset])[0]
        assert batch[i].tokens == alone.tokens and batch[i].probs == pytest.approx(alone.probs)
        alone_beam = _run_beam(lm, 6, 3, offsets=[offset])[0]
        assert [h.tokens for h in beams[i].nbest] == [h.tokens for h in alone_beam.nbest]
        assert [h.score for h in beams[i].nbest] == pytest.approx([h.score for h in alone_beam.nbest])


def test_sampling_follows_the_distribution():
    lm = TreeLM(seed=5, vocab_size=3)
    first = lm.distribution((START,))
    counts = np.zeros(3)
    for seed in range(1500):
        h, c = lm.initial(1)
        counts[decoding.sample(lm.step, h, c, START, END, 1, temperature=1.0, seed=seed)[0].tokens[0]] += 1
    np.testing.assert_allclose(counts / counts.sum(), first, atol=0.05)


def test_invalid_settings():
    lm = TreeLM()
    h, c = lm.initial(1)
    with pytest.raises(ValueError, match="beam_size"):
        decoding.beam_search(lm.step, h, c, START, END, 5, beam_size=0)
    with pytest.raises(ValueError, match="temperature"):
        decoding.sample(lm.step, h, c, START, END, 5, temperature=0.0, seed=1)


# --- a real trained model through the engine and the Translator ---------------------------------


@pytest.fixture(scope="module")
def translator(small_checkpoint):
    return checkpoint.load(small_checkpoint)


@pytest.fixture(scope="module")
def sentences(translator, shared_data):
    texts = [p.english for p in data.read_pairs(shared_data, limit=300)]
    return list(dict.fromkeys(texts))[::6]


def _teacher_forced_logprob(translator, text, tokens):
    """Recompute a hypothesis' log-probability by feeding its tokens through the engine."""
    prepared = translator.prepare(text)
    ids, lengths = translator._encoder_batch([prepared])
    h, c = translator.weights.encode(ids, lengths)
    previous, total, probs = translator.vocab.start_index, 0.0, []
    for token in tokens:
        p, h, c = translator.weights.decode_step(np.array([previous]), h, c)
        probs.append(float(p[0, token]))
        total += math.log(float(p[0, token]))
        previous = token
    return total, probs


@pytest.mark.slow
def test_beam_nbest_sorted_distinct_and_scores_are_log_probs(translator, sentences):
    index = translator.vocab.target_token_index
    results = translator.translate_batch(sentences[:12], DecodeOptions(method="beam", beam_size=4))
    for result in results:
        scores = [n["score"] for n in result.nbest]
        assert len(result.nbest) == 4
        assert scores == sorted(scores, reverse=True)
        assert result.translation == result.nbest[0]["translation"] and result.score == scores[0]
        assert all(s < 0 for s in scores)
    # The best hypothesis' score, recomputed by teacher forcing its characters through the engine.
    for result in results:
        tokens = [index[s.char] for s in result.steps]
        total, probs = _teacher_forced_logprob(translator, result.input, tokens)
        assert result.score == pytest.approx(total, abs=1e-4)
        assert [s.prob for s in result.steps] == pytest.approx(probs, abs=1e-5)


@pytest.mark.slow
def test_every_nbest_score_is_the_log_prob_of_its_tokens(translator, sentences):
    vocab = translator.vocab
    prepared = [translator.prepare(t) for t in sentences[:8]]
    ids, lengths = translator._encoder_batch(prepared)
    h, c = translator.weights.encode(ids, lengths)
    for text, best in zip(sentences, decoding.beam_search(translator.weights.decode_step, h, c, vocab.start_index,
                                                          vocab.end_index, vocab.max_decoder_seq_length + 1, 5)):
        assert len({tuple(n.tokens) for n in best.nbest}) == len(best.nbest)  # distinct hypotheses
        for hyp in best.nbest:
            total, probs = _teacher_forced_logprob(translator, text, hyp.tokens)
            assert hyp.score == pytest.approx(total, abs=1e-4)
            assert hyp.probs == pytest.approx(probs, abs=1e-5)


@pytest.mark.slow
def test_beam_search_beats_or_matches_greedy(translator, sentences):
    greedy = translator.translate_batch(sentences, DecodeOptions())
    beam = translator.translate_batch(sentences, DecodeOptions(method="beam", beam_size=4))
    for g, b in zip(greedy, beam):
        assert b.score >= g.score - 1e-6


@pytest.mark.slow
def test_beam_width_one_equals_greedy_on_the_model(translator, sentences):
    greedy = translator.translate_batch(sentences, DecodeOptions())
    beam = translator.translate_batch(sentences, DecodeOptions(method="beam", beam_size=1))
    for g, b in zip(greedy, beam):
        assert [s.char for s in b.steps] == [s.char for s in g.steps]
        assert b.score == pytest.approx(g.score, abs=1e-5)


@pytest.mark.slow
def test_length_normalization_ranks_by_score_per_character(translator, sentences):
    vocab = translator.vocab
    prepared = [translator.prepare(t) for t in sentences[:10]]
    ids, lengths = translator._encoder_batch(prepared)
    args = (vocab.start_index, vocab.end_index, vocab.max_decoder_seq_length + 1, 6)
    h, c = translator.weights.encode(ids, lengths)
    plain = decoding.beam_search(translator.weights.decode_step, h.copy(), c.copy(), *args)
    normalized = decoding.beam_search(translator.weights.decode_step, h.copy(), c.copy(), *args, length_normalize=True)
    for best in plain:
        scores = [hyp.score for hyp in best.nbest]
        assert scores == sorted(scores, reverse=True)
    changed = 0
    for best in normalized:
        per_char = [hyp.score / len(hyp.tokens) for hyp in best.nbest]
        assert per_char == sorted(per_char, reverse=True)
        changed += [hyp.score for hyp in best.nbest] != sorted((hyp.score for hyp in best.nbest), reverse=True)
    assert changed, "length normalisation never changed an n-best order"


@pytest.mark.slow
def test_batch_equals_one_by_one(translator, sentences):
    texts = sentences[:16]
    for options in (DecodeOptions(), DecodeOptions(method="beam", beam_size=3),
                    DecodeOptions(method="sample", temperature=0.9, seed=11)):
        together = translator.translate_batch(texts, options)
        for text, result in zip(texts, together):
            alone = translator.translate(text, options)
            assert result.translation == alone.translation, (options.method, text)
            assert result.score == pytest.approx(alone.score, abs=1e-4)
            assert result.nbest == [] if options.method != "beam" else len(result.nbest) == len(alone.nbest)


@pytest.mark.slow
def test_sampling_is_reproducible_and_seed_dependent(translator, sentences):
    texts = sentences[:10]

    def run(seed, temperature=1.0):
        options = DecodeOptions(method="sample", temperature=temperature, seed=seed)
        return [r.translation for r in translator.translate_batch(texts, options)]

    assert run(3) == run(3)
    outputs = {tuple(run(seed)) for seed in range(4)}
    assert len(outputs) > 1, "different seeds never gave a different sample"
    # A very low temperature concentrates all mass on the argmax: greedy decoding.
    greedy = [r.translation for r in translator.translate_batch(texts)]
    assert run(5, temperature=1e-3) == greedy
    # Each step reports the model's own probability of the sampled character, not the tempered one.
    result = translator.translate(texts[0], DecodeOptions(method="sample", temperature=2.0, seed=1))
    tokens = [translator.vocab.target_token_index[s.char] for s in result.steps]
    _, probs = _teacher_forced_logprob(translator, texts[0], tokens)
    assert [s.prob for s in result.steps] == pytest.approx(probs, abs=1e-5)


@pytest.mark.slow
def test_steps_top_k_sorted_and_consistent(translator, sentences):
    vocab = translator.vocab
    for k in (1, 3, vocab.num_decoder_tokens + 10):
        for result in translator.translate_batch(sentences[:5], DecodeOptions(top_k=k)):
            for step in result.steps:
                assert len(step.top) == min(k, vocab.num_decoder_tokens)
                probs = [p for _, p in step.top]
                assert probs == sorted(probs, reverse=True)
                assert step.top[0] == (step.char, step.prob)  # greedy picks the most likely
            if k > vocab.num_decoder_tokens:
                assert all(sum(p for _, p in s.top) == pytest.approx(1.0, abs=1e-4) for s in result.steps)


@pytest.mark.slow
def test_stop_rule_on_the_model(translator, sentences):
    limit = translator.vocab.max_decoder_seq_length + 1
    for options in (DecodeOptions(), DecodeOptions(method="beam", beam_size=3),
                    DecodeOptions(method="sample", temperature=3.0, seed=2)):
        for result in translator.translate_batch(sentences, options):
            chars = [s.char for s in result.steps]
            assert "\n" not in chars[:-1]
            assert chars[-1] == "\n" or len(chars) == limit
            ended = chars[-1] == "\n"
            assert ended != any("maximum length" in w for w in result.warnings)
    # A near-uniform sample often runs to the limit: it stops at exactly max + 1 characters.
    lengths = {len(r.steps) for seed in range(5) for r in translator.translate_batch(
        sentences[:3], DecodeOptions(method="sample", temperature=50.0, seed=seed))}
    assert max(lengths) == limit

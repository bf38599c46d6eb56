"""Decoding strategies (model/decoding.py): greedy, beam search, sampling, batches, the stop rule.

Three kinds of model drive them, none trained, so every assertion holds on any machine:
  * a hand-made "tree" language model, whose next-token distribution is a fixed random function of
    the whole prefix, small enough to enumerate every possible output;
  * hand-built probability tables, for behaviour that must follow from the numbers (beam search
    beating greedy decoding where greedy's first choice leads nowhere);
  * the real network with seeded random weights (tests/random_models.py), through the NumPy engine
    and the Translator, including a model so small that every output can be enumerated.

Beam search is not checked to beat greedy decoding on a model: it need not (a beam can drop the
greedy prefix). What always holds is checked instead: width 1 is greedy, a beam wide enough to keep
everything finds the exhaustive answer, and every n-best score is the log-probability of its tokens.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from model import backends, checkpoint, decoding, network
from model.translator import DecodeOptions
from tests.conftest import PROB_ATOL, compare_steps
from tests.random_models import (make_random_checkpoint, random_config, random_model, random_sentences,
                                 random_vocabulary)

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


def assert_nbest_is_every_output(nbest, exact, length_normalize=False):
    """A beam at least as wide as the number of outputs returns all of them, scored and ranked exactly.

    `exact` is [(tokens, log-probability)] from enumeration. Ranks are compared position by position,
    not tokens, so two outputs whose exact scores tie within rounding may come in either order.
    """
    def rank(tokens, score):
        return score / len(tokens) if length_normalize else score

    scores = {tuple(tokens): score for tokens, score in exact}
    assert len(nbest) == len(exact) and {tuple(h.tokens) for h in nbest} == set(scores)
    for hyp in nbest:
        assert hyp.score == pytest.approx(scores[tuple(hyp.tokens)], abs=1e-5)
    ranks = [rank(h.tokens, h.score) for h in nbest]
    assert ranks == sorted(ranks, reverse=True)
    best_first = sorted((rank(*o) for o in exact), reverse=True)
    assert ranks == pytest.approx(best_first, abs=1e-5)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("length_normalize", [False, True], ids=["sum", "normalized"])
def test_wide_beam_finds_the_exact_nbest(seed, length_normalize):
    lm, max_steps = TreeLM(seed=seed), 4
    exact = lm.enumerate(max_steps)  # 3 live tokens per step: 121 outputs in all
    beam = _run_beam(lm, max_steps, beam_size=200, length_normalize=length_normalize)[0]
    assert_nbest_is_every_output(beam.nbest, exact, length_normalize)
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


# --- hand-built tables: what must follow from the numbers -----------------------------------------

A, B = 2, 3
END_ONLY = np.array([0.0, 1.0, 0.0, 0.0], dtype=np.float32)


class TableLM:
    """Next-token probabilities looked up by the tokens emitted so far, in a hand-written table.

    h[:, 0] numbers the prefix a row has reached (0: nothing emitted yet); a prefix missing from the
    table ends the sentence. Tokens: 0 START, 1 END, 2 A, 3 B.
    """

    def __init__(self, table):
        self.table = {key: np.asarray(p, dtype=np.float32) for key, p in table.items()}
        self.prefixes = [()]

    def step(self, token_ids, h, c):
        probs, codes = [], []
        for code, token in zip(h[:, 0].astype(int).tolist(), np.asarray(token_ids).tolist()):
            prefix = self.prefixes[code] + (() if token == START else (token,))
            self.prefixes.append(prefix)
            codes.append(len(self.prefixes) - 1)
            probs.append(self.table.get(prefix, END_ONLY))
        return np.stack(probs), np.array(codes, dtype=np.float64)[:, None], c

    def exhaustive(self, max_steps):
        """Every output with its probability, by walking the table."""
        outputs = []

        def walk(prefix, prob):
            for token, p in enumerate(self.table.get(prefix, END_ONLY).tolist()):
                if p > 0:
                    if token == END or len(prefix) + 1 == max_steps:
                        outputs.append((prefix + (token,), prob * p))
                    else:
                        walk(prefix + (token,), prob * p)

        walk((), 1.0)
        return outputs


def test_beam_of_two_beats_greedy_where_the_likelier_first_token_leads_nowhere():
    # A is likelier than B first (0.6 > 0.4), but after A nothing is likely (END 0.34 at best), while
    # after B, END is almost certain (0.9). Greedy takes A then END: 0.6 * 0.34 = 0.204. A beam of 2
    # keeps B as well and finds B END: 0.4 * 0.9 = 0.36, the most probable output of all.
    lm = TableLM({(): [0.0, 0.0, 0.6, 0.4], (A,): [0.0, 0.34, 0.33, 0.33], (B,): [0.0, 0.9, 0.05, 0.05]})
    h, c = np.zeros((1, 1)), np.zeros((1, 1))
    greedy = decoding.greedy(lm.step, h, c, START, END, max_steps=3)[0]
    beam = decoding.beam_search(lm.step, h, c, START, END, max_steps=3, beam_size=2)[0]
    assert greedy.tokens == [A, END] and greedy.score == pytest.approx(math.log(0.6 * 0.34), abs=1e-6)
    assert beam.tokens == [B, END] and beam.score == pytest.approx(math.log(0.4 * 0.9), abs=1e-6)
    assert beam.score > greedy.score + 0.5  # far beyond any rounding
    best_tokens, best_prob = max(lm.exhaustive(3), key=lambda o: o[1])
    assert list(best_tokens) == beam.tokens and best_prob == pytest.approx(0.36)
    # Width 1 is greedy decoding, even here.
    assert decoding.beam_search(lm.step, h, c, START, END, 3, beam_size=1)[0].tokens == greedy.tokens


# --- the real network with seeded random weights ---------------------------------------------------


@pytest.fixture(scope="module")
def translator(random_checkpoint):
    return checkpoint.load(random_checkpoint)


@pytest.fixture(scope="module")
def sentences():
    return random_sentences(30)


def _start(translator, texts):
    ids, lengths = translator._encoder_batch([translator.prepare(t) for t in texts])
    return translator.engine.start(ids, lengths)


def _teacher_forced_logprob(translator, text, tokens):
    """Recompute a hypothesis' log-probability by feeding its tokens through the engine one by one."""
    h, c, context = _start(translator, [text])
    previous, total, probs = translator.vocab.start_index, 0.0, []
    for token in tokens:
        p, h, c = translator.engine.decode_step(np.array([previous]), h, c, *context)[:3]
        probs.append(float(p[0, token]))
        total += math.log(float(p[0, token]))
        previous = token
    return total, probs


def _one_row_at_a_time(step):
    """`step` applied to each row alone: a row's floats then never depend on the rest of the batch."""
    def run(token_ids, h, c, *context):
        rows = [step(token_ids[i : i + 1], h[i : i + 1], c[i : i + 1], *(a[i : i + 1] for a in context))
                for i in range(len(token_ids))]
        return tuple(np.concatenate(parts) for parts in zip(*rows))
    return run


def test_wide_beam_equals_exhaustive_search_on_a_tiny_random_model(engine_backend):
    """Every output of a 5-character model up to 4 steps (341 of them), scored by teacher forcing
    through the engine (each backend), against one beam wide enough to keep them all."""
    vocab = random_vocabulary(max_encoder_seq_length=4, max_decoder_seq_length=3,
                              input_characters=" ab", target_characters=["\t", "\n", " ", "a", "b"])
    for seed in range(3):
        config = random_config("recipe", vocab, latent_dim=4)
        weights = backends.engine_for(network.engine_weights(random_model(config, vocab, seed=seed), config),
                                      engine_backend)
        max_steps = vocab.max_decoder_seq_length + 1
        for text in ("ab", "ba b"):
            ids = np.array([[vocab.input_token_index[ch] for ch in text.ljust(4)]])
            h0, c0, _ = weights.start(ids, np.array([4]))
            # Breadth first: every live prefix of one length is one batch of teacher-forced steps.
            exact, prefixes, scores = [], [()], np.zeros(1)
            h, c = h0, c0
            while prefixes:
                fed = np.array([p[-1] if p else vocab.start_index for p in prefixes])
                probs, h, c = weights.decode_step(fed, h, c)
                rows, grown, grown_scores = [], [], []
                for row, prefix in enumerate(prefixes):
                    for token in range(vocab.num_decoder_tokens):
                        tokens = prefix + (token,)
                        score = scores[row] + math.log(float(probs[row, token]))
                        if token == vocab.end_index or len(tokens) == max_steps:
                            exact.append((list(tokens), score))
                        else:
                            rows.append(row), grown.append(tokens), grown_scores.append(score)
                prefixes, scores, h, c = grown, np.array(grown_scores), h[rows], c[rows]
            assert len(exact) == 1 + 4 + 16 + 64 * 5
            beam = decoding.beam_search(weights.decode_step, h0, c0, vocab.start_index, vocab.end_index,
                                        max_steps, beam_size=len(exact))[0]
            assert_nbest_is_every_output(beam.nbest, exact)
            # And the engine's own greedy decoding is the exhaustive argmax path.
            greedy = decoding.greedy(weights.decode_step, h0, c0, vocab.start_index, vocab.end_index, max_steps)[0]
            assert greedy.score <= beam.score + 1e-6


@pytest.mark.parametrize("kind", ["recipe", "fast"])
def test_random_models_make_real_choices_and_end_their_sentences(kind, tmp_path):
    """The fixtures are worth testing on: varied outputs, mostly ended by END well before the limit."""
    translator = checkpoint.load(make_random_checkpoint(tmp_path / kind, kind, seed=4))
    limit = translator.vocab.max_decoder_seq_length + 1
    results = translator.translate_batch(random_sentences(60))
    ended = [r for r in results if r.steps[-1].char == "\n"]
    assert len(ended) >= 0.9 * len(results)
    assert np.median([len(r.steps) for r in results]) <= limit / 2
    assert len({r.translation for r in results}) >= 10
    assert len({s.char for r in results for s in r.steps}) >= 8


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
        assert [s.prob for s in result.steps] == pytest.approx(probs, abs=PROB_ATOL)


def test_every_nbest_score_is_the_log_prob_of_its_tokens(translator, sentences):
    vocab = translator.vocab
    h, c, _ = _start(translator, sentences[:8])
    for text, best in zip(sentences, decoding.beam_search(translator.engine.decode_step, h, c, vocab.start_index,
                                                          vocab.end_index, vocab.max_decoder_seq_length + 1, 5)):
        assert len({tuple(n.tokens) for n in best.nbest}) == len(best.nbest) == 5  # distinct hypotheses
        for hyp in best.nbest:
            total, probs = _teacher_forced_logprob(translator, text, hyp.tokens)
            assert hyp.score == pytest.approx(total, abs=1e-4)
            assert hyp.probs == pytest.approx(probs, abs=PROB_ATOL)


def test_beam_width_one_equals_greedy_on_the_model(translator, sentences):
    greedy = translator.translate_batch(sentences, DecodeOptions())
    beam = translator.translate_batch(sentences, DecodeOptions(method="beam", beam_size=1))
    for g, b in zip(greedy, beam):
        if compare_steps(b.steps, g.steps) is None:
            assert b.score == pytest.approx(g.score, abs=1e-5)
        assert len(b.nbest) == 1


def test_length_normalization_ranks_by_score_per_character(translator, sentences):
    vocab = translator.vocab
    args = (vocab.start_index, vocab.end_index, vocab.max_decoder_seq_length + 1, 6)
    h, c, _ = _start(translator, sentences[:10])
    plain = decoding.beam_search(translator.engine.decode_step, h.copy(), c.copy(), *args)
    normalized = decoding.beam_search(translator.engine.decode_step, h.copy(), c.copy(), *args, length_normalize=True)
    for best in plain:
        scores = [hyp.score for hyp in best.nbest]
        assert scores == sorted(scores, reverse=True)
    changed = 0
    for best in normalized:
        per_char = [hyp.score / len(hyp.tokens) for hyp in best.nbest]
        assert per_char == sorted(per_char, reverse=True)
        changed += [hyp.score for hyp in best.nbest] != sorted((hyp.score for hyp in best.nbest), reverse=True)
    assert changed, "length normalisation never changed an n-best order"


def test_batched_step_equals_the_step_one_row_at_a_time(translator, sentences):
    """Teacher forcing the same tokens through the batched step and row by row gives the same
    distributions: BLAS may round a batch differently, so within PROB_ATOL, not bit for bit."""
    vocab, weights = translator.vocab, translator.engine
    h, c, _ = _start(translator, sentences)
    alone = [weights.start(*translator._encoder_batch([translator.prepare(t)])) for t in sentences]
    np.testing.assert_allclose(h, np.concatenate([a[0] for a in alone]), atol=PROB_ATOL)
    rng = np.random.default_rng(0)
    tokens = np.full(len(sentences), vocab.start_index)
    row_h, row_c = h.copy(), c.copy()
    for _ in range(vocab.max_decoder_seq_length):
        batched, h, c = weights.decode_step(tokens, h, c)
        rowwise, row_h, row_c = _one_row_at_a_time(weights.decode_step)(tokens, row_h, row_c)
        np.testing.assert_allclose(batched, rowwise, atol=PROB_ATOL, rtol=0)
        np.testing.assert_allclose(h, row_h, atol=PROB_ATOL, rtol=0)
        tokens = rng.integers(0, vocab.num_decoder_tokens, len(sentences))


def test_batch_equals_one_by_one(translator, sentences):
    """Decoding a batch gives each sentence what decoding it alone gives. The step runs one row at a
    time here, so each row's floats are the same either way and the strategies' bookkeeping (rows
    leaving the batch, beams, per-row generators) must give identical results; the batched step's
    own rounding is bounded by the test above."""
    vocab = translator.vocab
    step = _one_row_at_a_time(translator.engine.decode_step)
    args = (vocab.start_index, vocab.end_index, vocab.max_decoder_seq_length + 1)
    h, c, _ = _start(translator, sentences[:16])
    runs = {
        "greedy": lambda h, c: decoding.run_greedy(step, h, c, *args),
        "beam": lambda h, c: decoding.run_beam(step, h, c, *args, beam_size=3),
        "sample": lambda h, c: decoding.run_sample(step, h, c, *args, temperature=0.9, seed=11),
    }
    for name, run in runs.items():
        together = run(h, c).hypotheses(3)
        for row, result in enumerate(together):
            alone = run(h[row : row + 1], c[row : row + 1]).hypotheses(3)[0]
            assert result.tokens == alone.tokens and result.probs == alone.probs, (name, row)
            assert result.score == alone.score
            assert [n.tokens for n in result.nbest] == [n.tokens for n in alone.nbest]
            assert [n.score for n in result.nbest] == [n.score for n in alone.nbest]


def test_translator_batch_equals_one_by_one_up_to_near_ties(translator, sentences):
    """Through the Translator, with the batched step: the same characters unless a step was a near-tie."""
    texts = sentences[:16]
    together = translator.translate_batch(texts, DecodeOptions(top_k=3))
    parted = 0
    for text, result in zip(texts, together):
        alone = translator.translate(text, DecodeOptions(top_k=3))
        if compare_steps(result.steps, alone.steps) is None:
            assert result.translation == alone.translation
            assert result.score == pytest.approx(alone.score, abs=1e-4)
        else:
            parted += 1
    assert parted <= 2, "near-ties are rare in these models: most sentences must be compared to the end"


def test_sampling_is_reproducible_and_seed_dependent(translator, sentences):
    texts = sentences[:10]

    def run(seed, temperature=1.0, top_k=5):
        return translator.translate_batch(texts, DecodeOptions(method="sample", temperature=temperature, seed=seed,
                                                               top_k=top_k))

    assert [r.to_dict() for r in run(3)] == [r.to_dict() for r in run(3)]
    outputs = {tuple(r.translation for r in run(seed)) for seed in range(4)}
    assert len(outputs) > 1, "different seeds never gave a different sample"
    # A very low temperature puts all the mass on the argmax: greedy decoding, except where the two
    # best probabilities are so close that (p2 / p1) ** (1 / T) is not negligible. Where
    # log(p1 / p2) >= 0.02, the runner-up's tempered weight is below e^-20 = 2e-9.
    greedy = translator.translate_batch(texts, DecodeOptions(top_k=2))
    for cold, hot in zip(run(5, temperature=1e-3, top_k=2), greedy):
        for a, b in zip(cold.steps, hot.steps):
            if a.char != b.char:
                (_, p1), (_, p2) = b.top
                assert math.log(p1 / p2) < 0.02, f"sampled {a.char!r} where greedy took {b.char!r} at p {p1:.4f} vs {p2:.4f}"
                break
        else:
            assert len(cold.steps) == len(hot.steps)
    # Each step reports the model's own probability of the sampled character, not the tempered one.
    result = translator.translate(texts[0], DecodeOptions(method="sample", temperature=2.0, seed=1))
    tokens = [translator.vocab.target_token_index[s.char] for s in result.steps]
    _, probs = _teacher_forced_logprob(translator, texts[0], tokens)
    assert [s.prob for s in result.steps] == pytest.approx(probs, abs=PROB_ATOL)


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

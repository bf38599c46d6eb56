"""Forced decoding (model/decoding.py run_forced, Translator.score) and French prefixes (prefixes=).

Both force the decoder through given French characters with the same step function the free
strategies use, so what they return must agree with those strategies wherever the paths coincide:

  * scoring greedy's own output gives back greedy's step probabilities, top-k, attention and score;
  * scoring each n-best hypothesis of beam search gives back its beam score, summed and per character;
  * a prefix equal to the start of greedy's output gives back greedy's output, for every length;
  * an empty prefix changes nothing at all, for every method.

Everything runs on checkpoints with seeded random weights (tests/random_models.py) of every kind,
so each assertion holds on any machine. Where a comparison crosses batch compositions (a batch
against one sentence), floats may differ by rounding and are compared within PROB_ATOL; where the
arithmetic is the very same (the same rows at every step), they must be equal.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from model import checkpoint, decoding
from model.translator import DecodeOptions, InputError
from model.vocab import END
from tests.conftest import NEAR_TIE, PROB_ATOL, compare_steps
from tests.random_models import make_random_checkpoint, random_sentences

KINDS = ["recipe", "fast", "attention", "large"]
TEXTS = random_sentences(24, seed=5)  # the hand-built sentences, then made-up ones: a batch below the split size


@pytest.fixture(scope="module", params=KINDS)
def translator(request, tmp_path_factory):
    return checkpoint.load(make_random_checkpoint(tmp_path_factory.mktemp(request.param), request.param, seed=4))


@pytest.fixture(scope="module")
def greedy(translator):
    """Greedy translations of TEXTS, one batch, top-k 3."""
    return translator.translate_batch(TEXTS, DecodeOptions(top_k=3))


def ended_french(result) -> str | None:
    """The French a result's characters spell when they end with END and nothing was stripped: what
    scoring it must reproduce. None when the output was cut at the length limit or lost trailing spaces."""
    chars = [s.char for s in result.steps]
    if not chars or chars[-1] != END or "".join(chars[:-1]) != result.translation:
        return None
    return result.translation


def _same_step_views(scored, free, *, exact: bool):
    """Step by step: the same characters, probabilities, top-k and attention (exactly, or within PROB_ATOL)."""
    assert [s.char for s in scored.steps] == [s.char for s in free.steps]
    for got, want in zip(scored.steps, free.steps):
        if exact:
            assert (got.prob, got.top, got.attention) == (want.prob, want.top, want.attention)
        else:
            assert got.prob == pytest.approx(want.prob, abs=PROB_ATOL)
            np.testing.assert_allclose([p for _, p in got.top], [p for _, p in want.top], atol=PROB_ATOL)
            if want.attention is not None:
                np.testing.assert_allclose(got.attention, want.attention, atol=PROB_ATOL)


# --- scoring -------------------------------------------------------------------------------------


def test_scoring_the_greedy_output_gives_back_its_steps_and_score(translator):
    """One sentence at a time, greedy decoding and scoring its output compute the very same floats."""
    checked = 0
    for text in TEXTS:
        free = translator.translate(text, DecodeOptions(top_k=3))
        french = ended_french(free)
        if french is None:
            continue
        scored = translator.score(text, french, DecodeOptions(top_k=3))
        checked += 1
        assert scored.translation == french and scored.input == free.input
        _same_step_views(scored, free, exact=True)
        assert all(s.given for s in scored.steps)
        assert scored.score == free.score
        assert scored.score == pytest.approx(sum(math.log(s.prob) for s in free.steps), abs=1e-4)
        assert scored.normalized_score == pytest.approx(free.score / len(free.steps), rel=1e-12)
        assert scored.disagreements == []  # greedy took the model's first choice at every step
    assert checked >= len(TEXTS) // 2, "too few greedy outputs ended with END to test on"


def test_scoring_greedy_outputs_as_a_batch(translator, greedy):
    pairs = [(text, ended_french(result)) for text, result in zip(TEXTS, greedy) if ended_french(result) is not None]
    for (text, french), scored in zip(pairs, translator.score_batch(pairs, DecodeOptions(top_k=3))):
        free = greedy[TEXTS.index(text)]
        _same_step_views(scored, free, exact=False)
        assert scored.score == pytest.approx(free.score, abs=1e-5)
        # Greedy's choice is the model's first choice, but for a near-tie that rounding may flip.
        for where in scored.disagreements:
            step = free.steps[where["step"]]
            assert step.top[0][1] - step.top[1][1] < NEAR_TIE


def _encoded(translator, texts):
    ids, lengths = translator._encoder_batch([translator.prepare(t) for t in texts])
    return translator.engine.start(ids, lengths)


@pytest.mark.parametrize("length_normalize", [False, True], ids=["sum", "normalized"])
def test_scoring_each_nbest_hypothesis_gives_back_its_beam_score(translator, length_normalize):
    """The engine's own arrays: every hypothesis that ended, forced as a target, scores what the beam ranked."""
    vocab = translator.vocab
    with translator.engine.threads:
        h, c, context = _encoded(translator, TEXTS)
        common = dict(step=translator.engine.decode_step, start_id=vocab.start_index, end_id=vocab.end_index)
        beam = decoding.run_beam(h=h, c=c, context=context, max_steps=vocab.max_decoder_seq_length + 1,
                                 beam_size=3, length_normalize=length_normalize, **common)
        rows, targets, hypotheses = [], [], []
        for row, indices in enumerate(beam.nbest):
            for i in indices.tolist():
                tokens = beam.token_list(i)
                if tokens[-1] == vocab.end_index:
                    rows.append(row)
                    targets.append(tokens[:-1])
                    hypotheses.append(i)
        rows = np.array(rows)
        forced = decoding.run_forced(h=h[rows], c=c[rows], context=tuple(a[rows] for a in context),
                                     targets=targets, **common)
    assert len(hypotheses) >= 2 * len(TEXTS), "too few n-best hypotheses ended with END to test on"
    for j, i in enumerate(hypotheses):
        assert forced.token_list(j) == beam.token_list(i)
        assert forced.scores[j] == pytest.approx(beam.scores[i], abs=1e-5)
        length = beam.lengths[i]
        assert forced.scores[j] / length == pytest.approx(beam.scores[i] / length, abs=1e-5)
        np.testing.assert_allclose(forced.probs[j, :length], beam.probs[i, :length], atol=PROB_ATOL)
        assert forced.given_steps(j) == length


def test_scoring_nbest_translations_through_the_translator(translator):
    options = DecodeOptions(method="beam", beam_size=3, top_k=2)
    checked = 0
    for text, result in zip(TEXTS[:10], translator.translate_batch(TEXTS[:10], options)):
        pairs = [(text, n["translation"]) for n in result.nbest]
        for n, scored in zip(result.nbest, translator.score_batch(pairs, options)):
            chars = [s.char for s in scored.steps]
            assert chars[-1] == END and "".join(chars[:-1]) == n["translation"]
            # A hypothesis cut at the length limit, or one that lost trailing spaces, is another string.
            if len(n["translation"]) < translator.vocab.max_decoder_seq_length and not n["translation"].endswith(" "):
                assert scored.score == pytest.approx(n["score"], abs=1e-5)
                checked += 1
    assert checked >= 10


def test_scoring_a_batch_equals_scoring_one_by_one(translator, greedy):
    rng = np.random.default_rng(3)
    writable = [c for c in translator.vocab.target_characters if c not in "\t\n"]
    made_up = ["".join(rng.choice(writable, int(rng.integers(0, 12)))) for _ in range(8)]
    pairs = ([(text, result.translation) for text, result in zip(TEXTS, greedy)]
             + [(text, french) for text, french in zip(TEXTS[::3], made_up)]
             + [("Go.", ""), ("Hi.", greedy[-1].translation)])
    bad = {3: ("Go.", "Va ü !"), 7: ("Hi.", "a" * (translator.vocab.max_decoder_seq_length + 1)),
           9: ("", "Va."), 11: ("Go.", "a\tb")}
    for where, pair in sorted(bad.items()):
        pairs.insert(where, pair)
    options = DecodeOptions(top_k=3)
    together = translator.score_batch(pairs, options)
    for pair, batched in zip(pairs, together):
        try:
            alone = translator.score(*pair, options)
        except InputError as err:
            assert isinstance(batched, InputError) and str(batched) == str(err)
            continue
        assert batched.translation == alone.translation == pair[1]
        assert compare_steps(batched.steps, alone.steps) is None  # the same characters: they were given
        assert batched.score == pytest.approx(alone.score, abs=1e-5)
        assert batched.normalized_score == pytest.approx(alone.normalized_score, abs=1e-5)
        assert [d["step"] for d in batched.disagreements] == [d["step"] for d in alone.disagreements] or any(
            s.top[0][1] - s.top[1][1] < NEAR_TIE for s in alone.steps)
    assert [type(r) for r in together].count(InputError) == len(bad)


def test_disagreements_are_the_steps_where_the_model_prefers_another_character(translator, greedy):
    text = TEXTS[0]
    french = greedy[0].translation[::-1] + "!"  # the model's own characters, in an order it did not choose
    scored = translator.score(text, french, DecodeOptions(top_k=2))
    expected = [{"step": t, "char": s.char, "prob": s.prob, "model": s.top[0][0], "model_prob": s.top[0][1]}
                for t, s in enumerate(scored.steps) if s.top[0][0] != s.char]
    assert scored.disagreements == expected and expected
    record = scored.to_dict()
    assert list(record)[:4] == ["input", "translation", "score", "normalized_score"]
    assert record["disagreements"] == expected and all(step["given"] for step in record["steps"])
    assert record["steps"][-1]["char"] == END


def test_french_the_model_cannot_write_is_refused_naming_the_characters(translator):
    longest = translator.vocab.max_decoder_seq_length
    for french, words in [("Va ü€ !", "'ü' '€'"), ("a\tb", r"'\t'"), ("a\nb", r"'\n'"),
                          ("a" * (longest + 1), f"{longest + 1} characters long; the model writes at most {longest}")]:
        with pytest.raises(InputError, match=re.escape(words)) as caught:
            translator.score("Go.", french)
        if "outside" in str(caught.value):
            assert "The model writes only these: U+0020 ! ' , . ?" in str(caught.value)
        with pytest.raises(InputError, match=re.escape(words)):
            translator.translate("Go.", prefix=french)
    assert translator.score("Go.", "a" * longest).translation == "a" * longest  # the longest allowed
    with pytest.raises(InputError, match="must be a string"):
        translator.score("Go.", None)


# --- prefixes ------------------------------------------------------------------------------------


def test_a_prefix_of_the_greedy_output_gives_back_the_greedy_output(translator, greedy):
    """For every k, forcing greedy's first k characters feeds the same rows the same tokens: the same floats."""
    longest = max(len(r.translation) for r in greedy)
    for k in range(longest + 1):
        prefixes = [r.translation[:k] for r in greedy]
        for prefix, free, forced in zip(prefixes, greedy,
                                        translator.translate_batch(TEXTS, DecodeOptions(top_k=3), prefixes)):
            assert forced.translation == free.translation
            assert forced.score == free.score
            _same_step_views(forced, free, exact=True)
            assert [s.given for s in forced.steps] == [t < len(prefix) for t in range(len(forced.steps))]


def test_beam_search_keeps_the_prefix_on_every_hypothesis(translator, greedy):
    prefixes = [r.translation[: len(r.translation) // 2] for r in greedy]
    options = DecodeOptions(method="beam", beam_size=3, top_k=2)
    results = translator.translate_batch(TEXTS, options, prefixes)
    for text, prefix, result in zip(TEXTS, prefixes, results):
        assert len(result.nbest) == 3 and result.translation == result.nbest[0]["translation"]
        assert all(n["translation"].startswith(prefix) for n in result.nbest)
        assert [s.given for s in result.steps][: len(prefix) + 1] == [True] * len(prefix) + [False]
        # Each score is the log-probability of its characters, the prefix's included.
        for n in result.nbest:
            if len(n["translation"]) < translator.vocab.max_decoder_seq_length and not n["translation"].endswith(" "):
                assert translator.score(text, n["translation"]).score == pytest.approx(n["score"], abs=1e-5)
    # Width 1 is greedy decoding, with a prefix too.
    narrow = translator.translate_batch(TEXTS, DecodeOptions(method="beam", beam_size=1, top_k=2), prefixes)
    for one, free in zip(narrow, translator.translate_batch(TEXTS, DecodeOptions(top_k=2), prefixes)):
        assert one.translation == free.translation and one.score == pytest.approx(free.score, abs=1e-5)


@pytest.mark.parametrize("options", [DecodeOptions(top_k=3), DecodeOptions(method="beam", beam_size=3, top_k=3),
                                     DecodeOptions(method="sample", temperature=1.3, seed=2, top_k=3)],
                         ids=["greedy", "beam", "sample"])
def test_an_empty_prefix_changes_nothing(translator, options):
    plain = [r.to_dict() for r in translator.translate_batch(TEXTS, options)]
    assert [r.to_dict() for r in translator.translate_batch(TEXTS, options, [""] * len(TEXTS))] == plain
    assert translator.translate(TEXTS[1], options, prefix="").to_dict() == translator.translate(TEXTS[1], options).to_dict()
    assert all("given" not in step for record in plain for step in record["steps"])
    assert all("normalized_score" not in record and "disagreements" not in record for record in plain)


def test_an_empty_prefix_changes_nothing_in_the_engine(translator):
    vocab = translator.vocab
    with translator.engine.threads:
        h, c, context = _encoded(translator, TEXTS)
        common = dict(step=translator.engine.decode_step, h=h, c=c, start_id=vocab.start_index,
                      end_id=vocab.end_index, max_steps=vocab.max_decoder_seq_length + 1, context=context)
        empty = [[] for _ in TEXTS]
        pairs = [(decoding.run_greedy(**common), decoding.run_greedy(**common, prefixes=empty)),
                 (decoding.run_sample(**common, temperature=0.9, seed=1),
                  decoding.run_sample(**common, temperature=0.9, seed=1, prefixes=empty)),
                 (decoding.run_beam(**common, beam_size=2), decoding.run_beam(**common, beam_size=2, prefixes=empty))]
    for plain, with_empty in pairs:
        for name in ("tokens", "positions", "lengths", "probs", "scores"):
            np.testing.assert_array_equal(getattr(with_empty, name), getattr(plain, name))
        assert with_empty.given is None and plain.given is None


def test_sampling_with_a_prefix_starts_with_it(translator, greedy):
    prefixes = [r.translation[:3] for r in greedy]
    for seed in range(3):
        options = DecodeOptions(method="sample", temperature=1.5, seed=seed, top_k=2)
        results = translator.translate_batch(TEXTS, options, prefixes)
        for prefix, result in zip(prefixes, results):
            assert result.translation.startswith(prefix)
            assert [s.given for s in result.steps][: len(prefix)] == [True] * len(prefix)
            assert not any(s.given for s in result.steps[len(prefix):])
        again = translator.translate_batch(TEXTS, options, prefixes)
        assert [r.to_dict() for r in again] == [r.to_dict() for r in results]  # the same seed, the same output


def test_prefixes_differ_per_row_and_errors_stay_in_their_row(translator, greedy):
    prefixes = ["", "Ja", "ü", greedy[3].translation[:2], "a" * (translator.vocab.max_decoder_seq_length + 1), "Je "]
    texts = TEXTS[: len(prefixes)]
    results = translator.translate_batch(texts, DecodeOptions(top_k=2), prefixes)
    assert isinstance(results[2], InputError) and "the prefix has characters outside" in str(results[2])
    assert isinstance(results[4], InputError) and "the prefix is" in str(results[4])
    for i in (0, 1, 3, 5):
        assert results[i].translation.startswith(prefixes[i])  # "Je " keeps its space: it was given
        alone = translator.translate(texts[i], DecodeOptions(top_k=2), prefix=prefixes[i])
        compare_steps(results[i].steps, alone.steps)  # the same, up to near-ties rounding may decide
        assert [s.given for s in results[i].steps][: len(prefixes[i])] == [True] * len(prefixes[i])
    assert "given" not in results[0].to_dict()["steps"][0]  # the row without a prefix has none
    with pytest.raises(ValueError, match="2 prefixes for 3 sentences"):
        translator.translate_batch(texts[:3], DecodeOptions(), ["", ""])

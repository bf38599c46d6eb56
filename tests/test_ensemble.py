"""Ensembles (model/ensemble.py): each step the mean of the members' probabilities, on both engines."""

from __future__ import annotations

import numpy as np
import pytest

from model import checkpoint, load_source
from model.ensemble import ensemble, ensemble_vocabulary
from model.sources import SourceError
from model.translator import DecodeOptions, InputError
from tests.random_models import (TARGET_CHARACTERS, make_random_checkpoint, random_sentences, random_vocabulary)

SENTENCES = random_sentences(12, seed=5)


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    """Two attention models of different widths and depths, and a fast model, with seeded random weights."""
    root = tmp_path_factory.mktemp("ensemble")
    return {
        "attention": make_random_checkpoint(root / "attention", kind="attention", seed=11, latent_dim=8),
        "large": make_random_checkpoint(root / "large", kind="large", seed=12, latent_dim=12),
        "fast": make_random_checkpoint(root / "fast", kind="fast", seed=13, latent_dim=10),
        "recipe": make_random_checkpoint(root / "recipe", kind="recipe", seed=14),
    }


def _pair(members, names, backend):
    translators = [checkpoint.load(members[n]).with_backend(backend) for n in names]
    return ensemble(translators, list(names)).with_backend(backend), translators


@pytest.mark.parametrize("names", [("attention", "large"), ("large", "fast")])
def test_each_step_is_the_mean_of_the_members_probabilities(members, names, engine_backend):
    both, (a, b) = _pair(members, names, engine_backend)
    assert both.has_attention == (a.has_attention and b.has_attention)
    for method in ("greedy", "beam"):
        outputs = both.translate_batch(SENTENCES, DecodeOptions(method=method, beam_size=3, top_k=3))
        for english, out in zip(SENTENCES, outputs):
            # Each member's probability of every character of the ensemble's output (trailing spaces
            # included, which `translation` strips), forced.
            assert out.steps[-1].char == "\n"
            written = "".join(s.char for s in out.steps[:-1])
            first, second = a.score(english, written), b.score(english, written)
            expected = [(p + q) / 2 for p, q in zip((s.prob for s in first.steps), (s.prob for s in second.steps))]
            assert [s.prob for s in out.steps] == pytest.approx(expected, abs=2e-5)
            assert out.score == pytest.approx(float(np.sum(np.log(expected))), abs=1e-3)
            if both.has_attention:
                for step, x, y in zip(out.steps, first.steps, second.steps):
                    assert step.attention == pytest.approx([(u + v) / 2 for u, v in zip(x.attention, y.attention)],
                                                           abs=2e-5)
                    assert sum(step.attention) == pytest.approx(1.0, abs=1e-5)


def test_an_ensemble_of_a_model_with_itself_is_the_model(members, engine_backend):
    alone = checkpoint.load(members["large"]).with_backend(engine_backend)
    twice = ensemble([alone, checkpoint.load(members["large"]).with_backend(engine_backend)], ["large", "large"])
    for method in ("greedy", "beam", "sample"):
        options = DecodeOptions(method=method, beam_size=3, seed=4)
        for x, y in zip(alone.translate_batch(SENTENCES, options), twice.translate_batch(SENTENCES, options)):
            assert y.translation == x.translation
            assert y.score == pytest.approx(x.score, abs=1e-4)


def test_engines_agree_and_beam_of_one_is_greedy(members):
    numpy_pair, _ = _pair(members, ("attention", "large"), "numpy")
    greedy = numpy_pair.translate_batch(SENTENCES, DecodeOptions())
    beam1 = numpy_pair.translate_batch(SENTENCES, DecodeOptions(method="beam", beam_size=1))
    assert [g.translation for g in greedy] == [b.translation for b in beam1]
    compiled, _ = _pair(members, ("attention", "large"), "numba")
    for g, c in zip(greedy, compiled.translate_batch(SENTENCES, DecodeOptions())):
        assert c.translation == g.translation and c.score == pytest.approx(g.score, abs=1e-3)


def test_a_prefix_and_scoring_work_through_the_ensemble(members, engine_backend):
    both, (a, b) = _pair(members, ("attention", "large"), engine_backend)
    out = both.translate("Hi, Tom!", DecodeOptions(method="beam", beam_size=3), prefix="Je ")
    assert out.translation.startswith("Je ") and [s.given for s in out.steps[:3]] == [True] * 3
    scored = both.score("Hi, Tom!", out.translation)
    assert scored.score == pytest.approx(out.score, abs=1e-4)


def test_members_with_other_characters_decode_over_the_shared_ones(tmp_path, engine_backend):
    extra = random_vocabulary(input_characters=list(" !',.?ABGHIJRTWabcdeghiklmnorstuwyz"),
                              target_characters=TARGET_CHARACTERS + ["x", "à"], max_decoder_seq_length=25)
    first = make_random_checkpoint(tmp_path / "a", kind="attention", seed=21)
    second = make_random_checkpoint(tmp_path / "b", kind="attention", seed=22, vocab=extra)
    vocab = ensemble_vocabulary([checkpoint.load(first).vocab, checkpoint.load(second).vocab])
    assert "z" not in vocab.input_characters and {"x", "à"}.isdisjoint(vocab.target_characters)
    assert vocab.max_decoder_seq_length == 25
    both = load_source(f"{first}+{second}").with_backend(engine_backend)
    assert both.metadata["ensemble"]["members"] == [str(first), str(second)]
    for out in both.translate_batch(SENTENCES, DecodeOptions(top_k=200)):
        for step in out.steps:
            assert sum(p for _, p in step.top) == pytest.approx(1.0, abs=1e-5)  # renormalised over shared ones
            assert step.char in vocab.target_characters
    with pytest.raises(InputError, match="'z'"):
        both.translate("zzz")


def test_ensembles_are_refused_with_a_reason(members):
    with pytest.raises(SourceError, match="masked encoders.*pads its input with spaces"):
        load_source(f"{members['recipe']}+{members['fast']}")
    with pytest.raises(SourceError, match="empty part"):
        load_source(f"{members['fast']}+")
    with pytest.raises(SourceError, match="no-such-model"):
        load_source(f"{members['fast']}+no-such-model")

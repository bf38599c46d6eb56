"""Shared fixtures and comparison helpers.

Checkpoints: `random_checkpoint`, `random_fast_checkpoint` and `random_attention_checkpoint` hold
seeded random weights made without training (tests/random_models.py), identical on every machine;
everything about the engine, the translator, decoding, the CLI and the app is tested on them. The
trained `tiny_checkpoint` is only for tests about what training records (its metadata's splits).

Data: `shared_data` is the fra-eng pair file found by `model.data.resolve_fra_eng`: $FRA_ENG_DATA,
else ../shared/data/fra-eng/fra.txt, else the recipe's download.

Comparisons: two runs of the same decoding on slightly different floats (TensorFlow against NumPy,
a batch against one sentence) may pick different characters where two were nearly tied. The
helpers below compare step by step and allow a divergence only after a step whose top-2 margin was
below NEAR_TIE; up to there the distributions must agree within PROB_ATOL.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# One engine for the whole run, in this process and in every `python -m model` a test starts: the
# compiled one, waited for (by default a fresh process serves from NumPy while the kernels load, and
# a test comparing a subprocess's floats with its own would see both). CL_S2S_ENGINE=numpy on the
# command line runs everything on the NumPy engine instead (CI's second run).
os.environ.setdefault("CL_S2S_ENGINE", "numba")

REPO = Path(__file__).resolve().parent.parent

# Two float32 computations of one step (TensorFlow's and NumPy's, or a batch's and a single row's)
# differ by ~1e-7 per probability; these bounds leave a hundredfold margin.
PROB_ATOL = 1e-5  # largest difference allowed between two computations of one distribution
NEAR_TIE = 1e-4  # a step whose two best probabilities are closer than this may go either way


@pytest.fixture(scope="session")
def shared_data(tmp_path_factory) -> Path:
    """The 2019 fra-eng release's pair file (see model.data.resolve_fra_eng for where it is looked for)."""
    from model import data

    try:
        path = data.resolve_fra_eng()
    except Exception as err:  # a bad FRA_ENG_DATA, or no network for the download
        pytest.fail(f"fra-eng data not found: {err}. Set {data.FRA_ENG_ENV} to the fra.txt pair file "
                    f"(or fra-eng.zip), or lay it out at {data.SHARED_FRA_ENG.as_posix()} beside the repository")
    if zipfile.is_zipfile(path):
        # Tests read the pairs as text, as the recipe does: take fra.txt out of the release zip once.
        out = tmp_path_factory.mktemp("fra-eng") / data.FRA_ENG_MEMBER
        with zipfile.ZipFile(path) as archive:
            member = next(n for n in archive.namelist() if Path(n).name == data.FRA_ENG_MEMBER)
            out.write_bytes(archive.read(member))
        return out
    return path


# --- checkpoints with seeded random weights: the same on every machine ------------------------------


def _random(tmp_path_factory, kind: str, seed: int) -> Path:
    from tests.random_models import make_random_checkpoint

    return make_random_checkpoint(tmp_path_factory.mktemp(f"random-{kind}"), kind=kind, seed=seed)


@pytest.fixture(scope="session")
def random_checkpoint(tmp_path_factory) -> Path:
    """The keras.io recipe's network (one-hot, space padding) with seeded random weights."""
    return _random(tmp_path_factory, "recipe", 0)


@pytest.fixture(scope="session")
def random_fast_checkpoint(tmp_path_factory) -> Path:
    """The fast recipe's network (embeddings, masked padding) with seeded random weights."""
    return _random(tmp_path_factory, "fast", 1)


@pytest.fixture(scope="session")
def fast_path(random_fast_checkpoint) -> str:
    """The random fast checkpoint as the source string an app or a CLI is given."""
    return str(random_fast_checkpoint)


@pytest.fixture(scope="session")
def recipe_path(random_checkpoint) -> str:
    return str(random_checkpoint)


@pytest.fixture(scope="session")
def random_attention_checkpoint(tmp_path_factory) -> Path:
    """The attention recipe's network (bidirectional encoder, Luong attention) with seeded random weights."""
    return _random(tmp_path_factory, "attention", 2)


SPANISH = {"source": {"name": "English", "code": "en"}, "target": {"name": "Spanish", "code": "es"}}


@pytest.fixture(scope="session")
def random_spanish_checkpoint(tmp_path_factory) -> Path:
    """The attention network with seeded random weights, recorded as English -> Spanish (metadata.json's
    "languages", as train.py writes it for spa-eng.txt)."""
    from model import checkpoint

    out = _random(tmp_path_factory, "attention", 3)
    metadata = checkpoint.read_metadata(out)
    checkpoint.write_json(out / checkpoint.METADATA_FILE, {**metadata, "languages": SPANISH})
    return out


# --- checkpoints trained for real, for tests about training and what it records ---------------------


def _train_tiny(out: Path, shared_data: Path, recipe: str) -> Path:
    from model import checkpoint, data, training
    from model.config import TrainConfig

    pairs = data.read_pairs(shared_data, limit=400)
    config = TrainConfig(recipe=recipe, num_samples=300, epochs=3, latent_dim=16, batch_size=32,
                         embedding_dim=8 if recipe == "fast" else 0, optimizer="adam" if recipe == "fast" else "rmsprop",
                         learning_rate=0.01, seed=7)
    result = training.train(pairs, config, verbose=0)
    metadata = {"recipe": recipe, "train_config": config.to_dict(), "history": result.history,
                "data": {"source": str(shared_data), **result.data_info}, "command": "tests/conftest.py tiny fixture"}
    checkpoint.save(out, result.model, result.vocab, result.model_config, metadata)
    return out


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, shared_data) -> Path:
    """A keras-io recipe checkpoint trained for 3 epochs on 300 pairs: for tests of what training records."""
    return _train_tiny(tmp_path_factory.mktemp("tiny-recipe"), shared_data, "keras-io")


# --- comparing two decodings that may differ by float rounding --------------------------------------


def top2_margin(probs) -> float:
    """The gap between the two largest probabilities of one step's distribution."""
    top = np.sort(np.asarray(probs, dtype=np.float64))[-2:]
    return float(top[1] - top[0])


def compare_free_running(ours_chars, ours_probs, theirs_chars, theirs_probs, *, atol: float = PROB_ATOL,
                         near_tie: float = NEAR_TIE) -> int | None:
    """Compare two greedy decodings of one sentence step by step, along the first one's path.

    While both chose the same characters, each step's full distributions must agree within `atol`.
    At the first step where the choices differ, the first run's top-2 margin must be below
    `near_tie` (rounding may then pick either), and nothing after it is compared: the two runs are
    no longer fed the same characters. Lengths must match when no step differed.

    Args:
        ours_chars, theirs_chars: the characters (or ids) chosen at each step.
        ours_probs, theirs_probs: per step, the whole distribution (vocabulary-sized).
    Returns:
        The step where the runs parted at a near-tie, or None if they agreed throughout.
    """
    for t, (a, b) in enumerate(zip(ours_chars, theirs_chars)):
        np.testing.assert_allclose(ours_probs[t], theirs_probs[t], atol=atol, rtol=0, err_msg=f"step {t}")
        if a != b:
            margin = top2_margin(ours_probs[t])
            assert margin < near_tie, (f"step {t}: chose {a!r} and {b!r} although the top-2 margin was {margin:.2e}, "
                                       f"not a near-tie (< {near_tie:.0e})")
            return t
    assert len(ours_chars) == len(theirs_chars), f"{list(ours_chars)!r} != {list(theirs_chars)!r}"
    return None


def _step_fields(step) -> tuple[str, float, list[tuple[str, float]]]:
    if isinstance(step, dict):  # Translation.to_dict() / the CLI's JSON lines
        return step["char"], step["prob"], [tuple(t) for t in step["top"]]
    return step.char, step.prob, list(step.top)


def compare_steps(ours, theirs, *, atol: float = PROB_ATOL, near_tie: float = NEAR_TIE) -> int | None:
    """`compare_free_running` for two translations' steps (Step objects or their dicts, top-k >= 2).

    Only the top-k of each step is known, so the sorted top-k probabilities are compared (they are a
    continuous function of the distribution, whatever order near-ties put the characters in), and
    the probability of each chosen character where both chose it.
    """
    ours, theirs = [_step_fields(s) for s in ours], [_step_fields(s) for s in theirs]
    for t, ((a, pa, top_a), (b, pb, top_b)) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose([p for _, p in top_a], [p for _, p in top_b], atol=atol, rtol=0, err_msg=f"step {t}")
        if a != b:
            assert len(top_a) >= 2, "a near-tie can only be recognised with top-k >= 2"
            margin = top_a[0][1] - top_a[1][1]
            assert margin < near_tie, (f"step {t}: chose {a!r} and {b!r} although the top-2 margin was {margin:.2e}, "
                                       f"not a near-tie (< {near_tie:.0e})")
            return t
        assert pa == pytest.approx(pb, abs=atol)
    assert [s[0] for s in ours] == [s[0] for s in theirs]
    return None


# --- the engine's backend -----------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def engine_kernels_loaded():
    """Wait for the compiled kernels (model/backends.py) before any test, so that every Translator
    decodes on one backend from its first batch; with CL_S2S_ENGINE=numpy nothing is loaded."""
    from model import backends

    backends.wait()


@pytest.fixture(params=["numpy", "numba"])
def engine_backend(request) -> str:
    """Runs a test on each engine backend; the compiled one is skipped where it is off (CL_S2S_ENGINE=numpy)."""
    from model import backends

    if request.param == "numba" and not backends.wait():
        pytest.skip("the compiled engine is off (CL_S2S_ENGINE=numpy) or unavailable")
    return request.param

"""Fine-tuning (model/finetune.py, training.fine_tune): the vocabulary check, replay's share, and a real
tiny fine-tune of a seeded random-weight checkpoint."""

from __future__ import annotations

import numpy as np
import pytest

from model import checkpoint, finetune, training
from model.config import FINE_TUNE_PRESET, fine_tune_preset
from model.data import Pair
from tests.random_models import make_random_checkpoint

# Made-up pairs over the random models' characters (tests/random_models.py): "new" ones of a domain,
# and "old" ones to replay, which all start with "W" so that a batch's rows say where they came from.
NEW = [Pair(e, f, i + 1) for i, (e, f) in enumerate([
    ("I like tea.", "J'aime la soie."), ("A cake, Tom?", "Tu es bon, Tom ?"), ("Hi, Bob!", "Bonne vie, Bob !"),
    ("A tea.", "Avec lait."), ("Go, Tom!", "Va, Tom !"), ("Be kind.", "Tu es bon."), ("I see it.", "Je le vois."),
    ("Is it Tom?", "Tom, ici ?"), ("I won.", "J'ai eu."), ("Run!", "Vite !"), ("Good tea.", "Bonne tisane."),
    ("Hi, Ali!", "Bonne nuit, Ali !")] * 3)]
OLD = [Pair(e, f, 100 + i) for i, (e, f) in enumerate([("Wait!", "Attends !"), ("We won.", "Vous avez eu."),
                                                         ("Who won?", "Tu as eu ?"), ("Why?", "Tu doutes ?")] * 5)]


def test_characters_outside_the_vocabulary_are_listed_with_count_and_line(random_fast_checkpoint):
    vocab = checkpoint.load(random_fast_checkpoint).vocab
    pairs = [Pair("Go.", "Va !", 1), Pair("Zoë, go.", "Zoë, va !", 2), Pair("Go €", "Va €", 3), Pair("Hi.", "Salut.", 4)]
    unknown, clean = finetune.check_vocabulary(pairs, vocab, "English", "Spanish")
    described = [(u.char, u.side, u.count, u.line) for u in unknown]
    assert ("ë", "English", 1, 2) in described and ("ë", "Spanish", 1, 2) in described
    assert ("€", "English", 1, 3) in described and ("S", "Spanish", 1, 4) in described
    assert [p.line for p in clean] == [1]
    error = finetune.VocabularyError(unknown, len(pairs) - len(clean), "English", "Spanish")
    message = str(error)
    assert message.startswith(f"{len(unknown)} characters of the new pairs are outside the model's vocabulary")
    assert "'€' in the English, 1 time, first on line 3" in message and "new Spanish ones" in message
    assert message.endswith("--drop-unknown-pairs to leave out the 3 pairs that hold them")


@pytest.mark.parametrize("share", [0.0, 0.25, 0.5])
def test_replay_fills_the_share_of_every_batch_it_says(share):
    batches = finetune.mixed_batches(100, 40, share, 16, np.random.default_rng(3))
    new = np.concatenate([mine for mine, _ in batches])
    assert sorted(new.tolist()) == list(range(100))  # every new pair once an epoch
    for mine, replayed in batches[:-1]:
        assert len(mine) + len(replayed) == 16 and len(replayed) == round(16 * share)
        assert all(0 <= i < 40 for i in replayed)
    mine, replayed = batches[-1]  # the last, short batch keeps the proportion
    assert len(replayed) == round(len(mine) * share / (1 - share))
    with pytest.raises(ValueError, match="replay share must be from 0 to below 1"):
        finetune.mixed_batches(10, 5, 1.0, 8, np.random.default_rng(0))
    with pytest.raises(ValueError, match="replay needs pairs"):
        finetune.mixed_batches(10, 0, 0.5, 8, np.random.default_rng(0))


def test_the_preset_keeps_the_sources_network_settings_and_moves_slowly():
    source = {"recipe": "large", "latent_dim": 384, "embedding_dim": 128, "dropout": 0.15, "label_smoothing": 0.1,
              "mixed_precision": True, "learning_rate": 0.002, "epochs": 40, "lr_schedule": "plateau", "lr_patience": 1}
    config = fine_tune_preset(source, epochs=3)
    assert (config.recipe, config.latent_dim, config.dropout, config.label_smoothing) == ("large", 384, 0.15, 0.1)
    assert config.learning_rate == FINE_TUNE_PRESET["learning_rate"] < source["learning_rate"]
    assert config.epochs == 3 and config.lr_schedule == "constant" and config.early_stopping_patience == 2
    config.validate()


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return make_random_checkpoint(tmp_path_factory.mktemp("source") / "attention", kind="attention", seed=31)


@pytest.mark.slow
def test_a_tiny_fine_tune_trains_the_sources_network_with_replayed_batches(source, tmp_path):
    model, vocab, model_config, _ = checkpoint.load_keras(source)
    assert finetune.check_vocabulary(NEW + OLD, vocab)[0] == []  # the made-up pairs use the model's characters
    before = [w.copy() for w in model.get_weights()]
    config = fine_tune_preset({"recipe": "attention", "optimizer": "adam"}, model_config, epochs=2, batch_size=8, seed=4)
    assert (config.latent_dim, config.embedding_dim) == (model_config.latent_dim, model_config.embedding_dim)
    # The batches fit() will see: the new pairs' rows and 2 replayed ones in every full batch.
    run_pairs = list(NEW)
    result = training.fine_tune(model, vocab, model_config, run_pairs, config, OLD, replay_share=0.25, verbose=0)
    assert len(result.history["loss"]) == 2 and result.model_config == model_config
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert result.data_info["num_training_pairs"] + result.data_info["num_validation_pairs"] == len(NEW)

    # What the training data is made of, read back from the dataset itself.
    import keras

    keras.utils.set_random_seed(config.seed)
    run = training._Run(run_pairs, config, training.HeldoutSpec(start_line=2**62), "default", None, 0, run_pairs, [],
                        [p.english for p in run_pairs], [training.wrap_target(p.french) for p in run_pairs], vocab,
                        *training._validation_split(len(run_pairs), config.validation_split, config.seed, True))
    starts = []
    for (enc, _), _, _ in training._mixed_dataset(run, OLD, 0.25).as_numpy_iterator():
        starts.append([vocab.input_characters[row[0] - 1] for row in enc])
    full = [batch for batch in starts if len(batch) == 8]
    assert full and all(batch.count("W") == 2 for batch in full)
    assert sum(len(batch) - batch.count("W") for batch in starts) == len(run.train_idx)


# --- train.py --from, end to end: a source on the local Hub, a fine-tune pushed back ------------------

MINE = ["Go.\tVa !", "Hi.\tSalut.", "Run!\tCours !", "Who?\tQui ?", "Wait!\tAttends !", "I see.\tJe vois.",
        "I won!\tJ'ai gagné !", "Go on.\tContinue.", "Hello!\tBonjour !", "I ran.\tJ'ai couru."]


@pytest.mark.slow
def test_a_fine_tune_of_a_hub_model_records_its_lineage_and_pushes_a_card_with_base_model(shared_data, tmp_path):
    import json
    import os
    import subprocess
    import sys

    from huggingface_hub import ModelCard

    from model import hub
    from tests.conftest import REPO, _train_tiny
    from tests.hub_server import LocalHub

    source = _train_tiny(tmp_path / "source", shared_data, "fast")  # a tiny trained checkpoint, metadata and all
    token = "hf_test_write_token_0123456789"
    server = LocalHub(tokens={token: "alice"})
    env = {**os.environ, "HF_ENDPOINT": server.url, "HF_TOKEN": token, "HF_HOME": str(tmp_path / "hf-home"),
           "HF_HUB_CACHE": str(tmp_path / "hf-cache"), "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}
    try:
        hub.push(source, "alice/tiny-fast", token=token, endpoint=server.url)
        vocab = checkpoint.load(source).vocab
        readable = [line for line in MINE if not finetune.check_vocabulary(
            [Pair(*line.split("\t"), 1)], vocab)[0]]
        assert len(readable) >= 5, "the tiny source should read most of these"
        mine = tmp_path / "mine.txt"
        mine.write_text("\n".join(readable * 4 + ["Pay 5 €.\tPaie 5 €."]) + "\n", encoding="utf-8")

        def train(*args):
            return subprocess.run([sys.executable, "train.py", "--from", "hf://alice/tiny-fast", "--data", str(mine),
                                   "--epochs", "2", *args], capture_output=True, text=True, cwd=REPO, env=env,
                                  timeout=600)

        refused = train("--out", str(tmp_path / "refused"))
        assert refused.returncode == 2 and "'€' in the English, 1 time, first on line" in refused.stderr
        assert "--drop-unknown-pairs to leave out the 1 pair that holds them" in refused.stderr
        assert not (tmp_path / "refused").exists()

        out = tmp_path / "tuned"
        done = train("--out", str(out), "--drop-unknown-pairs", "--replay", "0.25", "--push-to-hub", "alice/tiny-cafe")
        assert done.returncode == 0, done.stderr[-3000:]
        metadata = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
        lineage = metadata["base_model"]
        repo = server.repos["alice/tiny-fast"]
        assert lineage["hub_id"] == "alice/tiny-fast" and lineage["revision"] == repo.refs["main"]
        assert lineage["command"] == checkpoint.read_metadata(source)["command"] and lineage["recipe"] == "fast"
        tune = metadata["fine_tune"]
        assert tune["dropped_pairs"] == 1 and tune["pairs"] == len(readable) * 4 and tune["replay"] == 0.25
        assert tune["replayed_from"] > 100  # the source's own training pairs
        for when in ("before", "after"):
            assert set(tune[when]) == {"general", "own"} and tune[when]["general"]["sentences"] > 1000
        assert metadata["train_config"]["learning_rate"] == 0.0003 and metadata["recipe"] == "fast"

        card_path = tmp_path / "README.md"
        card_path.write_bytes(server.repos["alice/tiny-cafe"].files("main")["README.md"])
        card = ModelCard.load(card_path)
        assert card.data.base_model == "alice/tiny-fast" and card.data.language == ["en", "fr"]
        assert card.data.pipeline_tag == "translation" and card.data.eval_results
        assert "Fine-tuned from `alice/tiny-fast` at revision" in card.text
    finally:
        server.close()


def test_the_cafe_example_is_outside_the_corpus_and_inside_the_defaults_vocabulary(shared_data):
    from model import data
    from model.checkpoint import bundled_path

    from tests.conftest import REPO

    corpus = {p.english for p in data.read_pairs(shared_data)}
    vocab = checkpoint.load(bundled_path("default")).vocab
    files = {name: data.read_pairs(REPO / "examples" / "cafe" / name) for name in ("pairs.tsv", "test.tsv")}
    assert len(files["pairs.tsv"]) + len(files["test.tsv"]) >= 200
    for pairs in files.values():
        assert not {p.english for p in pairs} & corpus
        assert finetune.check_vocabulary(pairs, vocab)[0] == []
    assert not {p.english for p in files["pairs.tsv"]} & {p.english for p in files["test.tsv"]}


@pytest.mark.slow
def test_the_recipes_network_and_legacy_models_cannot_be_fine_tuned_and_say_why(random_checkpoint):
    with pytest.raises(ValueError, match="the keras.io recipe's network .* fine-tuning continues masked networks"):
        finetune.open_source(str(random_checkpoint))
    with pytest.raises(ValueError, match="is not a bundled name and no such path exists"):
        finetune.open_source("no-such-model")

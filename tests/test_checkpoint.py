"""Checkpoints (model/checkpoint.py): save -> load round trip, and every broken file named on load."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from model import checkpoint, load_source
from model.checkpoint import CheckpointError
from model.translator import DecodeOptions
from model.vocab import Vocabulary
from tests.random_models import make_random_checkpoint, random_config, random_model, random_vocabulary

SENTENCES = ["Go.", "Hi.", "Run!", "Who?", "I see.", "Hug me."]


@pytest.fixture()
def copy(random_checkpoint, tmp_path):
    """A private copy of the random-weight checkpoint that a test may damage."""
    return shutil.copytree(random_checkpoint, tmp_path / "ckpt")


def _outputs(translator, options=None):
    return [r.to_dict() for r in translator.translate_batch(SENTENCES, options)]


def test_checkpoint_holds_the_fixed_files(random_checkpoint):
    assert {p.name for p in random_checkpoint.iterdir()} >= {"model.keras", "vocab.json", "metadata.json"}
    vocab = json.loads((random_checkpoint / "vocab.json").read_text(encoding="utf-8"))
    assert vocab["start_token"] == "\t" and vocab["end_token"] == "\n" and vocab["pad_token"] == " "
    assert vocab["target_characters"] == sorted(vocab["target_characters"])
    metadata = json.loads((random_checkpoint / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["model_config"]["num_decoder_tokens"] == len(vocab["target_characters"])
    assert metadata["model_config"]["latent_dim"] == 8  # make_random_checkpoint's default


def test_save_load_round_trip_gives_identical_output(random_checkpoint, tmp_path):
    model, vocab, config, metadata = checkpoint.load_keras(random_checkpoint)
    first = checkpoint.load(random_checkpoint)
    again_dir = checkpoint.save(tmp_path / "again", model, vocab, config, metadata)
    again = checkpoint.load(again_dir)
    assert again.vocab == first.vocab and again.config == first.config
    for options in (None, DecodeOptions(method="beam", beam_size=3), DecodeOptions(method="sample", seed=4)):
        assert _outputs(again, options) == _outputs(first, options)
    reloaded = checkpoint.load_keras(again_dir)[0]
    for a, b in zip(model.get_weights(), reloaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    # Saving leaves no temporary files behind.
    assert not [p for p in again_dir.iterdir() if p.name.startswith(".tmp")]


@pytest.mark.parametrize("kind", ["recipe", "fast"])
def test_in_memory_model_and_loaded_checkpoint_agree(kind, tmp_path):
    """What a Keras model holds in memory is what the checkpoint gives back after a reload."""
    from model import network
    from model.translator import Translator

    vocab = random_vocabulary()
    config = random_config(kind, vocab)
    model = random_model(config, vocab, seed=3)
    live = Translator(vocab, config, network.engine_weights(model, config))
    saved = checkpoint.load(checkpoint.save(tmp_path / "ck", model, vocab, config, {}))
    assert _outputs(saved) == _outputs(live)


def test_load_source_accepts_a_directory(random_checkpoint):
    translator = load_source(str(random_checkpoint))
    assert translator.translate("Go.").steps


@pytest.mark.parametrize("name", ["model.keras", "vocab.json", "metadata.json"])
def test_missing_file_is_named(copy, name):
    (copy / name).unlink()
    with pytest.raises(CheckpointError, match=rf"{name}: missing"):
        checkpoint.load(copy)


def test_not_a_directory(tmp_path):
    with pytest.raises(CheckpointError, match="not a checkpoint directory"):
        checkpoint.load(tmp_path / "nothing-here")


@pytest.mark.parametrize("name", ["vocab.json", "metadata.json"])
def test_corrupt_json_is_named(copy, name):
    (copy / name).write_text('{"input_characters": [', encoding="utf-8")
    with pytest.raises(CheckpointError, match=rf"{name}: corrupt JSON"):
        checkpoint.load(copy)


def test_json_that_is_not_an_object(copy):
    (copy / "vocab.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(CheckpointError, match="vocab.json: expected a JSON object"):
        checkpoint.load(copy)


def test_corrupt_model_file_is_named(copy):
    (copy / "model.keras").write_bytes(b"this is not a zip archive")
    with pytest.raises(CheckpointError, match="model.keras: corrupt"):
        checkpoint.load(copy)


def test_truncated_model_file_is_named(copy):
    raw = (copy / "model.keras").read_bytes()
    (copy / "model.keras").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match="model.keras: corrupt"):
        checkpoint.load(copy)


def test_vocabulary_that_does_not_fit_the_weights(copy):
    vocab = json.loads((copy / "vocab.json").read_text(encoding="utf-8"))
    vocab["target_characters"].append("Ω")
    (copy / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    with pytest.raises(CheckpointError) as excinfo:
        checkpoint.load(copy)
    message = str(excinfo.value)
    n = len(vocab["target_characters"])
    assert "vocab.json" in message and "model.keras" in message
    assert f"vocabulary has {n}" in message


def test_model_config_that_does_not_fit_the_weights(copy):
    metadata = json.loads((copy / "metadata.json").read_text(encoding="utf-8"))
    metadata["model_config"]["latent_dim"] = 99
    (copy / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    with pytest.raises(CheckpointError, match="latent_dim=99"):
        checkpoint.load(copy)


def test_weights_from_another_vocabulary(copy, tmp_path):
    # A model file whose shapes belong to a different vocabulary, with this checkpoint's JSON files.
    other = make_random_checkpoint(tmp_path / "other", "recipe", vocab=random_vocabulary(
        input_characters=" abc", target_characters=["\t", "\n", " ", "x", "y"]))
    shutil.copy(other / "model.keras", copy / "model.keras")
    with pytest.raises(CheckpointError, match=r"model.keras: shapes do not match vocab.json"):
        checkpoint.load(copy)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda v: v.pop("target_characters"), "invalid vocabulary"),
        (lambda v: v.update(end_token="<eos>"), "end_token"),
        (lambda v: v["target_characters"].remove("\t"), "START"),
    ],
)
def test_invalid_vocabulary_is_named(copy, change, message):
    vocab = json.loads((copy / "vocab.json").read_text(encoding="utf-8"))
    change(vocab)
    (copy / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    with pytest.raises(CheckpointError, match=rf"vocab.json: .*{message}"):
        checkpoint.load(copy)


def test_invalid_model_config_is_named(copy):
    metadata = json.loads((copy / "metadata.json").read_text(encoding="utf-8"))
    del metadata["model_config"]
    (copy / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    with pytest.raises(CheckpointError, match="metadata.json: invalid model_config"):
        checkpoint.load(copy)


def test_save_refuses_a_mismatched_vocabulary(random_checkpoint, tmp_path):
    model, vocab, config, metadata = checkpoint.load_keras(random_checkpoint)
    other = Vocabulary.from_texts(["abc"], ["\txyz\n"])
    with pytest.raises(CheckpointError, match="shapes do not match"):
        checkpoint.save(tmp_path / "bad", model, other, config, metadata)
    assert not (tmp_path / "bad" / "model.keras").exists()


def test_bad_source_lists_the_accepted_forms(tmp_path):
    from model import SourceError

    with pytest.raises(SourceError, match="default"):
        load_source(str(tmp_path / "missing"))

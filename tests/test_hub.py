"""The Hub journeys end to end, with the real huggingface_hub client and no mocks of it.

- Pull keras-io/cl_s2s: a legacy tf.keras SavedModel built here with tf_keras (the recipe's
  architecture, default layer names, known weights, optimizer slots), laid out in a temporary Hub
  cache exactly as huggingface_hub lays it out, loaded through snapshot_download with
  HF_HUB_OFFLINE=1; our translations and step probabilities equal tf_keras' own predictions.
- Push then pull: a tiny seeded random-weight checkpoint pushed to a local Hub server
  (tests/hub_server.py) through HF_ENDPOINT, pulled back into an empty cache; it translates
  identically and its card parses; the card is never written into the checkpoint.
- Errors: vocabulary/shape mismatch, missing/rejected token, unreachable endpoint, offline without a
  cache, missing repo or revision, corrupt and truncated downloads, the size cap. Each surfaces as a
  SourceError (what the app catches to fall back to the bundled model) or a HubError for pushes.
- A hostile Hub: one that never answers or drips a byte every 5 s cannot hang `python -m model
  translate` or `push` (run as subprocesses, timed); a listing that lies about sizes, a download that
  announces 10 GB or never ends, a commit sha that is not 40-hex (or differs from the listed one), and
  a failing listing are refused without writing past the cap or outside the cache.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from model import checkpoint, hub, legacy
from model.__main__ import main as cli
from model.sources import SourceError, load_source
from model.translator import DecodeOptions
from model.vocab import Vocabulary
from tests.hub_server import LocalHub

TOKEN = "hf_test_write_token_0123456789"
TINY_PAIRS = "Go.\tVa !\nHi.\tSalut.\nRun!\tCours !\nWho?\tQui ?\nWow!\tÇa alors !\nFire!\tAu feu !\nHelp!\tÀ l'aide !\n"
SENTENCES = ["Go.", "Hi.", "Run!", "Who?", "Wow!", "Fire!", "Help!"]


# -- environment: an isolated Hub cache, no token, online unless a test says otherwise ----------

@pytest.fixture
def hf_home(tmp_path, monkeypatch):
    """Point huggingface_hub at an empty cache and no stored token. Its constants are read at
    import, so they are patched where the client reads them (see ECOSYSTEM.md)."""
    from huggingface_hub import constants

    cache = tmp_path / "hf-cache"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "no-stored-tokens"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    monkeypatch.delenv(hub.MAX_DOWNLOAD_ENV, raising=False)
    return cache


@pytest.fixture
def local_hub(hf_home, monkeypatch):
    server = LocalHub(tokens={TOKEN: "alice", "hf_read_only_token": "bob"}, orgs=("keras-io",))
    server.read_only_tokens.add("hf_read_only_token")
    monkeypatch.setenv("HF_ENDPOINT", server.url)
    yield server
    server.close()


# -- the legacy SavedModel fixture -----------------------------------------------------------

def build_legacy_savedmodel(out: Path, pairs_file: Path, latent_dim: int, seed: int):
    """The keras.io recipe's network in tf_keras (Keras 2), saved as a legacy SavedModel.

    Layers keep Keras' default names (lstm, lstm_1, dense) as in the recipe. Weights are set from a
    seeded generator, then one RMSprop step adds optimizer slots beside them, as after `fit`.
    Returns (tf_keras model, vocabulary).
    """
    import tf_keras
    from model import data

    pairs = data.read_pairs(pairs_file, limit=legacy.RECIPE_NUM_SAMPLES)
    vocab = Vocabulary.from_texts([p.english for p in pairs], [data.wrap_target(p.french) for p in pairs])
    ne, nd = vocab.num_encoder_tokens, vocab.num_decoder_tokens
    encoder_inputs = tf_keras.Input(shape=(None, ne))
    _, state_h, state_c = tf_keras.layers.LSTM(latent_dim, return_state=True)(encoder_inputs)
    decoder_inputs = tf_keras.Input(shape=(None, nd))
    decoder_outputs, _, _ = tf_keras.layers.LSTM(latent_dim, return_sequences=True, return_state=True)(
        decoder_inputs, initial_state=[state_h, state_c])
    outputs = tf_keras.layers.Dense(nd, activation="softmax")(decoder_outputs)
    model = tf_keras.Model([encoder_inputs, decoder_inputs], outputs)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.8, w.shape).astype("float32") for w in model.get_weights()])
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy")
    enc, dec, target = data.vectorize_onehot([p.english for p in pairs[:8]],
                                             [data.wrap_target(p.french) for p in pairs[:8]], vocab)
    model.train_on_batch([enc, dec], target)
    model.save(str(out))  # Keras 2: a SavedModel directory (saved_model.pb, keras_metadata.pb, variables/)
    return model, vocab


def keras_greedy(model, vocab: Vocabulary, text: str):
    """The recipe's greedy decoding with the tf_keras model itself: (chars, per-step distributions)."""
    from model import data

    enc, _, _ = data.vectorize_onehot([text], [data.wrap_target("")], vocab)
    eye = np.eye(vocab.num_decoder_tokens, dtype="float32")
    tokens, dists = [vocab.start_index], []
    for _ in range(vocab.max_decoder_seq_length + 1):
        probs = model([enc, eye[tokens][None]], training=False).numpy()[0, -1]
        dists.append(probs)
        tokens.append(int(np.argmax(probs)))
        if tokens[-1] == vocab.end_index:
            break
    return [vocab.target_characters[t] for t in tokens[1:]], dists


def lay_out_in_cache(cache: Path, repo_id: str, source_dir: Path) -> str:
    """Copy a directory into a Hub cache as huggingface_hub does: blobs by content hash, snapshot
    symlinks into them, and refs/main naming the commit."""
    commit = hashlib.sha1(repo_id.encode()).hexdigest()
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    for file in sorted(p for p in source_dir.rglob("*") if p.is_file()):
        content = file.read_bytes()
        blob = repo / "blobs" / hashlib.sha256(content).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(content)
        link = snapshot / file.relative_to(source_dir)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    return commit


@pytest.fixture(scope="module")
def tiny_pairs(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pairs") / "tiny.txt"
    path.write_text(TINY_PAIRS, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def legacy_tiny(tmp_path_factory, tiny_pairs):
    out = tmp_path_factory.mktemp("legacy") / "s2s"
    model, vocab = build_legacy_savedmodel(out, tiny_pairs, latent_dim=6, seed=3)
    return out, model, vocab


@pytest.fixture(scope="module")
def legacy_recipe_sized(tmp_path_factory, shared_data):
    """The recipe's real 70 / 93 character shapes (latent_dim 4), from the 2019 release's first 10,000 pairs."""
    out = tmp_path_factory.mktemp("legacy-recipe") / "s2s"
    model, vocab = build_legacy_savedmodel(out, shared_data, latent_dim=4, seed=5)
    return out, model, vocab


def assert_same_as_keras(translator, model, vocab, sentences):
    everything = DecodeOptions(top_k=vocab.num_decoder_tokens)
    for text in sentences:
        ours = translator.translate(text, everything)
        chars, dists = keras_greedy(model, vocab, text)
        assert [s.char for s in ours.steps] == chars, text
        for step, dist in zip(ours.steps, dists):
            ours_dist = dict(step.top)
            np.testing.assert_allclose([ours_dist[c] for c in vocab.target_characters], dist, atol=2e-5)
            assert step.prob == pytest.approx(float(dist.max()), abs=2e-5)


# -- pull: the legacy SavedModel ---------------------------------------------------------------

def test_legacy_savedmodel_from_offline_cache_matches_tf_keras(legacy_tiny, tiny_pairs, hf_home, monkeypatch):
    from huggingface_hub import constants

    directory, model, vocab = legacy_tiny
    commit = lay_out_in_cache(hf_home, "keras-io/cl_s2s", directory)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    # Nothing may execute the saved graph or deserialize a Keras 2 model.
    import tensorflow as tf
    import tf_keras

    def forbidden(*args, **kwargs):
        raise AssertionError("the SavedModel graph must never be loaded")

    monkeypatch.setattr(tf.saved_model, "load", forbidden)
    monkeypatch.setattr(tf_keras.models, "load_model", forbidden)

    translator = load_source("hf://keras-io/cl_s2s", vocab_data=str(tiny_pairs))
    assert translator.vocab == vocab
    assert translator.config.latent_dim == 6 and translator.config.input_encoding == "onehot"
    assert translator.metadata["data"]["source"] == str(tiny_pairs)
    assert_same_as_keras(translator, model, vocab, SENTENCES)
    # The same commit pinned by sha, and the plain directory, load the same weights.
    pinned = load_source(f"hf://keras-io/cl_s2s@{commit}", vocab_data=str(tiny_pairs))
    np.testing.assert_array_equal(pinned.weights.dense_kernel, translator.weights.dense_kernel)
    local = load_source(str(directory), vocab_data=str(tiny_pairs))
    assert local.translate("Go.").translation == translator.translate("Go.").translation


def test_legacy_layers_are_found_by_object_graph_not_keys(legacy_tiny):
    directory, model, _ = legacy_tiny
    layers = legacy.read_layers(directory)
    assert [layer.name for layer in layers] == ["lstm", "lstm_1", "dense"]
    weights = legacy.map_weights(layers, directory)
    keras_weights = model.get_weights()  # encoder k, r, b, decoder k, r, b, dense k, b
    for ours, theirs in zip([weights.encoder.input_table, weights.encoder.recurrent_kernel, weights.encoder.bias,
                             weights.decoder.input_table, weights.decoder.recurrent_kernel, weights.decoder.bias,
                             weights.dense_kernel, weights.dense_bias], keras_weights):
        np.testing.assert_array_equal(ours, theirs)


def test_legacy_layers_the_engine_cannot_compute_are_refused(legacy_tiny):
    directory = legacy_tiny[0]
    layers = legacy.read_layers(directory)
    assert layers[0].config["config"]["recurrent_activation"] == "sigmoid"  # read from keras_metadata.pb
    layers[1].config["config"]["recurrent_activation"] = "hard_sigmoid"  # Keras 2's LSTMV1 default
    with pytest.raises(legacy.LegacyModelError, match="layer lstm_1 is not the recipe's LSTM: recurrent_activation"):
        legacy.map_weights(layers, directory)
    with pytest.raises(legacy.LegacyModelError, match=r"not the recipe's network .*found lstm \(bias \(24,\)"):
        legacy.map_weights(legacy.read_layers(directory)[:1], directory)


def test_legacy_graph_file_is_never_parsed(legacy_tiny, tiny_pairs, tmp_path):
    directory, model, vocab = legacy_tiny
    copy = tmp_path / "s2s"
    shutil.copytree(directory, copy)
    (copy / legacy.SAVED_MODEL_FILE).write_bytes(b"not a graph at all")
    translator = load_source(str(copy), vocab_data=str(tiny_pairs))
    assert_same_as_keras(translator, model, vocab, ["Go."])


def test_recipe_sized_legacy_model_with_the_2019_data(legacy_recipe_sized, shared_data):
    directory, model, vocab = legacy_recipe_sized
    assert (vocab.num_encoder_tokens, vocab.num_decoder_tokens) == legacy.RECIPE_COUNTS
    translator = load_source(str(directory), vocab_data=str(shared_data))
    assert_same_as_keras(translator, model, vocab, ["Go.", "I'm sorry."])


def test_vocabulary_mismatch_names_both_counts(legacy_recipe_sized, legacy_tiny, tiny_pairs, shared_data):
    recipe_dir = legacy_recipe_sized[0]
    tiny_dir, _, vocab = legacy_tiny
    with pytest.raises(SourceError) as err:
        load_source(str(recipe_dir), vocab_data=str(tiny_pairs))
    message = str(err.value)
    assert "expect 70 input / 93 target characters" in message
    assert f"give {vocab.num_encoder_tokens} / {vocab.num_decoder_tokens}" in message
    assert "2019 fra-eng release is needed" in message
    with pytest.raises(SourceError, match=rf"expect {vocab.num_encoder_tokens} input / {vocab.num_decoder_tokens} "
                                          rf"target characters, but the first 10000 pairs of .* give 70 / 93"):
        load_source(str(tiny_dir), vocab_data=str(shared_data))


def test_corrupt_legacy_variables(legacy_tiny, tiny_pairs, tmp_path):
    copy = tmp_path / "s2s"
    shutil.copytree(legacy_tiny[0], copy)
    index = copy / "variables" / "variables.index"
    index.write_bytes(index.read_bytes()[: len(index.read_bytes()) // 3])
    with pytest.raises(SourceError, match="cannot read the variables checkpoint.*corrupt"):
        load_source(str(copy), vocab_data=str(tiny_pairs))


# -- push, then pull -------------------------------------------------------------------------

@pytest.fixture
def pushable(random_checkpoint, tmp_path):
    """A copy of conftest's seeded random-weight checkpoint with training figures, held-out figures and
    curves, as train.py leaves a trained one."""
    from model import plots

    out = tmp_path / "ckpt"
    shutil.copytree(random_checkpoint, out)
    metadata = checkpoint.read_metadata(out)
    metadata["train_config"] = {"latent_dim": metadata["model_config"]["latent_dim"], "epochs": 3, "batch_size": 32}
    metadata["history"] = {"loss": [2.0, 1.5, 1.2], "val_loss": [2.1, 1.7, 1.5],
                           "accuracy": [0.2, 0.3, 0.4], "val_accuracy": [0.2, 0.25, 0.3]}
    metadata["evaluation"] = {"split": "heldout", "greedy": {"chrf": 21.37, "chrf++": 19.5, "bleu": 3.21,
                                                           "exact_match": 0.5, "sentences": 120}}
    metadata["epochs_run"] = 3
    checkpoint.write_json(out / checkpoint.METADATA_FILE, metadata)
    plots.training_curves(metadata["history"], out / checkpoint.CURVES_FILE, "tiny")
    return out


def test_push_then_pull_round_trip(pushable, local_hub, monkeypatch, capsys, tmp_path):
    from huggingface_hub import ModelCard, constants

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    files_before = sorted(p.name for p in pushable.iterdir())
    assert cli(["push", str(pushable), "alice/cl_s2s-tiny"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == f"{local_hub.url}/alice/cl_s2s-tiny"
    assert TOKEN not in out + err
    assert sorted(p.name for p in pushable.iterdir()) == files_before  # the card is staged in memory only

    repo = local_hub.repos["alice/cl_s2s-tiny"]
    stored = repo.files("main")
    assert set(stored) == {"model.keras", "vocab.json", "metadata.json", "training_curves.png", "README.md"}
    assert all(TOKEN.encode() not in content for content in stored.values())
    message = repo.messages[repo.refs["main"]]
    latent_dim = checkpoint.read_metadata(pushable)["model_config"]["latent_dim"]
    assert message.startswith(f"Upload keras-io model: latent_dim {latent_dim}") and "held-out chrF 21.37, BLEU 3.21" in message

    card_path = tmp_path / "README.md"
    card_path.write_bytes(stored["README.md"])
    card = ModelCard.load(card_path)
    assert card.data.library_name == "keras" and card.data.pipeline_tag == "translation"
    assert card.data.language == ["en", "fr"] and card.data.license and card.data.datasets and card.data.tags
    results = {r.metric_type: r.metric_value for r in card.data.eval_results}
    assert results == {"chrf": 21.37, "bleu": 3.21}
    for needle in (f"| latent_dim | {latent_dim} |", "![Training curves](./training_curves.png)", "CC-BY 2.0", "Tatoeba",
                   "manythings.org", "MODEL_SOURCE=hf://alice/cl_s2s-tiny python app.py",
                   'python -m model translate --model hf://alice/cl_s2s-tiny "Go."'):
        assert needle in card.text, needle

    # Pull into the empty cache through HF_ENDPOINT: identical translations, step by step.
    original = checkpoint.load(pushable)
    pulled = load_source("hf://alice/cl_s2s-tiny")
    for text in ["Go.", "Hi.", "I'm sorry."]:
        a, b = original.translate(text), pulled.translate(text)
        assert a.translation == b.translation and [s.prob for s in a.steps] == [s.prob for s in b.steps]

    # Every file came from the commit the listing named, not from whatever "main" was by then.
    sha = repo.refs["main"]
    downloads = [path for method, path, _ in local_hub.requests if "/resolve/" in path]
    assert downloads and all(f"/resolve/{sha}/" in path for path in downloads)

    # The CLI on the same handle, then pinned to the commit, then offline from the cache alone.
    assert cli(["translate", "--model", "hf://alice/cl_s2s-tiny", "Go."]) == 0
    assert capsys.readouterr().out.strip() == original.translate("Go.").translation
    assert load_source(f"hf://alice/cl_s2s-tiny@{sha}").translate("Hi.").translation == original.translate("Hi.").translation
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    gets = len(local_hub.requests)
    assert load_source("hf://alice/cl_s2s-tiny").translate("Go.").translation == original.translate("Go.").translation
    assert len(local_hub.requests) == gets  # served from the cache, no request made


def test_the_bundled_attention_model_round_trips_with_its_figures_on_the_card(local_hub, monkeypatch, tmp_path):
    """The default (attention) checkpoint as shipped: push, read the card, pull, same steps and attention."""
    from huggingface_hub import ModelCard

    bundled = checkpoint.bundled_path("attention")
    metadata = checkpoint.read_metadata(bundled)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    assert cli(["push", str(bundled), "alice/cl_s2s-attention"]) == 0
    stored = local_hub.repos["alice/cl_s2s-attention"].files("main")
    card_path = tmp_path / "README.md"
    card_path.write_bytes(stored["README.md"])
    card = ModelCard.load(card_path)
    greedy, visitor = metadata["evaluation"]["greedy"], metadata["evaluation_visitor"]["greedy"]
    assert {(r.dataset_split, r.metric_type): r.metric_value for r in card.data.eval_results} == {
        ("heldout", "chrf"): greedy["chrf"], ("heldout", "bleu"): greedy["bleu"], ("visitor", "chrf"): visitor["chrf"]}
    assert "The visitor set: everyday English sentences" in card.text
    assert "attends over the encoder outputs" in card.text and "| recipe | attention |" in card.text
    # Every decoding run and every tier of the metadata is a row of the card's table.
    for run in ("greedy", "beam4"):
        figures = metadata["evaluation"][run]
        assert f"| {run} | {figures['sentences']} | {figures['chrf']} |" in card.text
        visitor_figures = metadata["evaluation_visitor"][run]
        assert f"| {run} | {visitor_figures['sentences']} | {visitor_figures['chrf']} |" in card.text
        for tier, tier_figures in figures["tiers"].items():
            if "chrf" in tier_figures:
                assert f"| {run}, {tier} characters | {tier_figures['sentences']} | {tier_figures['chrf']} |" in card.text

    original = checkpoint.load(bundled)
    pulled = load_source("hf://alice/cl_s2s-attention")
    assert pulled.has_attention
    for text in ["I am very happy.", "Tom is tall."]:
        a, b = original.translate(text), pulled.translate(text)
        assert a.translation == b.translation
        assert [s.prob for s in a.steps] == [s.prob for s in b.steps]
        assert [s.attention for s in a.steps] == [s.attention for s in b.steps]


def test_pushing_again_adds_a_commit_and_private_repos_need_the_token(pushable, local_hub, monkeypatch, tmp_path):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    url = hub.push(pushable, "keras-io/cl_s2s-private", private=True)
    assert url.endswith("/keras-io/cl_s2s-private") and local_hub.repos["keras-io/cl_s2s-private"].private
    hub.push(pushable, "keras-io/cl_s2s-private")  # exist_ok: a second commit, no error
    assert len(local_hub.repos["keras-io/cl_s2s-private"].commits) == 2
    assert load_source("hf://keras-io/cl_s2s-private").vocab.num_encoder_tokens > 0
    monkeypatch.delenv("HF_TOKEN")
    # A fresh cache: huggingface_hub rightly serves an already cached snapshot when the Hub says no.
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "other-cache"))
    with pytest.raises(SourceError, match="not found.*private repository needs HF_TOKEN"):
        load_source("hf://keras-io/cl_s2s-private")


# -- errors -----------------------------------------------------------------------------------

def _posts(server: LocalHub) -> list[str]:
    return [path for method, path, _ in server.requests if method == "POST"]


def test_missing_token_fails_before_any_upload(pushable, local_hub, capsys):
    with pytest.raises(hub.HubError, match="needs a Hugging Face token with write access: set HF_TOKEN"):
        hub.check_push_access("alice/x")
    assert cli(["push", str(pushable), "alice/x"]) == 1
    assert "set HF_TOKEN or run `hf auth login`" in capsys.readouterr().err
    assert _posts(local_hub) == [] and not (pushable / hub.CARD_FILE).exists()


def test_rejected_or_read_only_token_fails_before_any_upload(pushable, local_hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_wrong_secret_value")
    with pytest.raises(hub.HubError, match="rejected the Hugging Face token") as err:
        hub.push(pushable, "alice/x")
    assert "hf_wrong_secret_value" not in str(err.value)
    monkeypatch.setenv("HF_TOKEN", "hf_read_only_token")
    with pytest.raises(hub.HubError, match="read-only"):
        hub.push(pushable, "alice/x")
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    with pytest.raises(hub.HubError, match="belongs to alice, who cannot write to someone-else/"):
        hub.check_push_access("someone-else/x")
    assert _posts(local_hub) == []


def test_unreachable_endpoint(hf_home, monkeypatch, pushable):
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    with pytest.raises(SourceError, match=rf"cannot load hf://alice/cl_s2s-tiny: cannot reach http://127.0.0.1:{port} "
                                          r"and alice/cl_s2s-tiny is not in the local Hugging Face cache"):
        load_source("hf://alice/cl_s2s-tiny")
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    with pytest.raises(hub.HubError, match="cannot reach .* to check the token"):
        hub.push(pushable, "alice/x")


def test_offline_without_cache_and_missing_repo_or_revision(local_hub, monkeypatch, pushable):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    hub.push(pushable, "alice/cl_s2s-tiny")
    with pytest.raises(SourceError, match="repository alice/nope not found on"):
        load_source("hf://alice/nope")
    with pytest.raises(SourceError, match="has no such revision"):
        load_source("hf://alice/cl_s2s-tiny@v9")
    with pytest.raises(SourceError, match="not a Hub model handle"):
        load_source("hf://just-a-name")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(SourceError, match="not in the local Hugging Face cache and HF_HUB_OFFLINE is set"):
        load_source("hf://alice/cl_s2s-tiny")


def test_corrupt_and_truncated_downloads(local_hub, pushable, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    hub.push(pushable, "alice/broken")
    model_bytes = local_hub.repos["alice/broken"].files("main")["model.keras"]
    local_hub.commit("alice/broken", {"model.keras": b"PK\x03\x04" + bytes(len(model_bytes))}, "damage it")
    with pytest.raises(SourceError, match=r"hf://alice/broken: .*model.keras: corrupt or not a Keras 3 model file"):
        load_source("hf://alice/broken")
    hub.push(pushable, "alice/cut")
    local_hub.truncate.add("model.keras")
    with pytest.raises(SourceError, match=r"cannot load hf://alice/cut: downloading alice/cut from .* failed"):
        load_source("hf://alice/cut")


def test_download_size_is_capped(local_hub, pushable, monkeypatch, hf_home):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_TOKEN", TOKEN)
    hub.push(pushable, "alice/big")
    monkeypatch.setenv(hub.MAX_DOWNLOAD_ENV, "0.01")
    with pytest.raises(SourceError, match=r"alice/big holds .* MB of model files, over the 0.01 MB limit"):
        load_source("hf://alice/big")
    assert not [p for m, p, _ in local_hub.requests if "/resolve/" in p]  # nothing was downloaded
    # A snapshot already in the cache is measured on disk, online or offline.
    monkeypatch.delenv(hub.MAX_DOWNLOAD_ENV)
    load_source("hf://alice/big")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv(hub.MAX_DOWNLOAD_ENV, "0.01")
    with pytest.raises(SourceError, match="the snapshot in .* is .* MB, over the"):
        load_source("hf://alice/big")


def test_parse_handle():
    assert hub.parse_handle("hf://keras-io/cl_s2s") == ("keras-io/cl_s2s", None)
    assert hub.parse_handle("hf://keras-io/cl_s2s@refs/pr/1") == ("keras-io/cl_s2s", "refs/pr/1")
    for bad in ("hf://", "hf://a", "hf://a/b/c", "hf://a/b@", "hf://../x"):
        with pytest.raises(hub.HubError, match="hf://owner/repo"):
            hub.parse_handle(bad)


# -- a hostile Hub --------------------------------------------------------------------------------

def _cache_files(cache: Path) -> list[Path]:
    return sorted(p for p in cache.rglob("*") if p.is_file() and ({"blobs", "snapshots"} & set(p.parts)))


def test_a_failing_listing_never_downloads_uncapped(local_hub, pushable, monkeypatch, hf_home):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    hub.push(pushable, "alice/flaky")
    local_hub.fail_info = 503
    with pytest.raises(SourceError, match=r"cannot load hf://alice/flaky: .* answered HTTP 503 for alice/flaky"):
        load_source("hf://alice/flaky")
    assert not [p for m, p, _ in local_hub.requests if "/resolve/" in p] and _cache_files(hf_home) == []
    # Once cached, the same failure serves the cached snapshot, and still downloads nothing.
    local_hub.fail_info = None
    expected = load_source("hf://alice/flaky").translate("Go.").translation
    local_hub.fail_info = 503
    downloads = len([p for m, p, _ in local_hub.requests if "/resolve/" in p])
    assert load_source("hf://alice/flaky").translate("Go.").translation == expected
    assert len([p for m, p, _ in local_hub.requests if "/resolve/" in p]) == downloads


@pytest.mark.parametrize("lie, message", [
    ("listing", r"announced {size} bytes \(Content-Length\) for model.keras, listed as 10 bytes"),
    ("content-length", r"announced 10737418240 bytes \(Content-Length\) for model.keras, listed as {size} bytes"),
    ("endless body", r"sent more than {size} bytes for model.keras, listed as {size} bytes"),
])
def test_the_download_cap_holds_while_streaming(local_hub, pushable, monkeypatch, hf_home, lie, message):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv(hub.MAX_DOWNLOAD_ENV, "100")
    hub.push(pushable, "alice/liar")
    size = len(local_hub.repos["alice/liar"].files("main")["model.keras"])
    if lie == "listing":
        local_hub.listed_sizes = {"model.keras": 10}  # then the file itself is served, larger
    else:
        local_hub.oversize = {"model.keras": 10 * 2**30 if lie == "content-length" else None}
    with pytest.raises(SourceError, match=r"cannot load hf://alice/liar: fetching alice/liar: http://127.0.0.1:\d+ "
                                          + message.format(size=size) + "; refusing it"):
        load_source("hf://alice/liar")
    gets = [p for m, p, _ in local_hub.requests if m == "GET" and p.endswith("/model.keras")]
    assert len(gets) == (0 if lie == "listing" else 1)  # refused once, never resumed
    assert local_hub.served["model.keras"] < 32 * 1024 * 1024  # the client stopped reading
    assert _cache_files(hf_home) == []  # the files of the aborted download were removed again


def test_a_commit_sha_that_is_not_40_hex_or_not_the_listed_one_is_refused(local_hub, pushable, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    hub.push(pushable, "alice/evil")
    sha = local_hub.repos["alice/evil"].refs["main"]
    everything = lambda: sorted(p for p in tmp_path.rglob("*"))  # noqa: E731
    before = everything()
    local_hub.commit_sha = "../../../../escaped"
    with pytest.raises(SourceError, match=r"answered commit '../../../../escaped', not a 40-hex commit sha; refusing it"):
        load_source("hf://alice/evil")
    assert everything() == before  # not a trees/*.json inside or outside the cache
    local_hub.commit_sha, local_hub.header_commit = None, "../../../../escaped"
    with pytest.raises(SourceError, match=rf"answered commit '../../../../escaped' where {sha} was expected"):
        load_source("hf://alice/evil")
    local_hub.header_commit = "f" * 40
    with pytest.raises(SourceError, match=rf"answered commit '{'f' * 40}' where {sha} was expected"):
        load_source("hf://alice/evil")
    assert _cache_files(tmp_path / "hf-cache") == []


def test_a_download_that_drips_stops_at_the_deadline(local_hub, pushable, monkeypatch, hf_home):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    hub.push(pushable, "alice/slow")
    local_hub.trickle_bodies, local_hub.drip_interval = {"model.keras"}, 1.0  # under every read timeout
    monkeypatch.setenv(hub.TIMEOUT_ENV, "4")
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"fetching alice/slow: .* did not (answer completely|finish) within 4 s"):
        load_source("hf://alice/slow")
    assert time.monotonic() - started < 10
    # The worker stops at its next byte and takes its partial file with it.
    for _ in range(50):
        if not list(hf_home.rglob("*.incomplete")) and _cache_files(hf_home) == []:
            break
        time.sleep(0.1)
    assert not list(hf_home.rglob("*.incomplete")) and _cache_files(hf_home) == []


def test_push_refuses_files_that_leave_the_checkpoint(pushable, local_hub, monkeypatch, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("HF_TOKEN=hf_secret")
    (pushable / checkpoint.CURVES_FILE).unlink()
    (pushable / checkpoint.CURVES_FILE).symlink_to(secret)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    with pytest.raises(hub.HubError,
                       match=r"not pushing .*training_curves.png: a symlink to .*secret.txt, outside the checkpoint"):
        hub.push(pushable, "alice/x")
    assert _posts(local_hub) == []


def _run_cli(args: list[str], env: dict[str, str]) -> tuple[int, str, float]:
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "model", *args], env=env, capture_output=True, text=True, timeout=180,
                            cwd=Path(__file__).resolve().parent.parent)
    return result.returncode, result.stderr, time.monotonic() - started


@pytest.mark.parametrize("mode", ["never answers", "one byte every 5 s"])
def test_a_hub_that_hangs_cannot_hang_the_cli(mode, random_checkpoint, tmp_path):
    """`python -m model translate --model hf://evil/m Go.` and `python -m model push` against a local Hub that
    accepts connections and then never answers, or drips one byte every 5 s (slower than nothing, faster
    than any read timeout): both exit with a clear error in bounded time."""
    server = LocalHub(tokens={TOKEN: "alice"})
    env = {**os.environ, "HF_ENDPOINT": server.url, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_CACHE": str(tmp_path / "hub"),
           "HF_TOKEN": TOKEN, "TF_CPP_MIN_LOG_LEVEL": "2", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    if mode == "never answers":
        server.hang = True
        # The request timeouts alone end it; the overall deadline is far away.
        env.update(HF_HUB_ETAG_TIMEOUT="2", HF_HUB_DOWNLOAD_TIMEOUT="2", **{hub.TIMEOUT_ENV: "120"})
        expected = {"translate": r"error: cannot load hf://evil/m: http://127.0.0.1:\d+ did not answer within the "
                                 r"request timeout \(2 s HF_HUB_ETAG_TIMEOUT, 2 s HF_HUB_DOWNLOAD_TIMEOUT\) and evil/m "
                                 r"is not in the local Hugging Face cache",
                    "push": r"error: cannot reach http://127.0.0.1:\d+ to check the token \(did not answer within the "
                            r"request timeout"}
    else:
        server.trickle = 5.0
        # Read timeouts stay at huggingface_hub's 10 s default, which a 5 s drip never trips: the deadline must.
        env.pop("HF_HUB_ETAG_TIMEOUT", None), env.pop("HF_HUB_DOWNLOAD_TIMEOUT", None)
        env[hub.TIMEOUT_ENV] = "8"
        expected = {"translate": r"error: cannot load hf://evil/m: fetching evil/m: http://127.0.0.1:\d+ did not answer "
                                 r"completely within 8 s; check the connection or HF_ENDPOINT",
                    "push": r"error: checking the Hugging Face token: http://127.0.0.1:\d+ did not answer completely "
                            r"within 8 s"}
    try:
        for command, args in (("translate", ["translate", "--model", "hf://evil/m", "Go."]),
                              ("push", ["push", str(random_checkpoint), "alice/m"])):
            code, stderr, seconds = _run_cli(args, env)
            assert code != 0 and re.search(expected[command], stderr), (command, stderr[-2000:])
            assert "Traceback" not in stderr and TOKEN not in stderr
            assert seconds < 45, (command, seconds)  # start-up (~5 s) + a 2 s timeout or the 8 s deadline
        assert any(path == "/api/whoami-v2" for _, path, _ in server.requests)
        assert any(path.startswith("/api/models/evil/m") for _, path, _ in server.requests)
    finally:
        server.close()


def test_the_card_names_the_checkpoints_language_pair(random_fast_checkpoint, tmp_path):
    import shutil

    from model.languages import Language, LanguagePair

    spanish = tmp_path / "spanish"
    shutil.copytree(random_fast_checkpoint, spanish)
    metadata = checkpoint.read_metadata(spanish)
    metadata["languages"] = LanguagePair(Language("English", "en"), Language("Spanish", "es")).to_dict()
    metadata["data"] = {**metadata.get("data", {}), "source": "data/spa-eng.txt"}
    metadata["evaluation"] = {"split": "heldout", "greedy": {"chrf": 30.5, "bleu": 4.25}}
    checkpoint.write_json(spanish / checkpoint.METADATA_FILE, metadata)
    card = hub.model_card(spanish, "alice/spanish")
    assert card.data.language == ["en", "es"] and "character-level LSTM English→Spanish" in card.text
    assert {r.task_name for r in card.data.eval_results} == {"English to Spanish translation"}
    assert {r.dataset_type for r in card.data.eval_results} == {"spa-eng"}
    assert "writes the Spanish character by character" in card.text  # the architecture, in the pair's words
    assert "English-Spanish sentence pairs" in card.text and "French" not in card.text
    french = hub.model_card(random_fast_checkpoint, "alice/fast")
    assert french.data.language == ["en", "fr"] and "writes the French" in french.text  # no field: en -> fr

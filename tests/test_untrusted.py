"""Crafted checkpoints fail fast, with a clear error, in bounded memory, and nothing in them executes.

Each hostile file is built here, small on disk: a zip member that inflates to 2 GiB (written as one
repeated deflate block, ~2 MB), an HDF5 dataset that declares a 2 GiB kernel (its chunks never
written, a few KB), sparse 100 MB JSON files, external and virtual HDF5 storage that would read a
local "secret" file into the weights, links, FIFOs, symlinks, deeply nested JSON, out-of-range
vocabulary lengths, layer configs the engine does not compute, and two same-shaped layers swapped.
The bombs are loaded in a subprocess whose address space is capped at 1 GiB over its start, so a
reader that decompresses or allocates before checking sizes fails the test instead of passing slowly.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from model import checkpoint, hub, legacy
from model.checkpoint import CheckpointError
from model.network import DECODER_LSTM, ENCODER_LSTM, expected_shapes
from model.sources import SourceError, load_source
from model.vocab import MAX_SEQ_LENGTH, Vocabulary

REPO = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024


# Checkpoints: conftest's seeded random-weight ones (random_checkpoint, random_fast_checkpoint,
# random_attention_checkpoint), copied before any test damages them.


# -- builders --------------------------------------------------------------------------------

class _RepeatedBlock:
    """A deflate "compressor" for a member made of one repeated 1 MiB chunk: after a full flush the
    compressor starts afresh, so every chunk compresses to the same block, computed once."""

    def __init__(self, chunk: bytes):
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        self.block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
        self.tail = compressor.flush(zlib.Z_FINISH)

    def compress(self, data: bytes) -> bytes:
        return self.block

    def flush(self) -> bytes:
        return self.tail


def write_bomb(archive: zipfile.ZipFile, name: str, fill: bytes, mib: int) -> None:
    """Add a member that inflates to `mib` MiB of `fill` while taking about 1 KB per MiB in the zip."""
    chunk = fill * MIB
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    with archive.open(info, "w", force_zip64=True) as member:
        member._compressor = _RepeatedBlock(chunk)  # zipfile still computes the real CRC and sizes
        for _ in range(mib):
            member.write(chunk)


def test_the_bomb_builder_writes_a_valid_member(tmp_path):
    with zipfile.ZipFile(tmp_path / "b.zip", "w") as archive:
        write_bomb(archive, "x", b" ", 3)
    with zipfile.ZipFile(tmp_path / "b.zip") as archive:
        assert archive.getinfo("x").file_size == 3 * MIB and archive.getinfo("x").compress_size < 10_000
        assert archive.read("x") == b" " * 3 * MIB  # CRC checked by zipfile


def copy_checkpoint(src: Path, dst: Path) -> Path:
    return Path(shutil.copytree(src, dst))


def members_of(model_path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(model_path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def rewrite_model(directory: Path, *, config=None, metadata=None, h5=None, bombs=None, replace=None) -> Path:
    """Rebuild directory/model.keras with its config.json, metadata.json or HDF5 weights edited in place,
    members replaced, or members swapped for deflate bombs ({name: (fill byte, MiB)})."""
    import h5py

    model_path = directory / checkpoint.MODEL_FILE
    members = members_of(model_path)
    for name, edit in (("config.json", config), ("metadata.json", metadata)):
        if edit is not None:
            data = json.loads(members[name])
            edit(data)
            members[name] = json.dumps(data).encode()
    if h5 is not None:
        buffer = io.BytesIO(members["model.weights.h5"])
        with h5py.File(buffer, "a") as weights:
            h5(weights)
        members["model.weights.h5"] = buffer.getvalue()
    members.update(replace or {})
    with zipfile.ZipFile(model_path, "w") as archive:
        for name, content in members.items():
            if name in (bombs or {}):
                write_bomb(archive, name, *bombs[name])
            else:
                archive.writestr(name, content)
    return directory


def edit_json(path: Path, edit) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data), encoding="utf-8")


# Runs checkpoint.load in a fresh interpreter whose address space may grow by at most argv[2] bytes.
BOUNDED_LOAD = r"""
import json, resource, sys
import h5py, numpy  # loaded before the cap, as in a running app
from model import checkpoint

def vm_size():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize:"))

cap = vm_size() + int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
began = __import__("time").monotonic()
try:
    checkpoint.load(sys.argv[1])
    outcome = "loaded"
except checkpoint.CheckpointError as err:
    outcome = str(err)
print(json.dumps({"outcome": outcome, "seconds": __import__("time").monotonic() - began,
                  "rss_growth_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - start) / 1024}))
"""


def load_bounded(directory: Path, budget: int = 1024 * MIB) -> dict:
    """checkpoint.load(directory) with the address space capped; a MemoryError fails the test."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-c", BOUNDED_LOAD, str(directory), str(budget)], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- 6. crafted checkpoints: memory and CPU ----------------------------------------------------

def test_a_weights_member_that_inflates_to_2_gib_is_refused_unread(random_checkpoint, tmp_path):
    bomb = rewrite_model(copy_checkpoint(random_checkpoint, tmp_path / "bomb"), bombs={"model.weights.h5": (b"\0", 2048)})
    assert (bomb / checkpoint.MODEL_FILE).stat().st_size < 4 * MIB
    result = load_bounded(bomb)
    assert "model.weights.h5 inside would inflate to 2048.0 MB, over the" in result["outcome"]
    assert "refusing to decompress it" in result["outcome"] and str(bomb / checkpoint.MODEL_FILE) in result["outcome"]
    assert result["rss_growth_mb"] < 64 and result["seconds"] < 5


def test_a_config_json_that_inflates_to_1_25_gib_is_refused_unread(random_checkpoint, tmp_path):
    bomb = rewrite_model(copy_checkpoint(random_checkpoint, tmp_path / "bomb"), bombs={"config.json": (b" ", 1280)})
    result = load_bounded(bomb)
    assert "config.json inside would inflate to 1280.0 MB, over the 4.0 MB allowed for it" in result["outcome"]
    assert result["rss_growth_mb"] < 64


def test_an_hdf5_gzip_bomb_kernel_is_refused_before_any_read(random_checkpoint, tmp_path):
    def declare_huge_kernel(h5):
        del h5["layers/lstm/cell/vars/0"]
        # 65536 x 8192 float32 = 2 GiB declared; no chunk is ever written, so the file stays tiny.
        h5.create_dataset("layers/lstm/cell/vars/0", shape=(65536, 8192), dtype="float32", chunks=(256, 256),
                          compression="gzip")

    bomb = rewrite_model(copy_checkpoint(random_checkpoint, tmp_path / "bomb"), h5=declare_huge_kernel)
    assert (bomb / checkpoint.MODEL_FILE).stat().st_size < MIB
    result = load_bounded(bomb)
    assert "model.weights.h5 declares over" in result["outcome"] and "refusing to read them" in result["outcome"]
    assert result["rss_growth_mb"] < 64


def test_a_plain_wrong_shape_lstm_kernel_is_named_and_never_pushed(random_checkpoint, tmp_path):
    def wrong_kernel(h5):
        kernel = h5["layers/lstm/cell/vars/0"]
        rows, columns = kernel.shape
        del h5["layers/lstm/cell/vars/0"]
        h5["layers/lstm/cell/vars/0"] = np.zeros((rows, columns + 1), "float32")

    bad = rewrite_model(copy_checkpoint(random_checkpoint, tmp_path / "bad"), h5=wrong_kernel)
    (rows, columns), *_ = expected_shapes(checkpoint.load(random_checkpoint).config)[ENCODER_LSTM]
    expected = rf"layer encoder_lstm has weights of shapes \[\({rows}, {columns + 1}\), .*expected \[\({rows}, {columns}\)"
    with pytest.raises(CheckpointError, match=rf"model.keras: shapes do not match vocab.json: {expected}"):
        checkpoint.load(bad)
    with pytest.raises(SourceError, match=expected):
        load_source(str(bad))
    # push loads the checkpoint before anything else, so no endpoint is ever contacted.
    with pytest.raises(hub.HubError, match=rf"not pushing {bad}: .*{expected}"):
        hub.push(bad, "alice/x", token="hf_unused", endpoint="http://127.0.0.1:9")


def test_weights_that_are_not_floats_are_refused_before_reading(random_checkpoint, tmp_path):
    def integer_kernel(h5):
        shape = h5["layers/lstm/cell/vars/0"].shape
        del h5["layers/lstm/cell/vars/0"]
        h5["layers/lstm/cell/vars/0"] = np.zeros(shape, "int32")

    crafted = rewrite_model(copy_checkpoint(random_checkpoint, tmp_path / "ints"), h5=integer_kernel)
    with pytest.raises(CheckpointError, match=r"model.keras: weights of layer encoder_lstm \(int32\) are not floats"):
        checkpoint.load(crafted)


@pytest.mark.parametrize("name", [checkpoint.METADATA_FILE, checkpoint.VOCAB_FILE])
def test_a_100_mb_json_file_is_refused_by_its_size(random_checkpoint, tmp_path, name):
    copy = copy_checkpoint(random_checkpoint, tmp_path / "big")
    with open(copy / name, "r+b") as handle:
        handle.truncate(100 * MIB)  # sparse: 100 MB to stat and read(), nothing on disk
    started = time.monotonic()
    with pytest.raises(CheckpointError, match=rf"{name}: 100.0 MB, over the 4.0 MB limit for this file"):
        checkpoint.load(copy)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("field, value", [
    ("max_encoder_seq_length", 1_000_000),
    ("max_encoder_seq_length", 1e12),
    ("max_decoder_seq_length", 1_000_000_000),
    ("max_decoder_seq_length", -5),
    ("max_decoder_seq_length", 0),
    ("max_encoder_seq_length", "12"),
    ("max_encoder_seq_length", True),
])
def test_vocabulary_lengths_are_bounded(random_checkpoint, tmp_path, field, value):
    copy = copy_checkpoint(random_checkpoint, tmp_path / "vocab")
    edit_json(copy / checkpoint.VOCAB_FILE, lambda v: v.update({field: value}))
    with pytest.raises(CheckpointError, match=rf"vocab.json: invalid vocabulary .*{field} must be a whole number "
                                              rf"from 1 to {MAX_SEQ_LENGTH}, got {value!r}"):
        checkpoint.load(copy)


def test_vocabulary_lengths_at_the_bounds_are_accepted():
    for length in (1, MAX_SEQ_LENGTH):
        Vocabulary(("a", " "), ("\t", "\n", " "), length, length)
    with pytest.raises(ValueError, match="max_decoder_seq_length must be a whole number from 1 to 1000"):
        Vocabulary.from_texts(["a"], ["\t" + "b" * MAX_SEQ_LENGTH + "\n"])


def test_a_model_config_describing_a_huge_network_is_refused_before_the_weights(random_checkpoint, tmp_path):
    copy = copy_checkpoint(random_checkpoint, tmp_path / "huge")
    edit_json(copy / checkpoint.METADATA_FILE, lambda m: m["model_config"].update(latent_dim=100_000))
    with pytest.raises(CheckpointError, match=r"metadata.json: model_config describes .* MB of weights "
                                              r"\(latent_dim=100000.*over the 256.0 MB limit"):
        checkpoint.load(copy)
    edit_json(copy / checkpoint.METADATA_FILE, lambda m: m["model_config"].update(latent_dim=8.5))
    with pytest.raises(CheckpointError, match="latent_dim must be a whole number, got 8.5"):
        checkpoint.load(copy)


# -- 6. crafted checkpoints: local files -------------------------------------------------------

def _dense_bias_path(h5) -> str:
    return next(f"{path}/vars/1" for path in ("layers/dense", "layers/dense_2")
                if h5[f"{path}/vars"].attrs["name"] == "decoder_dense")


def test_external_hdf5_storage_cannot_read_local_files_into_the_weights(random_checkpoint, tmp_path):
    import h5py

    secret = tmp_path / "environ"
    secret.write_bytes(b"HF_TOKEN=hf_secret_value_that_must_not_leak_into_a_model!".ljust(31 * 4, b"#"))
    names = []

    def external_bias(h5):
        path = _dense_bias_path(h5)
        shape = h5[path].shape
        del h5[path]
        h5.create_dataset(path, shape=shape, dtype="float32", external=[(str(secret), 0, 4 * shape[0])])
        names.append(path)

    crafted = rewrite_model(copy_checkpoint(random_checkpoint, tmp_path / "crafted"), h5=external_bias)
    # The attack is real: h5py on its own reads the secret file's bytes as the output layer's bias.
    with zipfile.ZipFile(crafted / checkpoint.MODEL_FILE) as archive:
        with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as h5:
            assert h5[names[0]][()].tobytes()[:8] == b"HF_TOKEN"
    with pytest.raises(CheckpointError, match=rf"dataset /{names[0]} keeps its data in external file\(s\) {secret}; "
                                              r"refusing to read local files into a model") as err:
        checkpoint.load(crafted)
    assert "hf_secret" not in str(err.value)


@pytest.mark.parametrize("craft, message", [
    ("virtual", r"dataset /layers/dense/vars/1 is virtual \(its data comes from other files\)"),
    ("external link", r"links /layers/dense to file .*other.h5; Keras writes no links"),
    ("soft link", r"links /layers/dense/vars/1 to /layers/lstm/cell/vars/2; Keras writes no links"),
])
def test_virtual_datasets_and_links_are_refused(random_checkpoint, tmp_path, craft, message):
    import h5py

    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as source:
        source["bias"] = np.ones(31, "float32")

    def edit(h5):
        if craft == "virtual":
            layout = h5py.VirtualLayout(shape=(31,), dtype="float32")
            layout[:] = h5py.VirtualSource(str(other), "bias", shape=(31,))
            del h5["layers/dense/vars/1"]
            h5["layers/dense/vars"].create_virtual_dataset("1", layout)
        elif craft == "external link":
            del h5["layers/dense"]
            h5["layers/dense"] = h5py.ExternalLink(str(other), "/")
        else:
            del h5["layers/dense/vars/1"]
            h5["layers/dense/vars/1"] = h5py.SoftLink("/layers/lstm/cell/vars/2")

    crafted = rewrite_model(copy_checkpoint(random_checkpoint, tmp_path / "crafted"), h5=edit)
    with pytest.raises(CheckpointError, match=message):
        checkpoint.load(crafted)


def test_deeply_nested_json_is_a_clear_error(random_checkpoint, tmp_path):
    nested = b"[" * 200_000 + b"]" * 200_000
    copy = copy_checkpoint(random_checkpoint, tmp_path / "nested")
    (copy / checkpoint.VOCAB_FILE).write_bytes(nested)
    with pytest.raises(CheckpointError, match="vocab.json: JSON nested too deeply"):
        checkpoint.load(copy)
    copy = rewrite_model(copy_checkpoint(random_checkpoint, tmp_path / "nested-config"), replace={"config.json": nested})
    with pytest.raises(CheckpointError, match=r"model.keras \(config.json\): JSON nested too deeply"):
        checkpoint.load(copy)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (all keras_metadata.pb needs)."""
    def varint(n: int) -> bytes:
        out = b""
        while True:
            out += bytes([(n & 0x7F) | (0x80 if n > 0x7F else 0)])
            n >>= 7
            if not n:
                return out

    return varint(number << 3 | 2) + varint(len(payload)) + payload


def test_deeply_nested_json_in_a_legacy_keras_metadata_pb_is_a_clear_error(tmp_path):
    good = _field(1, _field(3, b"root.layer_with_weights-0") + _field(5, b'{"class_name": "LSTM", "config": {}}'))
    (tmp_path / legacy.KERAS_METADATA_FILE).write_bytes(good)
    assert legacy.read_keras_metadata(tmp_path) == {"root.layer_with_weights-0": {"class_name": "LSTM", "config": {}}}
    nested = b"[" * 200_000 + b"]" * 200_000
    (tmp_path / legacy.KERAS_METADATA_FILE).write_bytes(_field(1, _field(3, b"root.x") + _field(5, nested)))
    with pytest.raises(legacy.LegacyModelError, match="keras_metadata.pb: corrupt .*nested too deeply"):
        legacy.read_keras_metadata(tmp_path)


# -- unclear errors: FIFOs and symlinks ---------------------------------------------------------

def _load_in_thread(directory: Path, seconds: float = 10.0):
    """checkpoint.load(directory) in a thread, so a reader that blocks on a FIFO fails the test, not hangs it."""
    outcome: dict = {}

    def run():
        try:
            checkpoint.load(directory)
            outcome["result"] = "loaded"
        except CheckpointError as err:
            outcome["result"] = str(err)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"checkpoint.load({directory}) blocked"
    return outcome["result"]


@pytest.mark.parametrize("name", [checkpoint.MODEL_FILE, checkpoint.VOCAB_FILE])
def test_a_fifo_is_named_as_such_and_never_opened(random_checkpoint, tmp_path, name):
    copy = copy_checkpoint(random_checkpoint, tmp_path / "fifo")
    (copy / name).unlink()
    os.mkfifo(copy / name)
    assert _load_in_thread(copy) == f"{copy / name}: a named pipe (FIFO), not a regular file; a checkpoint is made of plain files"


def test_symlinks_may_not_leave_the_checkpoint(random_checkpoint, tmp_path):
    copy = copy_checkpoint(random_checkpoint, tmp_path / "links")
    outside = tmp_path / "elsewhere.keras"
    (copy / checkpoint.MODEL_FILE).rename(outside)
    (copy / checkpoint.MODEL_FILE).symlink_to(outside)
    with pytest.raises(CheckpointError, match=rf"model.keras: a symlink to {outside}, outside the checkpoint; refusing"):
        checkpoint.load(copy)
    # A link that stays inside the checkpoint is an ordinary file layout.
    (copy / "store").mkdir()
    (copy / checkpoint.MODEL_FILE).unlink()
    outside.rename(copy / "store" / "model.keras")
    (copy / checkpoint.MODEL_FILE).symlink_to(Path("store") / "model.keras")
    assert checkpoint.load(copy).translate("Go.").translation == checkpoint.load(random_checkpoint).translate("Go.").translation


# -- 5. the Keras layout and the layer configs ---------------------------------------------------

def _layer(config: dict, name: str) -> dict:
    return next(layer for layer in config["config"]["layers"] if layer["config"]["name"] == name)


def _set(name: str, key: str, value, inner: str | None = None):
    def edit(config):
        settings = _layer(config, name)["config"]
        (settings[inner]["config"] if inner else settings)[key] = value
    return edit


@pytest.mark.parametrize("kind, edit, message", [
    ("recipe", _set("decoder_dense", "activation", "linear"),
     r"decoder_dense has activation='linear' \(the engine computes activation='softmax'\)"),
    ("recipe", _set("encoder_lstm", "recurrent_activation", "hard_sigmoid"),
     r"encoder_lstm has recurrent_activation='hard_sigmoid' \(the engine computes recurrent_activation='sigmoid'\)"),
    ("recipe", _set("decoder_lstm", "units", 9), r"decoder_lstm has units=9 \(the engine computes units=8\)"),
    ("fast", _set("encoder_embedding", "mask_zero", False), r"encoder_embedding has mask_zero=False"),
    ("attention", _set("attention_combine", "activation", "relu"), r"attention_combine has activation='relu'"),
    ("attention", _set("attention_keys", "activation", "tanh"), r"attention_keys has activation='tanh'"),
    ("attention", _set("attention", "use_scale", True), r"attention has use_scale=True"),
    ("attention", _set("encoder_lstm", "go_backwards", False, inner="backward_layer"),
     r"encoder_lstm.backward_layer has go_backwards=False"),
    ("attention", _set("encoder_lstm", "activation", "relu", inner="layer"), r"encoder_lstm.layer has activation='relu'"),
])
def test_layer_configs_the_engine_does_not_compute_are_refused(random_checkpoint, random_fast_checkpoint, random_attention_checkpoint, tmp_path,
                                                               kind, edit, message):
    source = {"recipe": random_checkpoint, "fast": random_fast_checkpoint, "attention": random_attention_checkpoint}[kind]
    crafted = rewrite_model(copy_checkpoint(source, tmp_path / "crafted"), config=edit)
    with pytest.raises(CheckpointError, match=rf"model.keras: config.json has layers the engine does not compute: .*{message}"):
        checkpoint.load(crafted)


def test_unknown_layer_classes_and_unused_weights_are_refused(random_checkpoint, random_attention_checkpoint, tmp_path):
    def add_lambda(config):
        config["config"]["layers"].append({"class_name": "Lambda", "config": {"name": "evil", "function": "..."}})

    crafted = rewrite_model(copy_checkpoint(random_checkpoint, tmp_path / "lambda"), config=add_lambda)
    with pytest.raises(CheckpointError, match="config.json has layers of class Lambda, which this project's networks"):
        checkpoint.load(crafted)

    def scale_weight(h5):  # what a scaled attention layer would carry, which the engine never applies
        h5["layers/attention/vars"]["0"] = np.float32(3.0)

    crafted = rewrite_model(copy_checkpoint(random_attention_checkpoint, tmp_path / "scaled"), h5=scale_weight)
    with pytest.raises(CheckpointError, match="layer attention has 1 weight arrays, which the engine never uses"):
        checkpoint.load(crafted)


def test_two_same_shaped_layers_are_never_swapped_silently(random_fast_checkpoint, tmp_path):
    translator = checkpoint.load(random_fast_checkpoint)
    shapes = expected_shapes(translator.config)
    assert shapes[ENCODER_LSTM] == shapes[DECODER_LSTM]  # only the names tell them apart

    def swap_lstms(config):
        layers = config["config"]["layers"]
        i, j = (next(k for k, layer in enumerate(layers) if layer["config"]["name"] == n) for n in (ENCODER_LSTM, DECODER_LSTM))
        layers[i], layers[j] = layers[j], layers[i]

    crafted = rewrite_model(copy_checkpoint(random_fast_checkpoint, tmp_path / "swapped"), config=swap_lstms)
    with pytest.raises(CheckpointError, match=r"model.weights.h5 holds the weights of layer 'encoder_lstm' at layers/lstm, "
                                              r"where config.json's layer order puts 'decoder_lstm'; refusing to swap them"):
        checkpoint.load(crafted)


# Loads a file Keras 3.x here wrote, then a crafted one: only the crafted one may import Keras.
FALLBACK = r"""
import json, sys
from model import checkpoint
plain = [r.translation for r in checkpoint.load(sys.argv[1]).translate_batch(["Go.", "Hi, Tom!"])]
keras_after_plain = "keras" in sys.modules
crafted = [r.translation for r in checkpoint.load(sys.argv[2]).translate_batch(["Go.", "Hi, Tom!"])]
print(json.dumps({"plain": plain, "crafted": crafted, "keras_after_plain": keras_after_plain,
                  "keras_after_crafted": "keras" in sys.modules}))
"""


def _drop_layer_names(h5):
    def visit(name, item):
        if name.endswith("vars") and "name" in item.attrs:
            del item.attrs["name"]
    h5.visititems(visit)


@pytest.mark.parametrize("craft", ["another keras_version", "vars without layer names"])
def test_unknown_keras_versions_and_layouts_go_through_keras_safe_loader(random_fast_checkpoint, tmp_path, craft):
    copy = copy_checkpoint(random_fast_checkpoint, tmp_path / "crafted")
    if craft == "another keras_version":
        rewrite_model(copy, metadata=lambda m: m.update(keras_version="3.0.0"))
    else:
        rewrite_model(copy, h5=_drop_layer_names)
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-c", FALLBACK, str(random_fast_checkpoint), str(copy)],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["keras_after_plain"] is False  # the h5py reader served the file without TensorFlow
    assert out["keras_after_crafted"] is True  # Keras' loader read the one it does not know
    assert out["crafted"] == out["plain"]

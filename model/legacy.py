"""Load a legacy tf.keras (Keras 2) SavedModel of the recipe, such as keras-io/cl_s2s, without running it.

Keras 3 cannot `load_model` a Keras 2 SavedModel, and `tf.saved_model.load` would execute a graph
that came from the network. Neither is needed: the recipe's network is three layers whose trained
variables fully determine it, and our NumPy engine runs those equations itself. So this module

  1. opens `variables/variables.{index,data-*}` with TensorFlow's checkpoint reader, which only
     parses the tensor bundle (no graph, no pickle);
  2. walks the trackable object graph stored in that checkpoint from the model's root: each child
     `layer_with_weights-N` is a layer, in the model's layer order, and its variables carry their
     Keras names (`lstm/lstm_cell/kernel`, `dense/bias`). Optimizer slots and metrics hang off other
     root children (`optimizer`, `keras_api`) and are never visited;
  3. tells the layers apart by their variables and shapes: an LSTM has kernel (n, 4u),
     recurrent_kernel (u, 4u) and bias (4u,); the Dense layer has kernel (u, k) and bias (k,). The
     encoder LSTM comes first in layer order (its final states feed the decoder), and the decoder
     LSTM reads the characters the Dense layer predicts, so its kernel has k rows;
  4. checks the layer configs in `keras_metadata.pb` (plain JSON inside a small protobuf) when the
     file is there: the engine computes tanh/sigmoid LSTMs and a softmax output, nothing else;
  5. rebuilds the vocabulary the way the recipe did, from the sorted characters of the first
     `num_samples` = 10,000 pairs of the fra-eng data, because the SavedModel carries none; and
     refuses if the character counts differ from the kernel shapes, naming both.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import data
from .checkpoint import H5_SIZE_FACTOR, MAX_JSON_BYTES, MAX_WEIGHTS_BYTES, CheckpointError, check_file, read_bytes
from .config import ModelConfig
from .inference import LSTMWeights, Seq2SeqWeights
from .translator import Translator
from .vocab import Vocabulary

SAVED_MODEL_FILE = "saved_model.pb"
KERAS_METADATA_FILE = "keras_metadata.pb"
VARIABLES_PREFIX = Path("variables") / "variables"  # the checkpoint's prefix inside the SavedModel
RECIPE_NUM_SAMPLES = 10000  # recipe: "Number of samples to train on." (the first N lines)
# keras-io/cl_s2s was trained on the 2019 fra-eng release, whose first 10,000 pairs give these counts.
RECIPE_COUNTS = (70, 93)

_LAYER_CHILD = re.compile(r"layer_with_weights-(\d+)$")
_OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"


class LegacyModelError(CheckpointError):
    """A legacy SavedModel that cannot be read or does not fit the recipe's network."""


class VocabularyMismatchError(LegacyModelError):
    """The rebuilt vocabulary has other character counts than the weights expect."""


@dataclass
class LegacyLayer:
    """One layer's trained variables, read from the checkpoint."""

    name: str  # the Keras layer name, e.g. "lstm_1"
    position: int  # N of `layer_with_weights-N`: the model's layer order
    weights: dict[str, np.ndarray]  # "kernel", "recurrent_kernel", "bias"
    config: dict[str, Any] = field(default_factory=dict)  # from keras_metadata.pb, if present

    def describe(self) -> str:
        shapes = ", ".join(f"{role} {tuple(w.shape)}" for role, w in sorted(self.weights.items()))
        return f"{self.name} ({shapes})"


def is_saved_model(directory: str | Path) -> bool:
    """True when `directory` looks like a TensorFlow SavedModel with a variables checkpoint."""
    directory = Path(directory)
    return (directory / SAVED_MODEL_FILE).is_file() and directory.joinpath(f"{VARIABLES_PREFIX}.index").is_file()


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(buf: bytes):
    """Yield (field number, value) of a protobuf message; length-delimited values as bytes."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 2:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + size], pos + size
            if pos > len(buf):
                raise ValueError("truncated field")
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield number, value


def read_keras_metadata(directory: str | Path) -> dict[str, dict[str, Any]]:
    """Layer metadata by object path ("root.layer_with_weights-0" -> {"class_name", "config", ...}).

    keras_metadata.pb is a `SavedMetadata` message: repeated `nodes` (field 1), each with a
    `node_path` (field 3) and a JSON `metadata` string (field 5). Its message classes live in private
    tf_keras modules, so the few fields needed are decoded by hand; the payload is JSON, never code.
    An absent file gives {}: the layer configs then go unchecked. The file is read only if it is a
    plain file under MAX_JSON_BYTES.
    """
    path = Path(directory) / KERAS_METADATA_FILE
    if not path.exists() and not path.is_symlink():
        return {}
    out: dict[str, dict[str, Any]] = {}
    raw = read_bytes(path, MAX_JSON_BYTES, root=directory)
    try:
        for number, node in _fields(raw):
            if number != 1:
                continue
            node_path, metadata = None, None
            for inner, value in _fields(node):
                if inner == 3:
                    node_path = value.decode("utf-8")
                elif inner == 5:
                    metadata = value.decode("utf-8")
            if node_path and metadata:
                out[node_path] = json.loads(metadata)
    except (ValueError, UnicodeDecodeError) as err:  # JSONDecodeError is a ValueError
        raise LegacyModelError(f"{path}: corrupt ({err})") from None
    except RecursionError:
        raise LegacyModelError(f"{path}: corrupt (layer metadata JSON nested too deeply)") from None
    if not all(isinstance(node, dict) for node in out.values()):
        raise LegacyModelError(f"{path}: corrupt (layer metadata is not a JSON object)")
    return out


def _variable_nodes(graph, node) -> list[int]:
    """Node ids of a layer's variables: its `variables` list, else its (or its cell's) weight children."""
    children = {c.local_name: c.node_id for c in node.children}
    if "variables" in children:
        return [c.node_id for c in graph.nodes[children["variables"]].children]
    ids = [children[n] for n in ("kernel", "recurrent_kernel", "bias") if n in children]
    if "cell" in children:
        ids += _variable_nodes(graph, graph.nodes[children["cell"]])
    return ids


def read_layers(directory: str | Path) -> list[LegacyLayer]:
    """Read every layer's trained variables from a SavedModel's checkpoint, in model layer order.

    Args:
        directory: the SavedModel directory (holding saved_model.pb and variables/).
    """
    directory = Path(directory)
    prefix = directory / VARIABLES_PREFIX
    _check_variable_files(directory)
    import tensorflow as tf
    from tensorflow.core.protobuf import trackable_object_graph_pb2

    try:
        reader = tf.train.load_checkpoint(str(prefix))
        shapes, dtypes = reader.get_variable_to_shape_map(), reader.get_variable_to_dtype_map()
        graph = trackable_object_graph_pb2.TrackableObjectGraph()
        graph.ParseFromString(reader.get_tensor(_OBJECT_GRAPH_KEY))
    except Exception as err:  # tf.errors.*, DecodeError: a truncated or damaged download
        raise LegacyModelError(
            f"{prefix}.*: cannot read the variables checkpoint ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}); "
            f"the download may be corrupt"
        ) from None
    if not graph.nodes:
        raise LegacyModelError(f"{prefix}.*: the checkpoint's object graph is empty")
    metadata = read_keras_metadata(directory)
    layers = []
    declared = 0  # bytes of the variables read so far, from the checkpoint's index (before reading them)
    for child in graph.nodes[0].children:
        match = _LAYER_CHILD.match(child.local_name)
        if not match:
            continue  # input layers, the optimizer, metrics, signatures
        weights: dict[str, np.ndarray] = {}
        name = None
        for node_id in _variable_nodes(graph, graph.nodes[child.node_id]):
            for attribute in graph.nodes[node_id].attributes:
                if attribute.name != "VARIABLE_VALUE":
                    continue
                full_name = attribute.full_name.split(":")[0]  # "lstm_1/lstm_cell/kernel"
                name = name or full_name.split("/")[0]
                shape, dtype = shapes.get(attribute.checkpoint_key), dtypes.get(attribute.checkpoint_key)
                if shape is None or dtype is None or not dtype.is_floating:
                    raise LegacyModelError(f"{prefix}.*: variable {full_name} is missing or not a float tensor")
                declared += int(np.prod(shape, dtype=np.float64)) * dtype.size
                if declared > MAX_WEIGHTS_BYTES:
                    raise LegacyModelError(f"{prefix}.*: the variables declare over {MAX_WEIGHTS_BYTES // 2**20} MB of "
                                           f"weights; refusing to read them")
                try:
                    value = reader.get_tensor(attribute.checkpoint_key)
                except Exception as err:
                    raise LegacyModelError(f"{prefix}.*: variable {full_name} unreadable ({type(err).__name__})") from None
                if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
                    raise LegacyModelError(f"{prefix}.*: variable {full_name} is not a float tensor")
                weights[full_name.rsplit("/", 1)[-1]] = value.astype(np.float32)
        if weights:
            config = metadata.get(f"root.{child.local_name}", {})
            settings = config.get("config")
            saved_name = settings.get("name") if isinstance(settings, dict) else None
            layers.append(LegacyLayer(str(saved_name or name or child.local_name), int(match.group(1)), weights, config))
    layers.sort(key=lambda layer: layer.position)
    return layers


def _check_variable_files(directory: Path) -> None:
    """Refuse variables files that are not plain files inside the SavedModel, or absurdly large ones."""
    folder = directory / VARIABLES_PREFIX.parent
    total = check_file(directory / f"{VARIABLES_PREFIX}.index", directory).stat().st_size
    for data_file in sorted(folder.glob(f"{VARIABLES_PREFIX.name}.data-*")):
        total += check_file(data_file, directory).stat().st_size
    # Variables, their optimizer slots and the object graph: a few times the weights at most.
    limit = H5_SIZE_FACTOR * MAX_WEIGHTS_BYTES
    if total > limit:
        raise LegacyModelError(f"{folder}: the variables files hold {total // 2**20} MB, over the {limit // 2**20} MB "
                               f"a model of this recipe can need; refusing to read them")


def _check_config(layer: LegacyLayer, kind: str, where: Path) -> None:
    """Refuse layer settings the engine does not compute (e.g. LSTMV1's hard_sigmoid gates), or sizes
    other than the weights' (`units`)."""
    if not layer.config:
        return
    config = layer.config.get("config", {})
    if not isinstance(config, dict):
        raise LegacyModelError(f"{where}: layer {layer.name} has no readable config in {KERAS_METADATA_FILE}")
    if kind == "LSTM":
        expected = {"activation": "tanh", "recurrent_activation": "sigmoid", "go_backwards": False, "use_bias": True,
                    "units": layer.weights["recurrent_kernel"].shape[0]}
    else:
        expected = {"activation": "softmax", "use_bias": True, "units": layer.weights["kernel"].shape[-1]}
    wrong = [f"{k}={config[k]!r} (needs {v!r})" for k, v in expected.items() if k in config and config[k] != v]
    class_name = layer.config.get("class_name")
    if class_name and class_name != kind:
        wrong.insert(0, f"class {class_name} (needs {kind})")
    if wrong:
        raise LegacyModelError(f"{where}: layer {layer.name} is not the recipe's {kind}: " + ", ".join(wrong))


def map_weights(layers: list[LegacyLayer], where: Path) -> Seq2SeqWeights:
    """Pick the encoder LSTM, decoder LSTM and Dense layer out of `layers` and check their shapes.

    Args:
        layers: from `read_layers`, in model layer order.
        where: the SavedModel directory, for error messages.
    """
    lstms = [layer for layer in layers if {"kernel", "recurrent_kernel", "bias"} <= set(layer.weights)]
    denses = [layer for layer in layers if set(layer.weights) == {"kernel", "bias"} and layer.weights["kernel"].ndim == 2]
    if len(lstms) != 2 or len(denses) != 1 or len(layers) != 3:
        found = "; ".join(layer.describe() for layer in layers) or "no layers with weights"
        raise LegacyModelError(
            f"{where}: not the recipe's network (expected an encoder LSTM, a decoder LSTM and a Dense layer; found {found})"
        )
    dense = denses[0]
    encoder, decoder = lstms  # layer order: the encoder's states feed the decoder, so it comes first
    num_decoder_tokens = dense.weights["kernel"].shape[1]
    if encoder.weights["kernel"].shape[0] == num_decoder_tokens != decoder.weights["kernel"].shape[0]:
        encoder, decoder = decoder, encoder  # shapes are the stronger evidence when they disagree
    units = encoder.weights["recurrent_kernel"].shape[0]
    problems = []
    for layer in (encoder, decoder):
        _check_config(layer, "LSTM", where)
        k, r, b = (layer.weights[n] for n in ("kernel", "recurrent_kernel", "bias"))
        if k.ndim != 2 or r.shape != (units, 4 * units) or b.shape != (4 * units,) or k.shape[1] != 4 * units:
            problems.append(f"{layer.describe()} is not an LSTM of {units} units")
    _check_config(dense, "Dense", where)
    if dense.weights["kernel"].shape[0] != units or dense.weights["bias"].shape != (num_decoder_tokens,):
        problems.append(f"{dense.describe()} does not map {units} units to characters")
    if decoder.weights["kernel"].shape[0] != num_decoder_tokens:
        problems.append(f"decoder {decoder.describe()} reads other characters than {dense.name} predicts ({num_decoder_tokens})")
    if problems:
        raise LegacyModelError(f"{where}: shapes do not fit the recipe's network: " + "; ".join(problems))

    def lstm(layer: LegacyLayer) -> LSTMWeights:
        # One-hot input: a character's input row of the gates is simply its row of the kernel.
        return LSTMWeights(*(np.ascontiguousarray(layer.weights[n]) for n in ("kernel", "recurrent_kernel", "bias")))

    return Seq2SeqWeights(lstm(encoder), lstm(decoder), np.ascontiguousarray(dense.weights["kernel"]),
                          np.ascontiguousarray(dense.weights["bias"]))


def load(directory: str | Path, vocab_data: str | Path | None = None, source: str | None = None) -> Translator:
    """Turn a legacy recipe SavedModel into a Translator, with the vocabulary rebuilt from the data.

    Args:
        directory: the SavedModel directory.
        vocab_data: the fra-eng pair file (.txt or the release .zip) the weights were trained on;
            None downloads the recipe's fra-eng.zip (Keras caches it in ~/.keras/datasets).
        source: how the user named the model (e.g. "hf://keras-io/cl_s2s"), kept in the metadata.
    """
    directory = Path(directory)
    weights = map_weights(read_layers(directory), directory)
    num_encoder_tokens = weights.encoder.input_table.shape[0]
    num_decoder_tokens = weights.dense_kernel.shape[1]
    if vocab_data is None:
        try:
            vocab_path = data.download_fra_eng()
        except Exception as err:  # no network, a proxy, a full disk: all end the same way
            raise LegacyModelError(
                f"{directory}: this SavedModel carries no vocabulary, and downloading the recipe's data "
                f"({data.FRA_ENG_URL}) to rebuild it failed ({type(err).__name__}: {err}); pass the fra-eng "
                f"pair file with --vocab-data PATH"
            ) from None
    else:
        vocab_path = Path(vocab_data)
    try:
        text, sha256 = data.read_text(vocab_path)
        pairs = data.parse_pairs(text, str(vocab_path), limit=RECIPE_NUM_SAMPLES)
        vocab = Vocabulary.from_texts([p.english for p in pairs], [data.wrap_target(p.french) for p in pairs])
    except (OSError, ValueError) as err:  # FileNotFoundError, DataFormatError
        raise LegacyModelError(f"cannot rebuild the vocabulary from {vocab_path}: {err}") from None
    if (vocab.num_encoder_tokens, vocab.num_decoder_tokens) != (num_encoder_tokens, num_decoder_tokens):
        hint = ("the 2019 fra-eng release is needed (the recipe's download, fra-eng.zip from "
                f"{data.FRA_ENG_URL}); newer manythings.org releases have other characters")
        if (num_encoder_tokens, num_decoder_tokens) != RECIPE_COUNTS:
            hint = "pass the pair file these weights were trained on with --vocab-data PATH"
        raise VocabularyMismatchError(
            f"{directory}: the weights expect {num_encoder_tokens} input / {num_decoder_tokens} target characters, "
            f"but the first {len(pairs)} pairs of {vocab_path} give {vocab.num_encoder_tokens} / "
            f"{vocab.num_decoder_tokens}: {hint}"
        )
    config = ModelConfig(num_encoder_tokens, num_decoder_tokens, latent_dim=weights.encoder.units,
                         input_encoding="onehot", encoder_padding="spaces")
    metadata = {
        "recipe": "keras-io",
        "format": "legacy tf.keras SavedModel (variables read, graph never run)",
        "source": source or str(directory),
        "data": {"source": str(vocab_path), "sha256": sha256, "num_pairs_read": len(pairs)},
        "vocabulary": {"rebuilt_from": str(vocab_path), "num_samples": RECIPE_NUM_SAMPLES},
        "model_config": config.to_dict(),
    }
    return Translator(vocab, config, weights, metadata)

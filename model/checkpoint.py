"""A checkpoint is one directory with fixed file names; `load(path)` turns it into a Translator.

    model.keras          the Keras 3 native model file
    vocab.json           characters in index order, the special tokens, the maximum lengths
    metadata.json        model config, hyperparameters, data source + sha256, loss history,
                         evaluation figures, library versions, the command that produced it
    training_curves.png  loss/accuracy per epoch (optional for loading)

Every file is checked on load: a missing or corrupt file, or weights whose shapes disagree with the
vocabulary, raise CheckpointError naming the file and the mismatch.

Two ways in. `load_keras` gives the Keras model (Keras' loader, safe_mode=True), for training on or
comparing with Keras. `load` gives a Translator, which only needs the weights: it reads them from
the `.keras` zip (a `config.json` plus a `model.weights.h5`) with h5py, so serving never imports
TensorFlow (seconds of start-up) and never deserializes any layer code. `save` reads every file it
writes back through that path and checks it equals the Keras model, so the two can never drift apart.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .config import ModelConfig, dumps
from .network import (
    DECODER_DENSE,
    DECODER_EMBEDDING,
    DECODER_LSTM,
    ENCODER_EMBEDDING,
    ENCODER_LSTM,
    build_training_model,
    expected_shapes,
    engine_weights_from_arrays,
    layer_arrays,
)
from .translator import Translator
from .vocab import Vocabulary

MODEL_FILE = "model.keras"
VOCAB_FILE = "vocab.json"
METADATA_FILE = "metadata.json"
CURVES_FILE = "training_curves.png"
REQUIRED_FILES = (MODEL_FILE, VOCAB_FILE, METADATA_FILE)

# Checkpoints shipped in the repository, by the short name that `--model` accepts.
BUNDLED_ROOT = Path(__file__).resolve().parent.parent / "checkpoints"
# "default" is the improved recipe; "recipe" the faithful keras.io reproduction, kept to compare.
BUNDLED = {"default": "fast", "fast": "fast", "recipe": "recipe"}


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be loaded; the message names the file and what is wrong."""


def bundled_path(name: str) -> Path:
    return BUNDLED_ROOT / BUNDLED[name]


def save(directory: str | Path, model, vocab: Vocabulary, config: ModelConfig, metadata: dict[str, Any]) -> Path:
    """Write a checkpoint directory. Files are written to temporary names and then renamed, so an
    interrupted save never leaves a half-written file under a final name."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = layer_arrays(model)
    check_shapes(arrays, vocab, config, directory / MODEL_FILE)
    # Save an uncompiled copy: the optimizer's slots would double the file and are never used to
    # translate. (Resuming training uses Keras' BackupAndRestore directory instead.)
    export = build_training_model(config)
    export.set_weights(model.get_weights())
    tmp_model = directory / f".tmp-{os.getpid()}-{MODEL_FILE}"
    export.save(tmp_model)
    # The light reader must see exactly the weights Keras saved, or serving would silently differ.
    readback = read_layer_arrays(tmp_model)
    for name, expected in arrays.items():
        got = readback.get(name, [])
        if len(got) != len(expected) or not all(np.array_equal(a, b) for a, b in zip(got, expected)):
            raise CheckpointError(f"{tmp_model}: weights read back with h5py differ from the model's {name}")
    os.replace(tmp_model, directory / MODEL_FILE)
    write_json(directory / VOCAB_FILE, vocab.to_dict())
    write_json(directory / METADATA_FILE, {**metadata, "model_config": config.to_dict()})
    return directory


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    tmp.write_text(dumps(data) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise CheckpointError(f"{path}: missing (a checkpoint needs {', '.join(REQUIRED_FILES)})")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: corrupt JSON ({err})") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


def read_metadata(directory: str | Path) -> dict[str, Any]:
    return read_json(Path(directory) / METADATA_FILE)


def _snake_case(name: str) -> str:
    """Keras' own naming.to_snake_case: how it names a layer class's group in model.weights.h5."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def read_layer_arrays(model_path: str | Path) -> dict[str, list[np.ndarray]]:
    """Each named layer's weights from a `.keras` file, read with h5py; no TensorFlow, no code run.

    Keras 3 stores a functional model's weights under `layers/<class in snake case>[_<n>]`, numbered
    per class in the order of `config.json`'s layer list (e.g. the second LSTM is `layers/lstm_1`),
    with a recurrent layer's variables under `cell/vars/<i>` and others under `vars/<i>`.
    """
    import h5py

    model_path = Path(model_path)
    try:
        with zipfile.ZipFile(model_path) as archive:
            config = json.loads(archive.read("config.json"))
            weights = io.BytesIO(archive.read("model.weights.h5"))
        layers = config["config"]["layers"]
        seen: dict[str, int] = {}
        arrays: dict[str, list[np.ndarray]] = {}
        with h5py.File(weights, "r") as h5:
            for layer in layers:
                group_name = _snake_case(layer["class_name"])
                count = seen.get(group_name, 0)
                seen[group_name] = count + 1
                path = f"layers/{group_name}" + (f"_{count}" if count else "")
                if path not in h5:
                    continue  # layers without weights (inputs, masks) may have no group
                arrays[layer["config"]["name"]] = _group_variables(h5[path])
    except (OSError, KeyError, ValueError, TypeError, zipfile.BadZipFile) as err:
        raise CheckpointError(f"{model_path}: corrupt or not a Keras 3 model file ({type(err).__name__}: {err})") from None
    return arrays


def _group_variables(group) -> list[np.ndarray]:
    """A layer group's variables in Keras' `get_weights()` order.

    Plain layers keep them under `vars/<i>`, recurrent layers under `cell/vars/<i>`, and a
    Bidirectional wrapper holds a `forward_layer` and a `backward_layer`, forward first.
    """
    if "forward_layer" in group:
        return _group_variables(group["forward_layer"]) + _group_variables(group["backward_layer"])
    variables = group["cell/vars"] if "cell" in group else group["vars"]
    return [np.asarray(variables[str(i)]) for i in range(len(variables))]


def check_shapes(layers: dict[str, list[np.ndarray]], vocab: Vocabulary, config: ModelConfig, where: Path) -> None:
    """Raise CheckpointError unless the layers' weights fit the vocabulary and the config."""
    problems = []
    if config.num_encoder_tokens != vocab.num_encoder_tokens:
        problems.append(f"config says {config.num_encoder_tokens} input characters, vocabulary has {vocab.num_encoder_tokens}")
    if config.num_decoder_tokens != vocab.num_decoder_tokens:
        problems.append(f"config says {config.num_decoder_tokens} target characters, vocabulary has {vocab.num_decoder_tokens}")
    expected = expected_shapes(config)
    missing = [name for name in expected if name not in layers]
    if missing:
        raise CheckpointError(f"{where}: not a seq2seq model of this project (no layer named {', '.join(missing)})")
    wrong_count = [f"{name} ({len(layers[name])} arrays, expected {len(shapes)})"
                   for name, shapes in expected.items() if len(layers[name]) != len(shapes)]
    if wrong_count:
        raise CheckpointError(f"{where}: unexpected weights in layer {', '.join(wrong_count)}")
    # The vocabulary-facing sizes first, in words a user can act on.
    if config.input_encoding == "embedding":
        enc_in = layers[ENCODER_EMBEDDING][0].shape[0] - 1
        dec_in = layers[DECODER_EMBEDDING][0].shape[0] - 1
    else:
        enc_in = layers[ENCODER_LSTM][0].shape[0]
        dec_in = layers[DECODER_LSTM][0].shape[0]
    dense_out = layers[DECODER_DENSE][-1].shape[0]
    units = layers[DECODER_LSTM][1].shape[0]
    if enc_in != vocab.num_encoder_tokens:
        problems.append(f"encoder input takes {enc_in} characters but the vocabulary has {vocab.num_encoder_tokens}")
    if dec_in != vocab.num_decoder_tokens:
        problems.append(f"decoder input takes {dec_in} characters but the vocabulary has {vocab.num_decoder_tokens}")
    if dense_out != vocab.num_decoder_tokens:
        problems.append(f"output layer predicts {dense_out} characters but the vocabulary has {vocab.num_decoder_tokens}")
    if units != config.latent_dim:
        problems.append(f"LSTMs have {units} units but the config says latent_dim={config.latent_dim}")
    # Then every weight, exactly: nothing the engine multiplies may have an unexpected shape.
    if not problems:
        for name, shapes in expected.items():
            found = [tuple(a.shape) for a in layers[name]]
            if found != shapes:
                problems.append(f"layer {name} has weights of shapes {found}, expected {shapes}")
    if problems:
        raise CheckpointError(f"{where}: shapes do not match {VOCAB_FILE}: " + "; ".join(problems))


def _read_parts(directory: Path) -> tuple[Vocabulary, ModelConfig, dict[str, Any], Path]:
    """Vocabulary, model config, metadata and the model file's path, each checked."""
    if not directory.is_dir():
        raise CheckpointError(f"{directory}: not a checkpoint directory (expected a folder holding {', '.join(REQUIRED_FILES)})")
    vocab_data = read_json(directory / VOCAB_FILE)
    metadata = read_json(directory / METADATA_FILE)
    try:
        vocab = Vocabulary.from_dict(vocab_data)
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{directory / VOCAB_FILE}: invalid vocabulary ({type(err).__name__}: {err})") from None
    try:
        config = ModelConfig.from_dict(metadata["model_config"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{directory / METADATA_FILE}: invalid model_config ({type(err).__name__}: {err})") from None
    model_path = directory / MODEL_FILE
    if not model_path.is_file():
        raise CheckpointError(f"{model_path}: missing (a checkpoint needs {', '.join(REQUIRED_FILES)})")
    return vocab, config, metadata, model_path


def load_keras(directory: str | Path):
    """Load (Keras model, vocabulary, model config, metadata) with Keras' loader, safe_mode=True."""
    vocab, config, metadata, model_path = _read_parts(Path(directory))
    import keras

    try:
        model = keras.saving.load_model(model_path, compile=False, safe_mode=True)
    except Exception as err:  # Keras raises many types for a damaged zip or config
        raise CheckpointError(f"{model_path}: corrupt or not a Keras 3 model file ({type(err).__name__}: {err})") from None
    check_shapes(layer_arrays(model), vocab, config, model_path)
    return model, vocab, config, metadata


def load(directory: str | Path) -> Translator:
    """Load a checkpoint directory into a ready Translator (weights only; TensorFlow is not imported)."""
    vocab, config, metadata, model_path = _read_parts(Path(directory))
    arrays = read_layer_arrays(model_path)
    check_shapes(arrays, vocab, config, model_path)
    return Translator(vocab, config, engine_weights_from_arrays(arrays, config), metadata)

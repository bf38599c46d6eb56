"""A checkpoint is one directory with fixed file names; `load(path)` turns it into a Translator.

    model.keras          the Keras 3 native model file (loaded with safe_mode=True)
    vocab.json           characters in index order, the special tokens, the maximum lengths
    metadata.json        model config, hyperparameters, data source + sha256, loss history,
                         evaluation figures, library versions, the command that produced it
    training_curves.png  loss/accuracy per epoch (optional for loading)

Every file is checked on load: a missing or corrupt file, or weights whose shapes disagree with the
vocabulary, raise CheckpointError naming the file and the mismatch.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .config import ModelConfig, dumps
from .network import (
    DECODER_DENSE,
    DECODER_EMBEDDING,
    DECODER_LSTM,
    ENCODER_EMBEDDING,
    ENCODER_LSTM,
    build_training_model,
    engine_weights,
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
BUNDLED = {"default": "recipe", "recipe": "recipe"}


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be loaded; the message names the file and what is wrong."""


def bundled_path(name: str) -> Path:
    return BUNDLED_ROOT / BUNDLED[name]


def save(directory: str | Path, model, vocab: Vocabulary, config: ModelConfig, metadata: dict[str, Any]) -> Path:
    """Write a checkpoint directory. Files are written to temporary names and then renamed, so an
    interrupted save never leaves a half-written file under a final name."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    check_shapes(model, vocab, config, directory / MODEL_FILE)
    # Save an uncompiled copy: the optimizer's slots would double the file and are never used to
    # translate. (Resuming training uses Keras' BackupAndRestore directory instead.)
    export = build_training_model(config)
    export.set_weights(model.get_weights())
    tmp_model = directory / f".tmp-{os.getpid()}-{MODEL_FILE}"
    export.save(tmp_model)
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


def check_shapes(model, vocab: Vocabulary, config: ModelConfig, where: Path) -> None:
    """Raise CheckpointError unless the weights fit the vocabulary and the config."""
    problems = []
    if config.num_encoder_tokens != vocab.num_encoder_tokens:
        problems.append(f"config says {config.num_encoder_tokens} input characters, vocabulary has {vocab.num_encoder_tokens}")
    if config.num_decoder_tokens != vocab.num_decoder_tokens:
        problems.append(f"config says {config.num_decoder_tokens} target characters, vocabulary has {vocab.num_decoder_tokens}")
    try:
        if config.input_encoding == "embedding":
            enc_in = model.get_layer(ENCODER_EMBEDDING).get_weights()[0].shape[0] - 1
            dec_in = model.get_layer(DECODER_EMBEDDING).get_weights()[0].shape[0] - 1
        else:
            enc_in = model.get_layer(ENCODER_LSTM).get_weights()[0].shape[0]
            dec_in = model.get_layer(DECODER_LSTM).get_weights()[0].shape[0]
        units = model.get_layer(ENCODER_LSTM).get_weights()[1].shape[0]
        dense_out = model.get_layer(DECODER_DENSE).get_weights()[0].shape[1]
    except ValueError as err:  # get_layer raises ValueError for a missing name
        raise CheckpointError(f"{where}: not a seq2seq model of this project ({err})") from None
    if enc_in != vocab.num_encoder_tokens:
        problems.append(f"encoder input takes {enc_in} characters but the vocabulary has {vocab.num_encoder_tokens}")
    if dec_in != vocab.num_decoder_tokens:
        problems.append(f"decoder input takes {dec_in} characters but the vocabulary has {vocab.num_decoder_tokens}")
    if dense_out != vocab.num_decoder_tokens:
        problems.append(f"output layer predicts {dense_out} characters but the vocabulary has {vocab.num_decoder_tokens}")
    if units != config.latent_dim:
        problems.append(f"LSTMs have {units} units but the config says latent_dim={config.latent_dim}")
    if problems:
        raise CheckpointError(f"{where}: shapes do not match {VOCAB_FILE}: " + "; ".join(problems))


def load_keras(directory: str | Path):
    """Load (Keras model, vocabulary, model config, metadata) from a checkpoint directory."""
    directory = Path(directory)
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
    import keras

    try:
        model = keras.saving.load_model(model_path, compile=False, safe_mode=True)
    except Exception as err:  # Keras raises many types for a damaged zip or config
        raise CheckpointError(f"{model_path}: corrupt or not a Keras 3 model file ({type(err).__name__}: {err})") from None
    check_shapes(model, vocab, config, model_path)
    return model, vocab, config, metadata


def load(directory: str | Path) -> Translator:
    """Load a checkpoint directory into a ready Translator (the Keras model is not kept)."""
    model, vocab, config, metadata = load_keras(directory)
    return Translator(vocab, config, engine_weights(model, config), metadata)

"""A checkpoint is one directory with fixed file names; `load(path)` turns it into a Translator.

    model.keras          the Keras 3 native model file
    vocab.json           characters in index order, the special tokens, the maximum lengths
    metadata.json        model config, hyperparameters, data source + sha256, loss history,
                         evaluation figures, library versions, the command that produced it
    training_curves.png  loss/accuracy per epoch (optional for loading)

Every file is checked on load: a missing or corrupt file, or weights whose shapes disagree with the
vocabulary, raise CheckpointError naming the file and the mismatch.

A checkpoint may come from anyone (a Hub repository, a download), so loading one runs no code and is
bounded before anything is read: only plain files are opened (no FIFO, device, or symlink leaving the
checkpoint); JSON files and zip members are refused when they are or would inflate to more than a cap
(the weights' cap follows from the model_config); the model_config may describe at most
MAX_WEIGHTS_BYTES of weights; HDF5 links and external or virtual datasets, which would read other
local files, are refused; every dataset's shape and dtype is checked before it is read; and the layer
configs must be the activations and sizes the engine computes.

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
import stat
import zipfile
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np

from .config import ModelConfig, dumps
from .network import (
    ATTENTION,
    ATTENTION_COMBINE,
    ATTENTION_KEYS,
    DECODER_DENSE,
    DECODER_EMBEDDING,
    DECODER_LSTM,
    ENCODER_EMBEDDING,
    ENCODER_LSTM,
    build_training_model,
    encoder_layer_name,
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

# Bounds on what loading a checkpoint may read (a checkpoint is untrusted input).
MAX_JSON_BYTES = 4 * 1024 * 1024  # vocab.json, metadata.json, the model's config.json: ours are under 20 KB
MAX_WEIGHTS_BYTES = 256 * 1024 * 1024  # float32 weights a model_config may describe: 25x keras-io/cl_s2s
H5_SIZE_FACTOR = 4  # model.weights.h5 may also hold optimizer slots (Adam: two per weight) or float64 copies
H5_SLACK_BYTES = 1024 * 1024  # HDF5 headers and groups: about 50 KB in ours
MAX_H5_OBJECTS = 10_000  # groups and datasets walked in model.weights.h5: ours have about 60
# Keras classes of this project's networks (NotEqual: the padding masks of the embedding recipes).
KNOWN_LAYER_CLASSES = {"InputLayer", "Embedding", "LSTM", "Bidirectional", "Dense", "Dropout", "Concatenate",
                       "Attention", "NotEqual"}

# Checkpoints shipped in the repository, by the short name that `--model` accepts.
BUNDLED_ROOT = Path(__file__).resolve().parent.parent / "checkpoints"
# "default" is the long model: the large network at 512 units, trained on English up to 100
# characters. "large" is the default it replaced (held-out chrF 62.5 greedy), "attention" the one
# before (48), "fast" the improved recipe without attention and "recipe" the faithful keras.io
# reproduction, all kept to compare.
BUNDLED = {"default": "long", "long": "long", "large": "large", "attention": "attention", "fast": "fast",
           "recipe": "recipe"}


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
    readback = read_layer_arrays(tmp_model, vocab, config, root=directory)
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


# -- reading files that may come from anyone ---------------------------------------------------

def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MB"
    return f"{n / 1024:.1f} KB" if n >= 1024 else f"{n} bytes"


_NOT_REGULAR = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
                (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def _link_roots(root: Path) -> list[Path]:
    """Where a checkpoint's symlinks may lead: inside the checkpoint itself, or, for a snapshot in the
    Hugging Face cache (models--owner--name/snapshots/<sha>/), into that repository's blobs/."""
    roots = [root.resolve()]
    if root.parent.name == "snapshots" and root.parent.parent.name.startswith("models--"):
        roots.append((root.parent.parent / "blobs").resolve())
    return roots


def check_file(path: str | Path, root: str | Path | None = None) -> Path:
    """Return the real path of a checkpoint file, refusing anything but a plain file inside the checkpoint.

    A FIFO or a device would block or never end; a symlink that leaves the checkpoint could read any
    local file into a model (or upload it with `push`).

    Args:
        path: the file.
        root: the checkpoint (or SavedModel) directory the file belongs to; default: its folder.
    """
    path = Path(path)
    root = Path(root) if root is not None else path.parent
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        raise CheckpointError(f"{path}: missing (a checkpoint needs {', '.join(REQUIRED_FILES)})") from None
    except OSError as err:
        raise CheckpointError(f"{path}: cannot be read ({err.strerror})") from None
    real = path
    if stat.S_ISLNK(mode):
        real = path.resolve()
        if not any(real.is_relative_to(allowed) for allowed in _link_roots(root)):
            raise CheckpointError(f"{path}: a symlink to {real}, outside the checkpoint; refusing to follow it "
                                  f"(copy the file into the checkpoint instead)")
        try:
            mode = real.stat().st_mode
        except OSError:
            raise CheckpointError(f"{path}: a broken symlink (to {real})") from None
    for test, kind in _NOT_REGULAR:
        if test(mode):
            raise CheckpointError(f"{path}: {kind}, not a regular file; a checkpoint is made of plain files")
    if not stat.S_ISREG(mode):
        raise CheckpointError(f"{path}: not a regular file")
    return real


def _open_checked(path: Path, root: Path | None, limit: int | None = None):
    """Open a file that passed `check_file`, checking again on the open descriptor (no race with a swap)."""
    real = check_file(path, root)
    try:
        # O_NONBLOCK: should the file become a FIFO after the check, opening it must not wait for a writer.
        fd = os.open(real, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0))
    except OSError as err:
        raise CheckpointError(f"{path}: cannot be opened ({err.strerror})") from None
    handle = os.fdopen(fd, "rb")
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        handle.close()
        raise CheckpointError(f"{path}: not a regular file")
    if limit is not None and info.st_size > limit:
        handle.close()
        raise CheckpointError(f"{path}: {_size(info.st_size)}, over the {_size(limit)} limit for this file; refusing to read it")
    return handle


def read_bytes(path: str | Path, limit: int, root: str | Path | None = None) -> bytes:
    """A checked file's content, refused without reading when it is over `limit` bytes."""
    path = Path(path)
    with _open_checked(path, Path(root) if root is not None else None, limit) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:  # it grew after the size check
        raise CheckpointError(f"{path}: over the {_size(limit)} limit for this file; refusing to read it")
    return data


def parse_json(raw: bytes, where: str | Path) -> dict[str, Any]:
    """A JSON object from untrusted bytes; every failure is a CheckpointError naming `where`."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{where}: corrupt JSON ({err})") from None
    except RecursionError:
        raise CheckpointError(f"{where}: JSON nested too deeply to be a checkpoint file") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{where}: expected a JSON object, found {type(data).__name__}")
    return data


def read_json(path: str | Path, limit: int = MAX_JSON_BYTES, root: str | Path | None = None) -> dict[str, Any]:
    path = Path(path)
    return parse_json(read_bytes(path, limit, root), path)


def read_metadata(directory: str | Path) -> dict[str, Any]:
    return read_json(Path(directory) / METADATA_FILE, root=directory)


def _snake_case(name: str) -> str:
    """Keras' own naming.to_snake_case: how it names a layer class's group in model.weights.h5."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def weights_nbytes(config: ModelConfig) -> int:
    """Bytes of float32 weights the network built from `config` holds."""
    return 4 * sum(int(np.prod(shape)) for shapes in expected_shapes(config).values() for shape in shapes)


class _UnknownLayout(Exception):
    """model.weights.h5 is not laid out as this reader knows; Keras' own loader takes over."""


def read_layer_arrays(model_path: str | Path, vocab: Vocabulary, config: ModelConfig,
                      root: str | Path | None = None) -> dict[str, list[np.ndarray]]:
    """Each named layer's weights from a `.keras` file, every size checked before anything is read.

    Keras 3 stores a functional model's weights under `layers/<class in snake case>[_<n>]`, numbered
    per class in the order of `config.json`'s layer list (e.g. the second LSTM is `layers/lstm_1`),
    with a recurrent layer's variables under `cell/vars/<i>` and others under `vars/<i>`; each
    `vars` group records the layer's name, which must be the one config.json's order gives it (two
    same-shaped layers are never swapped silently). This layout is private to Keras, so it is read
    with h5py only for files saved by the installed Keras version (same major.minor, or any Keras 3
    where Keras is not installed) and only if it looks exactly like that; otherwise
    `keras.saving.load_model(..., safe_mode=True)` reads the file, after the same checks.

    Before any array is read: each zip member's declared size is checked against a cap (the JSON
    files MAX_JSON_BYTES, the weights a few times what `config` describes); HDF5 links, external and
    virtual datasets (which read other local files) are refused; every dataset's shape and dtype is
    compared with `expected_shapes(config)`; and the layer configs must be what the engine computes.

    Args:
        model_path: the model.keras file.
        vocab: the checkpoint's vocabulary; the weights' shapes must fit it.
        config: the checkpoint's model config; the weights and layer configs must match it.
        root: the checkpoint directory (symlinks may not leave it); default: model_path's folder.
    """
    import h5py

    model_path = Path(model_path)
    root = Path(root) if root is not None else model_path.parent
    cap = H5_SIZE_FACTOR * weights_nbytes(config) + H5_SLACK_BYTES
    keras_config, keras_metadata, weights = _read_archive(model_path, root, cap)
    layers = _config_layers(keras_config, model_path)
    try:
        with h5py.File(io.BytesIO(weights), "r") as h5:
            _check_h5_objects(h5, model_path, cap)
            if _layout_known(keras_metadata.get("keras_version")):
                try:
                    declared = _keras3_datasets(h5, layers, expected_shapes(config), model_path)
                except _UnknownLayout:
                    pass
                else:
                    check_shapes(declared, vocab, config, model_path)  # shapes only: nothing read yet
                    not_float = [f"{name} ({d.dtype})" for name, datasets in declared.items() for d in datasets
                                 if d.dtype.kind != "f"]
                    if not_float:
                        raise CheckpointError(f"{model_path}: weights of layer {', '.join(not_float)} are not floats")
                    check_layer_configs(layers, config, model_path)
                    return {name: [np.asarray(d[()]) for d in datasets] for name, datasets in declared.items()}
    except (OSError, KeyError, ValueError, TypeError) as err:
        raise CheckpointError(f"{model_path}: corrupt or not a Keras 3 model file ({type(err).__name__}: {err})") from None
    check_layer_configs(layers, config, model_path)
    arrays = _arrays_from_keras(model_path, keras_metadata.get("keras_version"))
    check_shapes(arrays, vocab, config, model_path)
    return arrays


def _read_archive(path: Path, root: Path, weights_cap: int) -> tuple[dict, dict, bytes]:
    """(config.json, metadata.json, model.weights.h5 bytes) of a .keras zip, each size checked first."""
    limits = {"config.json": MAX_JSON_BYTES, "metadata.json": MAX_JSON_BYTES, "model.weights.h5": weights_cap}
    members: dict[str, bytes] = {}
    with _open_checked(path, root) as handle:
        try:
            with zipfile.ZipFile(handle) as archive:
                for name, limit in limits.items():
                    try:
                        info = archive.getinfo(name)
                    except KeyError:
                        raise CheckpointError(f"{path}: corrupt or not a Keras 3 model file (no {name} inside)") from None
                    if info.file_size > limit:
                        allowed = (f"the {_size(limit)} that the weights of metadata.json's model_config can take"
                                   if name == "model.weights.h5" else f"the {_size(limit)} allowed for it")
                        raise CheckpointError(f"{path}: {name} inside would inflate to {_size(info.file_size)}, over "
                                              f"{allowed}; refusing to decompress it")
                    with archive.open(info) as member:
                        members[name] = member.read(limit + 1)
                    if len(members[name]) > limit:
                        raise CheckpointError(f"{path}: {name} inside inflates past {_size(limit)}; refusing it")
        except CheckpointError:
            raise
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, RuntimeError,
                NotImplementedError) as err:
            raise CheckpointError(f"{path}: corrupt or not a Keras 3 model file ({type(err).__name__}: {err})") from None
    return (parse_json(members["config.json"], f"{path} (config.json)"),
            parse_json(members["metadata.json"], f"{path} (metadata.json)"), members["model.weights.h5"])


def _config_layers(keras_config: dict, where: Path) -> list[dict]:
    """The layer list of a Keras functional model config, each with a class_name and a name."""
    layers = (keras_config.get("config") or {}).get("layers") if isinstance(keras_config.get("config"), dict) else None
    if not isinstance(layers, list) or not all(
            isinstance(layer, dict) and isinstance(layer.get("class_name"), str) and isinstance(layer.get("config"), dict)
            and isinstance(layer["config"].get("name"), str) for layer in layers):
        raise CheckpointError(f"{where}: config.json is not a Keras functional model (no list of named layers)")
    names = [layer["config"]["name"] for layer in layers]
    if len(set(names)) != len(names):
        raise CheckpointError(f"{where}: config.json names two layers alike")
    unknown = sorted({layer["class_name"] for layer in layers} - KNOWN_LAYER_CLASSES)
    if unknown:
        raise CheckpointError(f"{where}: config.json has layers of class {', '.join(unknown)}, which this project's "
                              f"networks do not contain")
    return layers


def _check_h5_objects(h5, where: Path, cap: int) -> None:
    """Refuse HDF5 features that read other files or hide sizes, before any data is read.

    Links (soft or to another file) and external or virtual datasets would pull in other local
    files; non-numeric dtypes and more declared bytes than `cap` are not a model of this project.
    """
    import h5py

    total, count, stack = 0, 0, [("", h5)]
    while stack:
        prefix, group = stack.pop()
        for name in group:
            count += 1
            path = f"{prefix}/{name}"
            if count > MAX_H5_OBJECTS or path.count("/") > 16:
                raise CheckpointError(f"{where}: model.weights.h5 holds too many or too deeply nested objects")
            link = group.get(name, getlink=True)
            if isinstance(link, (h5py.SoftLink, h5py.ExternalLink)):
                target = f"file {link.filename}" if isinstance(link, h5py.ExternalLink) else link.path
                raise CheckpointError(f"{where}: model.weights.h5 links {path} to {target}; Keras writes no links, refusing it")
            item = group[name]
            if isinstance(item, h5py.Group):
                stack.append((path, item))
            elif isinstance(item, h5py.Dataset):
                if item.is_virtual:
                    raise CheckpointError(f"{where}: model.weights.h5 dataset {path} is virtual (its data comes from other "
                                          f"files); refusing it")
                if item.external:
                    files = ", ".join(str(entry[0]) for entry in item.external)
                    raise CheckpointError(f"{where}: model.weights.h5 dataset {path} keeps its data in external file(s) "
                                          f"{files}; refusing to read local files into a model")
                if item.dtype.kind not in "fiu" or item.dtype.itemsize > 8:
                    raise CheckpointError(f"{where}: model.weights.h5 dataset {path} has dtype {item.dtype}, not numbers")
                total += int(np.prod(item.shape, dtype=np.float64)) * item.dtype.itemsize
                if total > cap:
                    raise CheckpointError(f"{where}: model.weights.h5 declares over {_size(cap)} of arrays, more than the "
                                          f"weights metadata.json's model_config describes; refusing to read them")


def _layout_known(recorded: Any) -> bool:
    """Whether model.weights.h5 was written in the layout this reader follows (see read_layer_arrays)."""
    if not isinstance(recorded, str):
        return False
    try:
        installed = importlib_metadata.version("keras")
    except importlib_metadata.PackageNotFoundError:
        return recorded.split(".")[0] == "3"
    return recorded.split(".")[:2] == installed.split(".")[:2]


def _keras3_datasets(h5, layers: list[dict], expected: dict[str, list[tuple[int, ...]]], where: Path) -> dict[str, list]:
    """Each expected layer's h5py datasets (not yet read), in Keras' get_weights() order."""
    import h5py

    seen: dict[str, int] = {}
    found: dict[str, list] = {}
    for layer in layers:
        name = layer["config"]["name"]
        group_name = _snake_case(layer["class_name"])
        count = seen.get(group_name, 0)
        seen[group_name] = count + 1
        path = f"layers/{group_name}" + (f"_{count}" if count else "")
        if path not in h5:
            if name in expected:
                raise _UnknownLayout(path)
            continue  # layers without weights (inputs, masks) may have no group
        group = h5[path]
        if not isinstance(group, h5py.Group):
            raise _UnknownLayout(path)
        saved_as = group["vars"].attrs.get("name") if "vars" in group else None
        if isinstance(saved_as, bytes):
            saved_as = saved_as.decode("utf-8", "replace")
        if not isinstance(saved_as, str):
            raise _UnknownLayout(path)
        if saved_as != name:
            raise CheckpointError(f"{where}: model.weights.h5 holds the weights of layer {saved_as!r} at {path}, where "
                                  f"config.json's layer order puts {name!r}; refusing to swap them")
        datasets = _group_datasets(group)
        if name in expected:
            found[name] = datasets
        elif datasets:
            raise CheckpointError(f"{where}: layer {name} has {len(datasets)} weight arrays, which the engine never uses")
    return found


def _group_datasets(group) -> list:
    """A layer group's variables in Keras' `get_weights()` order.

    Plain layers keep them under `vars/<i>`, recurrent layers under `cell/vars/<i>`, and a
    Bidirectional wrapper holds a `forward_layer` and a `backward_layer`, forward first.
    """
    import h5py

    if "forward_layer" in group:
        return _group_datasets(group["forward_layer"]) + _group_datasets(group["backward_layer"])
    variables = group["cell/vars"] if "cell" in group else group["vars"]
    if not isinstance(variables, h5py.Group) or set(variables) != {str(i) for i in range(len(variables))}:
        raise _UnknownLayout(variables.name)
    datasets = [variables[str(i)] for i in range(len(variables))]
    if not all(isinstance(d, h5py.Dataset) for d in datasets):
        raise _UnknownLayout(variables.name)
    return datasets


def _arrays_from_keras(model_path: Path, recorded: Any) -> dict[str, list[np.ndarray]]:
    """Keras' own loader (safe_mode=True), for files in a layout the h5py reader does not know."""
    try:
        import keras
    except ImportError:
        raise CheckpointError(f"{model_path}: saved by Keras {recorded} in a layout this reader does not know, and "
                              f"Keras is not installed to read it") from None
    try:
        model = keras.saving.load_model(model_path, compile=False, safe_mode=True)
    except Exception as err:  # Keras raises many types for a damaged zip or config
        raise CheckpointError(f"{model_path}: corrupt or not a Keras 3 model file ({type(err).__name__}: {err})") from None
    return layer_arrays(model)


def _lstm_spec(units: int, backwards: bool = False) -> tuple[str, dict[str, Any]]:
    return "LSTM", {"units": units, "activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True,
                    "go_backwards": backwards}


def layer_specs(config: ModelConfig) -> dict[str, tuple[str, dict[str, Any]]]:
    """Layer name -> (Keras class, config values) that the NumPy engine computes for `config`.

    The engine runs fixed equations: tanh/sigmoid LSTMs, a softmax output, Luong's tanh combination
    and linear keys, a dot-product attention, embeddings whose id 0 is masked padding. A layer saved
    with other settings would be computed wrongly, so it is refused.
    """
    u, n_in, n_out = config.latent_dim, config.num_encoder_tokens, config.num_decoder_tokens
    encoder_spec = (("Bidirectional", {"merge_mode": "concat", "layer": _lstm_spec(config.encoder_units),
                                       "backward_layer": _lstm_spec(config.encoder_units, backwards=True)})
                    if config.bidirectional else _lstm_spec(config.encoder_units))
    specs: dict[str, tuple[str, dict[str, Any]]] = {
        **{encoder_layer_name(index): encoder_spec for index in range(config.encoder_layers)},
        DECODER_LSTM: _lstm_spec(u),
        DECODER_DENSE: ("Dense", {"units": n_out, "activation": "softmax", "use_bias": True}),
    }
    if config.input_encoding == "embedding":
        specs[ENCODER_EMBEDDING] = ("Embedding", {"input_dim": n_in + 1, "output_dim": config.embedding_dim, "mask_zero": True})
        specs[DECODER_EMBEDDING] = ("Embedding", {"input_dim": n_out + 1, "output_dim": config.embedding_dim, "mask_zero": True})
    if config.attention:
        specs[ATTENTION_KEYS] = ("Dense", {"units": u, "activation": "linear", "use_bias": False})
        specs[ATTENTION_COMBINE] = ("Dense", {"units": u, "activation": "tanh", "use_bias": True})
        specs[ATTENTION] = ("Attention", {"use_scale": False, "score_mode": "dot"})
    return specs


def _spec_problems(layer: dict, spec: tuple[str, dict[str, Any]], label: str) -> list[str]:
    class_name, wanted = spec
    if layer.get("class_name") != class_name:
        return [f"{label} is a {layer.get('class_name')}, not a {class_name}"]
    settings = layer.get("config") if isinstance(layer.get("config"), dict) else {}
    problems = []
    for key, value in wanted.items():
        if isinstance(value, tuple):  # a wrapped layer (Bidirectional's forward and backward LSTMs)
            inner = settings.get(key)
            problems += (_spec_problems(inner, value, f"{label}.{key}") if isinstance(inner, dict)
                         else [f"{label} has no {key}"])
        elif key not in settings or type(settings[key]) is not type(value) or settings[key] != value:
            problems.append(f"{label} has {key}={settings.get(key)!r} (the engine computes {key}={value!r})")
    return problems


def check_layer_configs(layers: list[dict], config: ModelConfig, where: Path) -> None:
    """Raise CheckpointError unless config.json's layers are the ones the engine computes (see layer_specs).

    Only the saved JSON is compared; no layer code is run.
    """
    by_name = {layer["config"]["name"]: layer for layer in layers}
    specs = layer_specs(config)
    missing = [name for name in specs if name not in by_name]
    if missing:
        raise CheckpointError(f"{where}: not a seq2seq model of this project (config.json has no layer named "
                              f"{', '.join(missing)})")
    problems = [p for name, spec in specs.items() for p in _spec_problems(by_name[name], spec, name)]
    if problems:
        raise CheckpointError(f"{where}: config.json has layers the engine does not compute: " + "; ".join(problems))


def check_shapes(layers: dict[str, list[np.ndarray]], vocab: Vocabulary, config: ModelConfig, where: Path) -> None:
    """Raise CheckpointError unless the layers' weights fit the vocabulary and the config.

    Only `.shape` is used, so h5py datasets can be checked before their data is read.
    """
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
    wrong_count += [f"{name} ({len(arrays)} arrays, expected none)"
                    for name, arrays in layers.items() if arrays and name not in expected]
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


def _model_config(metadata: dict[str, Any], where: Path) -> ModelConfig:
    """The checked model_config: whole-number sizes, describing at most MAX_WEIGHTS_BYTES of weights."""
    raw = metadata.get("model_config")
    if not isinstance(raw, dict):
        raise CheckpointError(f"{where}: invalid model_config (missing, or not a JSON object)")
    for key in ("num_encoder_tokens", "num_decoder_tokens", "latent_dim", "embedding_dim"):
        value = raw.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise CheckpointError(f"{where}: invalid model_config ({key} must be a whole number, got {value!r})")
    try:
        config = ModelConfig.from_dict(raw)
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{where}: invalid model_config ({type(err).__name__}: {err})") from None
    size = weights_nbytes(config)
    if size > MAX_WEIGHTS_BYTES:
        raise CheckpointError(f"{where}: model_config describes {_size(size)} of weights (latent_dim={config.latent_dim}, "
                              f"{config.num_encoder_tokens}/{config.num_decoder_tokens} characters), over the "
                              f"{_size(MAX_WEIGHTS_BYTES)} limit; refusing to load it")
    return config


def _read_parts(directory: Path) -> tuple[Vocabulary, ModelConfig, dict[str, Any], Path]:
    """Vocabulary, model config, metadata and the model file's path, each checked."""
    if not directory.is_dir():
        raise CheckpointError(f"{directory}: not a checkpoint directory (expected a folder holding {', '.join(REQUIRED_FILES)})")
    vocab_data = read_json(directory / VOCAB_FILE, root=directory)
    metadata = read_json(directory / METADATA_FILE, root=directory)
    try:
        vocab = Vocabulary.from_dict(vocab_data)
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{directory / VOCAB_FILE}: invalid vocabulary ({type(err).__name__}: {err})") from None
    config = _model_config(metadata, directory / METADATA_FILE)
    model_path = directory / MODEL_FILE
    check_file(model_path, directory)
    return vocab, config, metadata, model_path


def load_keras(directory: str | Path):
    """Load (Keras model, vocabulary, model config, metadata) with Keras' loader, safe_mode=True.

    The file passes every check of `read_layer_arrays` before Keras opens it.
    """
    directory = Path(directory)
    vocab, config, metadata, model_path = _read_parts(directory)
    read_layer_arrays(model_path, vocab, config, root=directory)
    import keras

    try:
        model = keras.saving.load_model(model_path, compile=False, safe_mode=True)
    except Exception as err:  # Keras raises many types for a damaged zip or config
        raise CheckpointError(f"{model_path}: corrupt or not a Keras 3 model file ({type(err).__name__}: {err})") from None
    check_shapes(layer_arrays(model), vocab, config, model_path)
    return model, vocab, config, metadata


def load(directory: str | Path) -> Translator:
    """Load a checkpoint directory into a ready Translator (weights only; TensorFlow is not imported
    unless the model file needs Keras' own loader, see `read_layer_arrays`)."""
    directory = Path(directory)
    vocab, config, metadata, model_path = _read_parts(directory)
    arrays = read_layer_arrays(model_path, vocab, config, root=directory)
    return Translator(vocab, config, engine_weights_from_arrays(arrays, config), metadata)

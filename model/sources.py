"""One resolver for every place that takes a model source (`--model`, `MODEL_SOURCE`, the app).

Accepted forms:
    default | recipe          a checkpoint bundled in this repository
    PATH                      a checkpoint directory on disk, or a legacy tf.keras SavedModel directory
    hf://owner/repo[@rev]     a Hugging Face Hub model repository (branch, tag or commit), fetched
                              through the Hub cache; either a checkpoint pushed by this project or the
                              recipe's legacy SavedModel (keras-io/cl_s2s)
    SOURCE+SOURCE[+...]       an ensemble of those models: their step probabilities averaged
                              (model/ensemble.py), e.g. large+attention

A checkpoint directory describes itself. A legacy SavedModel carries only weights: its vocabulary is
rebuilt from the recipe's data (see model/legacy.py). Every failure, a Hub one included, is a
SourceError naming the source and what failed, so callers (the app) can fall back to the default.
Whatever the source, loading is bounded and runs no code from it: Hub calls have timeouts and a size
cap (model/hub.py), and every file is checked before it is read (model/checkpoint.py).
"""

from __future__ import annotations

import os
from pathlib import Path

from . import checkpoint, legacy
from .translator import Translator

HUB_PREFIX = "hf://"
FORMS = ("'default', 'recipe', a checkpoint or SavedModel directory, or hf://owner/repo[@revision]; "
         "several joined by '+' decode as an ensemble")
ENSEMBLE_JOIN = "+"


class SourceError(RuntimeError):
    """A model source that cannot be resolved or loaded; says which forms are accepted."""


def resolve_source(source: str) -> Path:
    """Turn a source string into a local model directory (downloading from the Hub if needed)."""
    if not source or not isinstance(source, str):
        raise SourceError(f"no model source given; use {FORMS}")
    if source.startswith(HUB_PREFIX):
        from . import hub  # imported here: local sources never load huggingface_hub

        try:
            repo_id, revision = hub.parse_handle(source)
            return hub.resolve(repo_id, revision)
        except hub.HubError as err:
            raise SourceError(f"cannot load {source}: {err}") from None
    if source in checkpoint.BUNDLED:
        path = checkpoint.bundled_path(source)
        if not path.is_dir():
            raise SourceError(f"bundled model {source!r} is missing from {path}; was the repository cloned whole?")
        return path
    path = Path(source).expanduser()
    if not path.exists():
        raise SourceError(f"model source {source!r} is not a bundled name and no such path exists; use {FORMS}")
    return path


def load_source(source: str, vocab_data: str | None = None) -> Translator:
    """Resolve and load a model source into a Translator.

    Args:
        source: one of the accepted forms (see FORMS).
        vocab_data: pair file to rebuild the vocabulary from, for sources that carry none
            (the legacy keras-io/cl_s2s SavedModel); None downloads the recipe's data.
    """
    if isinstance(source, str) and ENSEMBLE_JOIN in source and not Path(source).expanduser().exists():
        return _load_ensemble(source, vocab_data)
    path = resolve_source(source)
    try:
        # lexists, not is_file: a model.keras that is a FIFO or a dangling link is the checkpoint's
        # error to name, not a reason to read the directory as a SavedModel.
        if legacy.is_saved_model(path) and not os.path.lexists(path / checkpoint.MODEL_FILE):
            return legacy.load(path, vocab_data=vocab_data, source=source)
        return checkpoint.load(path)
    except checkpoint.CheckpointError as err:  # LegacyModelError is one too
        # The message names the file; for a Hub source it is a cache path, so name the handle too.
        prefix = f"{source}: " if source.startswith(HUB_PREFIX) else ""
        raise SourceError(f"{prefix}{err}") from None


def source_metadata(source: str) -> dict:
    """A source's metadata.json without loading its network: what the app reads before any model loads
    (the language pair its page is written in, the checkpoint's held-out sample). A legacy SavedModel
    has none ({}); an ensemble's is its first member's (its members translate one pair). A Hub source
    is fetched into the cache, where loading it finds it. Raises SourceError as load_source does.
    """
    if isinstance(source, str) and ENSEMBLE_JOIN in source and not Path(source).expanduser().exists():
        return source_metadata(source.split(ENSEMBLE_JOIN)[0].strip())
    path = resolve_source(source)
    if not (path / checkpoint.METADATA_FILE).is_file():
        return {}
    try:
        return checkpoint.read_metadata(path)
    except checkpoint.CheckpointError as err:
        prefix = f"{source}: " if source.startswith(HUB_PREFIX) else ""
        raise SourceError(f"{prefix}{err}") from None


def _load_ensemble(source: str, vocab_data: str | None) -> Translator:
    from .ensemble import ensemble

    parts = [part.strip() for part in source.split(ENSEMBLE_JOIN)]
    if not all(parts):
        raise SourceError(f"ensemble {source!r} has an empty part; join two or more sources with '+', e.g. large+attention")
    try:
        return ensemble([load_source(part, vocab_data) for part in parts], parts)
    except ValueError as err:
        raise SourceError(f"cannot build the ensemble {source}: {err}") from None

"""One resolver for every place that takes a model source (`--model`, `MODEL_SOURCE`, the app).

Accepted forms:
    default | recipe          a checkpoint bundled in this repository
    PATH                      a checkpoint directory on disk
"""

from __future__ import annotations

from pathlib import Path

from . import checkpoint
from .translator import Translator

FORMS = "'default', 'recipe', or a checkpoint directory"


class SourceError(RuntimeError):
    """A model source that cannot be resolved or loaded; says which forms are accepted."""


def resolve_source(source: str) -> Path:
    """Turn a source string into a local checkpoint directory (downloading from the Hub if needed)."""
    if not source or not isinstance(source, str):
        raise SourceError(f"no model source given; use {FORMS}")
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
    path = resolve_source(source)
    try:
        return checkpoint.load(path)
    except checkpoint.CheckpointError as err:
        raise SourceError(str(err)) from None

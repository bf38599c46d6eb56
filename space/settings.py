"""The operator's settings: `python app.py` options and the environment variables that stand in for
them on a Space (README, "The app"). Nothing here is chosen by a visitor.

One app serves one language pair: the active source's (its metadata.json, read before any model
loads; English -> French for a legacy SavedModel or a checkpoint that records none). The page's title,
labels and help are written for that pair, the bundled checkpoints are offered only where they
translate it, and any other allowed source of another pair is refused when it loads
(model.registry.OtherLanguages). The examples and the random button come from the active
checkpoint's own held-out sample where it records one, else, for English -> French, from the bundled
sample file.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os

from model import checkpoint, languages, load_source, samples
from model.registry import DEFAULT_SOURCE, ModelRegistry, bundled_sources, parse_source_list
from model.sources import SourceError, source_metadata

from .handlers import Handlers

log = logging.getLogger("space")


def _metadata(source: str) -> dict:
    """The source's metadata, {} when it cannot be read now (its load will fail and say why)."""
    try:
        return source_metadata(source)
    except SourceError as err:
        log.warning("cannot read the metadata of %s before loading it (%s); the page assumes %s", source, err,
                    languages.DEFAULT_PAIR.arrow)
        return {}


def _bundled_of(pair: languages.LanguagePair) -> list[str]:
    """The bundled checkpoints that translate `pair` (all of them are English -> French today)."""
    return [name for name in bundled_sources()
            if languages.from_metadata(checkpoint.read_metadata(checkpoint.bundled_path(name))) == pair]


def active_source(model: str | None = None) -> str:
    """The source the app starts with: --model, else MODEL_SOURCE, else the bundled default."""
    return model or os.environ.get("MODEL_SOURCE") or DEFAULT_SOURCE


def registry_from(model: str | None = None, models: str | None = None, vocab_data: str | None = None,
                  metadata: dict | None = None) -> ModelRegistry:
    """The allow-list from arguments, falling back to MODEL_SOURCE / MODEL_SOURCES / VOCAB_DATA.

    Args:
        metadata: the active source's metadata, if already read (else it is read here).
    """
    active = active_source(model)
    extra = parse_source_list(models if models is not None else os.environ.get("MODEL_SOURCES"))
    vocab_data = vocab_data or os.environ.get("VOCAB_DATA") or None
    pair = languages.from_metadata(_metadata(active) if metadata is None else metadata)
    bundled = _bundled_of(pair)
    # The bundled default stands in while the active source cannot load, but only for the same pair.
    fallback = DEFAULT_SOURCE if DEFAULT_SOURCE in bundled else active
    return ModelRegistry(parse_source_list([*bundled, active, *extra]), active=active, fallback=fallback,
                         loader=functools.partial(load_source, vocab_data=vocab_data), languages=pair)


def page_sample(pair: languages.LanguagePair, metadata: dict, bundled: bool) -> samples.HeldoutSample:
    """The held-out sentences of the examples and the random button (see the module doc)."""
    own = None if bundled else samples.from_metadata(metadata)
    if own is not None:
        return own
    return samples.load() if pair == languages.DEFAULT_PAIR else samples.EMPTY


def handlers_from(model: str | None = None, models: str | None = None, vocab_data: str | None = None) -> Handlers:
    """The app's handlers: the registry of registry_from and the active source's held-out sample."""
    active = active_source(model)
    metadata = _metadata(active)
    registry = registry_from(model, models, vocab_data, metadata)
    try:
        sample = page_sample(registry.languages, metadata, active in checkpoint.BUNDLED)
    except samples.SampleError as err:
        log.warning("the held-out sample of %s cannot be used: %s", active, err)
        sample = samples.EMPTY
    return Handlers(registry, sample=sample, active_metadata=metadata or None)


# `python app.py --help`: the pair is the model's, known only once --model is read, so none is named.
DESCRIPTION = ("The Space: a character-level sequence-to-sequence translator, one character at a time; its page "
               "speaks the language pair of the model it serves.")


def parse_args(argv=None, description: str = DESCRIPTION) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
                        help="address to listen on (env GRADIO_SERVER_NAME; default 0.0.0.0)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
                        help="port (env GRADIO_SERVER_PORT; default 7860)")
    parser.add_argument("--share", action="store_true", help="also open a public Gradio share link")
    parser.add_argument("--model", default=None, metavar="SOURCE",
                        help="model to start with: default, recipe, a checkpoint directory, or hf://owner/repo[@rev] "
                             "(env MODEL_SOURCE; default: default). The page speaks its language pair.")
    parser.add_argument("--models", default=None, metavar="A,B,...",
                        help="comma-separated extra sources the visitor may choose from (env MODEL_SOURCES); "
                             "the bundled checkpoints of the same language pair and --model are always offered")
    parser.add_argument("--vocab-data", default=None, metavar="PATH",
                        help="fra-eng pair file to rebuild the vocabulary of a legacy SavedModel such as "
                             "hf://keras-io/cl_s2s (env VOCAB_DATA; default: download the recipe's data)")
    parser.add_argument("--mcp", action="store_true",
                        help="also serve the endpoints as MCP tools at /gradio_api/mcp/ (needs gradio[mcp])")
    return parser.parse_args(argv)

"""The operator's settings: `python app.py` options and the environment variables that stand in for
them on a Space (README, "The app"). Nothing here is chosen by a visitor.
"""

from __future__ import annotations

import argparse
import functools
import os

from model import load_source
from model.registry import DEFAULT_SOURCE, ModelRegistry, allowed_sources, parse_source_list


def registry_from(model: str | None = None, models: str | None = None, vocab_data: str | None = None) -> ModelRegistry:
    """The allow-list from arguments, falling back to MODEL_SOURCE / MODEL_SOURCES / VOCAB_DATA."""
    active = model or os.environ.get("MODEL_SOURCE") or DEFAULT_SOURCE
    extra = parse_source_list(models if models is not None else os.environ.get("MODEL_SOURCES"))
    vocab_data = vocab_data or os.environ.get("VOCAB_DATA") or None
    return ModelRegistry(allowed_sources(active, extra), active=active,
                         loader=functools.partial(load_source, vocab_data=vocab_data))


def parse_args(argv=None, description: str | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
                        help="address to listen on (env GRADIO_SERVER_NAME; default 0.0.0.0)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
                        help="port (env GRADIO_SERVER_PORT; default 7860)")
    parser.add_argument("--share", action="store_true", help="also open a public Gradio share link")
    parser.add_argument("--model", default=None, metavar="SOURCE",
                        help="model to start with: default, recipe, a checkpoint directory, or hf://owner/repo[@rev] "
                             "(env MODEL_SOURCE; default: default)")
    parser.add_argument("--models", default=None, metavar="A,B,...",
                        help="comma-separated extra sources the visitor may choose from (env MODEL_SOURCES); "
                             "the bundled checkpoints and --model are always offered")
    parser.add_argument("--vocab-data", default=None, metavar="PATH",
                        help="fra-eng pair file to rebuild the vocabulary of a legacy SavedModel such as "
                             "hf://keras-io/cl_s2s (env VOCAB_DATA; default: download the recipe's data)")
    parser.add_argument("--mcp", action="store_true",
                        help="also serve the endpoints as MCP tools at /gradio_api/mcp/ (needs gradio[mcp])")
    return parser.parse_args(argv)

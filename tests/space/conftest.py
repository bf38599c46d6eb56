"""Fixtures for the Space's tests: seeded random-weight models behind a registry, the handlers over
them, and a live server driven by gradio_client. Nothing depends on what a model happens to write:
results are compared with what the Translator gives for the same input."""

from __future__ import annotations

import pytest
from gradio_client import Client

from model import load_source
from model.registry import ModelRegistry
from space import Handlers, build_demo

from tests.space.live import launch


@pytest.fixture(scope="module")
def translator(fast_path):
    """The app's active model in these tests."""
    return load_source(fast_path)


@pytest.fixture(scope="module")
def attention_path(random_attention_checkpoint) -> str:
    return str(random_attention_checkpoint)


@pytest.fixture(scope="module")
def registry(fast_path, recipe_path, attention_path, tmp_path_factory):
    """The random models, plus a source that does not exist (its failure shows in notices and Compare)."""
    missing = str(tmp_path_factory.mktemp("gone") / "no-such-checkpoint")
    reg = ModelRegistry([fast_path, recipe_path, attention_path, missing], active=fast_path, fallback=fast_path)
    reg.warm_up(120)
    yield reg
    reg.close()


@pytest.fixture(scope="module")
def handlers(registry):
    return Handlers(registry)


@pytest.fixture(scope="module")
def server(handlers):
    demo = build_demo(handlers)
    yield launch(demo)
    demo.close()


@pytest.fixture(scope="module")
def client(server):
    return Client(server, verbose=False, download_files=False)

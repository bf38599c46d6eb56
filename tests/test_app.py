"""app.py as a Space runs it: `python app.py` with host, port and models from the environment or the
command line, and a Hub source that never answers while the bundled default keeps serving."""

from __future__ import annotations

import shutil

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from model import load_source
from space import settings
from space.options import APP_DEFAULT_OPTIONS

from tests.hanging_server import HangingServer
from tests.space.live import GOOD, free_port, wait_for

REPO = Path(__file__).resolve().parent.parent


def _start_app(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen:
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
           "GRADIO_ANALYTICS_ENABLED": "False", **env}
    for name in ("MODEL_SOURCE", "MODEL_SOURCES", "HF_TOKEN", "HF_HUB_OFFLINE"):
        if name not in env or env[name] is None:
            env.pop(name, None)
    return subprocess.Popen([sys.executable, "app.py", *args], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _first_answer(proc, port: int, model: str, timeout: float = 180.0) -> Client:
    """Connect once the server listens, and wait (retrying) until `model` has loaded and answers."""
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, proc.stderr.read()[-3000:]
        assert time.monotonic() < deadline, f"app.py gave no translation with {model} within {timeout} s"
        try:
            client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=False)
            client.predict(text=GOOD, model=model, api_name="/translate")
            return client
        except Exception:  # not listening yet, or "still loading"
            time.sleep(0.5)


@pytest.mark.slow
def test_a_hub_source_that_never_answers_leaves_default_serving(tmp_path):
    """`--models hf://evil/m` against an endpoint that accepts connections and never answers: many
    visitors choosing it get a quick, clear error, and `default` keeps answering everyone else."""
    with HangingServer() as hub:
        port = free_port()
        proc = _start_app(["--models", "hf://evil/m"], {
            "HF_ENDPOINT": hub.url, "HF_HUB_ETAG_TIMEOUT": "2", "HF_HUB_DOWNLOAD_TIMEOUT": "2",
            "HF_HUB_CACHE": str(tmp_path / "hub-cache"), "HF_HUB_DISABLE_TELEMETRY": "1"}, port)
        try:
            _first_answer(proc, port, "default")
            wait_for(lambda: hub.connections, what="a connection to the hanging Hub")

            def call(model: str):
                client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=False)
                began = time.monotonic()
                try:
                    out = client.predict(text=GOOD, model=model, api_name="/translate")
                except AppError as err:
                    out = err
                return model, out, time.monotonic() - began

            models = (["hf://evil/m"] * 3 + ["default"]) * 20
            with ThreadPoolExecutor(16) as pool:
                answers = list(pool.map(call, models))
            for model, out, seconds in answers:
                if model == "default":
                    assert isinstance(out, dict) and isinstance(out["translation"], str), out
                else:
                    assert isinstance(out, AppError), out
                    assert out.title == "Model unavailable"
                    assert "model 'hf://evil/m' is still loading" in out.message or "could not be loaded" in out.message
                assert seconds < 15, f"{model} took {seconds:.1f} s"
            assert call("default")[1]["translation"] is not None  # a fresh request still answers
            assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
        finally:
            proc.terminate()
            proc.wait(20)


def test_main_parses_space_options(monkeypatch):
    monkeypatch.setenv("GRADIO_SERVER_NAME", "127.0.0.2")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "9999")
    args = settings.parse_args([])
    assert (args.host, args.port, args.share, args.model) == ("127.0.0.2", 9999, False, None)
    args = settings.parse_args(["--host", "0.0.0.0", "--port", "7861", "--share", "--model", "recipe", "--models", "a,b"])
    assert (args.host, args.port, args.share, args.model, args.models) == ("0.0.0.0", 7861, True, "recipe", "a,b")
    monkeypatch.setenv("MODEL_SOURCE", "some/dir")
    monkeypatch.setenv("MODEL_SOURCES", "hf://me/x, other/dir")
    reg = settings.registry_from()
    assert reg.active == "some/dir" and reg.sources[0] == "some/dir"
    assert {"default", "hf://me/x", "other/dir"} <= set(reg.sources)
    assert settings.registry_from("cli/dir", "").active == "cli/dir"


def test_the_app_serves_its_active_models_language_pair_and_only_models_of_it(random_spanish_checkpoint, tmp_path,
                                                                              fast_path):
    from model import checkpoint, samples
    from model.registry import bundled_sources

    spanish = str(random_spanish_checkpoint)
    handlers = settings.handlers_from(spanish, fast_path)
    registry = handlers.registry
    assert registry.languages.arrow == "English → Spanish"
    assert registry.sources == [spanish, fast_path]  # no bundled English -> French model is offered
    assert registry.fallback == spanish  # nor stands in for it
    assert handlers.sample is samples.EMPTY  # no held-out sentences recorded: no examples
    french = settings.handlers_from("default")
    assert french.registry.languages.arrow == "English → French" and french.registry.fallback == "default"
    assert set(bundled_sources()) <= set(french.registry.sources) and french.sample.entries

    # A checkpoint that records its held-out sentences (train.py does) brings its own examples.
    recorded = tmp_path / "with-sample"
    shutil.copytree(random_spanish_checkpoint, recorded)
    metadata = checkpoint.read_metadata(recorded)
    metadata[samples.METADATA_KEY] = {"format": samples.FORMAT, "examples": ["I see 3 cats."], "entries": [
        {"english": "I see 3 cats.", "references": ["Veo 3 gatos."], "tier": samples.tier_of("I see 3 cats."),
         "line": 10_400}]}
    checkpoint.write_json(recorded / checkpoint.METADATA_FILE, metadata)
    sample = settings.handlers_from(str(recorded)).sample
    assert [e.english for e in sample.examples] == ["I see 3 cats."] and sample.references("I see 3 cats.") == ["Veo 3 gatos."]


@pytest.mark.slow
def test_python_app_py_honours_the_environment(fast_path, recipe_path):
    """`python app.py` as a Space runs it: host, port and models from the environment."""
    port = free_port()
    proc = _start_app([], {"MODEL_SOURCE": fast_path, "MODEL_SOURCES": recipe_path}, port)
    try:
        client = _first_answer(proc, port, fast_path)
        expected = load_source(fast_path).translate(GOOD, APP_DEFAULT_OPTIONS).translation
        assert client.predict(text=GOOD, api_name="/translate")["translation"] == expected  # MODEL_SOURCE is the default
        other = load_source(recipe_path).translate(GOOD, APP_DEFAULT_OPTIONS).translation
        wait_for(lambda: _answers(client, recipe_path), timeout=60, what=f"{recipe_path} loaded")
        assert client.predict(text=GOOD, model=recipe_path, api_name="/translate")["translation"] == other
        with pytest.raises(AppError):
            client.predict(text=GOOD, model="/etc", api_name="/translate")
    finally:
        proc.terminate()
        proc.wait(20)


def _answers(client, model) -> bool:
    try:
        client.predict(text=GOOD, model=model, api_name="/translate")
        return True
    except AppError as err:
        assert "still loading" in err.message, err.message
        return False

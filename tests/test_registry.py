"""ModelRegistry: the allow-list, loading off the request path, fallback, and retry with backoff.

The loaders are the real `load_source` on seeded random-weight checkpoints, a missing directory, and
an `hf://` source whose endpoint is a local server that accepts connections and never answers; where
a test needs a load to fail a set number of times or to hang until released, it wraps `load_source`.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from model import SourceError, load_source
from model.registry import ModelRegistry, SourceNotReady, allowed_sources, parse_source_list

from tests.hanging_server import HangingServer


@pytest.fixture(scope="module")
def checkpoint(random_fast_checkpoint) -> str:
    return str(random_fast_checkpoint)


@pytest.fixture
def registries():
    made = []
    yield made.append
    for registry in made:
        registry.close()


def _quick(call, limit=0.5):
    """Run `call`, assert it returned or raised within `limit` seconds; return what it raised or returned."""
    began = time.monotonic()
    try:
        out = call()
    except Exception as err:  # noqa: BLE001
        out = err
    assert time.monotonic() - began < limit, f"{call} took {time.monotonic() - began:.2f} s"
    return out


def _wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_parse_source_list_splits_strips_and_dedupes():
    assert parse_source_list(" default, recipe,,hf://me/m@v1 ,default") == ["default", "recipe", "hf://me/m@v1"]
    assert parse_source_list(None) == []
    assert allowed_sources("some/dir", ["hf://a/b"])[0] == "default"
    assert allowed_sources("some/dir", ["hf://a/b"])[-2:] == ["some/dir", "hf://a/b"]


def test_sources_outside_the_allow_list_are_refused_with_the_choices(checkpoint, registries):
    registry = ModelRegistry([], active=checkpoint, fallback=checkpoint)
    registries(registry)
    registry.warm_up(60)
    for bad in ["/etc", str(Path(checkpoint).parent), ["default"], {"a": 1}, 3]:
        with pytest.raises(SourceError, match=f"not offered by this app; choose one of: {checkpoint}"):
            registry.get(bad)
    with pytest.raises(SourceError, match=r"model list \['default'\]"):
        registry.get(["default"])  # a list is named as one, not a TypeError
    assert not registry.is_loaded(["default"])
    assert registry.get(checkpoint) is registry.get()


def test_get_never_waits_for_a_load(checkpoint, registries):
    release = threading.Event()

    def slow_loader(source):
        if source == "slow":
            release.wait(30)
        return load_source(checkpoint)

    registry = ModelRegistry(["slow"], active=checkpoint, fallback=checkpoint, loader=slow_loader, slow_load=0.3)
    registries(registry)
    err = _quick(lambda: registry.get("slow"))  # the first get starts the loaders and answers at once
    assert isinstance(err, SourceNotReady) and "is still loading; try again in a few seconds" in str(err)
    _wait_for(lambda: registry.is_loaded(checkpoint))
    assert _quick(lambda: registry.get(checkpoint)) is registry.get()  # the other source serves meanwhile
    time.sleep(0.35)
    err = _quick(lambda: registry.get("slow"))
    assert isinstance(err, SourceNotReady) and "is not answering" in str(err) and "Choose another model" in str(err)
    release.set()
    _wait_for(lambda: registry.is_loaded("slow"))
    assert registry.get("slow") is not None and registry.state("slow").attempts == 1


def test_a_failed_source_falls_back_and_is_retried_with_backoff(checkpoint, registries):
    attempts: list[float] = []

    def flaky_loader(source):
        if source == "flaky":
            attempts.append(time.monotonic())
            if len(attempts) <= 3:
                raise SourceError("the Hub answered 503")
        return load_source(checkpoint)

    registry = ModelRegistry([checkpoint], active="flaky", fallback=checkpoint, loader=flaky_loader,
                             retry_first=0.1, retry_max=0.25)
    registries(registry)
    assert registry.warm_up(60) is registry.get(checkpoint)  # the fallback serves while "flaky" fails
    assert registry.active == checkpoint and registry.failures == {"flaky": "the Hub answered 503"}
    err = _quick(lambda: registry.get("flaky"))
    assert isinstance(err, SourceError) and not isinstance(err, SourceNotReady)
    assert "could not be loaded: the Hub answered 503" in str(err) and ("next attempt in" in str(err) or "trying again" in str(err))
    _wait_for(lambda: registry.is_loaded("flaky"), timeout=30)
    gaps = [b - a for a, b in zip(attempts, attempts[1:])]
    assert len(attempts) == 4
    assert gaps[0] >= 0.1 and gaps[1] >= 0.2 and gaps[2] >= 0.25  # 0.1, doubled, then capped at 0.25
    assert registry.active == "flaky" and registry.failures == {}  # served again once a retry succeeded


def test_a_missing_directory_is_recorded_and_the_fallback_serves(checkpoint, tmp_path, registries):
    missing = str(tmp_path / "missing")
    registry = ModelRegistry([], active=missing, fallback=checkpoint)
    registries(registry)
    translator = registry.warm_up(60)
    assert translator is not None and registry.active == checkpoint
    assert "no such path" in registry.failures[missing]
    with pytest.raises(SourceError, match="could not be loaded"):
        registry.get(missing)
    assert registry.working_sources() == [checkpoint]
    assert registry.state(missing).retry_at is not None  # it will be tried again


def test_a_hub_source_that_never_answers_blocks_nobody(checkpoint, tmp_path, monkeypatch, registries):
    """hf://evil/m against a local endpoint that accepts connections and never answers."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_ETAG_TIMEOUT", 2)
    monkeypatch.setattr(constants, "HF_HUB_DOWNLOAD_TIMEOUT", 2)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with HangingServer() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        registry = ModelRegistry([checkpoint, "hf://evil/m"], active=checkpoint, fallback=checkpoint, slow_load=1.0)
        registries(registry)
        registry.start()
        _wait_for(lambda: registry.is_loaded(checkpoint))
        _wait_for(lambda: server.connections)  # the loader is inside a Hub call now
        errors = [_quick(lambda: registry.get("hf://evil/m"), limit=0.2) for _ in range(200)]
        assert all(isinstance(e, SourceError) and "hf://evil/m" in str(e) for e in errors)
        assert all(("still loading" in str(e)) or ("could not be loaded" in str(e)) for e in errors)
        assert _quick(lambda: registry.get(checkpoint), limit=0.05) is not None
        assert registry.state("hf://evil/m").attempts >= 1


def test_a_source_of_another_language_pair_is_refused_for_good_naming_both_pairs(checkpoint, random_spanish_checkpoint,
                                                                                 registries):
    from model.registry import OtherLanguages

    spanish = str(random_spanish_checkpoint)
    calls = []

    def counting_loader(source):
        calls.append(source)
        return load_source(source)

    registry = ModelRegistry([spanish], active=checkpoint, fallback=checkpoint, loader=counting_loader, retry_first=0.05)
    registries(registry)
    registry.warm_up(60)
    assert registry.get(checkpoint).languages.target.name == "French"  # the page's pair loads
    err = _quick(lambda: registry.get(spanish))
    assert isinstance(err, SourceError) and not isinstance(err, SourceNotReady)
    assert "English → Spanish" in str(err) and "this app serves English → French" in str(err)
    assert "next attempt" not in str(err)
    time.sleep(0.3)  # several retry delays: a pair does not change, so it is not tried again
    assert calls.count(spanish) == 1
    assert isinstance(OtherLanguages("x"), SourceError)


def test_an_app_of_another_pair_serves_that_pair_and_refuses_the_recipes_pair(checkpoint, random_spanish_checkpoint,
                                                                              registries):
    from model.languages import from_metadata
    from model.checkpoint import read_metadata

    spanish = str(random_spanish_checkpoint)
    pair = from_metadata(read_metadata(spanish))
    registry = ModelRegistry([checkpoint], active=spanish, fallback=spanish, languages=pair)
    registries(registry)
    registry.warm_up(60)
    assert registry.get().languages == pair
    assert "English → French" in str(_quick(lambda: registry.get(checkpoint)))

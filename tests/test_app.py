"""The Space, tested two ways on real tiny models: handlers called directly, and a live server driven
by gradio_client (translation, the probability payload, every bad input, a batch file round trip).

The serving helpers (allow-list, batching engine, batch files) are tested here too: they exist for
the app and are exercised by it.
"""

from __future__ import annotations

import asyncio
import csv
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gradio as gr
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

import app
from model import DecodeOptions, InputError, SourceError, load_source, serving

GOOD = "Go."  # line 1 of the data: in every tiny model's training set
UNKNOWN = "Go ü€"  # characters no English training sentence of the fixtures has


@pytest.fixture(scope="module")
def translator(tiny_fast_checkpoint):
    """The app's active model in these tests (the tiny recipe model only emits spaces after 3 epochs)."""
    return load_source(str(tiny_fast_checkpoint))


@pytest.fixture(scope="module")
def registry(tiny_checkpoint, tiny_fast_checkpoint, tmp_path_factory):
    missing = tmp_path_factory.mktemp("gone") / "no-such-checkpoint"
    active = str(tiny_fast_checkpoint)
    reg = serving.ModelRegistry([active, str(tiny_checkpoint), str(missing)], active=active, fallback=active)
    reg.warm_up()
    return reg


@pytest.fixture(scope="module")
def handlers(registry):
    return app.Handlers(registry)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(handlers):
    demo = app.build_demo(handlers)
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=_free_port(), quiet=True)
    yield url
    demo.close()


@pytest.fixture(scope="module")
def client(server):
    return Client(server, verbose=False, download_files=False)


def _call(client, text, model, method="greedy", beam_size=4, temperature=1.0, seed=0, top_k=5, drop_unknown=False):
    return client.predict(text, model, method, beam_size, temperature, seed, top_k, drop_unknown, api_name="/translate")


# --- serving helpers ---------------------------------------------------------------------------


def test_parse_source_list_splits_strips_and_dedupes():
    assert serving.parse_source_list(" default, recipe,,hf://me/m@v1 ,default") == ["default", "recipe", "hf://me/m@v1"]
    assert serving.parse_source_list(None) == []
    assert serving.allowed_sources("some/dir", ["hf://a/b"])[0] == "default"
    assert serving.allowed_sources("some/dir", ["hf://a/b"])[-2:] == ["some/dir", "hf://a/b"]


def test_decode_options_bounds():
    options = serving.decode_options("beam", 3.0, 0.7, 5.0, 4.0, True)
    assert options == DecodeOptions(method="beam", beam_size=3, temperature=0.7, seed=5, top_k=4, drop_unknown=True)
    for bad, words in [
        (dict(method="nucleus"), "greedy, beam, sample"),
        (dict(beam_size=0), "beam width"),
        (dict(beam_size=10_000), f"1 to {serving.MAX_BEAM_SIZE}"),
        (dict(beam_size=2.5), "whole number"),
        (dict(temperature=0), "temperature"),
        (dict(temperature="hot"), "temperature"),
        (dict(seed=-1), "seed"),
        (dict(top_k=99), "top-k"),
    ]:
        with pytest.raises(InputError, match=words):
            serving.decode_options(**bad)


def test_check_text_enforces_the_limit():
    assert serving.check_text("a" * serving.MAX_INPUT_CHARS) == "a" * serving.MAX_INPUT_CHARS
    with pytest.raises(InputError, match=f"{serving.MAX_INPUT_CHARS + 1} characters long; the limit is {serving.MAX_INPUT_CHARS}"):
        serving.check_text("a" * (serving.MAX_INPUT_CHARS + 1))
    with pytest.raises(InputError, match="expected text"):
        serving.check_text(42)


def test_registry_refuses_sources_outside_the_allow_list(registry, tiny_fast_checkpoint):
    with pytest.raises(SourceError, match="not offered"):
        registry.get("/etc")
    with pytest.raises(SourceError, match="not offered"):
        registry.get(str(tiny_fast_checkpoint.parent))
    assert registry.get(str(tiny_fast_checkpoint)) is registry.get()


def test_registry_records_a_failed_source_and_falls_back(tiny_checkpoint, tmp_path):
    missing = str(tmp_path / "missing")
    reg = serving.ModelRegistry([], active=missing, fallback=str(tiny_checkpoint))
    translator = reg.warm_up()
    assert translator is not None and reg.active == str(tiny_checkpoint)
    assert missing in reg.failures and "no such path" in reg.failures[missing]
    notice = reg.notice()
    assert missing in notice and f"Serving `{tiny_checkpoint}` instead" in notice
    with pytest.raises(SourceError, match="could not be loaded"):
        reg.get(missing)
    assert reg.working_sources() == [str(tiny_checkpoint)]


def test_unreachable_hub_source_falls_back_to_the_default(tiny_fast_checkpoint, monkeypatch):
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # no network in tests
    source = "hf://nobody/unreachable-model"
    reg = serving.ModelRegistry([], active=source, fallback=str(tiny_fast_checkpoint))
    assert reg.warm_up() is reg.get(str(tiny_fast_checkpoint))
    assert reg.active == str(tiny_fast_checkpoint) and source in reg.failures
    assert source in reg.notice() and "instead of `hf://nobody/unreachable-model`" in reg.notice()


def test_describe_model_shows_data_epochs_and_scores(translator):
    card = serving.describe_model("tiny", translator)
    assert "Epochs: 3" in card and "pairs from `fra.txt`" in card
    assert "Held-out scores: not recorded" in card  # the fixture skips evaluation
    translator_meta = dict(translator.metadata)
    try:
        translator.metadata = {**translator_meta, "evaluation": {"split": "heldout", "greedy": {"chrf": 31.5, "bleu": 9.1}}}
        assert "Held-out greedy: chrf 31.5, bleu 9.1" in serving.describe_model("tiny", translator)
    finally:
        translator.metadata = translator_meta


def test_batching_engine_matches_single_translations_and_isolates_errors(translator):
    engine = serving.BatchingEngine(max_batch_size=16)
    texts = [GOOD, "Hi.", UNKNOWN, "Run!", "", "Who?"] * 4
    options = DecodeOptions()
    expected = translator.translate_batch(texts, options)
    gate = threading.Event()
    with ThreadPoolExecutor(len(texts)) as pool:
        # Hold the worker busy with a first request so the rest queue up and run as one batch.
        futures = [pool.submit(lambda t=t: (gate.wait(), engine.submit(translator, t, options))[1]) for t in texts]
        gate.set()
        results = []
        for f in futures:
            try:
                results.append(f.result().result(timeout=30))
            except InputError as err:
                results.append(err)
    for got, want in zip(results, expected):
        if isinstance(want, InputError):
            assert isinstance(got, InputError) and str(got) == str(want)
        else:
            assert got.translation == want.translation and got.score == pytest.approx(want.score, abs=1e-5)
    assert sum(engine.batch_sizes.values()) < len(texts)  # some requests really were batched together


def test_read_batch_file_txt_and_csv(tmp_path):
    txt = tmp_path / "s.txt"
    txt.write_text("Go.\n\nHi.\r\nRun!\n", encoding="utf-8")
    assert [(r.row, r.english) for r in serving.read_batch_file(txt)] == [(1, "Go."), (3, "Hi."), (4, "Run!")]
    data = tmp_path / "s.csv"
    data.write_text('id,English\n1,"Go."\n2,"Hi, you."\n3,\n', encoding="utf-8")
    assert [(r.row, r.english) for r in serving.read_batch_file(data)] == [(1, "Go."), (2, "Hi, you.")]


@pytest.mark.parametrize("name, content, words", [
    ("s.pdf", b"Go.", "upload a .txt"),
    ("s.csv", b"french\nVa !\n", "no column named 'english'"),
    ("s.txt", b"\xff\xfeGo.", "not UTF-8"),
    ("s.txt", b"\n\n", "no sentences"),
    ("s.txt", b"Go.\n" * (serving.MAX_BATCH_ROWS + 1), f"the limit is {serving.MAX_BATCH_ROWS}"),
    ("s.txt", b"a" * (serving.MAX_BATCH_BYTES + 1), "bytes; the limit is"),
])
def test_read_batch_file_rejects_unusable_files(tmp_path, name, content, words):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(serving.BatchFileError, match=words):
        serving.read_batch_file(path)


def test_views_of_a_translation(translator):
    result = translator.translate(GOOD, DecodeOptions(method="beam", beam_size=3, top_k=4))
    pairs = serving.highlight(result)
    assert "".join(c for c, _ in pairs) == result.translation
    assert all(0.0 <= s <= 1.0 for _, s in pairs)
    assert [s for _, s in pairs] == [pytest.approx(1 - step.prob, abs=1e-4) for step in result.steps[: len(pairs)]]
    headers, rows = serving.steps_table(result, 4)
    assert headers == ["step", "chosen", "p", "#1", "#2", "#3", "#4"]
    assert len(rows) == len(result.steps) and rows[-1][1] == serving.END_MARK
    _, nbest = serving.nbest_table(result)
    assert len(nbest) == 3 and nbest[0][1] == result.translation


# --- handlers called directly ------------------------------------------------------------------


def test_translate_handler(handlers, translator, registry):
    french, hesitation, steps, nbest, summary = asyncio.run(handlers.translate(GOOD, registry.active))
    assert french == translator.translate(GOOD).translation
    assert [c for c, _ in hesitation] == list(french)
    assert french and steps["headers"][:3] == ["step", "chosen", "p"]
    assert len(steps["data"]) == len(translator.translate(GOOD).steps)
    assert nbest["data"] == []  # greedy has no n-best list
    assert f"Model `{registry.active}`" in summary


def test_translate_handler_errors_are_friendly(handlers, registry):
    for text, words in [("", "The input is empty"), (UNKNOWN, "'ü'"), ("x" * 500, "500 characters long")]:
        with pytest.raises(gr.Error, match=words) as caught:
            asyncio.run(handlers.translate(text, registry.active))
        assert "Traceback" not in caught.value.message
    with pytest.raises(gr.Error, match="not offered"):
        asyncio.run(handlers.translate(GOOD, "/etc/passwd"))


def test_unknown_characters_can_be_dropped(handlers, registry):
    french, *_, summary = asyncio.run(handlers.translate(UNKNOWN, registry.active, drop_unknown=True))
    assert french and "dropped characters" in summary


def test_deep_link_fills_the_textbox(handlers, registry):
    assert handlers.fill_from_link(gr.Request(query_params={"text": "Go."})) == "Go."
    assert handlers.fill_from_link(gr.Request(query_params={})) == ""
    assert len(handlers.fill_from_link(gr.Request(query_params={"text": "a" * 999}))) == serving.MAX_INPUT_CHARS
    skipped = asyncio.run(handlers.translate_link("", registry.active))
    assert len(skipped) == 5 and all(s == gr.skip() for s in skipped)


def test_page_state_shows_the_failure_notice(handlers, registry):
    notice, active, card = handlers.page_state()
    assert notice["visible"] is True and "no-such-checkpoint" in notice["value"]
    assert active == registry.active and "Epochs: 3" in card


def test_selecting_a_broken_model_falls_back(handlers, registry):
    broken = next(s for s in registry.sources if "no-such-checkpoint" in s)
    model, card, _ = handlers.select_model(broken)
    assert model == registry.active and "Epochs" in card


def test_batch_handler_writes_a_csv(handlers, registry, tmp_path):
    upload = tmp_path / "in.txt"
    upload.write_text(f"{GOOD}\n{UNKNOWN}\nHi.\n", encoding="utf-8")
    path, summary = handlers.translate_batch(str(upload), registry.active, progress=lambda *a, **k: None)
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["english"] for r in rows] == [GOOD, UNKNOWN, "Hi."]
    assert rows[0]["french"] and not rows[0]["error"]
    assert not rows[1]["french"] and "'ü'" in rows[1]["error"]
    assert "Translated 2 of 3" in summary and "row 2" in summary


# --- the live server, driven by gradio_client --------------------------------------------------


def test_api_lists_the_named_endpoints(client):
    api = client.view_api(print_info=False, return_format="dict")
    assert {"/translate", "/translate_batch"} <= set(api["named_endpoints"])
    params = [p["parameter_name"] for p in api["named_endpoints"]["/translate"]["parameters"]]
    assert params[:2] == ["text", "model"]


def test_api_translate(client, registry, translator):
    french, hesitation, steps, nbest, summary = _call(client, GOOD, registry.active)
    assert french == translator.translate(GOOD).translation
    # The probability payload: one entry per French character, a float hesitation in [0, 1].
    assert french and "".join(t["token"] for t in hesitation) == french
    scores = [t["class_or_confidence"] for t in hesitation]
    assert all(isinstance(s, float) and 0.0 <= s <= 1.0 for s in scores)
    expected = translator.translate(GOOD).steps
    assert scores == [pytest.approx(1 - s.prob, abs=1e-4) for s in expected[: len(french)]]
    assert steps["headers"][:3] == ["step", "chosen", "p"] and len(steps["data"]) == len(expected)


def test_api_translate_with_keyword_defaults(client):
    french, *_ = client.predict(text=GOOD, api_name="/translate")
    assert isinstance(french, str)


def test_api_beam_search_returns_the_nbest_list(client, registry):
    _, _, _, nbest, _ = _call(client, GOOD, registry.active, method="beam", beam_size=3)
    assert nbest["headers"] == ["rank", "translation", "log-prob"] and len(nbest["data"]) == 3
    scores = [row[2] for row in nbest["data"]]
    assert scores == sorted(scores, reverse=True)


def test_api_sampling_is_reproducible_with_a_seed(client, registry):
    first = _call(client, GOOD, registry.active, method="sample", temperature=1.5, seed=3)[0]
    assert _call(client, GOOD, registry.active, method="sample", temperature=1.5, seed=3)[0] == first


def test_api_other_allowed_model(client, tiny_checkpoint):
    french, *_, summary = _call(client, GOOD, str(tiny_checkpoint))
    assert french == load_source(str(tiny_checkpoint)).translate(GOOD).translation
    assert str(tiny_checkpoint) in summary


@pytest.mark.parametrize("kwargs, words", [
    (dict(text=""), "The input is empty"),
    (dict(text="   "), "The input is empty"),
    (dict(text=UNKNOWN), "'ü'"),
    (dict(text="a" * (serving.MAX_INPUT_CHARS + 1)), "the limit is"),
    # Sliders are checked by Gradio first ("Value 0 is less than minimum value 1."), then by serving.
    (dict(method="beam", beam_size=0), "beam width|less than minimum value 1"),
    (dict(method="beam", beam_size=500), "beam width|greater than maximum value 16"),
    (dict(method="sample", temperature=0), "temperature|less than minimum value 0.1"),
    (dict(top_k=0), "top-k|less than minimum value 1"),
    (dict(method="nucleus"), "nucleus"),
    (dict(model="/etc"), "not in the list of choices|not offered"),  # the Dropdown refuses it first
    (dict(model="broken"), "could not be loaded"),
])
def test_api_bad_input_gets_a_clear_error_and_the_server_keeps_serving(client, registry, kwargs, words):
    broken = next(s for s in registry.sources if "no-such-checkpoint" in s)
    args = dict(text=GOOD, model=registry.active)
    args.update(kwargs)
    if args["model"] == "broken":
        args["model"] = broken
    text, model = args.pop("text"), args.pop("model")
    with pytest.raises(AppError, match=words) as caught:
        _call(client, text, model, **args)
    assert "Traceback" not in str(caught.value)
    assert _call(client, GOOD, registry.active)[0]  # still serving


def test_api_concurrent_requests_are_batched(client, registry, handlers, translator):
    before = sum(n * count for n, count in handlers.engine.batch_sizes.items() if n > 1)
    texts = [GOOD, "Hi.", "Run!", "Who?"] * 8
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda t: _call(client, t, registry.active)[0], texts))
    assert results == [translator.translate(t).translation for t in texts]
    after = sum(n * count for n, count in handlers.engine.batch_sizes.items() if n > 1)
    assert after > before  # at least some of those requests shared an engine call


def test_api_batch_file_round_trip(client, registry, tmp_path):
    upload = tmp_path / "sentences.csv"
    upload.write_text(f'english,note\n"{GOOD}",a\n"{UNKNOWN}",b\n"Hi.",c\n', encoding="utf-8")
    local = Client(client.src, verbose=False, download_files=str(tmp_path / "dl"))
    path, summary = local.predict(file=handle_file(str(upload)), api_name="/translate_batch")  # the README's form
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["row"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["french"] and rows[2]["french"] and "'ü'" in rows[1]["error"]
    assert "Translated 2 of 3" in summary


def test_api_batch_rejects_a_bad_file_clearly(client, registry, tmp_path):
    upload = tmp_path / "wrong.csv"
    upload.write_text("french\nVa !\n", encoding="utf-8")
    with pytest.raises(AppError, match="no column named 'english'"):
        client.predict(handle_file(str(upload)), registry.active, "greedy", 4, 1.0, 0, 5, False, api_name="/translate_batch")
    assert _call(client, GOOD, registry.active)[0]


def test_main_parses_space_options(monkeypatch):
    monkeypatch.setenv("GRADIO_SERVER_NAME", "127.0.0.2")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "9999")
    args = app.parse_args([])
    assert (args.host, args.port, args.share, args.model) == ("127.0.0.2", 9999, False, None)
    args = app.parse_args(["--host", "0.0.0.0", "--port", "7861", "--share", "--model", "recipe", "--models", "a,b"])
    assert (args.host, args.port, args.share, args.model, args.models) == ("0.0.0.0", 7861, True, "recipe", "a,b")
    monkeypatch.setenv("MODEL_SOURCE", "some/dir")
    monkeypatch.setenv("MODEL_SOURCES", "hf://me/x, other/dir")
    reg = app.registry_from()
    assert reg.active == "some/dir" and reg.sources[0] == "some/dir"
    assert {"default", "hf://me/x", "other/dir"} <= set(reg.sources)
    assert app.registry_from("cli/dir", "").active == "cli/dir"


@pytest.mark.slow
def test_python_app_py_honours_the_environment(tiny_checkpoint, tiny_fast_checkpoint):
    """`python app.py` as a Space runs it: host, port and models from the environment."""
    import os
    import subprocess
    import sys
    import time

    port = _free_port()
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
           "MODEL_SOURCE": str(tiny_fast_checkpoint), "MODEL_SOURCES": str(tiny_checkpoint),
           "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=Path(app.__file__).parent, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline, client = time.monotonic() + 120, None
        while client is None:
            assert proc.poll() is None, proc.stderr.read()[-3000:]
            assert time.monotonic() < deadline, "app.py did not start within 120 s"
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False, download_files=False)
            except Exception:
                time.sleep(0.5)
        expected = load_source(str(tiny_fast_checkpoint)).translate(GOOD).translation
        assert client.predict(text=GOOD, api_name="/translate")[0] == expected  # MODEL_SOURCE is the default choice
        other = load_source(str(tiny_checkpoint)).translate(GOOD).translation
        assert client.predict(text=GOOD, model=str(tiny_checkpoint), api_name="/translate")[0] == other
        with pytest.raises(AppError):
            client.predict(text=GOOD, model="/etc", api_name="/translate")
    finally:
        proc.terminate()
        proc.wait(20)

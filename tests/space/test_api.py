"""The Space as an API client meets it: a live server driven by gradio_client (translation, the
probability payload, every bad input, batch files, cancelled requests, files left behind)."""

from __future__ import annotations

import csv
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import gradio as gr
import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from model import DecodeOptions, load_source, validation
from model.batch_files import MAX_BATCH_BYTES
from model.registry import ModelRegistry
from space import Handlers, build_demo
from space.compare_tab import COMPARE_BEAM_LABEL, COMPARE_BEAM_OPTIONS
from space.options import APP_DEFAULT_OPTIONS
from space.views import models as model_views

from tests.random_models import SENTENCES
from tests.space.live import GOOD, UNKNOWN, call, launch, wait_for


def test_api_lists_the_named_endpoints(client):
    api = client.view_api(print_info=False, return_format="dict")
    assert {"/translate", "/score", "/compare", "/translate_batch"} <= set(api["named_endpoints"])

    def names(endpoint):
        return [p["parameter_name"] for p in api["named_endpoints"][endpoint]["parameters"]]

    # prefix comes last, so a REST client sending the first eleven values in order still works.
    assert names("/translate") == ["text", "model", "method", "beam_size", "temperature", "seed", "top_k",
                                   "drop_unknown", "typography", "fold_accents", "capitalize", "prefix"]
    assert names("/compare") == ["text", "references", "prefix"]
    assert names("/score") == ["text", "french", "model", "top_k"]


def test_engine_stats_count_every_translation_and_stay_out_of_the_api_docs(client, registry):
    before = client.predict(api_name="/engine_stats")
    for _ in range(3):
        call(client, GOOD, registry.active)
    after = client.predict(api_name="/engine_stats")
    assert after["requests"] - before["requests"] == 3
    assert 1 <= after["batches"] - before["batches"] <= 3
    assert "/engine_stats" not in client.view_api(print_info=False, return_format="dict")["named_endpoints"]


def test_api_translate(client, registry, translator):
    result = call(client, GOOD, registry.active)
    expected = translator.translate(GOOD)
    assert result["translation"] == expected.translation and result["input"] == GOOD
    # The step data: per character, its probability and the top alternatives, as the CLI's JSONL.
    assert [s["char"] for s in result["steps"]] == [s.char for s in expected.steps]
    assert [s["prob"] for s in result["steps"]] == [pytest.approx(s.prob, abs=1e-6) for s in expected.steps]
    assert all(len(s["top"]) == 5 and s["top"][0][0] == s["char"] for s in result["steps"])
    assert "attention" not in result["steps"][0]  # this model has none
    assert result["score"] == pytest.approx(expected.score, abs=1e-4) and result["warnings"] == []


def test_api_translate_with_keyword_defaults(client, translator):
    # Options left out take the page's defaults (APP_DEFAULT_OPTIONS: beam search, width 4, normalised).
    expected = translator.translate(GOOD, APP_DEFAULT_OPTIONS).translation
    assert client.predict(text=GOOD, api_name="/translate")["translation"] == expected


def test_api_translate_with_only_text_decodes_with_length_normalised_beam_search_width_4(client, translator):
    """Issue 17: the API's default decoding is the best measured: beam search, width 4, length-normalised."""
    result = client.predict(text=GOOD, api_name="/translate")
    assert result["options"]["method"] == "beam" and result["options"]["beam_size"] == 4
    assert result["options"]["length_normalize"] is True
    beam4 = translator.translate(GOOD, DecodeOptions(method="beam", beam_size=4, length_normalize=True))
    assert result["translation"] == beam4.translation and len(result["nbest"]) == 4
    assert [e["translation"] for e in result["nbest"]] == [e["translation"] for e in beam4.nbest]
    greedy = client.predict(text=GOOD, method="greedy", api_name="/translate")  # still selectable
    assert greedy["options"]["method"] == "greedy" and greedy["translation"] == translator.translate(GOOD).translation


def test_api_beam_search_returns_the_nbest_list(client, registry, translator):
    nbest = call(client, GOOD, registry.active, method="beam", beam_size=3)["nbest"]
    expected = translator.translate(GOOD, DecodeOptions(method="beam", beam_size=3, length_normalize=True))
    assert [e["translation"] for e in nbest] == [e["translation"] for e in expected.nbest]
    assert [e["score"] for e in nbest] == [pytest.approx(e["score"], abs=1e-4) for e in expected.nbest]


def test_api_steps_carry_attention_for_an_attention_model(client, attention_path):
    result = call(client, "Hi, Tom!", attention_path)
    expected = load_source(attention_path).translate("Hi, Tom!")
    assert result["translation"] == expected.translation
    for step, want in zip(result["steps"], expected.steps, strict=True):
        assert len(step["attention"]) == len("Hi, Tom!")
        assert step["attention"] == pytest.approx(want.attention, abs=1e-6)
        assert sum(step["attention"]) == pytest.approx(1.0, abs=1e-4)


def test_api_normalisation_is_reported_and_switchable(client, registry, translator):
    curly = call(client, "Hi, Tom’s.", registry.active)
    assert curly["input"] == "Hi, Tom's." and curly["translation"] == translator.translate("Hi, Tom's.").translation
    assert any("’ → '" in w for w in curly["warnings"])
    assert curly["options"]["typography"] is True
    lower = call(client, "go.", registry.active)
    assert lower["suggest_capitalize"] is True and any("capitalise" in w for w in lower["warnings"])
    capital = call(client, "go.", registry.active, capitalize=True)
    assert capital["input"] == "Go." and capital["suggest_capitalize"] is False
    with pytest.raises(AppError, match="'’'"):
        call(client, "Hi, Tom’s.", registry.active, typography=False)
    with pytest.raises(AppError, match="fold_accents must be true or false, got text 'no'"):
        call(client, GOOD, registry.active, fold_accents="no")


def test_api_compare_runs_every_offered_model_with_greedy_and_beam(client, registry):
    result = client.predict(text=GOOD, references=["Va !", "Bouge !"], api_name="/compare")
    assert result["english"] == GOOD and result["references"] == ["Va !", "Bouge !"]
    rows = result["rows"]
    loaded = [s for s in registry.sources if "no-such-checkpoint" not in s]
    assert len(rows) == 2 * len(loaded) + 1  # a model that failed to load is one row, saying why
    for source in loaded:
        translator = load_source(source)
        greedy = translator.translate(GOOD, DecodeOptions(top_k=1))
        beam = translator.translate(GOOD, COMPARE_BEAM_OPTIONS)
        mine = [r for r in rows if r["model"] == model_views.model_label(source)]
        assert [r["method"] for r in mine] == ["greedy", COMPARE_BEAM_LABEL]
        assert [r["french"] for r in mine] == [greedy.translation, beam.translation]
        assert mine[0]["log_prob"] == pytest.approx(greedy.score, abs=1e-3)
        assert all(r["chrf"] is not None and 0 <= r["chrf"] <= 100 for r in mine)
    failed = [r for r in rows if "no-such-checkpoint" in r["model"]]
    assert failed and all(r["error"] and r["french"] == "" for r in failed)


def test_api_compare_finds_references_in_the_held_out_sample(client, handlers):
    entry = handlers.sample.examples[0]
    result = client.predict(text=entry["english"], api_name="/compare")
    assert result["references"] == list(entry["references"])
    with pytest.raises(AppError, match="references must be a list of strings"):
        client.predict(text=GOOD, references="Va !", api_name="/compare")


def test_api_sampling_is_reproducible_with_a_seed(client, registry, translator):
    first = call(client, GOOD, registry.active, method="sample", temperature=1.5, seed=3)["translation"]
    assert call(client, GOOD, registry.active, method="sample", temperature=1.5, seed=3)["translation"] == first
    assert first == translator.translate(GOOD, DecodeOptions(method="sample", temperature=1.5, seed=3)).translation


# --- scoring a given translation, and a French prefix ----------------------------------------------

FRENCH = "Tu es là."  # "à" is outside the random models' French: see test_api_score_refuses_...
SCORED = "Va, Tom !"


def test_api_score_returns_the_translators_forced_decoding_record(client, attention_path):
    result = client.predict(text="Hi, Tom!", french=SCORED, model=attention_path, top_k=3, api_name="/score")
    expected = load_source(attention_path).score("Hi, Tom!", SCORED, replace(APP_DEFAULT_OPTIONS, top_k=3))
    assert result["translation"] == SCORED and result["input"] == "Hi, Tom!"
    assert result["score"] == pytest.approx(expected.score, abs=1e-4)
    assert result["normalized_score"] == pytest.approx(expected.normalized_score, abs=1e-5)
    assert [s["char"] for s in result["steps"]] == list(SCORED) + ["\n"]  # the end is scored too
    assert [s["prob"] for s in result["steps"]] == [pytest.approx(s.prob, abs=1e-6) for s in expected.steps]
    assert all(s["given"] is True and len(s["top"]) == 3 for s in result["steps"])
    assert all(len(s["attention"]) == len("Hi, Tom!") for s in result["steps"])
    assert result["disagreements"] == [
        {**d, "prob": pytest.approx(d["prob"], abs=1e-6), "model_prob": pytest.approx(d["model_prob"], abs=1e-6)}
        for d in expected.disagreements]
    assert result["model"] == attention_path and result["options"] == {"top_k": 3} and result["warnings"] == []


def test_api_score_of_the_models_own_translation_equals_its_translate_score(client, registry, translator):
    own = client.predict(text=GOOD, method="greedy", api_name="/translate")
    scored = client.predict(text=GOOD, french=own["translation"], api_name="/score")
    assert scored["score"] == pytest.approx(own["score"], abs=1e-4) and scored["disagreements"] == []
    assert scored["model"] == registry.active


def test_api_score_with_empty_french_scores_the_models_own_translation_and_says_so(client, translator):
    result = client.predict(text=GOOD, french="", api_name="/score")
    own = translator.translate(GOOD, APP_DEFAULT_OPTIONS)
    assert result["translation"] == own.translation
    assert result["score"] == pytest.approx(translator.score(GOOD, own.translation).score, abs=1e-4)
    assert result["warnings"] == ["no French was given, so the model's own translation (beam search, width 4, "
                                  "length-normalised) was scored"]


@pytest.mark.parametrize("kwargs, words", [
    (dict(french=FRENCH), "Can't score this input — the French has characters outside the model's French "
                          "vocabulary: 'à'. The model writes only these: U\\+0020 ! ' , . \\? A B"),
    (dict(french="Va € !"), "'€'"),
    (dict(french=["Va !"]), "the French must be text, got a list"),
    (dict(french="a" * 1501), "the French is 1,501 characters long; the limit is 1,500"),
    (dict(text=""), "Can't score this input — the input is empty"),
    (dict(text=UNKNOWN), "'€'"),
    (dict(top_k=0), "top-k must be a whole number from 1 to 10, got 0"),
    (dict(model="/etc"), "Model unavailable — model '/etc' is not offered by this app"),
])
def test_api_score_bad_input_gets_a_clear_error(client, kwargs, words):
    args = {"text": GOOD, "french": "Va !", **kwargs}
    with pytest.raises(AppError, match=words) as caught:
        client.predict(**args, api_name="/score")
    assert "Traceback" not in str(caught.value)
    assert client.predict(text=GOOD, french="Va !", api_name="/score")["translation"] == "Va !"  # still serving


def test_api_translate_with_a_prefix_starts_with_it(client, registry, translator):
    for method in ("greedy", "beam"):
        result = call(client, GOOD, registry.active, method=method, prefix="Va")
        expected = translator.translate(GOOD, DecodeOptions(method=method), prefix="Va")
        assert result["translation"] == expected.translation and result["translation"].startswith("Va")
        assert [s["given"] for s in result["steps"]][:3] == [True, True, False]
        assert all(e["translation"].startswith("Va") for e in result["nbest"])
    plain = call(client, GOOD, registry.active, prefix="")  # empty: as if there were none
    assert plain["translation"] == translator.translate(GOOD).translation and "given" not in plain["steps"][0]


@pytest.mark.parametrize("prefix, words", [
    ("Ça", "Can't translate this input — the prefix has characters outside the model's French vocabulary: 'Ç'\\. "
           "The model writes only these: U\\+0020 !"),
    (["Va"], "the prefix must be text, got a list"),
])
def test_api_translate_with_a_bad_prefix_gets_a_clear_error(client, registry, prefix, words):
    with pytest.raises(AppError, match=words):
        call(client, GOOD, registry.active, prefix=prefix)


def test_api_compare_with_a_prefix(client, registry):
    result = client.predict(text=GOOD, references=["Va !"], prefix="Va", api_name="/compare")
    loaded = [s for s in registry.sources if "no-such-checkpoint" not in s]
    rows = [r for r in result["rows"] if not r["error"]]
    assert len(rows) == 2 * len(loaded) and all(r["french"].startswith("Va") for r in rows)
    greedy = load_source(loaded[0]).translate(GOOD, DecodeOptions(top_k=1), prefix="Va")
    assert rows[0]["french"] == greedy.translation
    with pytest.raises(AppError, match="Can't compare this input — the prefix has characters outside .*'Ç'"):
        client.predict(text=GOOD, prefix="Ça", api_name="/compare")


def test_api_other_allowed_model(client, recipe_path):
    result = call(client, GOOD, recipe_path)
    assert result["translation"] == load_source(recipe_path).translate(GOOD).translation
    assert result["model"] == recipe_path


@pytest.mark.parametrize("kwargs, words", [
    (dict(text=""), "Can't translate this input — the input is empty"),
    (dict(text="   "), "the input is empty"),
    (dict(text=UNKNOWN), "'€'"),
    (dict(text="a" * (validation.MAX_PARAGRAPH_CHARS + 1)), "the limit is 1,000"),
    (dict(method="beam", beam_size=0), "beam width must be a whole number from 1 to 16, got 0"),
    (dict(method="beam", beam_size=500), "beam width must be a whole number from 1 to 16, got 500"),
    (dict(beam_size="4"), "beam width must be a whole number from 1 to 16, got text '4'; send a JSON number"),
    (dict(method="sample", temperature=0), "temperature must be a number from 0.1 to 2.0, got 0"),
    (dict(seed="abc"), "seed must be a whole number from 0 to 4294967295, got text 'abc'"),
    (dict(seed=1e308), r"seed must be a whole number from 0 to 4294967295, got 1e\+308$"),
    (dict(seed=10**308), r"got 10{29}… \(309 characters\)"),
    (dict(top_k=0), "top-k must be a whole number from 1 to 10, got 0"),
    (dict(drop_unknown="yes"), "drop_unknown must be true or false"),
    (dict(method="nucleus"), "method must be one of greedy, beam, sample, got 'nucleus'"),
    (dict(model="/etc"), "Model unavailable — model '/etc' is not offered by this app; choose one of"),
    (dict(model="active-as-list"), r"Model unavailable — model list \[.* is not offered by this app"),
    (dict(model="broken"), "Model unavailable — model '.*no-such-checkpoint' could not be loaded: .*no such path"),
])
def test_api_bad_input_gets_a_clear_error_and_the_server_keeps_serving(client, registry, kwargs, words):
    args = dict(text=GOOD, model=registry.active)
    args.update(kwargs)
    if args["model"] == "broken":
        args["model"] = next(s for s in registry.sources if "no-such-checkpoint" in s)
    if args["model"] == "active-as-list":
        args["model"] = [registry.active]  # used to pass the Dropdown (every item is a choice) and be a TypeError
    text, model = args.pop("text"), args.pop("model")
    with pytest.raises(AppError, match=words) as caught:
        call(client, text, model, **args)
    assert "Traceback" not in str(caught.value) and "verbose error reporting" not in str(caught.value)
    assert len(caught.value.message) < 400
    assert call(client, GOOD, registry.active)["translation"] is not None  # still serving


def test_rest_nan_seed_gets_a_message_not_null(server, registry):
    """A NaN over REST (JSON's NaN literal) used to come back as {"error": null}."""
    body = ('{"data": ["Go.", %s, "sample", 4, 1.0, NaN, 5, false, true, true, false, ""]}' % json.dumps(registry.active))
    with httpx.Client(base_url=server, timeout=30) as http:
        event = http.post("/gradio_api/call/translate", content=body, headers={"Content-Type": "application/json"})
        assert event.status_code == 200, event.text
        stream = http.get(f"/gradio_api/call/translate/{event.json()['event_id']}").text
    assert "event: error" in stream
    assert "seed must be a whole number from 0 to 4294967295, got nan" in stream


def test_api_error_titles_and_file_names_are_kept_as_written(client, registry, tmp_path):
    upload = tmp_path / "wrong.csv"
    upload.write_text("french\nVa !\n", encoding="utf-8")
    with pytest.raises(AppError) as caught:
        client.predict(handle_file(str(upload)), registry.active, "greedy", 4, 1.0, 0, 5, False, api_name="/translate_batch")
    assert caught.value.title == "Can't use this file"
    assert caught.value.message == "Can't use this file — wrong.csv: no column named 'english' (found: french)"
    assert call(client, GOOD, registry.active)["translation"] is not None


def test_api_concurrent_requests_are_batched(client, registry, handlers, translator):
    before = sum(n * count for n, count in handlers.engine.batch_sizes.items() if n > 1)
    texts = SENTENCES[:4] * 8
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda t: call(client, t, registry.active)["translation"], texts))
    assert results == [translator.translate(t).translation for t in texts]
    after = sum(n * count for n, count in handlers.engine.batch_sizes.items() if n > 1)
    assert after > before  # at least some of those requests shared an engine call


def test_api_batch_file_round_trip(client, registry, translator, tmp_path):
    upload = tmp_path / "sentences.csv"
    upload.write_text(f'english,note\n"{GOOD}",a\n"{UNKNOWN}",b\n"Hi.",c\n"=HYPERLINK(""http://x"",""y"")",d\n',
                      encoding="utf-8")
    local = Client(client.src, verbose=False, download_files=str(tmp_path / "dl"))
    path, summary, preview = local.predict(file=handle_file(str(upload)), api_name="/translate_batch")  # the README's form
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["row"] for r in rows] == ["1", "2", "3", "4"]
    assert rows[0]["french"] == translator.translate(GOOD, APP_DEFAULT_OPTIONS).translation  # the page's defaults
    assert rows[2]["french"] == translator.translate("Hi.", APP_DEFAULT_OPTIONS).translation and "'€'" in rows[1]["error"]
    assert rows[3]["english"] == "'=HYPERLINK(\"http://x\",\"y\")"  # neutralised: a spreadsheet shows it as text
    assert "Translated 2 of 4" in summary


# --- cancelled requests, files left behind ----------------------------------------------------


class Gated:
    """A real Translator whose engine calls wait for `gate`: holds the engine busy so requests queue."""

    def __init__(self, translator):
        self.translator, self.gate, self.entered = translator, threading.Event(), threading.Event()
        self.languages = translator.languages  # the registry serves only the page's pair

    def translate_batch(self, texts, options=None):
        self.entered.set()
        assert self.gate.wait(60), "the test never opened the gate"
        return self.translator.translate_batch(texts, options)


def test_cancelling_half_a_burst_never_freezes_the_app(fast_path, translator):
    """gradio_client's job.cancel() (POST /gradio_api/cancel, no authentication) on requests queued in
    the engine used to kill its worker: every other request of the batch, and later ones, hung."""
    gated = Gated(translator)
    registry = ModelRegistry(["gated"], active=fast_path, fallback=fast_path,
                             loader=lambda s: gated if s == "gated" else load_source(s))
    registry.warm_up(60)
    handlers = Handlers(registry)
    demo = build_demo(handlers)
    url = launch(demo)
    try:
        keep = Client(url, verbose=False, download_files=False)
        doomed = Client(url, verbose=False, download_files=False)  # /cancel acts on a whole session
        texts = [SENTENCES[i % len(SENTENCES)] for i in range(15)]
        first = keep.submit(texts[0], "gated", api_name="/translate")
        assert gated.entered.wait(30)  # the engine is busy with `first`: the burst queues behind it
        kept = [keep.submit(t, "gated", api_name="/translate") for t in texts[1:]]
        cancelled = [doomed.submit(t, "gated", api_name="/translate") for t in texts]
        wait_for(lambda: handlers.engine.pending() == 29, what="29 requests queued in the engine")
        for job in cancelled:
            job.cancel()
        gated.gate.set()
        results = [job.result(timeout=60)["translation"] for job in [first, *kept]]
        assert results == [translator.translate(t, APP_DEFAULT_OPTIONS).translation for t in texts]
        assert handlers.engine.dropped == 15 and handlers.engine.is_alive() and handlers.engine.workers_started == 1
        fresh = Client(url, verbose=False, download_files=False)
        assert fresh.predict("Hi.", "gated", api_name="/translate")["translation"] == translator.translate(
            "Hi.", APP_DEFAULT_OPTIONS).translation
        assert httpx.get(url, timeout=10).status_code == 200
    finally:
        gated.gate.set()
        demo.close()
        registry.close()


def _files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def test_uploads_and_results_are_deleted_and_big_uploads_refused(handlers, tmp_path):
    demo = build_demo(handlers, delete_cache=(1, 1))
    url = launch(demo)
    cache = Path(gr.utils.get_upload_folder())
    try:
        before = _files_under(cache)
        results = []
        for i in range(3):  # three visitors: a session keeps only its latest result (tests/space/test_batch_results.py)
            client = Client(url, verbose=False, download_files=False)
            upload = tmp_path / f"batch{i}.txt"
            upload.write_text("Go.\nHi.\n", encoding="utf-8")
            out, _, _ = client.predict(file=handle_file(str(upload)), api_name="/translate_batch")
            results.append(Path(out["path"] if isinstance(out, dict) else out))
        assert all(p.is_file() for p in results)
        created = _files_under(cache) - before
        assert len(created) >= 6  # three uploads and three results
        wait_for(lambda: not (created & _files_under(cache)), timeout=15, what="uploads and results deleted")

        big = tmp_path / "big.txt"
        big.write_bytes(b"Go.\n" * (MAX_BATCH_BYTES // 4 + 1))
        before = _files_under(cache)
        with pytest.raises(ValueError, match=f"exceeds the maximum file size of {MAX_BATCH_BYTES} bytes"):
            client.predict(file=handle_file(str(big)), api_name="/translate_batch")  # gradio_client checks first
        with open(big, "rb") as handle:  # the server refuses it too, before storing it
            refused = httpx.post(f"{url}gradio_api/upload", files={"files": (big.name, handle)}, timeout=30)
        assert refused.status_code == 413 and f"maximum allowed size of {MAX_BATCH_BYTES} bytes" in refused.text
        assert not (_files_under(cache) - before)  # nothing of it was kept
    finally:
        demo.close()

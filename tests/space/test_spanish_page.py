"""A Space serving another language pair (English -> Spanish) speaks that pair everywhere: the whole
page's config (title, labels, help, placeholders, Markdown, the names static/page.js gives the result
box), the API's documentation, and what every view and message says after a request. Nowhere does
it say "French". Its checkpoint records no held-out sentences (samples.EMPTY): the page has no
examples and no random buttons, and a random draw asked for anyway is a clear error.

The models are the seeded random-weight checkpoints of tests/random_models.py with "languages" set
to English -> Spanish in their metadata.json, as train.py records it for spa-eng data.
"""

from __future__ import annotations

import asyncio
import json
import shutil

import gradio as gr
import httpx
import pytest
from gradio_client import Client

from model import checkpoint, samples
from model.languages import ENGLISH, Language, LanguagePair
from model.registry import ModelRegistry
from space import Handlers, build_demo

from tests.space.live import GOOD, launch

SPANISH = LanguagePair(ENGLISH, Language("Spanish", "es"))
GREEDY = ("greedy", 4, 1.0, 0, 5, False, True, True, False)  # the page's option widgets, in table order


def as_spanish(original, out) -> str:
    """A copy of a checkpoint whose metadata says it translates English -> Spanish."""
    shutil.copytree(original, out)
    metadata = checkpoint.read_metadata(out)
    metadata["languages"] = SPANISH.to_dict()
    checkpoint.write_json(out / checkpoint.METADATA_FILE, metadata)
    return str(out)


@pytest.fixture(scope="module")
def spanish_registry(random_fast_checkpoint, random_attention_checkpoint, tmp_path_factory):
    """Two Spanish models: one without attention (its view says so), one with (its heatmap)."""
    folder = tmp_path_factory.mktemp("spanish")
    fast = as_spanish(random_fast_checkpoint, folder / "fast")
    attention = as_spanish(random_attention_checkpoint, folder / "attention")
    registry = ModelRegistry([fast, attention], active=fast, fallback=fast, languages=SPANISH)
    registry.warm_up(120)
    yield registry
    registry.close()


@pytest.fixture(scope="module")
def spanish(spanish_registry):
    return Handlers(spanish_registry, sample=samples.EMPTY)


@pytest.fixture(scope="module")
def spanish_app(spanish):
    demo = build_demo(spanish)
    url = launch(demo)
    yield demo, url
    demo.close()


def french_in(value) -> list[str]:
    """The places in `value` (any mix of strings, lists, dicts, objects) where "French" is written."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return [text[max(0, i - 80): i + 40] for i in range(len(text)) if text.startswith("French", i)]


def components(config: dict, **props) -> list[dict]:
    return [c for c in config["components"] if all(c.get("props", {}).get(k) == v for k, v in props.items())]


def test_the_whole_page_config_names_spanish_and_never_french(spanish_app):
    demo, url = spanish_app
    served = httpx.get(f"{url.rstrip('/')}/config", timeout=30).json()  # what a browser loads, CSS and JS included
    for config in (demo.config, served):
        assert not french_in(config), french_in(config)
        text = json.dumps(config, ensure_ascii=False, default=str)
        for words in ("English → Spanish, one character at a time", "Reference Spanish (human translations",
                      "Your Spanish", "Start the Spanish with… (optional)", "## Score your Spanish",
                      "writes Spanish one character at a time", 'data-translation-label=\\"Spanish translation\\"',
                      'data-copy-label=\\"Copy the Spanish translation\\"'):
            assert words in text, words
    assert served["title"] == "English → Spanish, one character at a time"
    assert components(served, elem_id="french")[0]["props"]["label"] == "Spanish"
    assert components(served, elem_id="english")[0]["props"]["label"] == "English"
    # The About section describes only the models offered: none of the bundled English -> French ones.
    assert "Large attention" not in json.dumps(served) and "keras.io recipe" not in json.dumps(served)


def test_the_api_documentation_names_spanish_and_never_french(spanish_app):
    _, url = spanish_app
    api = Client(url, verbose=False, download_files=False).view_api(print_info=False, return_format="dict")
    info = httpx.get(f"{url.rstrip('/')}/gradio_api/info", timeout=30).json()
    for documented in (api, info):
        assert not french_in(documented), french_in(documented)
    endpoints = info["named_endpoints"]
    assert endpoints["/translate"]["description"].startswith("Translate English into Spanish: one sentence")
    for name in ("/score", "/compare", "/translate_batch"):
        assert "Spanish" in endpoints[name]["description"], name


def test_without_held_out_sentences_there_are_no_examples_and_no_random_buttons(spanish_app, spanish):
    demo, _ = spanish_app
    config = demo.config
    assert not [c for c in config["components"] if c.get("type") == "dataset"]  # gr.Examples is a dataset
    for elem_id in ("random-btn", "compare-random-btn", "reference"):
        assert components(config, elem_id=elem_id)[0]["props"]["visible"] is False, elem_id
    compare_box = components(config, elem_id="compare-english")[0]["props"]
    assert "held-out" not in compare_box["placeholder"]
    for draw in (spanish.random_heldout, spanish.random_heldout_compare):
        with pytest.raises(gr.Error, match="No held-out sentences — this model's checkpoint records no held-out "
                                           "sentences, so there is none to draw; type your own English instead"):
            draw()


def test_a_page_with_held_out_sentences_keeps_its_examples_and_buttons(spanish_registry):
    """The same Spanish page with a sample of its own (train.py records one in metadata.json)."""
    entry = samples.SampleEntry("Go.", ("Ve.", "Vete."), "1-15", 1)
    sample = samples.HeldoutSample((entry,), (entry,))
    handlers = Handlers(spanish_registry, sample=sample)
    config = build_demo(handlers).config
    assert [c for c in config["components"] if c.get("type") == "dataset"]
    for elem_id in ("random-btn", "compare-random-btn", "reference"):
        assert components(config, elem_id=elem_id)[0]["props"]["visible"] is True, elem_id
    assert handlers.random_heldout() == ("Go.", "Ve.\nVete.")
    assert not french_in(config)


def test_every_view_and_message_of_a_request_names_spanish_and_never_french(spanish, spanish_registry, tmp_path):
    fast, attention = spanish_registry.sources[:2]
    outputs = []

    def page(*args):
        outputs.append(asyncio.run(spanish.translate_page(*args)))
        return outputs[-1]

    # A prefix (the per-step note and the summary name its field and language), on both models: the
    # heatmap's caption and axes, and the note of a model without attention.
    for model in (fast, attention):
        result = page(GOOD, model, *GREEDY, "Va")
        assert "Start the Spanish with…" in result[3] and "- The Spanish starts with “Va”" in result[6]
    heatmap = outputs[-1][3]
    assert "Alignment: each row is a Spanish character" in heatmap and "Spanish ↓, English →" in heatmap
    assert "see which English characters each Spanish character read" in outputs[0][3]
    page("Go. Hi, Tom!", attention, *GREEDY, "")
    outputs.append(spanish.show_sentence(1, outputs[-1][-1]))
    page(GOOD, fast, *GREEDY, "Ça")  # a prefix outside the vocabulary: the error names the Spanish vocabulary
    assert "model's Spanish vocabulary" in outputs[-1][6]

    def score(*args):
        outputs.append(asyncio.run(spanish.score_page(*args)))
        return outputs[-1]

    assert "**Your Spanish:**" in score(GOOD, attention, "Va !", *GREEDY)[1]
    assert "since the Spanish box was empty" in score(GOOD, attention, "", *GREEDY)[1]
    assert '<span lang="es">' in score("Go. Who?", attention, "Va! Tu es bon?", *GREEDY)[2]
    mismatched = score("Go. Who? Run!", fast, "Va! Tu", *GREEDY)[1]
    assert "The English has 3 sentences and the Spanish 2 sentences" in mismatched
    own = asyncio.run(spanish.score(GOOD, ""))
    assert own["warnings"][-1].startswith("no Spanish was given")
    outputs.append(own)
    with pytest.raises(gr.Error, match="the Spanish must be text"):
        asyncio.run(spanish.score(GOOD, ["Va !"]))

    compared = asyncio.run(spanish.compare_page("Go. Who?"))
    assert ">Spanish</th>" in compared and '<span lang="es">' in compared
    assert "No reference for the whole input, so no chrF." in compared and "Random held-out" not in compared
    outputs += [compared, asyncio.run(spanish.translate(GOOD, fast))]

    linked = spanish.fill_from_link(gr.Request(query_params={"text": GOOD, "prefix": "a " * 300}))
    assert "The link's Spanish prefix was 600 characters long" in linked[-1]["value"]
    outputs += [linked, spanish.model_card(fast), spanish.model_card(attention)]

    upload = tmp_path / "in.txt"
    upload.write_text(f"{GOOD}\nHi.\n", encoding="utf-8")
    path, summary, preview = spanish.translate_batch(str(upload), fast, progress=lambda *a, **k: None)
    assert path.endswith("in-es.csv")
    outputs += [summary, preview]

    assert not french_in(outputs), french_in(outputs)

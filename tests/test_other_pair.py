"""Another language pair end to end: a made-up `spa-eng.txt`, a tiny model trained on it by train.py and
pushed to the local Hub server, `python app.py --model hf://...` serving it, and the page read in
headless Chromium: the title and the labels say Spanish, and no "French" is anywhere on it.

Nothing here asserts what the tiny model writes: only where the pair's names appear.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.space.live import free_port
from tests.test_browser import Page, browser  # noqa: F401 - the headless Chromium fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOUNS = [("cat", "gato"), ("dog", "perro"), ("bird", "pájaro"), ("horse", "caballo"), ("rabbit", "conejo"),
         ("duck", "pato"), ("bull", "toro"), ("pig", "cerdo")]
TEMPLATES = [("I have {n} {en}s.", "Tengo {n} {es}s."), ("Do you have {n} {en}s?", "¿Tienes {n} {es}s?"),
             ("We saw {n} {en}s.", "Vimos {n} {es}s.")]
# Sentences are held out from line 10,001 on (data.HeldoutSpec): the file runs past it, so the run is
# evaluated and its card carries model-index results, as a real spa-eng.zip's run would.
LINES = 11_200

# Everything on the page a visitor reads or a screen reader announces: text outside scripts and
# styles (hidden panels included), the attributes that carry words, and the document's title.
PAGE_WORDS_JS = """
const words = [document.title];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  if (!node.parentElement.closest('script, style, noscript')) words.push(node.nodeValue);
}
for (const element of document.querySelectorAll('*')) {
  for (const name of ['aria-label', 'placeholder', 'title', 'alt', 'aria-description']) {
    const value = element.getAttribute(name);
    if (value) words.push(value);
  }
}
return words.join('\\n');
"""


def _spanish_pairs() -> list[str]:
    lines = [f"{en.format(n=n, en=noun)}\t{es.format(n=n, es=sustantivo)}"
             for n in range(1, LINES // (len(NOUNS) * len(TEMPLATES)) + 2)
             for noun, sustantivo in NOUNS for en, es in TEMPLATES]
    random.Random(0).shuffle(lines)
    return lines[:LINES]


def _wait_until_serving(url: str, app: subprocess.Popen, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert app.poll() is None, f"app.py exited with {app.returncode}"
        try:
            with urllib.request.urlopen(url + "/gradio_api/info", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(1.0)
    pytest.fail(f"app.py did not serve {url} within {timeout:.0f} s")


def test_a_spanish_model_trained_pushed_and_served_speaks_spanish_everywhere(browser, tmp_path):  # noqa: F811
    from huggingface_hub import ModelCard

    from tests.hub_server import LocalHub

    pairs = tmp_path / "spa-eng.txt"  # the Anki release's name: English -> Spanish
    pairs.write_text("\n".join(_spanish_pairs()) + "\n", encoding="utf-8")
    token = "hf_test_write_token_0123456789"
    server = LocalHub(tokens={token: "alice"})
    env = {**os.environ, "HF_ENDPOINT": server.url, "HF_TOKEN": token, "HF_HOME": str(tmp_path / "hf-home"),
           "HF_HUB_CACHE": str(tmp_path / "hf-cache"), "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}
    app = None
    try:
        out = tmp_path / "spanish"
        trained = subprocess.run([sys.executable, "train.py", "--data", str(pairs), "--tiny", "--out", str(out),
                                  "--push-to-hub", "alice/tiny-spanish"],
                                 capture_output=True, text=True, cwd=REPO, env=env, timeout=900)
        assert trained.returncode == 0, trained.stderr[-3000:]
        metadata = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
        assert metadata["languages"] == {"source": {"name": "English", "code": "en"},
                                         "target": {"name": "Spanish", "code": "es"}}
        assert metadata["evaluation"]["greedy"]["sentences"] > 10  # held-out sentences of the file's tail

        card_path = tmp_path / "README.md"
        card_path.write_bytes(server.repos["alice/tiny-spanish"].files("main")["README.md"])
        card = ModelCard.load(card_path)
        assert card.data.language == ["en", "es"] and card.data.pipeline_tag == "translation"
        assert card.data.base_model is None  # trained from scratch: no base model
        assert card.data.eval_results and {r.task_name for r in card.data.eval_results} == {
            "English to Spanish translation"}
        assert "English→Spanish" in card.text and "French" not in card.text

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        app = subprocess.Popen([sys.executable, "app.py", "--model", "hf://alice/tiny-spanish", "--host", "127.0.0.1",
                                "--port", str(port)], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
        _wait_until_serving(url, app)
        with urllib.request.urlopen(url + "/gradio_api/info", timeout=30) as answer:
            api = answer.read().decode("utf-8")
        assert "Spanish" in api and "French" not in api  # the API's documentation

        page = Page(browser, url).open()
        assert "Spanish" in browser.title
        assert "English → Spanish" in page.text("#intro h1, h1")
        sentences = metadata["evaluation"]["sentences"]
        assert f"On {sentences} held-out sentences it scores chrF" in page.text("#intro")  # the served model's figures
        assert "Spanish" in page.text("#french")  # the translation box's label
        assert "English" in page.text("#english")
        about = browser.find_element("xpath", "//button[contains(., 'About the models')]")
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", about)
        page.wait.until(lambda d: "Spanish" in page.text("#model-card"))  # the Model panel names the pair
        words = browser.execute_script(PAGE_WORDS_JS)
        assert "French" not in words, [line for line in words.splitlines() if "French" in line][:5]
        # The examples are the checkpoint's own held-out sentences, which train.py recorded.
        examples = metadata["heldout_sample"]["examples"]
        assert examples and all(example in words for example in examples)

        page.type("I have 3 cats.")  # Enter, as a visitor does
        page.wait.until(lambda d: "log-probability" in page.text("#summary"))
        assert page.value("#french textarea, #french input")  # a translation, whatever the tiny model wrote
        for tab in ("Compare models", "Translate a file"):
            page.tab(tab)
            words = browser.execute_script(PAGE_WORDS_JS)
            assert "French" not in words, (tab, [line for line in words.splitlines() if "French" in line][:5])
    finally:
        if app is not None:
            app.terminate()
            try:
                app.wait(30)
            except subprocess.TimeoutExpired:
                app.kill()
        server.close()

"""The real page in headless Debian Chromium, driven by Selenium and /usr/bin/chromedriver, used the
way a visitor uses it: typing, pressing Enter, hovering, opening shared links, on a desktop window and
on a phone-sized one.

The app serves the bundled models (the attention default, `fast` and `recipe`), so the alignment
heatmap and the Compare view show what visitors see. Nothing asserts what a model happens to write:
every French text on the page is compared with what the same Translator gives for the same input in
this process. Screenshots go to $SCREENSHOT_DIR (default: the test's tmp_path) and are printed.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import urllib.parse
from pathlib import Path

import pytest

from model import DecodeOptions, samples
from model.registry import ModelRegistry, allowed_sources
from space import LAUNCH_OPTIONS, Handlers, build_demo
from space.options import APP_DEFAULT_OPTIONS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
DESKTOP = (1400, 1000)
PHONE = (390, 844)
SENTENCE = "I am very happy."


@pytest.fixture(scope="module")
def live_app():
    """The app on the bundled checkpoints, as `python app.py` starts it."""
    sources = allowed_sources("default")
    registry = ModelRegistry(sources, active="default")
    registry.warm_up(120)
    for source in sources:
        registry.get(source)  # every model loaded before the first page
    demo = build_demo(Handlers(registry))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True,
                            **LAUNCH_OPTIONS)
    yield url.rstrip("/"), registry
    demo.close()
    registry.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("SCREENSHOT_DIR") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser(tmp_path):
    if not (Path(CHROMIUM).exists() and shutil.which(CHROMEDRIVER)):
        pytest.fail(f"the browser test needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
                 f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


class Page:
    """What a visitor does and reads on the page, by element id."""

    def __init__(self, driver, url):
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver, self.url = driver, url
        self.wait = WebDriverWait(driver, 60)

    def open(self, query: dict | None = None):
        self.driver.get(self.url + "/" + (f"?{urllib.parse.urlencode(query)}" if query else ""))
        self.wait.until(lambda d: d.find_elements(*self._css("#english input, #english textarea")))
        self.wait.until(lambda d: "Loading the model" not in self.text("#model-card", hidden=True))
        return self

    @staticmethod
    def _css(selector):
        from selenium.webdriver.common.by import By

        return By.CSS_SELECTOR, selector

    def find(self, selector):
        return self.driver.find_element(*self._css(selector))

    def text(self, selector, hidden=False) -> str:
        elements = self.driver.find_elements(*self._css(selector))
        if not elements:
            return ""
        return elements[0].get_attribute("textContent") if hidden else elements[0].text

    def value(self, selector) -> str:
        return self.find(selector).get_attribute("value") or ""

    def type(self, text, selector="#english input, #english textarea", enter=True):
        from selenium.webdriver.common.keys import Keys

        box = self.find(selector)
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys(Keys.DELETE)
        box.send_keys(text)
        if enter:
            box.send_keys(Keys.ENTER)

    def french(self) -> str:
        return self.value("#french textarea")

    def wait_for_summary(self, words: str):
        self.wait.until(lambda d: words in self.text("#summary"))

    def shot(self, folder: Path, name: str) -> Path:
        path = folder / f"{name}.png"
        self.driver.save_screenshot(str(path))
        assert path.stat().st_size > 10_000
        print(f"\nscreenshot: {path}")
        return path


def test_enter_translates_and_an_error_leaves_no_stale_result(live_app, browser, shots):
    url, registry = live_app
    page = Page(browser, url).open()
    expected = registry.get("default").translate(SENTENCE, APP_DEFAULT_OPTIONS)
    page.type(SENTENCE)  # Enter, no click
    page.wait_for_summary("log-probability")
    assert page.french() == expected.translation
    assert "beam search, width 4" in page.text("#summary")  # the page's default decoding
    page.shot(shots, "01-enter-translates")

    page.type("I live in Zürich, § 3.")  # "ü" folds to "u", but "§" has no ASCII base: refused
    page.wait_for_summary("Can't translate this input")
    assert page.french() == ""
    summary = page.text("#summary")
    assert "log-probability" not in summary and "'§'" in summary
    assert expected.translation not in browser.find_element("tag name", "body").text
    page.shot(shots, "02-error-clears-the-result")


def test_probability_view_legend_hover_and_alignment_heatmap(live_app, browser, shots):
    from selenium.webdriver.common.action_chains import ActionChains

    url, registry = live_app
    page = Page(browser, url).open()
    translator = registry.get("default")
    expected = translator.translate(SENTENCE, APP_DEFAULT_OPTIONS)
    page.find("#show-probs input[type=checkbox]").click()
    page.type(SENTENCE)
    page.wait_for_summary("log-probability")
    page.wait.until(lambda d: len(d.find_elements(*page._css("#step-view .pv-char"))) == len(expected.steps))
    view = page.text("#step-view")
    legend = page.text("#step-view .pv-legend")
    assert re.search(r"^0$.*^1$", legend, re.S | re.M) and "probability" in legend, legend
    assert "−1" not in view and "-1" not in view

    # Hovering a character shows its probability and alternatives, and highlights its heatmap row.
    chars = browser.find_elements(*page._css("#step-view .pv-char"))
    target = chars[1]
    ActionChains(browser).move_to_element(target).perform()
    tooltip = target.find_element(*page._css("[role=tooltip], .pv-tip"))
    page.wait.until(lambda d: tooltip.is_displayed())
    assert f"{expected.steps[1].prob:.3f}" in tooltip.text and "p" in tooltip.text
    rows = browser.find_elements(*page._css("#step-view .alignment-grid tr[data-step]"))
    assert len(rows) == len(expected.steps)
    hovered = browser.find_element(*page._css('#step-view .alignment-grid tr[data-step="1"] th'))
    other = browser.find_element(*page._css('#step-view .alignment-grid tr[data-step="0"] th'))
    # The hovered character's row gets a band (an inset box-shadow on its cells); the others do not.
    assert hovered.value_of_css_property("box-shadow") != other.value_of_css_property("box-shadow")
    page.shot(shots, "03-probability-view-hover-and-alignment")


def test_a_deep_link_with_model_and_options_reproduces_the_result(live_app, browser, shots):
    url, registry = live_app
    options = DecodeOptions(method="beam", beam_size=3)
    expected = registry.get("fast").translate("Tom is tall.", options)
    page = Page(browser, url).open({"text": "Tom is tall.", "model": "fast", "method": "beam", "beam": 3})
    page.wait_for_summary("beam search, width 3")
    assert page.french() == expected.translation
    assert "Masked LSTM (fast)" in page.text("#summary")
    assert page.text("#nbest")  # the n-best list is shown whenever beam search ran

    # The page's own link carries the same model and options back.
    page.find("#copy-link-btn").click()
    page.wait.until(lambda d: "?" in page.value("#share-link textarea, #share-link input"))
    query = urllib.parse.parse_qs(urllib.parse.urlparse(page.value("#share-link textarea, #share-link input")).query)
    assert query["text"] == ["Tom is tall."] and query["model"] == ["fast"]
    assert "method" not in query and query["beam"] == ["3"]  # beam is the default method: left out
    assert "link" in page.text("#link-status").lower()
    page.shot(shots, "04-deep-link-with-options")


def test_a_curly_apostrophe_is_normalised_and_the_page_says_so(live_app, browser, shots):
    url, registry = live_app
    page = Page(browser, url).open()
    page.type("I’m happy.")
    page.wait_for_summary("log-probability")
    assert page.french() == registry.get("default").translate("I'm happy.", APP_DEFAULT_OPTIONS).translation
    assert "’ → '" in page.text("#summary")
    page.shot(shots, "05-curly-apostrophe-normalised")


def test_on_a_phone_the_french_is_above_the_fold(live_app, browser, shots):
    url, registry = live_app
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 2, "mobile": True})
    page = Page(browser, url).open()
    page.type(SENTENCE)
    page.wait_for_summary("log-probability")
    browser.execute_script("window.scrollTo(0, 0)")
    box = browser.execute_script(
        "const r = document.querySelector('#french textarea').getBoundingClientRect();"
        "return [r.top, r.bottom, window.innerHeight, window.innerWidth];")
    top, bottom, height, width = box
    page.shot(shots, "06-phone-layout")
    assert width <= PHONE[0] and bottom <= height, box


def test_the_compare_view_shows_every_model_with_the_reference(live_app, browser, shots):
    url, registry = live_app
    page = Page(browser, url).open()
    browser.find_element("xpath", "//button[@role='tab' and contains(., 'Compare models')]").click()
    entry = samples.load().examples[0]
    page.type(entry["english"], selector="#compare-english input, #compare-english textarea")
    page.wait.until(lambda d: len(d.find_elements(*page._css("#compare-table tbody tr"))) == 2 * len(registry.sources))
    table = page.text("#compare-table")
    assert all(reference in table for reference in entry["references"][:1])
    for source in registry.sources:
        for method in ("greedy", "beam 4"):
            translation = registry.get(source).translate(
                entry["english"], DecodeOptions(method=method.split()[0], beam_size=4))
            assert translation.translation in table
    for label in ("Attention (default)", "Masked LSTM (fast)", "keras.io recipe (baseline)"):
        assert label in table
    assert "chrF" in table
    page.shot(shots, "07-compare-view")


def test_a_fresh_page_decodes_with_beam_search_width_4_and_greedy_stays_a_click_away(live_app, browser, shots):
    url, registry = live_app
    page = Page(browser, url).open()
    browser.find_element("xpath", "//button[contains(., 'Decoding and input options')]").click()
    page.wait.until(lambda d: page.find("#method").is_displayed())
    checked = browser.find_elements(*page._css("#method input[type=radio]:checked"))
    assert [c.get_attribute("value") for c in checked] == ["beam"]  # what the options panel shows
    assert page.find("#beam-size").is_displayed() and page.value("#beam-size input[type=number]") == "4"
    page.type(SENTENCE)
    page.wait_for_summary("log-probability")
    assert "beam search, width 4" in page.text("#summary")
    assert page.french() == registry.get("default").translate(SENTENCE, DecodeOptions(method="beam", beam_size=4)).translation
    assert page.text("#nbest")  # beam search shows its n-best list
    page.find("#copy-link-btn").click()
    page.wait.until(lambda d: "?" in page.value("#share-link textarea, #share-link input"))
    query = urllib.parse.parse_qs(urllib.parse.urlparse(page.value("#share-link textarea, #share-link input")).query)
    assert query == {"text": [SENTENCE]}  # the defaults are left out of the link
    page.shot(shots, "08-default-beam-search")

    # An old link that says greedy still gets greedy.
    page.open({"text": SENTENCE, "method": "greedy"})
    page.wait_for_summary("greedy")
    assert page.french() == registry.get("default").translate(SENTENCE).translation

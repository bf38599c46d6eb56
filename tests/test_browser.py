"""The real page in headless Debian Chromium, driven by Selenium and /usr/bin/chromedriver.

Types a sentence, clicks Translate, reads the French from the page, turns on the probability view,
copies the share link, opens a `?text=` deep link, and saves a screenshot under the test's tmp_path.
"""

from __future__ import annotations

import shutil
import socket
import urllib.parse
from pathlib import Path

import pytest

import app
from model.registry import ModelRegistry
from tests.random_models import SENTENCES

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
LINKED = "Go."


@pytest.fixture(scope="module")
def live_app(random_fast_checkpoint):
    """The app serving the fast recipe's network with seeded random weights: the same on every machine."""
    source = str(random_fast_checkpoint)
    registry = ModelRegistry([source], active=source, fallback=source)
    registry.warm_up()
    demo = app.build_demo(app.Handlers(registry))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    yield url.rstrip("/"), registry.get()
    demo.close()


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
                 "--disable-dev-shm-usage", "--window-size=1280,1600", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def test_translate_inspect_and_deep_link_in_chromium(live_app, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    url, translator = live_app
    wait = WebDriverWait(browser, 60)
    # A sentence the model writes something for, so there is French to read and colour; which one
    # is chosen here from the model itself, not assumed.
    alone = {text: translator.translate(text).translation for text in SENTENCES}  # one request at a time: alone
    sentence = next(text for text in SENTENCES if text != LINKED and alone[text].strip())
    expected, linked_expected = alone[sentence], alone[LINKED]

    def value(selector: str) -> str:
        return browser.find_element(By.CSS_SELECTOR, selector).get_attribute("value") or ""

    # 1-3: type, click Translate, read the French from the page.
    browser.get(url)
    box = wait.until(EC.element_to_be_clickable((By.CSS_SELECTOR, "#english textarea")))
    # The model card shows the checkpoint's metadata.
    wait.until(lambda d: "tests/random_models.py kind=fast" in d.find_element(By.ID, "model-card").text)
    box.send_keys(sentence)
    browser.find_element(By.ID, "translate-btn").click()
    wait.until(lambda d: value("#french textarea") != "")
    assert value("#french textarea") == expected
    assert "log-probability" in browser.find_element(By.ID, "summary").text

    # 4: the probability view renders one coloured token per French character and the top-k table.
    assert not any(e.is_displayed() for e in browser.find_elements(By.ID, "hesitation"))  # off by default
    browser.find_element(By.CSS_SELECTOR, "#show-probs input[type=checkbox]").click()
    wait.until(lambda d: any(e.is_displayed() for e in d.find_elements(By.ID, "hesitation")))
    wait.until(lambda d: expected[0] in d.find_element(By.ID, "hesitation").text)
    text = browser.find_element(By.ID, "hesitation").text
    assert all(ch in text for ch in expected.strip())
    table = browser.find_element(By.ID, "steps").text
    assert "chosen" in table and "⏎" in table

    # The copy-link control gives the deep link for the current input.
    browser.find_element(By.ID, "copy-link-btn").click()
    wait.until(lambda d: "?text=" in value("#share-link textarea, #share-link input"))
    link = value("#share-link textarea, #share-link input")
    assert urllib.parse.parse_qs(urllib.parse.urlparse(link).query)["text"] == [sentence]

    shot = tmp_path / "app-translation.png"
    browser.save_screenshot(str(shot))

    # 5: a deep link fills the textbox and translates.
    browser.get(f"{url}/?{urllib.parse.urlencode({'text': LINKED})}")
    wait.until(lambda d: value("#english textarea") == LINKED)
    # Whatever the model writes for it (even nothing), the page shows the translation's summary.
    wait.until(lambda d: "log-probability" in d.find_element(By.ID, "summary").text
               and value("#french textarea") == linked_expected)
    assert value("#french textarea") == linked_expected

    # 6: the screenshot, kept as a CI artifact.
    deep = tmp_path / "app-deep-link.png"
    browser.save_screenshot(str(deep))
    assert shot.stat().st_size > 10_000 and deep.stat().st_size > 10_000
    print(f"\nscreenshots: {shot} {deep}")

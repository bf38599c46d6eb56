"""What every tab's handlers share: the models, the batching engine, and turning failures into words.

`Service` holds the registry of models, the shared BatchingEngine, the busy timeout, the held-out
sample and the page's words for the registry's language pair (space/wording.py). Each tab's handlers (space/translate_tab.py, score_tab.py, compare_tab.py, file_tab.py,
page_state.py) are a class over it, and space/handlers.py puts them together. A request of several
sentences is planned by model/paragraph.py and its sentences submitted to the engine together
(`paragraph`), so they share one engine call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random

import gradio as gr

from model import InputError, SourceError, paragraph, samples
from model.batching import BatchingEngine
from model.registry import ModelRegistry
from model.translator import DecodeOptions, Translator

from .batch_results import BatchResults
from .gradio_fixes import error
from .views.results import references_text
from .wording import NO_SAMPLE_TITLE, Wording

log = logging.getLogger("space")

REQUEST_TIMEOUT_S = 60.0  # longest a translation waits for the engine; a busy one answers in well under 1 s


class RequestFailed(Exception):
    """A request the app refuses or cannot serve, with a title and a message for people."""

    def __init__(self, title: str, detail: str):
        super().__init__(f"{title}: {detail}")
        self.title, self.detail = title, detail

    def gradio_error(self) -> gr.Error:
        return error(self.title, self.detail)


class Service:
    """The state the handlers share (see the module doc).

    Args:
        registry: the allowed model sources (see model.registry.ModelRegistry).
        engine: batches concurrent translations; a fresh one if None.
        timeout: seconds a translation may wait for the engine before a "server busy" error.
        sample: held-out sentences with references (examples, the random button, Compare); may be
            samples.EMPTY (a pair without held-out sentences: no examples, no random button).
        active_metadata: the active source's metadata.json, read before it loads (its scores open
            the page); None: the bundled default's, where the page offers it.
    """

    def __init__(self, registry: ModelRegistry, engine: BatchingEngine | None = None,
                 timeout: float = REQUEST_TIMEOUT_S, sample: samples.HeldoutSample | None = None,
                 active_metadata: dict | None = None):
        self.registry = registry
        self.active_metadata = active_metadata
        self.engine = engine or BatchingEngine()
        self.timeout = timeout
        self.sample = sample if sample is not None else samples.load()
        self.words = Wording.of(registry.languages)  # every model the page serves translates this pair
        self.batch_results = BatchResults()
        self._draws = random.Random()

    async def _wait(self, futures):
        """Every future's result (or its exception), within the busy timeout. If Gradio cancels the
        awaiting task, wrap_future cancels the requests and the engine drops them."""
        waiting = [asyncio.wrap_future(f) for f in futures]
        try:
            return await asyncio.wait_for(asyncio.gather(*waiting, return_exceptions=True), self.timeout)
        except (TimeoutError, asyncio.CancelledError):
            for future in futures:
                future.cancel()
            raise

    async def paragraph(self, translator: Translator, plan: paragraph.Plan,
                        options: DecodeOptions) -> paragraph.ParagraphTranslation:
        """Translate (or, for a scoring plan, score) a plan's sentences in one engine call; one answer."""
        if plan.french is not None:
            futures = self.engine.submit_many(translator, plan.texts, options, french=plan.french)
        else:
            futures = self.engine.submit_many(translator, plan.texts, options, prefixes=plan.prefixes)
        return plan.assemble(await self._wait(futures))

    @property
    def has_heldout(self) -> bool:
        """Whether there are held-out sentences to draw (the page shows examples and random buttons)."""
        return bool(self.sample.entries)

    def random_heldout(self):
        """A random held-out sentence and its references, for the input box and the reference box; a
        gr.Error on a page without held-out sentences (its buttons are hidden, but an API call may come)."""
        if not self.has_heldout:
            raise error(NO_SAMPLE_TITLE, self.words.no_sample)
        entry = self.sample.draw(self._draws)
        return entry["english"], references_text(entry["references"])

    @contextlib.contextmanager
    def _failures(self, title: str):
        """Turn what a request can fail with into a RequestFailed for people; `title` heads input errors."""
        try:
            yield
        except InputError as err:
            raise RequestFailed(title, str(err)) from None
        except SourceError as err:
            raise RequestFailed("Model unavailable", str(err)) from None
        except TimeoutError:
            raise RequestFailed("Server busy", f"no translation within {self.timeout:.0f} s; please try again") from None
        except RequestFailed:
            raise
        except Exception:
            log.exception("request failed")
            raise RequestFailed("Server error", "something went wrong on the server; it has been logged. "
                                                "Please try again.") from None

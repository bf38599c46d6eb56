"""The Space's request handlers: check the input, call model/, hand the result to a view.

The API endpoints (`translate`, `compare`, `translate_batch`) return JSON or files and raise gr.Error;
the page's handlers (`*_page`) return component updates, and on a failure clear every output of
their action and say what went wrong in its place, so no stale result is left on the page. Every
check of what a request sent happens in model.validation (through space.options) or in the
Translator; a handler only turns their InputError into words for people.
"""

from __future__ import annotations

import asyncio
import logging
import random
from pathlib import Path

import gradio as gr

from model import InputError, SourceError
from model import batch_files, compare, samples, validation
from model.batching import BatchingEngine
from model.registry import ModelRegistry
from model.translator import DecodeOptions

from . import deep_link
from .batch_results import BatchResults
from .gradio_fixes import error
from .options import OPTIONS, as_values, request_options, with_options
from .views import compare as compare_view, models as model_views, results, steps as step_views

log = logging.getLogger("space")

REQUEST_TIMEOUT_S = 60.0  # longest a translation waits for the engine; a busy one answers in well under 1 s
COMPARE_BEAM = 4  # the beam width the Compare view runs next to greedy
PAGE_OUTPUTS = 6  # french, step view, step table, n-best, summary, capitalise button


class RequestFailed(Exception):
    """A request the app refuses or cannot serve, with a title and a message for people."""

    def __init__(self, title: str, detail: str):
        super().__init__(f"{title}: {detail}")
        self.title, self.detail = title, detail

    def gradio_error(self) -> gr.Error:
        return error(self.title, self.detail)


class Handlers:
    """The event handlers, as plain methods so tests can call them without a browser.

    Args:
        registry: the allowed model sources (see model.registry.ModelRegistry).
        engine: batches concurrent translations; a fresh one if None.
        timeout: seconds a translation may wait for the engine before a "server busy" error.
        sample: held-out sentences with references (examples, the random button, Compare).
    """

    def __init__(self, registry: ModelRegistry, engine: BatchingEngine | None = None,
                 timeout: float = REQUEST_TIMEOUT_S, sample: samples.HeldoutSample | None = None):
        self.registry = registry
        self.engine = engine or BatchingEngine()
        self.timeout = timeout
        self.sample = sample if sample is not None else samples.load()
        self.batch_results = BatchResults()
        self._draws = random.Random()

    def engine_stats(self) -> dict:
        """How many requests the batching engine ran, in how many batches (for the load test)."""
        sizes = dict(self.engine.batch_sizes)
        return {"requests": sum(size * count for size, count in sizes.items()), "batches": sum(sizes.values()),
                "dropped_cancelled": self.engine.dropped}

    # -- translation ---------------------------------------------------------------------------

    async def _run(self, translator, text: str, options: DecodeOptions):
        """One translation through the shared BatchingEngine, with the busy timeout."""
        future = self.engine.submit(translator, text, options)
        # If Gradio cancels this task, wrap_future cancels the request and the engine drops it.
        return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)

    async def _translate(self, text, model, options: dict):
        """(translation, options, translator) for one request; raises RequestFailed naming what is wrong."""
        try:
            text = validation.check_text(text)
            checked = request_options(options)
            translator = self.registry.get(model)  # never loads: a model not ready is an error at once
            return await self._run(translator, text, checked), checked, translator
        except InputError as err:
            raise RequestFailed("Can't translate this input", str(err)) from None
        except SourceError as err:
            raise RequestFailed("Model unavailable", str(err)) from None
        except TimeoutError:
            raise RequestFailed("Server busy", f"no translation within {self.timeout:.0f} s; please try again") from None
        except Exception:
            log.exception("translation failed")
            raise RequestFailed("Server error", "something went wrong on the server; it has been logged. "
                                                "Please try again.") from None

    @with_options
    async def translate(self, text: str, model: str | None = None, options: dict | None = None) -> dict:
        """Translate one English sentence into French.

        Returns the translation as JSON: input (what the model read, after normalisation), translation,
        score (log-probability), steps (per character: char, prob, top alternatives, and attention
        weights over the input for attention models), nbest (beam search), warnings (every
        normalisation and problem), suggest_capitalize, plus model and the options used.
        model: one of the Space's models; left out, the model the Space started with. The decoding
        options left out take the page's defaults.
        """
        model = self.registry.active if model is None else model
        try:
            result, checked, _ = await self._translate(text, model, options)
        except RequestFailed as failed:
            raise failed.gradio_error() from None
        return {**result.to_dict(), "model": model, "options": as_values(checked)}

    @with_options
    async def translate_page(self, text, model, options):
        """The page's translate: French, per-step view, step table, n-best, summary, capitalise offer."""
        try:
            result, checked, translator = await self._translate(text, model, options)
        except RequestFailed as failed:
            return ("", "", gr.update(value=None), gr.update(value=None, visible=False),
                    results.error_summary(failed.title, failed.detail), gr.update(visible=False))
        headers, rows = step_views.steps_table(result, checked.top_k)
        nbest_headers, nbest_rows = results.nbest_table(result)
        return (
            result.translation,
            step_views.step_view_html(result, method=checked.method, temperature=checked.temperature,
                                      has_attention=translator.has_attention),
            {"headers": headers, "data": rows},  # a dict skips pandas: ~1 ms less per request
            gr.update(value={"headers": nbest_headers, "data": nbest_rows}, visible=checked.method == "beam"),
            results.summary(result, model, checked),
            gr.update(visible=bool(getattr(result, "suggest_capitalize", False))),
        )

    async def translate_link(self, text: str, *rest):
        """Translate the text a `?text=` deep link filled in; leave the page alone when there was none."""
        if not isinstance(text, str) or not text.strip():
            return tuple(gr.skip() for _ in range(PAGE_OUTPUTS))
        return await self.translate_page(text, *rest)

    # -- comparing models ----------------------------------------------------------------------

    @staticmethod
    def _methods():
        return [("greedy", DecodeOptions(method="greedy", top_k=1)),
                (f"beam {COMPARE_BEAM}", DecodeOptions(method="beam", beam_size=COMPARE_BEAM, top_k=1))]

    def _compare_input(self, text, references) -> tuple[str, list[str]]:
        try:
            text = validation.check_text(text)
            if not text.strip():
                raise InputError("the input is empty: type an English sentence, e.g. 'Go.'")
            if references is None:
                references = self.sample.references(text.strip())
            elif not (isinstance(references, list) and all(isinstance(r, str) for r in references)):
                raise InputError(f"references must be a list of strings, got {validation.shown(references)}")
        except InputError as err:
            raise RequestFailed("Can't compare this input", str(err)) from None
        return text.strip(), list(references or [])

    async def _compare(self, text, references=None) -> dict:
        text, references = self._compare_input(text, references)
        jobs = []  # (model label, method label, translator or the SourceError it failed with, options)
        for source in self.registry.sources:
            try:
                translator = self.registry.get(source)
            except SourceError as err:
                jobs.append((model_views.model_label(source), "—", err, None))
                continue
            jobs += [(model_views.model_label(source), label, translator, options) for label, options in self._methods()]

        async def run(job):
            _, _, translator, options = job
            if isinstance(translator, SourceError):
                return translator  # one error row for a model that is not loaded
            try:
                return await self._run(translator, text, options)
            except Exception as err:  # one model's failure is one row's error, not the comparison's
                return err
        # Every model and method at once: the BatchingEngine runs them as concurrent requests.
        outcomes = await asyncio.gather(*(run(job) for job in jobs))
        rows = compare.compare_rows([(model, method, outcome) for (model, method, _, _), outcome in zip(jobs, outcomes)],
                                    references)
        return {"english": text, "references": references, "rows": rows}

    async def compare(self, text: str, references: list[str] | None = None) -> dict:
        """Translate one sentence with every model this Space offers, greedy and beam 4, side by side.

        references: reference French translations; when left out, the bundled held-out sample is
        searched for the sentence. Returns english, references and rows of model, method, french,
        log_prob, mean_confidence, chrf (sentence-level, when there are references) and error.
        """
        try:
            return await self._compare(text, references)
        except RequestFailed as failed:
            raise failed.gradio_error() from None

    async def compare_page(self, text):
        try:
            result = await self._compare(text)
        except RequestFailed as failed:
            return results.error_summary(failed.title, failed.detail)
        return compare_view.compare_html(result)

    # -- held-out sentences ----------------------------------------------------------------------

    def random_heldout(self):
        """A random held-out sentence and its references, for the English box and the reference box."""
        entry = self.sample.draw(self._draws)
        return entry["english"], results.references_text(entry["references"])

    def random_heldout_compare(self):
        return self.random_heldout()[0]

    # -- files ---------------------------------------------------------------------------------

    @with_options
    def translate_batch(self, file: str | None, model: str, options: dict | None = None,
                        request: gr.Request = None, progress=gr.Progress()):
        """Translate an uploaded .txt/.csv file into a downloadable CSV; returns (csv path, summary, preview)."""
        if not file:
            raise error("No file", "upload a .txt or .csv file first")
        try:
            rows = batch_files.read_batch_file(file)
            checked = request_options(options)
            translator = self.registry.get(model)
        except (InputError, batch_files.BatchFileError) as err:
            raise error("Can't use this file", err) from None
        except SourceError as err:
            raise error("Model unavailable", err) from None
        progress(0, desc="Translating")
        batch_files.translate_rows(translator, rows, checked,
                                   progress=lambda done, total: progress(done / total, desc=f"{done}/{total} sentences"))
        with self.batch_results.folder(getattr(request, "session_hash", None)) as folder:
            out = folder / f"{Path(file).stem}-fr.csv"
            batch_files.write_results_csv(rows, out)
        headers, preview = batch_files.preview(rows, results=True)
        return str(out), results.batch_summary(rows, Path(file).name), {"headers": headers, "data": preview}

    @staticmethod
    def clear_batch():
        """Before a file runs: no stale CSV, summary or preview from the previous file stays on the page."""
        return None, "", None

    def end_session(self, request: gr.Request):
        """The visitor closed the tab: their translated files can no longer be downloaded from the page."""
        self.batch_results.end_session(getattr(request, "session_hash", None))

    # -- page state ------------------------------------------------------------------------------

    def fill_from_link(self, request: gr.Request):
        """The page's state from a deep link: text, model and options, and a notice for anything cut or ignored."""
        link = deep_link.read_link(request.query_params, self.registry.sources)
        notice_text = "\n".join(f"- {results.plain(n)}" for n in link.notes)
        # No text in the link: leave the box alone (a visitor may already be typing when this runs).
        return (gr.skip() if link.text is None else link.text, link.model or gr.skip(),
                *(link.options.get(option.name, gr.skip()) for option in OPTIONS),
                gr.update(value=notice_text, visible=bool(link.notes)))

    def open_page(self, request: gr.Request):
        """On page load: the failure notice, the model card and trained length, then the deep link's state.
        The link's model, if it names one, replaces the active model in the selector and the card."""
        text, linked_model, *rest = self.fill_from_link(request)
        model = linked_model if isinstance(linked_model, str) else self.registry.active
        notice = model_views.notice(self.registry)
        return (gr.update(value=notice, visible=bool(notice)), self.model_card(model), self.trained_length(model),
                text, model, *rest)

    def trained_length(self, model: str) -> int | None:
        """The longest English input the model was trained on (for the live counter), None if unknown."""
        try:
            return self.registry.get(model).vocab.max_encoder_seq_length
        except SourceError:
            return None

    def model_card(self, model: str) -> str:
        try:
            return model_views.describe_model(model, self.registry.get(model))
        except SourceError as err:
            return f"**Model `{model}` is unavailable:** {err}"

    def select_model(self, model: str):
        """Show the chosen model's card; if it is not ready, say so and switch back to the active one."""
        try:
            translator = self.registry.get(model)
        except SourceError as err:
            gr.Warning(f"Model unavailable — {err}", title="Model unavailable")
            model = self.registry.active
            translator = None
        notice = model_views.notice(self.registry)
        card = model_views.describe_model(model, translator) if translator else self.model_card(model)
        return model, card, gr.update(value=notice, visible=bool(notice)), self.trained_length(model)

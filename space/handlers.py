"""The Space's request handlers: check the input, call model/, hand the result to a view.

The API endpoints (`translate`, `score`, `compare`, `translate_batch`) return JSON or files and raise gr.Error;
the page's handlers (`*_page`) return component updates, and on a failure clear every output of
their action and say what went wrong in its place, so no stale result is left on the page. Every
check of what a request sent happens in model.validation (through space.options) or in the
Translator; a handler only turns their InputError into words for people.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from pathlib import Path

import gradio as gr

from model import InputError, SourceError
from model import batch_files, compare, samples, validation
from model.batching import BatchingEngine
from model.registry import ModelRegistry
from model.translator import DecodeOptions, Translation

from . import deep_link
from .batch_results import BatchResults
from .gradio_fixes import error
from .options import APP_DEFAULT_OPTIONS, OPTIONS, PREFIX, as_values, request_options, with_options
from .views import compare as compare_view, models as model_views, results, score as score_view, steps as step_views

log = logging.getLogger("space")

REQUEST_TIMEOUT_S = 60.0  # longest a translation waits for the engine; a busy one answers in well under 1 s
# The Compare view runs greedy and the app's default beam search side by side.
COMPARE_BEAM = APP_DEFAULT_OPTIONS.beam_size
COMPARE_BEAM_OPTIONS = DecodeOptions(method="beam", beam_size=COMPARE_BEAM,
                                     length_normalize=APP_DEFAULT_OPTIONS.length_normalize, top_k=1)
COMPARE_BEAM_LABEL = f"beam {COMPARE_BEAM}" + (" normalised" if COMPARE_BEAM_OPTIONS.length_normalize else "")
PAGE_OUTPUTS = 6  # french, step view, step table, n-best, summary, capitalise button
SCORE_TITLE = "Can't score this input"


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

    async def _wait(self, future) -> Translation:
        # If Gradio cancels this task, wrap_future cancels the request and the engine drops it.
        return await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)

    async def _run(self, translator, text: str, options: DecodeOptions, prefix: str = "") -> Translation:
        """One translation through the shared BatchingEngine, with the busy timeout."""
        return await self._wait(self.engine.submit(translator, text, options, prefix=prefix))

    async def _run_score(self, translator, text: str, french: str, options: DecodeOptions) -> Translation:
        """One (English, French) pair scored through the shared BatchingEngine, with the busy timeout."""
        return await self._wait(self.engine.submit_score(translator, text, french, options))

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

    async def _translate(self, text, model, options: dict, prefix=""):
        """(translation, options, translator) for one request; raises RequestFailed naming what is wrong."""
        with self._failures("Can't translate this input"):
            text = validation.check_text(text)
            prefix = validation.check_french(prefix, "prefix")  # its characters: by the Translator, per model
            checked = request_options(options)
            translator = self.registry.get(model)  # never loads: a model not ready is an error at once
            return await self._run(translator, text, checked, prefix), checked, translator

    @with_options
    async def translate(self, text: str, model: str | None = None, options: dict | None = None,
                        prefix: str = PREFIX.default) -> dict:
        """Translate one English sentence into French.

        Returns the translation as JSON: input (what the model read, after normalisation), translation,
        score (log-probability), steps (per character: char, prob, top alternatives, and attention
        weights over the input for attention models), nbest (beam search), warnings (every
        normalisation and problem), suggest_capitalize, plus model and the options used.
        model: one of the Space's models; left out, the model the Space started with. The decoding
        options left out take the page's defaults. prefix: French the translation must start with
        (the model continues it; every step then says whether it was "given").
        """
        model = self.registry.active if model is None else model
        try:
            result, checked, _ = await self._translate(text, model, options, prefix)
        except RequestFailed as failed:
            raise failed.gradio_error() from None
        # length_normalize is no request option, but it is part of what was used: say so.
        used = {**as_values(checked), "length_normalize": checked.length_normalize}
        return {**result.to_dict(), "model": model, "options": used}

    @with_options
    async def translate_page(self, text, model, options, prefix=PREFIX.default):
        """The page's translate: French, per-step view, step table, n-best, summary, capitalise offer."""
        try:
            result, checked, translator = await self._translate(text, model, options, prefix)
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

    # -- scoring a given translation ---------------------------------------------------------

    async def _score(self, text, french, model, options: dict, compare: bool):
        """(scored, own, options, translator): `french` scored as a translation of `text`, and the
        model's own translation decoded with the options (None when not asked for and not needed).
        French that is empty, or only spaces, is replaced by the model's own translation, scored.

        Args:
            compare: decode the model's own translation even when French is given.
        """
        with self._failures(SCORE_TITLE):
            text = validation.check_text(text)
            french = validation.check_french(french)
            checked = request_options(options)
            translator = self.registry.get(model)
            if not french.strip():
                own = await self._run(translator, text, checked)
                return await self._run_score(translator, text, own.translation, checked), own, checked, translator
            runs = [self._run_score(translator, text, french, checked)]
            if compare:
                runs.append(self._run(translator, text, checked))
            # Both at once (the engine may batch them); the first failure is the request's.
            outcomes = await asyncio.gather(*runs, return_exceptions=True)
            failure = next((o for o in outcomes if isinstance(o, BaseException)), None)
            if failure is not None:
                raise failure
            return outcomes[0], outcomes[1] if compare else None, checked, translator

    async def score(self, text: str, french: str, model: str | None = None,
                    top_k: int = APP_DEFAULT_OPTIONS.top_k) -> dict:
        """How likely the model finds a French translation of one English sentence (forced decoding).

        Returns the same record as /translate, for the given French: translation (the French, as
        given), score (its log-probability, end included: comparable with /translate's score),
        normalized_score (per character, end included), steps (per character: its probability, the
        model's own top alternatives, attention, given), disagreements (the steps where the model's
        first choice differs: step, char, prob, model, model_prob; "\n" is the end), warnings, model
        and options. The English is normalised as /translate does by default. french: left empty,
        the model's own translation (beam search, width 4) is scored, and a warning says so.
        """
        model = self.registry.active if model is None else model
        try:
            scored, own, checked, _ = await self._score(text, french, model, {"top_k": top_k}, compare=False)
        except RequestFailed as failed:
            raise failed.gradio_error() from None
        result = scored.to_dict()
        if own is not None:
            result["warnings"] = [*result["warnings"], score_view.own_note(results.method_text(checked))]
        return {**result, "model": model, "options": {"top_k": checked.top_k}}

    @with_options
    async def score_page(self, text, model, french, options):
        """The page's Score: the French box (filled with the model's own when it was empty), the
        score summary and the score view."""
        try:
            scored, own, checked, translator = await self._score(text, french, model, options, compare=True)
        except RequestFailed as failed:
            return gr.skip(), results.error_summary(failed.title, failed.detail), ""
        from_own = not (french or "").strip()
        return (own.translation if from_own else gr.skip(),
                score_view.score_summary(scored, own, model, checked, from_own=from_own),
                score_view.score_html(scored, has_attention=translator.has_attention))

    # -- comparing models ----------------------------------------------------------------------

    @staticmethod
    def _methods():
        return [("greedy", DecodeOptions(method="greedy", top_k=1)),
                (COMPARE_BEAM_LABEL, COMPARE_BEAM_OPTIONS)]

    def _compare_input(self, text, references, prefix) -> tuple[str, list[str], str]:
        try:
            text = validation.check_text(text)
            if not text.strip():
                raise InputError("the input is empty: type an English sentence, e.g. 'Go.'")
            if references is None:
                references = self.sample.references(text.strip())
            elif not (isinstance(references, list) and all(isinstance(r, str) for r in references)):
                raise InputError(f"references must be a list of strings, got {validation.shown(references)}")
            prefix = validation.check_french(prefix, "prefix")
        except InputError as err:
            raise RequestFailed("Can't compare this input", str(err)) from None
        return text.strip(), list(references or []), prefix

    def _compare_jobs(self, prefix: str) -> list[tuple]:
        """(model label, method label, translator or the error that rules the model out, options) per run.

        A model that is not loaded, or whose French lacks a character of the prefix, is one error row;
        when the prefix rules out every loaded model, the request fails with the first model's words.
        """
        jobs, refused, loaded = [], [], 0
        for source in self.registry.sources:
            label = model_views.model_label(source)
            try:
                translator = self.registry.get(source)
            except SourceError as err:
                jobs.append((label, "—", err, None))
                continue
            loaded += 1
            try:
                translator.french_ids(prefix, "prefix")  # each model writes its own characters
            except InputError as err:
                jobs.append((label, "—", err, None))
                refused.append(err)
                continue
            jobs += [(label, method, translator, options) for method, options in self._methods()]
        if refused and len(refused) == loaded:
            raise RequestFailed("Can't compare this input", str(refused[0]))
        return jobs

    async def _compare(self, text, references=None, prefix=PREFIX.default) -> dict:
        text, references, prefix = self._compare_input(text, references, prefix)
        jobs = self._compare_jobs(prefix)

        async def run(job):
            _, _, translator, options = job
            if isinstance(translator, Exception):
                return translator  # one error row for a model that is not loaded or cannot take the prefix
            try:
                return await self._run(translator, text, options, prefix)
            except Exception as err:  # one model's failure is one row's error, not the comparison's
                return err
        # Every model and method at once: the BatchingEngine runs them as concurrent requests.
        outcomes = await asyncio.gather(*(run(job) for job in jobs))
        rows = compare.compare_rows([(model, method, outcome) for (model, method, _, _), outcome in zip(jobs, outcomes)],
                                    references)
        return {"english": text, "references": references, "rows": rows}

    async def compare(self, text: str, references: list[str] | None = None, prefix: str = PREFIX.default) -> dict:
        """Translate one sentence with every model this Space offers, greedy and the default beam search, side by side.

        references: reference French translations; when left out, the bundled held-out sample is
        searched for the sentence. prefix: French every translation must start with. Returns english,
        references and rows of model, method, french, log_prob, mean_confidence, chrf (sentence-level,
        when there are references) and error.
        """
        try:
            return await self._compare(text, references, prefix)
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
        """The page's state from a deep link: text, prefix, model and options, and a notice for anything
        cut or ignored."""
        link = deep_link.read_link(request.query_params, self.registry.sources)
        notice_text = "\n".join(f"- {results.plain(n)}" for n in link.notes)
        # Nothing in the link: leave the box alone (a visitor may already be typing when this runs).
        return (gr.skip() if link.text is None else link.text, gr.skip() if link.prefix is None else link.prefix,
                link.model or gr.skip(), *(link.options.get(option.name, gr.skip()) for option in OPTIONS),
                gr.update(value=notice_text, visible=bool(link.notes)))

    def open_page(self, request: gr.Request):
        """On page load: the failure notice, the model card and trained length, then the deep link's state.
        The link's model, if it names one, replaces the active model in the selector and the card."""
        text, prefix, linked_model, *rest = self.fill_from_link(request)
        model = linked_model if isinstance(linked_model, str) else self.registry.active
        notice = model_views.notice(self.registry)
        return (gr.update(value=notice, visible=bool(notice)), self.model_card(model), self.trained_length(model),
                text, prefix, model, *rest)

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

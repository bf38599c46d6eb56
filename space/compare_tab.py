"""The Compare tab's handlers: one input through every model this Space offers, greedy and beam, side by side.

An input of several sentences is compared as a whole (the joined translation, scores over every
character) and sentence by sentence; each model and method translates the whole input in one engine
call (model/paragraph.py). References come from the caller, or from the page's held-out sample for
each sentence it holds (none on a page without one: samples.EMPTY).
"""

from __future__ import annotations

import asyncio

from model import InputError, SourceError, compare, paragraph, validation
from model.translator import DecodeOptions

from .options import APP_DEFAULT_OPTIONS, PREFIX
from .service import RequestFailed, Service
from .views import compare as compare_view, models as model_views, results

# The Compare view runs greedy and the app's default beam search side by side.
COMPARE_BEAM = APP_DEFAULT_OPTIONS.beam_size
COMPARE_BEAM_OPTIONS = DecodeOptions(method="beam", beam_size=COMPARE_BEAM,
                                     length_normalize=APP_DEFAULT_OPTIONS.length_normalize, top_k=1)
COMPARE_BEAM_LABEL = f"beam {COMPARE_BEAM}" + (" normalised" if COMPARE_BEAM_OPTIONS.length_normalize else "")
TITLE = "Can't compare this input"


class CompareHandlers(Service):
    @staticmethod
    def _methods():
        return [("greedy", DecodeOptions(method="greedy", top_k=1)),
                (COMPARE_BEAM_LABEL, COMPARE_BEAM_OPTIONS)]

    def _compare_input(self, text, references, prefix) -> tuple[paragraph.Plan, list[str], list[list[str]]]:
        """(plan, references of the whole input, references of each sentence); RequestFailed if bad."""
        try:
            prefix = validation.check_french(prefix, "prefix")
            plan = paragraph.plan(text, prefix, pair=self.words.pair)
            if references is not None and not (isinstance(references, list)
                                               and all(isinstance(r, str) for r in references)):
                raise InputError(f"references must be a list of strings, got {validation.shown(references)}")
        except InputError as err:
            raise RequestFailed(TITLE, str(err)) from None
        own = [self.sample.references(s) for s in plan.texts]
        if references is None:
            # The sample's references: the sentence's own, or, for several, their first ones joined.
            references = own[0] if len(own) == 1 else ([plan.segmented.join([r[0] for r in own])] if all(own) else [])
        return plan, list(references), own if len(own) > 1 else [list(references)]

    def _compare_jobs(self, prefix: str) -> list[tuple]:
        """(model label, method label, translator or the error that rules the model out, options) per run.

        A model that is not loaded, or whose vocabulary lacks a character of the prefix, is one error row;
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
            raise RequestFailed(TITLE, str(refused[0]))
        return jobs

    async def _compare(self, text, references=None, prefix=PREFIX.default) -> dict:
        plan, references, per_sentence = self._compare_input(text, references, prefix)
        jobs = self._compare_jobs(prefix or "")

        async def run(job):
            _, _, translator, options = job
            if isinstance(translator, Exception):
                return translator  # one error row for a model that is not loaded or cannot take the prefix
            try:
                return await self.paragraph(translator, plan, options)
            except Exception as err:  # one model's failure is one row's error, not the comparison's
                return err
        # Every model and method at once: the BatchingEngine runs them as concurrent requests.
        outcomes = await asyncio.gather(*(run(job) for job in jobs))

        def rows(pick, refs):
            return compare.compare_rows([(model, method, outcome if isinstance(outcome, BaseException) else pick(outcome))
                                         for (model, method, _, _), outcome in zip(jobs, outcomes)], refs)
        sentences = [{"english": english, "references": refs, "rows": rows(lambda o, i=i: o.sentences[i], refs)}
                     for i, (english, refs) in enumerate(zip(plan.texts, per_sentence))]
        return {"english": plan.segmented.text, "references": references,
                "rows": rows(lambda o: o.as_translation(), references), "sentences": sentences}

    async def compare(self, text: str, references: list[str] | None = None, prefix: str = PREFIX.default) -> dict:
        """/compare: an input through every model this Space offers, greedy and the default beam search.

        What the API's documentation says of it names the page's languages: Wording.compare_api
        (space/wording.py), given to gr.api as its description.
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
        return compare_view.compare_html(result, self.words, heldout=self.has_heldout)

    def random_heldout_compare(self):
        return self.random_heldout()[0]

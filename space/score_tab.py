"""The "Score your French" handlers (the page's target language in its place): how likely the model
finds the visitor's own translation, sentence by sentence.

The input and the translation are cut into sentences and paired (model/paragraph.py: the counts must
match, or the error names both); each pair is scored by forced decoding, all in one engine call. An
empty translation box scores the model's own translation instead, and fills the box with it.
"""

from __future__ import annotations

import asyncio

import gradio as gr

from model import paragraph, validation

from .options import APP_DEFAULT_OPTIONS, request_options, with_options
from .service import RequestFailed, Service
from .views import results, score as score_view

SCORE_TITLE = "Can't score this input"


class ScoreHandlers(Service):
    async def _score(self, text, french, model, options: dict, compare: bool):
        """(scored, own, options, translator): `french` (the target language's text, whatever the pair)
        scored as a translation of `text`, and the model's own translation decoded with the options
        (None when not asked for and not needed). A translation that is empty, or only spaces, is
        replaced by the model's own, scored.

        Args:
            compare: decode the model's own translation even when a translation is given.
        """
        pair = self.words.pair
        with self._failures(SCORE_TITLE):
            french = validation.check_french(french, self.words.target, limit=validation.MAX_FRENCH_PARAGRAPH_CHARS)
            checked = request_options(options)
            if not french.strip():
                plan = paragraph.plan(text, pair=pair)
                translator = self.registry.get(model)
                own = await self.paragraph(translator, plan, checked)
                scoring = paragraph.Plan(plan.segmented, french=[s.translation for s in own.sentences])
                return await self.paragraph(translator, scoring, checked), own, checked, translator
            scoring = paragraph.plan_score(text, french, pair=pair)
            translator = self.registry.get(model)
            runs = [self.paragraph(translator, scoring, checked)]
            if compare:
                runs.append(self.paragraph(translator, paragraph.Plan(scoring.segmented), checked))
            # Both at once (the engine may batch them); the first failure is the request's.
            outcomes = await asyncio.gather(*runs, return_exceptions=True)
            failure = next((o for o in outcomes if isinstance(o, BaseException)), None)
            if failure is not None:
                raise failure
            return outcomes[0], outcomes[1] if compare else None, checked, translator

    async def score(self, text: str, french: str, model: str | None = None,
                    top_k: int = APP_DEFAULT_OPTIONS.top_k) -> dict:
        """/score: how likely the model finds a given translation (forced decoding), sentence by sentence.

        What the API's documentation says of it names the page's languages: Wording.score_api
        (space/wording.py), given to gr.api as its description.
        """
        model = self.registry.active if model is None else model
        try:
            scored, own, checked, _ = await self._score(text, french, model, {"top_k": top_k}, compare=False)
        except RequestFailed as failed:
            raise failed.gradio_error() from None
        result = scored.to_dict()
        if own is not None:
            result["warnings"] = [*result["warnings"], self.words.own_note(results.method_text(checked))]
        return {**result, "model": model, "options": {"top_k": checked.top_k}}

    @with_options
    async def score_page(self, text, model, french, options):
        """The page's Score: the translation box (filled with the model's own when it was empty), the
        score summary and the score view."""
        try:
            scored, own, checked, translator = await self._score(text, french, model, options, compare=True)
        except RequestFailed as failed:
            return gr.skip(), results.error_summary(failed.title, failed.detail), ""
        from_own = not (french or "").strip()
        several = len(scored.sentences) > 1
        lines = score_view.sentence_lines(scored.sentences, None if from_own else own.sentences) if several else ()
        return (own.translation if from_own else gr.skip(),
                score_view.score_summary(scored.as_translation(), own.as_translation(), model, checked,
                                         from_own=from_own, sentences=lines, words=self.words),
                score_view.paragraph_score_html(scored.sentences, has_attention=translator.has_attention,
                                                words=self.words))

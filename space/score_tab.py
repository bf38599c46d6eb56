"""The "Score your French" handlers: how likely the model finds the visitor's French, sentence by sentence.

The English and the French are cut into sentences and paired (model/paragraph.py: the counts must
match, or the error names both); each pair is scored by forced decoding, all in one engine call. An
empty French box scores the model's own translation instead, and fills the box with it.
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
        """(scored, own, options, translator): `french` scored as a translation of `text`, and the
        model's own translation decoded with the options (None when not asked for and not needed).
        French that is empty, or only spaces, is replaced by the model's own translation, scored.

        Args:
            compare: decode the model's own translation even when French is given.
        """
        with self._failures(SCORE_TITLE):
            french = validation.check_french(french, limit=validation.MAX_FRENCH_PARAGRAPH_CHARS)
            checked = request_options(options)
            if not french.strip():
                plan = paragraph.plan(text)
                translator = self.registry.get(model)
                own = await self.paragraph(translator, plan, checked)
                scoring = paragraph.Plan(plan.segmented, french=[s.translation for s in own.sentences])
                return await self.paragraph(translator, scoring, checked), own, checked, translator
            scoring = paragraph.plan_score(text, french)
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
        """How likely the model finds a French translation of English (forced decoding), sentence by sentence.

        Returns the same record as /translate, for the given French: translation (the French, as
        given), score (its log-probability, end included: comparable with /translate's score),
        normalized_score (per character, end included), steps (per character: its probability, the
        model's own top alternatives, attention, given), disagreements (the steps where the model's
        first choice differs: step, char, prob, model, model_prob; "\\n" is the end), warnings, model
        and options. English of several sentences is paired with the French's sentences, which must
        be as many; the record then adds sentences, one such record per pair (each disagreement
        names its sentence). The English is normalised as /translate does by default. french: left
        empty, the model's own translation (beam search, width 4) is scored, and a warning says so.
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
        several = len(scored.sentences) > 1
        lines = score_view.sentence_lines(scored.sentences, None if from_own else own.sentences) if several else ()
        return (own.translation if from_own else gr.skip(),
                score_view.score_summary(scored.as_translation(), own.as_translation(), model, checked,
                                         from_own=from_own, sentences=lines),
                score_view.paragraph_score_html(scored.sentences, has_attention=translator.has_attention))

"""The Translate tab's handlers: an input of one or more sentences in, its translation in its shape out.

`translate` is the API's endpoint (JSON, gr.Error); `translate_page` fills the page and, on a failure,
clears every output of its action and says what went wrong in its place, so no stale result stays.
A sentence of a multi-sentence result is inspected with `show_sentence` (the picker) or
`select_sentence` (a click on the highlighted translation), from what the page keeps (gr.State): no
request translates twice.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from model import paragraph, validation
from model.translator import DecodeOptions, Translation

from .options import PREFIX, as_values, request_options, with_options
from .service import RequestFailed, Service
from .views import results, sentences as sentence_views, steps as step_views
from .wording import Wording

PAGE_OUTPUTS = 9  # french, sentences, picker, step view, step table, n-best, summary, capitalise button, state


def one_sentence_views(translation: Translation, options: DecodeOptions, has_attention: bool, words: Wording) -> tuple:
    """One sentence's per-step view, step table and n-best list (as page updates)."""
    headers, rows = step_views.steps_table(translation, options.top_k)
    nbest_headers, nbest_rows = results.nbest_table(translation)
    return (step_views.step_view_html(translation, method=options.method, temperature=options.temperature,
                                      has_attention=has_attention, words=words),
            {"headers": headers, "data": rows},  # a dict skips pandas: ~1 ms less per request
            gr.update(value={"headers": nbest_headers, "data": nbest_rows}, visible=options.method == "beam"))


class TranslateHandlers(Service):
    async def _translate(self, text, model, options: dict, prefix=""):
        """(result, options, translator) for one request; raises RequestFailed naming what is wrong."""
        with self._failures("Can't translate this input"):
            prefix = validation.check_french(prefix, "prefix")  # its characters: by the Translator, per model
            checked = request_options(options)
            plan = paragraph.plan(text, prefix, pair=self.words.pair)
            translator = self.registry.get(model)  # never loads: a model not ready is an error at once
            return await self.paragraph(translator, plan, checked), checked, translator

    @with_options
    async def translate(self, text: str, model: str | None = None, options: dict | None = None,
                        prefix: str = PREFIX.default) -> dict:
        """/translate: one sentence or several (a paragraph) into the target language, as JSON.

        What the API's documentation says of it names the page's languages: Wording.translate_api
        (space/wording.py), given to gr.api as its description.
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
        """The page's translate: the translation, sentences, picker, the first sentence's views, summary,
        capitalise offer and the kept result."""
        try:
            result, checked, translator = await self._translate(text, model, options, prefix)
        except RequestFailed as failed:
            return ("", None, gr.update(choices=[], value=None, visible=False), "", gr.update(value=None),
                    gr.update(value=None, visible=False), results.error_summary(failed.title, failed.detail),
                    gr.update(visible=False), None)
        several = len(result.sentences) > 1
        return (
            result.translation,
            gr.update(value=sentence_views.highlighted(result), visible=several),
            gr.update(choices=sentence_views.picker_choices(result), value=0, visible=several),
            *one_sentence_views(result.sentences[0], checked, translator.has_attention, self.words),
            results.summary(result.as_translation(), model, checked, sentences=len(result.sentences), words=self.words),
            gr.update(visible=any(s.suggest_capitalize for s in result.sentences)),
            sentence_views.state(result, checked, translator.has_attention),
        )

    async def translate_link(self, text: str | None, *rest):
        """Translate the text a `?text=` deep link filled in (given by `open_page`, not read from the box,
        where a visitor may already be typing); leave the page alone when there was none."""
        if not isinstance(text, str) or not text.strip():
            return tuple(gr.skip() for _ in range(PAGE_OUTPUTS))
        return await self.translate_page(text, *rest)

    def show_sentence(self, index: Any, kept: dict | None):
        """The picker's choice: that sentence's per-step view, step table and n-best list."""
        if not kept or index is None or not 0 <= int(index) < len(kept["sentences"]):
            return gr.skip(), gr.skip(), gr.skip()
        return one_sentence_views(kept["sentences"][int(index)], kept["options"], kept["attention"], self.words)

    def select_sentence(self, kept: dict | None, evt: gr.SelectData):
        """A click on a sentence of the highlighted translation: the picker follows, and the views show it."""
        index = sentence_views.sentence_of_token(evt.index if evt is not None else 0)
        return (index, *self.show_sentence(index, kept))

"""The page's own state: what a deep link fills in, the model selector and card, the live counter.

No translation happens here: these handlers read the registry and the link, and say what the page
should show before (and while) the visitor types.
"""

from __future__ import annotations

import html

import gradio as gr

from model import SourceError, segment, validation

from . import deep_link
from .options import OPTIONS
from .service import Service
from .views import models as model_views, results


class PageHandlers(Service):
    def engine_stats(self) -> dict:
        """How many requests the batching engine ran, in how many batches (for the load test)."""
        sizes = dict(self.engine.batch_sizes)
        return {"requests": sum(size * count for size, count in sizes.items()), "batches": sum(sizes.values()),
                "dropped_cancelled": self.engine.dropped}

    def fill_from_link(self, request: gr.Request):
        """The page's state from a deep link: text, prefix, model and options, and a notice for anything
        cut or ignored."""
        link = deep_link.read_link(request.query_params, self.registry.sources, self.words)
        notice_text = "\n".join(f"- {results.plain(n)}" for n in link.notes)
        # Nothing in the link: leave the box alone (a visitor may already be typing when this runs).
        return (gr.skip() if link.text is None else link.text, gr.skip() if link.prefix is None else link.prefix,
                link.model or gr.skip(), *(link.options.get(option.name, gr.skip()) for option in OPTIONS),
                gr.update(value=notice_text, visible=bool(link.notes)))

    def open_page(self, request: gr.Request):
        """On page load: the failure notice, the model card and trained length, then the deep link's state,
        and last the link's text alone (None without one): what `translate_link` translates, rather
        than the box, which a visitor may have started typing in meanwhile.
        The link's model, if it names one, replaces the active model in the selector and the card."""
        text, prefix, linked_model, *rest = self.fill_from_link(request)
        model = linked_model if isinstance(linked_model, str) else self.registry.active
        notice = model_views.notice(self.registry)
        return (gr.update(value=notice, visible=bool(notice)), self.model_card(model), self.trained_length(model),
                text, prefix, model, *rest, text if isinstance(text, str) else None)

    def trained_length(self, model: str) -> int | None:
        """The longest English sentence the model was trained on (for the live counter), None if unknown."""
        try:
            return self.registry.get(model).vocab.max_encoder_seq_length
        except SourceError:
            return None

    @staticmethod
    def counter(text: str | None, trained: float | None) -> str:
        """The live counter under the English box: characters and sentences against the request's limits,
        and each sentence longer than the model was trained on. Counted as the request will be."""
        text = text or ""
        chars = len(text)
        found = segment.split(text).sentences if chars <= validation.MAX_PARAGRAPH_CHARS else ()
        trained = int(trained) if trained else None
        notes, kind = [], "counter"
        if chars > validation.MAX_PARAGRAPH_CHARS:
            notes, kind = [f"over the {validation.MAX_PARAGRAPH_CHARS:,}-character limit: shorten it to translate"], "counter over"
        elif len(found) > validation.MAX_SENTENCES:
            notes, kind = [f"over the {validation.MAX_SENTENCES}-sentence limit: split it to translate"], "counter over"
        elif trained:
            long = [i + 1 for i, s in enumerate(found) if len(s) > trained]
            if long:
                which = ("it is" if len(found) == 1 else
                         f"sentence{'s' if len(long) > 1 else ''} {', '.join(map(str, long))} {'are' if len(long) > 1 else 'is'}")
                notes, kind = [f"{which} longer than the {trained} characters this model was trained on: "
                               f"expect a poor translation there"], "counter long"
        # One line on a phone: the trained length only where a sentence exceeds it (the note says so).
        counts = f"{chars:,} / {validation.MAX_PARAGRAPH_CHARS:,} characters · {len(found)} / {validation.MAX_SENTENCES} sentences"
        return f'<span class="{kind}">{html.escape(counts)}{"".join(" — " + html.escape(n) for n in notes)}</span>'

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

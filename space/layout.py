"""The page: three tabs (Translate, Compare models, Translate a file) and the wiring of their events.

`build_demo(handlers)` lays the page out and connects each widget to a handler; it loads no model.
The public API is `translate`, `score`, `compare` and `translate_batch`; the page's own events are
private. The decoding options' widgets are made from space/options.py, one per row of its table, and
the prefix's field from its PREFIX, so the options panel, the share link and the API always list the
same options.

Every word that names a language (title, labels, help, captions, the API's descriptions, the names
static/page.js gives the result box) comes from `handlers.words`, the Wording of the pair the
registry serves (space/wording.py); below, "French" and "English" stand for the page's target and
source. A page without held-out sentences (samples.EMPTY) has no examples, no reference box and no
random buttons.

The Translate tab reads top to bottom as a visitor works: the English; the model's French and, right
under it, "Start the French with…" to make the model continue a start of the visitor's own; then
"Score your French" for the visitor's own translation of the same English. On a phone the columns
stack in that order, so nothing comes between the English and the model's French.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr

from model import batch_files
from model.checkpoint import BUNDLED, bundled_path, read_metadata
from model.registry import DEFAULT_SOURCE, ModelRegistry

from . import deep_link
from .gradio_fixes import lazy_session_configs, unchecked, upload_path
from .handlers import COMPARE_BEAM, COMPARE_BEAM_OPTIONS, Handlers
from .options import APP_DEFAULT_OPTIONS, NAMES, OPTIONS, PREFIX, Option
from .theme import theme
from .views import compare as compare_view, models as model_views, results, score as score_view
from .views import sentences as sentence_views, steps as step_views
from .wording import Wording

STATIC = Path(__file__).parent / "static"
DELETE_CACHE = (600, 3600)  # Gradio's delete_cache: every 10 min, delete uploads and results older than 1 h


def _static(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


PAGE_CSS = _static("page.css") + compare_view.CSS + step_views.CSS + score_view.CSS
# launch() options the page always needs: Gradio refuses bigger uploads before storing them, and in
# Gradio 6 the page's theme, CSS and JavaScript are launch() options, not Blocks() ones.
LAUNCH_OPTIONS = dict(max_file_size=batch_files.MAX_BATCH_BYTES, css=PAGE_CSS, js=_static("page.js"), theme=theme())


@dataclass
class TranslatePage:
    """The Translate tab's widgets that events read or write, set as _translate_tab lays them out."""

    model: gr.Dropdown | None = None
    english: gr.Textbox | None = None
    prefix: gr.Textbox | None = None
    counter: gr.HTML | None = None
    sentences: gr.HighlightedText | None = None  # each sentence's French, coloured by how unsure the model was
    picker: gr.Radio | None = None  # which sentence the per-step view shows
    kept: gr.State | None = None  # the last result's sentences, to show any one's views without translating again
    translate_btn: gr.Button | None = None
    french: gr.Textbox | None = None
    summary: gr.Markdown | None = None
    capitalize_btn: gr.Button | None = None
    nbest: gr.Dataframe | None = None
    reference: gr.Textbox | None = None  # hidden on a page without held-out sentences
    random_btn: gr.Button | None = None  # hidden on a page without held-out sentences
    link_btn: gr.Button | None = None
    share_group: gr.Group | None = None
    link: gr.Textbox | None = None
    link_status: gr.Markdown | None = None
    score_french: gr.Textbox | None = None
    score_btn: gr.Button | None = None
    score_summary: gr.Markdown | None = None
    score_view: gr.HTML | None = None
    examples: gr.Examples | None = None  # None on a page without held-out sentences
    show_probs: gr.Checkbox | None = None
    probs: gr.Column | None = None
    step_view: gr.HTML | None = None
    steps: gr.Dataframe | None = None
    card: gr.Markdown | None = None
    options: list = field(default_factory=list)  # one widget per row of OPTIONS, in order
    method_groups: dict = field(default_factory=dict)  # method -> the row of its options

    @property
    def outputs(self) -> list:
        """What Handlers.translate_page fills, in its order."""
        return [self.french, self.sentences, self.picker, self.step_view, self.steps, self.nbest, self.summary,
                self.capitalize_btn, self.kept]

    @property
    def sentence_outputs(self) -> list:
        """What Handlers.show_sentence fills: one sentence's views."""
        return [self.step_view, self.steps, self.nbest]

    @property
    def score_outputs(self) -> list:
        """What Handlers.score_page fills, in its order."""
        return [self.score_french, self.score_summary, self.score_view]

    def option(self, name: str):
        """The widget of one option of OPTIONS."""
        return self.options[NAMES.index(name)]


def _model_choices(registry: ModelRegistry) -> list[tuple[str, str]]:
    """(label, source) for the selector: human names with their chrF where it is on disk."""
    choices = []
    for source in registry.sources:
        metadata = None
        if source in BUNDLED:
            try:
                metadata = read_metadata(bundled_path(source))
            except Exception:  # a broken bundled file shows up when the model loads, not here
                metadata = None
        choices.append((model_views.model_label(source, metadata), source))
    return choices


def _intro_metadata(handlers: Handlers) -> dict | None:
    """The metadata whose scores the intro quotes: the active model's, as read before it loaded
    (space/settings.py), else the bundled default's where the page offers it; None if neither."""
    if handlers.active_metadata is not None:
        return handlers.active_metadata
    if DEFAULT_SOURCE not in handlers.registry.sources:
        return None
    try:
        return read_metadata(bundled_path(DEFAULT_SOURCE))
    except Exception:
        return None


def _script_words(words: Wording) -> gr.HTML:
    """The names static/page.js gives the result box and its copy button, as data attributes of an
    element that takes no room: the script is one launch() option for every page, the words are this
    page's."""
    names = {"translation-label": words.translation_aria_label, "copy-label": words.copy_aria_label}
    data = " ".join(f'data-{name}="{html.escape(value)}"' for name, value in names.items())
    return gr.HTML(f'<div class="page-words" {data}></div>', elem_id="page-words", visible="hidden")


def _option_widget(option: Option):
    """The widget for one option: its kind of value picks the widget, its rule the bounds."""
    rule = option.rule
    common = dict(label=option.label, info=option.info, value=option.default, elem_id=option.elem_id)
    if rule.kind == "choice":
        return gr.Radio(list(rule.choices), **common)
    if rule.kind == "flag":
        return gr.Checkbox(**common)
    if rule.kind == "whole" and rule.high - rule.low > 1000:  # a seed: typed, not slid
        return unchecked(gr.Number(precision=0, minimum=rule.low, maximum=rule.high, **common))
    return unchecked(gr.Slider(rule.low, rule.high, step=1 if rule.kind == "whole" else 0.1, **common))


def _options_panel(page: TranslatePage, words: Wording) -> None:
    """The decoding and input options, one widget per row of OPTIONS; a method's own options sit in a
    row shown only while that method is chosen."""
    with gr.Accordion("Decoding and input options", open=False):
        gr.Markdown(words.input_options_note, elem_id="input-options-note")
        for option in OPTIONS:
            if option.method is None:
                page.options.append(_option_widget(option))
                continue
            if option.method not in page.method_groups:
                page.method_groups[option.method] = gr.Row(visible=APP_DEFAULT_OPTIONS.method == option.method)
            with page.method_groups[option.method]:
                page.options.append(_option_widget(option))


def _result_column(page: TranslatePage, words: Wording, heldout: bool) -> None:
    """The French, the summary and what goes with them.

    Args:
        heldout: the page has held-out sentences, whose references the reference box shows.
    """
    page.french = gr.Textbox(label=words.target, interactive=False, lines=2, max_lines=14, buttons=["copy"], elem_id="french")
    # An input of several sentences: each one's French coloured by how unsure the model was, to click.
    page.sentences = gr.HighlightedText(label=sentence_views.HIGHLIGHT_LABEL, combine_adjacent=False,
                                        show_legend=False, show_inline_category=False, visible=False,
                                        elem_id="sentences")
    # Right under the model's French, where a visitor who would start it otherwise looks, and on a phone
    # after it: below the English it pushed the French 100 px down, out of a 390 x 844 screen.
    page.prefix = gr.Textbox(label=words.prefix_label, placeholder=words.prefix_placeholder, info=words.prefix_info,
                             lines=1, max_lines=1, elem_id=PREFIX.elem_id)
    page.summary = gr.Markdown(elem_id="summary")
    page.capitalize_btn = gr.Button("Capitalise the first letter and translate again", visible=False, size="sm",
                                    elem_id="capitalize-btn")
    page.nbest = gr.Dataframe(label="Beam search n-best list", interactive=False, visible=False, elem_id="nbest")
    page.reference = gr.Textbox(label=words.reference_label, interactive=False, lines=1, max_lines=6,
                                elem_id="reference", placeholder="Shown for examples and random held-out sentences",
                                visible=heldout)


def _score_panel(page: TranslatePage, words: Wording) -> None:
    """"Score your French": the visitor's own translation of the English above, scored by the model."""
    with gr.Column(elem_id="score-panel"):
        gr.Markdown(words.score_intro, elem_id="score-intro")
        page.score_french = gr.Textbox(label=words.score_label, lines=1, max_lines=8, elem_id="score-french",
                                       placeholder=words.score_placeholder, info=words.score_info)
        page.score_btn = gr.Button("Score", elem_id="score-btn")
        page.score_summary = gr.Markdown(elem_id="score-summary")
        page.score_view = gr.HTML(elem_id="score-view")


def _translate_tab(handlers: Handlers) -> TranslatePage:
    registry, words, heldout, page = handlers.registry, handlers.words, handlers.has_heldout, TranslatePage()
    page.model = gr.Dropdown(_model_choices(registry), value=registry.active, label="Model", elem_id="model")
    with gr.Row(equal_height=False):
        with gr.Column():
            # Several lines: a visitor pastes paragraphs. Enter translates, Shift+Enter starts a new line
            # (static/page.js: Gradio's own multi-line box does the opposite).
            # Short help: on a 390 x 844 phone the French must stay above the fold. The limits are in the
            # counter under the box, and the placeholder says what happens to several sentences.
            page.english = gr.Textbox(label=words.source, lines=1, max_lines=14, elem_id="english",
                                      info="Enter translates; Shift+Enter: new line.",
                                      placeholder=words.source_placeholder)
            page.counter = gr.HTML(elem_id="counter", container=False)
            page.translate_btn = gr.Button("Translate", variant="primary", elem_id="translate-btn")
        with gr.Column():
            _result_column(page, words, heldout)
    with gr.Row():
        page.random_btn = gr.Button("Random held-out sentence", elem_id="random-btn", size="sm", visible=heldout)
        page.link_btn = gr.Button("Copy link", elem_id="copy-link-btn", size="sm")
    # Shown only after a copy, so it never sits between the English and the French.
    with gr.Group(visible=False, elem_id="share-group") as page.share_group:
        page.link = gr.Textbox(label="Link to this result", interactive=False, buttons=["copy"], elem_id="share-link")
        page.link_status = gr.Markdown(elem_id="link-status")
    _score_panel(page, words)
    if handlers.sample.examples:
        page.examples = gr.Examples(
            [[e["english"], results.references_text(e["references"])] for e in handlers.sample.examples],
            inputs=[page.english, page.reference], cache_examples=False, examples_per_page=len(handlers.sample.examples),
            label="Held-out examples: the model never saw these sentences; the reference is a human translation",
        )
    page.show_probs = gr.Checkbox(label="Show the per-step view: probabilities, alternatives and attention",
                                  value=False, elem_id="show-probs")
    with gr.Column(visible=False, elem_id="probs") as page.probs:
        page.picker = gr.Radio([], label=sentence_views.PICKER_LABEL, visible=False, elem_id="sentence-picker")
        page.step_view = gr.HTML(elem_id="step-view")
        page.steps = gr.Dataframe(label="Every step and its top alternatives (⏎ = end of sentence, ␣ = space)",
                                  interactive=False, max_height=420, elem_id="steps")
    _options_panel(page, words)
    with gr.Accordion("About the models", open=False):
        gr.Markdown(model_views.about(registry.sources, words))
        page.card = gr.Markdown("Loading the model…", elem_id="model-card")
    page.kept = gr.State(None)
    return page


def _compare_tab(handlers: Handlers) -> tuple[gr.Textbox, gr.Button, gr.Button, gr.HTML]:
    words, heldout = handlers.words, handlers.has_heldout
    beam = f"width {COMPARE_BEAM}" + (", length-normalised" if COMPARE_BEAM_OPTIONS.length_normalize else "")
    gr.Markdown(words.compare_intro(beam, baseline=model_views.BASELINE in handlers.registry.sources, heldout=heldout))
    with gr.Row():
        english = gr.Textbox(label=words.source, lines=1, max_lines=8, elem_id="compare-english",
                             placeholder="Type a sentence or several" + (", or draw a held-out one" if heldout else ""),
                             scale=4, info="Press Enter or click Compare; Shift+Enter starts a new line.")
    with gr.Row():
        compare_btn = gr.Button("Compare", variant="primary", elem_id="compare-btn")
        random_btn = gr.Button("Random held-out sentence", elem_id="compare-random-btn", visible=heldout)
    return english, compare_btn, random_btn, gr.HTML(elem_id="compare-table")


def _file_tab(words: Wording) -> tuple[gr.File, gr.Button, list]:
    gr.Markdown(words.file_intro(batch_files.MAX_BATCH_ROWS, batch_files.MAX_BATCH_BYTES // 1024))
    batch_in = unchecked(gr.File(label="Sentences (.txt or .csv)", file_types=[".txt", ".csv"], height=120,
                                 elem_id="batch-in"), upload_path)
    batch_btn = gr.Button("Translate file", variant="primary", elem_id="batch-btn")
    batch_info = gr.Markdown(elem_id="batch-info")
    batch_preview = gr.Dataframe(label="First rows of the result", interactive=False, elem_id="batch-preview")
    batch_out = gr.File(label="Translations (CSV)", interactive=False, elem_id="batch-out")
    return batch_in, batch_btn, [batch_out, batch_info, batch_preview]


def _wire_translate(handlers: Handlers, page: TranslatePage, trained: gr.Number) -> None:
    """Translating, the buttons around it, the counter, the share link and the options panel.

    Args:
        trained: the chosen model's trained length (hidden), which the counter reads.
    """
    private = dict(api_visibility="private")
    # One queue entry per request; the handler awaits the shared BatchingEngine, so there is no
    # reason to run one request at a time (Gradio's default concurrency of 1).
    page_event = dict(fn=handlers.translate_page, inputs=[page.english, page.model, *page.options, page.prefix],
                      outputs=page.outputs, concurrency_limit=None, concurrency_id="translate", **private)
    page.translate_btn.click(**page_event)
    page.english.submit(**page_event)
    page.prefix.submit(**page_event)
    if page.examples is not None:
        page.examples.load_input_event.then(**page_event)
    page.random_btn.click(handlers.random_heldout, None, [page.english, page.reference], queue=False,
                          **private).then(**page_event)
    page.capitalize_btn.click(lambda: True, None, page.option("capitalize"), queue=False, **private).then(**page_event)
    # Typing: the counter follows (counted by the server, as the request will be: sentences need the
    # segmenter), and an example's reference no longer applies.
    counter = dict(fn=handlers.counter, inputs=[page.english, trained], outputs=page.counter, queue=False,
                   trigger_mode="always_last", show_progress="hidden", **private)
    page.english.change(**counter)
    trained.change(**counter)
    page.english.input(None, None, page.reference, js="() => ''", **private)
    _wire_score(handlers, page)
    page.link_btn.click(None, [page.english, page.prefix, page.model, *page.options], [page.link, page.link_status],
                        js=deep_link.copy_link_js(deep_link.link_defaults(handlers.registry.active)), **private).then(
        lambda: gr.update(visible=True), None, page.share_group, queue=False, **private)
    page.show_probs.change(lambda on: gr.update(visible=on), page.show_probs, page.probs, queue=False, **private)
    # A sentence of a multi-sentence result: chosen in the picker, or clicked in the highlighted French.
    page.picker.input(handlers.show_sentence, [page.picker, page.kept], page.sentence_outputs, queue=False, **private)
    # A click also opens the per-step view (ticking its checkbox, whose change shows it).
    page.sentences.select(handlers.select_sentence, page.kept, [page.picker, *page.sentence_outputs], queue=False,
                          **private).then(lambda: True, None, page.show_probs, queue=False, **private)
    methods = list(page.method_groups)
    page.option("method").change(lambda chosen: [gr.update(visible=chosen == m) for m in methods], page.option("method"),
                                 list(page.method_groups.values()), queue=False, **private)



def _wire_score(handlers: Handlers, page: TranslatePage) -> None:
    """Score your French: Enter in its box or the Score button; a new English sentence clears the last score."""
    private = dict(api_visibility="private")
    score_event = dict(fn=handlers.score_page, inputs=[page.english, page.model, page.score_french, *page.options],
                       outputs=page.score_outputs, concurrency_limit=None, concurrency_id="translate", **private)
    page.score_btn.click(**score_event)
    page.score_french.submit(**score_event)
    # The score was of the previous English: it goes as the visitor types another (their French stays).
    page.english.input(None, None, [page.score_summary, page.score_view], js="() => ['', '']", **private)


def build_demo(handlers: Handlers, delete_cache: tuple[int, int] | None = DELETE_CACHE) -> gr.Blocks:
    """The page. The API is `translate`, `score`, `compare` and `translate_batch`; UI plumbing is private.

    Args:
        handlers: what every event calls.
        delete_cache: (every, older than) seconds: Gradio deletes uploads and results this old.
    """
    private = dict(api_visibility="private")
    words = handlers.words
    with gr.Blocks(title=words.title, delete_cache=delete_cache) as demo:
        gr.Markdown(f"# {words.title}\n{model_views.intro(_intro_metadata(handlers), words)}", elem_id="intro")
        _script_words(words)
        notice = gr.Markdown(visible=False, elem_id="notice")
        link_notice = gr.Markdown(visible=False, elem_id="link-notice")
        trained = gr.Number(visible=False, elem_id="trained-length")
        # Wrapping, not Gradio's default "⋯" menu: on a phone the last two tabs were hidden behind it.
        with gr.Tabs(overflow_behavior="wrap"):
            with gr.Tab("Translate", id="translate"):
                page = _translate_tab(handlers)
            with gr.Tab("Compare models", id="compare"):
                compare_english, compare_btn, compare_random, compare_out = _compare_tab(handlers)
            with gr.Tab("Translate a file", id="file"):
                batch_in, batch_btn, batch_outputs = _file_tab(words)
        _wire_translate(handlers, page, trained)
        compare_event = dict(fn=handlers.compare_page, inputs=[compare_english], outputs=compare_out,
                             concurrency_limit=None, concurrency_id="translate", **private)
        compare_btn.click(**compare_event)
        compare_english.submit(**compare_event)
        compare_random.click(handlers.random_heldout_compare, None, compare_english, queue=False,
                             **private).then(**compare_event)
        batch_btn.click(handlers.clear_batch, None, batch_outputs, queue=False, **private).then(
            handlers.translate_batch, [batch_in, page.model, *page.options], batch_outputs,
            api_name="translate_batch", api_description=words.translate_batch_api, concurrency_limit=2)
        page.model.input(handlers.select_model, page.model, [page.model, page.card, notice, trained], **private)

        # The API: JSON in, JSON out, errors as errors; its documentation names the page's languages.
        api = dict(concurrency_limit=None, concurrency_id="translate")
        gr.api(handlers.translate, api_name="translate", api_description=words.translate_api, **api)
        gr.api(handlers.score, api_name="score", api_description=words.score_api, **api)
        gr.api(handlers.compare, api_name="compare", api_description=words.compare_api, **api)
        # Not on the page nor in the API docs: the load test reads the batch sizes the engine formed.
        stats = gr.JSON(visible=False)
        gr.Timer(active=False).tick(handlers.engine_stats, None, stats, api_name="engine_stats",
                                    api_visibility="undocumented", queue=False)

        # One load event, so the link's model and the active model never race for the selector.
        linked_text = gr.State(None)  # the link's text, to translate (the box may be edited meanwhile)
        demo.load(handlers.open_page, None, [notice, page.card, trained, page.english, page.prefix, page.model,
                                             *page.options, link_notice, linked_text], **private).then(
            handlers.translate_link, [linked_text, page.model, *page.options, page.prefix], page.outputs, **private)
        demo.unload(handlers.end_session)
    demo.queue(max_size=1024)
    lazy_session_configs(demo)
    return demo

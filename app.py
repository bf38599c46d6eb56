"""The Space: type English, read French, see where the model hesitated, share the link.

    python app.py                       # http://0.0.0.0:7860 with the bundled model
    python app.py --model PATH --models default,hf://owner/repo --port 8080 --share

Widgets only: loading models, batching requests, reading batch files and formatting the
probability views live in `model.serving` (no Gradio there), so this file wires components to it.
The module-level `demo` is built from the environment (MODEL_SOURCE, MODEL_SOURCES) without loading
anything; models load on first use, or in the background as soon as `main()` launches.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import tempfile
import threading
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter is noise here

import gradio as gr  # noqa: E402

from model import InputError, SourceError, load_source, serving  # noqa: E402

log = logging.getLogger("app")

TITLE = "English → French, one character at a time"
INTRO = (
    "A character-level LSTM sequence-to-sequence model (the keras.io *lstm_seq2seq* recipe) reads your "
    "English sentence and writes French one character at a time. Turn on the probability view to see "
    "how sure it was of every character. It knows short, everyday sentences best."
)
# The share link is built in the browser: only the page knows the address people see (a Space's
# *.hf.space URL, a share link, or localhost).
COPY_LINK_JS = """(text) => {
    const url = new URL(window.location.href);
    url.search = "";
    if (text) url.searchParams.set("text", text);
    const link = url.toString();
    if (navigator.clipboard) navigator.clipboard.writeText(link).catch(() => {});
    return link;
}"""


def _error(err: Exception, title: str) -> gr.Error:
    message = str(err) or type(err).__name__
    return gr.Error(message[:1].upper() + message[1:], title=title, print_exception=False)


class Handlers:
    """The event handlers, as plain methods so tests can call them without a browser.

    Args:
        registry: the allowed model sources (see serving.ModelRegistry).
        engine: batches concurrent translations; a fresh one if None.
    """

    def __init__(self, registry: serving.ModelRegistry, engine: serving.BatchingEngine | None = None):
        self.registry = registry
        self.engine = engine or serving.BatchingEngine()

    async def translate(self, text: str, model: str, method: str = "greedy", beam_size: float = 4,
                        temperature: float = 1.0, seed: float = 0, top_k: float = 5, drop_unknown: bool = False):
        """Translate one sentence: French, per-character hesitation, top-k table, n-best table, summary."""
        try:
            text = serving.check_text(text)
            options = serving.decode_options(method, beam_size, temperature, seed, top_k, drop_unknown)
            # A loaded model is a dict lookup; only a first load (seconds, maybe a download) needs a thread.
            translator = (self.registry.get(model) if self.registry.is_loaded(model)
                          else await asyncio.to_thread(self.registry.get, model))
            result = await asyncio.wrap_future(self.engine.submit(translator, text, options))
        except InputError as err:
            raise _error(err, "Can't translate this input") from None
        except SourceError as err:
            raise _error(err, "Model unavailable") from None
        except Exception:
            log.exception("translation failed")
            raise gr.Error("Something went wrong on the server; it has been logged. Please try again.",
                           title="Server error", print_exception=False) from None
        headers, rows = serving.steps_table(result, options.top_k)
        nbest_headers, nbest_rows = serving.nbest_table(result)
        return (
            result.translation,
            serving.highlight(result),
            {"headers": headers, "data": rows},  # a dict skips pandas: ~1 ms less per request
            {"headers": nbest_headers, "data": nbest_rows},
            serving.summary(result, model),
        )

    async def translate_link(self, text: str, *rest):
        """Translate the text a `?text=` deep link filled in; leave the page alone when there was none."""
        if not (text or "").strip():
            return tuple(gr.skip() for _ in range(5))
        return await self.translate(text, *rest)

    def translate_batch(self, file: str | None, model: str, method: str = "greedy", beam_size: float = 4,
                        temperature: float = 1.0, seed: float = 0, top_k: float = 5, drop_unknown: bool = False,
                        progress=gr.Progress()):
        """Translate an uploaded .txt/.csv file into a downloadable CSV; returns (csv path, summary)."""
        if not file:
            raise gr.Error("Upload a .txt or .csv file first.", title="No file", print_exception=False)
        try:
            rows = serving.read_batch_file(file)
            options = serving.decode_options(method, beam_size, temperature, seed, top_k, drop_unknown)
            translator = self.registry.get(model)
        except (InputError, serving.BatchFileError) as err:
            raise _error(err, "Can't use this file") from None
        except SourceError as err:
            raise _error(err, "Model unavailable") from None
        progress(0, desc="Translating")
        serving.translate_rows(translator, rows, options,
                               progress=lambda done, total: progress(done / total, desc=f"{done}/{total} sentences"))
        out = Path(tempfile.mkdtemp(prefix="translations-")) / f"{Path(file).stem}-fr.csv"
        serving.write_results_csv(rows, out)
        return str(out), serving.batch_summary(rows, Path(file).name)

    def fill_from_link(self, request: gr.Request) -> str:
        """The `?text=...` of the page address, cut to the character limit."""
        return (request.query_params.get("text") or "")[: serving.MAX_INPUT_CHARS]

    def page_state(self):
        """On page load: the failure notice, the active model, and its card."""
        notice = self.registry.notice()
        active = self.registry.active
        return gr.update(value=notice, visible=bool(notice)), active, self.model_card(active)

    def model_card(self, model: str) -> str:
        try:
            return serving.describe_model(model, self.registry.get(model))
        except SourceError as err:
            return f"**Model `{model}` is unavailable:** {err}"

    def select_model(self, model: str):
        """Load the chosen model; on failure say so and switch back to the active one."""
        try:
            translator = self.registry.get(model)
        except SourceError as err:
            gr.Warning(str(err), title="Model unavailable")
            model = self.registry.active
            translator = None
        notice = self.registry.notice()
        card = serving.describe_model(model, translator) if translator else self.model_card(model)
        return model, card, gr.update(value=notice, visible=bool(notice))


def build_demo(handlers: Handlers) -> gr.Blocks:
    """The page. Every API-visible event has an api_name; UI plumbing is private."""
    registry = handlers.registry
    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(f"# {TITLE}\n{INTRO}")
        notice = gr.Markdown(visible=False, elem_id="notice")
        with gr.Row(equal_height=False):
            with gr.Column():
                english = gr.Textbox(
                    label="English", placeholder="Type a short English sentence, e.g. I can help you.",
                    lines=2, max_length=serving.MAX_INPUT_CHARS, elem_id="english",
                    info=f"Up to {serving.MAX_INPUT_CHARS} characters. Press Enter or click Translate.",
                )
                with gr.Row():
                    translate_btn = gr.Button("Translate", variant="primary", elem_id="translate-btn")
                    link_btn = gr.Button("Copy link", elem_id="copy-link-btn")
                link = gr.Textbox(label="Link to this sentence", interactive=False, buttons=["copy"],
                                  visible=True, elem_id="share-link", placeholder="Click 'Copy link'")
            with gr.Column():
                french = gr.Textbox(label="French", interactive=False, lines=2, buttons=["copy"], elem_id="french")
                info = gr.Markdown(elem_id="summary")
        examples = gr.Examples([[e] for e in serving.EXAMPLES], inputs=[english], label="Examples from the training data",
                               cache_examples=False, examples_per_page=len(serving.EXAMPLES))

        show_probs = gr.Checkbox(label="Show per-character probabilities", value=False, elem_id="show-probs")
        with gr.Column(visible=False, elem_id="probs") as probs:
            hesitation = gr.HighlightedText(
                label="Hesitation per character (1 − probability): the redder, the less sure",
                show_legend=True, combine_adjacent=False, elem_id="hesitation",
            )
            steps = gr.Dataframe(label="Top alternatives at each step (⏎ = end of sentence, ␣ = space)",
                                 interactive=False, max_height=420, elem_id="steps")
            nbest = gr.Dataframe(label="Beam search n-best list", interactive=False, visible=False, elem_id="nbest")

        with gr.Accordion("Decoding options", open=False):
            method = gr.Radio(["greedy", "beam", "sample"], value="greedy", label="Method",
                              info="greedy: the most likely character each step; beam: keep the best partial "
                                   "translations; sample: draw characters at random")
            beam_size = gr.Slider(1, serving.MAX_BEAM_SIZE, value=4, step=1, label="Beam width", visible=False)
            with gr.Row(visible=False) as sampling:
                temperature = gr.Slider(0.1, 2.0, value=1.0, step=0.1, label="Temperature",
                                        info="below 1: safer; above 1: more adventurous")
                seed = gr.Number(value=0, precision=0, minimum=0, label="Seed", info="same seed, same output")
            top_k = gr.Slider(1, serving.MAX_TOP_K, value=5, step=1, label="Alternatives shown per step (top-k)")
            drop_unknown = gr.Checkbox(label="Drop characters the model does not know instead of refusing", value=False)

        with gr.Accordion("Model", open=True):
            model = gr.Dropdown(registry.sources, value=registry.active, label="Model",
                                info="The models this Space was started with", elem_id="model")
            card = gr.Markdown("Loading the model…", elem_id="model-card")

        with gr.Accordion("Translate a file", open=False):
            gr.Markdown(
                f"Upload a `.txt` file (one sentence per line) or a `.csv` file with a column named `english`: "
                f"at most {serving.MAX_BATCH_ROWS} sentences and {serving.MAX_BATCH_BYTES // 1024} KB. "
                f"You get a CSV with columns row, english, french, score, error; rows the model cannot "
                f"translate are reported in `error` and never stop the batch."
            )
            with gr.Row():
                batch_in = gr.File(label="Sentences (.txt or .csv)", file_types=[".txt", ".csv"], elem_id="batch-in")
                batch_out = gr.File(label="Translations (CSV)", interactive=False, elem_id="batch-out")
            batch_btn = gr.Button("Translate file")
            batch_info = gr.Markdown()

        options = [method, beam_size, temperature, seed, top_k, drop_unknown]
        outputs = [french, hesitation, steps, nbest, info]
        # One queue entry per request; the handler awaits the shared BatchingEngine, so there is no
        # reason to run one request at a time (Gradio's default concurrency of 1).
        translate_event = dict(fn=handlers.translate, inputs=[english, model, *options], outputs=outputs,
                               concurrency_limit=None, concurrency_id="translate")
        translate_btn.click(**translate_event, api_name="translate",
                            api_description="Translate one English sentence into French")
        english.submit(**translate_event, api_visibility="private")
        examples.load_input_event.then(**translate_event, api_visibility="private")
        batch_btn.click(handlers.translate_batch, [batch_in, model, *options], [batch_out, batch_info],
                        api_name="translate_batch", api_description="Translate a .txt/.csv file into a CSV",
                        concurrency_limit=2)

        link_btn.click(None, [english], [link], js=COPY_LINK_JS, api_visibility="private")
        show_probs.change(lambda on: gr.update(visible=on), show_probs, probs, api_visibility="private", queue=False)
        method.change(
            lambda m: (gr.update(visible=m == "beam"), gr.update(visible=m == "sample"), gr.update(visible=m == "beam")),
            method, [beam_size, sampling, nbest], api_visibility="private", queue=False,
        )
        model.input(handlers.select_model, model, [model, card, notice], api_visibility="private")

        demo.load(handlers.page_state, None, [notice, model, card], api_visibility="private")
        demo.load(handlers.fill_from_link, None, english, api_visibility="private").then(
            handlers.translate_link, [english, model, *options], outputs, api_visibility="private",
        )
    demo.queue(max_size=1024)
    return demo


def registry_from(model: str | None = None, models: str | None = None, vocab_data: str | None = None) -> serving.ModelRegistry:
    """The allow-list from arguments, falling back to MODEL_SOURCE / MODEL_SOURCES / VOCAB_DATA."""
    active = model or os.environ.get("MODEL_SOURCE") or serving.DEFAULT_SOURCE
    extra = serving.parse_source_list(models if models is not None else os.environ.get("MODEL_SOURCES"))
    vocab_data = vocab_data or os.environ.get("VOCAB_DATA") or None
    return serving.ModelRegistry(serving.allowed_sources(active, extra), active=active,
                                 loader=functools.partial(load_source, vocab_data=vocab_data))


handlers = Handlers(registry_from())
demo = build_demo(handlers)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=TITLE)
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"),
                        help="address to listen on (env GRADIO_SERVER_NAME; default 0.0.0.0)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
                        help="port (env GRADIO_SERVER_PORT; default 7860)")
    parser.add_argument("--share", action="store_true", help="also open a public Gradio share link")
    parser.add_argument("--model", default=None, metavar="SOURCE",
                        help="model to start with: default, recipe, a checkpoint directory, or hf://owner/repo[@rev] "
                             "(env MODEL_SOURCE; default: default)")
    parser.add_argument("--models", default=None, metavar="A,B,...",
                        help="comma-separated extra sources the visitor may choose from (env MODEL_SOURCES); "
                             "the bundled checkpoints and --model are always offered")
    parser.add_argument("--vocab-data", default=None, metavar="PATH",
                        help="fra-eng pair file to rebuild the vocabulary of a legacy SavedModel such as "
                             "hf://keras-io/cl_s2s (env VOCAB_DATA; default: download the recipe's data)")
    parser.add_argument("--mcp", action="store_true",
                        help="also serve the endpoints as MCP tools at /gradio_api/mcp/ (needs gradio[mcp])")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    global demo, handlers
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.model is not None or args.models is not None or args.vocab_data is not None:
        handlers = Handlers(registry_from(args.model, args.models, args.vocab_data))
        demo = build_demo(handlers)
    # Load in the background so the server starts listening while TensorFlow imports; a request
    # that arrives first simply waits for the load.
    threading.Thread(target=handlers.registry.warm_up, name="warm-up", daemon=True).start()
    demo.launch(server_name=args.host, server_port=args.port, share=args.share or None,
                mcp_server=args.mcp or None, theme=gr.themes.Soft())


if __name__ == "__main__":
    main()

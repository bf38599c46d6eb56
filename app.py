"""The Space: type English, read French, see where the model hesitated, share the link.

    python app.py                       # http://0.0.0.0:7860 with the bundled model
    python app.py --model PATH --models default,hf://owner/repo --port 8080 --share

Widgets only. The model allow-list and background loading live in `model.registry`, request
checks in `model.validation`, batching in `model.batching`, batch files in `model.batch_files`
(no Gradio in model/), and the probability tables, cards and notices in `views.py`.

Models load in background threads, never while a visitor waits: `main()` starts them before the
server listens, and the module-level `demo` (built from MODEL_SOURCE / MODEL_SOURCES without
loading anything) starts them on its first request. A request for a model that is still loading,
or whose server does not answer, gets a clear error at once, and every other model keeps serving.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter is noise here

import gradio as gr  # noqa: E402

import views  # noqa: E402
from model import InputError, SourceError, load_source  # noqa: E402
from model import batch_files, validation  # noqa: E402
from model.batching import BatchingEngine  # noqa: E402
from model.registry import DEFAULT_SOURCE, ModelRegistry, allowed_sources, parse_source_list  # noqa: E402

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
REQUEST_TIMEOUT_S = 60.0  # longest a translation waits for the engine; a busy one answers in well under 1 s
DELETE_CACHE = (600, 3600)  # Gradio's delete_cache: every 10 min, delete uploads and results older than 1 h
OUTPUT_FOLDER = "translations"  # batch-file results, inside Gradio's cache so delete_cache removes them
# launch() options the app always needs: Gradio refuses bigger uploads before storing them.
LAUNCH_OPTIONS = dict(max_file_size=batch_files.MAX_BATCH_BYTES)


def _error(title: str, detail: Exception | str) -> gr.Error:
    """A gr.Error whose message starts with its title, kept as written (no capitalised file names).

    Gradio 6.31's page drops `title`: its error toast reads `status._title`, which its client never
    sets (it sets `title`), so every toast is headed "Error". Leading the message with the title keeps
    it visible there; `title` is still sent for API clients that read it.
    """
    detail = str(detail) or type(detail).__name__
    return gr.Error(f"{title} — {detail}", title=title, print_exception=False)


def unchecked(component, preprocess=lambda payload: payload):
    """Have Gradio hand the handler this component's value as sent, for the handler to check.

    Gradio's Number and Slider check bounds by comparing, so text ("4") or NaN fails with a generic
    server error; model.validation checks every option once, with a message naming the field. And
    Gradio 6.31's File.preprocess opens an empty NamedTemporaryFile in its cache on every call and
    never deletes it; the uploaded path is all the handler needs (model.batch_files checks the type).
    An instance attribute, not a subclass: Gradio writes a .pyi file beside any module defining one.
    """
    component.preprocess = preprocess
    return component


def _upload_path(payload):
    return None if payload is None else payload.path


class Handlers:
    """The event handlers, as plain methods so tests can call them without a browser.

    Args:
        registry: the allowed model sources (see model.registry.ModelRegistry).
        engine: batches concurrent translations; a fresh one if None.
        timeout: seconds a translation may wait for the engine before a "server busy" error.
    """

    def __init__(self, registry: ModelRegistry, engine: BatchingEngine | None = None,
                 timeout: float = REQUEST_TIMEOUT_S):
        self.registry = registry
        self.engine = engine or BatchingEngine()
        self.timeout = timeout

    def engine_stats(self) -> dict:
        """How many requests the batching engine ran, in how many batches (for the load test)."""
        sizes = dict(self.engine.batch_sizes)
        return {"requests": sum(size * count for size, count in sizes.items()), "batches": sum(sizes.values()),
                "dropped_cancelled": self.engine.dropped}

    async def translate(self, text: str, model: str, method: str = "greedy", beam_size: float = 4,
                        temperature: float = 1.0, seed: float = 0, top_k: float = 5, drop_unknown: bool = False):
        """Translate one sentence: French, per-character hesitation, top-k table, n-best table, summary."""
        try:
            text = validation.check_text(text)
            options = validation.decode_options(method, beam_size, temperature, seed, top_k, drop_unknown)
            translator = self.registry.get(model)  # never loads: a model not ready is an error at once
            future = self.engine.submit(translator, text, options)
            # If Gradio cancels this task, wrap_future cancels the request and the engine drops it.
            result = await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except InputError as err:
            raise _error("Can't translate this input", err) from None
        except SourceError as err:
            raise _error("Model unavailable", err) from None
        except TimeoutError:
            raise _error("Server busy", f"no translation within {self.timeout:.0f} s; please try again") from None
        except Exception:
            log.exception("translation failed")
            raise _error("Server error", "something went wrong on the server; it has been logged. "
                                         "Please try again.") from None
        headers, rows = views.steps_table(result, options.top_k)
        nbest_headers, nbest_rows = views.nbest_table(result)
        return (
            result.translation,
            views.highlight(result),
            {"headers": headers, "data": rows},  # a dict skips pandas: ~1 ms less per request
            {"headers": nbest_headers, "data": nbest_rows},
            views.summary(result, model),
        )

    async def translate_link(self, text: str, *rest):
        """Translate the text a `?text=` deep link filled in; leave the page alone when there was none."""
        if not isinstance(text, str) or not text.strip():
            return tuple(gr.skip() for _ in range(5))
        return await self.translate(text, *rest)

    def translate_batch(self, file: str | None, model: str, method: str = "greedy", beam_size: float = 4,
                        temperature: float = 1.0, seed: float = 0, top_k: float = 5, drop_unknown: bool = False,
                        progress=gr.Progress()):
        """Translate an uploaded .txt/.csv file into a downloadable CSV; returns (csv path, summary)."""
        if not file:
            raise _error("No file", "upload a .txt or .csv file first")
        try:
            rows = batch_files.read_batch_file(file)
            options = validation.decode_options(method, beam_size, temperature, seed, top_k, drop_unknown)
            translator = self.registry.get(model)
        except (InputError, batch_files.BatchFileError) as err:
            raise _error("Can't use this file", err) from None
        except SourceError as err:
            raise _error("Model unavailable", err) from None
        progress(0, desc="Translating")
        batch_files.translate_rows(translator, rows, options,
                                   progress=lambda done, total: progress(done / total, desc=f"{done}/{total} sentences"))
        out = output_folder() / f"{Path(file).stem}-fr.csv"
        batch_files.write_results_csv(rows, out)
        return str(out), views.batch_summary(rows, Path(file).name)

    def fill_from_link(self, request: gr.Request) -> str:
        """The `?text=...` of the page address, cut to the character limit."""
        return (request.query_params.get("text") or "")[: validation.MAX_INPUT_CHARS]

    def page_state(self):
        """On page load: the failure notice, the active model, and its card."""
        notice = views.notice(self.registry)
        active = self.registry.active
        return gr.update(value=notice, visible=bool(notice)), active, self.model_card(active)

    def model_card(self, model: str) -> str:
        try:
            return views.describe_model(model, self.registry.get(model))
        except SourceError as err:
            return f"**Model `{model}` is unavailable:** {err}"

    def select_model(self, model: str):
        """Show the chosen model's card; if it is not ready, say so and switch back to the active one."""
        try:
            translator = self.registry.get(model)
        except SourceError as err:
            gr.Warning(str(err), title="Model unavailable")
            model = self.registry.active
            translator = None
        notice = views.notice(self.registry)
        card = views.describe_model(model, translator) if translator else self.model_card(model)
        return model, card, gr.update(value=notice, visible=bool(notice))


def output_folder() -> Path:
    """A fresh folder for one batch-file result, inside Gradio's cache (so Gradio serves the file
    without copying it, and delete_cache removes it); empty folders of deleted results go too."""
    parent = Path(gr.utils.get_upload_folder()) / OUTPUT_FOLDER
    parent.mkdir(parents=True, exist_ok=True)
    for old in parent.iterdir():
        try:
            if time.time() - old.stat().st_mtime > 60:  # never a folder a concurrent call is writing to
                old.rmdir()  # only succeeds on an empty folder, whose file delete_cache removed
        except OSError:
            pass
    return Path(tempfile.mkdtemp(dir=parent))


def build_demo(handlers: Handlers, delete_cache: tuple[int, int] | None = DELETE_CACHE) -> gr.Blocks:
    """The page. Every API-visible event has an api_name; UI plumbing is private.

    Args:
        delete_cache: (every, older than) seconds: Gradio deletes uploads and results this old.
    """
    registry = handlers.registry
    with gr.Blocks(title=TITLE, delete_cache=delete_cache) as demo:
        gr.Markdown(f"# {TITLE}\n{INTRO}")
        notice = gr.Markdown(visible=False, elem_id="notice")
        with gr.Row(equal_height=False):
            with gr.Column():
                english = gr.Textbox(
                    label="English", placeholder="Type a short English sentence, e.g. I can help you.",
                    lines=2, max_length=validation.MAX_INPUT_CHARS, elem_id="english",
                    info=f"Up to {validation.MAX_INPUT_CHARS} characters. Press Enter or click Translate.",
                )
                with gr.Row():
                    translate_btn = gr.Button("Translate", variant="primary", elem_id="translate-btn")
                    link_btn = gr.Button("Copy link", elem_id="copy-link-btn")
                link = gr.Textbox(label="Link to this sentence", interactive=False, buttons=["copy"],
                                  visible=True, elem_id="share-link", placeholder="Click 'Copy link'")
            with gr.Column():
                french = gr.Textbox(label="French", interactive=False, lines=2, buttons=["copy"], elem_id="french")
                info = gr.Markdown(elem_id="summary")
        examples = gr.Examples([[e] for e in views.EXAMPLES], inputs=[english], label="Examples from the training data",
                               cache_examples=False, examples_per_page=len(views.EXAMPLES))

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
            beam_size = unchecked(gr.Slider(1, validation.MAX_BEAM_SIZE, value=4, step=1, label="Beam width", visible=False))
            with gr.Row(visible=False) as sampling:
                temperature = unchecked(gr.Slider(validation.MIN_TEMPERATURE, validation.MAX_TEMPERATURE, value=1.0,
                                                  step=0.1, label="Temperature",
                                                  info="below 1: safer; above 1: more adventurous"))
                seed = unchecked(gr.Number(value=0, precision=0, minimum=0, maximum=validation.MAX_SEED, label="Seed",
                                           info="same seed, same output"))
            top_k = unchecked(gr.Slider(1, validation.MAX_TOP_K, value=5, step=1, label="Alternatives shown per step (top-k)"))
            drop_unknown = gr.Checkbox(label="Drop characters the model does not know instead of refusing", value=False)

        with gr.Accordion("Model", open=True):
            model = gr.Dropdown(registry.sources, value=registry.active, label="Model",
                                info="The models this Space was started with", elem_id="model")
            card = gr.Markdown("Loading the model…", elem_id="model-card")

        with gr.Accordion("Translate a file", open=False):
            gr.Markdown(
                f"Upload a `.txt` file (one sentence per line) or a `.csv` file with a column named `english`: "
                f"at most {batch_files.MAX_BATCH_ROWS} sentences and {batch_files.MAX_BATCH_BYTES // 1024} KB. "
                f"You get a CSV with columns row, english, french, score, error; rows the model cannot "
                f"translate are reported in `error` and never stop the batch. Cells that start with "
                f"=, +, -, @, a tab or a carriage return get a leading `'` so spreadsheets show them as text."
            )
            with gr.Row():
                batch_in = unchecked(gr.File(label="Sentences (.txt or .csv)", file_types=[".txt", ".csv"], elem_id="batch-in"),
                                     _upload_path)
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

        # Not on the page nor in the API docs: the load test reads the batch sizes the engine formed.
        stats = gr.JSON(visible=False)
        gr.Timer(active=False).tick(handlers.engine_stats, None, stats, api_name="engine_stats",
                                    api_visibility="undocumented", queue=False)
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


def registry_from(model: str | None = None, models: str | None = None, vocab_data: str | None = None) -> ModelRegistry:
    """The allow-list from arguments, falling back to MODEL_SOURCE / MODEL_SOURCES / VOCAB_DATA."""
    active = model or os.environ.get("MODEL_SOURCE") or DEFAULT_SOURCE
    extra = parse_source_list(models if models is not None else os.environ.get("MODEL_SOURCES"))
    vocab_data = vocab_data or os.environ.get("VOCAB_DATA") or None
    return ModelRegistry(allowed_sources(active, extra), active=active,
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
    # Load in the background so the server starts listening at once; a request that arrives before
    # its model has loaded gets a "still loading" error instead of holding a worker.
    handlers.registry.start()
    demo.launch(server_name=args.host, server_port=args.port, share=args.share or None,
                mcp_server=args.mcp or None, theme=gr.themes.Soft(), **LAUNCH_OPTIONS)


if __name__ == "__main__":
    main()

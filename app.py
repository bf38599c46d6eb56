"""The Space: type English, read French, see where the model hesitated, share the link.

    python app.py                       # http://0.0.0.0:7860 with the bundled model
    python app.py --model PATH --models default,hf://owner/repo --port 8080 --share

Widgets only. The model allow-list and background loading live in `model.registry`, request
checks in `model.validation`, batching in `model.batching`, batch files in `model.batch_files`
(no Gradio in model/), and what the page shows in `space/views/`.

Models load in background threads, never while a visitor waits: `main()` starts them before the
server listens, and the module-level `demo` (built from MODEL_SOURCE / MODEL_SOURCES without
loading anything) starts them on its first request. A request for a model that is still loading,
or whose server does not answer, gets a clear error at once, and every other model keeps serving.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import functools
import json
import logging
import os
import random
import tempfile
import time
import weakref
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ start-up chatter is noise here
# Gradio 6.31 rebuilds its /monitoring summary (a pandas DataFrame of the last 10,000 events) after
# every event by default: 4 ms per request at 1,000 events, 16 ms at 10,000, in a worker thread that
# holds the GIL the event loop needs. Every 100 events keeps that under 0.2 ms a request; the
# dashboard's figures are at most 100 events old. Set the variable to 1 for Gradio's behaviour.
os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "100")

import gradio as gr  # noqa: E402

from space.views import compare as compare_view, models as model_views, results, steps as step_views  # noqa: E402
from model import InputError, SourceError, load_source  # noqa: E402
from model import batch_files, compare, samples, validation  # noqa: E402
from model.checkpoint import BUNDLED, bundled_path, read_metadata  # noqa: E402
from model.translator import DecodeOptions  # noqa: E402
from model.batching import BatchingEngine  # noqa: E402
from model.registry import DEFAULT_SOURCE, ModelRegistry, allowed_sources, parse_source_list  # noqa: E402

log = logging.getLogger("app")

TITLE = "English → French, one character at a time"
# The share link is built in the browser: only the page knows the address people see (a Space's
# *.hf.space URL, a share link, or localhost). Options equal to their defaults are left out, so a
# link stays short; `fill_from_link` reads the same names back.
LINK_PARAMS = ("text", "model", "method", "beam", "temperature", "seed", "top_k", "drop_unknown",
               "typography", "fold_accents", "capitalize")
COPY_LINK_JS = """(text, model, method, beam, temperature, seed, topK, drop, typography, accents, capitalize) => {
    const url = new URL(window.location.href);
    url.search = "";
    const params = {text, model, method, beam, temperature, seed, top_k: topK, drop_unknown: drop,
                    typography, fold_accents: accents, capitalize};
    const defaults = %s;
    for (const [name, value] of Object.entries(params)) {
        if (value === null || value === undefined || value === "" || String(value) === String(defaults[name])) continue;
        url.searchParams.set(name, String(value));
    }
    const link = url.toString();
    let status = "Select the link and copy it (this browser does not let the page use the clipboard).";
    if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(link).catch(() => {});
        status = "✓ Link copied to the clipboard. Anyone who opens it sees this sentence, model and settings.";
    }
    return [link, status];
}"""
# The live counter under the English box, in the browser (no request per keystroke): it counts
# against both limits, the hard cap and the longest input the chosen model was trained on.
COUNTER_JS = """(text, trained) => {
    const n = [...(text || "")].length;
    const cap = %d;
    let note = "";
    if (n > cap) note = ` — over the ${cap}-character limit: shorten it to translate`;
    else if (trained && n > trained) note = ` — longer than the ${trained} characters this model was trained on: expect a poor translation`;
    const cls = n > cap ? "counter over" : (trained && n > trained ? "counter long" : "counter");
    return `<span class="${cls}">${n} / ${cap} characters${trained ? ` · model trained on ≤ ${trained}` : ""}${note}</span>`;
}"""
# The page's accessibility fixes Gradio has no option for: names for the French box and the copy
# buttons (both announced as "Copy"), and a polite live region that announces each new result.
# A MutationObserver re-applies them because Gradio renders the copy buttons lazily.
PAGE_JS = """() => {
    const fix = () => {
        const french = document.querySelector("#french textarea, #french input");
        if (french) french.setAttribute("aria-label", "French translation");
        document.querySelectorAll("#french button").forEach(b => { if (/copy/i.test(b.getAttribute("aria-label") || b.title || "")) b.setAttribute("aria-label", "Copy the French translation"); });
        document.querySelectorAll("#share-link button").forEach(b => { if (/copy/i.test(b.getAttribute("aria-label") || b.title || "")) b.setAttribute("aria-label", "Copy the share link"); });
        const live = document.querySelector("#summary");
        if (live && !live.hasAttribute("aria-live")) { live.setAttribute("role", "status"); live.setAttribute("aria-live", "polite"); }
    };
    fix();
    new MutationObserver(fix).observe(document.body, {childList: true, subtree: true});
}"""
PAGE_CSS = """
#english textarea:focus-visible, #english input:focus-visible, #compare-english input:focus-visible,
#compare-english textarea:focus-visible { outline: 3px solid #1d4ed8 !important; outline-offset: 2px; }
.counter { font-size: 0.85em; color: #555; }
#counter { margin-top: -0.5rem; }
@media (max-width: 640px) {
  #intro h1 { font-size: 1.4rem !important; margin-bottom: 0.2rem !important; }
  #intro p { font-size: 0.9rem !important; line-height: 1.35 !important; }
}
.counter.long { color: #8a5300; }
.counter.over { color: #b00020; font-weight: 600; }
#batch-in { max-height: 9rem; }
.compare-table { border-collapse: collapse; width: 100%; }
.compare-table th, .compare-table td { border-bottom: 1px solid #ddd; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
.compare-table td.num { font-variant-numeric: tabular-nums; text-align: right; }
""" + step_views.CSS
REQUEST_TIMEOUT_S = 60.0  # longest a translation waits for the engine; a busy one answers in well under 1 s
DELETE_CACHE = (600, 3600)  # Gradio's delete_cache: every 10 min, delete uploads and results older than 1 h
OUTPUT_FOLDER = "translations"  # batch-file results, inside Gradio's cache so delete_cache removes them
COMPARE_BEAM = 4  # the beam width the Compare view runs next to greedy
# launch() options the app always needs: Gradio refuses bigger uploads before storing them, and in
# Gradio 6 the page's CSS and JavaScript are launch() options, not Blocks() ones.
LAUNCH_OPTIONS = dict(max_file_size=batch_files.MAX_BATCH_BYTES, css=PAGE_CSS, js=PAGE_JS)
DEFAULT_OPTIONS = DecodeOptions()


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


class RequestFailed(Exception):
    """A request the app refuses or cannot serve, with a title and a message for people."""

    def __init__(self, title: str, detail: str):
        super().__init__(f"{title}: {detail}")
        self.title, self.detail = title, detail

    def gradio_error(self) -> gr.Error:
        return _error(self.title, self.detail)


class Handlers:
    """The event handlers, as plain methods so tests can call them without a browser.

    The API endpoints (`translate`, `compare`) return JSON and raise gr.Error; the page's handlers
    (`*_page`) return component updates, and on a failure clear every output of their action and
    say what went wrong in its place, so no stale result is left on the page.

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

    async def _translate(self, text, model, options_values):
        """(translation, options) for one request; raises RequestFailed naming what is wrong."""
        try:
            text = validation.check_text(text)
            options = validation.decode_options(*options_values)
            translator = self.registry.get(model)  # never loads: a model not ready is an error at once
            return await self._run(translator, text, options), options, translator
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

    async def translate(self, text: str, model: str | None = None, method: str = "greedy", beam_size: int = 4,
                        temperature: float = 1.0, seed: int = 0, top_k: int = 5, drop_unknown: bool = False,
                        typography: bool = True, fold_accents: bool = True, capitalize: bool = False) -> dict:
        """Translate one English sentence into French.

        Returns the translation as JSON: input (what the model read, after normalisation), translation,
        score (log-probability), steps (per character: char, prob, top alternatives, and attention
        weights over the input for attention models), nbest (beam search), warnings (every
        normalisation and problem), suggest_capitalize, plus model and the options used.
        model: one of the Space's models; left out, the model the Space started with.
        """
        model = self.registry.active if model is None else model
        options_values = (method, beam_size, temperature, seed, top_k, drop_unknown, typography, fold_accents, capitalize)
        try:
            result, options, _ = await self._translate(text, model, options_values)
        except RequestFailed as failed:
            raise failed.gradio_error() from None
        return {**result.to_dict(), "model": model, "options": dataclasses.asdict(options)}

    async def translate_page(self, text, model, *options_values):
        """The page's translate: French, per-step view, step table, n-best, summary, capitalise offer."""
        try:
            result, options, translator = await self._translate(text, model, options_values)
        except RequestFailed as failed:
            cleared = gr.update(value=None)
            return ("", "", cleared, gr.update(value=None, visible=False),
                    results.error_summary(failed.title, failed.detail), gr.update(visible=False))
        headers, rows = step_views.steps_table(result, options.top_k)
        nbest_headers, nbest_rows = results.nbest_table(result)
        return (
            result.translation,
            step_views.step_view_html(result, method=options.method, temperature=options.temperature,
                                     has_attention=translator.has_attention),
            {"headers": headers, "data": rows},  # a dict skips pandas: ~1 ms less per request
            gr.update(value={"headers": nbest_headers, "data": nbest_rows}, visible=options.method == "beam"),
            results.summary(result, model, options),
            gr.update(visible=bool(getattr(result, "suggest_capitalize", False))),
        )

    async def translate_link(self, text: str, *rest):
        """Translate the text a `?text=` deep link filled in; leave the page alone when there was none."""
        if not isinstance(text, str) or not text.strip():
            return tuple(gr.skip() for _ in range(6))
        return await self.translate_page(text, *rest)

    # -- comparing models ----------------------------------------------------------------------

    def _methods(self):
        return [("greedy", DecodeOptions(method="greedy", top_k=1)),
                (f"beam {COMPARE_BEAM}", DecodeOptions(method="beam", beam_size=COMPARE_BEAM, top_k=1))]

    async def _compare(self, text, references=None) -> dict:
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
        jobs = []  # (source, method label, translator or the SourceError it failed with, options)
        for source in self.registry.sources:
            try:
                translator = self.registry.get(source)
            except SourceError as err:
                jobs.append((source, "—", err, None))
                continue
            for label, options in self._methods():
                jobs.append((source, label, translator, options))

        async def run(job):
            source, label, translator, options = job
            if isinstance(translator, SourceError):
                return translator  # one error row for a model that is not loaded
            try:
                return await self._run(translator, text, options)
            except Exception as err:  # one model's failure is one row's error, not the comparison's
                return err
        # Every model and method at once: the BatchingEngine runs them as concurrent requests.
        outcomes = await asyncio.gather(*(run(job) for job in jobs))
        rows = compare.compare_rows([(model_views.model_label(source), label, outcome)
                                     for (source, label, _, _), outcome in zip(jobs, outcomes)], references or [])
        return {"english": text.strip(), "references": list(references or []), "rows": rows}

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

    def translate_batch(self, file: str | None, model: str, method: str = "greedy", beam_size: float = 4,
                        temperature: float = 1.0, seed: float = 0, top_k: float = 5, drop_unknown: bool = False,
                        typography: bool = True, fold_accents: bool = True, capitalize: bool = False,
                        progress=gr.Progress()):
        """Translate an uploaded .txt/.csv file into a downloadable CSV; returns (csv path, summary, preview)."""
        if not file:
            raise _error("No file", "upload a .txt or .csv file first")
        try:
            rows = batch_files.read_batch_file(file)
            options = validation.decode_options(method, beam_size, temperature, seed, top_k, drop_unknown,
                                                typography, fold_accents, capitalize)
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
        headers, preview = batch_files.preview(rows, results=True)
        return str(out), results.batch_summary(rows, Path(file).name), {"headers": headers, "data": preview}

    @staticmethod
    def clear_batch():
        """Before a file runs: no stale CSV, summary or preview from the previous file stays on the page."""
        return None, "", None

    # -- page state ------------------------------------------------------------------------------

    def fill_from_link(self, request: gr.Request):
        """The page's state from a deep link: text, model and options, and a notice for anything cut or ignored."""
        query = request.query_params
        notes = []
        text = query.get("text") or ""
        if len(text) > validation.MAX_INPUT_CHARS:
            cut = text[: validation.MAX_INPUT_CHARS]
            if " " in cut and not text[validation.MAX_INPUT_CHARS].isspace():
                cut = cut[: cut.rindex(" ")]  # never mid-word
            notes.append(f"The link's sentence was {len(text)} characters long; the page takes at most "
                         f"{validation.MAX_INPUT_CHARS}, so it was cut after “{cut[-20:].strip()}”.")
            text = cut.rstrip()
        updates = {name: gr.skip() for name in LINK_PARAMS[1:]}
        model = query.get("model")
        if model is not None:
            if model in self.registry.sources:
                updates["model"] = model
            else:
                notes.append(f"The link asks for model “{model}”, which this Space does not offer; using the default.")
        for name, convert in (("method", str), ("beam", int), ("temperature", float), ("seed", int), ("top_k", int)):
            raw = query.get(name)
            if raw is None:
                continue
            try:
                value = convert(raw)
                values = dict(method=DEFAULT_OPTIONS.method, beam_size=DEFAULT_OPTIONS.beam_size,
                              temperature=DEFAULT_OPTIONS.temperature, seed=DEFAULT_OPTIONS.seed,
                              top_k=DEFAULT_OPTIONS.top_k)
                values[{"beam": "beam_size"}.get(name, name)] = value
                validation.decode_options(**values)
                updates[name] = value
            except (ValueError, InputError) as err:
                notes.append(f"Ignored the link's {name}={validation.shown(raw)}: {err}")
        for name in ("drop_unknown", "typography", "fold_accents", "capitalize"):
            raw = query.get(name)
            if raw is not None:
                if raw.lower() in ("true", "false"):
                    updates[name] = raw.lower() == "true"
                else:
                    notes.append(f"Ignored the link's {name}={validation.shown(raw)}: use true or false.")
        notice_text = "\n".join(f"- {results.plain(n)}" for n in notes)
        # No text in the link: leave the box alone (a visitor may already be typing when this runs).
        return (text if "text" in query else gr.skip(), *updates.values(),
                gr.update(value=notice_text, visible=bool(notes)))

    def open_page(self, request: gr.Request):
        """On page load: the failure notice, the model card and trained length, then the deep link's state.
        The link's model, if it names one, replaces the active model in the selector and the card."""
        link = self.fill_from_link(request)
        linked_model = link[1]
        model = linked_model if isinstance(linked_model, str) else self.registry.active
        notice = model_views.notice(self.registry)
        if not isinstance(linked_model, str):
            link = (link[0], model, *link[2:])
        return (gr.update(value=notice, visible=bool(notice)), self.model_card(model), self.trained_length(model), *link)

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


class _LazyConfigValues(dict):
    """A session's `config_values` (block id -> config), built only when something reads it whole.

    Gradio 6.31's SessionState builds the config of every block of the page when a session starts,
    as a snapshot for its /gradio_api/deep_link route (gr.DeepLinkButton, which this page does not
    use). Each REST call (`POST /gradio_api/call/translate`) is a new session, so for this page's
    86 blocks that was ~6 ms of the event loop and ~130 KB kept per request (up to 10,000 sessions):
    most of the API's overhead over the echo floor. Gradio writes single entries itself (updates,
    input and output values); the rest are filled in, as before, the first time the whole mapping
    is read, so the deep-link snapshot is the same.
    """

    def __init__(self, session, blocks: gr.Blocks):
        super().__init__()
        # Weak: no reference cycle; the session's blocks_config is read when filling (a dev-mode
        # reload replaces it).
        self._session, self._blocks, self._filled = weakref.ref(session), blocks, False

    def _fill(self) -> None:
        session = self._session()
        if self._filled or session is None:
            return
        self._filled = True
        config = session.blocks_config
        for key, block in config.blocks.items():
            if key in self._blocks.blocks and not dict.__contains__(self, key):
                dict.__setitem__(self, key, config.config_for_block(key, [], block))

    def items(self):
        self._fill()
        return super().items()

    def values(self):
        self._fill()
        return super().values()

    def keys(self):
        self._fill()
        return super().keys()

    def __iter__(self):
        self._fill()
        return super().__iter__()

    def __len__(self):
        self._fill()
        return super().__len__()


class _NoBlocks:
    """What SessionState.__init__ reads from a Blocks, with no blocks to snapshot (see _LazyConfigValues)."""

    def __init__(self, blocks: gr.Blocks):
        self.default_config, self.blocks = blocks.default_config, {}


def _lazy_session_configs(demo: gr.Blocks) -> None:
    """Have new sessions of `demo` (only) build their block configs lazily; see _LazyConfigValues.

    Wraps gradio.state_holder.SessionState.__init__ once per process; other Blocks are untouched,
    and a Gradio whose SessionState no longer keeps `config_values` gets the original behaviour.
    """
    from gradio import state_holder

    demo._lazy_session_configs = True
    cls = state_holder.SessionState
    if getattr(cls.__init__, "_lazy_configs", False):
        return
    original = cls.__init__

    @functools.wraps(original)
    def __init__(self, blocks, *args, **kwargs):
        if not getattr(blocks, "_lazy_session_configs", False):
            return original(self, blocks, *args, **kwargs)
        original(self, _NoBlocks(blocks), *args, **kwargs)
        if isinstance(getattr(self, "config_values", None), dict) and not self.config_values:
            self.config_values = _LazyConfigValues(self, blocks)
        else:  # not the SessionState this was written for: build it as Gradio does
            original(self, blocks, *args, **kwargs)

    __init__._lazy_configs = True
    cls.__init__ = __init__


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


def _model_choices(registry: ModelRegistry) -> list[tuple[str, str]]:
    """(label, source) for the selector: human names with their held-out chrF where it is on disk."""
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


def _default_metadata() -> dict | None:
    try:
        return read_metadata(bundled_path("default"))
    except Exception:
        return None


def build_demo(handlers: Handlers, delete_cache: tuple[int, int] | None = DELETE_CACHE) -> gr.Blocks:
    """The page. The API is `translate`, `compare` and `translate_batch`; UI plumbing is private.

    Args:
        delete_cache: (every, older than) seconds: Gradio deletes uploads and results this old.
    """
    registry = handlers.registry
    with gr.Blocks(title=TITLE, delete_cache=delete_cache) as demo:
        gr.Markdown(f"# {TITLE}\n{model_views.intro(_default_metadata())}", elem_id="intro")
        notice = gr.Markdown(visible=False, elem_id="notice")
        link_notice = gr.Markdown(visible=False, elem_id="link-notice")
        trained = gr.Number(visible=False, elem_id="trained-length")
        with gr.Tabs():
            with gr.Tab("Translate", id="translate"):
                model = gr.Dropdown(_model_choices(registry), value=registry.active, label="Model", elem_id="model")
                with gr.Row(equal_height=False):
                    with gr.Column():
                        # One line: Enter translates (a sentence needs no line breaks).
                        english = gr.Textbox(label="English", placeholder="Type a short English sentence, e.g. I can help you.",
                                             lines=1, max_lines=1, elem_id="english",
                                             info="Press Enter or click Translate.")
                        counter = gr.HTML(elem_id="counter", container=False)
                        translate_btn = gr.Button("Translate", variant="primary", elem_id="translate-btn")
                    with gr.Column():
                        french = gr.Textbox(label="French", interactive=False, lines=2, buttons=["copy"], elem_id="french")
                        info = gr.Markdown(elem_id="summary")
                        capitalize_btn = gr.Button("Capitalise the first letter and translate again", visible=False,
                                                   size="sm", elem_id="capitalize-btn")
                        nbest = gr.Dataframe(label="Beam search n-best list", interactive=False, visible=False,
                                             elem_id="nbest")
                        reference = gr.Textbox(label="Reference French (human translations from the data)",
                                               interactive=False, lines=1, max_lines=6, elem_id="reference",
                                               placeholder="Shown for examples and random held-out sentences")
                with gr.Row():
                    random_btn = gr.Button("Random held-out sentence", elem_id="random-btn", size="sm")
                    link_btn = gr.Button("Copy link", elem_id="copy-link-btn", size="sm")
                # Shown only after a copy, so it never sits between the English and the French.
                with gr.Group(visible=False, elem_id="share-group") as share_group:
                    link = gr.Textbox(label="Link to this result", interactive=False, buttons=["copy"],
                                      elem_id="share-link")
                    link_status = gr.Markdown(elem_id="link-status")
                examples = gr.Examples(
                    [[e["english"], results.references_text(e["references"])] for e in handlers.sample.examples],
                    inputs=[english, reference], cache_examples=False, examples_per_page=len(handlers.sample.examples),
                    label="Held-out examples: the model never saw these sentences; the reference is a human translation",
                )

                show_probs = gr.Checkbox(label="Show the per-step view: probabilities, alternatives and attention",
                                         value=False, elem_id="show-probs")
                with gr.Column(visible=False, elem_id="probs") as probs:
                    step_view = gr.HTML(elem_id="step-view")
                    steps = gr.Dataframe(label="Every step and its top alternatives (⏎ = end of sentence, ␣ = space)",
                                         interactive=False, max_height=420, elem_id="steps")

                with gr.Accordion("Decoding and input options", open=False):
                    method = gr.Radio(["greedy", "beam", "sample"], value="greedy", label="Method", elem_id="method",
                                      info="greedy: the most likely character each step; beam: keep the best partial "
                                           "translations; sample: draw characters at random")
                    beam_size = unchecked(gr.Slider(1, validation.MAX_BEAM_SIZE, value=DEFAULT_OPTIONS.beam_size, step=1,
                                                    label="Beam width", visible=False, elem_id="beam-size"))
                    with gr.Row(visible=False) as sampling:
                        temperature = unchecked(gr.Slider(validation.MIN_TEMPERATURE, validation.MAX_TEMPERATURE,
                                                          value=DEFAULT_OPTIONS.temperature, step=0.1, label="Temperature",
                                                          info="below 1: safer; above 1: more adventurous"))
                        seed = unchecked(gr.Number(value=DEFAULT_OPTIONS.seed, precision=0, minimum=0,
                                                   maximum=validation.MAX_SEED, label="Seed", info="same seed, same output"))
                    top_k = unchecked(gr.Slider(1, validation.MAX_TOP_K, value=DEFAULT_OPTIONS.top_k, step=1,
                                                label="Alternatives shown per step (top-k)"))
                    drop_unknown = gr.Checkbox(label="Drop characters the model does not know instead of refusing",
                                               value=DEFAULT_OPTIONS.drop_unknown)
                    typography = gr.Checkbox(label="Replace curly quotes, dashes and non-breaking spaces by the plain "
                                                   "ones the model knows", value=DEFAULT_OPTIONS.typography)
                    fold_accents = gr.Checkbox(label="Remove accents the model does not know (Zürich → Zurich)",
                                               value=DEFAULT_OPTIONS.fold_accents)
                    capitalize = gr.Checkbox(label="Capitalise the first letter (the model saw only sentences that "
                                                   "start with a capital)", value=DEFAULT_OPTIONS.capitalize,
                                             elem_id="capitalize")

                with gr.Accordion("About the models", open=False):
                    gr.Markdown(model_views.about(registry.sources))
                    card = gr.Markdown("Loading the model…", elem_id="model-card")

            with gr.Tab("Compare models", id="compare"):
                gr.Markdown("One sentence through every model this Space offers, with greedy decoding and "
                            f"beam search (width {COMPARE_BEAM}). For held-out sentences the reference French and a "
                            "sentence-level chrF (0–100, higher is closer) are shown: this is where you see what "
                            "masking, more data and attention bought over the keras.io recipe.")
                with gr.Row():
                    compare_english = gr.Textbox(label="English", lines=1, max_lines=1, elem_id="compare-english",
                                                 placeholder="Type a sentence, or draw a held-out one", scale=4)
                with gr.Row():
                    compare_btn = gr.Button("Compare", variant="primary", elem_id="compare-btn")
                    compare_random = gr.Button("Random held-out sentence", elem_id="compare-random-btn")
                compare_out = gr.HTML(elem_id="compare-table")

            with gr.Tab("Translate a file", id="file"):
                gr.Markdown(
                    f"Upload a `.txt` file (one sentence per line) or a `.csv` file with a column named `english`: "
                    f"at most {batch_files.MAX_BATCH_ROWS} sentences and {batch_files.MAX_BATCH_BYTES // 1024} KB. "
                    f"You get a CSV (UTF-8 with a byte-order mark, so Excel shows accents) with your columns "
                    f"plus french, score and error; blank rows and rows the model cannot translate are reported "
                    f"and never stop the batch. Cells that start with =, +, -, @, a tab or a carriage return get a "
                    f"leading `'` so spreadsheets show them as text."
                )
                batch_in = unchecked(gr.File(label="Sentences (.txt or .csv)", file_types=[".txt", ".csv"],
                                             height=120, elem_id="batch-in"), _upload_path)
                batch_btn = gr.Button("Translate file", variant="primary", elem_id="batch-btn")
                batch_info = gr.Markdown(elem_id="batch-info")
                batch_preview = gr.Dataframe(label="First rows of the result", interactive=False,
                                             elem_id="batch-preview")
                batch_out = gr.File(label="Translations (CSV)", interactive=False, elem_id="batch-out")

        options = [method, beam_size, temperature, seed, top_k, drop_unknown, typography, fold_accents, capitalize]
        outputs = [french, step_view, steps, nbest, info, capitalize_btn]
        # One queue entry per request; the handler awaits the shared BatchingEngine, so there is no
        # reason to run one request at a time (Gradio's default concurrency of 1).
        page_event = dict(fn=handlers.translate_page, inputs=[english, model, *options], outputs=outputs,
                          concurrency_limit=None, concurrency_id="translate", api_visibility="private")
        translate_btn.click(**page_event)
        english.submit(**page_event)
        examples.load_input_event.then(**page_event)
        random_btn.click(handlers.random_heldout, None, [english, reference], api_visibility="private",
                         queue=False).then(**page_event)
        capitalize_btn.click(lambda: True, None, capitalize, api_visibility="private", queue=False).then(**page_event)
        # Typing a new sentence: the counter follows it, and an example's reference no longer applies.
        english.change(None, [english, trained], counter, js=COUNTER_JS % validation.MAX_INPUT_CHARS,
                       api_visibility="private")
        english.input(None, None, reference, js="() => ''", api_visibility="private")

        # The API: JSON in, JSON out, errors as errors.
        gr.api(handlers.translate, api_name="translate", concurrency_limit=None, concurrency_id="translate")
        gr.api(handlers.compare, api_name="compare", concurrency_limit=None, concurrency_id="translate")
        compare_event = dict(fn=handlers.compare_page, inputs=[compare_english], outputs=compare_out,
                             concurrency_limit=None, concurrency_id="translate", api_visibility="private")
        compare_btn.click(**compare_event)
        compare_english.submit(**compare_event)
        compare_random.click(handlers.random_heldout_compare, None, compare_english, api_visibility="private",
                             queue=False).then(**compare_event)

        batch_btn.click(handlers.clear_batch, None, [batch_out, batch_info, batch_preview], queue=False,
                        api_visibility="private").then(
            handlers.translate_batch, [batch_in, model, *options], [batch_out, batch_info, batch_preview],
            api_name="translate_batch", api_description="Translate a .txt/.csv file into a CSV", concurrency_limit=2)

        # Not on the page nor in the API docs: the load test reads the batch sizes the engine formed.
        stats = gr.JSON(visible=False)
        gr.Timer(active=False).tick(handlers.engine_stats, None, stats, api_name="engine_stats",
                                    api_visibility="undocumented", queue=False)
        defaults = dict(model=registry.active, method=DEFAULT_OPTIONS.method, beam=DEFAULT_OPTIONS.beam_size,
                        temperature=DEFAULT_OPTIONS.temperature, seed=DEFAULT_OPTIONS.seed, top_k=DEFAULT_OPTIONS.top_k,
                        drop_unknown=DEFAULT_OPTIONS.drop_unknown, typography=DEFAULT_OPTIONS.typography,
                        fold_accents=DEFAULT_OPTIONS.fold_accents, capitalize=DEFAULT_OPTIONS.capitalize)
        link_btn.click(None, [english, model, method, beam_size, temperature, seed, top_k, *options[5:]],
                       [link, link_status], js=COPY_LINK_JS % json.dumps(defaults), api_visibility="private").then(
            lambda: gr.update(visible=True), None, share_group, api_visibility="private", queue=False)
        show_probs.change(lambda on: gr.update(visible=on), show_probs, probs, api_visibility="private", queue=False)
        method.change(lambda m: (gr.update(visible=m == "beam"), gr.update(visible=m == "sample")),
                      method, [beam_size, sampling], api_visibility="private", queue=False)
        model.input(handlers.select_model, model, [model, card, notice, trained], api_visibility="private")

        # One load event, so the link's model and the active model never race for the selector.
        demo.load(handlers.open_page, None, [notice, card, trained, english, model, method, beam_size, temperature,
                                             seed, top_k, *options[5:], link_notice], api_visibility="private").then(
            handlers.translate_link, [english, model, *options], outputs, api_visibility="private",
        )
    demo.queue(max_size=1024)
    _lazy_session_configs(demo)
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

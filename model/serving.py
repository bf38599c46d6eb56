"""What the app needs besides widgets: the model allow-list, request batching, batch files, and views.

The Space (`app.py`) stays a thin layer of Gradio components; everything here is plain Python that
tests call directly, and this module never imports gradio.

Model choice. The operator names the sources the app may load (`--models` / `MODEL_SOURCES`) and
the one it starts with (`--model` / `MODEL_SOURCE`). The browser only ever sends one of those
names back, and `ModelRegistry.get` refuses anything else, so nobody can make the server open an
arbitrary path or repository. A source that fails to load (a missing directory, an unreachable
`hf://` repository) is recorded with its error and the app keeps serving the bundled default.

Batching. The engine translates a batch for little more than the cost of its longest sentence, so
concurrent single requests are worth translating together. `BatchingEngine` keeps one worker
thread: while it runs a batch, new requests wait in a list, and when it finishes it takes
everything waiting (up to `max_batch_size`) as the next batch. A lone request therefore never
waits for company, and under load batches grow by themselves. Unlike Gradio's `batch=True`, every
request gets its own result or its own error, so one bad sentence never fails its neighbours.

Batch files. A `.txt` file holds one sentence per line; a `.csv` file has a column named
`english`. Rows the model cannot translate get their error in the output CSV's `error` column;
only a file that cannot be read at all (wrong type, not UTF-8, too big, no `english` column) is
rejected as a whole.
"""

from __future__ import annotations

import collections
import concurrent.futures
import csv
import dataclasses
import io
import logging
import math
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from .checkpoint import BUNDLED, bundled_path
from .sources import SourceError, load_source
from .translator import METHODS, DecodeOptions, InputError, Translation, Translator
from .vocab import END

log = logging.getLogger(__name__)

DEFAULT_SOURCE = "default"  # the bundled checkpoint: always offered, and the fallback
MAX_INPUT_CHARS = 100  # a sentence, not a paragraph: the recipe trains on sentences of at most ~16 characters
MAX_BATCH_ROWS = 1000  # rows per uploaded file; ~1000 short sentences translate in a few seconds on 2 CPUs
MAX_BATCH_BYTES = 256 * 1024  # 1000 rows of 100 characters plus CSV overhead fit easily
BATCH_CHUNK = 64  # rows translated per engine call in a batch file: progress updates without slowing it down
MAX_BEAM_SIZE = 16  # beam search cost grows with the width; wider beams gain nothing on this model
MAX_TOP_K = 10  # alternatives per step in the probability view
MAX_TEMPERATURE = 5.0  # beyond this, sampling is uniform noise
END_MARK = "⏎"  # how the end-of-sentence token is shown in the per-step table

# Examples for the page: English sentences from the fra-eng data (line numbers of the 2019 fra.txt),
# all from the first 10,000 lines the bundled recipe model trains on, so they read as the model
# knows them. Stored here because the app must work on a fresh clone without the data file.
EXAMPLES = [
    "Go.",  # line 1
    "I feel sick.",  # line 2147
    "Tom is tall.",  # line 2810
    "Give it to me!",  # line 4951
    "She was lying.",  # line 6186
    "I can help you.",  # line 7589
    "Summer is over.",  # line 8789
    "Can you help me?",  # line 9800
]


# ---------------------------------------------------------------------------------------------
# Configuration: which sources the app offers


def parse_source_list(value: str | Iterable[str] | None) -> list[str]:
    """Split a comma-separated allow-list ("default, recipe,hf://me/model") into unique names, in order.

    Args:
        value: the `--models` / `MODEL_SOURCES` string, or an already split list; None gives [].
    """
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        item = item.strip()
        if item and item not in out:
            out.append(item)
    return out


def bundled_sources() -> list[str]:
    """The bundled checkpoint names whose directories exist, one name per directory ('default' first)."""
    names, seen = [], set()
    for name in [DEFAULT_SOURCE, *sorted(BUNDLED)]:
        path = bundled_path(name).resolve()
        if name in BUNDLED and path not in seen and path.is_dir():
            seen.add(path)
            names.append(name)
    return names


def allowed_sources(active: str | None, extra: Iterable[str] = ()) -> list[str]:
    """The allow-list shown in the selector: the bundled checkpoints, the active source, then the extras."""
    return parse_source_list([DEFAULT_SOURCE, *bundled_sources(), *([active] if active else []), *extra])


# ---------------------------------------------------------------------------------------------
# Loading models, with a recorded failure instead of a crash


class ModelRegistry:
    """Loads the allowed sources on demand, remembers failures, and never loads anything else.

    Args:
        sources: the allow-list; `active` and `fallback` are added if missing.
        active: the source the app starts with.
        fallback: served when `active` cannot be loaded (the bundled default).
        loader: turns a source string into a Translator (`model.load_source`).
    """

    def __init__(self, sources: Sequence[str], active: str = DEFAULT_SOURCE, fallback: str = DEFAULT_SOURCE,
                 loader: Callable[[str], Translator] = load_source):
        self.sources = parse_source_list([active, *sources, fallback])
        self.requested = active
        self.active = active
        self.fallback = fallback
        self._loader = loader
        self._models: dict[str, Translator] = {}
        self.failures: dict[str, str] = {}
        self._locks = {s: threading.Lock() for s in self.sources}

    def check_allowed(self, source: str) -> str:
        if not isinstance(source, str) or source not in self.sources:
            raise SourceError(f"model {source!r} is not offered by this app; choose one of: {', '.join(self.sources)}")
        return source

    def get(self, source: str | None = None) -> Translator:
        """The loaded Translator for an allowed source (loading it on first use).

        Raises:
            SourceError: the source is not on the allow-list, or it failed to load (now or before).
        """
        source = self.check_allowed(self.active if source is None else source)
        model = self._models.get(source)
        if model is not None:
            return model
        with self._locks[source]:
            if source in self._models:
                return self._models[source]
            if source in self.failures:
                raise SourceError(f"model {source!r} could not be loaded: {self.failures[source]}")
            try:
                model = self._loader(source)
            except Exception as err:  # SourceError, or anything a damaged download throws
                message = str(err) or type(err).__name__
                self.failures[source] = message
                log.warning("model source %r failed to load: %s", source, message)
                raise SourceError(f"model {source!r} could not be loaded: {message}") from None
            self._models[source] = model
            return model

    def is_loaded(self, source: str) -> bool:
        return source in self._models

    def warm_up(self, all_sources: bool = True) -> Translator | None:
        """Load the active source, falling back to the default if it fails; then the others.

        Returns the Translator now active, or None if not even the fallback loads.
        """
        translator = None
        try:
            translator = self.get(self.active)
        except SourceError:
            if self.active != self.fallback:
                self.active = self.fallback
                try:
                    translator = self.get(self.fallback)
                except SourceError:
                    pass
        if all_sources:
            for source in self.sources:
                try:
                    self.get(source)
                except SourceError:
                    pass
        return translator

    def working_sources(self) -> list[str]:
        """Allowed sources that have not failed (loaded or not yet tried)."""
        return [s for s in self.sources if s not in self.failures]

    def notice(self) -> str:
        """Markdown telling the visitor what failed to load and what is served instead; '' if all is well."""
        if not self.failures:
            return ""
        lines = [f"- `{source}`: {message}" for source, message in self.failures.items()]
        head = "**Some configured models could not be loaded.**"
        if self.requested in self.failures and self.active != self.requested:
            head += f" Serving `{self.active}` instead of `{self.requested}`."
        return head + "\n" + "\n".join(lines)


def describe_model(source: str, translator: Translator | None) -> str:
    """Markdown card of a model: training data, epochs and held-out scores from its metadata."""
    if translator is None:
        return f"**Model `{source}`** is not loaded."
    meta = translator.metadata or {}
    train = meta.get("train_config") or {}
    data = meta.get("data") or {}
    vocab = translator.vocab
    lines = [f"**Model `{source}`** — recipe `{meta.get('recipe', '?')}`"]
    source_file = data.get("source")
    if source_file:
        pairs = data.get("num_training_pairs", train.get("num_samples", "?"))
        sha = str(data.get("sha256", ""))[:12]
        lines.append(f"- Training data: {pairs} pairs from `{Path(str(source_file)).name}`" + (f" (sha256 {sha}…)" if sha else ""))
    epochs = meta.get("epochs_run", train.get("epochs"))
    if epochs is not None:
        extra = f" of {train['epochs']} planned" if "epochs" in train and train["epochs"] != epochs else ""
        lines.append(f"- Epochs: {epochs}{extra}; latent_dim {train.get('latent_dim', translator.config.latent_dim)}")
    lines.append(
        f"- Vocabulary: {vocab.num_encoder_tokens} English / {vocab.num_decoder_tokens} French characters; "
        f"trained on inputs up to {vocab.max_encoder_seq_length} characters"
    )
    evaluation = meta.get("evaluation") or {}
    scored = {k: v for k, v in evaluation.items() if isinstance(v, dict)}
    if scored:
        for name, figures in scored.items():
            shown = ", ".join(f"{k} {v}" for k, v in figures.items() if k in ("chrf", "chrf++", "bleu", "exact_match"))
            lines.append(f"- Held-out {name}: {shown}")
    else:
        lines.append("- Held-out scores: not recorded for this checkpoint")
    if meta.get("command"):
        lines.append(f"- Built with: `{meta['command']}`")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Requests: checking what the page or an API client sent


def check_text(text: Any, limit: int = MAX_INPUT_CHARS) -> str:
    """The server-side twin of the textbox's character limit; raises InputError with the numbers."""
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise InputError(f"expected text, got {type(text).__name__}")
    if len(text) > limit:
        raise InputError(f"the input is {len(text)} characters long; the limit is {limit}. Shorten it to one sentence.")
    return text


def decode_options(method: str = "greedy", beam_size: float = 4, temperature: float = 1.0, seed: float = 0,
                   top_k: float = 5, drop_unknown: bool = False) -> DecodeOptions:
    """DecodeOptions from widget values, with bounds a public server needs; raises InputError."""
    if method not in METHODS:
        raise InputError(f"decoding method must be one of {', '.join(METHODS)}, got {method!r}")

    def whole(name: str, value: Any, low: int, high: int) -> int:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InputError(f"{name} must be a whole number, got {value!r}") from None
        if not math.isfinite(number) or number != int(number) or not low <= number <= high:
            raise InputError(f"{name} must be a whole number from {low} to {high}, got {value!r}")
        return int(number)

    try:
        temperature = float(temperature)
    except (TypeError, ValueError):
        raise InputError(f"temperature must be a number, got {temperature!r}") from None
    if not (0 < temperature <= MAX_TEMPERATURE):
        raise InputError(f"temperature must be above 0 and at most {MAX_TEMPERATURE}, got {temperature}")
    return DecodeOptions(
        method=method, beam_size=whole("beam width", beam_size, 1, MAX_BEAM_SIZE),
        temperature=temperature, seed=whole("seed", seed, 0, 2**32 - 1),
        top_k=whole("top-k", top_k, 1, MAX_TOP_K), drop_unknown=bool(drop_unknown),
    )


# ---------------------------------------------------------------------------------------------
# Batching concurrent single requests


@dataclass
class _Request:
    translator: Translator
    text: str
    options: DecodeOptions
    future: concurrent.futures.Future = field(default_factory=concurrent.futures.Future)


class BatchingEngine:
    """Runs concurrent `submit` calls through `Translator.translate_batch` together (see module doc).

    Args:
        max_batch_size: most requests per engine call.
    """

    def __init__(self, max_batch_size: int = 64):
        self.max_batch_size = max_batch_size
        self._pending: collections.deque[_Request] = collections.deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self.batch_sizes: collections.Counter[int] = collections.Counter()  # for the load test and tests

    def submit(self, translator: Translator, text: str, options: DecodeOptions) -> concurrent.futures.Future:
        """Queue one sentence; the future gives a Translation or raises its InputError."""
        request = _Request(translator, text, options)
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="translate-batcher", daemon=True)
                self._thread.start()
            self._pending.append(request)
            self._cond.notify()
        return request.future

    def translate(self, translator: Translator, text: str, options: DecodeOptions) -> Translation:
        """Blocking form of `submit`."""
        return self.submit(translator, text, options).result()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    self._cond.wait()
                batch = [self._pending.popleft() for _ in range(min(self.max_batch_size, len(self._pending)))]
            self.batch_sizes[len(batch)] += 1
            # A batch may mix models and options: each (model, options) group is one engine call.
            groups: dict[tuple, list[_Request]] = {}
            for request in batch:
                key = (id(request.translator), dataclasses.astuple(request.options))
                groups.setdefault(key, []).append(request)
            for group in groups.values():
                try:
                    results = group[0].translator.translate_batch([r.text for r in group], group[0].options)
                except Exception as err:  # never leave a caller waiting forever
                    log.exception("batched translation failed")
                    results = [err] * len(group)
                for request, result in zip(group, results):
                    if isinstance(result, BaseException):
                        request.future.set_exception(result)
                    else:
                        request.future.set_result(result)


# ---------------------------------------------------------------------------------------------
# Views of a Translation (plain data; the app hands them to Gradio components)


def visible_steps(translation: Translation) -> list:
    """The steps that produced the visible French characters (the END step and trailing pads dropped)."""
    return translation.steps[: len(translation.translation)]


def highlight(translation: Translation) -> list[tuple[str, float]]:
    """(character, hesitation) pairs, hesitation = 1 - probability in [0, 1]: the redder, the less sure."""
    return [(step.char, round(1.0 - step.prob, 4)) for step in visible_steps(translation)]


def _shown(char: str) -> str:
    return END_MARK if char == END else ("␣" if char == " " else char)


def steps_table(translation: Translation, top_k: int) -> tuple[list[str], list[list[Any]]]:
    """Headers and rows: one row per decoding step with the chosen character, its probability and the
    top-k alternatives as 'c 0.12'. The END step is included (shown as ⏎): it says how sure the model
    was that the sentence was over."""
    headers = ["step", "chosen", "p"] + [f"#{i + 1}" for i in range(top_k)]
    rows = []
    for number, step in enumerate(translation.steps, start=1):
        alternatives = [f"{_shown(c)} {p:.3f}" for c, p in step.top[:top_k]]
        rows.append([number, _shown(step.char), round(step.prob, 4)] + alternatives + [""] * (top_k - len(alternatives)))
    return headers, rows


def nbest_table(translation: Translation) -> tuple[list[str], list[list[Any]]]:
    """Beam search's n-best list: rank, translation, log-probability."""
    return ["rank", "translation", "log-prob"], [
        [rank, entry["translation"], round(float(entry["score"]), 4)] for rank, entry in enumerate(translation.nbest, start=1)
    ]


def summary(translation: Translation, source: str) -> str:
    """A short Markdown line under the result: model, score and any warnings."""
    steps = max(len(translation.steps), 1)
    text = (f"Model `{source}` · log-probability {translation.score:.3f} "
            f"(mean per character {translation.score / steps:.3f})")
    warnings = list(translation.warnings)
    if not translation.translation:
        warnings.append("the model wrote no characters for this input (it emitted only spaces or the end mark)")
    if warnings:
        text += "\n\n" + "\n".join(f"⚠️ {w}" for w in warnings)
    return text


# ---------------------------------------------------------------------------------------------
# Batch files


class BatchFileError(ValueError):
    """An uploaded file that cannot be read as a whole; the message says why and what is accepted."""


@dataclass
class BatchRow:
    row: int  # 1-based line (.txt) or data row (.csv) number
    english: str
    french: str = ""
    score: float | None = None
    error: str = ""


def read_batch_file(path: str | os.PathLike, max_rows: int = MAX_BATCH_ROWS, max_bytes: int = MAX_BATCH_BYTES) -> list[BatchRow]:
    """Read a .txt (one sentence per line) or .csv (column `english`) file into rows to translate.

    Blank lines are skipped. Raises BatchFileError for a file that cannot be used at all.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".txt", ".csv"):
        raise BatchFileError(f"{path.name}: upload a .txt file (one sentence per line) or a .csv file with a column 'english'")
    size = path.stat().st_size
    if size > max_bytes:
        raise BatchFileError(f"{path.name} is {size:,} bytes; the limit is {max_bytes:,} bytes ({max_rows} sentences)")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise BatchFileError(f"{path.name}: not UTF-8 text (byte {err.start}); save it as UTF-8 and upload again") from None
    rows: list[BatchRow] = []
    if suffix == ".txt":
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                rows.append(BatchRow(number, line))
    else:
        try:
            reader = csv.DictReader(io.StringIO(text, newline=""))
            fields = [f.strip().lower() for f in (reader.fieldnames or [])]
            if "english" not in fields:
                raise BatchFileError(f"{path.name}: no column named 'english' (found: {', '.join(reader.fieldnames or []) or 'nothing'})")
            column = (reader.fieldnames or [])[fields.index("english")]
            for number, record in enumerate(reader, start=1):
                value = record.get(column) or ""
                if value.strip():
                    rows.append(BatchRow(number, value))
        except csv.Error as err:
            raise BatchFileError(f"{path.name}: not a readable CSV file ({err})") from None
    if not rows:
        raise BatchFileError(f"{path.name}: no sentences found")
    if len(rows) > max_rows:
        raise BatchFileError(f"{path.name} has {len(rows)} sentences; the limit is {max_rows} per file")
    return rows


def translate_rows(translator: Translator, rows: list[BatchRow], options: DecodeOptions,
                   progress: Callable[[int, int], None] | None = None, chunk: int = BATCH_CHUNK) -> list[BatchRow]:
    """Translate rows in chunks; a row the model cannot take gets its message in `error`.

    Args:
        progress: called as progress(done, total) after each chunk.
    """
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        texts = []
        for row in part:
            try:
                texts.append(check_text(row.english))
            except InputError as err:
                row.error = str(err)
                texts.append("")  # translate_batch reports it as empty; the first error is kept
        for row, result in zip(part, translator.translate_batch(texts, options)):
            if row.error:
                continue
            if isinstance(result, InputError):
                row.error = str(result)
            else:
                row.french, row.score = result.translation, round(result.score, 4)
                if result.warnings:
                    row.error = "warning: " + "; ".join(result.warnings)
        if progress:
            progress(min(start + chunk, len(rows)), len(rows))
    return rows


def write_results_csv(rows: Sequence[BatchRow], path: str | os.PathLike) -> Path:
    """Write row, english, french, score, error as UTF-8 CSV (opens in spreadsheets as is)."""
    path = Path(path)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["row", "english", "french", "score", "error"])
        for row in rows:
            writer.writerow([row.row, row.english, row.french, "" if row.score is None else row.score, row.error])
    return path


def batch_summary(rows: Sequence[BatchRow], filename: str) -> str:
    bad = [r for r in rows if r.error and not r.error.startswith("warning:")]
    text = f"Translated {len(rows) - len(bad)} of {len(rows)} sentences from `{filename}`."
    if bad:
        shown = "\n".join(f"- row {r.row}: {r.error}" for r in bad[:5])
        more = f"\n- … and {len(bad) - 5} more (see the `error` column)" if len(bad) > 5 else ""
        text += f" {len(bad)} could not be translated:\n{shown}{more}"
    return text

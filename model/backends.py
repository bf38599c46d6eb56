"""Which engine computes a translation, chosen in one place: the compiled kernels or the NumPy reference.

A step engine (`StepEngine`) is what the decoding strategies drive: `start` encodes a batch,
`decode_step` advances every row by one character, `run_greedy` runs greedy decoding to the end
(a compiled engine does it in one call and returns `decoding.Decoded` directly), `has_attention`
says whether steps return attention weights, and `threads` is the thread setting the backend runs
under. Two backends implement it over the same weights (model/inference.py's layout):

  numpy  `NumpyEngine`, the NumPy step of model/inference.py: the reference, and the fallback.
  numba  `CompiledEngine`, model/kernels.py: each step one compiled call for batches of fewer than
         GEMM_FROM rows (batch 1, beam search), and BLAS products with compiled element-wise
         kernels for bigger batches; greedy decoding of a small batch is one compiled call.
         A model whose decoder weights outgrow a core's L2 cache runs a small batch's steps split
         across two cores (model/split_kernels.py, the same floats) while it is the process's only
         translation (`Translating`): a visitor alone gets both cores, and under load every
         request keeps one of its own.

Which one serves is decided here and nowhere else, by the CL_S2S_ENGINE environment variable:

  auto (unset)  numba when it imports and compiles, else numpy. The kernels load in a background
                thread from the moment a model is loaded; until they are ready (from numba's on-disk
                cache, under a second; the very first compilation takes seconds)
                the NumPy engine serves, so compiling never delays start-up or a request (the
                loader only shares the GIL, see LOADER_SWITCH_INTERVAL_S). A batch runs wholly on
                one engine; the two agree to float32 rounding.
  numba         the compiled kernels, waiting for them on first use (an error if numba fails):
                every translation, the first included, comes from the same engine (evaluation runs).
  numpy         the NumPy engine only; numba is never imported.

A program may defer the loading (`defer_loading`) until it will pay, and say when (`allow_loading`):
the CLI does, since loading (about 0.6 s of CPU, mostly importing numba, much of it holding the
GIL) costs a short run more than the kernels save; see model/__main__.py. Deferral applies to auto
only: `wait()`, and CL_S2S_ENGINE=numba, load at once.

The kernels are cached beside model/kernels.py (numba's __pycache__); where the package is read-only
they are cached under $XDG_CACHE_HOME (~/.cache) or the temporary directory instead (`cache_dir`),
unless NUMBA_CACHE_DIR says where.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, ContextManager, Protocol, Sequence

import numpy as np

from . import decoding
from .inference import AttentionWeights, Seq2SeqWeights, blas_threads, matmul, run_lstm

log = logging.getLogger(__name__)

ENV = "CL_S2S_ENGINE"
CHOICES = ("auto", "numba", "numpy")
# From this many rows a compiled engine multiplies with BLAS (NumPy's GEMM reuses each weight
# across rows) and keeps only the element-wise work compiled; below it every row is computed by the
# compiled kernels alone (matrix-vector products, rows in tiles of kernels.ROW_TILE sharing each
# weight row). The same split as inference.GEMV_BELOW, to be re-measured on a quiet machine
# (benchmarks/engine_speed.py).
GEMM_FROM = 8
# Python's thread switch interval while the kernels load (its default is 5 ms). Loading is mostly
# Python code holding the GIL (importing numba; type inference on a first compilation), and a thread
# that serves a request meanwhile, after each blocking call (a socket, stdout), waits up to one
# interval to get the GIL back; 1 ms bounds that wait. Restored once the kernels are loaded.
LOADER_SWITCH_INTERVAL_S = 0.001
# The loader thread's nice value (Linux: per thread; 0 is normal, 19 the lowest priority). It competes
# for the cores with the threads that translate meanwhile, and where those are busy (the CLI on a
# file: batches of 256 on two threads) they should have them: the kernels save nothing at that batch
# size, and loading them costs about 0.6 s of CPU. On a 2-core machine running a training job, the
# CLI's 3,000 lines took 2.14 s instead of 2.66 s (median of 8, interleaved). On an idle core (a
# server starting, a terminal) the loader runs as fast as before.
LOADER_NICE = 10
# A core's L2 cache where Linux does not say (/sys/devices/system/cpu/cpu0/cache). The decoder's
# weights are read once a step; beyond L2 a core streams them from L3, and split across two cores
# each half stays in its core's L2 (`large`, 3.1 MB a step: 108 against 55 microseconds a step,
# benchmarks/engine_speed.py). Within L2 the split saves too little to pay for its two parallel
# regions a step (`attention`, 1.4 MB: 35 against 34).
DEFAULT_L2_BYTES = 2 * 1024 * 1024


def l2_cache_bytes(cpu: Path = Path("/sys/devices/system/cpu/cpu0/cache")) -> int:
    """The L2 cache of one core, as Linux reports it, else DEFAULT_L2_BYTES."""
    try:
        for index in cpu.glob("index*"):
            if (index / "level").read_text().strip() == "2":
                size = (index / "size").read_text().strip().upper()
                scale = {"K": 1024, "M": 1024 * 1024}.get(size[-1:], 1)
                return int(size.rstrip("KM")) * scale
    except (OSError, ValueError):
        pass
    return DEFAULT_L2_BYTES


class Translating:
    """Context manager around each batch a compiled engine encodes and decodes (`StepEngine.threads`):
    BLAS on inference.BLAS_THREADS threads, and a count of the batches running in this process, so
    that a batch can take a second core for its steps only while no other batch runs.

    A slice of a batch split across threads (Translator._decode, `slice()`) never takes the second
    core, even once the other slices are done. The two-core kernels run on OpenMP, which gives every
    thread that calls them a team of its own; with two teams on two cores GNU OpenMP stops spinning
    between parallel regions, and each of a step's two regions then waits for a thread to wake: a
    lone sentence's greedy decoding took 15.5 ms instead of 4.2 ms, in every thread, for the rest of
    the process, once one batch of 256 had been decoded in slices (benchmarks/paragraphs.py's trial).
    So only threads that decode whole batches (the app's BatchingEngine worker, the CLI's main thread)
    ever call them."""

    def __init__(self):
        self._lock = threading.Lock()
        self.running = 0
        self._local = threading.local()

    @contextlib.contextmanager
    def slice(self):
        """Around a slice of a batch decoded on several threads: no second core for it."""
        self._local.sliced = True
        try:
            yield
        finally:
            self._local.sliced = False

    def __enter__(self) -> None:
        blas_threads.__enter__()
        with self._lock:
            self.running += 1

    def __exit__(self, *exc) -> None:
        with self._lock:
            self.running -= 1

    def alone(self) -> bool:
        """Whether the calling thread's batch is the only one running, and no slice of a bigger one."""
        return self.running == 1 and not getattr(self._local, "sliced", False)


translating = Translating()


class StepEngine(Protocol):
    """What the decoding strategies and the Translator need from an engine (see the module doc)."""

    backend: str  # "numpy" or "numba"
    has_attention: bool  # steps return attention weights as a fourth value
    threads: ContextManager  # entered around a batch's encoding and decoding

    def start(self, token_ids: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple]:
        """(h, c, context) to decode a batch of input id rows from."""

    def decode_step(self, token_ids: np.ndarray, h: np.ndarray, c: np.ndarray, *context) -> tuple:
        """(probs, h, c) or, with attention, (probs, h, c, attention weights) after feeding token_ids.

        An engine whose step sets `indexes_context` also takes `rows=` (see decoding.indexes_context)."""

    def run_greedy(self, h, c, start_id: int, end_id: int, max_steps: int, context: tuple = (),
                   prefixes: Sequence[Sequence[int]] | None = None) -> decoding.Decoded:
        """Greedy decoding, as `decoding.run_greedy` over this engine's step."""


class NumpyEngine:
    """The reference engine: the NumPy step of model/inference.py, strategies from model/decoding.py."""

    backend = "numpy"
    threads = blas_threads  # BLAS on one thread while it runs (inference.BLAS_THREADS)

    def __init__(self, weights: Seq2SeqWeights | AttentionWeights):
        self.weights = weights
        self.has_attention = weights.has_attention

    def start(self, token_ids, lengths):
        return self.weights.start(token_ids, lengths)

    def decode_step(self, token_ids, h, c, *context):
        return self.weights.decode_step(token_ids, h, c, *context)

    def run_greedy(self, h, c, start_id, end_id, max_steps, context=(), prefixes=None) -> decoding.Decoded:
        return decoding.run_greedy(self.decode_step, h, c, start_id, end_id, max_steps, context, prefixes)


def _f32(a) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)


class CompiledEngine:
    """The same engine in compiled kernels (model/kernels.py); its context holds the keys transposed.

    The attention context is (projected (rows, time, A), keys (rows, units, time), padding bias
    (rows, time)): keys laid out by unit, so that a step's scores are one pass over contiguous rows.
    """

    backend = "numba"
    threads = translating  # BLAS (the big-batch path, the encoder's projections), and who else runs

    def __init__(self, weights: Seq2SeqWeights | AttentionWeights, kernels, split_kernels=None):
        self.weights = weights
        self.kernels = kernels
        self.has_attention = weights.has_attention
        decoder = weights.decoder.fused
        if self.has_attention:
            combine_h, combine_bias = _f32(weights._combine_parts[1]), _f32(weights.combine_bias)
        else:
            combine_h, combine_bias = np.empty((0, 0), np.float32), np.empty(0, np.float32)
        self._weights = (decoder.table, decoder.recurrent_kernel, combine_h, combine_bias,
                         _f32(weights.dense_kernel), _f32(weights.dense_bias))
        self._no_context = (np.empty((0, 0, 0), np.float32), np.empty((0, 0, 0), np.float32),
                            np.empty((0, 0), np.float32))
        self._no_weights = np.empty((0, 0), np.float32)
        self._no_rows = np.empty(0, np.int64)
        # model/split_kernels.py where it loaded; used where the decoder's weights outgrow L2 (see
        # DEFAULT_L2_BYTES): then a small batch running alone has its decoder steps split and its
        # bidirectional encoder's two directions side by side, on two cores.
        self.split = split_kernels
        self._split_weights = None
        step_bytes = sum(a.nbytes for a in self._weights[1:])  # all but the table: one row of it a step
        if (split_kernels is not None and split_kernels.can_split(decoder.units, combine_h.shape[1])
                and step_bytes > l2_cache_bytes()):
            self._split_weights = split_kernels.split_weights(*self._weights)

    @property
    def splits_steps(self) -> bool:
        """Whether a small batch running alone has its decoder steps split across two cores."""
        return self._split_weights is not None

    def _two_cores(self, rows: int) -> bool:
        """Whether a batch of `rows` rows gets both cores: a model beyond L2, a small batch, and no
        other batch running in the process."""
        return self._split_weights is not None and rows < GEMM_FROM and translating.alone()

    def _splits(self, rows: int, context: tuple) -> bool:
        """Whether a decoder step of `rows` rows over `context` runs on the split kernels: `_two_cores`,
        and (with attention) a context `start` made for them. A batch that started big has none, and
        stays on one core as its finished rows leave it."""
        return self._two_cores(rows) and (not self.has_attention or len(context) == 4)

    # --- the encoder ------------------------------------------------------------------------------

    def start(self, token_ids, lengths):
        if self.has_attention:
            h, c, context = self.weights.start(token_ids, lengths, run=self._run_lstm, run_pair=self._run_pair)
        else:
            h, c, context = self.weights.start(token_ids, lengths, run=self._run_lstm)
        if not context:
            return h, c, ()
        projected, keys, bias = context
        context = (_f32(projected), _f32(keys.transpose(0, 2, 1)), _f32(bias))
        if self._split_weights is not None and h.shape[0] < GEMM_FROM:  # the split kernels' projections too
            context += (self.split.split_projected(context[0]),)
        return h, c, context

    def _run_lstm(self, lstm, token_ids, lengths, backwards=False, outputs=True, features=None):
        """inference.run_lstm's contract: compiled per row for small batches, BLAS + compiled cell above."""
        lengths = np.ascontiguousarray(lengths, dtype=np.int64)
        batch, time = (np.shape(token_ids) if features is None else features.shape[:2])
        if batch >= GEMM_FROM:
            return run_lstm(lstm, token_ids, lengths, backwards, outputs, features, cell=self._cell)
        inputs, out, h, c = self._lstm_arrays(lstm, token_ids, features, batch, time, outputs)
        self.kernels.lstm_rows(inputs, lengths, lstm.fused.recurrent_kernel, backwards, out, h, c)
        return (out if outputs else None), h, c

    @staticmethod
    def _lstm_arrays(lstm, token_ids, features, batch: int, time: int, outputs: bool = True) -> tuple:
        """kernels.lstm_rows' inputs (time, batch, 4u) and its outputs, allocated: (inputs, out, h, c)."""
        fused = lstm.fused
        if features is None:
            inputs = fused.table[np.asarray(token_ids).T]  # (time, batch, 4u)
        else:
            kernel_in, bias_in = lstm.fused_kernel
            rows = np.ascontiguousarray(features.transpose(1, 0, 2)).reshape(time * batch, -1)
            inputs = (rows @ kernel_in).reshape(time, batch, -1)
            inputs += bias_in
        u = fused.units
        out = np.empty((batch, time, u), np.float32) if outputs else np.empty((0, 0, 0), np.float32)
        return _f32(inputs), out, np.empty((batch, u), np.float32), np.empty((batch, u), np.float32)

    def _run_pair(self, forward, backward, token_ids, lengths, features):
        """A bidirectional layer's two LSTMs (inference.AttentionWeights.encode's `run_pair`): side by
        side on two cores (split_kernels.lstm_pair, each direction as lstm_rows computes it) where the
        decoder's steps are split too (`_splits`), else one after the other."""
        batch, time = (np.shape(token_ids) if features is None else features.shape[:2])
        if not self._two_cores(batch):  # as the decoder's steps: within L2 a second core saves too little
            return (self._run_lstm(forward, token_ids, lengths, features=features),
                    self._run_lstm(backward, token_ids, lengths, backwards=True, features=features))
        lengths = np.ascontiguousarray(lengths, dtype=np.int64)
        ahead = self._lstm_arrays(forward, token_ids, features, batch, time)
        behind = self._lstm_arrays(backward, token_ids, features, batch, time)
        self.split.lstm_pair(ahead[0], behind[0], lengths, forward.fused.recurrent_kernel,
                             backward.fused.recurrent_kernel, *ahead[1:], *behind[1:])
        return ahead[1:], behind[1:]

    def _cell(self, z, c, u, table=None, tokens=None):
        """inference._cell's contract (c None: zero state; table: add table[tokens] first), compiled."""
        h_out, c_out = np.empty((z.shape[0], u), np.float32), np.empty((z.shape[0], u), np.float32)
        c = np.zeros_like(h_out) if c is None else _f32(c)
        if table is None:
            self.kernels.lstm_cell(_f32(z), c, h_out, c_out)
        else:
            self.kernels.lstm_cell_tokens(_f32(z), _f32(table), np.ascontiguousarray(tokens), c, h_out, c_out)
        return h_out, c_out

    # --- the decoder ------------------------------------------------------------------------------

    def decode_step(self, token_ids, h, c, *context, rows=None):
        """One step; `rows` (decoding.indexes_context): row r reads context row rows[r], which must
        be a row of the context (default: row r)."""
        tokens = np.ascontiguousarray(token_ids, dtype=np.int64)
        h, c = _f32(h), _f32(c)
        count = tokens.shape[0]
        at = self._no_rows if not context else (
            np.arange(count, dtype=np.int64) if rows is None else self._context_rows(rows, count, context))
        if count >= GEMM_FROM:
            return self._blas_step(tokens, h, c, context, at)
        table, kernel, combine_h, combine_bias, dense_kernel, dense_bias = self._weights
        probs = np.empty((count, dense_bias.shape[0]), np.float32)
        h_out, c_out = np.empty_like(h), np.empty_like(c)
        split = self._splits(count, context)
        kernels, model = (self.split, self._split_weights) if split else (self.kernels, self._weights)
        if self.has_attention:
            weights = np.empty((count, context[2].shape[1]), np.float32)
            kernels.step_rows(tokens, h, c, *self._context(context, split), at, *model, probs, h_out, c_out, weights)
            return probs, h_out, c_out, weights
        kernels.step_rows(tokens, h, c, *self._context(context, split), at, *model, probs, h_out, c_out,
                          self._no_weights)
        return probs, h_out, c_out

    decode_step.indexes_context = True  # decoding passes the whole context and `rows`: no copies

    @staticmethod
    def _context_rows(rows, count: int, context: tuple) -> np.ndarray:
        """`rows` as the kernels' index, checked: they read it without bounds checks."""
        at = np.ascontiguousarray(rows, dtype=np.int64)
        available = context[0].shape[0]
        if at.shape != (count,) or (count and not 0 <= at.min() <= at.max() < available):
            raise IndexError(f"rows= must give each of the step's {count} rows a context row in 0..{available - 1}, "
                             f"got {np.asarray(rows).tolist()}")
        return at

    def _context(self, context: tuple, split: bool) -> tuple:
        """The context arrays a decoder kernel takes: start's, with the split projections for a split kernel."""
        if not context:
            return (self.split.NO_CONTEXT if split else self._no_context)
        return (context[3], *context[1:3]) if split else context[:3]

    def _blas_step(self, tokens, h, c, context, at):
        table, kernel, combine_h, combine_bias, dense_kernel, dense_bias = self._weights
        z = matmul(h, kernel)
        h_out, c_out = np.empty_like(h), np.empty_like(c)
        self.kernels.lstm_cell_tokens(z, table, tokens, c, h_out, c_out)
        if not self.has_attention:
            logits = matmul(h_out, dense_kernel)
            self.kernels.softmax_rows(logits, dense_bias)
            return logits, h_out, c_out
        projected, keys, bias = context[:3]
        attentional = matmul(h_out, combine_h)
        weights = np.empty((tokens.shape[0], bias.shape[1]), np.float32)
        self.kernels.attend_rows(h_out, projected, keys, bias, at, attentional, combine_bias, weights)
        logits = matmul(attentional, dense_kernel)
        self.kernels.softmax_rows(logits, dense_bias)
        return logits, h_out, c_out, weights

    def run_greedy(self, h, c, start_id, end_id, max_steps, context=(), prefixes=None) -> decoding.Decoded:
        """Greedy decoding: for fewer than GEMM_FROM rows the whole loop is one compiled call (with the
        step's own per-row arithmetic, so its floats are `decoding.run_greedy`'s over `decode_step`)."""
        batch = h.shape[0]
        if batch >= GEMM_FROM or max_steps < 1:
            return decoding.run_greedy(self.decode_step, h, c, start_id, end_id, max_steps, context, prefixes)
        forced = prefixes is not None and any(len(p) for p in prefixes)
        if forced:
            ids, forced_lengths = decoding.padded(prefixes)
        else:
            ids, forced_lengths = np.zeros((batch, 0), np.int64), np.zeros(batch, np.int64)
        split = self._splits(batch, context)
        kernels, model = (self.split, self._split_weights) if split else (self.kernels, self._weights)
        flat, flat_weights, offsets, tokens, positions, probs, lengths = kernels.greedy(
            _f32(h), _f32(c), *self._context(context, split), *model, start_id, end_id, max_steps, ids, forced_lengths)
        return decoding.Decoded.from_flat(flat, flat_weights if self.has_attention else None, offsets, tokens,
                                          positions, lengths, probs,
                                          given=np.minimum(forced_lengths, lengths) if forced else None)


# --- choosing, loading ------------------------------------------------------------------------------

_lock = threading.Lock()
_loader: threading.Thread | None = None
_loaded = threading.Event()
_kernels: Any = None
_split_kernels: Any = None  # model/split_kernels.py where a threadsafe threading layer loads
_error: BaseException | None = None
_split_error: BaseException | None = None
_cache_dir: str | None = None
_deferred = False  # auto: start_loading() waits for allow_loading() (defer_loading)


def requested() -> str:
    """CL_S2S_ENGINE: "auto" (also when unset or empty), "numba" or "numpy"."""
    value = os.environ.get(ENV, "").strip().lower() or "auto"
    if value not in CHOICES:
        raise ValueError(f"{ENV}={os.environ[ENV]!r}: expected one of {', '.join(CHOICES)} (unset means auto)")
    return value


def _writable(directory: Path) -> bool:
    """Whether a file can be created in `directory` (made if missing): a real try, as root or on a read-only mount."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            return True
    except OSError:
        return False


def cache_dir(package: Path = Path(__file__).parent) -> str | None:
    """Where numba should cache the kernels: None to leave it to numba (NUMBA_CACHE_DIR when set and
    writable, else beside model/kernels.py), or a writable user cache directory where those are not.

    numba reads its cache only from a directory it can also write to, so a read-only install compiles
    once into the user's cache (in the background, see the module doc) and loads from there after.
    """
    chosen = os.environ.get("NUMBA_CACHE_DIR")
    if _writable(Path(chosen) if chosen else package / "__pycache__"):
        return None
    user_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    for base in (user_cache, Path(tempfile.gettempdir())):
        candidate = base / "cl_s2s" / "numba"
        if _writable(candidate):
            return str(candidate)
    return None  # nowhere to write: numba compiles without keeping the result


def _lower_priority() -> None:
    """Give the calling thread (only) the nice value LOADER_NICE, where the system allows it."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOADER_NICE)
    except (AttributeError, OSError):  # not Unix, or not allowed: the loader runs at normal priority
        pass


def _load() -> None:
    global _kernels, _error, _cache_dir
    _lower_priority()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, LOADER_SWITCH_INTERVAL_S))
    try:
        _cache_dir = cache_dir()
        if _cache_dir is not None:
            os.environ["NUMBA_CACHE_DIR"] = _cache_dir  # read when numba is first imported
            if "numba" in sys.modules:
                sys.modules["numba"].config.CACHE_DIR = _cache_dir
        from . import kernels  # compiles every kernel, or loads it from the cache

        _load_split_kernels()
        _kernels = kernels
    except Exception as err:  # numba missing or failing: the NumPy engine serves
        _error = err
        log.warning("compiled engine unavailable, the NumPy engine serves: %s: %s", type(err).__name__, err)
    finally:
        sys.setswitchinterval(interval)
        _loaded.set()


def _load_split_kernels() -> None:
    """model/split_kernels.py, where this machine has two cores and numba a threadsafe threading layer;
    without them the one-core kernels serve every batch."""
    global _split_kernels, _split_error
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        from . import split_kernels

        if cores < split_kernels.SPLIT or split_kernels.numba.config.NUMBA_NUM_THREADS < split_kernels.SPLIT:
            raise RuntimeError(f"{cores} core(s), {split_kernels.numba.config.NUMBA_NUM_THREADS} numba thread(s): "
                               f"the split kernels need {split_kernels.SPLIT}")
        split_kernels.check()  # launches the threading layer: an error here if none is threadsafe
        _split_kernels = split_kernels
    except Exception as err:
        _split_error = err
        log.info("decoder steps stay on one core: %s: %s", type(err).__name__, err)


def defer_loading() -> None:
    """Under CL_S2S_ENGINE=auto, start no loading until `allow_loading()`; the NumPy engine serves
    meanwhile. For a program that knows better than a model's creation when loading pays (the CLI)."""
    global _deferred
    _deferred = True


def allow_loading() -> None:
    """End a deferral and start loading the kernels (a no-op where they are loading or loaded)."""
    global _deferred
    _deferred = False
    start_loading()


def start_loading() -> None:
    """Start loading the kernels in a background thread, once (never for CL_S2S_ENGINE=numpy, and
    not yet under auto while `defer_loading()` holds)."""
    if requested() == "numpy" or (_deferred and requested() == "auto"):
        return
    _start()


def _start() -> None:
    global _loader
    with _lock:
        if _loader is None:
            _loader = threading.Thread(target=_load, name="engine-kernels", daemon=True)
            _loader.start()


def wait(timeout: float | None = None) -> bool:
    """Wait for the kernels (started if need be); whether they are ready. Always False for numpy."""
    if requested() == "numpy":
        return False
    _start()
    _loaded.wait(timeout)
    return _kernels is not None


def current() -> str:
    """The backend a batch started now runs on (see the module doc); with numba requested, waits for it."""
    choice = requested()
    if choice == "numpy":
        return "numpy"
    if choice == "numba":
        if not wait():
            raise RuntimeError(f"{ENV}=numba, but the compiled engine is unavailable: {_error}")
        return "numba"
    start_loading()
    return "numba" if _kernels is not None else "numpy"


def engine_for(weights: Seq2SeqWeights | AttentionWeights, backend: str) -> StepEngine:
    """The step engine of `backend` ("numpy" or "numba", which waits for the kernels) over `weights`.

    Weights that assemble their own engine from their parts' (model/ensemble.py) say so with
    `make_engine(backend, engine_for)`."""
    make_engine = getattr(weights, "make_engine", None)
    if make_engine is not None:
        return make_engine(backend, engine_for)
    if backend == "numpy":
        return NumpyEngine(weights)
    if backend == "numba":
        if not wait():
            raise RuntimeError(f"the compiled engine is unavailable: {_error}")
        return CompiledEngine(weights, _kernels, _split_kernels)
    raise ValueError(f"unknown engine backend {backend!r}: expected numba or numpy")


def status() -> dict[str, Any]:
    """What serves and why, without waiting: for the Model panel and the benchmark's JSON."""
    choice = requested()
    ready = _kernels is not None
    if choice == "numpy":
        note = f"the NumPy engine ({ENV}=numpy)"
    elif ready:
        note = "compiled kernels (numba)"
    elif _loaded.is_set():
        note = f"the NumPy engine: the compiled one is unavailable ({type(_error).__name__}: {_error})"
    else:
        note = "the NumPy engine while the compiled kernels load"
    return {"requested": choice, "backend": "numba" if ready and choice != "numpy" else "numpy",
            "compiled_ready": ready, "error": None if _error is None else f"{type(_error).__name__}: {_error}",
            "split_kernels": _split_kernels is not None,
            "split_error": None if _split_error is None else f"{type(_split_error).__name__}: {_split_error}",
            "numba_cache_dir": (_cache_dir or os.environ.get("NUMBA_CACHE_DIR") or str(Path(__file__).parent / "__pycache__"))
            if choice != "numpy" else None, "description": note}

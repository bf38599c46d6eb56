"""Engine speed: the compiled and NumPy engines against their BLAS floor, their peers, and the targets.

    python benchmarks/engine_speed.py [--data PATH] [--sentences 200] [--repeats 5] [--cli-lines 3000]
                                      [--models NAME ...] [--peers all|default|none]

Measured as a new user would: `checkpoint.load(...)` and `Translator.translate` (batch 1) or
`translate_batch` (batches), on the first distinct English sentences of 10-16 characters in the
data file that every bundled model can encode. Every bundled checkpoint directory that exists is
measured (`--models`: only those, and the default). For each model and figure, on both engine backends (model/backends.py: `view_off` and
`view_on_top5` are the compiled engine's, what the app and the CLI use; `numpy` holds the NumPy
reference's, CL_S2S_ENGINE=numpy):

    greedy_b1, greedy_b256, beam4_b1, beam4_b64, sample_b1
        per-step view off: only `.translation` is read (what plain CLI output reads);
        per-step view on: `.to_dict()` with top-5 alternatives (what --jsonl and the app read).
        Batch figures repeat the sentences to fill whole batches (1,024 rows for b256, 256 for b64).

Each figure comes with its floor, timed in the same run: the chain of matrix products the engine
had to compute for it (the same shapes, the same step counts, the same rows per step, as recorded
from an untimed pass), computed the way the engine computes them (`model.inference.matmul`), and
nothing else. At batch 1 that is a chain of matrix-vector products, in batches a chain of GEMMs.
The floor is timed with BLAS on one thread (as the engine runs it), with BLAS's own thread
count, and, where the engine split a batch across threads (translator.PARALLEL_THREADS), with each
thread's products on a thread of its own; the lowest is the floor; `ratio_to_floor` is figure /
floor. Beside it, `tanh` times NumPy's float32 tanh over every gate, cell and attentional value the
figure computed, split the same way: floor + tanh is as fast as this engine can go without a faster
tanh. A target that is missed
gets a profile of its figure (cProfile, the functions with the most internal time).

Also, per model: `threads_b1`, greedy batch 1 on one thread and on two at once (each translating
half the sentences), per backend: the compiled kernels release the GIL, so two threads should come
close to twice one; `backends_agree`, sentences whose greedy characters are identical on both.

Peers (benchmarks/peers.py, each in a subprocess of its own, on the same weights and sentences):
TensorFlow, the encoder and a `tf.while_loop` of decoder steps in one `tf.function`, with and
without XLA (`jit_compile=True`); ONNX Runtime, an encoder graph and a decoder-step graph run once a
step from a Python greedy loop, on one thread and two. Each reports greedy batch 1 and batches of
256, and `agreement`: on how many sentences its characters are identical to the engine's.

Also: the recipe's own `decoder_model.predict` loop on a few sentences, as the reference (in a
subprocess, so TensorFlow never shares this process with the timings); `python -m model translate`
start-up on empty input, whether it imports TensorFlow or Keras, the first request (start-up plus
one sentence) and its throughput on `--cli-lines` lines net of that start-up, with the default
engine and with CL_S2S_ENGINE=numpy; `tanh_kernel`, the kernels' tanh against NumPy's on the same
values. Prints one JSON object; `targets` holds the issue's
targets for the bundled default model, each with its figure, floor, ratio and whether it is met.
Timings are the best of `--repeats` runs: on a shared machine the best run is the one least
disturbed by other work.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

# BLAS's own thread count, read before any engine runs (the engine sets it to BLAS_THREADS for good).
DEFAULT_BLAS_THREADS = max([lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"], default=None)

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DEFAULT_DATA = REPO.parent / "shared" / "data" / "fra-eng" / "fra.txt"
MIN_CHARS, MAX_CHARS = 10, 16  # the sentence lengths the figures use

# (figure, unit, comparison, target), for the bundled default model (checkpoint.BUNDLED["default"]).
TARGETS = [
    ("greedy_b1", "ms_per_sentence", "<=", 1.5),
    ("greedy_b256", "sentences_per_s", ">=", 5000.0),
    ("beam4_b1", "ms_per_sentence", "<=", 6.0),
    ("cli_translate", "sentences_per_s", ">=", 3000.0),
]
FIGURES = {  # name: (method, batch size, rows to translate per repeat)
    "greedy_b1": ("greedy", 1, None),
    "greedy_b256": ("greedy", 256, 1024),
    "beam4_b1": ("beam", 1, None),
    "beam4_b64": ("beam", 64, 256),
    "sample_b1": ("sample", 1, None),
}


def read_sentences(data: Path, count: int, translators) -> list[str]:
    """The first `count` distinct English sentences of 10-16 characters that every model can encode."""
    from model import data as data_module

    chosen: dict[str, None] = {}
    for pair in data_module.read_pairs(data):
        text = pair.english
        if MIN_CHARS <= len(text) <= MAX_CHARS and text not in chosen and not any(
                t.vocab.unknown_input_characters(text) for t in translators):
            chosen[text] = None
            if len(chosen) == count:
                break
    return list(chosen)


def options_for(method: str):
    from model.translator import DecodeOptions

    return DecodeOptions(method=method, beam_size=4, top_k=5)


def run_figure(translator, texts: list[str], method: str, batch: int, view: bool) -> None:
    options = options_for(method)
    for begin in range(0, len(texts), batch):
        chunk = texts[begin : begin + batch]
        results = translator.translate_batch(chunk, options) if batch > 1 else [translator.translate(chunk[0], options)]
        if view:
            for r in results:
                r.to_dict()
        else:
            for r in results:
                r.translation  # noqa: B018 - reading it is the point


def best_times(runs: dict, repeats: int) -> dict:
    """The best of `repeats` timings of each function, taking turns, so that all of them see the
    same machine: a burst of other work slows one round of each rather than all rounds of one."""
    best = {name: float("inf") for name in runs}
    for _ in range(repeats):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def profile(fn, top: int = 10) -> list[dict]:
    """The functions `fn` spends its time in (cProfile, internal time), largest first."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(fn)
    stats = pstats.Stats(profiler).stats
    total = sum(entry[2] for entry in stats.values())
    rows = sorted(stats.items(), key=lambda item: -item[1][2])[:top]
    return [{"function": name if file == "~" else f"{Path(file).name}:{line}({name})", "calls": calls,
             "internal_percent": round(100 * internal / total, 1)}
            for (file, line, name), (_, calls, internal, _, _) in rows]


# --- the floor: the same matrix products, nothing else ------------------------------------------


class Recorder:
    """Wraps a translator's weights for one untimed pass and lists the matrix products it needed.

    Give it a translator on the NumPy engine (`with_backend("numpy")`), whose every step goes through
    the weights' `decode_step`; the compiled engine runs a small batch's greedy loop in one call.

    A batch the translator splits across threads (translator.PARALLEL_THREADS) is recorded per
    thread, so that the floor can run each thread's share of the products in parallel too.
    """

    def __init__(self, translator):
        self.weights = translator.weights
        self.config = translator.config
        self.by_thread: dict[int, list[tuple]] = {}  # (rows, inner, cols) or ("batched", batch, rows, inner, cols)
        self.tanh_by_thread: dict[int, list[tuple]] = {}  # (rows, width) of every tanh the engine takes
        self.decoder_steps = 0  # step calls, summed over threads
        self.decoder_rows = 0
        self._lock = threading.Lock()

    @property
    def products(self) -> list[tuple]:
        return [p for chain in self.by_thread.values() for p in chain]

    def _add(self, products: list[tuple], tanh: list[tuple], rows: int = 0) -> None:
        with self._lock:
            self.by_thread.setdefault(threading.get_ident(), []).extend(products)
            self.tanh_by_thread.setdefault(threading.get_ident(), []).extend(tanh)
            if rows:
                self.decoder_steps += 1
                self.decoder_rows += rows

    def __enter__(self):
        weights, start, step = self.weights, self.weights.start, self.weights.decode_step

        def recording_start(token_ids, lengths, **kwargs):
            self._encoder(np.asarray(lengths), token_ids.shape[1])
            return start(token_ids, lengths, **kwargs)

        def recording_step(token_ids, h, c, *context):
            self._decoder_step(h.shape[0], context[-1].shape[1] if context else 0)  # the padding bias: (rows, time)
            return step(token_ids, h, c, *context)

        weights.start, weights.decode_step = recording_start, recording_step
        return self

    def __exit__(self, *exc):
        del self.weights.start, self.weights.decode_step  # back to the class's methods

    def _lstms(self) -> list[tuple]:
        """(LSTM, backwards, stacked): every encoder LSTM, bottom layer first. A stacked layer reads
        the layer below's outputs, through an input product over every position (inference.run_lstm)."""
        w = self.weights
        if hasattr(w, "encoder"):
            return [(w.encoder, False, False)]
        layers = [(w.encoder_forward, w.encoder_backward), *getattr(w, "encoder_stack", ())]
        return [(lstm, backwards, depth > 0) for depth, pair in enumerate(layers)
                for lstm, backwards in zip(pair, (False, True)) if lstm is not None]

    def _encoder(self, lengths: np.ndarray, time_steps: int) -> None:
        lengths = np.minimum(lengths, time_steps)
        products, tanh = [], []
        for lstm, backwards, stacked in self._lstms():
            u = lstm.units
            if stacked:
                products.append((len(lengths) * time_steps, lstm.input_table.shape[0], 4 * u))
            active = [int((lengths > t).sum()) for t in range(time_steps)]
            steps = [n for n in (active[::-1] if backwards else active) if n]
            # The first step starts from zero states, where h U = 0: the engine skips that product.
            products += [(n, u, 4 * u) for n in steps[1:]]
            tanh += [shape for n in steps for shape in ((n, 4 * u), (n, u))]  # the gates, then tanh(c)
        if not hasattr(self.weights, "encoder"):  # attention keys and context projections, once per batch
            outputs = self.weights.keys_kernel.shape[0]
            products.append((len(lengths) * time_steps, outputs, self.weights.keys_kernel.shape[1]))
            products.append((len(lengths) * time_steps, outputs, self.weights.combine_kernel.shape[1]))
        self._add(products, tanh)

    def _decoder_step(self, rows: int, input_length: int) -> None:
        w = self.weights
        u = w.decoder.units
        products = [(rows, u, 4 * u)]
        tanh = [(rows, 4 * u), (rows, u)]
        if input_length:
            tanh.append((rows, w.combine_kernel.shape[1]))  # the attentional state
            products.append(("batched", rows, input_length, u, 1))  # scores: keys . h
            products.append(("batched", rows, 1, input_length, u))  # weights . projected outputs
            products.append((rows, u, w.combine_kernel.shape[1]))  # h W_c (h rows)
        products.append((rows, u, w.dense_kernel.shape[1]))
        self._add(products, tanh, rows)


def tanh_chain(shapes: list[tuple]):
    """A function that takes NumPy's float32 tanh of arrays of these shapes, in place, and nothing else.

    The gates' and the cell's tanh is the engine's largest cost besides the matrix products, and it
    cannot be avoided by any reordering: this measures what it costs on this machine, in this run.
    """
    rng = np.random.default_rng(0)
    arrays: dict[tuple, np.ndarray] = {}
    calls = []
    for shape in shapes:
        if shape not in arrays:
            arrays[shape] = (2 * rng.standard_normal(shape)).astype(np.float32)  # pre-activations' scale
        calls.append(arrays[shape])

    def run():
        for a in calls:
            np.tanh(a, out=a)
            np.negative(a, out=a)  # keeps the values in range over repeated runs

    return run


def in_parallel(chains: list[list[tuple]], make_run):
    """`make_run(chain)` for each thread's chain, all run at once on threads of their own, BLAS on one
    thread each (as the engine runs); one chain runs on the calling thread alone."""
    from model.inference import blas_threads

    runs = [make_run(c) for c in chains]

    def run():
        def one(fn):
            with blas_threads:
                fn()

        threads = [threading.Thread(target=one, args=(fn,)) for fn in runs[1:]]
        for thread in threads:
            thread.start()
        one(runs[0])
        for thread in threads:
            thread.join()

    return run


def floor_chain(products: list[tuple]):
    """A function that computes exactly these products, as the engine computes them, and nothing else."""
    from model.inference import matmul

    rng = np.random.default_rng(0)
    operands: dict[tuple, tuple] = {}
    calls = []
    for p in products:
        if p[0] == "batched":  # attention: one small product per row, in one call
            if p not in operands:
                _, n, r, k, m = p
                operands[p] = (rng.standard_normal((n, r, k), dtype=np.float32),
                               rng.standard_normal((n, k, m), dtype=np.float32))
            calls.append((np.matmul, *operands[p]))
        else:
            rows, inner, cols = p
            key = (inner, cols)
            if key not in operands:
                most = max(q[0] for q in products if q[0] != "batched" and (q[1], q[2]) == key)
                operands[key] = (rng.standard_normal((most, inner), dtype=np.float32),
                                 rng.standard_normal((inner, cols), dtype=np.float32))
            a, b = operands[key]
            calls.append((matmul, a[:rows], b))

    def run():
        for fn, a, b in calls:
            fn(a, b)

    return run


# --- a model's figures --------------------------------------------------------------------------


def workload(texts: list[str], rows: int | None) -> list[str]:
    return (texts * (-(-rows // len(texts))))[:rows] if rows else texts


def engines(translator) -> tuple:
    """(the engine the app and CLI use, the NumPy reference): the same model on each backend."""
    from model import backends

    reference = translator.with_backend("numpy")
    return (translator.with_backend("numba") if backends.wait() else reference), reference


def measure_model(translator, texts: list[str], repeats: int) -> dict:
    from model.inference import BLAS_THREADS, blas_threads

    serving, reference = engines(translator)
    figures = {}
    for name, (method, batch, rows) in FIGURES.items():
        work = workload(texts, rows)
        with Recorder(reference) as recorder:
            run_figure(reference, work, method, batch, view=False)  # also warms every code path
        run_figure(serving, work, method, batch, view=False)
        floor = floor_chain(recorder.products)

        def floor_engine_threads():
            with blas_threads:
                floor()

        def floor_blas_default():
            # The engine leaves BLAS on BLAS_THREADS threads for good (inference._BlasThreads): the
            # library's own thread count is set back for this floor alone, on this one thread.
            with threadpool_limits(limits=DEFAULT_BLAS_THREADS, user_api="blas"):
                floor()

        floors = {"floor_blas_default": floor_blas_default, "floor_blas_engine": floor_engine_threads}
        split = len(recorder.by_thread) > 1  # the engine split the batches across threads
        if split:
            floors["floor_parallel"] = in_parallel(list(recorder.by_thread.values()), floor_chain)
        tanh = in_parallel(list(recorder.tanh_by_thread.values()), tanh_chain)
        best = best_times({
            **floors,
            "tanh": tanh,
            "view_off": lambda: run_figure(serving, work, method, batch, False),
            "view_on_top5": lambda: run_figure(serving, work, method, batch, True),
            "numpy_view_off": lambda: run_figure(reference, work, method, batch, False),
            "numpy_view_on_top5": lambda: run_figure(reference, work, method, batch, True),
        }, repeats)
        floor_s = min(best[name] for name in floors)
        figures[name] = {
            "method": method, "beam_size": 4 if method == "beam" else None, "batch": batch, "sentences": len(work),
            "decoder_steps": recorder.decoder_steps, "decoder_rows_computed": recorder.decoder_rows,
            "backend": serving.backend,
            "view_off": per_sentence(best["view_off"], len(work), floor_s),
            "view_on_top5": per_sentence(best["view_on_top5"], len(work), floor_s),
            "numpy": {"view_off": per_sentence(best["numpy_view_off"], len(work), floor_s),
                      "view_on_top5": per_sentence(best["numpy_view_on_top5"], len(work), floor_s)},
            "floor": {
                "kind": "matvec chain" if batch == 1 else "GEMM chain, split as the engine splits", "matrix_products": len(recorder.products),
                "ms_per_sentence": round(floor_s / len(work) * 1e3, 4),
                "sentences_per_s": round(len(work) / floor_s, 1),
                f"ms_per_sentence_blas_{BLAS_THREADS}_thread": round(best["floor_blas_engine"] / len(work) * 1e3, 4),
                "ms_per_sentence_blas_default_threads": round(best["floor_blas_default"] / len(work) * 1e3, 4),
                **({"ms_per_sentence_parallel": round(best["floor_parallel"] / len(work) * 1e3, 4),
                    "engine_threads": len(recorder.by_thread)} if "floor_parallel" in best else {}),
            },
            # The float32 tanh of every gate, cell and attentional value the figure computed (NumPy's
            # tanh is scalar code on AVX2 machines), timed alone, split across threads as the engine
            # splits; floor + tanh is what the engine cannot go below without a faster tanh.
            "tanh": {"values_per_sentence": round(sum(r * w for c in recorder.tanh_by_thread.values()
                                                      for r, w in c) / len(work)),
                     "ms_per_sentence": round(best["tanh"] / len(work) * 1e3, 4),
                     "floor_plus_tanh_ms_per_sentence": round((floor_s + best["tanh"]) / len(work) * 1e3, 4),
                     "floor_plus_tanh_sentences_per_s": round(len(work) / (floor_s + best["tanh"]), 1)},
        }
    figures["threads_b1"] = {t.backend: threads_b1(t, texts, repeats) for t in dict.fromkeys((serving, reference))}
    ours, theirs = greedy_tokens(serving, texts), greedy_tokens(reference, texts)
    figures["backends_agree"] = {"identical_greedy_characters": sum(a == b for a, b in zip(ours, theirs)),
                                 "sentences": len(texts)}
    return figures


def greedy_tokens(translator, texts: list[str]) -> list[list[int]]:
    """Each sentence's greedy output at batch 1 as target ids, END included: what peers are compared on."""
    index = translator.vocab.target_token_index
    return [[index[s.char] for s in translator.translate(text).steps] for text in texts]


def threads_b1(translator, texts: list[str], repeats: int) -> dict:
    """Greedy batch 1 over `texts` on one thread, and split over two threads at once: what releasing the
    GIL buys a server that runs requests (and its event loop) side by side."""
    def alone(chunk):
        for text in chunk:
            translator.translate(text).translation  # noqa: B018

    def two_threads():
        other = threading.Thread(target=alone, args=(texts[1::2],))
        other.start()
        alone(texts[0::2])
        other.join()

    best = best_times({"one": lambda: alone(texts), "two": two_threads}, repeats)
    return {"one_thread_sentences_per_s": round(len(texts) / best["one"], 1),
            "two_threads_sentences_per_s": round(len(texts) / best["two"], 1),
            "speedup": round(best["one"] / best["two"], 2)}


def tanh_kernel(repeats: int) -> dict:
    """The compiled kernels' tanh against NumPy's float32 tanh, on the same values (a pre-activation's scale)."""
    from model import backends

    if not backends.wait():
        return {"error": f"the compiled engine is unavailable: {backends.status()['description']}"}
    kernels = backends._kernels
    rows = {"1M_values": (2 * np.random.default_rng(0).standard_normal(1_000_000)).astype(np.float32)}
    rows["row_of_1024"] = rows["1M_values"][:1024].copy()
    out = {}
    for name, x in rows.items():
        y, z = np.empty_like(x), np.empty_like(x)
        calls = max(1, 1_000_000 // x.size)
        best = best_times({"numpy": lambda: [np.tanh(x, out=y) for _ in range(calls)],
                           "kernel": lambda: [kernels.tanh(x, z) for _ in range(calls)]}, repeats)
        out[name] = {"numpy_ns_per_value": round(best["numpy"] / (calls * x.size) * 1e9, 3),
                     "kernel_ns_per_value": round(best["kernel"] / (calls * x.size) * 1e9, 3),
                     "max_abs_difference": float(np.abs(y - z).max())}
    return out


PEERS = ["tf", "tf-xla", "onnx-1", "onnx-2"]


def measure_peers(directory: Path, texts: list[str], engine_tokens: list[list[int]], repeats: int) -> dict:
    """benchmarks/peers.py for every runtime, each in its own process; agreement with the engine's characters."""
    rows = FIGURES["greedy_b256"][2]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        listed = Path(tmp) / "texts.json"
        listed.write_text(json.dumps(texts), encoding="utf-8")
        for runtime in PEERS:
            run = subprocess.run([sys.executable, str(REPO / "benchmarks" / "peers.py"), runtime, str(directory),
                                  str(listed), "--repeats", str(repeats), "--batch", "256", "--rows", str(rows)],
                                 capture_output=True, text=True, cwd=REPO,
                                 env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
            lines = run.stdout.strip().splitlines()
            if run.returncode or not lines:
                out[runtime] = {"error": (run.stderr.strip().splitlines() or [f"exit {run.returncode}"])[-1]}
                continue
            result = json.loads(lines[-1])
            decoded = result.pop("decoded")
            result["agreement"] = {"identical_characters": sum(a == b for a, b in zip(decoded, engine_tokens)),
                                   "sentences": len(texts)}
            out[runtime] = result
    return out


def per_sentence(seconds: float, sentences: int, floor_s: float) -> dict:
    return {"ms_per_sentence": round(seconds / sentences * 1e3, 4), "sentences_per_s": round(sentences / seconds, 1),
            "ratio_to_floor": round(seconds / floor_s, 3)}


# --- subprocesses: the recipe's loop, the CLI ---------------------------------------------------

RECIPE_LOOP = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
from model import checkpoint, network
texts = json.loads(sys.argv[2])
model, vocab, config, _ = checkpoint.load_keras(sys.argv[3])
encoder_model, decoder_model = network.build_inference_models(model, config)

def decode_sequence(text):
    # The keras.io recipe's decode_sequence: one predict call per character.
    x = np.zeros((1, vocab.max_encoder_seq_length, vocab.num_encoder_tokens), dtype="float32")
    for t, char in enumerate(text):
        x[0, t, vocab.input_token_index[char]] = 1.0
    x[0, len(text):, vocab.input_token_index[" "]] = 1.0
    states_value = encoder_model.predict(x, verbose=0)
    target_seq = np.zeros((1, 1, vocab.num_decoder_tokens))
    target_seq[0, 0, vocab.start_index] = 1.0
    decoded = ""
    while True:
        output_tokens, h, c = decoder_model.predict([target_seq] + list(states_value), verbose=0)
        index = int(np.argmax(output_tokens[0, -1, :]))
        char = vocab.target_characters[index]
        decoded += char
        if char == "\n" or len(decoded) > vocab.max_decoder_seq_length:
            return decoded
        target_seq = np.zeros((1, 1, vocab.num_decoder_tokens))
        target_seq[0, 0, index] = 1.0
        states_value = [h, c]

decode_sequence(texts[0])  # the first call builds the graph
start = time.perf_counter()
decoded = [decode_sequence(t) for t in texts]
print(json.dumps({"seconds": time.perf_counter() - start, "decoded": decoded}))
"""


def recipe_reference(recipe_dir: Path, texts: list[str]) -> dict:
    from model import checkpoint

    run = subprocess.run([sys.executable, "-c", RECIPE_LOOP, str(REPO), json.dumps(texts), str(recipe_dir)],
                         capture_output=True, text=True, cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if run.returncode:
        return {"error": run.stderr.strip().splitlines()[-1] if run.stderr.strip() else f"exit {run.returncode}"}
    out = json.loads(run.stdout.strip().splitlines()[-1])
    engine = [
        "".join(s.char for s in r.steps) for r in checkpoint.load(recipe_dir).translate_batch(texts)]
    return {"model": recipe_dir.name, "method": "decoder_model.predict per character (keras.io recipe)",
            "sentences": len(texts), "ms_per_sentence": round(out["seconds"] / len(texts) * 1e3, 2),
            "engine_greedy_gives_the_same_characters": engine == out["decoded"]}


def cli(model: str, stdin: Path, engine: str | None = None) -> float:
    env = {**os.environ, "CL_S2S_ENGINE": engine} if engine else None
    with open(stdin, "rb") as handle:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "model", "translate", "--model", model], stdin=handle,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO, check=True, env=env)
        return time.perf_counter() - start


def measure_cli(model: str, lines: list[str], repeats: int, engine: str | None = None) -> dict:
    """`python -m model translate` on empty input (start-up: loading the model), on its first line alone
    (start-up and the first request) and, given `lines`, on them; `engine` sets CL_S2S_ENGINE."""
    with tempfile.TemporaryDirectory() as tmp:
        empty, first, full = Path(tmp) / "empty.txt", Path(tmp) / "first.txt", Path(tmp) / "lines.txt"
        empty.write_text("")
        first.write_text((lines[0] if lines else "Go away.") + "\n", encoding="utf-8")
        full.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        runs = ({"startup": lambda: cli(model, empty, engine), "first_request": lambda: cli(model, first, engine)}
                | ({"total": lambda: cli(model, full, engine)} if lines else {}))
        best = best_times(runs, repeats)
        with open(empty, "rb") as handle:
            imports = subprocess.run([sys.executable, "-X", "importtime", "-m", "model", "translate", "--model", model],
                                     stdin=handle, capture_output=True, text=True, cwd=REPO)
    modules = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in imports.stderr.splitlines() if "|" in line}
    out = {"model": model, "engine": f"CL_S2S_ENGINE={engine}" if engine else "default",
           "startup_s": round(best["startup"], 3), "startup_plus_first_request_s": round(best["first_request"], 3),
           "imports_tensorflow": "tensorflow" in modules, "imports_keras": "keras" in modules}
    if lines:
        net = best["total"] - best["startup"]
        out |= {"lines": len(lines), "total_s": round(best["total"], 3), "net_of_startup_s": round(net, 3),
                "sentences_per_s": round(len(lines) / net, 1) if net > 0 else None}
    return out


# --- the report ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=None,
                        help=f"fra-eng pair file (default: {DEFAULT_DATA} if present, else the recipe's download)")
    parser.add_argument("--sentences", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5, help="timings are the best of this many runs")
    parser.add_argument("--cli-lines", type=int, default=3000)
    parser.add_argument("--reference-sentences", type=int, default=3, help="sentences for the slow predict loop")
    parser.add_argument("--models", nargs="+", metavar="NAME",
                        help="bundled checkpoints to measure (default: every one; the default model is always measured, "
                             "since the targets are its)")
    parser.add_argument("--peers", choices=("all", "default", "none"), default="all",
                        help="time TensorFlow and ONNX Runtime on every bundled model, the default one, or none")
    args = parser.parse_args()

    from model import backends, checkpoint

    data = args.data or (DEFAULT_DATA if DEFAULT_DATA.is_file() else None)
    if data is None:
        from model import data as data_module

        data = data_module.download_fra_eng()
    names = checkpoint.BUNDLED.values() if not args.models else [checkpoint.BUNDLED["default"]] + [
        checkpoint.BUNDLED[name] for name in args.models if name in checkpoint.BUNDLED]
    unknown = sorted(set(args.models or []) - set(checkpoint.BUNDLED))
    if unknown:
        parser.error(f"--models: no bundled checkpoint named {', '.join(unknown)}; "
                     f"choose from {', '.join(sorted(checkpoint.BUNDLED))}")
    directories = list(dict.fromkeys(checkpoint.BUNDLED_ROOT / d for d in names))
    directories = [d for d in directories if (d / checkpoint.MODEL_FILE).is_file()]
    translators = {d.name: checkpoint.load(d) for d in directories}
    start = time.perf_counter()
    backends.wait()  # the kernels, loaded (or compiled) before any timing
    wait_s = round(time.perf_counter() - start, 3)
    texts = read_sentences(Path(data), args.sentences, translators.values())
    default = checkpoint.BUNDLED["default"]
    cli_lines = read_sentences(Path(data), args.cli_lines, [translators[default]])

    report: dict = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
                    "load_average": os.getloadavg()},
        "engine": {**backends.status(), "wait_s": wait_s,
                   "numba": _version("numba"), "gemm_from_rows": backends.GEMM_FROM},
        "workload": {"data": str(data), "sentences": len(texts), "characters": f"{MIN_CHARS}-{MAX_CHARS}",
                     "repeats_best_of": args.repeats},
        "models": {},
    }
    report["tanh_kernel"] = tanh_kernel(args.repeats)
    for name, translator in translators.items():
        report["models"][name] = measure_model(translator, texts, args.repeats)
    peer_models = {"all": list(translators), "default": [default], "none": []}[args.peers]
    report["peers"] = {name: measure_peers(checkpoint.BUNDLED_ROOT / name, texts,
                                           greedy_tokens(engines(translators[name])[0], texts), args.repeats)
                       for name in peer_models if name in translators}
    report["cli_translate"] = measure_cli("default", cli_lines, args.repeats)
    report["cli_translate_numpy"] = measure_cli("default", cli_lines, args.repeats, engine="numpy")
    report["startup"] = [measure_cli(name, [], args.repeats) for name in translators]
    if "recipe" in translators:
        report["reference"] = recipe_reference(checkpoint.BUNDLED_ROOT / "recipe", texts[: args.reference_sentences])
        greedy = report["models"]["recipe"]["greedy_b1"]["view_off"]["ms_per_sentence"]
        if "ms_per_sentence" in report["reference"]:
            report["reference"]["engine_greedy_b1_speedup"] = round(report["reference"]["ms_per_sentence"] / greedy, 1)

    targets = []
    for figure, unit, comparison, target in TARGETS:
        if figure == "cli_translate":
            value, floor, ratio = report["cli_translate"][unit], None, None
        else:
            entry = report["models"][default][figure]
            value, floor = entry["view_off"][unit], entry["floor"][unit]
            ratio = entry["view_off"]["ratio_to_floor"]
        met = value is not None and (value <= target if comparison == "<=" else value >= target)
        row = {"figure": figure, "model": default, "unit": unit, "value": value, "floor": floor,
               "ratio_to_floor": ratio, "target": f"{comparison} {target:g}", "met": met}
        if not met and figure in FIGURES:  # where the time goes
            method, batch, rows = FIGURES[figure]
            work = workload(texts, rows)
            row["profile"] = profile(lambda: run_figure(translators[default], work, method, batch, False))
        targets.append(row)
    report["targets"] = targets
    report["targets_against_floor_and_peers"] = ratio_targets(report)
    print(json.dumps(report, indent=2))


def _version(package: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


# Issue 19's targets, for every model: each figure against its floor in the same run, and against the peers.
RATIO_TARGETS = [  # (figure, the figure's ratio_to_floor at most)
    ("greedy_b1", 1.5),
    ("greedy_b256", 1 / 0.8),  # at least 80% of the floor's throughput
    ("beam4_b1", 4.0),
]


def ratio_targets(report: dict) -> list[dict]:
    rows = []
    for model, figures in report["models"].items():
        for figure, most in RATIO_TARGETS:
            ratio = figures[figure]["view_off"]["ratio_to_floor"]
            rows.append({"model": model, "figure": figure, "ratio_to_floor": ratio, "target": f"<= {most:.3g}",
                         "met": ratio <= most})
        for runtime, peer in report.get("peers", {}).get(model, {}).items():
            if "error" in peer:
                continue
            ours_b1 = figures["greedy_b1"]["view_off"]["ms_per_sentence"]
            ours_b256 = figures["greedy_b256"]["view_off"]["sentences_per_s"]
            rows.append({"model": model, "figure": f"greedy_b1 against {runtime}", "engine": ours_b1,
                         "peer": peer["greedy_b1"]["ms_per_sentence"], "unit": "ms_per_sentence",
                         "met": ours_b1 < peer["greedy_b1"]["ms_per_sentence"]})
            rows.append({"model": model, "figure": f"greedy_b256 against {runtime}", "engine": ours_b256,
                         "peer": peer["greedy_b256"]["sentences_per_s"], "unit": "sentences_per_s",
                         "met": ours_b256 > peer["greedy_b256"]["sentences_per_s"]})
    return rows


if __name__ == "__main__":
    main()

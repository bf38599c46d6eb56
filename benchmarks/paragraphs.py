"""What a paragraph costs: N sentences in one request against N one-sentence requests, in one run.

A paragraph's sentences go to the engine as one batch (model/paragraph.py), so N sentences should
cost far less than N requests of one. For N = 1, 5, 10 and 20 visitor sentences (everyday English,
model/visitor/), at greedy decoding and at the app's default (beam 4, length-normalised), this times,
through the Space's BatchingEngine as the app runs them,

  paragraph   one request of N sentences (`submit_many`, then `Plan.assemble`): one engine call;
  one_by_one  N requests of one sentence, one after the other;

each the median of `--repeats` runs after an untimed one, and reports each as a multiple of one
sentence alone (the N = 1 paragraph, the first sentence) and of the mean sentence of the same N
(the one-by-one time over N). Everything runs on the engine's one worker thread, as in the
app: the two-core kernels' OpenMP threads then belong to that thread alone (a second thread calling
them starts a second team, whose spinning threads slowed the first by 3-4x in a trial).
The issue's target: 10 sentences at the app's default within 5x one sentence.

    python benchmarks/paragraphs.py [--model default] [--repeats 9]

Prints JSON.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model import backends, paragraph  # noqa: E402
from model.batching import BatchingEngine  # noqa: E402
from model.translator import DecodeOptions  # noqa: E402
from model.sources import load_source  # noqa: E402
from model.visitor import load_visitor_set  # noqa: E402

SIZES = (1, 5, 10, 20)
TARGET = (10, 5.0)  # 10 sentences at the app's default: at most 5x one sentence


def median_ms(run, repeats: int) -> float:
    run()  # untimed: the first call of a path loads its compiled kernels from numba's cache
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return round(1000 * statistics.median(times), 2)


def measure(engine: BatchingEngine, translator, options, sentences: list[str], repeats: int) -> dict:
    plan = paragraph.plan(" ".join(sentences))
    assert len(plan.texts) == len(sentences), (plan.texts, sentences)

    def one_request():
        futures = engine.submit_many(translator, plan.texts, options)
        plan.assemble([f.result() for f in futures])

    def one_by_one():
        for sentence in sentences:
            engine.submit(translator, sentence, options).result()

    return {"paragraph_ms": median_ms(one_request, repeats), "one_by_one_ms": median_ms(one_by_one, repeats)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default", help="a model source (default: the bundled default)")
    parser.add_argument("--repeats", type=int, default=7, help="runs per figure; the median is reported (default 7)")
    args = parser.parse_args(argv)

    from space.options import APP_DEFAULT_OPTIONS  # the app's default decoding, wherever it is defined

    translator = load_source(args.model)
    backends.wait()
    sentences, _ = load_visitor_set()
    # Sentences that segment as one each (a visitor sentence may itself hold two).
    single = [s for s in sentences if len(paragraph.plan(s).texts) == 1]
    settings = {"greedy": DecodeOptions(top_k=1),
                "app_default": DecodeOptions(**{**APP_DEFAULT_OPTIONS.__dict__, "top_k": 1})}
    results = {}
    engine = BatchingEngine()
    for name, options in settings.items():
        rows = {n: measure(engine, translator, options, single[:n], args.repeats) for n in SIZES}
        one = rows[1]["paragraph_ms"]
        for n, row in rows.items():
            row.update({f"{k[:-3]}_x_one": round(v / one, 2) for k, v in list(row.items()) if k.endswith("_ms")})
            # Against the mean single sentence of the same N (the one_by_one time over N): the first
            # sentence alone may be shorter or longer than the paragraph's average.
            row["paragraph_x_mean_sentence"] = round(row["paragraph_ms"] * n / row["one_by_one_ms"], 2)
        results[name] = rows
    engine.close()
    n, limit = TARGET
    ratio = results["app_default"][n]["paragraph_x_one"]
    mean_ratio = results["app_default"][n]["paragraph_x_mean_sentence"]
    report = {
        "command": "python benchmarks/paragraphs.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "model": args.model, "engine": translator.backend, "cpus": os.cpu_count(), "python": platform.python_version(),
        "sentences": {n: sum(len(s) for s in single[:n]) for n in SIZES},  # characters per paragraph
        "results": results,
        "target": {"sentences": n, "app_default_x_one": ratio, "app_default_x_mean_sentence": mean_ratio,
                   "limit": limit, "met_against_the_first": ratio <= limit, "met_against_the_mean": mean_ratio <= limit},
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

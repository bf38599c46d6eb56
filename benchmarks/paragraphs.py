"""What a paragraph costs: N sentences in one request against N one-sentence requests, in one run.

A paragraph's sentences go to the engine as one batch (model/paragraph.py), so N sentences should
cost far less than N requests of one. For N = 1, 5, 10 and 20 visitor sentences (everyday English,
model/visitor/), at greedy decoding and at the app's default (beam 4, length-normalised), this times

  paragraph   one request of N sentences: `paragraph.translate_batch`, one engine call;
  space       the same through the Space's BatchingEngine (`submit_many`, then `Plan.assemble`);
  one_by_one  N requests of one sentence, one after the other;

each the median of `--repeats` runs, and reports every time as a multiple of one sentence alone
(the N = 1 paragraph). The issue's target: 10 sentences at the app's default within 5x one sentence.

    python benchmarks/paragraphs.py [--model default] [--repeats 7]

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
from model.sources import load_source  # noqa: E402
from model.visitor import load_visitor_set  # noqa: E402

SIZES = (1, 5, 10, 20)
TARGET = (10, 5.0)  # 10 sentences at the app's default: at most 5x one sentence


def median_ms(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return round(1000 * statistics.median(times), 2)


def measure(translator, options, sentences: list[str], repeats: int) -> dict:
    engine = BatchingEngine()
    text = " ".join(sentences)
    plan = paragraph.plan(text)
    assert len(plan.texts) == len(sentences), (plan.texts, sentences)

    def through_space():
        futures = engine.submit_many(translator, plan.texts, options)
        plan.assemble([f.result() for f in futures])

    figures = {
        "paragraph_ms": median_ms(lambda: paragraph.translate_batch(translator, [text], options), repeats),
        "space_ms": median_ms(through_space, repeats),
        "one_by_one_ms": median_ms(lambda: [translator.translate(s, options) for s in sentences], repeats),
    }
    engine.close()
    return figures


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
    settings = {"greedy": paragraph.DecodeOptions(top_k=1),
                "app_default": paragraph.DecodeOptions(**{**APP_DEFAULT_OPTIONS.__dict__, "top_k": 1})}
    results = {}
    for name, options in settings.items():
        paragraph.translate_batch(translator, [" ".join(single[:20])], options)  # warm up
        rows = {n: measure(translator, options, single[:n], args.repeats) for n in SIZES}
        one = rows[1]["paragraph_ms"]
        for row in rows.values():
            row.update({f"{k[:-3]}_x_one": round(v / one, 2) for k, v in list(row.items()) if k.endswith("_ms")})
        results[name] = rows
    n, limit = TARGET
    ratio = results["app_default"][n]["paragraph_x_one"]
    report = {
        "command": "python benchmarks/paragraphs.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "model": args.model, "engine": translator.backend, "cpus": os.cpu_count(), "python": platform.python_version(),
        "sentences": {n: sum(len(s) for s in single[:n]) for n in SIZES},  # characters per paragraph
        "results": results,
        "target": {"sentences": n, "app_default_x_one": ratio, "limit": limit, "met": ratio <= limit},
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Which decoding the Space should use by default: quality and latency of each setting, in one run.

For one model, every setting (greedy; beam search of several widths, with summed or length-normalised
scores) is scored on the held-out split and on the visitor set (everyday sentences written for this
project, outside the corpus), and timed one sentence at a time (batch 1, what a visitor's request
costs) on the first visitor sentences:

    python benchmarks/decoding_choice.py --model default --data ../shared/data/fra-eng/fra.txt

The Space's default is the best setting whose batch-1 time fits its latency budget (`--budget-ms`):
the highest chrF on the visitor set, where settings within `--tie-chrf` of it count as equal (on a few
hundred sentences a tenth of a chrF point is noise) and the fastest of those wins.
Prints JSON; the README quotes it where it names the Space's default.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model import evaluation, splits  # noqa: E402
from model.sources import load_source  # noqa: E402
from model.translator import DecodeOptions  # noqa: E402

SETTINGS = {
    "greedy": DecodeOptions(top_k=1),
    **{f"beam{k}": DecodeOptions(method="beam", beam_size=k, top_k=1) for k in (2, 3, 4, 5, 6, 8)},
    **{f"beam{k}-norm": DecodeOptions(method="beam", beam_size=k, top_k=1, length_normalize=True) for k in (2, 3, 4, 6)},
}


def batch_one_ms(translator, sentences, options, repeats: int = 2) -> float:
    """Median milliseconds per sentence, translated one at a time (best of `repeats` passes)."""
    best = []
    for sentence in sentences:
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            translator.translate(sentence, options)
            times.append(time.perf_counter() - started)
        best.append(min(times))
    return round(1000 * statistics.median(best), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="default", help="a bundled name, a checkpoint directory or hf://owner/repo")
    parser.add_argument("--data", help="fra-eng pair file, for the held-out split")
    parser.add_argument("--budget-ms", type=float, default=50.0,
                        help="batch-1 time a setting may take to be the Space's default (default 50 ms)")
    parser.add_argument("--tie-chrf", type=float, default=0.5,
                        help="visitor chrF differences this small count as a tie, broken by speed (default 0.5)")
    parser.add_argument("--timed", type=int, default=60, help="visitor sentences timed at batch 1 (default 60)")
    args = parser.parse_args()

    translator = load_source(args.model)
    data = {split: splits.load_split(translator.metadata, split, args.data)[:2] for split in ("heldout", "visitor")}
    report = {"model": args.model, "budget_ms": args.budget_ms, "cpu_count": os.cpu_count(), "settings": {}}
    for name, options in SETTINGS.items():
        row = {}
        for split, (sources, references) in data.items():
            figures, _ = evaluation.evaluate(translator, sources, references, options, progress=False)
            row[split] = {k: figures[k] for k in ("chrf", "bleu", "exact_match")}
            row[split]["chrf_16_30"] = figures["tiers"]["16-30"].get("chrf")
        row["batch1_ms"] = batch_one_ms(translator, data["visitor"][0][: args.timed], options)
        report["settings"][name] = row
        print(name, json.dumps(row), file=sys.stderr, flush=True)
    within = {k: v for k, v in report["settings"].items() if v["batch1_ms"] <= args.budget_ms}
    # Best on what visitors type; near-ties go to the fastest.
    top = max(v["visitor"]["chrf"] for v in within.values())
    tied = [k for k, v in within.items() if v["visitor"]["chrf"] >= top - args.tie_chrf]
    report["tie_chrf"] = args.tie_chrf
    report["tied_for_best"] = tied
    report["best_within_budget"] = min(tied, key=lambda k: within[k]["batch1_ms"])
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

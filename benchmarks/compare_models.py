"""The README's model comparison table, produced by `python -m model evaluate` on each model.

    python benchmarks/compare_models.py --data ../shared/data/fra-eng/fra.txt [--models recipe fast attention] [--write]

For each model and split (heldout, the visitor set, and the recipe's own 10,000 training lines) it
runs the evaluate command (greedy and beam 4) in a subprocess, reads its JSON, adds training time and
epoch time from the checkpoint metadata, and prints a Markdown table (overall and by English length
tier: every tier that holds held-out sentences) followed by all figures as JSON. With --write, each bundled checkpoint's held-out and visitor
figures are stored in its metadata.json by `python -m model evaluate --write`, the same runs that
the table shows.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def evaluate(model: str, split: str, data: str, beam_size: int, write: bool = False) -> dict:
    command = [sys.executable, "-m", "model", "evaluate", "--model", model, "--split", split, "--data", data,
               "--beam-size", str(beam_size), "--quiet"] + (["--write"] if write else [])
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
    return {"command": " ".join(command[1:]), **json.loads(run.stdout)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True)
    parser.add_argument("--models", nargs="+", default=["recipe", "fast", "attention", "large", "long"])
    parser.add_argument("--beam-size", type=int, default=4)
    parser.add_argument("--write", action="store_true", help="store each model's held-out report in its metadata.json")
    args = parser.parse_args()

    from model.sources import resolve_source
    from model.checkpoint import read_metadata

    report = {}
    for model in args.models:
        metadata = read_metadata(resolve_source(model))
        epochs = metadata.get("epoch_times_s", [])
        report[model] = {
            "recipe": metadata.get("recipe"),
            "training_time_min": round(metadata.get("training_time_s", 0) / 60, 1),
            "epochs_run": metadata.get("epochs_run"),
            "steady_epoch_s": round(statistics.mean(epochs[1:] or epochs), 1) if epochs else None,
            "heldout": evaluate(model, "heldout", args.data, args.beam_size, args.write),
            "visitor": evaluate(model, "visitor", args.data, args.beam_size, args.write),
            "recipe_train": evaluate(model, "recipe", args.data, 0),
        }
    beam = f"beam{args.beam_size}"
    from model.evaluation import TIERS

    # Every length tier that holds held-out sentences (the first is empty: see model/evaluation.py).
    tiers = [t for t in TIERS if any(r["heldout"]["greedy"]["tiers"].get(t, {}).get("sentences") for r in report.values())]
    tier_heads = "".join(f" chrF {t} | exact % {t} |" for t in tiers)
    print(f"| model | decoding | chrF |{tier_heads} BLEU | visitor chrF | visitor exact % | ms/sentence | "
          "exact % on recipe's 10k | training | epochs | s/epoch |")
    print("|---|---|---|" + "---|---|" * len(tiers) + "---|---|---|---|---|---|---|---|")
    for model, r in report.items():
        for decoding in ("greedy", beam):
            h, v = r["heldout"][decoding], r["visitor"][decoding]
            tier_cells = "".join(f" {h['tiers'][t].get('chrf')} | {h['tiers'][t].get('exact_match')} |" for t in tiers)
            train_exact = r["recipe_train"]["greedy"]["exact_match"] if decoding == "greedy" else ""
            print(f"| {model} ({r['recipe']}) | {decoding} | {h['chrf']} |{tier_cells} {h['bleu']} | {v['chrf']} | "
                  f"{v['exact_match']} | {h['seconds_per_sentence'] * 1000:.2f} | "
                  f"{train_exact} | {r['training_time_min']} min | {r['epochs_run']} | {r['steady_epoch_s']} |")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

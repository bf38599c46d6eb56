"""Epoch time of the keras-io, fast and attention recipes on the recipe's own 10,000 pairs, in one run.

All recipes train for a few epochs through the real `model.training.train` on the same first
10,000 lines; the first epoch (graph tracing) is reported but left out of the steady-state median
(a median, because single epochs on this shared VM can take twice as long as their neighbours).
The machine is noisy, so the figure to quote is the ratio, measured side by side:

    python benchmarks/epoch_time.py --data ../shared/data/fra-eng/fra.txt [--epochs 5]

Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model import data, training  # noqa: E402
from model.config import preset  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="fra-eng pair file")
    parser.add_argument("--epochs", type=int, default=5, help="epochs per recipe, the first one is warm-up (default 5)")
    parser.add_argument("--num-samples", type=int, default=10000, help="pairs to train on (default: the recipe's 10000)")
    args = parser.parse_args()

    pairs = data.read_pairs(args.data)
    report = {"num_samples": args.num_samples, "epochs": args.epochs, "cpu_count": os.cpu_count()}
    for recipe in ("keras-io", "fast", "attention"):
        # Same pairs for both: early stopping off so every epoch runs.
        config = preset(recipe, num_samples=args.num_samples, epochs=args.epochs, early_stopping_patience=0)
        result = training.train(pairs, config, verbose=0)
        steady = result.epoch_times[1:] or result.epoch_times
        report[recipe] = {
            "epoch_times_s": result.epoch_times,
            "steady_epoch_s": round(statistics.median(steady), 2),
            "training_pairs": result.data_info["num_training_pairs"],
            "latent_dim": config.latent_dim,
            "batch_size": config.batch_size,
        }
        print(f"{recipe}: {result.epoch_times}", file=sys.stderr, flush=True)
    for recipe in ("fast", "attention"):
        ratio = report[recipe]["steady_epoch_s"] / report["keras-io"]["steady_epoch_s"]
        report[f"{recipe.replace('-', '_')}_over_keras_io"] = round(ratio, 3)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

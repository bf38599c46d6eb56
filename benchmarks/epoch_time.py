"""Seconds per epoch of every recipe, and of the large recipe's speed settings, on the same pairs in one run.

Each configuration trains a few epochs through the real `model.training.train` on the same pairs
(default: the first 2,000 lines: XLA compiles every new batch shape, and on the recipe's 10,000
lines that alone takes most of an hour here). The first epoch (graph tracing, and for XLA compiling
every batch shape) is reported but left out of the steady-state median (a median, because single
epochs on this shared VM can take twice as long as their neighbours). The machine is noisy, so the
figures to quote are the ratios, measured side by side:

    python benchmarks/epoch_time.py --data ../shared/data/fra-eng/fra.txt [--epochs 3] [--num-samples 2000]
    python benchmarks/epoch_time.py --data ../shared/data/fra-eng/fra.txt --only long long/len50

Configurations:
  keras-io, fast, attention, large     each recipe with its own settings (early stopping off);
  large/xla                            large with jit_compile=True (XLA);
  large/float32                        large without mixed precision (bfloat16 compute off);
  large/batch128                       large at attention's batch size;
  long, long/len50                     the long recipe on 4,000 random pairs of up to 100 characters,
                                       and on 4,000 of up to 50: what the longer pairs cost an epoch.
`ratios` compares each to keras-io, and each large variant to large itself; per-pair seconds
(`ms_per_pair`) compare configurations with different batch sizes fairly.

Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model import data, training  # noqa: E402
from model.config import preset  # noqa: E402

SUBSET = 4000  # random pairs per epoch for the `long` configurations
CONFIGURATIONS = {
    "keras-io": ("keras-io", {}),
    "fast": ("fast", {}),
    "attention": ("attention", {}),
    "large": ("large", {}),
    "large/xla": ("large", {"jit_compile": True}),
    "large/float32": ("large", {"mixed_precision": False}),
    "large/batch128": ("large", {"batch_size": 128}),
    # What the longer pairs cost: the long recipe on random pairs of up to 100 characters against the
    # same network on pairs of up to 50 (large's limit), each a random sample of the corpus (`subset`),
    # so per-pair seconds times each selection's size estimates a whole-corpus epoch.
    "long": ("long", {"num_samples": 0, "subset": SUBSET}),
    "long/len50": ("long", {"num_samples": 0, "subset": SUBSET, "max_input_length": 50}),
}


def measure(pairs, recipe: str, overrides: dict, num_samples: int, epochs: int) -> dict:
    # Same pairs for all: early stopping and the plateau schedule off so every epoch runs alike.
    settings = {"num_samples": num_samples, "epochs": epochs, "early_stopping_patience": 0,
                **({"lr_schedule": "constant", "average_last": 0} if recipe in ("large", "long") else {}), **overrides}
    config = preset(recipe, **settings)
    result = training.train(pairs, config, verbose=0)
    steady = result.epoch_times[1:] or result.epoch_times
    pairs_trained = result.data_info["num_training_pairs"] + result.data_info["num_validation_pairs"]
    median = statistics.median(steady)
    return {
        "epoch_times_s": result.epoch_times,
        "steady_epoch_s": round(median, 2),
        "ms_per_pair": round(1000 * median / pairs_trained, 3),
        "training_pairs": result.data_info["num_training_pairs"],
        "batch_size": config.batch_size,
        "latent_dim": config.latent_dim,
        "jit_compile": config.jit_compile,
        "mixed_precision": config.mixed_precision,
        **(_whole_corpus(pairs, config, median / pairs_trained) if config.subset else {}),
    }


def _whole_corpus(pairs, config, seconds_per_pair: float) -> dict:
    """A sampled configuration's estimate for an epoch over every pair it selects from."""
    import dataclasses

    selected, _ = training.select_training_pairs(pairs, dataclasses.replace(config, subset=0), data.HeldoutSpec())
    return {"max_input_length": config.max_input_length, "whole_corpus_pairs": len(selected),
            "whole_corpus_epoch_s": round(seconds_per_pair * len(selected), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="fra-eng pair file")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per configuration, the first one is warm-up (default 3)")
    parser.add_argument("--num-samples", type=int, default=2000, help="pairs to train on (default 2000)")
    parser.add_argument("--only", nargs="*", choices=sorted(CONFIGURATIONS), help="measure only these configurations")
    args = parser.parse_args()

    import tensorflow as tf

    pairs = data.read_pairs(args.data)
    report = {"num_samples": args.num_samples, "epochs": args.epochs, "cpu_count": os.cpu_count(),
              "cpu": platform.processor() or platform.machine(), "tensorflow": tf.__version__}
    for name in args.only or CONFIGURATIONS:
        recipe, overrides = CONFIGURATIONS[name]
        report[name] = measure(pairs, recipe, overrides, args.num_samples, args.epochs)
        print(f"{name}: {report[name]['epoch_times_s']}", file=sys.stderr, flush=True)
    ratios = {}
    for name in report:
        if name in CONFIGURATIONS and name != "keras-io" and "keras-io" in report and "/" not in name:
            ratios[f"{name}_over_keras_io"] = round(report[name]["steady_epoch_s"] / report["keras-io"]["steady_epoch_s"], 3)
        if name.startswith("large/") and "large" in report:
            ratios[f"{name}_over_large_per_pair"] = round(report[name]["ms_per_pair"] / report["large"]["ms_per_pair"], 3)
    if "long" in report and "long/len50" in report:
        ratios["long_over_len50_per_pair"] = round(report["long"]["ms_per_pair"] / report["long/len50"]["ms_per_pair"], 3)
        ratios["long_over_len50_per_epoch"] = round(report["long"]["whole_corpus_epoch_s"]
                                                    / report["long/len50"]["whole_corpus_epoch_s"], 3)
    report["ratios"] = ratios
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""Which network to train on the whole corpus: candidates compared on a subset, before the long run.

Each candidate is the large recipe with English up to `--max-input-length` characters, trained by the
real `train.py` on the same seeded random subset of the corpus (`--subset`: a sample that spans every
length, unlike the first N lines) for the same few epochs, then evaluated greedily on the held-out split
(overall and by length tier) and on the visitor set. The figures to compare are side by side in one
run: the last validation loss, the gap between training and validation loss (where regularisation may
pay), held-out and visitor chrF, and seconds per epoch (what the whole-corpus run will cost).

    python benchmarks/capacity.py --data ../shared/data/fra-eng/fra.txt [--subset 30000] [--epochs 6]

Every candidate trains in its own checkpoint directory under `--out`; a candidate already evaluated
there is read back, and one interrupted mid-training resumes, so the comparison survives a stopped
session. Prints JSON (also written to `<out>/capacity.json`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Candidates: train.py options over the large recipe. "large" is today's default network.
CANDIDATES = {
    "large": [],  # 384 units (192 each way), two encoder layers, dropout 0.15
    "wide": ["--latent-dim", "512"],  # a third more units in the encoder and the decoder
    "deep": ["--encoder-layers", "3"],  # a third encoder layer at today's width
}
# More dropout is not a candidate here: after a few epochs on a subset the training loss is still above
# the validation loss (the report's `last_gap`), so there is no overfitting for it to cure yet; the
# whole-corpus run decides with early stopping, as the large recipe does.


def run(command: list[str]) -> None:
    print("$ " + " ".join(command), file=sys.stderr, flush=True)
    subprocess.run(command, cwd=ROOT, check=True)


def train_and_evaluate(name: str, extra: list[str], args) -> dict:
    out = Path(args.out) / name
    metadata_file = out / "metadata.json"
    metadata = json.loads(metadata_file.read_text()) if metadata_file.is_file() else {}
    if "evaluation" not in metadata:
        command = [sys.executable, "train.py", "--recipe", "large", "--data", args.data, "--out", str(out),
                   "--subset", str(args.subset), "--max-input-length", str(args.max_input_length),
                   "--epochs", str(args.epochs), *extra]
        if (out / ".backup").is_dir():
            command.append("--resume")
        elif out.exists():
            command.append("--overwrite")
        run(command)
    metadata = json.loads(metadata_file.read_text())
    if "evaluation_visitor" not in metadata:
        run([sys.executable, "-m", "model", "evaluate", "--model", str(out), "--split", "visitor", "--beam-size", "0",
             "--quiet", "--write"])
        metadata = json.loads(metadata_file.read_text())
    history = metadata["history"]
    heldout = metadata["evaluation"]["greedy"]
    weights = (out / "model.keras").stat().st_size
    return {
        "options": extra,
        "model_config": metadata["model_config"],
        "model_keras_mb": round(weights / 1e6, 1),
        "epochs": metadata["epochs_run"],
        "seconds_per_epoch_median": round(statistics.median(metadata["epoch_times_s"]), 1),
        "training_pairs": metadata["data"]["num_training_pairs"],
        "loss": [round(v, 4) for v in history["loss"]],
        "val_loss": [round(v, 4) for v in history["val_loss"]],
        "last_gap": round(history["val_loss"][-1] - history["loss"][-1], 4),  # > 0: validation above training
        "heldout_chrf": heldout["chrf"],
        "heldout_exact": heldout["exact_match"],
        "heldout_tiers_chrf": {k: v.get("chrf") for k, v in heldout["tiers"].items() if v.get("sentences")},
        "visitor_chrf": metadata["evaluation_visitor"]["greedy"]["chrf"],
        "visitor_exact": metadata["evaluation_visitor"]["greedy"]["exact_match"],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="the fra-eng pair file")
    parser.add_argument("--out", default="runs/capacity", help="one checkpoint directory per candidate (default: runs/capacity)")
    parser.add_argument("--subset", type=int, default=30000, help="random pairs to train on (default 30000)")
    parser.add_argument("--epochs", type=int, default=6, help="epochs per candidate (default 6)")
    parser.add_argument("--max-input-length", type=int, default=100, help="longest English trained on (default 100)")
    parser.add_argument("--only", nargs="+", choices=CANDIDATES, help="run these candidates only")
    args = parser.parse_args(argv)
    results = {name: train_and_evaluate(name, extra, args) for name, extra in CANDIDATES.items()
               if not args.only or name in args.only}
    report = {"command": "python benchmarks/capacity.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "subset": args.subset, "epochs": args.epochs, "max_input_length": args.max_input_length,
              "candidates": results}
    text = json.dumps(report, indent=2, ensure_ascii=False)
    (Path(args.out) / "capacity.json").write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A checkpoint from a run that is still training, or was stopped: one finished epoch's weights, to
evaluate or serve while the run goes on.

A long run (the `long` recipe takes most of a day here) saves, after every epoch, the weights of that
epoch and of the best one so far (model/run_state.py, `<out>/.run-state/epoch-NNN.npz`), and its
settings (`<out>/.run.json`). That is enough to rebuild the network and its vocabulary without
touching the run: the vocabulary is the one training builds from the same data and settings
(`training.select_training_pairs`, the run's held-out split excluded), the network is the recipe's
(`training.model_config_for`). `snapshot` writes them as an ordinary checkpoint whose metadata says
which run and epoch it is, so `python -m model evaluate --model OUT` scores it on the same held-out
split the finished run will be scored on. Nothing in the run's directory is written.
"""

from __future__ import annotations

import datetime
import json
import shlex
from pathlib import Path
from typing import Any, Sequence

from . import checkpoint, data, languages
from .config import TrainConfig
from .provenance import git_commit
from .run_state import EPOCH_WEIGHTS, STATE_DIR, STATE_FILE, load_weights

RUN_FILE = ".run.json"  # what train.py writes into --out before the first epoch (the run's settings)


class SnapshotError(ValueError):
    """A run directory that holds no epoch to snapshot; the message names the directory and what is missing."""


def epoch_records(run_dir: Path) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]]]:
    """Every finished epoch's record (logs, learning rate, ...), and {0-based epoch: record} of those
    whose weights are on disk (the last few and the best: run_state prunes the others)."""
    state = run_dir / STATE_DIR
    state_file = state / STATE_FILE
    if not (run_dir / RUN_FILE).is_file() or not state_file.is_file():
        raise SnapshotError(f"{run_dir} holds no training run to snapshot (no {RUN_FILE} and {STATE_DIR}/{STATE_FILE}); "
                            f"give the --out directory of a train.py run that has finished an epoch")
    records = json.loads(state_file.read_text(encoding="utf-8")).get("records") or []
    return records, {r["epoch"]: r for r in records if (state / EPOCH_WEIGHTS.format(r["epoch"])).is_file()}


def choose_epoch(saved: dict[int, dict[str, Any]], epoch: int | None, run_dir: Path) -> int:
    """The 0-based epoch to snapshot: `epoch` (1-based, as Keras prints it), else the saved one with the
    lowest validation loss (the one early stopping would restore)."""
    if not saved:
        raise SnapshotError(f"{run_dir}: no epoch's weights are saved yet; wait for the first epoch to finish")
    if epoch is not None:
        if epoch - 1 not in saved:
            raise SnapshotError(f"{run_dir}: epoch {epoch} is not saved; saved epochs: "
                                f"{', '.join(str(e + 1) for e in sorted(saved))}")
        return epoch - 1
    return min(saved, key=lambda e: (saved[e]["logs"].get("val_loss", float("inf")), -e))


def snapshot(run_dir: str | Path, out: str | Path, epoch: int | None = None, data_path: str | Path | None = None,
             argv: Sequence[str] = ()) -> Path:
    """Write one saved epoch of the run in `run_dir` as a checkpoint in `out`; returns `out`.

    Args:
        epoch: 1-based; None takes the saved epoch with the lowest validation loss.
        data_path: the run's pair file, where it is not where the run read it (its `data` setting).
        argv: the command's arguments, recorded in the metadata.
    """
    from . import training
    from .network import build_training_model
    from .vocab import Vocabulary

    run_dir, out = Path(run_dir), Path(out)
    records, saved = epoch_records(run_dir)
    chosen_epoch = choose_epoch(saved, epoch, run_dir)
    config = TrainConfig.from_dict(json.loads((run_dir / RUN_FILE).read_text(encoding="utf-8")))
    source = Path(data_path or config.data or data.resolve_fra_eng())
    text, sha256 = data.read_text(source)
    pairs = data.parse_pairs(text, str(source))
    spec = data.HeldoutSpec()  # train.py's: the run excluded these sentences
    chosen, heldout = training.select_training_pairs(pairs, config, spec)
    vocab = Vocabulary.from_texts([p.english for p in chosen], [data.wrap_target(p.french) for p in chosen])
    model_config = training.model_config_for(config, vocab)
    model = build_training_model(model_config)
    model.set_weights(load_weights(run_dir / STATE_DIR / EPOCH_WEIGHTS.format(chosen_epoch)))
    metadata = {
        "recipe": config.recipe,
        "train_config": config.to_dict(),
        "languages": languages.for_training(config.data or source).to_dict(),
        "data": {"source": str(source), "sha256": sha256, "num_pairs_read": len(pairs),
                 "last_line_used": chosen[-1].line,
                 "heldout": {**spec.to_dict(), "num_pairs": len(heldout),
                             "num_sentences": len({p.english for p in heldout})}},
        "snapshot": {"run": str(run_dir), "epoch": chosen_epoch + 1, "logs": saved[chosen_epoch]["logs"],
                     "saved_epochs": [e + 1 for e in sorted(saved)]},
        "history": {k: [r["logs"].get(k) for r in records] for k in sorted({k for r in records for k in r["logs"]})},
        "command": shlex.join(["python", "-m", "model", "snapshot", *argv]),
        "commit": git_commit(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    checkpoint.save(out, model, vocab, model_config, metadata)
    return out

"""What a training run must remember between epochs to stop and resume as if it never stopped.

Keras' BackupAndRestore saves the weights, the optimizer and the epoch number after every epoch, and a
run started again over the same directory continues after the last finished epoch. It forgets the
rest: the history of the epochs before the restart, their times, the state of validation-driven
decisions (the best loss so far, how many epochs since, the learning rate they set), and the dropout
layers' random-number state (Keras' SeedGenerator variables are not among the saved weights). A
resumed run would then draw other dropout masks, and halve its rate or stop at other epochs, than an
unbroken one.

`RunState` is the callback that keeps all of that in `<backup>/run_state.json`, one record per finished
epoch, written before BackupAndRestore's own save, in its own directory beside the backup (Keras
deletes the backup when fit() returns, before the best or averaged weights are chosen). It also implements, for the recipes that ask:

  * the "plateau" schedule: halve the learning rate after `lr_patience` epochs without a validation
    loss better by more than `min_delta`;
  * early stopping after `early_stopping_patience` such epochs, restoring the best epoch's weights;
  * the weights of every finished epoch, so the best one can be restored and the last few averaged
    (`average_weights`).

On a restart, records of epochs that the weights backup does not hold (a stop between the two saves)
are dropped, so the run continues from the state that belongs to its weights.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

STATE_DIR = ".run-state"  # beside Keras' backup directory, which Keras deletes as soon as fit() returns
STATE_FILE = "run_state.json"
EPOCH_WEIGHTS = "epoch-{:03d}.npz"  # weights only (no optimizer state), one file per finished epoch
HALVING = 0.5  # the plateau schedule's factor: the common choice (Keras' ReduceLROnPlateau suggests 0.1-0.5)


def _write_json(path: Path, data) -> None:
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def save_weights(path: Path, weights: list[np.ndarray]) -> None:
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    with open(tmp, "wb") as handle:
        np.savez(handle, *weights)
    os.replace(tmp, path)


def load_weights(path: Path) -> list[np.ndarray]:
    with np.load(path) as archive:
        return [archive[f"arr_{i}"] for i in range(len(archive.files))]


def average_weights(paths: list[Path]) -> list[np.ndarray]:
    """The element-wise mean of several epochs' weights (checkpoint averaging), in float64 then back."""
    total = [w.astype(np.float64) for w in load_weights(paths[0])]
    for path in paths[1:]:
        for acc, w in zip(total, load_weights(path)):
            acc += w
    return [(acc / len(paths)).astype(np.float32) for acc in total]


def make_callback(directory: str | Path, *, lr_schedule: str, lr_patience: int, early_stopping_patience: int,
                  min_delta: float, keep_last: int):
    """A Keras callback keeping the run's state in `directory` (see the module docstring).

    Args:
        directory: the run's backup directory (BackupAndRestore's).
        lr_schedule: "plateau" halves the learning rate on plateaus; anything else leaves it alone.
        lr_patience: epochs without improvement before each halving.
        early_stopping_patience: epochs without improvement before stopping; 0 never stops early.
        min_delta: how much lower a validation loss must be to count as better.
        keep_last: epoch weight files kept besides the best one (for averaging); older ones are deleted.
    """
    import keras

    directory = Path(directory)

    class RunState(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.records: list[dict] = []
            self.resumptions = 0
            self.restored = False
            self._started = 0.0

        # -- persistence ------------------------------------------------------------------
        def _load(self, first_epoch: int) -> None:
            path = directory / STATE_FILE
            if not path.is_file():
                return
            state = json.loads(path.read_text(encoding="utf-8"))
            # Keep only the epochs whose weights the backup holds.
            self.records = [r for r in state["records"] if r["epoch"] < first_epoch]
            self.resumptions = state.get("resumptions", 0) + (1 if first_epoch > 0 else 0)

        def _save(self) -> None:
            _write_json(directory / STATE_FILE, {"records": self.records, "resumptions": self.resumptions})

        # -- Keras hooks --------------------------------------------------------------------
        def on_epoch_begin(self, epoch, logs=None):
            if not self.restored:  # the first epoch of this process: a resumed run starts past 0
                directory.mkdir(parents=True, exist_ok=True)
                self._load(epoch)
                if self.records:
                    self._set_lr(self.records[-1]["next_lr"])
                    for variable, value in zip(self._seed_states(), self.records[-1].get("seed_states", [])):
                        variable.assign(np.asarray(value, dtype=variable.dtype))
                self.restored = True
            self._started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            logs = dict(logs or {})
            seconds = time.perf_counter() - self._started
            lr = self._get_lr()
            previous = self.records[-1] if self.records else {"best_epoch": None, "best_val_loss": None, "since_best": 0}
            val_loss = logs.get("val_loss")
            best_epoch, best_val, since_best = previous["best_epoch"], previous["best_val_loss"], previous["since_best"]
            if val_loss is not None and (best_val is None or val_loss < best_val - min_delta):
                best_epoch, best_val, since_best = epoch, float(val_loss), 0
            elif val_loss is not None:
                since_best += 1
            next_lr = lr
            if lr_schedule == "plateau" and since_best and since_best % lr_patience == 0:
                next_lr = lr * HALVING
            stop = bool(early_stopping_patience and since_best >= early_stopping_patience)
            save_weights(directory / EPOCH_WEIGHTS.format(epoch), [np.asarray(w) for w in self.model.get_weights()])
            self.records.append({
                "epoch": epoch, "logs": {k: float(v) for k, v in logs.items()}, "seconds": round(seconds, 3),
                "lr": lr, "next_lr": next_lr, "best_epoch": best_epoch, "best_val_loss": best_val,
                "since_best": since_best, "stop": stop, "resumption": self.resumptions,
                "seed_states": [np.asarray(v).tolist() for v in self._seed_states()],
            })
            self._save()
            self._prune(epoch, best_epoch)
            if next_lr != lr:
                self._set_lr(next_lr)
            if stop:
                self.model.stop_training = True

        def on_train_begin(self, logs=None):
            self.restored = False

        # -- helpers --------------------------------------------------------------------------
        def _seed_states(self) -> list:
            """The dropout layers' random-number state, in the model's (fixed) variable order."""
            return [v for v in self.model.variables if v.path.endswith("seed_generator_state")]

        def _get_lr(self) -> float | None:
            rate = self.model.optimizer.learning_rate
            try:
                return float(np.asarray(rate))
            except TypeError:  # a schedule object (cosine): the rate of the current step
                return float(np.asarray(rate(self.model.optimizer.iterations)))

        def _set_lr(self, value: float | None) -> None:
            if value is not None and lr_schedule == "plateau":
                self.model.optimizer.learning_rate = value  # assigns the optimizer's rate variable

        def _prune(self, epoch: int, best_epoch: int | None) -> None:
            keep = {epoch - i for i in range(max(keep_last, 1))} | ({best_epoch} if best_epoch is not None else set())
            for path in directory.glob("epoch-*.npz"):
                number = int(path.stem.split("-")[1])
                if number not in keep and number < epoch:
                    path.unlink(missing_ok=True)

        # -- what the run reports --------------------------------------------------------------
        @property
        def finished_early(self) -> bool:
            return bool(self.records and self.records[-1]["stop"])

        def history(self) -> dict[str, list[float]]:
            """Every epoch's logs since the run began, across restarts."""
            keys = sorted({k for r in self.records for k in r["logs"]})
            history = {k: [r["logs"].get(k) for r in self.records] for k in keys}
            history["lr"] = [r["lr"] for r in self.records]
            return history

        def epoch_times(self) -> list[float]:
            return [r["seconds"] for r in self.records]

        def best_epoch(self) -> int | None:
            return self.records[-1]["best_epoch"] if self.records else None

        def weights_path(self, epoch: int) -> Path:
            return directory / EPOCH_WEIGHTS.format(epoch)

    return RunState()

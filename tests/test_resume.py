"""train.py --resume and --overwrite, on a real run killed mid-training (SIGKILL, as a crash would).

What training guarantees, not what it learns: a killed run leaves a backup that --resume continues
from the last finished epoch to the planned total; --overwrite starts afresh and deletes the backup;
a resume with different settings is refused by name; the chief alone writes under multi-worker.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from model import training

REPO = Path(__file__).resolve().parent.parent
EPOCHS = 40  # tiny epochs take a fraction of a second: the kill lands well before the last one

pytestmark = pytest.mark.slow


def _train(out: Path, data: Path, *extra: str, epochs: int = EPOCHS) -> list[str]:
    return [sys.executable, "train.py", "--tiny", "--recipe", "fast", "--data", str(data), "--out", str(out),
            "--epochs", str(epochs), "--no-eval", *extra]


def _env() -> dict[str, str]:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}


def _killed_run(out: Path, data: Path) -> None:
    """Start a run and SIGKILL it once its first epoch is backed up."""
    process = subprocess.Popen(_train(out, data), cwd=REPO, env=_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    backup = out / ".backup"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if backup.is_dir() and any(p.suffix == ".json" for p in backup.iterdir()):
            break
        time.sleep(0.05)
    assert process.poll() is None, "the run finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert backup.is_dir(), "a killed run must leave its backup"
    assert not (out / "model.keras").exists()


def _run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300)


def _metadata(out: Path) -> dict:
    return json.loads((out / "metadata.json").read_text(encoding="utf-8"))


def test_resume_continues_a_killed_run_to_the_planned_epochs(tmp_path, shared_data):
    out = tmp_path / "run"
    _killed_run(out, shared_data)

    again = _run(_train(out, shared_data))
    assert again.returncode == 2
    assert "--resume" in again.stderr and "--overwrite" in again.stderr

    resumed = _run(_train(out, shared_data, "--resume"))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    metadata = _metadata(out)
    first = metadata["resumed_from_epoch"]
    assert 1 <= first < EPOCHS
    assert metadata["epochs_run"] == EPOCHS
    # The history, epoch times and resumption count span the whole run, not just the resumed part.
    assert len(metadata["history"]["loss"]) == len(metadata["epoch_times_s"]) == EPOCHS
    assert metadata["resumptions"] == 1
    assert not (out / ".backup").exists(), "a finished run leaves nothing to resume"
    assert "--resume" in metadata["command"]


def test_overwrite_starts_afresh_and_deletes_the_backup(tmp_path, shared_data):
    out = tmp_path / "run"
    _killed_run(out, shared_data)
    fresh = _run(_train(out, shared_data, "--overwrite", epochs=3))
    assert fresh.returncode == 0, fresh.stderr[-2000:]
    metadata = _metadata(out)
    assert metadata["resumed_from_epoch"] == 0
    assert metadata["epochs_run"] == 3 and len(metadata["history"]["loss"]) == 3
    assert not (out / ".backup").exists()


def test_resume_refuses_changed_settings_and_missing_backups(tmp_path, shared_data):
    out = tmp_path / "run"
    _killed_run(out, shared_data)
    changed = _run(_train(out, shared_data, "--resume", epochs=EPOCHS + 1))
    assert changed.returncode == 2
    assert f"epochs: {EPOCHS} -> {EPOCHS + 1}" in changed.stderr
    assert (out / ".backup").is_dir(), "a refused resume must not touch the backup"

    empty = _run(_train(tmp_path / "nothing", shared_data, "--resume"))
    assert empty.returncode == 2 and "no interrupted run to resume" in empty.stderr

    both = _run(_train(out, shared_data, "--resume", "--overwrite"))
    assert both.returncode == 2 and "contradict" in both.stderr


@pytest.mark.parametrize(
    "tf_config, chief",
    [
        (None, True),
        ({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 0}}, True),
        ({"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}, False),
        ({"cluster": {"chief": ["c:0"], "worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}, True),
        ({"cluster": {"chief": ["c:0"], "worker": ["a:1"]}, "task": {"type": "worker", "index": 0}}, False),
    ],
)
def test_only_the_chief_saves_evaluates_and_pushes(tf_config, chief):
    assert training.is_chief("" if tf_config is None else json.dumps(tf_config)) is chief


def _weights(out: Path) -> dict[str, list]:
    from model import checkpoint

    translator_free = checkpoint.read_layer_arrays(out / checkpoint.MODEL_FILE, *_vocab_and_config(out), root=out)
    return {name: [np.asarray(a) for a in arrays] for name, arrays in translator_free.items()}


def _vocab_and_config(out: Path):
    from model.config import ModelConfig
    from model.vocab import Vocabulary

    return (Vocabulary.from_dict(json.loads((out / "vocab.json").read_text(encoding="utf-8"))),
            ModelConfig.from_dict(_metadata(out)["model_config"]))


def test_a_resumed_run_ends_exactly_where_an_unbroken_one_does(tmp_path, shared_data):
    """The large recipe's plateau schedule and early stopping decide from validation loss; a run
    killed and resumed must halve its rate, stop and keep the best epoch exactly as an unbroken one."""
    command = lambda out, *extra: [sys.executable, "train.py", "--tiny", "--recipe", "large", "--data",  # noqa: E731
                                   str(shared_data), "--out", str(out), "--epochs", str(EPOCHS), "--no-eval", *extra]
    env = {**_env(), "TF_DETERMINISTIC_OPS": "1"}  # same floats from the same inputs, for the comparison
    unbroken = subprocess.run(command(tmp_path / "unbroken"), cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=600)
    assert unbroken.returncode == 0, unbroken.stderr[-2000:]

    out = tmp_path / "resumed"
    process = subprocess.Popen(command(out), cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = out / ".run-state" / "run_state.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if state.is_file() and len(json.loads(state.read_text(encoding="utf-8") or '{"records": []}')["records"]) >= 2:
            break
        time.sleep(0.02)
    assert process.poll() is None, "the run finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    resumed = subprocess.run(command(out, "--resume"), cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]

    a, b = _metadata(tmp_path / "unbroken"), _metadata(out)
    assert b["resumptions"] == 1 and a["resumptions"] == 0
    assert b["epochs_run"] == a["epochs_run"] and b["best_epoch"] == a["best_epoch"]
    assert b["history"]["lr"] == a["history"]["lr"], "the plateau schedule halved at different epochs"
    assert a["history"]["lr"][-1] < a["history"]["lr"][0], "the tiny run should reach a plateau and halve its rate"
    np.testing.assert_allclose(b["history"]["val_loss"], a["history"]["val_loss"], rtol=1e-5)
    for name, arrays in _weights(tmp_path / "unbroken").items():
        for x, y in zip(arrays, _weights(out)[name]):
            np.testing.assert_allclose(y, x, rtol=1e-4, atol=1e-6, err_msg=name)

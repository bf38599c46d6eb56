"""python -m model snapshot: a checkpoint of a run that has not finished, on a real run killed mid-training.

What it guarantees: the checkpoint holds exactly the saved epoch's weights, with the vocabulary and
network the finished run ends up with, it loads and evaluates like any checkpoint, and the run's
directory is left as it was (the run resumes and finishes afterwards).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model import checkpoint
from model.run_state import STATE_DIR, load_weights
from tests.test_resume import REPO, _env, _killed_run, _metadata, _run, _train

pytestmark = pytest.mark.slow


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "model", *args], cwd=REPO, env=_env(), capture_output=True,
                          text=True, timeout=300)


def _tree(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_a_snapshot_of_a_killed_run_is_its_best_saved_epoch_and_the_run_still_finishes(tmp_path, shared_data):
    run = tmp_path / "run"
    _killed_run(run, shared_data)
    state = json.loads((run / STATE_DIR / "run_state.json").read_text(encoding="utf-8"))["records"]
    saved = sorted(int(p.stem.split("-")[1]) for p in (run / STATE_DIR).glob("epoch-*.npz"))
    best = min(saved, key=lambda e: (state[e]["logs"]["val_loss"], -e))
    before = _tree(run)

    snap = tmp_path / "snap"
    made = _cli("snapshot", str(run), "--out", str(snap))
    assert made.returncode == 0, made.stderr[-2000:]
    assert f"wrote epoch {best + 1} of {run}" in made.stdout
    assert _tree(run) == before, "a snapshot only reads the run"
    metadata = checkpoint.read_metadata(snap)
    assert metadata["snapshot"]["epoch"] == best + 1 and metadata["snapshot"]["saved_epochs"] == [e + 1 for e in saved]
    assert len(metadata["history"]["loss"]) == len(state)
    model, vocab, model_config, _ = checkpoint.load_keras(snap)
    expected = load_weights(run / STATE_DIR / f"epoch-{best:03d}.npz")
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), expected, strict=True))

    # It evaluates like any checkpoint, on the split the finished run is scored on.
    scored = _cli("evaluate", "--model", str(snap), "--data", str(shared_data), "--limit", "5", "--beam-size", "0",
                  "--quiet")
    assert scored.returncode == 0, scored.stderr[-2000:]
    assert json.loads(scored.stdout)["greedy"]["sentences"] == 5

    # An epoch by number; an epoch that is not saved, a full --out and a directory without a run are refused.
    other = _cli("snapshot", str(run), "--out", str(tmp_path / "first"), "--epoch", str(saved[0] + 1))
    assert other.returncode == 0 and checkpoint.read_metadata(tmp_path / "first")["snapshot"]["epoch"] == saved[0] + 1
    missing = _cli("snapshot", str(run), "--out", str(tmp_path / "none"), "--epoch", "999")
    assert missing.returncode == 2 and "epoch 999 is not saved; saved epochs: " in missing.stderr
    full = _cli("snapshot", str(run), "--out", str(snap))
    assert full.returncode == 2 and "is not empty" in full.stderr
    nothing = _cli("snapshot", str(tmp_path), "--out", str(tmp_path / "x"))
    assert nothing.returncode == 2 and "holds no training run to snapshot" in nothing.stderr

    # The run resumes and finishes with the snapshot's vocabulary and network.
    resumed = _run(_train(run, shared_data, "--resume"))
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    final, final_vocab, final_config, _ = checkpoint.load_keras(run)
    assert final_vocab == vocab and final_config == model_config
    assert _metadata(run)["model_config"] == model_config.to_dict()
